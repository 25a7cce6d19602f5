"""Text normalisation that only removes formatting, never meaning."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")

CHINESE_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
CHINESE_UNITS = {"十": 10, "百": 100, "千": 1000}


# What a spreadsheet may take for the start of a formula (OWASP, "CSV injection"), full-width forms
# included: a cell of user text starting so is written as text (gridroll/core/exports.py), and a name
# starting so is refused where it is typed or imported.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")


def starts_like_formula(value: str) -> bool:
    """True when ``value`` starts as a formula would: ``=HYPERLINK(…)``, ``+1+1``, ``@SUM(…)``, a tab.

    A lone ``-`` or ``+`` and plain numbers (``-5``, ``+8613812345678``) are not: nothing can hide in them.
    """
    if not value or not value.startswith(FORMULA_PREFIXES):
        return False
    return value not in ("-", "+") and not _PLAIN_NUMBER.fullmatch(value)


def halfwidth(value: str) -> str:
    """Full-width digits, letters and spaces to ASCII (NFKC), trimmed; inner runs of spaces to one."""
    # Fast path: an import calls this for every cell, and most cells need nothing.
    if not unicodedata.is_normalized("NFKC", value):
        value = unicodedata.normalize("NFKC", value)
    if "  " in value or "\t" in value or "\n" in value or "\r" in value:
        value = _SPACES.sub(" ", value)
    return value.strip()


def cell_text(value: object) -> str:
    """A spreadsheet cell as text. Integral floats lose their ``.0`` (calamine returns numbers as floats)."""
    if value is None:
        return ""
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    return halfwidth(str(value))


def chinese_to_int(text: str) -> int | None:
    """三 → 3, 十二 → 12, 三十九 → 39, 二百零五 → 205; None when ``text`` is not a Chinese numeral."""
    if not text or any(ch not in CHINESE_DIGITS and ch not in CHINESE_UNITS for ch in text):
        return None
    total, digit = 0, None
    for ch in text:
        if ch in CHINESE_DIGITS:
            digit = CHINESE_DIGITS[ch]
        else:
            unit = CHINESE_UNITS[ch]
            total += (1 if digit is None else digit) * unit
            digit = None
    if digit is not None:
        total += digit
    return total


def number_key(text: str) -> str:
    """Digits of a building, entrance or room written any way: '三' → '3', '03' → '3', 'B' → 'B'."""
    text = halfwidth(text).upper()
    if text.isdigit():
        return str(int(text))
    value = chinese_to_int(text)
    if value is not None:
        return str(value)
    return text


def natural_key(text: str) -> list[tuple[int, int, str]]:
    """'2' < '10' < 'A': rooms and buildings in the order people walk them."""
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", text) if p]
