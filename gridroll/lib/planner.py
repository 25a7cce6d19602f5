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
from typing import Any

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
    """A plan that cannot be made, with a stable code, an English message for the log, and ``params``
    for a translated message (planning.services.PlanningError)."""

    def __init__(self, code: str, message: str, **params: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.params = params


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


def _solve(
    rows: list[int], cand: list[list[tuple[int, float]]], loads: np.ndarray, caps: np.ndarray, integral: bool
) -> tuple[dict[tuple[int, int], float], float]:
    """The transportation model over buildings ``rows`` (each served once, each site under ``caps``),
    by HiGHS: an LP, or a MIP when ``integral``. An 'unserved' slack per building keeps it feasible, so
    a shortage comes back as PlanError rather than as a solver status."""
    import highspy

    cols_b, cols_s, costs = [], [], []
    for r, i in enumerate(rows):
        for j, c_ij in cand[i]:
            cols_b.append(r)
            cols_s.append(j)
            costs.append(c_ij)
    n, m, nc = len(rows), len(caps), len(costs)
    row_loads = loads[rows]
    num_col = nc + n
    starts = np.concatenate([np.arange(0, 2 * nc + 1, 2), 2 * nc + 1 + np.arange(n)]).astype(np.int32)
    index = np.empty(2 * nc + n, dtype=np.int32)
    value = np.empty(2 * nc + n)
    index[0 : 2 * nc : 2] = cols_b
    index[1 : 2 * nc : 2] = n + np.array(cols_s, dtype=np.int32)
    value[0 : 2 * nc : 2] = 1.0
    value[1 : 2 * nc : 2] = row_loads[cols_b] if nc else []
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
    a.start_ = starts
    a.index_ = index
    a.value_ = value
    lp.a_matrix_ = a
    if integral:
        lp.integrality_ = [highspy.HighsVarType.kInteger] * num_col
    h = highspy.Highs()  # type: ignore[no-untyped-call]
    h.setOptionValue("output_flag", False)
    if integral:
        h.setOptionValue("time_limit", 5.0)
        h.setOptionValue("mip_rel_gap", 0.01)
    h.passModel(lp)
    h.run()
    status = h.getModelStatus()
    if status != highspy.HighsModelStatus.kOptimal and not (
        integral and h.getInfo().primal_solution_status == 2
    ):
        raise PlanError("solver_failed", f"the solver stopped: {h.modelStatusToString(status)}")
    x = np.array(h.getSolution().col_value)
    slack = x[nc:]
    if (slack > 1e-6).any():
        short = float((slack * row_loads).sum())
        raise PlanError(
            "not_enough_capacity",
            "the sites' stations cannot serve everyone in the window: "
            f"about {short / 60:.0f} station-hours short",
            hours=f"{short / 60:.0f}",
        )
    out = {(rows[cols_b[k]], cols_s[k]): float(x[k]) for k in range(nc) if x[k] > 1e-9}
    return out, float(np.dot(x[:nc], costs))


def assign_sites(
    buildings: list[BuildingIn], sites: list[SiteIn]
) -> tuple[dict[int, int], float, float, int]:
    """Stage 1: building index → site index. The LP first; buildings it splits between sites (few: a
    vertex solution has at most one basic variable per row) are then placed by a small MIP in what the
    others leave, up to what the slots can hold. PlanError when it does not fit."""
    cand = candidates(buildings, sites)
    for i, c in enumerate(cand):
        if not c and buildings[i].load > 0:
            raise PlanError(
                "no_site",
                f"building {buildings[i].id} has no open sampling site in its area",
                building=buildings[i].id,
            )
    loads = np.array([b.load for b in buildings])
    rows = [i for i, b in enumerate(buildings) if b.load > 0]
    x, bound = _solve(rows, cand, loads, np.array([s.minutes * LOAD_TARGET for s in sites]), integral=False)
    site_of: dict[int, int] = {}
    used = np.zeros(len(sites))
    for (i, j), v in x.items():
        if v > 1 - 1e-6:
            site_of[i] = j
            used[j] += loads[i]
    split = [i for i in rows if i not in site_of]
    if split:
        room = np.array([s.minutes * (SLOT_TARGET - 0.03) for s in sites]) - used
        y, _c = _solve(split, cand, loads, np.maximum(room, 0.0), integral=True)
        for (i, j), v in y.items():
            if v > 0.5:
                site_of[i] = j
    cost_of = {(i, j): c for i, c_list in enumerate(cand) for j, c in c_list}
    cost = sum(cost_of[(i, j)] for i, j in site_of.items())
    return site_of, cost, bound, len(split)


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
