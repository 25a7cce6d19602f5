"""Feed lines and residents turned into the same columns, so that the linkage model compares like with like.

Everything a comparison needs is computed here once per record (pinyin, four-corner codes, ID parts,
address parts), so that the pairwise comparisons in SQL are plain equalities and edit distances. Both
sides get exactly the columns of ``COLUMNS``; what a side cannot know is None.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from dataclasses import dataclass

from gridroll.lib import address as addresslib
from gridroll.lib import idnumber, names
from gridroll.lib import phone as phonelib
from gridroll.lib.text import halfwidth, number_key

COLUMNS = (
    "unique_id",
    "name",
    "name_py",
    "name_fpy",
    "name_shape",
    "name_sorted",
    "name_short1",
    "name_short2",
    "id_full",
    "id_head4",
    "id_region",
    "id_birth",
    "id_last4",
    "id_first14",
    "id_tail12",
    "phone",
    "phone7",
    "phone4",
    "phone_household",
    "compound",
    "building",
    "building_num",
    "room",
    "building_id",
    "sparse",
)

_MASK_CHARS = re.compile(r"[*＊xX?？•·]")
_DIGITS = re.compile(r"\d+")
_BUILDING_ONLY = re.compile(r"(?P<b>\d+|[零〇一二两三四五六七八九十百]+)\s*(?:号楼|栋|幢|座|#|号院)")


@dataclass(frozen=True)
class IDParts:
    """What a feed's ID cell still tells: a full number, or the visible parts of a masked one."""

    full: str | None = None  # 18 characters, as written (valid or not)
    valid: bool = False
    head4: str | None = None  # province and city: visible in every masking style
    region: str | None = None
    birth: str | None = None  # YYYYMMDD
    last4: str | None = None
    masked: bool = False
    problem: str = ""  # why a full number is not valid: bad_check_digit, bad_birth_date, ...

    @property
    def present(self) -> bool:
        return bool(self.full or self.head4 or self.last4)


def id_parts(raw: str) -> IDParts:
    """'371502********1234', '37150219900101123X', a 15-digit number or a mistyped one."""
    text = idnumber.normalise(raw or "")
    if not text:
        return IDParts()
    if _MASK_CHARS.search(text[:-1]) and len(text) in (15, 18):
        # Masked: keep what is visible. Birth digits count only when all eight are there.
        region = text[:6] if text[:6].isdigit() else None
        birth = text[6:14] if len(text) == 18 and text[6:14].isdigit() else None
        last4 = text[-4:] if re.fullmatch(r"\d{3}[\dX]", text[-4:]) else None
        head4 = text[:4] if text[:4].isdigit() else None
        return IDParts(head4=head4, region=region, birth=birth, last4=last4, masked=True)
    if re.fullmatch(r"\d{15}", text):
        text = idnumber.upgrade_15(text)
    if not re.fullmatch(r"\d{17}[\dX]", text):
        # A digit too many or too few: keep the parts that still line up from either end.
        if re.fullmatch(r"\d{16,19}X?", text):
            return IDParts(head4=text[:4], region=text[:6], last4=text[-4:], problem="bad_id_format")
        return IDParts(problem="bad_id_format")
    try:
        idnumber.parse(text)
        valid, problem = True, ""
    except idnumber.IDNumberError as exc:
        valid, problem = False, exc.code
    return IDParts(
        full=text,
        valid=valid,
        head4=text[:4],
        region=text[:6],
        birth=text[6:14],
        last4=text[-4:],
        problem=problem,
    )


def phone_digits(raw: str) -> str:
    """The phone as digits; a number phonelib refuses (one digit short, a typo) still counts as digits."""
    try:
        return phonelib.normalise(raw or "")
    except phonelib.PhoneError:
        digits = "".join(_DIGITS.findall(halfwidth(str(raw))))
        return digits if 7 <= len(digits) <= 12 else ""


@dataclass(frozen=True)
class AddressParts:
    compound: str | None = None  # a compound key known to the registry
    building: str | None = None
    entrance: str | None = None
    room: str | None = None


class AddressReader:
    """Reads free-text addresses against the compounds the registry knows.

    Lists write addresses every way: with or without province, city and street in front, 小区 or not,
    '3号楼2单元501', '3-2-501', '三号楼', sometimes only a compound and a building. A compound counts when
    the text before the building ends with a known compound name (or a close spelling of one).
    """

    def __init__(self, compound_keys: Iterable[str]) -> None:
        self.keys = {k for k in compound_keys if k}
        self.max_len = max((len(k) for k in self.keys), default=0)

    def compound_in(self, text: str) -> str | None:
        text = addresslib.compound_key(text)
        if not text:
            return None
        for length in range(min(self.max_len, len(text)), 1, -1):
            if text[-length:] in self.keys:
                return text[-length:]
        # Anywhere in the text (a compound named after the street: '…路12号盛世佳苑').
        for key in self.keys:
            if len(key) >= 3 and key in text:
                return key
        return self._close(text)

    def _close(self, text: str) -> str | None:
        from rapidfuzz import fuzz, process

        # One character off in a four-character name (盛世家苑 for 盛世佳苑) scores 75.
        tail = text[-12:]
        found = process.extractOne(tail, self.keys, scorer=fuzz.partial_ratio, score_cutoff=75)
        return found[0] if found else None

    def read(self, raw: str) -> AddressParts:
        text = halfwidth(raw or "")
        if not text:
            return AddressParts()
        try:
            parsed = addresslib.parse(text)
        except addresslib.AddressError:
            found = list(_BUILDING_ONLY.finditer(text))
            if not found:
                return AddressParts(compound=self.compound_in(text))
            last = found[-1]
            return AddressParts(
                compound=self.compound_in(text[: last.start()]), building=number_key(last["b"])
            )
        return AddressParts(
            compound=self.compound_in(parsed.compound) if parsed.compound else None,
            building=parsed.building,
            entrance=parsed.entrance or None,
            room=parsed.room,
        )


NAME_COLUMNS = ("name", "name_py", "name_fpy", "name_shape", "name_sorted")


def name_keys(name: str) -> tuple[str | None, ...]:
    """The name cleaned, its sound, fuzzy sound, shape and sorted characters (NAME_COLUMNS' order)."""
    name = names.clean(name)
    if not name:
        return (None,) * len(NAME_COLUMNS)
    return (name, *names.keys(name), names.chars_sorted(name))


def name_columns(name: str) -> dict[str, str | None]:
    return dict(zip(NAME_COLUMNS, name_keys(name), strict=True))


def id_columns(parts: IDParts) -> dict[str, str | None]:
    full = parts.full
    return {
        "id_full": full,
        "id_head4": parts.head4,
        "id_region": parts.region,
        "id_birth": parts.birth,
        "id_last4": parts.last4,
        "id_first14": full[:14] if full else None,
        "id_tail12": full[6:] if full else None,
    }


def phone_columns(phone: str) -> dict[str, str | None]:
    if not phone:
        return {"phone": None, "phone7": None, "phone4": None}
    return {"phone": phone, "phone7": phone[:7], "phone4": phone[-4:]}


@dataclass
class ResidentRow:
    """One resident as the matcher needs them (read from the database or made by the generator)."""

    id: int
    name: str
    document_number: str
    birth_date: datetime.date | None
    phone: str
    household_id: int | None
    building_id: int | None
    compound: str  # compound key
    building: str
    entrance: str
    room: str
    grid_id: int | None = None
    status: str = "present"
    sex: str = ""


def resident_record(r: ResidentRow) -> tuple:
    """One resident's columns, in the order of COLUMNS (a tuple: a million of them are made per run)."""
    name, sound, fuzzy, shape, sorted_ = name_keys(r.name)
    # The name as a list writes it with a character dropped: 韩馨怡 → 韩怡 or 韩馨.
    short1, short2 = (name[0] + name[2:], name[:-1]) if name and len(name) >= 3 else (None, None)
    doc = r.document_number if len(r.document_number) == 18 else ""
    phone = r.phone if r.phone and r.phone.isdigit() else None
    birth = doc[6:14] if doc else r.birth_date.strftime("%Y%m%d") if r.birth_date else None
    building = r.building or None
    return (
        r.id,
        name,
        sound,
        fuzzy,
        shape,
        sorted_,
        short1,
        short2,
        doc or None,
        doc[:4] or None,
        doc[:6] or None,
        birth,
        doc[-4:] or None,
        doc[:14] or None,
        doc[6:] or None,
        phone,
        phone[:7] if phone else None,
        phone[-4:] if phone else None,
        r.household_id,
        r.compound or None,
        building,
        int(building) if building and building.isdigit() else None,
        r.room or None,
        r.building_id,
        False,
    )


def as_row(record: dict) -> tuple:
    return tuple(record.get(c) for c in COLUMNS)


@dataclass
class FeedInput:
    """One line of a feed, as read: the cells the matcher looks at."""

    line: int  # 1-based position in the feed
    name: str = ""
    id_number: str = ""
    phone: str = ""
    address: str = ""


@dataclass
class FeedFeatures:
    """What the matcher made of a line, kept for explanations."""

    record: dict
    id: IDParts
    phone: str
    address: AddressParts


def feed_features(
    line: FeedInput,
    reader: AddressReader,
    households_by_phone: dict[str, int],
    building_ids: dict[tuple[str, str], int],
) -> FeedFeatures:
    rec: dict = {"unique_id": line.line}
    rec.update(name_columns(line.name))
    parts = id_parts(line.id_number)
    rec.update(id_columns(parts))
    phone = phone_digits(line.phone)
    rec.update(phone_columns(phone))
    rec["phone_household"] = households_by_phone.get(phone) if phone else None
    addr = reader.read(line.address)
    rec["compound"] = addr.compound
    rec["building"] = addr.building
    rec["building_num"] = int(addr.building) if addr.building and addr.building.isdigit() else None
    rec["room"] = addr.room
    rec["building_id"] = (
        building_ids.get((addr.compound, addr.building)) if addr.compound and addr.building else None
    )
    rec["sparse"] = not (parts.present or phone or addr.building)
    return FeedFeatures(record=rec, id=parts, phone=phone, address=addr)
