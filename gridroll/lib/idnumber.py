"""Resident ID numbers (居民身份证号码, GB 11643-1999): normalise, validate, mask.

python-stdnum's ``cn.ric.is_valid`` also requires the county code to have existed in the birth year,
which rejects real older residents whose IDs carry codes created later (371502 dates from 1998), so
we check length, check digit and birth date strictly and treat the region as a hint only.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from stdnum.cn import ric

from gridroll.lib.text import halfwidth

_SCIENTIFIC = re.compile(r"^\d(\.\d+)?[eE]\+?\d+$")


class IDNumberError(ValueError):
    """A document number that cannot be accepted. ``code`` is stable, ``message`` is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class IDInfo:
    number: str
    birth_date: datetime.date
    sex: str  # "M" or "F"
    region: str


def looks_mangled_by_excel(raw: object) -> bool:
    """True when a spreadsheet kept an ID as a number: 18 digits do not fit a float, so digits are lost."""
    if isinstance(raw, float):
        return not (raw.is_integer() and len(str(int(raw))) == 15)
    if isinstance(raw, int):
        return len(str(raw)) not in (15, 18)
    return bool(_SCIENTIFIC.match(halfwidth(str(raw)).replace(" ", "")))


def normalise(raw: str) -> str:
    """Only formatting: full-width characters, spaces and dashes inside, a lower-case x."""
    text = halfwidth(raw).replace(" ", "").replace("-", "").upper()
    return text


def check_digit(first17: str) -> str:
    # stdnum's calc_check_digit expects all 18 characters and ignores the last one.
    return str(ric.calc_check_digit(first17 + "0"))


def upgrade_15(number: str) -> str:
    """A 15-digit legacy ID (before 1999) to 18: insert the century '19' and append the check digit."""
    first17 = number[:6] + "19" + number[6:]
    return first17 + check_digit(first17)


def parse(raw: str, today: datetime.date | None = None) -> IDInfo:
    """Validate a resident ID, return its number (18 characters), birth date and sex.

    Raises IDNumberError with code ``bad_id_format``, ``bad_check_digit`` or ``bad_birth_date``.
    """
    number = normalise(raw)
    if re.fullmatch(r"\d{15}", number):
        number = upgrade_15(number)
    if not re.fullmatch(r"\d{17}[\dX]", number):
        raise IDNumberError("bad_id_format", "身份证号码应为18位（最后一位可为X）或15位旧号码")
    try:
        birth = datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise IDNumberError("bad_birth_date", f"身份证号码中的出生日期 {number[6:14]} 不存在") from None
    today = today or datetime.date.today()
    if birth > today or birth.year < 1880:
        raise IDNumberError("bad_birth_date", f"身份证号码中的出生日期 {birth.isoformat()} 不可能")
    if check_digit(number[:17]) != number[17]:
        raise IDNumberError("bad_check_digit", "身份证号码校验位错误，请核对是否有数字录错")
    sex = "M" if int(number[16]) % 2 else "F"
    return IDInfo(number=number, birth_date=birth, sex=sex, region=number[:6])


def mask(number: str) -> str:
    """3715**********1234: the province and city stay readable for staff, the rest does not."""
    if not number:
        return ""
    if len(number) <= 8:
        return number[:1] + "*" * (len(number) - 2) + number[-1:]
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def make(region: str, birth: datetime.date, sequence: int, sex: str) -> str:
    """Build a valid ID (for demo and benchmark data). ``sequence`` 0–99; the sex digit is chosen."""
    seq = f"{sequence % 100:02d}"
    sex_digit = (sequence // 100) % 5 * 2 + (1 if sex == "M" else 0)
    first17 = f"{region}{birth:%Y%m%d}{seq}{sex_digit}"
    return first17 + check_digit(first17)
