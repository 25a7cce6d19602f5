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
from collections import defaultdict
from dataclasses import dataclass, field, replace

from django.core.cache import cache
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from gridroll.accounts.roles import Action
from gridroll.accounts.scope import allowed_paths
from gridroll.codes.models import PersonalCode, SigningKey
from gridroll.codes.services import verify_token
from gridroll.core.bulk import insert_rows
from gridroll.lib import idnumber
from gridroll.residents.models import Resident, Sex
from gridroll.rollcall import services as rollcall
from gridroll.rollcall.models import Entry, State
from gridroll.sampling.models import POOL_SIZE, Box, PoolMode, Round, Sample, ScanAction, Site, Station, Tube

TUBE_BARCODE = re.compile(r"^[A-Z0-9]{8,20}$")
BOX_CODE = re.compile(r"^[A-Z0-9-]{4,40}$")

MESSAGES = {
    "ok": "成功",
    "bad_request": "请求不完整",
    "forbidden": "无权在此采样点扫码",
    "round_not_open": "本轮次未开放采样",
    "site_unknown": "采样点不存在或已关闭",
    "bad_tube_barcode": "管码格式不对（应为8–20位字母或数字），请重扫",
    "tube_used": "此管已在其他轮次、采样点使用或已封管，请换一支管",
    "tube_not_open": "此管未开管或已封管",
    "tube_full": "此管已满，请封管后换新管",
    "code_forged": "不是有效的核酸码（伪造或损坏）",
    "code_revoked": "此码已作废，请出示新码或用证件号登记",
    "code_unknown": "本系统中没有此码，请用证件号登记",
    "person_unknown": "找不到此人，请先登记",
    "already_in_tube": "此人已在本管中",
    "already_sampled": "此人本轮已采过样（已记录）",
    "other_household": "1户1管：此人不是本户成员",
    "nothing_to_undo": "本管没有可撤销的人",
    "tube_empty": "空管不能封管",
    "retest_needs_single": "此人混管阳性待复核，须单管单采：请换单采管",
}


class ActionError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(MESSAGES[reason])
        self.reason = reason


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


def _device_time(value) -> datetime.datetime:
    if isinstance(value, datetime.datetime):
        return value
    parsed = parse_datetime(str(value or ""))
    if parsed is None:
        return timezone.now()
    return parsed if parsed.tzinfo else timezone.make_aware(parsed)


def _tube_info(tube: Tube | None) -> dict:
    if tube is None:
        return {}
    return {
        "barcode": tube.barcode,
        "size": tube.size,
        "capacity": tube.capacity,
        "status": tube.status,
        "pool_mode": tube.pool_mode,
    }


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


_FAST_PATH: list[bool] = []  # [installed?], asked once per process


def _fast_add(user, data: dict) -> ActionResult | bool | None:
    """One "add" in one round trip (fastpath.sql, PostgreSQL): the scanner's commonest action.

    Returns None — take the general way — for anything else: another kind, a document number, a code
    that does not verify, a site, round or scope the general way must refuse; False for a nonce seen
    before (the general way answers with the stored result).
    """
    if data.get("kind") != ScanAction.Kind.ADD or data.get("document_number"):
        return None
    nonce = str(data.get("nonce") or "")[:64]
    resident_id = data.get("resident_id")
    code = data.get("code")
    if not nonce or not (code or isinstance(resident_id, int)):
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
    if not user.is_superuser:
        paths = _cached(f"scan:paths:{user.pk}", lambda: allowed_paths(user, Action.SCAN) or [])
        if not any(site.area.path.startswith(p) for p in paths):
            return None
    serial = None
    if code:
        keys = _cached("scan:keys", lambda: {k.key_id: k for k in SigningKey.objects.all()})
        serial = _verify(str(code), keys)
        if isinstance(serial, str):
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
        serial,
        None if code else resident_id,
        json.dumps(payload, ensure_ascii=False),
        _device_time(data.get("device_time")),
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
_SEX_LABELS: dict[str, str] = {}  # language → the labels as JSON, made once per language


def _sex_labels() -> str:
    from django.utils.translation import get_language

    language = get_language() or ""
    if language not in _SEX_LABELS:
        _SEX_LABELS[language] = json.dumps({k: str(v) for k, v in Sex.choices}, ensure_ascii=False)
    return _SEX_LABELS[language]


@dataclass
class _Batch:
    user: object
    sites: dict
    rounds: dict
    scan_paths: list | None
    tubes: dict  # barcode → Tube (locked)
    people: dict  # ("code", text) / ("id", pk) / ("doc", number) → Resident or an ActionError reason
    sampled: dict  # (round id, resident id) → set of tube ids holding them
    last_samples: dict  # tube id → list of (position, sample id, resident) still in the tube
    states: dict  # (round id, resident id) → roll-call state
    new_samples: list = field(default_factory=list)
    removed: list = field(default_factory=list)
    undone: set = field(default_factory=set)
    changed_tubes: dict = field(default_factory=dict)


def _record_batch(user, actions: list[dict], look_up_nonces: bool) -> list[ActionResult]:
    nonces = [str(a.get("nonce") or "")[:64] for a in actions]
    stored = {}
    if look_up_nonces or len(actions) > 1:
        stored = {a.nonce: a for a in ScanAction.objects.filter(nonce__in=[n for n in nonces if n])}
    results: list[ActionResult | None] = [None] * len(actions)
    todo = []
    seen: set[str] = set()
    for i, nonce in enumerate(nonces):
        if not nonce:
            results[i] = ActionResult(
                nonce="", result="refused", reason="bad_request", message=MESSAGES["bad_request"]
            )
        elif nonce in stored:
            results[i] = _stored(stored[nonce])
        elif nonce in seen:
            results[i] = None  # the same nonce twice in one upload: answered with the first one's result
        else:
            seen.add(nonce)
            todo.append(i)
    if todo:
        with transaction.atomic():
            batch = _load(user, [actions[i] for i in todo])
            rows = []
            for i in todo:
                results[i], row = _decide(batch, nonces[i], actions[i])
                rows.append(row)
            _write(batch, rows)
    by_nonce = {r.nonce: r for r in results if r is not None}
    return [
        r if r is not None else replace(by_nonce[nonces[i]], duplicate=True) for i, r in enumerate(results)
    ]


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


def _cached(key: str, load):
    value = cache.get(key)
    if value is None:
        value = load()
        cache.set(key, value, CONTEXT_SECONDS)
    return value


def _open_sites(ids=None) -> dict:
    qs = Site.objects.filter(is_active=True).select_related("area")
    return {s.pk: s for s in (qs if ids is None else qs.filter(pk__in=ids))}


def _open_rounds(ids=None) -> dict:
    qs = Round.objects.filter(status=Round.Status.OPEN).prefetch_related("areas__area")
    return {r.pk: r for r in (qs if ids is None else qs.filter(pk__in=ids))}


def _load(user, actions: list[dict]) -> _Batch:
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
        t.barcode: t for t in Tube.objects.select_for_update().filter(barcode__in=barcodes).order_by("id")
    }
    people: dict = {}
    tokens = {str(a["code"]) for a in actions if a.get("kind") == "add" and a.get("code")}
    keys = _cached("scan:keys", lambda: {k.key_id: k for k in SigningKey.objects.all()})
    serials = {text: _verify(text, keys) for text in tokens}
    wanted = [v for v in serials.values() if isinstance(v, int)]
    codes = {c.serial: c for c in PersonalCode.objects.filter(serial__in=wanted).select_related("resident")}
    for text, serial in serials.items():
        if isinstance(serial, str):
            people[("code", text)] = serial
            continue
        code = codes.get(serial)
        if code is None:
            people[("code", text)] = "code_unknown"
        elif code.resident is None or code.revoked_at is not None:
            people[("code", text)] = "code_revoked"
        else:
            people[("code", text)] = code.resident
    ids = {
        a["resident_id"]
        for a in actions
        if a.get("kind") == "add" and not a.get("code") and a.get("resident_id")
    }
    for r in Resident.objects.filter(pk__in=[i for i in ids if isinstance(i, int)]):
        people[("id", r.pk)] = r
    docs = {
        idnumber.normalise(str(a["document_number"]))
        for a in actions
        if a.get("kind") == "add"
        and not a.get("code")
        and not a.get("resident_id")
        and a.get("document_number")
    }
    for r in Resident.objects.filter(document_number__in=docs):
        people[("doc", r.document_number)] = r
    resident_ids = [r.pk for r in people.values() if isinstance(r, Resident)]
    sampled: dict = defaultdict(set)
    for round_id, resident_id, tube_id in Sample.objects.filter(
        round_id__in=list(rounds), resident_id__in=resident_ids, is_removed=False
    ).values_list("round_id", "resident_id", "tube_id"):
        sampled[(round_id, resident_id)].add(tube_id)
    last_samples: dict = defaultdict(list)
    # Only an undo needs the people already in a tube.
    has_undo = any(a.get("kind") == "undo" for a in actions)
    undo_tubes = [t.pk for t in tubes.values()] if has_undo else []
    for sample in Sample.objects.filter(tube_id__in=undo_tubes, is_removed=False).select_related("resident"):
        last_samples[sample.tube_id].append((sample.position, sample.pk, sample.resident))
    scan_paths = (
        None
        if user.is_superuser
        else _cached(f"scan:paths:{user.pk}", lambda: allowed_paths(user, Action.SCAN) or [])
    )
    states = {
        (round_id, resident_id): state
        for round_id, resident_id, state in Entry.objects.filter(
            round_id__in=list(rounds), resident_id__in=resident_ids
        ).values_list("round_id", "resident_id", "state")
    }
    return _Batch(
        user=user,
        states=states,
        sites=sites,
        rounds=rounds,
        scan_paths=scan_paths,
        tubes=tubes,
        people=people,
        sampled=sampled,
        last_samples=last_samples,
    )


def _verify(text: str, keys: dict) -> int | str:
    """The code's serial, or this service's reason to refuse it (rules in codes.services.verify_token)."""
    verified = verify_token(text, keys)
    if isinstance(verified, str):
        return "code_revoked" if verified == "key_retired" else "code_forged"
    return verified


def _decide(b: _Batch, nonce: str, data: dict) -> tuple[ActionResult, ScanAction]:
    kind = data.get("kind")
    barcode = str(data.get("tube") or "").strip().upper()
    offline = bool(data.get("decided_offline"))
    action = ScanAction(
        nonce=nonce,
        device_id=str(data.get("device_id") or "")[:64],
        user=b.user,
        kind=kind if kind in ScanAction.Kind.values else ScanAction.Kind.ADD,
        tube_barcode=barcode[:40],
        payload={
            k: v
            for k, v in data.items()
            if k
            in ("code", "resident_id", "document_number", "station_id", "site_id", "round_id", "pool_mode")
        },
        device_time=_device_time(data.get("device_time")),
        decided_offline=offline,
    )
    tube = None
    person: dict = {}
    warning = ""
    try:
        if kind not in ScanAction.Kind.values:
            raise ActionError("bad_request")
        site = b.sites.get(data.get("site_id"))
        if site is None:
            raise ActionError("site_unknown")
        action.site = site
        if b.scan_paths is not None and not any(site.area.path.startswith(p) for p in b.scan_paths):
            raise ActionError("forbidden")
        round_ = b.rounds.get(data.get("round_id"))
        if round_ is None or round_.status != Round.Status.OPEN:
            raise ActionError("round_not_open")
        action.round = round_
        if not TUBE_BARCODE.match(barcode):
            raise ActionError("bad_tube_barcode")
        if kind == ScanAction.Kind.OPEN_TUBE:
            tube = _open_tube(b, round_, site, barcode, data, action.device_time)
        else:
            tube = b.tubes.get(barcode)
            if tube is None or tube.round_id != round_.pk or tube.site_id != site.pk:
                raise ActionError("tube_not_open")
            if kind == ScanAction.Kind.ADD:
                person, warning = _add(b, tube, round_, data, nonce, action.device_time, offline)
            elif kind == ScanAction.Kind.UNDO:
                person = _undo(b, tube)
            else:
                _seal(b, tube, action.device_time)
    except ActionError as exc:
        action.result, action.reason, action.message = (
            ScanAction.Result.REFUSED,
            exc.reason,
            MESSAGES[exc.reason],
        )
        # The phone had already told the sampler "OK": someone must look at this one.
        action.needs_review = offline
    else:
        action.result = ScanAction.Result.WARNED if warning else ScanAction.Result.ACCEPTED
        action.reason = warning or "ok"
        action.message = MESSAGES[action.reason]
    action.payload["_tube"] = _tube_info(tube)
    action.payload["_person"] = person
    result = ActionResult(
        nonce=nonce,
        result=action.result,
        reason=action.reason,
        message=action.message,
        tube=_tube_info(tube),
        person=person,
    )
    return result, action


def _open_tube(b: _Batch, round_: Round, site: Site, barcode: str, data: dict, when) -> Tube:
    tube = b.tubes.get(barcode)
    if tube is not None:
        if tube.round_id == round_.pk and tube.site_id == site.pk and tube.status == Tube.Status.OPEN:
            return tube  # the same tube opened again at the site: nothing to do
        raise ActionError("tube_used")
    station_id = data.get("station_id")
    station = (
        Station.objects.filter(pk=station_id, site=site).first() if isinstance(station_id, int) else None
    )
    # A retest (复核) is a single tube whatever the area's mode: the scanner asks for one explicitly.
    mode = (
        PoolMode.SINGLE if data.get("pool_mode") == PoolMode.SINGLE else round_.pool_mode_for(site.area.path)
    )
    # Created at once (it is rare, one per 10–20 people): the samples that follow need its id.
    tube = Tube.objects.create(
        barcode=barcode,
        round=round_,
        site=site,
        station=station,
        pool_mode=mode,
        capacity=POOL_SIZE[mode],
        opened_at=when,
    )
    b.tubes[barcode] = tube
    return tube


def _person(b: _Batch, data: dict) -> Resident:
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
    return found


def _add(
    b: _Batch, tube: Tube, round_: Round, data: dict, nonce: str, when, offline: bool
) -> tuple[dict, str]:
    # Full before closed: a full tube closed by itself, and "full" tells the sampler what to do.
    if tube.size >= tube.capacity:
        raise ActionError("tube_full")
    if tube.status != Tube.Status.OPEN:
        raise ActionError("tube_not_open")
    resident = _person(b, data)
    person = {"masked_name": resident.masked_name, "age": resident.age, "sex": resident.get_sex_display()}
    held_in = b.sampled[(round_.pk, resident.pk)]
    if tube.pk in held_in:
        raise ActionError("already_in_tube")
    if tube.capacity > 1 and b.states.get((round_.pk, resident.pk)) in (State.POOL_POSITIVE, State.POSITIVE):
        raise ActionError("retest_needs_single")
    if tube.pool_mode == PoolMode.HOUSEHOLD:
        if tube.household_id is None:
            tube.household_id = resident.household_id
        elif resident.household_id != tube.household_id:
            raise ActionError("other_household")
    repeat = bool(held_in)
    tube.size += 1
    held_in.add(tube.pk)
    b.new_samples.append(
        (tube.pk, round_.pk, resident.pk, tube.size, when, timezone.now(), nonce, repeat, False, offline)
    )
    b.last_samples[tube.pk].append((tube.size, None, resident))
    if tube.size >= tube.capacity and tube.pool_mode != PoolMode.HOUSEHOLD:
        tube.status, tube.sealed_at = Tube.Status.SEALED, when  # full: closes by itself
    b.changed_tubes[tube.pk] = tube
    # A retest or re-sample is a second sample by design: no warning for it.
    expected = b.states.get((round_.pk, resident.pk)) in (State.POOL_POSITIVE, State.INVALID, State.POSITIVE)
    return person, "already_sampled" if repeat and not expected else ""


def _undo(b: _Batch, tube: Tube) -> dict:
    in_tube = sorted(b.last_samples.get(tube.pk, []), key=lambda x: x[0])
    if not in_tube or tube.box_id is not None:
        raise ActionError("nothing_to_undo")
    position, sample_id, resident = in_tube[-1]
    b.last_samples[tube.pk] = in_tube[:-1]
    if sample_id is None:
        # Added earlier in this same upload: simply not written.
        b.new_samples = [s for s in b.new_samples if not (s[0] == tube.pk and s[3] == position)]
    else:
        b.removed.append(sample_id)
    b.sampled[(tube.round_id, resident.pk)].discard(tube.pk)
    b.undone.add((tube.round_id, resident.pk))
    tube.size -= 1
    tube.status, tube.sealed_at = Tube.Status.OPEN, None
    if tube.size == 0:
        tube.household_id = None
    b.changed_tubes[tube.pk] = tube
    return {"masked_name": resident.masked_name, "age": resident.age}


def _seal(b: _Batch, tube: Tube, when) -> None:
    if tube.status == Tube.Status.SEALED:
        return
    if tube.size == 0:
        raise ActionError("tube_empty")
    tube.status, tube.sealed_at = Tube.Status.SEALED, when
    b.changed_tubes[tube.pk] = tube


def _write(b: _Batch, actions: list[ScanAction]) -> None:
    if b.removed:
        Sample.objects.filter(pk__in=b.removed).update(is_removed=True)
    insert_rows(
        Sample,
        (
            "tube_id",
            "round_id",
            "resident_id",
            "position",
            "scanned_at",
            "received_at",
            "nonce",
            "is_repeat",
            "is_removed",
            "decided_offline",
        ),
        b.new_samples,
    )
    if b.changed_tubes:
        # One statement sent many times (psycopg pipelines it): bulk_update's CASE expressions cost more.
        with connection.cursor() as cursor:
            cursor.executemany(
                "UPDATE sampling_tube SET size = %s, status = %s, sealed_at = %s, household_id = %s "
                "WHERE id = %s",
                [(t.size, t.status, t.sealed_at, t.household_id, t.pk) for t in b.changed_tubes.values()],
            )
    _update_rollcall(b)
    now = timezone.now()
    insert_rows(
        ScanAction,
        (
            "nonce",
            "device_id",
            "user_id",
            "kind",
            "round_id",
            "site_id",
            "tube_barcode",
            "payload",
            "device_time",
            "received_at",
            "decided_offline",
            "result",
            "reason",
            "message",
            "needs_review",
        ),
        [
            (
                a.nonce,
                a.device_id,
                a.user.pk,
                a.kind,
                a.round_id,
                a.site_id,
                a.tube_barcode,
                a.payload,
                a.device_time,
                now,
                a.decided_offline,
                a.result,
                a.reason,
                a.message,
                a.needs_review,
            )
            for a in actions
        ],
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
        from gridroll.labs.services import tasks_sampled

        tasks_sampled(retests)
    undone: dict[int, set] = defaultdict(set)
    for round_id, resident_id in b.undone:
        undone[round_id].add(resident_id)
    for round_id, ids in undone.items():
        if b.removed:
            from gridroll.labs.services import tasks_unsampled

            tasks_unsampled(round_id, ids)
        rollcall.refresh(round_id, ids)


# ------------------------------------------------------------------------------------------------ boxes


class BoxError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@transaction.atomic
def pack_tube(box: Box, barcode: str) -> Tube:
    """Put a sealed tube of the box's round and site into the box."""
    box = Box.objects.select_for_update().get(pk=box.pk)
    if box.status != Box.Status.PACKING:
        raise BoxError("box_sealed", "此箱已封箱")
    tube = Tube.objects.select_for_update().filter(barcode=barcode.strip().upper()).first()
    if tube is None or tube.round_id != box.round_id or tube.site_id != box.site_id:
        raise BoxError("tube_not_here", "此管不属于本采样点本轮次")
    if tube.status != Tube.Status.SEALED:
        raise BoxError("tube_not_sealed", "此管未封管，请先封管")
    if tube.box_id is not None:
        raise BoxError("tube_packed", f"此管已装入 {tube.box.code}")
    tube.box, tube.packed_at = box, timezone.now()
    tube.save(update_fields=["box", "packed_at"])
    return tube


@transaction.atomic
def seal_box(box: Box, counted: int) -> Box:
    """Close a box after the packer counted its tubes: the count must equal the system's."""
    box = Box.objects.select_for_update().get(pk=box.pk)
    in_system = box.tubes.count()
    if counted != in_system:
        raise BoxError("count_mismatch", f"清点 {counted} 管，系统记录 {in_system} 管，请核对后再封箱")
    if in_system == 0:
        raise BoxError("box_empty", "空箱不能封箱")
    box.counted, box.status, box.sealed_at = counted, Box.Status.SEALED, timezone.now()
    box.save(update_fields=["counted", "status", "sealed_at"])
    return box


@transaction.atomic
def hand_over_box(box: Box, lab: str, courier: str = "") -> Box:
    box = Box.objects.select_for_update().get(pk=box.pk)
    if box.status != Box.Status.SEALED:
        raise BoxError("box_not_sealed", "请先封箱再交接")
    box.status, box.handed_at, box.handed_to, box.courier = (
        Box.Status.HANDED_OVER,
        timezone.now(),
        lab,
        courier,
    )
    box.save(update_fields=["status", "handed_at", "handed_to", "courier"])
    return box


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
