"""Does the one-round-trip add (sampling/fastpath.sql) earn its keep? PostgreSQL only.

    make bench ARGS="--only fastpath"

One person added to an open tube by code, as a single upload does (`record_actions(user, [add])`, its
own transaction, no HTTP), the fast path against the general Python way, interleaved for ``--rounds``
rounds on fresh people each time (every add is a first sample that moves the roll call). Floor: one
``SELECT 1`` round trip per add on the same connection, the least any server path can cost.

Reported: per-add milliseconds (median over rounds) of each way and of the floor, and
``general_over_fast`` (median of the per-round ratios): how many times slower the general way is.
"""

from __future__ import annotations

import argparse
import datetime
import itertools
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

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from gridroll.areas.models import Area, Building, Household, Level  # noqa: E402
from gridroll.codes.models import PersonalCode  # noqa: E402
from gridroll.codes.services import issue_codes  # noqa: E402
from gridroll.residents.models import Resident  # noqa: E402
from gridroll.rollcall.services import sync_round  # noqa: E402
from gridroll.sampling import services  # noqa: E402
from gridroll.sampling.models import Round, RoundArea, Site, Station  # noqa: E402

PER_RUN = 300


def setup(people: int) -> tuple[User, Round, Site, list[str]]:
    call_command("migrate", verbosity=0)
    district = Area.objects.create(name="区", level=Level.DISTRICT)
    sub = Area.objects.create(name="街道", level=Level.SUBDISTRICT, parent=district)
    community = Area.objects.create(name="社区", level=Level.COMMUNITY, parent=sub)
    grid = Area.objects.create(name="网格", level=Level.GRID, parent=community)
    building = Building.objects.create(grid=grid, compound="小区", number="1")
    residents = []
    for i in range(people):
        household = Household.objects.create(building=building, entrance=str(i // 400 + 1), room=str(i))
        birth = datetime.date(1950 + i % 60, 1 + i % 12, 1 + i % 28)
        residents.append(Resident(name=f"居民{i}", sex="M", household=household, birth_date=birth))
    Resident.objects.bulk_create(residents)
    issue_codes(Resident.objects.all())
    now = timezone.now()
    round_ = Round.objects.create(
        name="bench",
        starts_at=now - datetime.timedelta(hours=1),
        ends_at=now + datetime.timedelta(hours=5),
        status=Round.Status.OPEN,
    )
    RoundArea.objects.create(round=round_, area=district, pool_mode="pool10")
    site = Site.objects.create(area=grid, name="采样点")
    Station.objects.create(site=site, name="1号台")
    sync_round(round_)
    user = User.objects.create_superuser("bench", password="x")
    codes = list(PersonalCode.objects.order_by("resident_id").values_list("token", flat=True))
    return user, round_, site, codes


_nonce = itertools.count()


def action(round_, site, kind, tube, **extra) -> dict:
    return {
        "nonce": f"b-{next(_nonce)}",
        "device_id": "bench",
        "device_time": timezone.now().isoformat(),
        "kind": kind,
        "round_id": round_.pk,
        "site_id": site.pk,
        "station_id": site.stations.first().pk,
        "tube": tube,
        **extra,
    }


def run(user, round_, site, codes: list[str], fast: bool, tag: str) -> float:
    services._FAST_PATH[:] = [fast]
    tubes = iter(f"B{tag}{i:06d}" for i in range(PER_RUN))
    started = time.perf_counter()
    for i, code in enumerate(codes):
        if i % 10 == 0:
            services.record_actions(user, [action(round_, site, "open_tube", next(tubes))])
            tube = f"B{tag}{i // 10:06d}"
        result = services.record_actions(user, [action(round_, site, "add", tube, code=code)])[0]
        assert result.reason == "ok", result
    elapsed = time.perf_counter() - started
    services._FAST_PATH[:] = []
    return elapsed / len(codes) * 1000


def floor(n: int) -> float:
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for _ in range(n):
            cursor.execute("SELECT 1")
            cursor.fetchone()
    return (time.perf_counter() - started) / n * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("the fast path is PostgreSQL's: run with DATABASE_URL=postgres://...")
    user, round_, site, codes = setup(PER_RUN * 2 * (args.rounds + 1))
    chunks = [codes[i : i + PER_RUN] for i in range(0, len(codes), PER_RUN)]
    run(user, round_, site, chunks.pop(), True, "WF")  # warm both ways (caches, plans)
    run(user, round_, site, chunks.pop(), False, "WG")
    fast, general, floors, ratios = [], [], [], []
    for r in range(args.rounds):
        order = [True, False] if r % 2 == 0 else [False, True]
        got = {}
        for way in order:
            got[way] = run(user, round_, site, chunks.pop(), way, f"{r}{'F' if way else 'G'}")
        floors.append(floor(PER_RUN))
        fast.append(got[True])
        general.append(got[False])
        ratios.append(got[False] / got[True])
    for name, values, unit in (
        ("fastpath.fast_add_ms", fast, "ms"),
        ("fastpath.general_add_ms", general, "ms"),
        ("fastpath.floor_round_trip_ms", floors, "ms"),
        ("fastpath.general_over_fast", ratios, "x"),
    ):
        print(
            json.dumps(
                {
                    "name": name,
                    "value": round(statistics.median(values), 3),
                    "unit": unit,
                    "runs": len(values),
                }
            )
        )


if __name__ == "__main__":
    main()
