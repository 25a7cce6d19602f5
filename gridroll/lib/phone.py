"""Phone numbers as people type them: +86, dashes, spaces, and numbers that Excel stored as numbers."""

from __future__ import annotations

import re

import phonenumbers

from gridroll.lib.text import cell_text, halfwidth

# Mainland mobile segments that phonenumbers accepts as valid (checked in tests/test_phone.py).
_PLAIN_MOBILE = re.compile(r"^1(?:3\d|5[0-35-9]|8\d|7[35-8]|9[0-35-9]|66)\d{8}$")


class PhoneError(ValueError):
    code = "bad_phone"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def normalise(raw: object) -> str:
    """Return digits only ('13812345678', '06358281234'); '' for an empty cell; raise PhoneError."""
    text = cell_text(raw)
    # A number that went through Excel and back to text: '13812345678.0'.
    text = re.sub(r"^(\d+)\.0+$", r"\1", text)
    if not text:
        return ""
    if _PLAIN_MOBILE.match(text):
        # Fast path for the usual cell, a bare mobile number in an allocated segment (an import has
        # 100,000 of them); everything else goes through phonenumbers.
        return text
    try:
        parsed = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        raise PhoneError(f"无法识别的电话号码“{text}”") from None
    if parsed.country_code != 86:
        # Keep foreign numbers in international form; they are real (e.g. a Hong Kong resident).
        if phonenumbers.is_possible_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        raise PhoneError(f"无法识别的电话号码“{text}”")
    if not phonenumbers.is_valid_number(parsed):
        raise PhoneError(f"电话号码“{text}”位数或号段不对（手机号为11位）")
    national = str(parsed.national_number)
    if phonenumbers.number_type(parsed) == phonenumbers.PhoneNumberType.MOBILE:
        return national
    return "0" + national


def as_written(raw: object, max_length: int = 40) -> str:
    """A number ``normalise`` refuses, kept as written for a person to check: only formatting goes
    (spaces, dashes, brackets, +86/0086, Excel's '.0'), so that a list carrying the same number still
    finds it by its digits. A cell that is not digits at all is kept as text, cut to ``max_length``."""
    text = halfwidth(cell_text(raw)).strip()
    text = re.sub(r"^(\d+)\.0+$", r"\1", text)
    compact = re.sub(r"[\s\-()（）]", "", text)
    compact = re.sub(r"^(?:\+86|0086)(?=\d{7,})", "", compact)
    if compact.isdigit():
        return compact[:max_length]
    return re.sub(r"\s+", " ", text)[:max_length]


def mask(phone: str) -> str:
    """138****5678."""
    if len(phone) < 7:
        return phone
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
