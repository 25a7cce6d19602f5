"""One line of Chinese per decision: 姓名“韩馨一”与登记“韩馨怡”同音；楼号26→27；手机号相符."""

from __future__ import annotations

from gridroll.lib import idnumber, names
from gridroll.lib.names import mask_name
from gridroll.reconcile.features import FeedFeatures, ResidentRow


def _first_difference(a: str, b: str) -> int | None:
    """1-based position of the first differing character."""
    return next((i + 1 for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), None)


# How a name's comparison level reads in a line's explanation ({w}: as the list wrote it; {r}: registered).
_NAME_REASONS = {
    "exact": "姓名相符",
    "same_sound": "姓名“{w}”与登记“{r}”同音",
    "same_shape": "姓名“{w}”与登记“{r}”字形相近",
    "swapped": "姓名“{w}”与登记“{r}”字序颠倒",
    "similar_sound": "姓名“{w}”与登记“{r}”读音相近",
    "masked": "姓名（打码“{w}”）可见的字和字数相符",
    "masked_surname": "姓名（打码“{w}”）仅姓氏相符",
}


def name_reason(level: str, written: str, registered: str) -> str:
    written = names.clean(written)
    if level in ("dropped", "one_char"):
        if len(written) != len(registered):
            how = "少一个字" if len(written) < len(registered) else "多一个字"
            return f"姓名“{written}”比登记“{registered}”{how}"
        return f"姓名“{written}”与登记“{registered}”差一个字"
    if level == "different":
        return f"姓名不同（登记为“{mask_name(registered)}”）"
    return _NAME_REASONS.get(level, "").format(w=written, r=registered)


def id_reason(level: str, feat: FeedFeatures, registered: str) -> str:
    if level == "exact":
        return "身份证号相符"
    if level == "one_digit":
        where = _first_difference(feat.id.full or "", registered)
        why = "校验位不符" if feat.id.problem == "bad_check_digit" else "出生日期不存在"
        if feat.id.problem not in ("bad_check_digit", "bad_birth_date"):
            why = "号码有误"
        place = f"第{where}位" if where else "一位"
        return f"身份证号{why}，与登记仅{place}不同，应为录入错误"
    if level == "two_digits":
        return "身份证号与登记有两位不同（可能是两位数字颠倒）"
    if level in ("masked", "masked_parts"):
        return "身份证号（打码）可见的前后几位相符"
    if level == "same_birth":
        return f"身份证号不同，但出生日期相符（登记为{idnumber.mask(registered)}）"
    if level == "different":
        return "身份证号不同" if registered else ""
    return ""


def phone_reason(level: str, feat: FeedFeatures, r: ResidentRow, family: list[ResidentRow]) -> str:
    if level == "exact":
        return "手机号相符"
    if level == "household":
        owner = next((m for m in family if m.phone == feat.phone and m.id != r.id), None)
        who = f"同户“{mask_name(owner.name)}”" if owner else "同户家人"
        return f"手机号是{who}的号码"
    if level == "one_digit":
        where = _first_difference(feat.phone, r.phone)
        return f"手机号与登记仅第{where}位不同" if where else "手机号与登记仅一位不同"
    if level == "masked":
        return "手机号（打码）可见的前三位和后四位相符"
    if level == "two_digits":
        return "手机号与登记有两位不同"
    if level == "different":
        return "手机号不同"
    return ""


def address_reason(level: str, feat: FeedFeatures, r: ResidentRow) -> str:
    a = feat.address
    if level == "household":
        return "住址相符" if a.compound or not r.compound else "楼号、房号相符（名单未写小区）"
    if level == "near":
        parts = []
        if a.building and a.building != r.building:
            parts.append(f"楼号{a.building}→{r.building}")
        if a.room and a.room != r.room:
            parts.append(f"房号{a.room}→{r.room}")
        return "；".join(parts) or "住址相近"
    if level == "building":
        return "名单只写到楼栋，楼栋相符"
    if level == "building_other_room":
        return f"同一楼栋，房号{a.room}→{r.room}"
    if level == "compound":
        return "名单只写到小区，小区相符"
    if level == "compound_other_building":
        return f"同一小区，楼号{a.building}→{r.building}"
    if level == "different":
        return "住址不同"
    return ""


def explain(levels: dict[str, str], feat: FeedFeatures, line_name: str, r: ResidentRow, family) -> str:
    parts = [
        name_reason(levels.get("name", "null"), line_name, r.name),
        id_reason(levels.get("id", "null"), feat, r.document_number),
        phone_reason(levels.get("phone", "null"), feat, r, family),
        address_reason(levels.get("address", "null"), feat, r),
    ]
    return "；".join(p for p in parts if p)
