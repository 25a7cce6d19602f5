"""Generate a large district for benchmarks: 1,000,000 residents in about 400 grids by default.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/gridroll_bench \
        .venv/bin/python bench/generate_district.py --residents 1000000

Realistic households come from gridroll.demo.people (the demo's generator); residents are written with
gridroll.core.bulk.insert_rows (COPY on PostgreSQL, multi-row INSERT on SQLite). The district is named
基准区 so that it can sit beside the demo. Also used as a library: ``generate(residents=…)``.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridroll.settings")

import django

django.setup()

from django.db import transaction  # noqa: E402

from gridroll.areas.models import Area, Building, Household, Level  # noqa: E402
from gridroll.core.bulk import insert_rows  # noqa: E402
from gridroll.demo.people import PeopleFactory  # noqa: E402
from gridroll.residents.models import Resident  # noqa: E402
from gridroll.residents.services import EDITABLE_FIELDS  # noqa: E402

DISTRICT = "基准区"
RESIDENTS_PER_GRID = 2500
HOUSEHOLDS_PER_BUILDING = 60
# The order of people_rows() below.
RESIDENT_COLUMNS = (*EDITABLE_FIELDS, "household_id", "created_at", "updated_at")


def people_rows(factory: PeopleFactory, household_id: int, now: datetime.datetime):
    for p in factory.household():
        yield (*(getattr(p, f) for f in EDITABLE_FIELDS), household_id, now, now)


@transaction.atomic
def generate(residents: int = 1_000_000, seed: int = 7, quiet: bool = False) -> dict[str, float]:
    started = time.monotonic()
    if Area.objects.filter(name=DISTRICT, parent__isnull=True).exists():
        raise SystemExit(f"{DISTRICT} already exists in this database; use a fresh database")
    regions = tuple(f"37{c:04d}" for c in range(1501, 1530)) + ("371502",) * 10
    factory = PeopleFactory(seed=seed, regions=regions)
    grids_needed = max(1, -(-residents // RESIDENTS_PER_GRID))  # rounded up: never short of flats
    district = Area.objects.create(name=DISTRICT, level=Level.DISTRICT)
    grids: list[Area] = []
    subs = max(1, grids_needed // 40)
    for s in range(subs):
        sub = Area.objects.create(name=f"第{s + 1}街道", level=Level.SUBDISTRICT, parent=district)
        for c in range(8):
            community = Area.objects.create(name=f"第{s + 1}-{c + 1}社区", level=Level.COMMUNITY, parent=sub)
            for g in range(5):
                if len(grids) < grids_needed:
                    grids.append(
                        Area.objects.create(name=f"第{g + 1}网格", level=Level.GRID, parent=community)
                    )
    # A few flats stay empty, as in real buildings; the resident count is exact.
    households_per_grid = round(RESIDENTS_PER_GRID / 2.9)
    buildings = []
    for grid in grids:
        for b in range((households_per_grid + HOUSEHOLDS_PER_BUILDING - 1) // HOUSEHOLDS_PER_BUILDING):
            buildings.append(
                Building(
                    grid=grid,
                    compound=f"{grid.parent.name[:-2]}家园",
                    compound_key=f"{grid.parent.name[:-2]}家园",
                    number=str(b + 1),
                )
            )
    Building.objects.bulk_create(buildings, batch_size=2000)
    households = []
    for building in buildings:
        for i in range(HOUSEHOLDS_PER_BUILDING):
            households.append(
                Household(
                    building=building, entrance=str(i // 20 + 1), room=f"{(i % 20) // 2 + 1}0{i % 2 + 1}"
                )
            )
    Household.objects.bulk_create(households, batch_size=5000)
    now = datetime.datetime.now(datetime.UTC)
    written = 0
    chunk: list[tuple] = []
    for household in households:
        for row in people_rows(factory, household.pk, now):
            if written + len(chunk) == residents:
                break
            chunk.append(row)
        if len(chunk) >= 50_000:
            insert_rows(Resident, RESIDENT_COLUMNS, chunk)
            written += len(chunk)
            chunk = []
    insert_rows(Resident, RESIDENT_COLUMNS, chunk)
    written += len(chunk)
    elapsed = time.monotonic() - started
    if not quiet:
        print(
            f"{DISTRICT}: {len(grids)} grids, {len(buildings)} buildings, {len(households)} households, "
            f"{written} residents in {elapsed:.1f} s"
        )
    return {"grids": len(grids), "households": len(households), "residents": written, "seconds": elapsed}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    generate(args.residents, args.seed)
