"""Feed lines and residents turned into the same columns, so that the linkage model compares like with like.

Everything a comparison needs is computed here once per record (pinyin, four-corner codes, ID parts,
address parts), so that the pairwise comparisons in SQL are plain equalities and edit distances. Both
sides get exactly the columns of ``COLUMNS``; what a side cannot know is None.
"""

from __future__ import annotations

import datetime
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from gridroll.lib import address as addresslib
from gridroll.lib import idnumber, names
from gridroll.lib import phone as phonelib
from gridroll.lib.text import halfwidth, number_key

# The phone's features, as a line without a usable phone has them: all empty.
PHONE_COLUMNS = (
    "phone",
    "phone3",
    "phone7",
    "phone4",
    "phone_tail8",
    "phone_sorted",
    "phone_pattern",
    "phone_unique",
)

COLUMNS = (
    "unique_id",
    "name",
    "name_py",
    "name_fpy",
    "name_shape",
    "name_sorted",
    "name_short1",
    "name_short2",
    "name_given",
    "name_first",
    "name_pattern",
    "name_ends",
    "id_full",
    "id_head4",
    "id_region",
    "id_birth",
    "id_last4",
    "id_first14",
    "id_tail8",
    "id_ends",
    "id_sorted",
    "id_pattern",
    *PHONE_COLUMNS,
    "phone_household",
    "compound",
    "community",
    "building",
    "building_num",
    "room",
    "building_id",
    "sparse",
)

_MASK_CHARS = re.compile(r"[*＊xX?？•·]")
# What a list uses to hide part of a name or a phone: 张*伟, 张**, 138****4296, 138xxxx4296.
_NAME_MASK = re.compile(r"[*＊×?？•]")
_PHONE_MASKED = re.compile(r"^(?P<head>1\d{2,6})[*＊xX×?？•]{2,8}(?P<tail>\d{2,4})$")
# Letters a scan or a typist puts for digits in a number (OCR confusions): 138O1234567, 41010519B8....
_OCR_DIGITS = str.maketrans(
    {"O": "0", "o": "0", "D": "0", "l": "1", "I": "1", "|": "1", "B": "8", "S": "5", "Z": "2"}
)
_COMMUNITY_WORD = re.compile(r"社区居民委员会|社区居委会|居民委员会|居委会|村民委员会|村委会|社区|村")
_VAGUE_SUFFIX = re.compile(r"(附近|周边|一带|旁边|左右)+$")


def deocr(text: str) -> str:
    """A number cell with letters that stand for digits read as digits; other text is left alone."""
    if sum(ch.isdigit() for ch in text) < 6:
        return text
    head, last = text[:-1], text[-1:]
    # The last character of an ID may be a real X; a lowercase x there is the same X.
    return head.translate(_OCR_DIGITS) + (last.upper() if last in "xX" else last.translate(_OCR_DIGITS))


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
    pattern: str | None = None  # a masked number as a LIKE pattern: 410105________1234

    @property
    def present(self) -> bool:
        return bool(self.full or self.head4 or self.last4 or self.pattern)


def id_parts(raw: str) -> IDParts:
    """'371502********1234', '37150219900101123X', a 15-digit number or a mistyped one."""
    text = idnumber.normalise(deocr(halfwidth(raw or "")).replace(" ", ""))
    if not text:
        return IDParts()
    if _MASK_CHARS.search(text[:-1]) and len(text) in (15, 18):
        # Masked: keep what is visible. Birth digits count only when all eight are there.
        region = text[:6] if text[:6].isdigit() else None
        birth = text[6:14] if len(text) == 18 and text[6:14].isdigit() else None
        last4 = text[-4:] if re.fullmatch(r"\d{3}[\dX]", text[-4:]) else None
        head4 = text[:4] if text[:4].isdigit() else None
        pattern = _MASK_CHARS.sub("_", text[:-1]) + text[-1] if len(text) == 18 else None
        visible = sum(ch != "_" for ch in pattern or "")
        return IDParts(
            head4=head4,
            region=region,
            birth=birth,
            last4=last4,
            masked=True,
            # Fewer than six visible characters say next to nothing (a whole registry fits them).
            pattern=pattern if visible >= 6 else None,
        )
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
    raw = deocr(halfwidth(str(raw or "")))
    if masked_phone(raw):
        return ""  # 138****4296 is not the number 1384296
    try:
        return phonelib.normalise(raw)
    except phonelib.PhoneError:
        digits = "".join(_DIGITS.findall(raw))
        if len(digits) == 13 and digits.startswith("86"):
            digits = digits[2:]
        return digits if 7 <= len(digits) <= 12 else ""


@dataclass(frozen=True)
class MaskedPhone:
    """138****4296: the visible head and tail, and the number as a LIKE pattern."""

    head: str
    tail: str
    pattern: str


def masked_phone(raw: str) -> MaskedPhone | None:
    text = re.sub(r"[\s\-]", "", halfwidth(str(raw or "")))
    text = re.sub(r"^(\+?86)(?=1)", "", text)
    found = _PHONE_MASKED.match(text)
    if not found or len(text) != 11:
        return None
    return MaskedPhone(found["head"], found["tail"], re.sub(r"[^\d]", "_", text))


@dataclass(frozen=True)
class AddressParts:
    compound: str | None = None  # a compound key known to the registry
    community: str | None = None  # a community key known to the registry (金水社区 → 金水)
    building: str | None = None
    entrance: str | None = None
    room: str | None = None


class AddressReader:
    """Reads free-text addresses against the compounds the registry knows.

    Lists write addresses every way: with or without province, city and street in front, 小区 or not,
    '3号楼2单元501', '3-2-501', '三号楼', sometimes only a compound and a building. A compound counts when
    the text before the building ends with a known compound name (or a close spelling of one).
    """

    def __init__(self, compound_keys: Iterable[str], community_keys: Iterable[str] = ()) -> None:
        self.keys = {k for k in compound_keys if k}
        self.max_len = max((len(k) for k in self.keys), default=0)
        self.communities = {k for k in community_keys if k and len(k) >= 2}
        self.community_len = max((len(k) for k in self.communities), default=0)

    def community_in(self, text: str) -> tuple[str | None, str]:
        """The registry's community the text names (金水社区, 金水社区居委会), and the text without it,
        so that a community is not read as a compound."""
        if not self.communities:
            return None, text
        for m in _COMMUNITY_WORD.finditer(text):
            for length in range(min(self.community_len, m.start()), 1, -1):
                if text[m.start() - length : m.start()] in self.communities:
                    return text[m.start() - length : m.start()], text[: m.start() - length] + text[m.end() :]
        return None, text

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
        # '38号楼附近', '金桥花园周边': a place near, not a flat.
        text = _VAGUE_SUFFIX.sub("", halfwidth(raw or "")).strip()
        community, text = self.community_in(text)
        text = text.strip()
        if not text:
            return AddressParts(community=community)
        try:
            parsed = addresslib.parse(text)
        except addresslib.AddressError:
            found = list(_BUILDING_ONLY.finditer(text))
            if not found:
                return AddressParts(compound=self.compound_in(text), community=community)
            last = found[-1]
            return AddressParts(
                compound=self.compound_in(text[: last.start()]),
                community=community,
                building=number_key(last["b"]),
            )
        return AddressParts(
            compound=self.compound_in(parsed.compound) if parsed.compound else None,
            community=community,
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


def name_pattern(raw: str) -> str | None:
    """A masked name as a LIKE pattern: '张*伟' → '张_伟', '张**' → '张__', '*伟' → '_伟'; None when the
    name is not masked. The pattern keeps the visible characters and the length."""
    text = halfwidth(raw or "").replace(" ", "")
    if not _NAME_MASK.search(text):
        return None
    text = _NAME_MASK.sub("_", names.clean(_NAME_MASK.sub("#", text)).replace("#", "_"))
    if not text.replace("_", "") or len(text) < 2:
        return None
    return text


def name_columns(name: str) -> dict[str, str | None]:
    pattern = name_pattern(name)
    if pattern is not None:
        # Only the visible characters and the length are known: none of the sound or shape keys.
        out: dict[str, str | None] = dict.fromkeys(NAME_COLUMNS)
        out["name_pattern"] = pattern
        out["name_ends"] = name_ends(pattern) if "_" not in (pattern[0], pattern[-1]) else None
        out["name_first"] = pattern[0] if pattern[0] != "_" else None
        return out
    out = dict(zip(NAME_COLUMNS, name_keys(name), strict=True))
    out["name_short1"], out["name_short2"] = name_drops(out["name"])
    out["name_given"] = name_given(out["name"])
    out["name_pattern"] = None
    out["name_ends"] = None  # a name written in full has keys enough
    out["name_first"] = out["name"][0] if out["name"] else None
    return out


def id_columns(parts: IDParts) -> dict[str, str | None]:
    full = parts.full
    return {
        "id_full": full,
        "id_head4": parts.head4,
        "id_region": parts.region,
        "id_birth": parts.birth,
        "id_last4": parts.last4,
        "id_first14": full[:14] if full else None,
        "id_tail8": full[10:] if full else None,
        "id_ends": id_ends(full) if full else None,
        "id_sorted": id_sorted(full) if full else None,
        "id_pattern": parts.pattern,
    }


def id_ends(full: str) -> str:
    """The region with the birth year, and the last four characters. Cut a number into three parts, up to
    the birth year, the month and day, and the last four: a mistyped digit leaves two of them, and one of
    three keys intact (the first fourteen, the last eight, these ends)."""
    return full[:10] + full[-4:]


def id_sorted(full: str) -> str:
    """The region, then the other twelve characters in order of value: two digits swapped across the
    birth date and the sequence (…0113 1139 for …0111 3139) keep it when no other key survives."""
    return full[:6] + "".join(sorted(full[6:]))


def name_ends(name: str | None) -> str | None:
    """The first and last characters and the length: what a mask like 张*伟 or 欧**明 leaves visible."""
    return f"{name[0]}{name[-1]}{len(name)}" if name and len(name) >= 2 else None


def name_given(name: str | None) -> str | None:
    """The name without its first character: the surname replaced by one of another sound and shape
    (季志春 for 李志春) keeps it."""
    return name[1:] if name and len(name) >= 2 else None


def sorted_digits(phone: str) -> str:
    """The first three digits, then the others in order of value: two digits swapped (13593689474 for
    13593698474) keep it when neither the first seven nor the last eight digits survive. (All eleven
    sorted would pair a line with a hundred residents of a million.)"""
    return phone[:3] + "".join(sorted(phone[3:]))


def name_drops(name: str | None) -> tuple[str | None, str | None]:
    """The name with its second or its last character dropped: 韩馨怡 → 韩怡, 韩馨. In the registry this
    meets a list that dropped a character; on a list, a list that added one (张磊颖 for 张磊)."""
    if name and len(name) >= 3:
        return name[0] + name[2:], name[:-1]
    return None, None


def phone_columns(phone: str, masked: MaskedPhone | None = None) -> dict[str, str | None]:
    if phone:
        return {
            "phone": phone,
            "phone3": phone[:3],
            "phone7": phone[:7],
            "phone4": phone[-4:],
            "phone_tail8": phone[-8:],
            "phone_sorted": sorted_digits(phone),
            "phone_pattern": None,
            "phone_unique": phone,
        }
    if masked:
        return {
            "phone": None,
            "phone3": masked.head[:3],
            "phone7": masked.head[:7] if len(masked.head) >= 7 else None,
            "phone4": masked.tail[-4:] if len(masked.tail) >= 4 else None,
            "phone_tail8": None,
            "phone_sorted": None,
            "phone_pattern": masked.pattern,
            "phone_unique": None,
        }
    return dict.fromkeys(PHONE_COLUMNS)


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
    community: str = ""  # community key (金水社区 → 金水)


@functools.lru_cache(maxsize=1 << 18)
def _resident_name(raw: str) -> tuple[str | None, ...]:
    """A registry name's keys, then the name as a list writes it with a character dropped (韩馨怡 → 韩怡
    or 韩馨). Cached: a million residents share far fewer names, and the keys were a fifth of a run."""
    keys = name_keys(raw)
    return (*keys, *name_drops(keys[0]), name_given(keys[0]))


# The registry's columns from each resident's raw values, made a column at a time in DuckDB: a tuple per
# resident, then turned into columns for splink, took 11–12 s of a million residents' run; this takes
# 7.5–8 (most of it the name keys and reading the residents' attributes).
_REGISTRY_SQL = """
SELECT
    unique_id, name, name_py, name_fpy, name_shape, name_sorted, name_short1, name_short2, name_given,
    name_first, NULL::VARCHAR AS name_pattern, name_ends,
    nullif(doc, '') AS id_full,
    nullif(left(doc, 4), '') AS id_head4,
    nullif(left(doc, 6), '') AS id_region,
    CASE WHEN doc <> '' THEN substr(doc, 7, 8) ELSE birth END AS id_birth,
    nullif(right(doc, 4), '') AS id_last4,
    nullif(left(doc, 14), '') AS id_first14,
    nullif(substr(doc, 11), '') AS id_tail8,
    CASE WHEN doc <> '' THEN left(doc, 10) || right(doc, 4) END AS id_ends,
    CASE WHEN doc <> '' THEN left(doc, 6) || array_to_string(list_sort(string_split(substr(doc, 7), '')), '')
    END AS id_sorted,
    NULL::VARCHAR AS id_pattern,
    phone,
    left(phone, 3) AS phone3,
    left(phone, 7) AS phone7,
    right(phone, 4) AS phone4,
    right(phone, 8) AS phone_tail8,
    left(phone, 3) || array_to_string(list_sort(string_split(substr(phone, 4), '')), '') AS phone_sorted,
    NULL::VARCHAR AS phone_pattern,
    CASE WHEN raw_phone <> '' AND count(*) OVER (PARTITION BY raw_phone) > 1 THEN NULL ELSE phone END
        AS phone_unique,
    phone_household, compound, community, building, building_num, room, building_id,
    false AS sparse
FROM raw
ORDER BY row
"""


def registry_table(residents: list[ResidentRow]):
    """The registry as an Arrow table of COLUMNS (see ``_REGISTRY_SQL``)."""
    import duckdb
    import pyarrow as pa

    keys: dict[str, tuple] = {}
    for r in residents:
        if r.name not in keys:
            found = _resident_name(r.name)
            keys[r.name] = (*found, found[0][0] if found[0] else None, name_ends(found[0]))
    named = [keys[r.name] for r in residents]
    name_columns = ("name", "name_py", "name_fpy", "name_shape", "name_sorted", "name_short1",
                    "name_short2", "name_given", "name_first", "name_ends")  # fmt: skip
    string = pa.string()
    data = {"row": pa.array(range(len(residents)), pa.int64())}
    data["unique_id"] = pa.array([r.id for r in residents], pa.int64())
    for index, column in enumerate(name_columns):
        data[column] = pa.array([k[index] for k in named], string)
    data["doc"] = pa.array([d if len(d := r.document_number) == 18 else "" for r in residents], string)
    # The birth date stands in for the ID's only where there is no whole ID.
    births = [
        b.isoformat().replace("-", "") if len(r.document_number) != 18 and (b := r.birth_date) else None
        for r in residents
    ]
    data["birth"] = pa.array(births, string)
    data["raw_phone"] = pa.array([r.phone for r in residents], string)
    data["phone"] = pa.array([p if (p := r.phone) and p.isdigit() else None for r in residents], string)
    data["phone_household"] = pa.array([r.household_id for r in residents], pa.int64())
    data["compound"] = pa.array([r.compound or None for r in residents], string)
    data["community"] = pa.array([r.community or None for r in residents], string)
    data["building"] = pa.array([r.building or None for r in residents], string)
    data["building_num"] = pa.array(
        [int(n) if (n := r.building) and n.isdigit() else None for r in residents], pa.int64()
    )
    data["room"] = pa.array([r.room or None for r in residents], string)
    data["building_id"] = pa.array([r.building_id for r in residents], pa.int64())
    con = duckdb.connect()
    try:
        con.register("raw", pa.table(data))
        return con.sql(_REGISTRY_SQL).to_arrow_table()
    finally:
        con.close()


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
    masked = None if phone else masked_phone(line.phone)
    rec.update(phone_columns(phone, masked))
    rec["phone_household"] = households_by_phone.get(phone) if phone else None
    addr = reader.read(line.address)
    rec["compound"] = addr.compound
    rec["community"] = addr.community
    rec["building"] = addr.building
    rec["building_num"] = int(addr.building) if addr.building and addr.building.isdigit() else None
    rec["room"] = addr.room
    rec["building_id"] = (
        building_ids.get((addr.compound, addr.building)) if addr.compound and addr.building else None
    )
    # A line with only a name, or a name and a building of no named compound (金水区5幢附近: building
    # numbers repeat in every compound, and a vague list often has the wrong one), pairs by name alone.
    rec["sparse"] = not (parts.present or phone or masked or (addr.building and addr.compound))
    return FeedFeatures(record=rec, id=parts, phone=phone, address=addr)
