"""Write residents in the import template's format, so that export → import changes nothing."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from openpyxl import Workbook
from openpyxl.worksheet.datavalidation import DataValidation

from gridroll.areas.models import Area, Level
from gridroll.core import exports
from gridroll.residents import columns as cols
from gridroll.residents.models import Resident

_SLOT_OF_LEVEL = {
    Level.DISTRICT: "district",
    Level.SUBDISTRICT: "subdistrict",
    Level.TOWN: "subdistrict",
    Level.COMMUNITY: "community",
    Level.VILLAGE: "community",
    Level.GRID: "grid",
}


def template_headers() -> list[str]:
    return [cols.BY_KEY[k].header for k in cols.TEMPLATE_KEYS]


def resident_rows(residents: Iterable[Resident]) -> Iterator[list[str]]:
    """One row per resident, every cell text (ID and phone numbers must never become numbers)."""
    areas = {a.id: a for a in Area.objects.only("id", "name", "level", "path")}
    slots_cache: dict[int, dict[str, str]] = {}
    for r in residents:
        household = r.household
        building = household.building
        slots = slots_cache.get(building.grid_id)
        if slots is None:
            slots = {}
            for part in areas[building.grid_id].path.strip("/").split("/"):
                area = areas[int(part)]
                slots[_SLOT_OF_LEVEL[area.level]] = area.name
            slots_cache[building.grid_id] = slots
        special = "、".join(label for flag, label in cols.SPECIAL_NEEDS_LABELS.items() if getattr(r, flag))
        yield [
            slots.get("district", ""),
            slots.get("subdistrict", ""),
            slots.get("community", ""),
            slots.get("grid", ""),
            building.compound,
            building.number,
            household.entrance,
            household.room,
            r.name,
            cols.SEX_LABELS.get(r.sex, ""),
            cols.DOCUMENT_TYPE_LABELS[r.document_type],
            r.document_number,
            r.birth_date.isoformat() if r.birth_date else "",
            r.phone,
            r.relation,
            # An import may have kept a value it could not read, unverified: written back as it was.
            cols.RESIDENCE_TYPE_LABELS.get(r.residence_type, r.residence_type),
            cols.STATUS_LABELS[r.status],
            special,
            r.note,
        ]


def export_queryset(queryset):
    return queryset.select_related("household__building").order_by(
        "household__building__grid__path",
        "household__building__compound_key",
        "household__building__number",
        "household__entrance",
        "household__room",
        "id",
    )


def write_xlsx(
    rows: Iterable[list[str]], out, title: str = "居民信息", header: list[str] | None = None
) -> int:
    """The registry's sheet (the template's header unless another is given), through the safe writer."""
    return exports.write_xlsx(rows, out, title=title, header=header or template_headers())


def write_csv(rows: Iterable[list[str]], out, header: list[str] | None = None) -> int:
    return exports.write_csv(rows, out, header=header or template_headers())


def export_residents(queryset, out: str | Path) -> int:
    """Write ``queryset`` to ``out`` (.xlsx or .csv by extension); return the number of residents written."""
    rows = resident_rows(export_queryset(queryset).iterator(chunk_size=2000))
    with open(out, "wb") as handle:
        if str(out).lower().endswith(".csv"):
            return write_csv(rows, handle)
        return write_xlsx(rows, handle)


def template_workbook(out) -> None:
    """The empty template with a sheet explaining each column and its allowed values."""
    book = Workbook()
    sheet = book.active
    sheet.title = "居民信息"
    sheet.append(template_headers())
    for index, key in enumerate(cols.TEMPLATE_KEYS, start=1):
        sheet.cell(row=1, column=index).number_format = "@"
        letter = sheet.cell(row=1, column=index).column_letter
        sheet.column_dimensions[letter].width = 20 if key in ("document_number", "note") else 12
        if key in ("document_number", "phone", "room", "building", "entrance", "birth_date"):
            # Text format for the whole column, so Excel does not turn IDs into numbers and lose digits.
            for row in range(2, 2001):
                sheet.cell(row=row, column=index).number_format = "@"
    sex_col = sheet.cell(row=1, column=cols.TEMPLATE_KEYS.index("sex") + 1).column_letter
    validation = DataValidation(type="list", formula1='"男,女"', allow_blank=True)
    validation.add(f"{sex_col}2:{sex_col}2000")
    sheet.add_data_validation(validation)
    help_sheet = book.create_sheet("填写说明")
    help_sheet.append(["列", "说明", "也可用的表头"])
    notes = {
        "district": "所在区",
        "subdistrict": "街道或镇",
        "community": "社区或村",
        "grid": "网格名称（必填，或能由楼栋唯一确定）",
        "compound": "小区名称，可空",
        "building": "楼栋：3号楼、3栋、3#、三号楼均可",
        "entrance": "单元：2 或 2单元，可空",
        "room": "房号：501 或 501室",
        "name": "姓名（必填）",
        "sex": "男 / 女；有身份证号时可空",
        "document_type": "居民身份证（默认）、护照、港澳居民来往内地通行证、台湾居民来往大陆通行证、无",
        "document_number": "证件号码（请设为文本格式）；15位旧号码自动升为18位；无证件留空",
        "birth_date": "2015-03-02；有身份证号时可空，无证件时必填",
        "phone": "手机号或固话，可空",
        "relation": "与户主关系：户主、配偶、子女、父母……",
        "residence_type": "户籍 / 常住（默认）/ 暂住",
        "status": "在住（默认）/ 外出 / 迁出 / 死亡",
        "special_needs": "卧床、独居、残疾，多项用、分隔",
        "note": "备注",
    }
    for key in cols.TEMPLATE_KEYS:
        column = cols.BY_KEY[key]
        help_sheet.append([column.header, notes[key], "、".join(column.aliases)])
    help_sheet.append(
        [
            "地址",
            "也可不分列，用一个“地址”列：盛世佳苑3号楼2单元501",
            "、".join(cols.BY_KEY["address"].aliases),
        ]
    )
    book.save(out)


def export_residents_response(user, queryset, filename: str, area_path: str):
    """An .xlsx download of ``queryset`` (already scoped by the caller); the export itself is audited."""
    import tempfile
    from urllib.parse import quote

    from django.http import FileResponse

    from gridroll.audit.services import record_event

    # FileResponse closes the file once it is sent.
    handle = tempfile.TemporaryFile()  # noqa: SIM115
    count = write_xlsx(resident_rows(export_queryset(queryset).iterator(chunk_size=2000)), handle)
    handle.seek(0)
    record_event(
        user,
        "registry.export",
        "areas.area",
        area_path=area_path,
        changes={"rows": count},
        reason=filename,
    )
    response = FileResponse(
        handle, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


def export_job(job, out, progress) -> None:
    """The background job (gridroll/jobs): an area's registry as its owner may export it, audited as
    the direct download is (``registry.export``)."""
    from gridroll.accounts.roles import Action
    from gridroll.audit.services import record_event

    area = Area.objects.restrict(job.owner, Action.IMPORT).get(pk=job.params["area"])
    queryset = Resident.objects.restrict(job.owner, Action.IMPORT).filter(
        household__building__grid__path__startswith=area.path
    )
    total = queryset.count()
    progress(0, total)

    def counted(rows: Iterable[list[str]]) -> Iterator[list[str]]:
        for n, row in enumerate(rows, start=1):
            if n % 1000 == 0:
                progress(n, total)
            yield row

    count = write_xlsx(counted(resident_rows(export_queryset(queryset).iterator(chunk_size=2000))), out)
    record_event(
        job.owner,
        "registry.export",
        "areas.area",
        area_path=area.path,
        changes={"rows": count, "job": job.pk},
        reason=job.filename,
    )
