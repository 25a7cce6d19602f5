"""The check sheet (点名表): its rows in print order and its Excel form, shared by the page, the background
job (``sheet_pdf.sheet_job``) and ``manage.py export_rollcall``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gridroll.areas.models import Area
from gridroll.lib.text import natural_key
from gridroll.residents.masking import phone_for
from gridroll.rollcall.models import Entry

if TYPE_CHECKING:  # rounds belong to sampling, a layer above (docs/architecture.md)
    from gridroll.sampling.models import Round


def sheet_rows(user, round_: Round, area: Area):
    """(building, household, entry) in print order for every resident of ``area`` on the round's roll."""
    # user None: the command line, which runs with the server's own rights.
    entries = list(
        (Entry.objects.all() if user is None else Entry.objects.restrict(user))
        .filter(round=round_, grid__path__startswith=area.path)
        .select_related("resident", "household", "building", "grid")
    )
    entries.sort(
        key=lambda e: (
            e.grid.path,
            e.building.compound_key,
            natural_key(e.building.number),
            natural_key(e.household.entrance),
            natural_key(e.household.room),
            e.resident.relation != "户主",
            e.resident_id,
        )
    )
    for e in entries:
        e.phone_shown = phone_for(user, e.resident.phone, e.grid.path)
    return entries


SHEET_HEADER = [
    "网格",
    "楼栋",
    "单元",
    "房号",
    "姓名",
    "性别",
    "年龄",
    "联系电话",
    "状态",
    "免采原因",
    "备注",
    "已核",
]


def sheet_table(entries) -> list[list]:
    return [
        [
            e.grid.name,
            e.building.label,
            e.household.entrance,
            e.household.room,
            e.resident.name,
            e.resident.get_sex_display(),
            e.resident.age if e.resident.age is not None else "",
            e.phone_shown,
            e.get_state_display(),
            e.get_exemption_display() if e.exemption else "",
            e.exemption_note,
            "",
        ]
        for e in entries
    ]


def write_sheet_xlsx(user, round_: Round, area: Area, out) -> int:
    from gridroll.core.exports import write_xlsx

    return write_xlsx(
        sheet_table(sheet_rows(user, round_, area)), out, title="核酸检测点名表", header=SHEET_HEADER
    )


def group_rows(entries) -> list[dict]:
    """Entries in print order, one group per building (the print view's and the PDF's pages)."""
    groups: list = []
    for e in entries:
        if not groups or groups[-1]["building"].pk != e.building_id:
            groups.append({"building": e.building, "grid": e.grid, "rows": []})
        groups[-1]["rows"].append(e)
    return groups
