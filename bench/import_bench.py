"""Registry import speed: 100,000 rows from .xlsx into an empty registry, beside its floors.

Run by bench/run.py against one database (DATABASE_URL). Prints one JSON object per line:
floors (reading the file with python-calamine; a bare bulk insert of the same rows) and the real import
(first import: all created; second: all unchanged), interleaved A B A B for ``--rounds`` rounds.

The bounded reader (gridroll/core/tables.py: caps, zip-bomb check, parsing in a capped child) is
measured against the reader it replaced, kept here only for that comparison (``OldTable``): the same
import with the old reader swapped in, in the same run, alternating which goes first.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridroll.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from gridroll.areas.models import Area, Building, Household, Level  # noqa: E402
from gridroll.audit.models import AuditRecord  # noqa: E402
from gridroll.core import tables  # noqa: E402
from gridroll.demo.people import PeopleFactory  # noqa: E402
from gridroll.residents import columns as cols  # noqa: E402
from gridroll.residents import importing  # noqa: E402
from gridroll.residents.exporting import write_xlsx  # noqa: E402
from gridroll.residents.importing import ResidentImporter  # noqa: E402
from gridroll.residents.models import Resident  # noqa: E402

DATA = Path(__file__).resolve().parent / "data"
GRIDS = 40


def make_file(rows: int) -> Path:
    """The same file every time (seeded), cached in bench/data/."""
    path = DATA / f"import_{rows}.xlsx"
    if path.exists():
        return path
    DATA.mkdir(exist_ok=True)
    factory = PeopleFactory(seed=11, regions=("371502", "371521", "371522", "371581"))

    def generate():
        n = 0
        household = 0
        while n < rows:
            household += 1
            grid = household % GRIDS
            building, flat = divmod(household // GRIDS, 60)
            for p in factory.household():
                if n == rows:
                    return
                n += 1
                yield [
                    "基准区",
                    "导入街道",
                    f"导入{grid // 8 + 1}社区",
                    f"第{grid % 8 + 1}网格",
                    "导入家园",
                    f"{building + 1}号楼",
                    str(flat // 20 + 1),
                    f"{(flat % 20) // 2 + 1}0{flat % 2 + 1}",
                    p.name,
                    cols.SEX_LABELS[p.sex],
                    cols.DOCUMENT_TYPE_LABELS[p.document_type],
                    p.document_number,
                    p.birth_date.isoformat(),
                    p.phone,
                    p.relation,
                    cols.RESIDENCE_TYPE_LABELS[p.residence_type],
                    cols.STATUS_LABELS[p.status],
                    "",
                    p.note,
                ]

    with open(path, "wb") as out:
        write_xlsx(generate(), out)
    return path


def make_areas() -> None:
    if Area.objects.filter(name="基准区").exists():
        return
    district = Area.objects.create(name="基准区", level=Level.DISTRICT)
    sub = Area.objects.create(name="导入街道", level=Level.SUBDISTRICT, parent=district)
    for c in range(GRIDS // 8):
        community = Area.objects.create(name=f"导入{c + 1}社区", level=Level.COMMUNITY, parent=sub)
        for g in range(8):
            Area.objects.create(name=f"第{g + 1}网格", level=Level.GRID, parent=community)


def clear() -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        for model in (AuditRecord, Resident, Household, Building):
            cursor.execute(f"DELETE FROM {model._meta.db_table}")


class OldTable:
    """The reader before issue 14, for comparison only: the whole first sheet read in this process by
    calamine into a list (no caps, the declared grid trusted), with the same interface as tables.Table."""

    def __init__(self, source, filename: str = "", lim=None) -> None:
        import io

        from python_calamine import load_workbook

        data = source if isinstance(source, bytes) else Path(source).read_bytes()
        sheet = load_workbook(io.BytesIO(data)).get_sheet_by_index(0)
        self.all = [list(r) for r in sheet.to_python(skip_empty_area=False)]
        self.start = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass

    def header(self, match, search_rows: int = 10):
        for index, row in enumerate(self.all[:search_rows]):
            found = match(row)
            if found is not None:
                self.start = index + 1
                return found
        return None

    def rows(self):
        yield from enumerate(self.all[self.start :], start=self.start + 1)


def read_table(path: Path) -> list:
    return tables.read_rows(path, lim=tables.limits("command"))


def floor_read(path: Path, reader=None) -> float:
    started = time.perf_counter()
    if reader is OldTable:
        rows = OldTable(path).all
    else:
        rows = read_table(path)
    elapsed = time.perf_counter() - started
    assert len(rows) > 1
    return elapsed


def floor_insert(path: Path) -> float:
    """A bare insert of the file's rows into a scratch table: COPY on PostgreSQL, executemany on SQLite."""
    rows = [[str(c) for c in r[:19]] for r in read_table(path)[1:]]
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_floor")
        cursor.execute("CREATE TABLE bench_floor (" + ", ".join(f"c{i} text" for i in range(19)) + ")")
        started = time.perf_counter()
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with cursor.cursor.copy("COPY bench_floor FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                cursor.executemany(f"INSERT INTO bench_floor VALUES ({', '.join(['%s'] * 19)})", rows)
        elapsed = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_floor")
    return elapsed


def real_import(path: Path, expect: str, reader=None) -> tuple[float, dict]:
    importing.Table = reader or tables.Table
    try:
        started = time.perf_counter()
        batch = ResidentImporter().run(path, limits=tables.limits("command"))
        elapsed = time.perf_counter() - started
    finally:
        importing.Table = tables.Table
    counts = {k: getattr(batch, k) for k in ("total", "created", "updated", "unchanged", "rejected")}
    # Correctness after the load: every row accounted for, no duplicate person.
    assert counts["total"] == counts[expect] + counts["rejected"], counts
    assert Resident.objects.count() == counts["total"] - counts["rejected"], counts
    return elapsed, counts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    path = make_file(args.rows)
    make_areas()
    times: dict[str, list[float]] = {
        "read": [],
        "read_old": [],
        "insert": [],
        "import": [],
        "import_old": [],
        "reimport": [],
    }
    counts = {}
    for round_no in range(args.rounds):
        # Old and new readers alternate which goes first, so drift favours neither.
        order = [("import", None), ("import_old", OldTable)]
        for name, reader in order if round_no % 2 == 0 else order[::-1]:
            clear()
            times["read_old" if reader else "read"].append(floor_read(path, reader))
            elapsed, counts = real_import(path, "created", reader)
            times[name].append(elapsed)
        times["insert"].append(floor_insert(path))
        elapsed, _ = real_import(path, "unchanged")
        times["reimport"].append(elapsed)
    vendor = connection.vendor
    for name, values in times.items():
        median = statistics.median(values)
        print(
            json.dumps(
                {
                    "name": f"import.{vendor}.{name}_s",
                    "value": round(median, 3),
                    "unit": "s",
                    "runs": [round(v, 3) for v in values],
                    "rows": args.rows,
                }
            )
        )
    ratios = [new / old for new, old in zip(times["import"], times["import_old"], strict=True)]
    print(
        json.dumps(
            {
                "name": f"import.{vendor}.bounded_over_old_reader",
                "value": round(statistics.median(ratios), 3),
                "unit": "ratio",
                "runs": [round(r, 3) for r in ratios],
                "rows": args.rows,
            }
        )
    )
    print(
        json.dumps(
            {
                "name": f"import.{vendor}.rows_per_s",
                "value": round(args.rows / statistics.median(times["import"])),
                "unit": "rows/s",
                "rejected": counts["rejected"],
                "rows": args.rows,
            }
        )
    )


if __name__ == "__main__":
    main()
