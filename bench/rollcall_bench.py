"""Roll call and lab results at district scale, on PostgreSQL, each beside a hand-written query.

    make bench ARGS="--only rollcall"

Setup (not measured): the 1,000,000-resident district of generate_district.py (about 400 grids) and three
rounds. Rounds 1 and 2 are closed with 95% and 93% of residents sampled and negative; round 3 is open with
60% sampled into 100,000 tubes of six. Tubes and samples are written in bulk (COPY): filling them through
the scan API is what scan_bench.py measures.

Measured, interleaved for ``--rounds`` rounds, medians reported:
- results: 100,000 tube results applied from a CSV file (validation, tasks, roll call included), reset
  between runs; and the time from a one-positive-pool upload to the pool's members showing in the
  retest list of their grid worker;
- one grid's missing list and per-building counts (what the grid worker's page reads) against the
  hand-written anti-join over residents and samples;
- the district summary per grid (read from the tallies) against the plain anti-join;
- a scan's arrival in the grid worker's counts: the scan call, then the counts read, and the page's poll
  interval on top.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridroll.settings")

import django

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Sum  # noqa: E402
from django.utils import timezone  # noqa: E402

from gridroll.accounts.models import Grant  # noqa: E402
from gridroll.areas.models import Area  # noqa: E402
from gridroll.core.bulk import insert_rows  # noqa: E402
from gridroll.labs.models import ResultIssue, ResultUpload, RetestTask  # noqa: E402
from gridroll.labs.services import import_results  # noqa: E402
from gridroll.labs.views import retest_rows  # noqa: E402
from gridroll.residents.models import Resident  # noqa: E402
from gridroll.rollcall.models import COUNTED, Entry, Tally  # noqa: E402
from gridroll.rollcall.services import recount, recount_hours, sync_round  # noqa: E402
from gridroll.rollcall.views import _grid_people  # noqa: E402
from gridroll.sampling.models import Round, RoundArea, Sample, Site, Station, Tube  # noqa: E402
from gridroll.sampling.services import check_site_tallies, record_actions  # noqa: E402

TUBE_SIZE = 6
POLL_SECONDS = 1.5  # rollcall/static/rollcall/live.js


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def timed(fn, *args):
    started = time.perf_counter()
    value = fn(*args)
    return time.perf_counter() - started, value


def fill_round(round_: Round, site: Site, share: float, negative: bool, seed: int) -> list[str]:
    """Put ``share`` of the round's roll into tubes of TUBE_SIZE (bulk), and the roll call with them."""
    rng = random.Random(seed)
    ids = list(Entry.objects.filter(round=round_).values_list("resident_id", flat=True))
    rng.shuffle(ids)
    ids = sorted(ids[: int(len(ids) * share)])
    now = timezone.now()
    barcodes = [f"R{round_.pk:02d}{i:08d}" for i in range(0, len(ids), TUBE_SIZE)]
    tube_ids = insert_rows(
        Tube,
        (
            "barcode",
            "round_id",
            "site_id",
            "pool_mode",
            "capacity",
            "status",
            "size",
            "opened_at",
            "sealed_at",
            "received_at",
            "result",
            "reported_at",
        ),
        [
            (
                b,
                round_.pk,
                site.pk,
                "pool10",
                10,
                "sealed",
                len(ids[i * TUBE_SIZE : (i + 1) * TUBE_SIZE]),
                now,
                now,
                now,
                "negative" if negative else "",
                now if negative else None,
            )
            for i, b in enumerate(barcodes)
        ],
    )
    insert_rows(
        Sample,
        ("tube_id", "round_id", "resident_id", "position", "scanned_at", "received_at", "nonce"),
        [
            (tube_ids[i // TUBE_SIZE], round_.pk, rid, i % TUBE_SIZE + 1, now, now, f"b{round_.pk}-{rid}")
            for i, rid in enumerate(ids)
        ],
    )
    state = "negative" if negative else "sampled"
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE rollcall_entry e SET state = %s FROM sampling_sample s "
            "WHERE s.round_id = e.round_id AND s.resident_id = e.resident_id AND e.round_id = %s",
            [state, round_.pk],
        )
    recount(round_.pk)
    # The command view's kept counts (issue 20), which the scans would have moved one by one.
    recount_hours(round_.pk)
    check_site_tallies(round_, repair=True)
    return barcodes


def anti_join_grid(round_id: int, grid_id: int) -> tuple[list, list]:
    not_sampled = (
        "NOT EXISTS (SELECT 1 FROM sampling_sample s WHERE s.round_id = %s AND s.resident_id = r.id "
        "AND NOT s.is_removed)"
    )
    base = (
        "FROM residents_resident r JOIN areas_household h ON h.id = r.household_id "
        "JOIN areas_building b ON b.id = h.building_id "
        "WHERE b.grid_id = %s AND r.status = 'present'"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT r.id, r.name, r.phone, r.sex, r.birth_date, h.entrance, h.room, b.id {base} "
            f"AND {not_sampled} ORDER BY b.id, h.entrance, h.room",
            [grid_id, round_id],
        )
        rows = cursor.fetchall()
        cursor.execute(
            f"SELECT b.id, COUNT(*), COUNT(*) FILTER (WHERE {not_sampled}) {base} GROUP BY b.id",
            [round_id, grid_id],
        )
        return rows, cursor.fetchall()


def anti_join_district(round_id: int) -> list:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT b.grid_id, COUNT(*), COUNT(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM sampling_sample s "
            "WHERE s.round_id = %s AND s.resident_id = r.id AND NOT s.is_removed)) "
            "FROM residents_resident r JOIN areas_household h ON h.id = r.household_id "
            "JOIN areas_building b ON b.id = h.building_id WHERE r.status = 'present' "
            "GROUP BY b.grid_id",
            [round_id],
        )
        return cursor.fetchall()


def tally_district(round_id: int) -> list:
    return list(
        Tally.objects.filter(round_id=round_id)
        .values("grid_id")
        .annotate(**{f"n_{c}": Sum(c) for c in ["total", *COUNTED]})
    )


def open_round(district: Area, name: str, weeks_ago: int) -> Round:
    start = timezone.now() - timezone.timedelta(days=7 * weeks_ago)
    r = Round.objects.create(
        name=name, starts_at=start, ends_at=start + timezone.timedelta(hours=6), status=Round.Status.OPEN
    )
    RoundArea.objects.create(round=r, area=district, pool_mode="pool10")
    sync_round(r)
    return r


class _Request:
    def __init__(self, user):
        self.user = user


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("the roll-call benchmark needs PostgreSQL (DATABASE_URL=postgres://...)")
    call_command("migrate", verbosity=0)
    if not Resident.objects.exists():
        from generate_district import generate

        generate(residents=args.residents, quiet=True)
    district = Area.objects.get(parent__isnull=True)
    if Round.objects.filter(name="第3轮").exists():
        # A database set up by an earlier run (BENCH_REUSE=1 in run.py): the setup takes a quarter hour.
        site = Site.objects.get(name="bench")
        rounds = list(Round.objects.filter(name__in=["第1轮", "第2轮", "第3轮"]).order_by("starts_at"))
        current = rounds[2]
        barcodes = list(
            Tube.objects.filter(round=current, barcode__startswith="R")
            .order_by("barcode")
            .values_list("barcode", flat=True)
        )
        with connection.cursor() as cursor:
            cursor.execute("VACUUM FULL rollcall_entry")  # lays the rows out at the table's fillfactor
    else:
        site = Site.objects.create(area=district, name="bench")
        Station.objects.create(site=site, name="1")
        rounds = [open_round(district, f"第{n + 1}轮", 2 - n) for n in range(3)]
        for r, share in zip(rounds[:2], (0.95, 0.93), strict=True):
            fill_round(r, site, share, negative=True, seed=r.pk)
            r.status = Round.Status.CLOSED
            r.save(update_fields=["status"])
        current = rounds[2]
        barcodes = fill_round(current, site, 0.6, negative=False, seed=current.pk)
    # Opening a round: everyone on its roll, tallies counted (then taken away again).
    extra = Round.objects.create(
        name="开轮测试", starts_at=timezone.now(), ends_at=timezone.now(), status=Round.Status.OPEN
    )
    RoundArea.objects.create(round=extra, area=district, pool_mode="pool10")
    open_seconds, _ = timed(sync_round, extra)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM rollcall_tally WHERE round_id = %s", [extra.pk])
        cursor.execute("DELETE FROM rollcall_entry WHERE round_id = %s", [extra.pk])
    extra.delete()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"setup: {Entry.objects.count()} entries, {len(barcodes)} tubes in the open round", file=sys.stderr)

    grids = list(Area.objects.filter(level="grid").values_list("pk", flat=True))
    worker = User.objects.get_or_create(username="bench-grid")[0]
    lab = User.objects.get_or_create(username="bench-lab")[0]
    Grant.objects.get_or_create(user=lab, area=district, role="lab_staff")
    rng = random.Random(11)
    out: dict[str, list[float]] = {
        k: []
        for k in (
            "results_s",
            "results_tubes_per_s",
            "positive_to_list_s",
            "grid_ours_ms",
            "grid_anti_ms",
            "district_ours_ms",
            "district_anti_ms",
            "scan_to_counts_ms",
        )
    }

    # Results: 100,000 tubes, ten of them positive pools; reset after each run.
    positives = set(barcodes[:: len(barcodes) // 10][:10])
    lines = ["管码,结果,CT值"] + [f"{b},{'阳性,30.1' if b in positives else '阴性,'}" for b in barcodes]
    big_file = ("\n".join(lines) + "\n").encode()
    spare = iter(barcodes[-200:])  # small positive uploads come from the end of the list

    def reset() -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            RetestTask.objects.filter(round=current).delete()
            ResultIssue.objects.all().delete()
            ResultUpload.objects.all().delete()
            cursor.execute(
                "UPDATE sampling_tube SET result = '', reported_at = NULL, tested_at = NULL "
                "WHERE round_id = %s",
                [current.pk],
            )
            cursor.execute(
                "UPDATE rollcall_entry SET state = 'sampled' WHERE round_id = %s AND state <> 'missing' "
                "AND state <> 'exempt'",
                [current.pk],
            )
            recount(current.pk)
        # The reset rewrote 600,000 entries at once, which a real round never does: clean up after it,
        # so that the next measurements do not read its dead rows.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE rollcall_entry")

    reset()
    for run in range(args.rounds):
        # 1. the whole lab day at once
        seconds, upload = timed(import_results, big_file, "bench.csv", lab, "bench-lab")
        assert upload.applied == len(barcodes) and upload.positive_tubes == 10, (upload.applied, upload.error)
        assert RetestTask.objects.filter(round=current).count() == 10 * TUBE_SIZE
        out["results_s"].append(seconds)
        out["results_tubes_per_s"].append(len(barcodes) / seconds)
        reset()
        # 2. one positive pool, from the upload to its grid worker's retest list
        barcode = next(spare)
        tube = Tube.objects.get(barcode=barcode)
        grid = Entry.objects.filter(round=current, resident__samples__tube=tube).values_list(
            "grid", flat=True
        )[0]
        Grant.objects.filter(user=worker).delete()
        Grant.objects.create(user=worker, area_id=grid, role="grid_worker")
        from gridroll.accounts.scope import forget

        forget(worker)
        started = time.perf_counter()
        import_results(f"tube,result\n{barcode},positive\n".encode(), "one.csv", lab, "bench-lab")
        listed = retest_rows(worker, current, None)
        out["positive_to_list_s"].append(time.perf_counter() - started)
        assert len(listed) == tube.size, (len(listed), tube.size)
        # 3. a grid's missing list, ours and the anti-join, side by side
        request = _Request(worker)
        for grid_id in rng.sample(grids, 10):
            grid_area = Area.objects.get(pk=grid_id)
            Grant.objects.filter(user=worker).delete()
            Grant.objects.create(user=worker, area=grid_area, role="grid_worker")
            forget(worker)
            a, ours = timed(_grid_people, request, current, grid_area, "missing")
            b, (rows, _counts) = timed(anti_join_grid, current.pk, grid_id)
            assert sum(len(h["people"]) for bl in ours for h in bl["households"]) == len(rows)
            out["grid_ours_ms"].append(ms(a))
            out["grid_anti_ms"].append(ms(b))
        # 4. the district summary
        a, ours = timed(tally_district, current.pk)
        b, anti = timed(anti_join_district, current.pk)
        assert sum(x["n_missing"] for x in ours) == sum(x[2] for x in anti), "tallies disagree with a recount"
        out["district_ours_ms"].append(ms(a))
        out["district_anti_ms"].append(ms(b))
        # 5. a scan reaches the counts
        tube_code = f"SCAN{uuid.uuid4().hex[:12].upper()}"  # new on every run, also on a reused database
        sampler = User.objects.get_or_create(username="bench-sampler")[0]
        Grant.objects.get_or_create(user=sampler, area=district, role="sampler")
        base = {
            "device_id": "b",
            "device_time": timezone.now().isoformat(),
            "round_id": current.pk,
            "site_id": site.pk,
            "tube": tube_code,
        }
        record_actions(sampler, [{**base, "nonce": uuid.uuid4().hex, "kind": "open_tube"}])
        for resident_id, grid_id in Entry.objects.filter(round=current, state="missing").values_list(
            "resident_id", "grid_id"
        )[run * 5 : run * 5 + 5]:
            before = Tally.objects.filter(round=current, grid_id=grid_id).aggregate(m=Sum("missing"))["m"]
            started = time.perf_counter()
            record_actions(
                sampler, [{**base, "nonce": uuid.uuid4().hex, "kind": "add", "resident_id": resident_id}]
            )
            after = Tally.objects.filter(round=current, grid_id=grid_id).aggregate(m=Sum("missing"))["m"]
            out["scan_to_counts_ms"].append(ms(time.perf_counter() - started))
            assert after == before - 1
        reset()

    def med(key: str) -> float:
        return round(statistics.median(out[key]), 2)

    results = [
        ("rollcall.open_round_1M_s", round(open_seconds, 2), "s", None),
        ("results.file_tubes", len(barcodes), "tubes", None),
        ("results.file_s", med("results_s"), "s", [round(x, 2) for x in out["results_s"]]),
        ("results.tubes_per_s", round(med("results_tubes_per_s")), "tubes/s", None),
        ("results.positive_to_retest_list_s", round(med("positive_to_list_s"), 3), "s", None),
        ("rollcall.grid_missing_ours_ms", med("grid_ours_ms"), "ms", None),
        ("rollcall.grid_missing_antijoin_ms", med("grid_anti_ms"), "ms", None),
        (
            "rollcall.grid_ours_vs_antijoin",
            round(med("grid_ours_ms") / med("grid_anti_ms"), 2),
            "ratio",
            None,
        ),
        ("rollcall.district_summary_ours_ms", med("district_ours_ms"), "ms", out["district_ours_ms"]),
        ("rollcall.district_summary_antijoin_ms", med("district_anti_ms"), "ms", out["district_anti_ms"]),
        ("rollcall.scan_to_counts_ms", med("scan_to_counts_ms"), "ms", None),
        (
            "rollcall.scan_to_page_worst_s",
            round(POLL_SECONDS + med("scan_to_counts_ms") / 1000, 2),
            "s",
            None,
        ),
    ]
    for name, value, unit, runs in results:
        entry = {"name": name, "value": value, "unit": unit}
        if runs:
            entry["runs"] = runs
        print(json.dumps(entry))


if __name__ == "__main__":
    main()
