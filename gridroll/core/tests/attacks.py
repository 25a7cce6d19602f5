"""Hostile workbooks, written by hand as an attacker would (no spreadsheet library involved)."""

from __future__ import annotations

import io
import zipfile
from xml.sax.saxutils import escape

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
)


def sheet_xml(cells: dict[str, str], dimension: str | None = None, padding: int = 0) -> str:
    """A worksheet with inline-string ``cells`` ({"A1": "姓名"}), an optional declared dimension and
    ``padding`` spaces of (valid) whitespace inside it."""
    rows: dict[int, list[str]] = {}
    for ref, value in cells.items():
        number = int("".join(ch for ch in ref if ch.isdigit()))
        rows.setdefault(number, []).append(f'<c r="{ref}" t="inlineStr"><is><t>{escape(value)}</t></is></c>')
    body = "".join(f'<row r="{n}">{"".join(cs)}</row>' for n, cs in sorted(rows.items()))
    declared = f'<dimension ref="{dimension}"/>' if dimension else ""
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"{declared}{' ' * padding}<sheetData>{body}</sheetData></worksheet>"
    )


def workbook(sheet: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
    return out.getvalue()


REGISTRY_HEADER = {"A1": "姓名", "B1": "身份证号", "C1": "楼栋", "D1": "房号", "E1": "网格"}
RESULTS_HEADER = {"A1": "管码", "B1": "结果"}


def dimension_bomb(header: dict[str, str] = REGISTRY_HEADER) -> bytes:
    """~1.5 KB: a header row, and a sheet that declares the whole grid A1:XFD1048576."""
    return workbook(sheet_xml(header, dimension="A1:XFD1048576"))


def sparse_bomb(header: dict[str, str] = REGISTRY_HEADER) -> bytes:
    """~1.6 KB: a header row, and one real cell in the last cell of the grid. A reader that builds the
    sheet as a dense grid asks for 17 billion cells (half a terabyte)."""
    return workbook(sheet_xml({**header, "XFD1048576": "x"}, dimension="A1:XFD1048576"))


def zip_bomb(megabytes: int = 40) -> bytes:
    """A valid workbook whose sheet inflates ~1000 times: megabytes of whitespace in the XML."""
    return workbook(sheet_xml(REGISTRY_HEADER, padding=megabytes * 1024 * 1024))
