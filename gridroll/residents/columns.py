"""The registry table's columns: the template's Chinese headers and the variants real tables use."""

from __future__ import annotations

import re
from dataclasses import dataclass

from gridroll.lib.text import halfwidth


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # the template's header
    aliases: tuple[str, ...] = ()


COLUMNS: tuple[Column, ...] = (
    Column("district", "区", ("区县", "县区", "所属区", "district")),
    Column(
        "subdistrict",
        "街道/镇",
        ("街道", "镇", "乡镇", "镇街", "街道办", "乡镇街道", "所属街道", "subdistrict", "town"),
    ),
    Column("community", "社区/村", ("社区", "村", "村居", "社区村", "所属社区", "community", "village")),
    Column("grid", "网格", ("网格名称", "所属网格", "网格名", "grid")),
    Column("compound", "小区", ("小区名称", "小区名", "compound")),
    Column("building", "楼栋", ("楼号", "楼栋号", "楼", "栋", "楼幢", "building")),
    Column("entrance", "单元", ("单元号", "entrance", "unit")),
    Column("room", "房号", ("室", "门牌号", "房间号", "户号", "room")),
    Column(
        "address", "地址", ("住址", "现住址", "居住地址", "详细地址", "家庭住址", "现居住地址", "address")
    ),
    Column("name", "姓名", ("名字", "name")),
    Column("sex", "性别", ("sex", "gender")),
    Column("document_type", "证件类型", ("document_type", "doc_type", "id_type")),
    Column(
        "document_number",
        "证件号码",
        (
            "身份证号",
            "身份证号码",
            "身份证",
            "证件号",
            "公民身份号码",
            "id_number",
            "document_number",
            "doc_number",
        ),
    ),
    Column(
        "birth_date",
        "出生日期",
        ("出生年月日", "出生年月", "生日", "birth_date", "date_of_birth", "birthday"),
    ),
    Column(
        "phone", "手机号", ("手机", "手机号码", "联系电话", "电话", "电话号码", "联系方式", "phone", "mobile")
    ),
    Column("relation", "与户主关系", ("关系", "户主关系", "relation")),
    Column(
        "residence_type",
        "居住类型",
        ("人员类型", "人口类型", "户籍类型", "居住性质", "居住状态类型", "人员类别", "residence_type"),
    ),
    Column("status", "人员状态", ("状态", "在住状态", "status")),
    Column("special_needs", "特殊情况", ("特殊人群", "特殊需求", "special_needs")),
    Column("note", "备注", ("note", "remark", "remarks")),
)

# Columns registry tables carry that the registry does not keep: read past and listed as "not imported"
# (as is any header not known at all). Only a missing required column refuses a file.
KNOWN_UNUSED = (
    "序号",
    "编号",
    "no",
    "no.",
    "#",
    "民族",
    "工作单位",
    "单位",
    "政治面貌",
    "文化程度",
    "学历",
    "婚姻状况",
    "职业",
    "籍贯",
    "户籍地址",
    "户籍地",
    "户籍所在地",
    "宗教信仰",
    "兵役状况",
    "血型",
    "身高",
    "年龄",
    "是否接种",
)
# The reason columns of our own rejects and "to check" files: skipped without a word, so that a
# corrected file can be imported again as it is.
REJECT_HEADERS = ("原行号", "错误列", "原因代码", "原因")
WARNING_HEADERS = ("原行号", "待核实列", "原因代码", "原因")
REPORT_HEADERS = (*REJECT_HEADERS, *WARNING_HEADERS, "row", "reason", "reason_code")
IGNORED = (*KNOWN_UNUSED, *REPORT_HEADERS)

BY_KEY = {c.key: c for c in COLUMNS}
TEMPLATE_KEYS = tuple(c.key for c in COLUMNS if c.key != "address")
AREA_KEYS = ("district", "subdistrict", "community", "grid")


def header_key(text: str) -> str:
    """'身份证号码（必填）*' → '身份证号码', lower-cased, without spaces."""
    text = halfwidth(text).lower().replace(" ", "")
    text = re.sub(r"[（(][^）)]*[)）]$", "", text)
    return text.strip("*：: ")


_LOOKUP: dict[str, str] = {}
for _c in COLUMNS:
    for _name in (_c.header, *_c.aliases):
        _LOOKUP[header_key(_name)] = _c.key
_IGNORED = {header_key(n) for n in IGNORED}
_REPORT = {header_key(n) for n in REPORT_HEADERS}


def match_header(text: str) -> str | None:
    """The column key for a header cell, '' for a known column we ignore, None when unknown."""
    key = header_key(text)
    if key in _IGNORED:
        return ""
    return _LOOKUP.get(key)


def is_report_column(text: str) -> bool:
    """A reason column of our own rejects or "to check" file (not worth listing as not imported)."""
    return header_key(text) in _REPORT


def expected_headers() -> str:
    return "、".join(c.header for c in COLUMNS)


SEX_VALUES = {"男": "M", "女": "F", "m": "M", "f": "F", "male": "M", "female": "F", "男性": "M", "女性": "F"}
DOCUMENT_TYPE_VALUES = {
    "居民身份证": "id_card",
    "身份证": "id_card",
    "id_card": "id_card",
    "idcard": "id_card",
    "护照": "passport",
    "passport": "passport",
    "港澳居民来往内地通行证": "hk_macau",
    "港澳通行证": "hk_macau",
    "港澳居民居住证": "hk_macau",
    "回乡证": "hk_macau",
    "hk_macau": "hk_macau",
    "台湾居民来往大陆通行证": "taiwan",
    "台胞证": "taiwan",
    "台湾居民居住证": "taiwan",
    "taiwan": "taiwan",
    "无": "none",
    "无证件": "none",
    "none": "none",
}
RESIDENCE_TYPE_VALUES = {
    "户籍": "registered",
    "户籍人口": "registered",
    "registered": "registered",
    "常住": "permanent",
    "常住人口": "permanent",
    "permanent": "permanent",
    "暂住": "temporary",
    "暂住人口": "temporary",
    "流动": "temporary",
    "流动人口": "temporary",
    "租户": "temporary",
    "temporary": "temporary",
}
STATUS_VALUES = {
    "在住": "present",
    "在家": "present",
    "正常": "present",
    "present": "present",
    "外出": "away",
    "外出务工": "away",
    "不在家": "away",
    "away": "away",
    "迁出": "moved_out",
    "已搬离": "moved_out",
    "搬离": "moved_out",
    "moved_out": "moved_out",
    "死亡": "deceased",
    "已故": "deceased",
    "去世": "deceased",
    "deceased": "deceased",
}
SPECIAL_NEEDS_VALUES = {
    "卧床": "is_bedridden",
    "行动不便": "is_bedridden",
    "bedridden": "is_bedridden",
    "独居": "is_living_alone",
    "独居老人": "is_living_alone",
    "living_alone": "is_living_alone",
    "残疾": "has_disability",
    "残疾人": "has_disability",
    "disability": "has_disability",
}
# What the export writes, so that export → import is a no-op.
SEX_LABELS = {"M": "男", "F": "女"}
DOCUMENT_TYPE_LABELS = {
    "id_card": "居民身份证",
    "passport": "护照",
    "hk_macau": "港澳居民来往内地通行证",
    "taiwan": "台湾居民来往大陆通行证",
    "none": "无",
}
RESIDENCE_TYPE_LABELS = {"registered": "户籍", "permanent": "常住", "temporary": "暂住"}
STATUS_LABELS = {"present": "在住", "away": "外出", "moved_out": "迁出", "deceased": "死亡"}
SPECIAL_NEEDS_LABELS = {"is_bedridden": "卧床", "is_living_alone": "独居", "has_disability": "残疾"}
