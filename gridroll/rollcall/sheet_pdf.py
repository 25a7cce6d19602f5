"""The check sheet as PDF, drawn with ReportLab and the embedded Noto Sans SC (subset per document).

WeasyPrint took 47 s for a 2,255-resident grid on the demo (profiled: 18 s computing styles for ~25,000
table cells, 17 s automatic table layout, 10 s instantiating the variable font and 14 s subsetting it;
a static font and ``table-layout: fixed`` brought it to 35 s). The same sheet here takes about 2 s:
fixed column widths, one table per building, the header row repeated on every page.
"""

from __future__ import annotations

import io
from functools import lru_cache
from typing import TYPE_CHECKING

from gridroll.areas.models import Area

if TYPE_CHECKING:  # rounds belong to sampling, a layer above (docs/architecture.md)
    from gridroll.sampling.models import Round

FONT = "GridrollCJK"
HEADER = ["单元", "房号", "姓名", "性别", "年龄", "联系电话", "状态", "备注", "已核"]


@lru_cache(maxsize=1)
def _register_font() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    from gridroll.codes.cards import static_font_path

    pdfmetrics.registerFont(TTFont(FONT, str(static_font_path())))
    return FONT


def _progress_flowable():
    from reportlab.platypus import Flowable

    class Progress(Flowable):
        """Takes no room; says how many rows are drawn once the building's table before it is."""

        def __init__(self, report, done: int, total: int) -> None:
            super().__init__()
            self.report, self.done, self.total = report, done, total

        def wrap(self, avail_width, avail_height):
            return 0, 0

        def draw(self) -> None:
            if self.report is not None:
                self.report(self.done, self.total)

    return Progress


def _Progress(report, done: int, total: int):
    return _progress_flowable()(report, done, total)


def _row(e) -> list[str]:
    note = f"{e.get_exemption_display()} {e.exemption_note}".strip() if e.exemption else ""
    if e.resident.is_bedridden:
        note = f"{note} 卧床".strip()
    return [
        e.household.entrance,
        e.household.room,
        e.resident.name,
        e.resident.get_sex_display(),
        "" if e.resident.age is None else str(e.resident.age),
        e.phone_shown,
        e.get_state_display(),
        note,
        "□",
    ]


def sheet_pdf(round_: Round, area: Area, groups: list[dict], printed_at, out=None, progress=None) -> bytes:
    """``groups`` as the print view has them: one per building, its rows in walking order. Written to
    ``out`` (a binary file) when given, else returned; ``progress(done, total)`` in rows, per building."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Table, TableStyle

    font = _register_font()
    title = ParagraphStyle("title", fontName=font, fontSize=14, leading=18)
    meta = ParagraphStyle("meta", fontName=font, fontSize=9, leading=12, textColor=colors.HexColor("#444444"))
    cell = ParagraphStyle("cell", fontName=font, fontSize=9, leading=11)
    widths = [12 * mm, 15 * mm, 26 * mm, 10 * mm, 10 * mm, 28 * mm, 30 * mm, 45 * mm, 12 * mm]
    story: list = []
    total = sum(len(g["rows"]) for g in groups)
    done = 0
    for g in groups:
        story.append(Paragraph(f"{area.name} · {g['grid'].name} · {g['building'].label}", title))
        when = printed_at.strftime("%Y-%m-%d %H:%M")
        story.append(Paragraph(f"{round_.name} · 共 {len(g['rows'])} 人 · 打印于 {when}", meta))
        data: list[list] = [HEADER]
        style = [
            ("FONT", (0, 0), (-1, -1), font, 10),
            ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#333333")),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
            ("ALIGN", (-1, 0), (-1, -1), "CENTER"),
            ("TOPPADDING", (0, 0), (-1, -1), 2),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ]
        previous = None
        for e in g["rows"]:
            row = _row(e)
            if len(row[7]) > 12:  # a long note wraps in its cell instead of running over the tick
                row[7] = Paragraph(row[7], cell)
            if previous is not None and e.household_id != previous:
                style.append(("LINEABOVE", (0, len(data)), (-1, len(data)), 1.5, colors.black))
            previous = e.household_id
            data.append(row)
        table = Table(data, colWidths=widths, repeatRows=1)
        table.setStyle(TableStyle(style))
        done += len(g["rows"])
        story += [table, _Progress(progress, done, total), PageBreak()]
    if not groups:
        story.append(Paragraph("本区域在此轮次没有需要点名的居民。", title))
    target = out if out is not None else io.BytesIO()
    doc = SimpleDocTemplate(
        target,
        pagesize=A4,
        leftMargin=10 * mm,
        rightMargin=10 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=f"{area.name} 点名表",
    )
    if progress is not None:
        progress(0, total)
    doc.build(story)
    return target.getvalue() if out is None else b""
