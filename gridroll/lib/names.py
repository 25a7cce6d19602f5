"""Chinese personal names as keys that survive the ways people mistype them.

* ``sound_key``: toneless pinyin, one syllable per character. 韩馨一 and 韩馨怡 are both ``han xin yi``;
  张/章, 王/汪 and 徐/许 sound alike, so those surname confusions are same-sound too. pypinyin reads some
  surnames as ordinary words (单 dān, 曾 céng, 解 jiě, 区 qū, 仇 chóu, 朴 pǔ, 查 chá, 乐 lè); the first
  character of a name is read from ``SURNAME_READINGS`` when it is there.
* ``fuzzy_sound_key``: the same with the pairs many speakers merge (zh/z, ch/c, sh/s, n/l, -ng/-n), for a
  list typed from a phone call.
* ``shape_key``: the four-corner code (四角号码) of each character, so characters that look alike (己/已,
  未/末) give the same key.

Every key is cached per character: a million names take seconds, not the half-minute pypinyin needs
name by name.
"""

from __future__ import annotations

import re
from functools import cache

from pypinyin import Style, lazy_pinyin

# Readings of characters when they are a surname (百家姓), where pypinyin's default is the word reading.
SURNAME_READINGS = {
    "单": "shan",
    "曾": "zeng",
    "解": "xie",
    "区": "ou",
    "仇": "qiu",
    "朴": "piao",
    "查": "zha",
    "乐": "yue",
    "盖": "ge",
    "缪": "miao",
    "尉": "yu",
    "秘": "bi",
    "句": "gou",
    "种": "chong",
    "燕": "yan",
    "覃": "qin",
    "员": "yun",
}
_FUZZY = (
    (re.compile(r"\b(zh|ch|sh)"), lambda m: m.group(1)[0]),
    (re.compile(r"\bl"), lambda m: "n"),
    (re.compile(r"ng\b"), lambda m: "n"),
)
_NAME_NOISE = re.compile(r"[\s·•.\-_*()（）]")


def clean(name: str) -> str:
    """Drop spaces and punctuation that lists put inside names ('王 明', '阿卜杜·热合曼')."""
    return _NAME_NOISE.sub("", name or "")


@cache
def char_sound(ch: str) -> str:
    return lazy_pinyin(ch, style=Style.NORMAL, errors=lambda c: c.lower())[0]


@cache
def char_shape(ch: str) -> str:
    code = _four_corner().query(ch)
    return code if code else ch


@cache
def _four_corner():  # type: ignore[no-untyped-def]
    from four_corner_method import FourCornerMethod

    return FourCornerMethod()


def _fuzzy(syllable: str) -> str:
    for pattern, repl in _FUZZY:
        syllable = pattern.sub(repl, syllable)
    return syllable


@cache
def _char_keys(ch: str, first: bool) -> tuple[str, str, str]:
    """(sound, fuzzy sound, shape) of one character; a name's first character is read as a surname."""
    sound = (SURNAME_READINGS.get(ch) if first else None) or char_sound(ch)
    return sound, _fuzzy(sound), char_shape(ch)


def char_keys(ch: str) -> tuple[str, str, str]:
    """(sound, fuzzy sound, shape) of a character inside a name (not read as a surname)."""
    return _char_keys(ch, False)


def keys(name: str) -> tuple[str, str, str]:
    """(sound_key, fuzzy_sound_key, shape_key) at once, from per-character caches."""
    if not name:
        return "", "", ""
    parts = [_char_keys(name[0], True), *(_char_keys(ch, False) for ch in name[1:])]
    return (
        " ".join(p[0] for p in parts),
        " ".join(p[1] for p in parts),
        " ".join(p[2] for p in parts),
    )


def sound_key(name: str) -> str:
    """'单田芳' → 'shan tian fang'; '' for an empty name."""
    return keys(name)[0]


def fuzzy_sound_key(name: str) -> str:
    """'张丽娜' and '赞莉拉' both become 'zan ni na'."""
    return keys(name)[1]


def shape_key(name: str) -> str:
    """Four-corner codes joined: '王己明' and '王已明' give one key."""
    return keys(name)[2]


def chars_sorted(name: str) -> str:
    """'李明华' and '李华明' (a swapped given name) give one key."""
    return "".join(sorted(name))


def mask_name(name: str) -> str:
    """王*明 / 王*: enough for a sampler to confirm, not enough to identify."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]
