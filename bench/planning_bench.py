"""Planning a 1,000,000-resident district (issue 19): plan time, simulated worst queue, re-plan time.

About 5,500 buildings and 400 sites are synthesised in memory (20 subdistricts × 10 communities × 2
grids, one site of 6 stations per grid, 9–18 buildings of 90–300 residents per grid, a few elderly per
building, 10-in-1 everywhere, a 6-hour window). Timings are medians of interleaved rounds against a
floor measured in the same run: the naive plan (everyone to the nearest site, an O(n) pass).
The queue simulation (SimPy) runs once on the plan and once on the naive plan, in the same run.

Staff (part 6): the plan's 400 sites in 2-hour shifts, each role's places sized from the site's
stations and the plan's flow (gridroll.lib.staffing.role_counts), filled from about 6,000 staff in 20
teams (one sent to each subdistrict) with an hour of rest between shifts: HiGHS against the greedy
floor, in the same run (``--staff-only`` skips the queue simulation).

    python bench/planning_bench.py --rounds 3
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gridroll.lib import planner, queuesim, staffing

MPP = 60 / 100  # 10-in-1: 100 swabs per hour per station (gridroll.planning.models.DEFAULT_RATES)


def district(seed: int = 7) -> tuple[list[planner.BuildingIn], list[planner.SiteIn]]:
    rng = random.Random(seed)
    buildings, sites, g = [], [], 0
    for sd in range(20):
        for c in range(10):
            for _gr in range(2):
                g += 1
                path = f"/1/{100 + sd}/{1000 + sd * 10 + c}/{5000 + g}/"
                sites.append(planner.SiteIn(g, path, 6, 0, 360))
                for b in range(rng.randint(9, 18)):
                    buildings.append(
                        planner.BuildingIn(
                            len(buildings) + 1,
                            path,
                            (path, str(b)),
                            rng.randint(90, 300),
                            MPP,
                            elderly=rng.randint(0, 8),
                        )
                    )
    return buildings, sites


def worst(batches) -> tuple[float, float]:
    rows = [(b.site_id, b.start, b.end, b.people, MPP) for b in batches]
    res = queuesim.simulate({sid: 6 for sid in {r[0] for r in rows}}, rows)
    return max(r.max_wait for r in res.values()), max(r.p95_wait for r in res.values())


SHIFT = 120.0
# A team's people by skills, per 100 (clinic staff swab, cadres scan and enter, 公益岗 keep order).
MIX = (
    (("sampler",), 26),
    (("sampler", "entry"), 6),
    (("scanner", "entry"), 26),
    (("scanner", "guide"), 16),
    (("consult", "entry"), 8),
    (("order", "guide"), 14),
    (("driver",), 4),
)


def staff_needs(result: planner.PlanOut, sites: list[planner.SiteIn]) -> list[staffing.NeedIn]:
    """Each site's 2-hour shifts with the places each role needs, from the plan's batches."""
    flow: dict[tuple[int, int], float] = {}
    for b in result.batches:
        k = int(b.start // SHIFT)
        flow[(b.site_id, k)] = flow.get((b.site_id, k), 0.0) + b.people
    needs: list[staffing.NeedIn] = []
    for s in sites:
        blocks = []
        for k in range(int(s.closes // SHIFT)):
            counts = staffing.role_counts(s.stations, flow.get((s.id, k), 0.0) / (SHIFT / 60), 100, True)
            if counts:
                blocks.append((k, counts))
        if blocks:
            blocks[-1][1]["driver"] = 1
        for k, counts in blocks:
            for role, n in counts.items():
                needs.append(
                    staffing.NeedIn(len(needs) + 1, s.area_path, role, k * SHIFT, (k + 1) * SHIFT, n)
                )
    return needs


def staff_people(per_team: int = 300) -> list[staffing.PersonIn]:
    people: list[staffing.PersonIn] = []
    for sd in range(20):
        for skills, share in MIX:
            for _ in range(per_team * share // 100):
                people.append(staffing.PersonIn(len(people) + 1, f"/1/{100 + sd}/", frozenset(skills)))
    return people


def staff_bench(
    result: planner.PlanOut, sites: list[planner.SiteIn], rounds: int, per_team: int = 300
) -> list[tuple]:
    needs = staff_needs(result, sites)
    people = staff_people(per_team)
    solve_t, greedy_t = [], []
    solved = greedy = None
    for _ in range(rounds):
        t = time.perf_counter()
        greedy = staffing.greedy(needs, people, rest=60)
        greedy_t.append(time.perf_counter() - t)
        t = time.perf_counter()
        solved = staffing.solve(needs, people, rest=60)
        solve_t.append(time.perf_counter() - t)
    assert solved is not None and greedy is not None
    assert staffing.check(needs, people, solved, rest=60) == [], "an assignment breaks skills or rest"
    assert staffing.check(needs, people, greedy, rest=60) == []
    places = sum(n.count for n in needs)
    g, h = statistics.median(greedy_t), statistics.median(solve_t)
    print(
        f"staff: {len(needs)} shift-role needs, {places} places, {len(people)} people; "
        f"HiGHS {h:.2f} s fills {solved.filled} ({places - solved.filled} short), "
        f"greedy floor {g:.2f} s fills {greedy.filled} ({places - greedy.filled} short)",
        file=sys.stderr,
    )
    return [
        ("staff.places", places, "places"),
        ("staff.people", len(people), "people"),
        ("staff.solve_seconds", round(h, 2), "s"),
        ("staff.greedy_seconds", round(g, 2), "s"),
        ("staff.short_solver", places - solved.filled, "places"),
        ("staff.short_greedy", places - greedy.filled, "places"),
    ]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--staff-only", action="store_true", help="plan once, then only the staff assignment")
    ap.add_argument("--staff-per-team", type=int, default=300, help="people in each of the 20 teams")
    args = ap.parse_args()
    buildings, sites = district()
    if args.staff_only:
        for name, value, unit in staff_bench(
            planner.plan(buildings, sites), sites, args.rounds, args.staff_per_team
        ):
            print(json.dumps({"name": name, "value": value, "unit": unit}))
        return
    people = sum(b.people + b.elderly for b in buildings)
    floor_t, plan_t, replan_t = [], [], []
    result = None
    for _ in range(args.rounds):
        t = time.perf_counter()
        naive = planner.naive_plan(buildings, sites)
        floor_t.append(time.perf_counter() - t)
        t = time.perf_counter()
        result = planner.plan(buildings, sites)
        plan_t.append(time.perf_counter() - t)
        # Three hours in, site 1 drops out: the batches not yet started are planned again from then.
        later = {
            bid for b in result.batches if b.start >= 180 and b.kind == "general" for bid, _p in b.buildings
        }
        rest = [b for b in buildings if b.id in later]
        after = [
            planner.SiteIn(s.id, s.area_path, s.stations, 180, s.closes, speed=0.0 if s.id == 1 else 1.0)
            for s in sites
        ]
        # Their elderly slots were kept (they come earlier or stay where they were).
        rest = [
            planner.BuildingIn(b.id, b.grid_path, b.order_key, b.people, b.minutes_per_person) for b in rest
        ]
        t = time.perf_counter()
        replanned = planner.plan(rest, after)
        replan_t.append(time.perf_counter() - t)
        assert not any(b.site_id == 1 for b in replanned.batches)
    assert result is not None
    # Correctness after the load: every building once, no batch over its slots' capacity.
    seen = [bid for b in result.batches if b.kind == "general" for bid, _p in b.buildings]
    assert sorted(seen) == sorted(b.id for b in buildings if b.people), "a building is missing or twice"
    for b in result.batches:
        assert b.load <= 6 * (b.end - b.start) * planner.SLOT_TARGET + 1e-6, "a batch over capacity"
    t = time.perf_counter()
    plan_worst, plan_p95 = worst(result.batches)
    sim_t = time.perf_counter() - t
    naive_worst, naive_p95 = worst(naive)
    f, p, r = statistics.median(floor_t), statistics.median(plan_t), statistics.median(replan_t)
    print(f"district: {len(buildings)} buildings, {len(sites)} sites, {people} residents", file=sys.stderr)
    print(
        f"naive plan (floor) {f * 1000:.0f} ms; plan {p:.2f} s ({p / f:.0f}× floor); re-plan {r:.2f} s",
        file=sys.stderr,
    )
    print(
        f"LP split {result.split} buildings; cost {result.cost:.0f} (LP {result.lp_bound:.0f})",
        file=sys.stderr,
    )
    print(
        f"worst wait: plan {plan_worst:.1f} min (p95 {plan_p95:.1f}), "
        f"naive {naive_worst:.1f} min (p95 {naive_p95:.1f}); "
        f"simulation {sim_t:.1f} s",
        file=sys.stderr,
    )
    for name, value, unit in (
        ("planning.residents", people, "residents"),
        ("planning.plan_seconds", round(p, 3), "s"),
        ("planning.plan_vs_naive_floor", round(p / f, 1), "ratio"),
        ("planning.replan_seconds", round(r, 3), "s"),
        ("planning.worst_wait_plan", round(plan_worst, 1), "min"),
        ("planning.worst_wait_naive", round(naive_worst, 1), "min"),
        ("planning.simulation_seconds", round(sim_t, 1), "s"),
        *staff_bench(result, sites, args.rounds, args.staff_per_team),
    ):
        print(json.dumps({"name": name, "value": value, "unit": unit}))


if __name__ == "__main__":
    main()
