"""Recording scanner actions: one function for the scanner page, the API and a backlog upload.

``record_action`` takes one action as the device sent it (nonce, device, device time, kind, …) and
returns its result. The rules, drawn in docs/algorithms/scan.md:

- A nonce seen before returns the stored result and creates nothing (re-uploads are safe).
- The tube row is locked while a person is added, so two stations can never overfill it.
- Every refusal is stored with a stable reason code; an action the device had decided offline that the
  server refuses is flagged for review, never dropped.
- A person already sampled this round is accepted with a warning (they may test again anywhere).
"""

from __future__ import annotations

import datetime
import json
import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace

from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from gridroll.accounts.roles import Action
from gridroll.accounts.scope import allowed_paths
from gridroll.audit.services import record
from gridroll.codes.models import SigningKey
from gridroll.codes.services import verify_token
from gridroll.core.bulk import for_update, insert_rows, placeholders
from gridroll.lib import idnumber
from gridroll.lib.names import mask_name
from gridroll.residents.models import Sex, age_of
from gridroll.rollcall import services as rollcall
from gridroll.rollcall.models import Entry, State
from gridroll.sampling import signals
from gridroll.sampling.models import (
    COUNTED_ADDS,
    POOL_SIZE,
    PoolMode,
    Round,
    Sample,
    ScanAction,
    ScanMinute,
    Site,
    SiteTally,
    Station,
    Tube,
    minute_of,
)
from gridroll.sampling.reasons import MESSAGES

TUBE_BARCODE = re.compile(r"^[A-Z0-9]{8,20}$")


class ActionError(Exception):
    def __init__(self, reason: str, person: dict | None = None) -> None:
        super().__init__(MESSAGES[reason])
        self.reason = reason
        self.person = person or {}  # who was refused, when it is known (the sampler sees the masked name)


@dataclass
class ActionResult:
    nonce: str
    result: str  # accepted | warned | refused
    reason: str
    message: str
    tube: dict = field(default_factory=dict)
    person: dict = field(default_factory=dict)
    duplicate: bool = False

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def _stored(action: ScanAction) -> ActionResult:
    return ActionResult(
        nonce=action.nonce,
        result=action.result,
        reason=action.reason,
        message=action.message,
        tube=action.payload.get("_tube", {}),
        person=action.payload.get("_person", {}),
        duplicate=True,
    )


def _is_id_number(text: str) -> bool:
    try:
        idnumber.parse(text)
    except idnumber.IDNumberError:
        return False
    return len(text) == 18


# How far a device clock may run ahead of the server, or outside the round's window, before its scans are
# flagged for review (issue 13: a device time of 2030 was taken as it came).
CLOCK_SKEW = datetime.timedelta(minutes=10)


def _clock_flag(device_time: datetime.datetime, now: datetime.datetime, round_) -> str:
    """``ahead`` when the device is more than CLOCK_SKEW ahead of the server, ``outside_round`` when its
    time falls outside the round's window, else ''."""
    if device_time > now + CLOCK_SKEW:
        return "ahead"
    if round_ is not None and not (
        round_.starts_at - CLOCK_SKEW <= device_time <= round_.ends_at + CLOCK_SKEW
    ):
        return "outside_round"
    return ""


def _device_time(value) -> datetime.datetime:
    if isinstance(value, datetime.datetime):
        return value
    parsed = parse_datetime(str(value or ""))
    if parsed is None:
        return timezone.now()
    return parsed if parsed.tzinfo else timezone.make_aware(parsed)


def record_action(user, data: dict) -> ActionResult:
    """Record one scanner action: a batch of one. Never raises for bad input: the refusal is the result."""
    return record_actions(user, [data])[0]


def record_actions(user, actions: list[dict]) -> list[ActionResult]:
    """Record a scanner's actions in the order given and return one result each.

    The page, the single-scan API and a backlog upload all come here. A batch is loaded in a few queries
    (nonces, codes, people, tubes locked in id order, this round's samples of these people), decided one
    action at a time in memory under the tube locks, and written in bulk — so that a phone's backlog of
    hundreds of scans uploads in one request. If the same nonce arrives twice at once, the loser's
    transaction rolls back and is retried, and then finds the winner's result.
    """
    actions = [_without_nul(a) for a in actions]
    seen_before = False
    if len(actions) == 1 and connection.vendor == "postgresql":
        fast = _fast_add(user, actions[0])
        if isinstance(fast, ActionResult):
            return [fast]
        seen_before = fast is False
    for attempt in range(3):
        try:
            # A nonce seen before fails on the unique index; only then look the stored results up.
            return _record_batch(user, actions, look_up_nonces=attempt > 0 or seen_before)
        except (IntegrityError, OperationalError):
            # OperationalError: a deadlock between two uploads touching the same people; both retry.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _without_nul(value):
    """The action with NUL characters dropped from its texts: PostgreSQL keeps none in a text or JSON
    column, and a phone (or a fuzzer) that sends one must get an answer, not a 500."""
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


_FAST_PATH: list[bool] = []  # [installed?], asked once per process


def _fast_add(user, data: dict) -> ActionResult | bool | None:
    """One "add" in one round trip (fastpath.sql, PostgreSQL): the scanner's commonest action.

    Returns None — take the general way — for anything else: another kind, a document number, a code
    that is not exactly a token this server stored (the general way checks its signature), a site, round
    or scope the general way must refuse; False for a nonce seen before (the general way answers with
    the stored result).
    """
    if data.get("kind") != ScanAction.Kind.ADD or data.get("document_number") or data.get("resident_id"):
        return None  # typed by hand: the general way checks the site's area
    nonce = str(data.get("nonce") or "")[:64]
    code = data.get("code")
    if not nonce or not code:
        return None
    if not _FAST_PATH:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_proc WHERE proname = 'gridroll_scan_add'")
            _FAST_PATH.append(cursor.fetchone() is not None)
    if not _FAST_PATH[0]:
        return None
    site = _cached("scan:sites", _open_sites).get(data.get("site_id"))
    round_ = _cached("scan:rounds", _open_rounds).get(data.get("round_id"))
    barcode = str(data.get("tube") or "").strip().upper()
    if site is None or round_ is None or not TUBE_BARCODE.match(barcode):
        return None
    device_time = _device_time(data.get("device_time"))
    if _clock_flag(device_time, timezone.now(), round_):
        return None  # the general way flags the clock
    if not user.is_superuser:
        paths = _cached(f"scan:paths:{user.pk}", lambda: allowed_paths(user, Action.SCAN) or [])
        if not any(site.area.path.startswith(p) for p in paths):
            return None
    payload = {
        k: v
        for k, v in data.items()
        if k in ("code", "resident_id", "document_number", "station_id", "site_id", "round_id", "pool_mode")
    }
    args = [
        nonce,
        str(data.get("device_id") or "")[:64],
        user.pk,
        round_.pk,
        site.pk,
        barcode,
        str(code).strip().upper() if code else None,
        None,
        json.dumps(payload, ensure_ascii=False),
        device_time,
        bool(data.get("decided_offline")),
        timezone.now(),
        datetime.date.today(),
        _sex_labels(),
        _MESSAGES_JSON,
    ]
    sql = "SELECT gridroll_scan_add(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
    try:
        if connection.in_atomic_block:
            with transaction.atomic():
                answer = _call(sql, args)
        else:
            answer = _call(sql, args)  # one statement: its own transaction, one round trip
    except IntegrityError:
        return False  # a nonce seen before (or at this very moment)
    if answer is None:
        return None  # not a token this server stored: the general way checks its signature
    if isinstance(answer, str):
        answer = json.loads(answer)
    return ActionResult(
        nonce=nonce,
        result=answer["result"],
        reason=answer["reason"],
        message=MESSAGES[answer["reason"]],
        tube=answer["tube"],
        person=answer["person"],
    )


def _call(sql: str, args: list):
    with connection.cursor() as cursor:
        cursor.execute(sql, args)
        return cursor.fetchone()[0]


_MESSAGES_JSON = json.dumps(MESSAGES, ensure_ascii=False)
_SEX_LABELS: dict[str, tuple[dict[str, str], str]] = {}  # language → the labels, and as JSON


def _sex_map() -> tuple[dict[str, str], str]:
    """The sex labels in the request's language, made once per language (the fast path takes JSON)."""
    from django.utils.translation import get_language

    language = get_language() or ""
    if language not in _SEX_LABELS:
        labels = {k: str(v) for k, v in Sex.choices}
        _SEX_LABELS[language] = (labels, json.dumps(labels, ensure_ascii=False))
    return _SEX_LABELS[language]


def _sex_labels() -> str:
    return _sex_map()[1]


class _Tube:
    """A locked tube row as the batch sees it: plain values, written back once at the end."""

    __slots__ = ("barcode", "box_id", "capacity", "household_id", "id", "pool_mode", "round_id")
    __slots__ += ("sealed_at", "site_id", "size", "status")
    COLUMNS = "id, barcode, round_id, site_id, pool_mode, capacity, status, size, household_id, box_id"

    def __init__(self, row) -> None:
        (self.id, self.barcode, self.round_id, self.site_id, self.pool_mode, self.capacity, self.status) = (
            row[:7]
        )
        self.size, self.household_id, self.box_id = row[7:10]
        self.sealed_at = None

    def info(self) -> dict:
        return {
            "barcode": self.barcode,
            "size": self.size,
            "capacity": self.capacity,
            "status": self.status,
            "pool_mode": self.pool_mode,
        }


class _Person:
    __slots__ = ("birth_date", "household_id", "id", "name", "sex")
    COLUMNS = "r.id, r.name, r.sex, r.birth_date, r.household_id"

    def __init__(self, row) -> None:
        self.id, self.name, self.sex, birth_date, self.household_id = row
        # SQLite hands dates back as text.
        self.birth_date = (
            datetime.date.fromisoformat(birth_date) if isinstance(birth_date, str) else birth_date
        )

    def shown(self, with_sex: bool = True) -> dict:
        """What the sampler sees to confirm: masked name, age (and sex)."""
        shown = {"masked_name": mask_name(self.name), "age": age_of(self.birth_date)}
        if with_sex:
            shown["sex"] = _sex_label(self.sex)
        return shown


def _sex_label(code: str) -> str:
    return _sex_map()[0].get(code, "")


@dataclass
class _Batch:
    user_id: int  # request.user is a lazy object: its .pk costs a lookup per action
    sites: dict
    rounds: dict
    scan_paths: list | None
    tubes: dict  # barcode → _Tube (locked)
    people: dict  # ("code", text) / ("id", pk) / ("doc", number) → _Person or an ActionError reason
    sampled: dict  # (round id, resident id) → set of tube ids holding them
    last_samples: dict  # tube id → list of (position, sample id, _Person) still in the tube
    states: dict  # (round id, resident id) → roll-call state
    grids: dict  # (round id, resident id) → the grid of their roll-call entry
    now: datetime.datetime
    new_samples: list = field(default_factory=list)
    removed: list = field(default_factory=list)
    undone: set = field(default_factory=set)
    changed_tubes: dict = field(default_factory=dict)


def _record_batch(user, actions: list[dict], look_up_nonces: bool) -> list[ActionResult]:
    # A nonce is the device's own: it is unique per user and device, so that another account replaying a
    # sampler's nonce neither gets the stored answer nor blocks the sampler's action.
    keys = [(str(a.get("device_id") or "")[:64], str(a.get("nonce") or "")[:64]) for a in actions]
    stored = {}
    if look_up_nonces or len(actions) > 1:
        stored = _stored_actions(user.pk, [k for k in keys if k[1]])
    results: list[ActionResult | None] = [None] * len(actions)
    todo = []
    seen: set[tuple[str, str]] = set()
    for i, key in enumerate(keys):
        if not key[1]:
            results[i] = ActionResult(
                nonce="", result="refused", reason="bad_request", message=MESSAGES["bad_request"]
            )
        elif key in stored:
            results[i] = _stored(stored[key])
        elif key in seen:
            results[i] = None  # the same nonce twice in one upload: answered with the first one's result
        else:
            seen.add(key)
            todo.append(i)
    if todo:
        with transaction.atomic():
            batch = _load(user, [actions[i] for i in todo])
            rows = []
            for i in todo:
                results[i], row = _decide(batch, keys[i][1], actions[i])
                rows.append(row)
            _write(batch, rows)
    first = {keys[i]: r for i, r in enumerate(results) if r is not None}
    return [r if r is not None else replace(first[keys[i]], duplicate=True) for i, r in enumerate(results)]


def _stored_actions(user_id: int, keys: list[tuple[str, str]]) -> dict[tuple[str, str], ScanAction]:
    """This user's actions already recorded under these (device, nonce) pairs (usually none: one cheap
    probe first)."""
    if not keys:
        return {}
    nonces = sorted({n for _d, n in keys})
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT nonce FROM sampling_scanaction WHERE nonce IN ({placeholders(nonces)}) AND user_id = %s",
            [*nonces, user_id],
        )
        known = [r[0] for r in cursor.fetchall()]
    if not known:
        return {}
    wanted = set(keys)
    return {
        (a.device_id, a.nonce): a
        for a in ScanAction.objects.filter(nonce__in=known, user_id=user_id)
        if (a.device_id, a.nonce) in wanted
    }


# Sites, rounds, keys and a user's scan scope change rarely and are read by every scan: each worker
# keeps them for a few seconds (a round opened or closed, a site closed, takes effect within that).
CONTEXT_SECONDS = 5


def may_scan(user) -> bool:
    """``can(user, SCAN)``, from the per-worker context cache: a scan request then needs no query for
    the user's grants (a grant taken away stops scans within CONTEXT_SECONDS)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return bool(_cached(f"scan:paths:{user.pk}", lambda: allowed_paths(user, Action.SCAN) or []))


# A plain dict, not Django's cache: the local-memory cache pickles what it keeps, and unpickling the sites
# and rounds cost 0.8 ms a request, more than the scan's own SQL.
_CONTEXT: dict[str, tuple[float, object]] = {}


def _cached(key: str, load):
    now = time.monotonic()
    hit = _CONTEXT.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    value = load()
    if len(_CONTEXT) > 1000:  # one entry per scanning user and a few more: never many
        _CONTEXT.clear()
    _CONTEXT[key] = (now + CONTEXT_SECONDS, value)
    return value


def clear_context() -> None:
    """Forget the cached context at once (tests; a site or round changed in this process)."""
    _CONTEXT.clear()


def _open_sites(ids=None) -> dict:
    qs = Site.objects.filter(is_active=True).select_related("area").prefetch_related("stations")
    return {s.pk: s for s in (qs if ids is None else qs.filter(pk__in=ids))}


def _open_rounds(ids=None) -> dict:
    qs = Round.objects.filter(status=Round.Status.OPEN).prefetch_related("areas__area")
    return {r.pk: r for r in (qs if ids is None else qs.filter(pk__in=ids))}


def _rows(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _load(user, actions: list[dict]) -> _Batch:
    """Everything the batch's decisions need, in a few plain queries (no model instances: a backlog of
    hundreds of scans spent most of its time building them)."""
    sites = _cached("scan:sites", _open_sites)
    rounds = _cached("scan:rounds", _open_rounds)
    # Opened a moment ago and not cached yet: look it up rather than refuse it.
    new_sites = [i for i in {a.get("site_id") for a in actions} - set(sites) if isinstance(i, int)]
    new_rounds = [i for i in {a.get("round_id") for a in actions} - set(rounds) if isinstance(i, int)]
    if new_sites:
        sites = {**sites, **_open_sites(new_sites)}
    if new_rounds:
        rounds = {**rounds, **_open_rounds(new_rounds)}
    barcodes = sorted({str(a.get("tube") or "").strip().upper() for a in actions})
    # Lock in a fixed order so that two uploads touching the same tubes cannot deadlock.
    tubes = {
        row[1]: _Tube(row)
        for row in _rows(
            f"SELECT {_Tube.COLUMNS} FROM sampling_tube WHERE barcode IN ({placeholders(barcodes)}) "
            f"ORDER BY id{for_update()}",
            barcodes,
        )
    }
    adds = [a for a in actions if a.get("kind") == ScanAction.Kind.ADD]
    people: dict = {}
    tokens = {str(a["code"]) for a in adds if a.get("code")}
    if tokens:
        _load_codes(people, tokens)
    ids = sorted(
        {a["resident_id"] for a in adds if not a.get("code") and isinstance(a.get("resident_id"), int)}
    )
    # Typed by hand (resident id, document number): found only among the site area's own people and the
    # non-residents registered at the site (``_person`` checks the place); rejected self-registrations
    # never. Where the person lives comes along for that check.
    place = (
        "COALESCE(a.path, ''), COALESCE(r.registered_site_id, 0) FROM residents_resident r "
        "LEFT JOIN areas_household h ON h.id = r.household_id "
        "LEFT JOIN areas_building bl ON bl.id = h.building_id "
        "LEFT JOIN areas_area a ON a.id = bl.grid_id WHERE r.rejected_at IS NULL AND "
    )
    if ids:
        for row in _rows(f"SELECT {_Person.COLUMNS}, {place}r.id IN ({placeholders(ids)})", ids):
            people[("id", row[0])] = (_Person(row[:5]), row[5], row[6])
    docs = sorted(
        {
            idnumber.normalise(str(a["document_number"]))
            for a in adds
            if not a.get("code") and not a.get("resident_id") and a.get("document_number")
        }
    )
    if docs:
        for row in _rows(
            f"SELECT {_Person.COLUMNS}, r.document_number, {place}"
            f"r.document_number IN ({placeholders(docs)})",
            docs,
        ):
            people[("doc", row[5])] = (_Person(row[:5]), row[6], row[7])
    resident_ids = sorted(
        {(p[0] if isinstance(p, tuple) else p).id for p in people.values() if not isinstance(p, str)}
    )
    round_ids = sorted({a.get("round_id") for a in actions if a.get("round_id") in rounds})
    last_samples: dict = defaultdict(list)
    # Only an undo needs the people already in a tube (the tubes are locked: their samples stay put).
    undo_tubes = (
        sorted({t.id for t in tubes.values()}) if any(a.get("kind") == "undo" for a in actions) else []
    )
    if undo_tubes:
        for tube_id, position, sample_id, *person in _rows(
            f"SELECT s.tube_id, s.position, s.id, {_Person.COLUMNS} FROM sampling_sample s "
            f"JOIN residents_resident r ON r.id = s.resident_id "
            f"WHERE s.tube_id IN ({placeholders(undo_tubes)}) AND NOT s.is_removed",
            undo_tubes,
        ):
            last_samples[tube_id].append((position, sample_id, _Person(person)))
    undone_ids = {p.id for held in last_samples.values() for _pos, _sid, p in held}
    # Tubes first, then the people's roll-call entries, each in id order; only then read their samples
    # and states (rollcall.services.lock_entries: the race of an undo and an add on two lanes).
    with connection.cursor() as cursor:
        rollcall.lock_entries(cursor, round_ids, sorted(set(resident_ids) | undone_ids))
    sampled: dict = defaultdict(set)
    states: dict = {}
    grids: dict = {}
    if resident_ids and round_ids:
        # "round_id + 0": looked up by the people's own index, whatever the statistics say. A round's
        # samples grow from none while the table's statistics still describe the rounds before it;
        # taking the round for a handful of rows, PostgreSQL read every sample of the round per batch.
        where = (
            f"resident_id IN ({placeholders(resident_ids)}) AND round_id + 0 IN ({placeholders(round_ids)})"
        )
        for round_id, resident_id, tube_id in _rows(
            f"SELECT round_id, resident_id, tube_id FROM sampling_sample WHERE {where} AND NOT is_removed",
            [*resident_ids, *round_ids],
        ):
            sampled[(round_id, resident_id)].add(tube_id)
        for round_id, resident_id, state, grid_id in _rows(
            f"SELECT round_id, resident_id, state, grid_id FROM rollcall_entry WHERE {where}",
            [*resident_ids, *round_ids],
        ):
            states[(round_id, resident_id)] = state
            grids[(round_id, resident_id)] = grid_id
    scan_paths = (
        None
        if user.is_superuser
        else _cached(f"scan:paths:{user.pk}", lambda: allowed_paths(user, Action.SCAN) or [])
    )
    return _Batch(
        user_id=user.pk,
        states=states,
        grids=grids,
        sites=sites,
        rounds=rounds,
        scan_paths=scan_paths,
        tubes=tubes,
        people=people,
        sampled=sampled,
        last_samples=last_samples,
        now=timezone.now(),
    )


def _load_codes(people: dict, tokens: set[str]) -> None:
    """Who each scanned code belongs to, or the reason to refuse it.

    A text identical to a token this server stored when it issued the code is genuine: this server signed
    exactly those bytes. Only any other text has its signature checked (codes.services.verify_token),
    which costs about 0.1 ms, as much as the rest of the scan; the fast path (fastpath.sql) does the same.
    """
    sql = (
        f"SELECT c.token, c.serial, c.revoked_at IS NOT NULL, k.state, {_Person.COLUMNS} "
        f"FROM codes_personalcode c JOIN codes_signingkey k ON k.id = c.key_id "
        f"LEFT JOIN residents_resident r ON r.id = c.resident_id WHERE "
    )

    def found(row) -> _Person | str:
        _token, _serial, revoked, key_state, *person = row
        if key_state == SigningKey.State.RETIRED or revoked or person[0] is None:
            return "code_revoked"
        return _Person(person)

    texts = sorted({t.strip().upper() for t in tokens})
    stored = {row[0]: row for row in _rows(f"{sql}c.token IN ({placeholders(texts)})", texts)}
    others = {}
    for text in tokens:
        row = stored.get(text.strip().upper())
        if row is not None:
            people[("code", text)] = found(row)
        else:
            keys = _cached("scan:keys", lambda: {k.key_id: k for k in SigningKey.objects.all()})
            others[text] = _verify(text, keys)
    # Genuine, but not the text stored for its code: looked up by its number.
    serials = sorted({v for v in others.values() if isinstance(v, int)})
    by_serial = (
        {row[1]: row for row in _rows(f"{sql}c.serial IN ({placeholders(serials)})", serials)}
        if serials
        else {}
    )
    for text, serial in others.items():
        if isinstance(serial, str):
            people[("code", text)] = serial
        else:
            row = by_serial.get(serial)
            people[("code", text)] = found(row) if row is not None else "code_unknown"


def _verify(text: str, keys: dict) -> int | str:
    """The code's serial, or this service's reason to refuse it (rules in codes.services.verify_token)."""
    verified = verify_token(text, keys)
    if isinstance(verified, str):
        return "code_revoked" if verified == "key_retired" else "code_forged"
    return verified


_KINDS = frozenset(ScanAction.Kind.values)  # .values builds a list on every call
_PAYLOAD_KEYS = ("code", "resident_id", "document_number", "station_id", "site_id", "round_id", "pool_mode")


def _decide(b: _Batch, nonce: str, data: dict) -> tuple[ActionResult, tuple]:
    """One action against the batch's state; returns its result and its ScanAction row (see _write)."""
    kind = data.get("kind")
    barcode = str(data.get("tube") or "").strip().upper()
    offline = bool(data.get("decided_offline"))
    device_time = _device_time(data.get("device_time"))
    payload = {k: v for k, v in data.items() if k in _PAYLOAD_KEYS}
    site = round_ = tube = None
    person: dict = {}
    warning = ""
    device_claimed = device_time
    if _clock_flag(device_time, b.now, b.rounds.get(data.get("round_id"))):
        # Never trusted silently: the sample carries the server's time (the device's stays on the action).
        device_time = b.now
    try:
        if kind not in _KINDS:
            raise ActionError("bad_request")
        site = b.sites.get(data.get("site_id"))
        if site is None:
            raise ActionError("site_unknown")
        if b.scan_paths is not None and not any(site.area.path.startswith(p) for p in b.scan_paths):
            raise ActionError("forbidden")
        round_ = b.rounds.get(data.get("round_id"))
        if round_ is None or round_.status != Round.Status.OPEN:
            raise ActionError("round_not_open")
        if not TUBE_BARCODE.match(barcode) or _is_id_number(barcode):
            # An 18-digit ID card number fits the tube pattern: a scanner gun that read an ID card must
            # not open (and so close the tube in use) a "tube" named after a person.
            raise ActionError("bad_tube_barcode")
        if kind == ScanAction.Kind.OPEN_TUBE:
            tube = _open_tube(b, round_, site, barcode, data, device_time)
        else:
            tube = b.tubes.get(barcode)
            if tube is None or tube.round_id != round_.pk or tube.site_id != site.pk:
                raise ActionError("tube_not_open")
            if kind == ScanAction.Kind.ADD:
                person, warning = _add(b, tube, round_, site, data, nonce, device_time, offline)
            elif kind == ScanAction.Kind.UNDO:
                person = _undo(b, tube)
            else:
                _seal(b, tube, device_time)
    except ActionError as exc:
        result, reason = ScanAction.Result.REFUSED, exc.reason
        person = exc.person
    else:
        result = ScanAction.Result.WARNED if warning else ScanAction.Result.ACCEPTED
        reason = warning or "ok"
    tube_info = tube.info() if tube is not None else {}
    payload["_tube"] = tube_info
    payload["_person"] = person
    clock = _clock_flag(device_claimed, b.now, round_)
    if clock:
        payload["_clock"] = clock
    row = (
        nonce,
        str(data.get("device_id") or "")[:64],
        b.user_id,
        kind if kind in _KINDS else ScanAction.Kind.ADD,
        round_.pk if round_ is not None else None,
        site.pk if site is not None else None,
        barcode[:40],
        payload,
        device_claimed,
        b.now,
        offline,
        result,
        reason,
        MESSAGES[reason],
        # The phone had already told the sampler "OK": someone must look at a refusal of it. A device
        # clock that cannot be right is stored beside the server's time and looked at too.
        (offline and result == ScanAction.Result.REFUSED) or bool(clock),
    )
    outcome = ActionResult(
        nonce=nonce,
        result=result,
        reason=reason,
        message=MESSAGES[reason],
        tube=tube_info,
        person=person,
    )
    return outcome, row


def _open_tube(b: _Batch, round_: Round, site: Site, barcode: str, data: dict, when) -> _Tube:
    tube = b.tubes.get(barcode)
    if tube is not None:
        if tube.round_id == round_.pk and tube.site_id == site.pk and tube.status == Tube.Status.OPEN:
            return tube  # the same tube opened again at the site: nothing to do
        raise ActionError("tube_used")
    station_id = data.get("station_id")
    # The site's stations are in the cached context; one added a moment ago is looked up. A station of
    # another site is not recorded, and the tube still opens.
    if station_id not in {st.pk for st in site.stations.all()}:
        known = isinstance(station_id, int) and Station.objects.filter(pk=station_id, site=site).exists()
        station_id = station_id if known else None
    # A retest (复核) is a single tube whatever the area's mode: the scanner asks for one explicitly.
    mode = (
        PoolMode.SINGLE if data.get("pool_mode") == PoolMode.SINGLE else round_.pool_mode_for(site.area.path)
    )
    # Written at once (it is rare, one per 10–20 people): the samples that follow need its id.
    capacity, status = POOL_SIZE[mode], Tube.Status.OPEN
    [tube_id] = insert_rows(
        Tube, _TUBE_FIELDS, [(barcode, round_.pk, site.pk, station_id, mode, capacity, status, 0, when)]
    )
    tube = b.tubes[barcode] = _Tube(
        (tube_id, barcode, round_.pk, site.pk, mode, capacity, status, 0, None, None)
    )
    return tube


_TUBE_FIELDS = ("barcode", "round_id", "site_id", "station_id", "pool_mode", "capacity", "status", "size")
_TUBE_FIELDS += ("opened_at",)


def _person(b: _Batch, data: dict, site: Site) -> tuple[_Person, bool]:
    """The person an add names, and whether they were typed by hand. A hand-typed person who is not of
    the site's area (nor registered at the site) answers exactly like an unknown one: a sampler's
    account is no oracle over the district's ids and ID numbers."""
    if data.get("code"):
        key: tuple = ("code", str(data["code"]))
    elif data.get("resident_id"):
        key = ("id", data["resident_id"])
    elif data.get("document_number"):
        key = ("doc", idnumber.normalise(str(data["document_number"])))
    else:
        raise ActionError("bad_request")
    found = b.people.get(key)
    if found is None:
        raise ActionError("person_unknown")
    if isinstance(found, str):
        raise ActionError(found)
    if isinstance(found, tuple):
        person, grid_path, registered_site_id = found
        if not ((grid_path and grid_path.startswith(site.area.path)) or registered_site_id == site.pk):
            raise ActionError("person_unknown")
        return person, True
    return found, False


def _add(
    b: _Batch, tube: _Tube, round_: Round, site: Site, data: dict, nonce: str, when, offline: bool
) -> tuple[dict, str]:
    # Full before closed: a full tube closed by itself, and "full" tells the sampler what to do.
    if tube.size >= tube.capacity:
        raise ActionError("tube_full")
    if tube.status != Tube.Status.OPEN:
        raise ActionError("tube_not_open")
    resident, manual = _person(b, data, site)
    person = resident.shown()
    if manual:
        person["manual"] = True  # typed by hand: the site board shows it apart
    held_in = b.sampled[(round_.pk, resident.id)]
    state = b.states.get((round_.pk, resident.id))
    if tube.id in held_in:
        raise ActionError("already_in_tube", person)
    if tube.capacity > 1 and state in (State.POOL_POSITIVE, State.POSITIVE):
        raise ActionError("retest_needs_single", person)
    if tube.pool_mode == PoolMode.HOUSEHOLD:
        if tube.household_id is None:
            tube.household_id = resident.household_id
        elif resident.household_id != tube.household_id:
            raise ActionError("other_household", person)
    repeat = bool(held_in)
    tube.size += 1
    held_in.add(tube.id)
    b.new_samples.append(
        (tube.id, round_.pk, resident.id, tube.size, when, b.now, nonce, repeat, False, offline)
    )
    b.last_samples[tube.id].append((tube.size, None, resident))
    if tube.size >= tube.capacity and tube.pool_mode != PoolMode.HOUSEHOLD:
        tube.status, tube.sealed_at = Tube.Status.SEALED, when  # full: closes by itself
    b.changed_tubes[tube.id] = tube
    # A retest or re-sample is a second sample by design: no warning for it.
    expected = state in (State.POOL_POSITIVE, State.INVALID, State.POSITIVE)
    return person, "already_sampled" if repeat and not expected else ""


def _undo(b: _Batch, tube: _Tube) -> dict:
    in_tube = sorted(b.last_samples.get(tube.id, []), key=lambda x: x[0])
    if not in_tube or tube.box_id is not None:
        raise ActionError("nothing_to_undo")
    position, sample_id, resident = in_tube[-1]
    b.last_samples[tube.id] = in_tube[:-1]
    if sample_id is None:
        # Added earlier in this same upload: simply not written.
        b.new_samples = [s for s in b.new_samples if not (s[0] == tube.id and s[3] == position)]
    else:
        b.removed.append(sample_id)
    b.sampled[(tube.round_id, resident.id)].discard(tube.id)
    b.undone.add((tube.round_id, resident.id))
    tube.size -= 1
    tube.status, tube.sealed_at = Tube.Status.OPEN, None
    if tube.size == 0:
        tube.household_id = None
    b.changed_tubes[tube.id] = tube
    return resident.shown(with_sex=False)


def _seal(b: _Batch, tube: _Tube, when) -> None:
    if tube.status == Tube.Status.SEALED:
        return
    if tube.size == 0:
        raise ActionError("tube_empty")
    tube.status, tube.sealed_at = Tube.Status.SEALED, when
    b.changed_tubes[tube.id] = tube


_SAMPLE_FIELDS = ("tube_id", "round_id", "resident_id", "position", "scanned_at", "received_at", "nonce")
_SAMPLE_FIELDS += ("is_repeat", "is_removed", "decided_offline")
_ACTION_FIELDS = ("nonce", "device_id", "user_id", "kind", "round_id", "site_id", "tube_barcode", "payload")
_ACTION_FIELDS += (
    "device_time",
    "received_at",
    "decided_offline",
    "result",
    "reason",
    "message",
    "needs_review",
)


def _write(b: _Batch, actions: list[tuple]) -> None:
    if b.removed:
        Sample.objects.filter(pk__in=b.removed).update(is_removed=True)
    insert_rows(Sample, _SAMPLE_FIELDS, b.new_samples, ids=False)
    _write_tubes(list(b.changed_tubes.values()))
    _update_rollcall(b)
    _write_tallies(b)
    insert_rows(ScanAction, _ACTION_FIELDS, actions, ids=False)
    add_scan_minutes(actions)


_KIND, _ROUND, _SITE, _RECEIVED, _RESULT = (
    _ACTION_FIELDS.index(f) for f in ("kind", "round_id", "site_id", "received_at", "result")
)


def add_scan_minutes(actions: list[tuple]) -> None:
    """Count the adds accepted or warned among ``actions`` (rows in the order of _ACTION_FIELDS) into
    their round's, site's and minute's ScanMinute row, after the actions themselves (the order
    fastpath.sql writes them in). An add undone later still counts: it was a scan at the site."""
    minutes: Counter = Counter(
        (a[_ROUND], a[_SITE], minute_of(a[_RECEIVED]))
        for a in actions
        if a[_KIND] == ScanAction.Kind.ADD and a[_RESULT] in COUNTED_ADDS and a[_ROUND] and a[_SITE]
    )
    if not minutes:
        return
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO sampling_scanminute (round_id, site_id, minute, scans) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (round_id, site_id, minute) DO UPDATE SET scans = sampling_scanminute.scans + "
            "excluded.scans",
            [(r, s, adapt(m), n) for (r, s, m), n in sorted(minutes.items())],
        )


def _write_tallies(b: _Batch) -> None:
    """The command view's tallies move with the samples, in the same transaction and after the roll
    call's (the order fastpath.sql locks them in): the hour's first samples of each person's grid
    (rollcall.HourTally; people not on the roll count nowhere) and each site's live samples (SiteTally).
    """
    hours: dict[int, Counter] = defaultdict(Counter)
    sites: Counter = Counter()
    for tube_id, round_id, resident_id, _pos, when, _now, _nonce, repeat, *_rest in b.new_samples:
        sites[(round_id, b.changed_tubes[tube_id].site_id)] += 1
        grid_id = b.grids.get((round_id, resident_id))
        if not repeat and grid_id is not None:
            hours[round_id][(grid_id, rollcall.hour_of(when))] += 1
    if b.removed:
        removed = list(
            Sample.objects.filter(pk__in=b.removed).values_list(
                "round_id", "tube__site_id", "resident_id", "scanned_at", "is_repeat"
            )
        )
        firsts = [(r, p) for r, _s, p, _w, repeat in removed if not repeat]
        entry_grids = {}
        if firsts:
            entry_grids = {
                (r, p): g
                for r, p, g in Entry.objects.filter(
                    round_id__in={r for r, _p in firsts}, resident_id__in={p for _r, p in firsts}
                ).values_list("round_id", "resident_id", "grid_id")
            }
        for round_id, site_id, resident_id, when, repeat in removed:
            sites[(round_id, site_id)] -= 1
            grid_id = entry_grids.get((round_id, resident_id))
            if not repeat and grid_id is not None:
                hours[round_id][(grid_id, rollcall.hour_of(when))] -= 1
    for round_id, counts in sorted(hours.items()):
        rollcall.add_hours(round_id, counts)
    rows = [(r, s, n) for (r, s), n in sorted(sites.items()) if n]
    if rows:
        with connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO sampling_sitetally (round_id, site_id, samples) VALUES (%s, %s, %s) "
                "ON CONFLICT (round_id, site_id) DO UPDATE SET samples = sampling_sitetally.samples + "
                "excluded.samples",
                rows,
            )


def _disagreements(stored: dict, derived: dict) -> list[tuple]:
    """[(key, stored, derived)…] where two counts by the same keys differ (a missing key counts 0)."""
    return [
        (key, stored.get(key, 0), derived.get(key, 0))
        for key in sorted(set(stored) | set(derived))
        if stored.get(key, 0) != derived.get(key, 0)
    ]


def _count_again(model, round_, rows: list, action: str, kind: str, wrong: int, user) -> None:
    """Replace a round's kept counts in ``model`` with a recount (``rows``, perhaps none), and audit how
    many were wrong (check_rollcall --repair)."""
    with transaction.atomic():
        model.objects.filter(round_id=round_.pk).delete()
        model.objects.bulk_create(rows, batch_size=5_000)
        record(user, action, round_, changes={kind: [wrong, 0]}, reason="check_rollcall --repair")


def derive_site_tallies(round_id: int) -> dict[int, int]:
    """The round's live samples per site, counted from the samples."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.site_id, COUNT(*) FROM sampling_sample s JOIN sampling_tube t ON t.id = s.tube_id "
            "WHERE s.round_id = %s AND s.is_removed = %s GROUP BY t.site_id",
            [round_id, False],
        )
        return dict(cursor.fetchall())


def check_site_tallies(round_, *, repair: bool = False, user=None) -> list[tuple[int, int, int]]:
    """Compare the round's SiteTally rows with a recount: [(site id, stored, derived)…] that disagree.
    With ``repair`` the round's rows are counted again (manage.py check_rollcall --repair), and an audit
    record says how many were wrong."""
    stored = {
        s: n for s, n in SiteTally.objects.filter(round_id=round_.pk).values_list("site_id", "samples") if n
    }
    derived = derive_site_tallies(round_.pk)
    wrong = _disagreements(stored, derived)
    if repair and wrong:
        rows = [SiteTally(round_id=round_.pk, site_id=s, samples=n) for s, n in sorted(derived.items())]
        _count_again(SiteTally, round_, rows, "rollcall.repair_sites", "site_tallies", len(wrong), user)
    return wrong


def derive_scan_minutes(round_id: int) -> dict[tuple[int, datetime.datetime], int]:
    """The round's adds accepted or warned per site and UTC minute of arrival, counted from the actions."""
    counts: Counter = Counter()
    for site_id, received_at in (
        ScanAction.objects.filter(round_id=round_id, kind=ScanAction.Kind.ADD, result__in=COUNTED_ADDS)
        .exclude(site_id=None)
        .values_list("site_id", "received_at")
        .iterator(chunk_size=10_000)
    ):
        counts[(site_id, minute_of(received_at))] += 1
    return dict(counts)


def check_scan_minutes(
    round_, *, repair: bool = False, user=None
) -> list[tuple[tuple[int, datetime.datetime], int, int]]:
    """Compare the round's ScanMinute rows with a recount of its actions: [((site id, minute), stored,
    derived)…] that disagree. With ``repair`` the round's rows are counted again (check_rollcall
    --repair), audited as the site tallies' repair is."""
    stored = {
        (s, m.astimezone(datetime.UTC)): n
        for s, m, n in ScanMinute.objects.filter(round_id=round_.pk).values_list("site_id", "minute", "scans")
        if n
    }
    derived = derive_scan_minutes(round_.pk)
    wrong = _disagreements(stored, derived)
    if repair and wrong:
        rows = [
            ScanMinute(round_id=round_.pk, site_id=s, minute=m, scans=n)
            for (s, m), n in sorted(derived.items())
        ]
        _count_again(
            ScanMinute, round_, rows, "rollcall.repair_scan_minutes", "scan_minutes", len(wrong), user
        )
    return wrong


def _write_tubes(tubes: list[_Tube]) -> None:
    if not tubes:
        return
    rows = [(t.size, t.status, t.sealed_at, t.household_id, t.id) for t in tubes]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One statement for all of them (the same UPDATE sent once per tube cost ~70 µs a tube).
            cursor.execute(
                "UPDATE sampling_tube t SET size = v.size, status = v.status, sealed_at = v.sealed_at, "
                "household_id = v.household_id FROM unnest(%s::int[], %s::text[], %s::timestamptz[], "
                "%s::bigint[], %s::bigint[]) AS v(size, status, sealed_at, household_id, id) "
                "WHERE t.id = v.id",
                [list(column) for column in zip(*rows, strict=True)],
            )
        else:
            cursor.executemany(
                "UPDATE sampling_tube SET size = %s, status = %s, sealed_at = %s, household_id = %s "
                "WHERE id = %s",
                rows,
            )


def _update_rollcall(b: _Batch) -> None:
    """The roll call moves with the scans, in the same transaction: missing → sampled by increments; an
    undo or a retest sample goes through the full rules."""
    added: dict[int, set] = defaultdict(set)
    retests = []
    for tube_id, round_id, resident_id, *_rest in b.new_samples:
        state = b.states.get((round_id, resident_id))
        if state in (State.MISSING, State.EXEMPT):
            added[round_id].add(resident_id)
        elif state in (State.POOL_POSITIVE, State.INVALID, State.POSITIVE):
            retests.append((round_id, resident_id, b.changed_tubes[tube_id].capacity))
    for round_id, ids in added.items():
        rollcall.mark_sampled(round_id, sorted(ids))
    if retests:
        signals.retests_sampled.send(sender=Sample, samples=retests)
    undone: dict[int, set] = defaultdict(set)
    for round_id, resident_id in b.undone:
        undone[round_id].add(resident_id)
    for round_id, ids in undone.items():
        if b.removed:
            signals.samples_taken_back.send(sender=Sample, round_id=round_id, resident_ids=ids)
        rollcall.refresh(round_id, ids)


# ------------------------------------------------------------------------------------------------ boxes


def trace_tube(barcode: str) -> dict:
    """tube → box → site → station → people: what an abnormal tube needs at once."""
    tube = Tube.objects.select_related("box", "site__area", "station", "round").get(barcode=barcode)
    people = [
        {
            "resident_id": s.resident_id,
            "name": s.resident.name,
            "household": s.resident.household.label if s.resident.household else "",
            "position": s.position,
        }
        for s in tube.samples.filter(is_removed=False).select_related("resident__household__building")
    ]
    return {
        "tube": tube.barcode,
        "round": tube.round.name,
        "box": tube.box.code if tube.box else "",
        "site": tube.site.name,
        "station": tube.station.name if tube.station else "",
        "people": people,
    }
