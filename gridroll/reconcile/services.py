"""Import a feed, match it to the registry, classify every line, and record what grid workers decide."""

from __future__ import annotations

import datetime
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from gridroll.areas.models import Area, Household
from gridroll.audit.services import record
from gridroll.core import tables
from gridroll.core.errors import DomainError
from gridroll.core.tables import HEADER_SEARCH_ROWS, Limits, Source, Table
from gridroll.lib import address as addresslib
from gridroll.lib import idnumber, names
from gridroll.lib import phone as phonelib
from gridroll.lib.text import cell_text
from gridroll.reconcile import model
from gridroll.reconcile.explain import explain
from gridroll.reconcile.features import FeedInput, ResidentRow
from gridroll.reconcile.matching import REVIEW_PROBABILITY, LineMatch, match_lines
from gridroll.reconcile.models import Conclusion, Decision, Feed, FeedLine
from gridroll.residents import columns as cols
from gridroll.residents.importing import FileError
from gridroll.residents.models import Resident, ResidentStatus

FIELDS = {
    "name": "name",
    "document_number": "id_number",
    "phone": "phone",
    "address": "address",
    "note": "note",
}
ADDRESS_PARTS = ("compound", "building", "entrance", "room")
# Headers that lists to check use and a registry table does not: a phone-location list's 落位地址 is the
# address the phone was found at.
FEED_HEADERS = {
    "落位地址": "address",
    "落位位置": "address",
    "所在地址": "address",
    "居住地": "address",
    "现居地": "address",
    "手机": "phone",
    "号码": "phone",
    "手机号码": "phone",
    "电话号码": "phone",
    "人员姓名": "name",
    "姓名(脱敏)": "name",
    "证件号": "id_number",
}
TESTED_STATES = {"sampled", "negative", "pool_positive", "positive", "invalid"}
STATE_WORDS = {
    "sampled": "已采样，结果待出",
    "negative": "结果阴性",
    "pool_positive": "混管阳性，待复核",
    "positive": "阳性",
    "invalid": "样本无效，需重采",
}


# --------------------------------------------------------------------------------------------- reading


@dataclass
class ReadFeed:
    columns: list[str]
    mapping: dict[str, int]
    rows: list[tuple[int, list[str]]]  # (spreadsheet row number, cells as text)
    blank_rows: int


def _match_feed_header(row: list[Any]) -> tuple[list[str], dict[str, int]] | None:
    """The header's cells and the columns it names, if ``row`` is the header: a name, an ID number or a
    phone column (with at least a name, or an ID number or phone)."""
    cells = [cell_text(c) for c in row]
    mapping: dict[str, int] = {}
    for position, cell in enumerate(cells):
        key = cols.match_header(cell) if cell else None
        # Headers of feeds only (a phone-location list's 落位地址 …), which the registry does not use.
        feed_key = FEED_HEADERS.get(cell.replace(" ", "")) if cell else None
        if feed_key and not key and feed_key not in mapping:
            mapping[feed_key] = position
        elif key in FIELDS and FIELDS[key] not in mapping:
            mapping[FIELDS[key]] = position
        elif key in (*ADDRESS_PARTS, "community") and key not in mapping:
            mapping[key] = position
    if "name" not in mapping and not ({"id_number", "phone"} & mapping.keys()):
        return None
    if not ({"name", "id_number", "phone"} & mapping.keys()):
        return None
    return cells, mapping


def read_feed(data: Source, filename: str, lim: Limits | None = None) -> ReadFeed:
    """Find the header (name plus at least one of ID, phone, address) and keep every row's cells as text.

    ID numbers and phones that Excel stored as numbers come back as text; an ID that lost digits to a
    float stays as it was (the line is then matched without it and says so). ``lim``: the bounded
    reader's limits (the web's by default).
    """
    with Table(data, filename, lim) as table:
        found = table.header(_match_feed_header, HEADER_SEARCH_ROWS)
        if found is None:
            raise FileError(
                "no_header",
                f"前{HEADER_SEARCH_ROWS}行中找不到表头：需要“姓名”列，以及“身份证号”“手机号”“地址”中的至少一列",
            )
        header, mapping = found
        out, blank = [], 0
        width = len(header)
        for number, raw in table.rows():
            texts = [cell_text(c) for c in raw]
            if not any(texts):
                blank += 1
                continue
            width = max(width, len(texts))
            out.append((number, texts))
    for _number, texts in out:
        texts.extend([""] * (width - len(texts)))
    columns = header + [""] * (width - len(header))
    return ReadFeed(columns, mapping, out, blank)


def _cell(cells: list[str], mapping: dict[str, int], key: str) -> str:
    i = mapping.get(key)
    return cells[i] if i is not None and i < len(cells) else ""


def line_fields(cells: list[str], mapping: dict[str, int]) -> dict[str, str]:
    address = _cell(cells, mapping, "address")
    if not address:
        parts = [_cell(cells, mapping, k) for k in ADDRESS_PARTS]
        if parts[1] and parts[1].isdigit():
            parts[1] += "号楼"
        if parts[2] and parts[2].isdigit():
            parts[2] += "单元"
        address = "".join(parts)
    # The community, from its own column, goes in front of the address unless the address names it: a
    # building number without a compound is then placed within that community.
    community = _cell(cells, mapping, "community")
    if community and addresslib.community_key(community) not in address:
        address = f"{community} {address}".strip()
    return {
        "name": _cell(cells, mapping, "name")[:100],
        "id_number": _cell(cells, mapping, "id_number")[:40],
        "phone": _cell(cells, mapping, "phone")[:40],
        "address": address[:300],
        "note": _cell(cells, mapping, "note")[:300],
    }


# ---------------------------------------------------------------------------------------- the registry


def registry_rows(area: Area) -> tuple[list[ResidentRow], dict[int, str]]:
    """Every resident living under ``area`` as the matcher needs them, and each grid's path."""
    qs = Resident.objects.filter(household__building__grid__path__startswith=area.path).values_list(
        "id",
        "name",
        "document_number",
        "birth_date",
        "phone",
        "household_id",
        "household__building_id",
        "household__building__compound_key",
        "household__building__number",
        "household__entrance",
        "household__room",
        "household__building__grid_id",
        "status",
        "sex",
    )
    # Not .iterator(): on PostgreSQL that is a server-side cursor, planned for its first rows (nested
    # loops over a million residents took a minute); a plain query is a hash join, a few seconds.
    grids = dict(Area.objects.filter(path__startswith=area.path, level="grid").values_list("id", "path"))
    # Each grid's community (the community above it, or the area itself when it is one), by key.
    communities = {
        path: addresslib.community_key(name)
        for path, name in Area.objects.filter(level="community").values_list("path", "name")
        if path.startswith(area.path) or area.path.startswith(path)
    }
    of_grid = {
        grid: next((key for path, key in communities.items() if grid_path.startswith(path)), "")
        for grid, grid_path in grids.items()
    }
    rows = [ResidentRow(*values, community=of_grid.get(values[11], "")) for values in qs]
    return rows, grids


# --------------------------------------------------------------------------------------------- running


def create_feed(
    user,
    area: Area,
    data: bytes,
    filename: str,
    *,
    round_=None,
    name: str = "",
    source: str = "",
    db_api=None,
    max_lines: int | None = None,
    limits: Limits | None = None,
) -> Feed:
    """Read, match and store a feed. Raises FileError when the file cannot be read at all, is over the
    reader's ``limits`` (the web's by default), or has more than ``max_lines`` lines (the page's limit: a
    web request should not run for minutes)."""
    model.require_matcher()
    lim = limits or tables.limits("web")
    page_cap = max_lines is not None and max_lines < lim.max_rows
    if page_cap:
        # Stop reading as soon as the page's limit is passed.
        lim = tables.with_rows(lim, max_lines)
    too_many = FileError(
        "too_many_lines",
        f"名单超过 {max_lines} 行的网页上限：请分成几份，或在服务器上用命令 python manage.py reconcile 核查",
    )
    try:
        read = read_feed(data, filename, lim)
    except FileError as exc:
        if exc.code == "too_many_rows" and page_cap:
            raise too_many from None
        raise
    if max_lines is not None and len(read.rows) > max_lines:
        raise too_many
    feed = Feed(
        name=name or filename,
        filename=filename,
        area=area,
        round=round_,
        source=source,
        user=user if user is not None and user.is_authenticated else None,
        columns=read.columns,
        mapping=read.mapping,
        total=len(read.rows),
        blank_rows=read.blank_rows,
    )
    lines = [
        FeedLine(line=i, row_number=number, cells=cells, **line_fields(cells, read.mapping))
        for i, (number, cells) in enumerate(read.rows, start=1)
    ]
    with transaction.atomic():
        feed.save()
        run(feed, lines, db_api=db_api)
    return feed


def rematch(feed: Feed) -> Feed:
    """Match again (after registry corrections); lines a grid worker decided keep their decision."""
    with transaction.atomic():
        run(feed, list(feed.lines.filter(decision="")), decided=list(feed.lines.exclude(decision="")))
    return feed


RESULT_FIELDS = [
    "conclusion",
    "resident",
    "automatic",
    "confidence",
    "explanation",
    "machine_explanation",
    "candidates",
    "duplicate_of",
    "grid",
    "area_path",
]


def run(feed: Feed, lines: list[FeedLine], decided: list[FeedLine] | None = None, db_api=None) -> None:
    """Match ``lines`` against the feed's area and store their results: new lines are created, stored
    ones (a rematch, an undo) updated in place, so their audit history stays theirs.
    ``db_api``: splink's backend (DuckDB in memory when None; ``model.spark_api()`` for Spark)."""
    started = time.perf_counter()
    residents, grid_paths = registry_rows(feed.area)
    by_id = {r.id: r for r in residents}
    family: dict[int, list[ResidentRow]] = defaultdict(list)
    for r in residents:
        if r.household_id is not None:
            family[r.household_id].append(r)
    inputs = [
        FeedInput(line=x.line, name=x.name, id_number=x.id_number, phone=x.phone, address=x.address)
        for x in lines
    ]
    matches = match_lines(inputs, residents, db_api=db_api) if inputs else {}
    states = _round_states(feed.round, {m.resident_id for m in matches.values() if m.resident_id})
    context = _Context(feed, by_id, family, grid_paths, states)
    for x in lines:
        x.feed = feed
        x.resident, x.automatic, x.duplicate_of, x.grid = None, False, None, None
        context.fill(x, matches[x.line])
    _group_duplicates(lines, decided or [])
    for x in lines:
        x.machine_explanation = x.explanation
    stored = [x for x in lines if x.pk is not None]
    _insert([x for x in lines if x.pk is None])
    if stored:
        FeedLine.objects.bulk_update(stored, RESULT_FIELDS, batch_size=1000)
    # Duplicates point at lines that now have primary keys.
    pending = [x for x in lines if getattr(x, "_duplicate_line", None)]
    if pending:
        pks = dict(FeedLine.objects.filter(feed=feed).values_list("line", "pk"))
        for x in pending:
            x.duplicate_of_id = pks[x._duplicate_line]
        FeedLine.objects.bulk_update(pending, ["duplicate_of"], batch_size=2000)
    # For the command's result, written next without reading the lines back.
    feed._documents = {r.id: r.document_number for r in residents}
    feed._lines = lines
    feed.registry_size = len(residents)
    feed.seconds = round(time.perf_counter() - started, 2)
    feed.matched_at = timezone.now()
    feed.save(update_fields=["registry_size", "seconds", "matched_at"])


INSERT_FIELDS = (
    "feed_id",
    "line",
    "row_number",
    "cells",
    "name",
    "id_number",
    "phone",
    "address",
    "note",
    "conclusion",
    "resident_id",
    "automatic",
    "confidence",
    "explanation",
    "machine_explanation",
    "candidates",
    "grid_id",
    "area_path",
)


def _insert(lines: list[FeedLine]) -> None:
    """New lines in one COPY on PostgreSQL (bulk_create spent a quarter minute on 100,000 of them)."""
    from gridroll.core.bulk import insert_rows

    ids = insert_rows(FeedLine, INSERT_FIELDS, [tuple(getattr(x, f) for f in INSERT_FIELDS) for x in lines])
    for x, pk in zip(lines, ids, strict=True):
        x.pk = pk
        x._state.adding = False


@dataclass
class _State:
    state: str
    exemption: str
    barcode: str = ""
    site: str = ""
    scanned_at: datetime.datetime | None = None


def _round_states(round_, resident_ids: set[int]) -> dict[int, _State]:
    if round_ is None or not resident_ids:
        return {}
    from gridroll.rollcall.models import Entry
    from gridroll.sampling.models import Sample

    out: dict[int, _State] = {}
    ids = sorted(resident_ids)
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        for rid, state, exemption in Entry.objects.filter(round=round_, resident_id__in=chunk).values_list(
            "resident_id", "state", "exemption"
        ):
            out[rid] = _State(state, exemption)
        tested = [rid for rid in chunk if rid in out and out[rid].state in TESTED_STATES]
        samples = (
            Sample.objects.filter(round=round_, resident_id__in=tested, is_removed=False)
            .order_by("resident_id", "scanned_at")
            .values_list("resident_id", "tube__barcode", "tube__site__name", "scanned_at")
        )
        for rid, barcode, site, scanned_at in samples:
            out[rid].barcode, out[rid].site, out[rid].scanned_at = barcode, site, scanned_at
    return out


class _Context:
    def __init__(self, feed, by_id, family, grid_paths, states) -> None:
        self.feed = feed
        self.by_id = by_id
        self.family = family
        self.grid_paths = grid_paths
        self.states = states
        self.building_grid: dict[int, int] = {
            r.building_id: r.grid_id for r in by_id.values() if r.building_id
        }

    def place(self, x: FeedLine, resident: ResidentRow | None, building_id: int | None) -> None:
        grid_id = (
            resident.grid_id if resident else self.building_grid.get(building_id) if building_id else None
        )
        x.grid_id = grid_id
        x.area_path = self.grid_paths.get(grid_id, self.feed.area.path) if grid_id else self.feed.area.path

    def fill(self, x: FeedLine, m: LineMatch) -> None:
        feat = m.features
        assert feat is not None
        x.confidence = round(m.confidence, 4)
        x.candidates = [
            {
                "id": c.resident_id,
                "p": round(c.probability, 4),
                "why": explain(
                    c.levels, feat, x.name, self.by_id[c.resident_id], self._family(c.resident_id)
                ),
            }
            for c in m.scored
        ]
        if m.resident_id is not None:
            x.resident_id = m.resident_id
            x.automatic = True
            r = self.by_id[m.resident_id]
            self.place(x, r, None)
            x.conclusion, evidence = self.conclusion_for(r)
            x.explanation = "；".join(p for p in (evidence, x.candidates[0]["why"]) if p)[:500]
            return
        top = self.by_id[m.scored[0].resident_id] if m.plausible else None
        self.place(x, top, feat.record.get("building_id"))
        if m.plausible:
            x.conclusion = Conclusion.REVIEW
            x.explanation = f"需人工核对：最可能是{_who(top)}（{x.candidates[0]['why']}）"[:500]
        else:
            x.conclusion = Conclusion.NOT_FOUND
            x.explanation = _not_found_reason(x, feat)
            if not m.scored:
                x.candidates = []

    def _family(self, resident_id: int) -> list[ResidentRow]:
        r = self.by_id[resident_id]
        return self.family.get(r.household_id, []) if r.household_id else []

    def conclusion_for(self, r: ResidentRow) -> tuple[str, str]:
        return conclusion_for(self.feed, r.status, self.states.get(r.id))


def conclusion_for(feed: Feed, status: str, s: _State | None) -> tuple[str, str]:
    """(conclusion, evidence) for a matched resident: their registry status, then the round's roll call."""
    if status in (ResidentStatus.MOVED_OUT, ResidentStatus.DECEASED):
        label = "已迁出" if status == ResidentStatus.MOVED_OUT else "已去世"
        return Conclusion.MOVED_OUT, f"登记为{label}"
    if feed.round_id is None:
        if status == ResidentStatus.AWAY:
            return Conclusion.EXEMPT, "登记为外出"
        return Conclusion.MATCHED, ""
    if s is None:
        return Conclusion.MATCHED, "不在本轮点名范围内"
    if s.state in TESTED_STATES:
        when = timezone.localtime(s.scanned_at).strftime("%m-%d %H:%M") if s.scanned_at else ""
        where = f"于{when}在{s.site}采样（管号{s.barcode}）" if s.barcode else "已采样"
        return Conclusion.TESTED, f"本轮已检测：{where}，{STATE_WORDS[s.state]}"
    if s.state == "exempt":
        from gridroll.rollcall.models import Exemption

        reason = Exemption(s.exemption).label if s.exemption else "免检"
        return Conclusion.EXEMPT, f"本轮免检：{reason}"
    if status == ResidentStatus.AWAY:
        return Conclusion.EXEMPT, "登记为外出，本轮未检测"
    return Conclusion.MISSING, "本轮尚未检测"


def _who(r: ResidentRow | None) -> str:
    if r is None:
        return ""
    # Masked: the explanation travels upstream, and the candidate may be someone else.
    return f"“{names.mask_name(r.name)}”（{idnumber.mask(r.document_number) or '无证件'}）"


def _not_found_reason(x: FeedLine, feat) -> str:
    bits = ["登记中找不到此人"]
    if feat.id.problem == "bad_check_digit":
        bits.append("身份证号校验位不符")
    elif feat.id.problem == "bad_id_format" and x.id_number:
        bits.append("身份证号位数不对")
    if x.id_number and idnumber.looks_mangled_by_excel(x.id_number):
        bits.append("身份证号被表格转成了数字，后几位已丢失")
    if feat.address.compound or feat.address.building:
        bits.append("可按地址上门核实，或作为新住户登记")
    else:
        bits.append("可按手机号联系核实")
    return "；".join(bits)


def phone_or_blank(raw: str) -> str:
    """A phone to register: normalised, or nothing when the list's number is not a real one."""
    try:
        return phonelib.normalise(raw)
    except phonelib.PhoneError:
        return ""


def _dedupe_key(x: FeedLine) -> tuple:
    return (names.clean(x.name), idnumber.normalise(x.id_number), phone_or_blank(x.phone) or x.phone)


def _group_duplicates(lines: list[FeedLine], decided: list[FeedLine]) -> None:
    """Lines that are the same person point at the first such line; the explanation says so."""
    first_by_resident: dict[int, int] = {x.resident_id: x.line for x in decided if x.resident_id}
    first_by_key: dict[tuple, int] = {}
    for x in sorted([*decided, *lines], key=lambda y: y.line):
        if x.decision:
            continue
        key = _dedupe_key(x)
        first = None
        if x.resident_id and x.resident_id in first_by_resident:
            first = first_by_resident[x.resident_id]
        elif key in first_by_key:
            first = first_by_key[key]
        if first is not None and first != x.line:
            x._duplicate_line = first  # type: ignore[attr-defined]
            x.explanation = f"与第{first}行为同一人；{x.explanation}"[:500]
            continue
        if x.resident_id:
            first_by_resident[x.resident_id] = x.line
        first_by_key.setdefault(key, x.line)


# -------------------------------------------------------------------------------------------- decisions


class DecisionError(DomainError):
    MESSAGES = {
        "resident_required": gettext_lazy("Choose the person in the registry."),
        "unknown_decision": gettext_lazy("Unknown decision %(decision)s."),
        "not_automatic": gettext_lazy("Line %(line)s is not an automatic match waiting to be confirmed."),
    }


def decide(user, line: FeedLine, decision: str, resident: Resident | None = None, note: str = "") -> FeedLine:
    """Record a grid worker's decision on a line (audited): confirm, pick a candidate, or not living here."""
    before = _snapshot(line)
    if decision in (Decision.CONFIRMED, Decision.PICKED):
        if resident is None:
            raise DecisionError("resident_required")
        line.resident = resident
        line.conclusion, evidence = _conclusion_now(line.feed, resident.pk, resident.status)
        line.explanation = "；".join(p for p in (evidence, f"由{_user_label(user)}确认") if p)[:500]
    elif decision == Decision.NOT_HERE:
        line.resident = None
        line.conclusion = Conclusion.NOT_HERE
        line.explanation = f"经{_user_label(user)}核实，此人不在本辖区居住" + (f"：{note}" if note else "")
    else:
        raise DecisionError("unknown_decision", decision=decision)
    line.decision = decision
    line.decision_note = note[:200]
    line.decided_by = user
    line.decided_at = timezone.now()
    line.save()
    after = _snapshot(line)
    record(
        user, "reconcile.decide", line, changes=_changes(before, after), reason=note, area_path=line.area_path
    )
    return line


def confirm_many(user, lines: list[FeedLine]) -> list[FeedLine]:
    """Confirm the matcher's own match on many lines at once (the worklist's bulk confirm): each line goes
    through ``decide`` as if confirmed alone — the same rules, one audit record per line, each undone on
    its own — and all of them in one transaction, so that a failure leaves none half-done. Lines that are
    not an undecided automatic match are refused (DecisionError), not skipped: the caller chose them."""
    with transaction.atomic():
        for line in lines:
            if not line.automatic or line.decision or line.resident is None:
                raise DecisionError("not_automatic", line=line.line)
            decide(user, line, Decision.CONFIRMED, line.resident)
    return lines


def undo(user, line: FeedLine) -> FeedLine:
    """Take a decision back: the line reads again as the matcher left it, with the roll call as it is now.

    Nothing is matched again (in a district that would read a million residents for one click): the
    candidates, the automatic flag and the matcher's explanation were kept on the line.
    """
    before = _snapshot(line)
    top = line.candidates[0]["id"] if line.candidates else None
    resident = Resident.objects.filter(pk=top).first() if line.automatic and top else None
    with transaction.atomic():
        line.decision, line.decision_note, line.decided_by, line.decided_at = "", "", None, None
        line.resident = resident
        if resident is not None:
            line.conclusion, evidence = _conclusion_now(line.feed, resident.pk, resident.status)
            same = f"与第{line.duplicate_of.line}行为同一人" if line.duplicate_of_id else ""
            why = line.candidates[0]["why"]
            line.explanation = "；".join(p for p in (same, evidence, why) if p)[:500]
        else:
            plausible = bool(line.candidates) and line.candidates[0]["p"] >= REVIEW_PROBABILITY
            line.conclusion = Conclusion.REVIEW if plausible else Conclusion.NOT_FOUND
            line.explanation = line.machine_explanation
        line.save()
        record(
            user, "reconcile.undo", line, changes=_changes(before, _snapshot(line)), area_path=line.area_path
        )
    return line


def add_resident(
    user, line: FeedLine, *, name: str, id_number: str, phone: str, household: Household
) -> Resident:
    """A person the list found who is not registered: a pending resident the grid worker confirms later."""
    from gridroll.residents.services import create_resident

    values: dict[str, Any] = {
        "name": names.clean(name),
        "phone": phone,
        "is_pending": True,
        "note": "核查名单新增",
    }
    if id_number:
        info = idnumber.parse(id_number)
        values.update(
            document_type="id_card", document_number=info.number, birth_date=info.birth_date, sex=info.sex
        )
    else:
        values["document_type"] = "none"
    reason = f"核查名单“{line.feed.name}”第{line.line}行：登记中找不到此人，经核实住在本户"
    resident = create_resident(user, household, values, reason)
    decide_added(user, line, resident)
    return resident


def decide_added(user, line: FeedLine, resident: Resident) -> None:
    before = _snapshot(line)
    line.resident = resident
    line.conclusion = Conclusion.ADDED
    line.decision = Decision.ADDED
    line.decided_by = user
    line.decided_at = timezone.now()
    line.explanation = f"由{_user_label(user)}登记为新住户（待确认），{resident.household.label}"[:500]
    line.save()
    after = _snapshot(line)
    record(user, "reconcile.add", line, changes=_changes(before, after), area_path=line.area_path)


def _conclusion_now(feed: Feed, resident_id: int, status: str) -> tuple[str, str]:
    return conclusion_for(feed, status, _round_states(feed.round, {resident_id}).get(resident_id))


def _user_label(user) -> str:
    return (user.get_full_name() or user.username) if user is not None else "系统"


def _snapshot(line: FeedLine) -> dict:
    """What an audit record of a decision compares, before and after."""
    return {"decision": line.decision, "resident": line.resident_id, "conclusion": line.conclusion}


def _changes(before: dict, after: dict) -> dict:
    return {k: [before[k], after[k]] for k in after if before.get(k) != after[k]}


def households_for(user, text: str, area: Area) -> list[Household]:
    """Households under ``area`` the user may edit whose address matches ``text`` (for adding a person)."""
    from gridroll.accounts.roles import Action

    try:
        parsed = addresslib.parse(text)
    except addresslib.AddressError:
        return []
    qs = Household.objects.restrict(user, Action.EDIT_REGISTRY).filter(
        building__grid__path__startswith=area.path, building__number=parsed.building, room=parsed.room
    )
    if parsed.entrance:
        qs = qs.filter(entrance=parsed.entrance)
    if parsed.compound:
        qs = qs.filter(building__compound_key=addresslib.compound_key(parsed.compound))
    return list(qs.select_related("building")[:5])


# --------------------------------------------------------------------------------------------- exports

RESULT_HEADERS = ["结论", "匹配证件号码", "置信度", "说明", "候选"]


def result_rows(feed: Feed, lines, *, masked: bool, documents: dict | None = None):
    """The feed in its own row order and columns, then the five result columns.

    ``masked``: the answer sent upstream carries masked document numbers (3715**********1234); the full
    result (the command, run on the server) carries them whole. ``documents`` (resident id → number)
    saves reading them back when the lines were just matched.
    """
    lines = list(lines)
    if documents is None:
        ids = {c["id"] for x in lines for c in x.candidates} | {x.resident_id for x in lines if x.resident_id}
        documents = (
            dict(Resident.objects.filter(pk__in=ids).values_list("pk", "document_number")) if ids else {}
        )

    def doc(resident_id: int) -> str:
        number = documents.get(resident_id, "")
        return idnumber.mask(number) if masked else number

    from django.conf import settings
    from django.utils import translation

    # The 结论 column in words, like its header: the file goes to people upstream (issue 18, item 5).
    with translation.override(settings.LANGUAGE_CODE):
        words = {code: str(label) for code, label in Conclusion.choices}
    width = len(feed.columns)
    rows = []
    for x in lines:
        matched = doc(x.resident_id) if x.resident_id else ""
        candidates = ""
        if x.conclusion == Conclusion.REVIEW:
            candidates = "；".join(doc(c["id"]) or f"（无证件，编号{c['id']}）" for c in x.candidates)
        cells = (list(x.cells) + [""] * width)[:width]
        conclusion = words.get(x.conclusion, x.conclusion)
        rows.append([*cells, conclusion, matched, f"{x.confidence:.3f}", x.explanation, candidates])
    return [*feed.columns, *RESULT_HEADERS], rows


def write_result(feed: Feed, out, *, masked: bool, lines=None) -> int:
    from gridroll.core.exports import write_xlsx

    documents = None
    if lines is None and getattr(feed, "_lines", None) is not None and feed.lines.count() == len(feed._lines):
        # Just matched (the command): every line is in memory with the registry's numbers.
        lines, documents = sorted(feed._lines, key=lambda x: x.line), feed._documents
    elif lines is None:
        lines = feed.lines.order_by("line")
    header, rows = result_rows(feed, lines, masked=masked, documents=documents)
    return write_xlsx(rows, out, title="核查结果", header=header)


def conclusion_counts(lines) -> dict[str, int]:
    from django.db.models import Count

    counts = dict(lines.values_list("conclusion").annotate(n=Count("id")).order_by())
    return {c.value: counts.get(c.value, 0) for c in Conclusion}
