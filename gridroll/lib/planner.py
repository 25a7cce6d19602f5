"""The round planner: buildings → batches (site, time slot). Pure, no ORM (docs/algorithms/planning.md).

Two stages. (1) Which site serves which building: a transportation LP solved by HiGHS (highspy) —
minimise walking cost subject to every building served once and each site's station-minutes over the
day at most ``LOAD_TARGET`` of what it has — then rounded (a vertex solution splits at most one
building per binding site) and repaired greedily. (2) When: per site, buildings in compound/grid order
fill consecutive slots up to ``SLOT_TARGET`` of the slot's station-minutes, so arrivals never outrun
service by design; the queue simulation (``queuesim``) checks the result.

Units are minutes from the round's start and station-minutes (one station busy for one minute).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

# Guideline: queues ≤ 20 min. Keeping planned load below capacity leaves room for arrival bursts.
LOAD_TARGET = 0.82
SLOT_TARGET = 0.9
CANDIDATES = 4
# Walking cost by how far up the area tree the site's area is from the building's grid: same grid,
# same community, same subdistrict, elsewhere. Sites are placed near what they serve, so the tree is
# the distance we know for every building (buildings carry no coordinates).
LEVEL_COST = (0.0, 1.0, 4.0, 20.0)
UNSERVED_COST = 1e6


class PlanError(Exception):
    """A plan that cannot be made, with a stable code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class BuildingIn:
    id: int
    grid_path: str
    order_key: tuple[str, ...]
    people: int  # who come to a site (the elderly/disabled come in their own slot, the bedridden stay home)
    minutes_per_person: float  # station-minutes per person by the building's pool mode
    elderly: int = 0
    kind: str = "general"  # general / school / factory: schools and factories get batches of their own

    @property
    def load(self) -> float:
        """Station-minutes at the site, the elderly slot included."""
        return (self.people + self.elderly) * self.minutes_per_person


@dataclass
class SiteIn:
    id: int
    area_path: str
    stations: int
    opens: float  # minutes from the round's start
    closes: float
    speed: float = 1.0  # measured throughput ÷ planned (live re-planning); 0 = shut
    busy_until: float = 0.0  # backlog: stations busy until then (live re-planning)

    @property
    def minutes(self) -> float:
        start = max(self.opens, self.busy_until)
        return max(0.0, self.closes - start) * self.stations * self.speed


@dataclass
class BatchOut:
    site_id: int
    start: float
    end: float
    kind: str = "general"
    buildings: list[tuple[int, int]] = field(default_factory=list)  # (building id, people)
    load: float = 0.0  # station-minutes

    @property
    def people(self) -> int:
        return sum(p for _b, p in self.buildings)


@dataclass
class PlanOut:
    batches: list[BatchOut]
    site_of: dict[int, int]
    cost: float
    lp_bound: float
    split: int  # buildings the LP split between sites (rounded by the repair)


def _prefixes(path: str) -> list[str]:
    parts = [p for p in path.strip("/").split("/") if p]
    return ["/" + "/".join(parts[:i]) + "/" for i in range(len(parts), 0, -1)]


def candidates(
    buildings: list[BuildingIn], sites: list[SiteIn], k: int = CANDIDATES
) -> list[list[tuple[int, float]]]:
    """For each building, up to ``k`` (site index, cost) pairs, nearest in the area tree first."""
    import bisect

    # Neighbours in the tree's order stand in for neighbours on the ground (sibling areas are numbered
    # and created in order): among sites of one level, the nearest in path order come first.
    order = sorted(range(len(sites)), key=lambda j: sites[j].area_path)
    paths = [sites[j].area_path for j in order]
    rank = {j: r for r, j in enumerate(order)}
    under: dict[str, list[int]] = defaultdict(list)
    for j, s in enumerate(sites):
        if s.minutes <= 0:
            continue
        for p in _prefixes(s.area_path):
            under[p].append(j)
    cache: dict[str, list[tuple[int, float]]] = {}
    out = []
    for b in buildings:
        got = cache.get(b.grid_path)
        if got is None:
            anchor = bisect.bisect_left(paths, b.grid_path)
            got, seen = [], set()
            for depth, p in enumerate(_prefixes(b.grid_path)):
                level = min(depth, len(LEVEL_COST) - 1)
                for j in sorted(under.get(p, ()), key=lambda j: abs(rank[j] - anchor)):
                    if j not in seen:
                        seen.add(j)
                        got.append((j, LEVEL_COST[level] + 0.001 * len(got)))
                if len(got) >= k:
                    break
            got = got[:k]
            cache[b.grid_path] = got
        out.append(got)
    return out


def assign_sites(
    buildings: list[BuildingIn], sites: list[SiteIn]
) -> tuple[dict[int, int], float, float, int]:
    """Stage 1: building index → site index, by the LP and a greedy repair. PlanError when it does not fit."""
    import highspy

    cand = candidates(buildings, sites)
    cols_b, cols_s, costs = [], [], []
    for i, c in enumerate(cand):
        if not c and buildings[i].load > 0:
            raise PlanError("no_site", f"building {buildings[i].id} has no open sampling site in its area")
        for j, c_ij in c:
            cols_b.append(i)
            cols_s.append(j)
            costs.append(c_ij)
    n, m, nc = len(buildings), len(sites), len(costs)
    # Columns: x[b,s] then one slack per building ("unserved"), so the LP is always feasible and a
    # shortage shows as slack rather than as a solver failure.
    loads = np.array([b.load for b in buildings])
    caps = np.array([s.minutes * LOAD_TARGET for s in sites])
    num_col = nc + n
    starts = np.arange(0, 2 * nc + 1, 2, dtype=np.int32)
    starts = np.concatenate([starts, 2 * nc + 1 + np.arange(n, dtype=np.int32)])
    index = np.empty(2 * nc + n, dtype=np.int32)
    value = np.empty(2 * nc + n)
    index[0 : 2 * nc : 2] = cols_b
    index[1 : 2 * nc : 2] = n + np.array(cols_s, dtype=np.int32)
    value[0 : 2 * nc : 2] = 1.0
    value[1 : 2 * nc : 2] = loads[cols_b] if nc else []
    index[2 * nc :] = np.arange(n)
    value[2 * nc :] = 1.0
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = num_col, n + m
    lp.col_cost_ = np.concatenate([np.array(costs), np.full(n, UNSERVED_COST)])
    lp.col_lower_ = np.zeros(num_col)
    lp.col_upper_ = np.ones(num_col)
    lp.row_lower_ = np.concatenate([np.ones(n), np.full(m, -highspy.kHighsInf)])
    lp.row_upper_ = np.concatenate([np.ones(n), caps])
    # The matrix is built apart and assigned whole: lp.a_matrix_ hands back a copy.
    a = highspy.HighsSparseMatrix()
    a.format_ = highspy.MatrixFormat.kColwise
    a.num_col_, a.num_row_ = num_col, n + m
    a.start_ = starts[: num_col + 1]
    a.index_ = index
    a.value_ = value
    lp.a_matrix_ = a
    h = highspy.Highs()  # type: ignore[no-untyped-call]
    h.setOptionValue("output_flag", False)
    h.passModel(lp)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        raise PlanError(
            "solver_failed", f"the LP solver stopped: {h.modelStatusToString(h.getModelStatus())}"
        )
    x = np.array(h.getSolution().col_value)
    slack = x[nc:]
    if (slack > 1e-6).any():
        short = float((slack * loads).sum())
        raise PlanError(
            "not_enough_capacity",
            f"the sites' stations cannot serve everyone in the window: "
            f"about {short / 60:.0f} station-hours short",
        )
    bound = float(np.dot(x[:nc], costs))
    # Rounding: most buildings are integral; split ones go where most of them went, if there is room.
    # Rounding may go over the LP's target by about one building (a vertex solution splits few); the
    # slot packing needs the rest of SLOT_TARGET for the elderly slot and the slots' ends.
    biggest = float(loads.max()) if n else 0.0
    hard = np.array([s.minutes * LOAD_TARGET + biggest for s in sites])
    used = np.zeros(m)
    by_b: dict[int, list[tuple[float, float, int]]] = defaultdict(list)
    for col in range(nc):
        by_b[cols_b[col]].append((-x[col], costs[col], cols_s[col]))
    split = sum(1 for opts in by_b.values() if sum(1 for v, _c, _j in opts if -v > 1e-6) > 1)
    order = sorted(range(n), key=lambda i: min((v for v, _c, _j in by_b[i]), default=0.0))
    site_of, cost = {}, 0.0
    for i in order:
        if buildings[i].load <= 0 and not by_b[i]:
            continue
        for _v, cost_ij, j in sorted(by_b[i]):
            if used[j] + loads[i] <= hard[j] + 1e-9:
                used[j] += loads[i]
                site_of[i] = j
                cost += cost_ij
                break
        else:
            # Every candidate is at the target: the least loaded takes it, within what the slots can hold.
            j = min((j for _v, _c, j in by_b[i]), key=lambda j: (used[j] + loads[i]) / max(hard[j], 1e-9))
            if used[j] + loads[i] > sites[j].minutes * (SLOT_TARGET - 0.03):
                raise PlanError(
                    "not_enough_capacity", f"no site near building {buildings[i].id} has room left"
                )
            used[j] += loads[i]
            site_of[i] = j
            cost += dict((jj, c) for _v, c, jj in by_b[i])[j]
    return site_of, cost, bound, split


def schedule(
    buildings: list[BuildingIn], sites: list[SiteIn], site_of: dict[int, int], slot: float
) -> list[BatchOut]:
    """Stage 2: per site, consecutive slots filled in compound/grid order; an elderly slot per site."""
    per_site: dict[int, list[int]] = defaultdict(list)
    for i, j in site_of.items():
        per_site[j].append(i)
    batches: list[BatchOut] = []
    for j, idx in sorted(per_site.items()):
        s = sites[j]
        cap = s.stations * s.speed * slot * SLOT_TARGET
        first = max(s.opens, s.busy_until)
        n_slots = int((s.closes - first + 1e-9) // slot)
        if n_slots <= 0 or cap <= 0:
            raise PlanError("window_too_short", f"site {s.id} has no whole slot left")
        room = [cap] * n_slots
        # The elderly and disabled get a quiet slot of their own: the second (after the morning rush).
        elderly = [(buildings[i].id, buildings[i].elderly) for i in idx if buildings[i].elderly]
        if elderly:
            e_slot = 1 if n_slots > 1 else 0
            e_load = sum(buildings[i].elderly * buildings[i].minutes_per_person for i in idx)
            room[e_slot] -= e_load
            batches.append(
                BatchOut(s.id, first + e_slot * slot, first + (e_slot + 1) * slot, "elderly", elderly, e_load)
            )
        # Schools and factories first in their own batches, then residents in compound/grid order.
        idx.sort(key=lambda i: (buildings[i].kind == "general", buildings[i].order_key))
        t, current = 0, None
        for i in idx:
            b = buildings[i]
            if b.people == 0:
                continue
            own = b.kind != "general"
            load = b.people * b.minutes_per_person
            if current is not None and (own or current.kind != "general" or room[t] < load - 1e-9):
                # A new batch starts in what is left of this slot and runs on into the next ones.
                current = None
            while t < n_slots and room[t] <= 1e-6 * cap:
                t += 1
            if t >= n_slots:
                raise PlanError("window_too_short", f"site {s.id} cannot fit its buildings in the window")
            if current is None:
                # A building bigger than what is left of a slot takes as many whole slots as it needs.
                need, end = load, t
                while need > room[end] + 1e-9:
                    need -= max(room[end], 0.0)
                    end += 1
                    if end >= n_slots:
                        raise PlanError(
                            "window_too_short", f"site {s.id} cannot fit its buildings in the window"
                        )
                current = BatchOut(s.id, first + t * slot, first + (end + 1) * slot, b.kind)
                batches.append(current)
                for k in range(t, end):
                    room[k] = 0.0
                room[end] -= need
                t = end
            else:
                room[t] -= load
            current.buildings.append((b.id, b.people))
            current.load += load
    return batches


def plan(buildings: list[BuildingIn], sites: list[SiteIn], slot: float = 30.0) -> PlanOut:
    """Plan every building into one batch; PlanError (not_enough_capacity, no_site, window_too_short)."""
    site_of, cost, bound, split = assign_sites(buildings, sites)
    batches = schedule(buildings, sites, site_of, slot)
    return PlanOut(batches, {buildings[i].id: sites[j].id for i, j in site_of.items()}, cost, bound, split)


def naive_plan(buildings: list[BuildingIn], sites: list[SiteIn], window: float = 60.0) -> list[BatchOut]:
    """What happens with no plan: everyone goes to their nearest site when it opens (the comparison)."""
    cand = candidates(buildings, sites, k=1)
    batches: dict[int, BatchOut] = {}
    for b, c in zip(buildings, cand, strict=True):
        if not c or b.people == 0:
            continue
        s = sites[c[0][0]]
        batch = batches.setdefault(s.id, BatchOut(s.id, s.opens, s.opens + window))
        batch.buildings.append((b.id, b.people))
        batch.load += b.load
    return list(batches.values())
