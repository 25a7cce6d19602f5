"""Household addresses written the way people write them.

'盛世佳苑3号楼2单元501室', '盛世佳苑 3#2-501', '3栋二单元501', '三号楼2-501' and '3-2-501' all name
building 3, entrance 2, room 501. Building numbers come as 3号楼 / 3栋 / 3# / 三号楼 / 3幢 / 3座.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gridroll.lib.text import halfwidth, number_key

_NUM = r"\d+|[零〇一二两三四五六七八九十百]+"
_BUILDING = re.compile(
    rf"(?P<b>{_NUM}|[A-Za-z]\d*)\s*(?:号楼|号楼栋|栋楼|栋|幢|座|#|号(?=\s*(?:{_NUM})\s*(?:单元|-)))"
)
_ENTRANCE_ROOM = re.compile(
    rf"^\s*(?:(?P<e>{_NUM})\s*(?:单元|-)\s*)?(?P<r>[A-Za-z]?\d+[A-Za-z]?)\s*(?:室|号|户)?\s*$"
)
_DASHED = re.compile(r"^(?P<c>.*?)\s*(?P<b>\d+)\s*-\s*(?P<e>\d+)\s*-\s*(?P<r>\d+)\s*(?:室|号)?\s*$")
_COMPOUND_SUFFIX = re.compile(r"(小区|社区)$")


class AddressError(ValueError):
    code = "bad_address"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Address:
    compound: str
    building: str  # as a key: '3', '39', 'B'
    entrance: str  # '' when the building has none
    room: str


def building_key(text: str) -> str:
    """'3号楼', '3栋', '3#', '三号楼', '3幢', '03' → '3'. Anything else is kept, upper-cased."""
    text = halfwidth(text).replace(" ", "")
    text = re.sub(r"(号楼栋|号楼|栋楼|栋|幢|座|#|号)$", "", text)
    return number_key(text)


def entrance_key(text: str) -> str:
    text = halfwidth(text).replace(" ", "")
    return number_key(re.sub(r"单元$", "", text))


def room_key(text: str) -> str:
    text = halfwidth(text).replace(" ", "")
    text = re.sub(r"(室|号|户)$", "", text)
    return number_key(text) if text.isdigit() else text.upper()


def compound_key(text: str) -> str:
    """Compare compounds without a trailing 小区: 盛世佳苑小区 = 盛世佳苑."""
    return _COMPOUND_SUFFIX.sub("", halfwidth(text).replace(" ", ""))


_COMMUNITY_SUFFIX = re.compile(r"(社区居民委员会|社区居委会|居民委员会|居委会|村民委员会|村委会|社区|村)$")


def community_key(text: str) -> str:
    """Compare communities without what follows the name: 金水社区 = 金水社区居委会 = 金水."""
    return _COMMUNITY_SUFFIX.sub("", halfwidth(text or "").replace(" ", ""))


def building_label(key: str) -> str:
    return f"{key}号楼" if key.isdigit() else key


def household_label(compound: str, building: str, entrance: str, room: str) -> str:
    """盛世佳苑 3号楼 2单元 501: the way Chinese users write an address."""
    parts = [compound, building_label(building)]
    if entrance:
        parts.append(f"{entrance}单元")
    parts.append(room)
    return " ".join(p for p in parts if p)


def parse(text: str) -> Address:
    """Split one address cell into compound, building, entrance and room; raise AddressError."""
    text = halfwidth(text)
    if not text:
        raise AddressError("地址为空")
    dashed = _DASHED.match(text)
    if dashed:
        return Address(
            compound=dashed["c"].strip(),
            building=number_key(dashed["b"]),
            entrance=number_key(dashed["e"]),
            room=room_key(dashed["r"]),
        )
    found = None
    for found in _BUILDING.finditer(text):
        rest = text[found.end() :]
        if _ENTRANCE_ROOM.match(rest):
            break
    else:
        found = None
    if found is None:
        raise AddressError(f"无法从地址“{text}”中识别楼栋和房号（例：盛世佳苑3号楼2单元501）")
    tail = _ENTRANCE_ROOM.match(text[found.end() :])
    assert tail is not None
    return Address(
        compound=text[: found.start()].strip(),
        building=number_key(found["b"]),
        entrance=number_key(tail["e"]) if tail["e"] else "",
        room=room_key(tail["r"]),
    )


_FLOOR_ROOM = re.compile(r"^(?P<f>\d{1,2})(?P<p>\d{2})$")


def floor_and_flat(room: str) -> tuple[int | None, str]:
    """Where a room sits in its building, from its number as Chinese buildings number them: '501' →
    (5, '01'), '1203' → (12, '03'), '0802' → (8, '02'). (None, room) for a room that names no floor
    ('1' in a village, 'A', '101A')."""
    found = _FLOOR_ROOM.match(halfwidth(room).strip())
    if found is None or int(found["f"]) == 0:
        return None, room
    return int(found["f"]), found["p"]
