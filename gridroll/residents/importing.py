"""Import the registry from the Excel and CSV tables communities already keep.

The rules (docs/import.md has them for users):

- Every non-empty row ends in exactly one of created / updated / unchanged / rejected, so
  total = created + updated + unchanged + rejected. A rejected row is kept (ImportReject) with its row
  number, column, a stable reason code and a Chinese message, and can be downloaded, corrected and
  imported again.
- Only formatting is normalised (full-width characters, spaces, a lower-case x, +86, numbers that Excel
  made of phone numbers, 15-digit legacy IDs); an identity error (ID check digit, birth date, sex
  against the ID, a duplicate ID) is a reject.
- A phone, relation or residence type that fails validation does not drop the person: the value is kept
  as written, marked unverified (``Resident.phone_verified`` …), and the row is an ImportWarning listed
  in the "to check" report. ``warned`` counts such rows among the imported ones.
- Headers the registry does not use (民族, 工作单位, or not known at all) are listed as not imported
  (``ImportBatch.not_imported``); only a missing required column refuses a file.
- A column the file lacks is left alone; a column it has is authoritative, blank cells included.
- Importing the same file twice changes nothing the second time.
"""

from __future__ import annotations

import datetime
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.db import transaction
from django.utils import timezone

from gridroll.accounts.roles import Action
from gridroll.accounts.scope import allowed_paths
from gridroll.areas.models import Area, Building, Household, Level
from gridroll.audit.services import record_many
from gridroll.core.bulk import insert_rows
from gridroll.core.tables import HEADER_SEARCH_ROWS, Limits, Table, TableError
from gridroll.lib import address as addresslib
from gridroll.lib import idnumber
from gridroll.lib import phone as phonelib
from gridroll.lib.text import cell_text, halfwidth, starts_like_formula
from gridroll.residents import columns as cols
from gridroll.residents.models import ImportBatch, ImportReject, ImportWarning, Resident
from gridroll.residents.services import EDITABLE_FIELDS, FORMULA_NAME_MESSAGE
from gridroll.residents.signals import registry_changed

# Fields compared to decide updated vs unchanged: what staff may edit, whether an imported value was
# kept unverified, and where the person lives.
VERIFIED_FIELDS = {
    "phone": "phone_verified",
    "relation": "relation_verified",
    "residence_type": "residence_type_verified",
}
RESIDENT_FIELDS = (*EDITABLE_FIELDS, *VERIFIED_FIELDS.values(), "household_id")
# Which file columns feed which resident fields (a field is only touched when its column is present).
FIELD_SOURCES = {
    "name": "name",
    "sex": "sex",
    "document_type": "document_number",
    "document_number": "document_number",
    "birth_date": "birth_date",
    "phone": "phone",
    "relation": "relation",
    "residence_type": "residence_type",
    "status": "status",
    "is_bedridden": "special_needs",
    "is_living_alone": "special_needs",
    "has_disability": "special_needs",
    "note": "note",
    "phone_verified": "phone",
    "relation_verified": "relation",
    "residence_type_verified": "residence_type",
}
# How many updates the preview lists with their changes (the audit has all of them).
PREVIEW_CHANGES = 200
SLOT_LEVELS = {
    "district": {Level.DISTRICT},
    "subdistrict": {Level.SUBDISTRICT, Level.TOWN},
    "community": {Level.COMMUNITY, Level.VILLAGE},
    "grid": {Level.GRID},
}
SLOT_LABELS = {"district": "区", "subdistrict": "街道/镇", "community": "社区/村", "grid": "网格"}


# A file-level problem (unreadable, over a limit, a required column missing): the bounded reader's error.
FileError = TableError


class RowError(Exception):
    def __init__(self, code: str, column: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.column = column
        self.message = message


# --------------------------------------------------------------------------------------------- reading


@dataclass
class Header:
    mapping: dict[int, str]  # cell position → column key
    not_imported: list[str]  # the file's headers that are not read, as written


def match_header(row: list[Any]) -> Header | None:
    """The row's cells as column keys if it is the header row; None if it is not (a title, a blank row).

    Headers the registry does not use (known or not) are listed as not imported. Raises FileError for a
    header that cannot be used (a repeated column, a required one missing).
    """
    cells = [cell_text(c) for c in row]
    matched = [cols.match_header(c) for c in cells if c]
    if sum(1 for m in matched if m) < 2:
        return None
    mapping: dict[int, str] = {}
    not_imported: list[str] = []
    for position, cell in enumerate(cells):
        if not cell:
            continue
        key = cols.match_header(cell)
        if not key:
            if not cols.is_report_column(cell):
                not_imported.append(cell)
            continue
        if key in mapping.values():
            raise FileError("duplicate_header", f"表头“{cell}”重复（同一列出现了两次）")
        mapping[position] = key
    keys = set(mapping.values())
    if "name" not in keys:
        raise FileError("missing_column", "缺少“姓名”列")
    if "document_number" not in keys:
        # Without it a registered person could not be told from a new one: we would duplicate people.
        raise FileError("missing_column", "缺少“证件号码”列（无证件的人留空，并在证件类型填“无”）")
    if not ({"building", "room"} <= keys or "address" in keys):
        raise FileError("missing_column", "缺少住址：需要“楼栋”和“房号”列，或一个“地址”列")
    return Header(mapping, not_imported)


def find_header(table: Table) -> Header:
    """Locate the header row of ``table`` and map its cells to column keys; raise FileError if none."""
    header = table.header(match_header, HEADER_SEARCH_ROWS)
    if header is None:
        raise FileError(
            "no_header", f"前{HEADER_SEARCH_ROWS}行中找不到表头。可用的表头：{cols.expected_headers()}"
        )
    return header


# ------------------------------------------------------------------------------------------ validation


@dataclass
class Row:
    number: int  # 1-based row number as Excel shows it
    raw: dict[str, Any]  # column key → cell as read
    text: dict[str, str] = field(default_factory=dict)  # column key → cell as text (for rejects)
    values: dict[str, Any] = field(default_factory=dict)  # resident fields, normalised
    area_names: tuple[tuple[str, str], ...] = ()
    compound: str = ""
    building: str = ""
    entrance: str = ""
    room: str = ""
    # Values kept as written but unverified: {"column", "code", "message"} each.
    warnings: list[dict[str, str]] = field(default_factory=list)
    rejected: bool = False

    def warn(self, code: str, column: str, message: str) -> None:
        self.warnings.append({"column": column, "code": code, "message": message})


def _parse_date(raw: Any, column: str) -> datetime.date | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, datetime.datetime):
        return raw.date()
    if isinstance(raw, datetime.date):
        return raw
    text = cell_text(raw)
    m = re.fullmatch(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?", text) or re.fullmatch(
        r"(\d{4})(\d{2})(\d{2})", text
    )
    if not m:
        raise RowError("bad_date", column, f"无法识别的日期“{text}”（例：2015-03-02）")
    try:
        value = datetime.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise RowError("bad_birth_date", column, f"日期“{text}”不存在") from None
    if value > datetime.date.today() or value.year < 1880:
        raise RowError("bad_birth_date", column, f"出生日期“{text}”不可能")
    return value


def _choice(raw: str, values: dict[str, str], column: str, label: str, default: str) -> str:
    text = halfwidth(raw).replace(" ", "")
    if not text:
        return default
    value = values.get(text.lower()) or values.get(text)
    if value is None:
        allowed = "、".join(k for k in values if not k.isascii())
        raise RowError("bad_value", column, f"{label}“{text}”无法识别，可填：{allowed}")
    return value


PHONE_MAX = Resident._meta.get_field("phone").max_length or 40
RELATION_MAX = Resident._meta.get_field("relation").max_length or 50
RESIDENCE_MAX = Resident._meta.get_field("residence_type").max_length or 20


def _relation_problem(relation: str) -> str | None:
    """Why a relation to the household head looks wrong (a shifted column, a formula), or None."""
    if len(relation) > RELATION_MAX:
        return f"与户主关系“{relation[:20]}…”过长（超过{RELATION_MAX}字），已截断"
    if re.search(r"\d{3,}", relation):
        return f"与户主关系“{relation}”含有数字，可能是列错位（如电话或证件号）"
    if starts_like_formula(relation):
        return f"与户主关系“{relation}”以 = + - @ 开头，表格软件会把它当作公式"
    return None


def validate_row(row: Row, present: set[str]) -> None:
    """Normalise one row's cells into ``row.values`` and its address parts; raise RowError."""
    raw, text, values = row.raw, row.text, row.values
    col = cols.BY_KEY

    name = text.get("name", "")
    if re.search(r"[\u4e00-\u9fff]", name):
        name = name.replace(" ", "")
    if not name:
        raise RowError("missing_name", col["name"].header, "姓名为空")
    if len(name) > 50:
        raise RowError("bad_value", col["name"].header, "姓名过长")
    if starts_like_formula(name):
        raise RowError("formula_name", col["name"].header, str(FORMULA_NAME_MESSAGE))
    values["name"] = name

    # Document.
    doc_header = col["document_number"].header
    doc_type = _choice(
        text.get("document_type", ""), cols.DOCUMENT_TYPE_VALUES, col["document_type"].header, "证件类型", ""
    )
    raw_doc = raw.get("document_number")
    doc_text = idnumber.normalise(text.get("document_number", ""))
    info = None
    if not doc_type:
        doc_type = "id_card" if doc_text else "none"
    if doc_type == "none":
        if doc_text:
            raise RowError("bad_value", col["document_type"].header, "证件类型为“无”却填写了证件号码")
        doc_number = ""
    elif not doc_text:
        raise RowError("missing_document_number", doc_header, "缺少证件号码（无证件请在证件类型填“无”）")
    elif doc_type == "id_card":
        if raw_doc is not None and idnumber.looks_mangled_by_excel(raw_doc):
            raise RowError(
                "id_stored_as_number",
                doc_header,
                f"身份证号码“{text['document_number']}”被 Excel 存成了数字，后几位已丢失；"
                "请把该列设为文本后重新填写",
            )
        try:
            info = idnumber.parse(doc_text)
        except idnumber.IDNumberError as exc:
            raise RowError(exc.code, doc_header, exc.message) from None
        doc_number = info.number
    else:
        if not re.fullmatch(r"[A-Z0-9]{5,20}", doc_text):
            raise RowError("bad_document_number", doc_header, f"证件号码“{doc_text}”格式不对")
        doc_number = doc_text
    if "document_number" in present or "document_type" in present:
        values["document_type"] = doc_type
        values["document_number"] = doc_number

    # Sex and birth date, checked against the ID.
    sex = _choice(text.get("sex", ""), cols.SEX_VALUES, col["sex"].header, "性别", "")
    if info and sex and sex != info.sex:
        raise RowError(
            "sex_mismatch",
            col["sex"].header,
            f"性别“{text['sex']}”与身份证号码不符（号码为{'男' if info.sex == 'M' else '女'}）",
        )
    birth = _parse_date(raw.get("birth_date"), col["birth_date"].header)
    if info and birth and birth != info.birth_date:
        raise RowError(
            "birth_date_mismatch",
            col["birth_date"].header,
            f"出生日期 {birth.isoformat()} 与身份证号码中的 {info.birth_date.isoformat()} 不符",
        )
    if info:
        sex, birth = sex or info.sex, info.birth_date
    if doc_type == "none" and birth is None:
        raise RowError(
            "missing_birth_date", col["birth_date"].header, "无证件人员须填写出生日期，以便区分同名的人"
        )
    if "sex" in present or info:
        values["sex"] = sex
    if "birth_date" in present or info:
        values["birth_date"] = birth

    # Phone, relation and residence type: a value that fails is kept as written, unverified, and the
    # row is a warning ("to check"), not a reject — the person must not vanish from every roll call.
    if "phone" in present:
        try:
            values["phone"] = phonelib.normalise(raw.get("phone"))
            values["phone_verified"] = True
        except phonelib.PhoneError as exc:
            values["phone"] = phonelib.as_written(raw.get("phone"), PHONE_MAX)
            values["phone_verified"] = False
            row.warn("unverified_phone", col["phone"].header, exc.message + "；已按原样导入，待核实")
    if "relation" in present:
        relation = text.get("relation", "")
        relation = "户主" if relation == "本人" else relation
        values["relation"] = relation[:RELATION_MAX]
        problem = _relation_problem(relation)
        values["relation_verified"] = problem is None
        if problem:
            row.warn("unverified_relation", col["relation"].header, problem + "；已按原样导入，待核实")
    if "residence_type" in present:
        try:
            values["residence_type"] = _choice(
                text.get("residence_type", ""),
                cols.RESIDENCE_TYPE_VALUES,
                col["residence_type"].header,
                "居住类型",
                "permanent",
            )
            values["residence_type_verified"] = True
        except RowError as exc:
            values["residence_type"] = halfwidth(text["residence_type"]).replace(" ", "")[:RESIDENCE_MAX]
            values["residence_type_verified"] = False
            row.warn("unverified_residence_type", exc.column, exc.message + "；已按原样导入，待核实")
    if "status" in present:
        values["status"] = _choice(
            text.get("status", ""), cols.STATUS_VALUES, col["status"].header, "人员状态", "present"
        )
    if "special_needs" in present:
        flags = dict.fromkeys(("is_bedridden", "is_living_alone", "has_disability"), False)
        for token in re.split(r"[、,，;；/\s]+", text.get("special_needs", "")):
            if not token or token in ("无", "none"):
                continue
            flag = cols.SPECIAL_NEEDS_VALUES.get(token)
            if flag is None:
                raise RowError(
                    "bad_value",
                    col["special_needs"].header,
                    f"特殊情况“{token}”无法识别，可填：卧床、独居、残疾（多项用、分隔）",
                )
            flags[flag] = True
        values.update(flags)
    if "note" in present:
        values["note"] = text.get("note", "")[:200]

    # Address: separate columns win; otherwise the address column is parsed.
    building, room = text.get("building", ""), text.get("room", "")
    if building and room:
        row.compound = text.get("compound", "")
        row.building = addresslib.building_key(building)
        row.entrance = addresslib.entrance_key(text.get("entrance", ""))
        row.room = addresslib.room_key(room)
    elif text.get("address"):
        try:
            parsed = addresslib.parse(text["address"])
        except addresslib.AddressError as exc:
            raise RowError("bad_address", col["address"].header, exc.message) from None
        row.compound = text.get("compound") or parsed.compound
        row.building, row.entrance, row.room = parsed.building, parsed.entrance, parsed.room
    else:
        missing = col["building"].header if not building else col["room"].header
        raise RowError("missing_address", missing, "缺少楼栋或房号")
    row.area_names = tuple((k, text[k]) for k in cols.AREA_KEYS if text.get(k))
    if not row.area_names:
        raise RowError("unknown_area", col["grid"].header, "未填写所属网格（或街道、社区）")


# ---------------------------------------------------------------------------------------------- areas


class AreaResolver:
    """Find (or, with create_areas, make) the area a row names, walking the names from the top down."""

    def __init__(self, create: bool, user, scope_paths: list[str] | None) -> None:
        self.create = create
        self.user = user
        self.scope_paths = scope_paths
        self.by_name: dict[str, list[Area]] = defaultdict(list)
        for area in Area.objects.all():
            self.by_name[area.name].append(area)
        self.cache: dict[tuple, Area] = {}
        self.created: list[Area] = []

    def in_scope(self, path: str) -> bool:
        return self.scope_paths is None or any(path.startswith(p) for p in self.scope_paths)

    def resolve(self, names: tuple[tuple[str, str], ...]) -> Area:
        if names in self.cache:
            return self.cache[names]
        candidates: list[Area] | None = None
        for slot, name in names:
            options = [a for a in self.by_name.get(name, ()) if a.level in SLOT_LEVELS[slot]]
            if candidates is not None:
                options = [a for a in options if any(a.path.startswith(c.path) for c in candidates)]
            if not options:
                if not self.create:
                    raise RowError("unknown_area", SLOT_LABELS[slot], f"{SLOT_LABELS[slot]}“{name}”不存在")
                if candidates is not None and len(candidates) > 1:
                    raise RowError(
                        "ambiguous_area", SLOT_LABELS[slot], f"“{name}”的上级有多个同名地区，无法确定"
                    )
                options = [self._create(slot, name, candidates[0] if candidates else None)]
            candidates = options
        assert candidates is not None
        if len(candidates) > 1:
            where = "；".join(a.full_name() for a in candidates[:3])
            raise RowError(
                "ambiguous_area",
                SLOT_LABELS[names[-1][0]],
                f"“{names[-1][1]}”有多个：{where}；请填写上级地区",
            )
        self.cache[names] = candidates[0]
        return candidates[0]

    def _create(self, slot: str, name: str, parent: Area | None) -> Area:
        if not self.in_scope(parent.path if parent else "/"):
            raise RowError("out_of_scope", SLOT_LABELS[slot], f"无权在此处新建{SLOT_LABELS[slot]}“{name}”")
        if slot == "subdistrict":
            level = Level.TOWN if name.endswith(("镇", "乡")) else Level.SUBDISTRICT
        elif slot == "community":
            level = Level.VILLAGE if name.endswith("村") else Level.COMMUNITY
        else:
            level = Level(slot)
        area = Area.objects.create(name=name, level=level, parent=parent)
        self.by_name[name].append(area)
        self.created.append(area)
        return area


# --------------------------------------------------------------------------------------------- import


@dataclass
class Summary:
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    blank_rows: int = 0
    warned: int = 0  # imported rows (not rejected) with values kept unverified
    rejects: list[ImportReject] = field(default_factory=list)
    warnings: list[ImportWarning] = field(default_factory=list)
    not_imported: list[str] = field(default_factory=list)
    areas_created: list[str] = field(default_factory=list)
    changes: list[dict] = field(default_factory=list)  # the first updates, for the preview

    def check(self) -> None:
        # Counts in equal counts out: a wrong sum is a bug, and we refuse to report it as a result.
        if self.total != self.created + self.updated + self.unchanged + self.rejected:
            raise RuntimeError(f"import counts do not add up: {self}")
        if self.warned > self.total - self.rejected:
            raise RuntimeError(f"more rows to check than rows imported: {self}")


class ResidentImporter:
    """Import one table. ``user`` None means the command line (everything in scope)."""

    def __init__(self, user=None, create_areas: bool = False) -> None:
        self.user = user
        self.create_areas = create_areas
        self.scope_paths = None if user is None else allowed_paths(user, Action.IMPORT)
        self.actor_id = user.pk if user is not None else None

    def run(
        self,
        source: str | Path | bytes | IO[bytes],
        filename: str = "",
        dry_run: bool = False,
        batch: ImportBatch | None = None,
        limits: Limits | None = None,
    ) -> ImportBatch:
        """Read, validate and (unless ``dry_run``) apply a table; return the batch with its counts.

        ``limits``: the reader's caps (the web's by default; commands pass ``tables.limits("command")``).
        A file-level problem (unreadable, over a limit, a required column missing) raises FileError and
        changes nothing.
        """
        filename = filename or Path(str(source)).name
        summary = Summary()
        parsed: list[Row] = []
        with Table(source, filename, limits) as table:
            header = find_header(table)
            mapping = header.mapping
            summary.not_imported = header.not_imported
            self.present = set(mapping.values())
            self.has_address_column = "address" in self.present
            for offset, cells in table.rows():
                raw = {key: cells[pos] if pos < len(cells) else None for pos, key in mapping.items()}
                text = {key: cell_text(v) for key, v in raw.items()}
                if not any(text.values()):
                    summary.blank_rows += 1
                    continue
                summary.total += 1
                parsed.append(Row(number=offset, raw=raw, text=text))

        with transaction.atomic():
            self._apply(parsed, summary, filename)
            summary.warnings = [
                ImportWarning(row_number=row.number, problems=row.warnings, data=row.text)
                for row in parsed
                if row.warnings and not row.rejected
            ]
            summary.warned = len(summary.warnings)
            if dry_run:
                transaction.set_rollback(True)
            elif summary.created or summary.updated:
                # Newcomers join the roll of any open round; movers follow (sampling listens).
                registry_changed.send(sender=ResidentImporter, resident_ids=None)

        summary.check()
        if batch is None:
            batch = ImportBatch(filename=filename, user=self.user if self.user else None)
        batch.create_areas = self.create_areas
        batch.state = ImportBatch.State.PREVIEW if dry_run else ImportBatch.State.APPLIED
        for name in ("total", "created", "updated", "unchanged", "rejected", "blank_rows", "warned"):
            setattr(batch, name, getattr(summary, name))
        batch.areas_created = summary.areas_created
        batch.not_imported = summary.not_imported
        batch.changes = summary.changes
        with transaction.atomic():
            batch.save()
            batch.rejects.all().delete()
            for reject in summary.rejects:
                reject.batch = batch
            ImportReject.objects.bulk_create(summary.rejects, batch_size=2000)
            batch.warnings.all().delete()
            for warning in summary.warnings:
                warning.batch = batch
            ImportWarning.objects.bulk_create(summary.warnings, batch_size=2000)
        return batch

    # The work, inside one transaction.
    def _apply(self, rows: list[Row], summary: Summary, filename: str) -> None:
        resolver = AreaResolver(self.create_areas, self.user, self.scope_paths)
        good: list[Row] = []
        grid_of: dict[int, Area] = {}
        for row in rows:
            try:
                validate_row(row, self.present)
                area = resolver.resolve(row.area_names)
                if not resolver.in_scope(area.path):
                    raise RowError(
                        "out_of_scope", SLOT_LABELS[row.area_names[-1][0]], f"“{area.name}”不在您的管辖范围内"
                    )
                grid_of[row.number] = area
                good.append(row)
            except RowError as exc:
                self._reject(summary, row, exc)

        buildings = _BuildingIndex(grid_of.values())
        placed: list[tuple[Row, int]] = []  # (row, household id)
        for row in good:
            try:
                grid = buildings.grid_for(grid_of[row.number], row)
                household_id = buildings.household(grid, row)
                placed.append((row, household_id))
            except RowError as exc:
                self._reject(summary, row, exc)
        buildings.flush()
        placed = [(row, buildings.household_ids[hid] if hid < 0 else hid) for row, hid in placed]

        self._write_residents(placed, summary, filename)
        summary.areas_created = [a.full_name() for a in resolver.created]

    def _write_residents(self, placed: list[tuple[Row, int]], summary: Summary, filename: str) -> None:
        doc_keys = {
            (r.values.get("document_type"), r.values["document_number"])
            for r, _ in placed
            if r.values.get("document_number")
        }
        existing: dict[tuple, dict] = {}
        numbers = sorted({n for _, n in doc_keys})
        fields = ("id", *RESIDENT_FIELDS, "household__building__grid__path")
        for start in range(0, len(numbers), 5000):
            for rec in Resident.objects.filter(document_number__in=numbers[start : start + 5000]).values(
                *fields
            ):
                existing[(rec["document_type"], rec["document_number"])] = rec
        household_ids = {hid for r, hid in placed if not r.values.get("document_number")}
        no_doc: dict[tuple, dict] = {}
        hids = sorted(household_ids)
        for start in range(0, len(hids), 5000):
            qs = Resident.objects.filter(household_id__in=hids[start : start + 5000], document_number="")
            for rec in qs.values(*fields):
                no_doc[(rec["household_id"], rec["name"], rec["birth_date"])] = rec

        seen: dict[tuple, tuple[Row, dict]] = {}
        creates: list[tuple[Row, dict]] = []
        updates: list[tuple[Row, dict, dict]] = []
        for row, household_id in placed:
            values = dict(row.values, household_id=household_id)
            if not values.get("document_number"):
                values.setdefault("document_type", "none")
            if values.get("document_number"):
                key: tuple = ("doc", values["document_type"], values["document_number"])
                current = existing.get(key[1:])
            else:
                key = ("none", household_id, values["name"], values.get("birth_date"))
                current = no_doc.get(key[1:])
            if key in seen:
                first, first_values = seen[key]
                code, message = self._in_file_duplicate(first, first_values, values)
                if code is None:
                    summary.unchanged += 1
                else:
                    self._reject(summary, row, RowError(code, cols.BY_KEY["document_number"].header, message))
                continue
            seen[key] = (row, values)
            try:
                if current is None:
                    creates.append((row, values))
                    continue
                if not self._in_scope(current["household__building__grid__path"]):
                    raise RowError(
                        "registered_elsewhere",
                        cols.BY_KEY["document_number"].header,
                        "此证件号码已在其他辖区登记；如已搬来，请联系其原网格或上级核实后迁入",
                    )
                if current["name"] != values["name"]:
                    raise RowError(
                        "duplicate_id",
                        cols.BY_KEY["document_number"].header,
                        f"该证件号码已登记为另一人（{current['name'][0]}*），请核对姓名或号码",
                    )
                changed = {f: v for f, v in values.items() if current.get(f) != v}
                if changed:
                    updates.append((row, current, changed))
                else:
                    summary.unchanged += 1
            except RowError as exc:
                self._reject(summary, row, exc)

        grid_paths = dict(
            Household.objects.filter(
                id__in={v["household_id"] for _, v in creates}
                | {c["household_id"] for _, c, _ in updates}
                | {ch.get("household_id") for _, _, ch in updates if ch.get("household_id")}
            ).values_list("id", "building__grid__path")
        )
        now = timezone.now()
        create_fields = (*RESIDENT_FIELDS, "created_at", "updated_at")
        defaults = {f: Resident._meta.get_field(f).get_default() for f in RESIDENT_FIELDS}
        new_ids = insert_rows(
            Resident,
            create_fields,
            [[values.get(f, defaults[f]) for f in RESIDENT_FIELDS] + [now, now] for _, values in creates],
        )
        summary.created += len(creates)
        audit = [
            (
                self.actor_id,
                "resident.import_create",
                "residents.resident",
                pk,
                grid_paths.get(values["household_id"], ""),
                {},
                f"导入 {filename} 第{row.number}行",
                now,
            )
            for (row, values), pk in zip(creates, new_ids, strict=True)
        ]
        by_fields: dict[tuple[str, ...], list[Resident]] = defaultdict(list)
        summary.changes = self._preview(updates[:PREVIEW_CHANGES])
        for row, current, changed in updates:
            resident = Resident(id=current["id"], **{f: v for f, v in changed.items()})
            by_fields[tuple(sorted(changed))].append(resident)
            audit.append(
                (
                    self.actor_id,
                    "resident.import_update",
                    "residents.resident",
                    current["id"],
                    grid_paths.get(changed.get("household_id", current["household_id"]), ""),
                    {f: [_json(current.get(f)), _json(v)] for f, v in changed.items()},
                    f"导入 {filename} 第{row.number}行",
                    now,
                )
            )
        for field_names, residents in by_fields.items():
            for resident in residents:
                resident.updated_at = now
            Resident.objects.bulk_update(residents, [*field_names, "updated_at"], batch_size=1000)
        summary.updated += len(updates)
        record_many(audit)

    @staticmethod
    def _preview(updates: list[tuple[Row, dict, dict]]) -> list[dict]:
        """Updates as people read them: column headers, addresses instead of household ids."""
        ids = {c["household_id"] for _, c, _ in updates} | {
            ch["household_id"] for _, _, ch in updates if "household_id" in ch
        }
        labels = {h.pk: h.label for h in Household.objects.filter(pk__in=ids).select_related("building")}
        preview = []
        for row, current, changed in updates:
            readable = {}
            for f, v in changed.items():
                if f == "household_id":
                    readable["住址"] = [labels.get(current[f], ""), labels.get(v, "")]
                else:
                    header = cols.BY_KEY[FIELD_SOURCES[f]].header
                    old = readable.get(header, [None, None])[0]
                    readable[header] = [old if old is not None else _json(current.get(f)), _json(v)]
            preview.append({"row": row.number, "name": current["name"], "changes": readable})
        return preview

    def _in_scope(self, path: str) -> bool:
        return self.scope_paths is None or any(path.startswith(p) for p in self.scope_paths)

    @staticmethod
    def _in_file_duplicate(first: Row, first_values: dict, values: dict) -> tuple[str | None, str]:
        if first_values["name"] != values["name"]:
            return "duplicate_id", f"与第{first.number}行证件号码相同但姓名不同"
        if first_values != values:
            return "duplicate_in_file", f"与第{first.number}行是同一人但信息不同，请合并为一行"
        return None, ""

    def _reject(self, summary: Summary, row: Row, exc: RowError) -> None:
        row.rejected = True
        summary.rejected += 1
        summary.rejects.append(
            ImportReject(
                row_number=row.number,
                column=exc.column,
                code=exc.code,
                message=exc.message[:300],
                data=row.text,
            )
        )


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime.date) else value


class _BuildingIndex:
    """Buildings and households of the grids a file touches, created in bulk at the end.

    New households get negative placeholder ids until ``flush`` writes them.
    """

    def __init__(self, areas) -> None:
        self.areas = {a.id: a for a in areas}
        paths = {a.path for a in self.areas.values()}
        q = Building.objects.none()
        for p in paths:
            q = q | Building.objects.filter(grid__path__startswith=p)
        self.buildings: dict[tuple[int, str, str], int] = {}
        self.by_address: dict[tuple[str, str], list[tuple[int, str]]] = defaultdict(list)
        for b in q.values("id", "grid_id", "compound_key", "number", "grid__path"):
            self.buildings[(b["grid_id"], b["compound_key"], b["number"])] = b["id"]
            self.by_address[(b["compound_key"], b["number"])].append((b["grid_id"], b["grid__path"]))
        building_ids = list(self.buildings.values())
        self.households: dict[tuple[int, str, str], int] = {}
        for start in range(0, len(building_ids), 5000):
            for h in Household.objects.filter(building_id__in=building_ids[start : start + 5000]).values(
                "id", "building_id", "entrance", "room"
            ):
                self.households[(h["building_id"], h["entrance"], h["room"])] = h["id"]
        self.new_buildings: dict[tuple[int, str, str], Building] = {}
        self.new_households: list[tuple[int, Household, Building | None]] = []
        self.household_ids: dict[int, int] = {}

    def grid_for(self, area: Area, row: Row) -> Area:
        if area.is_grid:
            return area
        key = (addresslib.compound_key(row.compound), row.building)
        grids = {gid for gid, path in self.by_address.get(key, ()) if path.startswith(area.path)}
        if len(grids) == 1:
            grid_id = grids.pop()
            if grid_id not in self.areas:
                self.areas[grid_id] = Area.objects.get(pk=grid_id)
            return self.areas[grid_id]
        label = addresslib.household_label(row.compound, row.building, "", "").strip()
        reason = "在多个网格中都有" if grids else "找不到"
        raise RowError(
            "unknown_grid", SLOT_LABELS["grid"], f"未填写网格，且楼栋“{label}”在“{area.name}”下{reason}"
        )

    def household(self, grid: Area, row: Row) -> int:
        """The household id for a row's address, or a negative placeholder for one to be created."""
        bkey = (grid.id, addresslib.compound_key(row.compound), row.building)
        building_id = self.buildings.get(bkey)
        building = None
        hkey: tuple
        if building_id is not None:
            hkey = (building_id, row.entrance, row.room)
        else:
            building = self.new_buildings.get(bkey)
            if building is None:
                building = Building(
                    grid_id=grid.id, compound=row.compound, compound_key=bkey[1], number=row.building
                )
                self.new_buildings[bkey] = building
                self.by_address[bkey[1:]].append((grid.id, grid.path))
            hkey = ("new", *bkey, row.entrance, row.room)
        if hkey in self.households:
            return self.households[hkey]
        placeholder = -(len(self.new_households) + 1)
        self.new_households.append(
            (placeholder, Household(building_id=building_id, entrance=row.entrance, room=row.room), building)
        )
        self.households[hkey] = placeholder
        return placeholder

    def flush(self) -> None:
        Building.objects.bulk_create(list(self.new_buildings.values()), batch_size=1000)
        for _, household, building in self.new_households:
            if building is not None:
                household.building_id = building.pk
        ids = insert_rows(
            Household,
            ("building_id", "entrance", "room"),
            [(h.building_id, h.entrance, h.room) for _, h, _ in self.new_households],
        )
        self.household_ids = {
            placeholder: pk for (placeholder, _, _), pk in zip(self.new_households, ids, strict=True)
        }


def _report_keys(first: ImportReject | ImportWarning | None) -> list[str]:
    keys = list(cols.TEMPLATE_KEYS)
    if first is not None and "address" in first.data:
        keys.insert(keys.index("compound"), "address")
    return keys


def iter_warning_rows(batch: ImportBatch) -> Iterator[list[str]]:
    """Rows of the "to check" file: the template's columns as the file had them, then what to check.

    One line per imported row with unverified values; its columns and reasons joined with 、 and ；. The
    reason columns are ignored on import, so a corrected file can be imported again as it is.
    """
    keys = _report_keys(batch.warnings.first())
    yield [cols.BY_KEY[k].header for k in keys] + list(cols.WARNING_HEADERS)
    for warning in batch.warnings.all().iterator():
        yield [warning.data.get(k, "") for k in keys] + [
            str(warning.row_number),
            "、".join(p["column"] for p in warning.problems),
            "、".join(p["code"] for p in warning.problems),
            "；".join(p["message"] for p in warning.problems),
        ]


def iter_reject_rows(batch: ImportBatch) -> Iterator[list[str]]:
    """Rows of the rejects file: the template's columns (plus 地址 when used), then the reason."""
    keys = _report_keys(batch.rejects.first())
    yield [cols.BY_KEY[k].header for k in keys] + list(cols.REJECT_HEADERS)
    for reject in batch.rejects.all().iterator():
        yield [reject.data.get(k, "") for k in keys] + [
            str(reject.row_number),
            reject.column,
            reject.code,
            reject.message,
        ]
