"""The command view at district scale, on PostgreSQL, each figure beside a hand-written query.

    make bench ARGS="--only command"

Setup (not measured, cached: the database ``gridroll_bench_command`` is kept between runs with
BENCH_REUSE=1, as the roll-call benchmark's is): the 1,000,000-resident district of generate_district.py
and three rounds, built as rollcall_bench.py builds them (two closed at 95% and 93% sampled and negative,
the open one 60% sampled into 100,000 tubes of six), the tubes spread over three labs with packing,
transport and reporting times and over 401 sites (the district's and one in each grid), and an
accepted plan calling each grid's buildings to its site in 30-minute batches, so every panel has rows to
read. ``--touch`` leaves the open round's tubes written since the last VACUUM first (see touch_tubes).

Measured, interleaved for ``--rounds`` rounds, medians reported:
- the whole view's data for the district (every panel, as the page and its JSON endpoint build it)
  against a hand-written SQL query of the same figures;
- the same for one grid;
- the refresh that finds nothing changed (the per-panel versions only).

Before each run a peak hour of scans is put in the hour before now (``--peak-per-second``, 140 by default:
a tenth of issue 21's 1,400, the 1,000,000-resident district's peak hour), spread over the district's
sites, so that the sites panel's 10-minute windows have what a live round gives them.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from rollcall_bench import fill_round, open_round

from gridroll.areas.models import Area
from gridroll.residents.models import Resident
from gridroll.sampling.models import Round, Site, Station, Tube


def setup(residents: int) -> tuple[Round, Area]:
    call_command("migrate", verbosity=0)
    if not Resident.objects.exists():
        from generate_district import generate

        generate(residents=residents, quiet=True)
    district = Area.objects.get(parent__isnull=True)
    if not Round.objects.filter(name="第3轮").exists():
        site = Site.objects.create(area=district, name="bench")
        Station.objects.create(site=site, name="1")
        rounds = [open_round(district, f"第{n + 1}轮", 2 - n) for n in range(3)]
        for r, share in zip(rounds[:2], (0.95, 0.93), strict=True):
            fill_round(r, site, share, negative=True, seed=r.pk)
            r.status = Round.Status.CLOSED
            r.save(update_fields=["status"])
        fill_round(rounds[2], site, 0.6, negative=False, seed=rounds[2].pk)
    current = Round.objects.get(name="第3轮")
    if not Tube.objects.exclude(lab="").exists():
        with connection.cursor() as cursor:
            # Three labs; times along the way so that the turnaround has something to measure. In the open
            # round (no result yet) a third of the tubes are still at the site, the rest at the lab.
            cursor.execute(
                "UPDATE sampling_tube SET lab = 'lab' || (id % 3), "
                "packed_at = sealed_at + (id % 60) * interval '1 minute', "
                "received_at = sealed_at + (60 + id % 120) * interval '1 minute', "
                "reported_at = CASE WHEN result = '' THEN NULL "
                "ELSE sealed_at + (200 + id % 300) * interval '1 minute' END"
            )
            cursor.execute(
                "UPDATE sampling_tube SET received_at = NULL, lab = '' WHERE round_id = %s AND id %% 3 = 1",
                [current.pk],
            )
            cursor.execute("ANALYZE")
    spread_sites(current, district)
    accepted_plan(current, district)
    return current, district


def spread_sites(current: Round, district: Area) -> None:
    """A site in each grid besides the district's own (401 in all: a district of 1,000,000 has hundreds of
    sampling points), with a station each, and the rounds' tubes dealt over them, so that every panel
    reads per site what a real district gives it. Done once; the kept per-site counts are then counted
    again, as check_rollcall --repair counts them."""
    from gridroll.sampling.services import check_site_tallies

    if Site.objects.count() > 1:
        return
    grids = list(Area.objects.filter(level="grid").order_by("path"))
    made = Site.objects.bulk_create([Site(area=g, name=f"{g.name}采样点") for g in grids])
    Station.objects.bulk_create([Station(site=s, name="1") for s in made])
    pairs = list(Station.objects.order_by("site_id").values_list("site_id", "pk"))
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE sampling_tube SET site_id = (%s::bigint[])[1 + id %% %s], "
            "station_id = (%s::bigint[])[1 + id %% %s]",
            [[s for s, _ in pairs], len(pairs), [st for _, st in pairs], len(pairs)],
        )
        cursor.execute("VACUUM ANALYZE sampling_tube")
    for r in Round.objects.all():
        check_site_tallies(r, repair=True)


def accepted_plan(current: Round, district: Area) -> int:
    """An accepted plan for the district, as the planner leaves one (done once): each grid's buildings
    called to the grid's own site in 30-minute batches from the round's start (twelve a site, the
    buildings dealt over them in order), each with its people on the roll, so that the progress line and
    the sites' predicted queues read what a planned round gives them. Returns the plan's buildings."""
    from gridroll.planning.models import Plan

    if Plan.objects.filter(round=current).exists():
        return 0
    plan = Plan.objects.create(round=current, area=district, status=Plan.Status.ACCEPTED, reason="bench")
    with connection.cursor() as c:
        c.execute(
            "INSERT INTO planning_batch (plan_id, site_id, kind, starts_at, ends_at, people, is_finished) "
            "SELECT %s, s.id, 'general', %s + k * interval '30 minutes', "
            "%s + (k + 1) * interval '30 minutes', 0, false "
            "FROM sampling_site s JOIN areas_area a ON a.id = s.area_id, generate_series(0, 11) k "
            "WHERE a.level = 'grid'",
            [plan.pk, current.starts_at, current.starts_at],
        )
        c.execute(
            "INSERT INTO planning_batchbuilding (plan_id, batch_id, building_id, kind, people) "
            "SELECT %s, b.id, x.building_id, 'general', x.people FROM ("
            "SELECT bl.id AS building_id, s.id AS site_id, "
            "(ROW_NUMBER() OVER (PARTITION BY bl.grid_id ORDER BY bl.id) - 1) %% 12 AS k, "
            "COALESCE(SUM(t.total - t.exempt), 0) AS people FROM areas_building bl "
            "JOIN sampling_site s ON s.area_id = bl.grid_id "
            "LEFT JOIN rollcall_tally t ON t.building_id = bl.id AND t.round_id = %s "
            "GROUP BY bl.id, s.id) x "
            "JOIN planning_batch b ON b.plan_id = %s AND b.site_id = x.site_id "
            "AND b.starts_at = %s + x.k * interval '30 minutes'",
            [plan.pk, current.pk, plan.pk, current.starts_at],
        )
        n = c.rowcount
        c.execute(
            "UPDATE planning_batch b SET people = m.n FROM (SELECT batch_id, SUM(people) AS n "
            "FROM planning_batchbuilding WHERE plan_id = %s GROUP BY 1) m WHERE m.batch_id = b.id",
            [plan.pk],
        )
        c.execute("ANALYZE planning_batch")
        c.execute("ANALYZE planning_batchbuilding")
    return n


def live_hour(current: Round, per_second: int) -> int:
    """A peak hour of accepted adds, received evenly over the hour before now, dealt over the sites
    (again at every run: the windows move with the clock). Returns how many."""
    from django.contrib.auth.models import User

    user, _ = User.objects.get_or_create(username="bench-live")
    sites = list(Site.objects.order_by("pk").values_list("pk", flat=True))
    n = per_second * 3600
    with connection.cursor() as c:
        c.execute("DELETE FROM sampling_scanaction WHERE device_id = 'bench-live'")
        c.execute(
            "INSERT INTO sampling_scanaction (nonce, device_id, user_id, kind, round_id, site_id, "
            "tube_barcode, payload, device_time, received_at, decided_offline, result, reason, message, "
            "needs_review) SELECT 'live' || i, 'bench-live', %s, 'add', %s, (%s::int[])[1 + i %% %s], '', "
            "'{}', now(), now() - (i * 3600.0 / %s) * interval '1 second', false, 'accepted', '', '', false "
            "FROM generate_series(0, %s - 1) i",
            [user.pk, current.pk, sites, len(sites), n, n],
        )
        # The scans per site and minute the scanner's writes keep (sampling.ScanMinute), counted again
        # for the round as check_rollcall --repair counts them.
        c.execute("DELETE FROM sampling_scanminute WHERE round_id = %s", [current.pk])
        c.execute(
            "INSERT INTO sampling_scanminute (round_id, site_id, minute, scans) SELECT round_id, site_id, "
            "date_trunc('minute', received_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', COUNT(*) "
            "FROM sampling_scanaction WHERE round_id = %s AND kind = 'add' "
            "AND result IN ('accepted', 'warned') GROUP BY 1, 2, 3",
            [current.pk],
        )
        c.execute("VACUUM ANALYZE sampling_scanaction")
        c.execute("VACUUM ANALYZE sampling_scanminute")
    return n


def touch_tubes(current: Round, how: str) -> int:
    """Leave the open round's tubes as a live round leaves them between two runs of autovacuum: pages
    written since the last VACUUM are not all-visible, and an index-only read must visit them in the
    table (the tubes panel reads the index tube_stage). ``newest``: the newest tenth of the round's tubes
    was written (tubes being filled and sealed); ``spread``: every tenth tube, spread over the round's pages
    (a lab's results for 10,000 tubes from every site); ``none``: all vacuumed. The table is first
    rewritten (VACUUM FULL), so that repeated runs start from the same pages. Returns the tubes written."""
    with connection.cursor() as c:
        c.execute("VACUUM FULL sampling_tube")
        c.execute("VACUUM ANALYZE sampling_tube")
        if how == "none":
            return 0
        where = {
            "newest": "id > (SELECT MAX(id) - 10000 FROM sampling_tube WHERE round_id = %s)",
            "spread": "id %% 10 = 0 AND %s > 0",
        }[how]
        c.execute(
            f"UPDATE sampling_tube SET size = size WHERE round_id = %s AND {where}", [current.pk, current.pk]
        )
        n = c.rowcount
        c.execute("ANALYZE sampling_tube")
    return n


def hand_written(round_id: int, path: str, now=None) -> dict:
    """The same figures by hand: completion per grid from the tallies, the hourly first samples, tubes
    per stage and site, lab times, retests per grid."""
    like = path + "%"
    out = {}
    with connection.cursor() as c:
        c.execute(
            "SELECT t.grid_id, SUM(total), SUM(missing), SUM(exempt), SUM(positive), SUM(pool_positive) "
            "FROM rollcall_tally t JOIN areas_area a ON a.id = t.grid_id "
            "WHERE t.round_id = %s AND a.path LIKE %s GROUP BY t.grid_id",
            [round_id, like],
        )
        out["grids"] = c.fetchall()
        c.execute(
            "SELECT date_trunc('hour', s.scanned_at), COUNT(*) FROM sampling_sample s "
            "JOIN rollcall_entry e ON e.round_id = s.round_id AND e.resident_id = s.resident_id "
            "JOIN areas_area a ON a.id = e.grid_id "
            "WHERE s.round_id = %s AND NOT s.is_removed AND NOT s.is_repeat AND a.path LIKE %s GROUP BY 1",
            [round_id, like],
        )
        out["hourly"] = c.fetchall()
        c.execute(
            "SELECT t.site_id, COUNT(*) FILTER (WHERE t.status = 'open'), "
            "COUNT(*) FILTER (WHERE t.status = 'sealed' AND t.packed_at IS NULL AND t.received_at IS NULL), "
            "COUNT(*) FILTER (WHERE t.received_at IS NOT NULL AND t.reported_at IS NULL), "
            "COUNT(*) FILTER (WHERE t.reported_at IS NOT NULL), MIN(t.sealed_at) "
            "FROM sampling_tube t JOIN sampling_site st ON st.id = t.site_id JOIN areas_area a ON a.id = st.area_id "  # noqa: E501
            "WHERE t.round_id = %s AND a.path LIKE %s GROUP BY t.site_id",
            [round_id, like],
        )
        out["tubes"] = c.fetchall()
        c.execute(
            "SELECT t.lab, COUNT(*), COUNT(t.reported_at), "
            "percentile_cont(0.5) WITHIN GROUP (ORDER BY t.reported_at - t.received_at), "
            "percentile_cont(0.9) WITHIN GROUP (ORDER BY t.reported_at - t.received_at), "
            "percentile_cont(0.5) WITHIN GROUP (ORDER BY t.reported_at - t.sealed_at), "
            "percentile_cont(0.9) WITHIN GROUP (ORDER BY t.reported_at - t.sealed_at) "
            "FROM sampling_tube t JOIN sampling_site st ON st.id = t.site_id JOIN areas_area a ON a.id = st.area_id "  # noqa: E501
            "WHERE t.round_id = %s AND a.path LIKE %s AND t.received_at IS NOT NULL GROUP BY t.lab",
            [round_id, like],
        )
        out["labs"] = c.fetchall()
        c.execute(
            "SELECT e.grid_id, COUNT(*) FILTER (WHERE k.status <> 'closed'), COUNT(*) FILTER (WHERE k.status = 'closed') "  # noqa: E501
            "FROM labs_retesttask k JOIN rollcall_entry e ON e.round_id = k.round_id AND e.resident_id = k.resident_id "  # noqa: E501
            "JOIN areas_area a ON a.id = e.grid_id WHERE k.round_id = %s AND a.path LIKE %s GROUP BY 1",
            [round_id, like],
        )
        out["retests"] = c.fetchall()
        # Scans per site in 10-minute windows of whole minutes of arrival, from the actions themselves.
        minute = "date_trunc('minute', COALESCE(%s::timestamptz, now()))"
        c.execute(
            "SELECT x.site_id, "
            + ", ".join(
                f"COUNT(*) FILTER (WHERE x.received_at >= {minute} - interval '{10 * k + 9} minutes' "
                f"AND x.received_at < {minute} - interval '{10 * k - 1} minutes')"
                for k in range(6)
            )
            + " FROM sampling_scanaction x JOIN sampling_site st ON st.id = x.site_id "
            f"JOIN areas_area a ON a.id = st.area_id WHERE x.received_at >= {minute} - interval '59 minutes' "
            "AND x.round_id = %s AND x.kind = 'add' AND x.result IN ('accepted', 'warned') "
            "AND a.path LIKE %s GROUP BY 1",
            [now] * 13 + [round_id, like],
        )
        out["sites"] = c.fetchall()
    return out


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def measure(current: Round, district: Area, rounds: int) -> None:
    from gridroll.command import queries

    grid = Area.objects.filter(level="grid").order_by("path")[len(Area.objects.filter(level="grid")) // 2]
    # The figures agree with the hand-written ones before anything is timed.
    # One clock for both: a minute boundary between the two reads moved the windows by a minute of
    # scans (8,400 at the peak) and failed the check below.
    now = timezone.now()
    ours = queries.view_data(current, district, now=now)
    hand = hand_written(current.pk, district.path, now)
    assert ours["areas"]["totals"]["total"] == sum(r[1] for r in hand["grids"])
    assert ours["areas"]["totals"]["missing"] == sum(r[2] for r in hand["grids"])
    assert ours["progress"]["sampled"] == sum(r[1] for r in hand["hourly"])
    assert ours["tubes"]["totals"]["reported"] == sum(r[4] for r in hand["tubes"])
    assert sum(lab["tubes"] for lab in ours["labs"]) == sum(r[1] for r in hand["labs"])
    # The live hour's last 10 minutes, at the same clock.
    assert sum(s["last10"] for s in ours["sites"]) == sum(r[1] for r in hand["sites"])
    out: dict[str, list[float]] = {
        k: [] for k in ("district", "district_hand", "grid", "grid_hand", "unchanged")
    }
    panels: dict[str, list[float]] = {}
    for _ in range(rounds):
        for key, fn in (
            ("district", lambda: queries.view_data(current, district)),
            ("district_hand", lambda: hand_written(current.pk, district.path)),
            ("grid", lambda: queries.view_data(current, grid)),
            ("grid_hand", lambda: hand_written(current.pk, grid.path)),
            ("unchanged", lambda: queries.versions(current, district)),
        ):
            started = time.perf_counter()
            fn()
            out[key].append(time.perf_counter() - started)
        # Where the district's time goes: each panel alone (the roll call's per-grid sums first).
        started = time.perf_counter()
        grids = queries.per_grid(current, district)
        panels.setdefault("per_grid", []).append(time.perf_counter() - started)
        for name in queries.PANELS:
            started = time.perf_counter()
            queries.panel(name, current, district, grids)
            panels.setdefault(name, []).append(time.perf_counter() - started)
    for key, values in out.items():
        print(json.dumps({"name": f"command.{key}_ms", "value": ms(statistics.median(values)), "unit": "ms"}))
    for key in ("district", "grid"):
        ratio = statistics.median(a / b for a, b in zip(out[key], out[f"{key}_hand"], strict=True))
        print(json.dumps({"name": f"command.{key}_over_hand", "value": round(ratio, 2), "unit": "x"}))
    for name, values in panels.items():
        print(
            json.dumps(
                {"name": f"command.panel.{name}_ms", "value": ms(statistics.median(values)), "unit": "ms"}
            )
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--setup-only", action="store_true")
    parser.add_argument("--peak-per-second", type=int, default=140, help="scans in the last hour, per second")
    parser.add_argument(
        "--touch",
        choices=["none", "newest", "spread"],
        help="first leave the open round's tubes written since the last VACUUM (see touch_tubes)",
    )
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("the command benchmark needs PostgreSQL (DATABASE_URL=postgres://...)")
    started = time.perf_counter()
    current, district = setup(args.residents)
    print(f"setup: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    if args.touch:
        print(f"tubes written since VACUUM: {touch_tubes(current, args.touch)}", file=sys.stderr)
    if args.setup_only:
        return
    print(f"live hour: {live_hour(current, args.peak_per_second)} scans", file=sys.stderr)
    measure(current, district, args.rounds)


if __name__ == "__main__":
    main()
