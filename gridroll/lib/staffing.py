"""Staff assignment: people → shifts (site, role, time). Pure, no ORM (docs/algorithms/planning.md, Staff).

People with the same base area (their team's destination, or their home area) and the same skills are
interchangeable, so the integer program counts people of each such *type* per (shift, role) instead of
deciding person by person: y[type, need] ≥ 0 integer, short[need] ≥ 0, and

    minimise   SHORT_COST · Σ short  +  Σ distance(type's base, site) · y
    subject to Σ_type y[type, need] + short[need] = need.count            (every need filled or reported)
               Σ_{needs whose rest-extended interval covers t} y[type, need] ≤ people of the type
                                                                          (for every start point t)

A shift's rest-extended interval is [start, end + rest): two shifts whose extended intervals meet
cannot be worked by one person (they overlap, or leave less than the minimum rest between them). These
intervals form an interval graph, in which the largest set of mutually conflicting shifts is the set
covering one point, so the constraints above are exactly "the type's people can be spread over the
shifts"; ``_spread`` then hands the counted places to named people by interval partitioning (earliest
start first, to the person free longest), which needs no more people than the largest such set. HiGHS
solves the program (highspy, already used by the round planner).

``greedy`` is the floor the benchmark compares with: needs in start order, each place to the nearest
free person with the skill.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

# A place left empty costs more than any distance: fill first, then keep people near home.
SHORT_COST = 1000.0
DEFAULT_REST_MINUTES = 60.0
# Planned load per station, as the round planner keeps it (planner.LOAD_TARGET): room for bursts.
LOAD_TARGET = 0.82


class StaffingError(Exception):
    """An assignment that cannot be computed, with a stable code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class NeedIn:
    id: int  # the shift
    site_path: str
    role: str
    start: float  # minutes from any fixed origin
    end: float
    count: int


@dataclass
class PersonIn:
    id: int
    base_path: str  # where they may be sent: their team's destination, or their home area
    skills: frozenset[str]
    busy: list[tuple[float, float]] = field(default_factory=list)  # shifts already worked elsewhere


@dataclass
class Result:
    assigned: list[tuple[int, int]]  # (need id, person id)
    short: dict[int, int]  # need id → places left empty (only those > 0)
    objective: float = 0.0
    solver: str = ""
    status: str = ""

    @property
    def filled(self) -> int:
        return len(self.assigned)


def role_counts(stations: int, per_hour: float, rate: float, planned: bool) -> dict[str, int]:
    """People of each role one site needs in one shift, from its open stations and expected flow.

    Samplers: enough open stations for the flow (people per hour) at the planner's load, or all open
    stations when no plan says what comes; one scanner-guide per sampler (scanning kept ahead of
    swabbing); one information entry per two samplers; one guide, one for questions, one for order (two
    from four stations). The caller adds one driver to a site's last shift (boxes to the lab)."""
    if planned:
        samplers = min(stations, math.ceil(per_hour / (rate * LOAD_TARGET))) if per_hour > 0 else 0
    else:
        samplers = stations
    if samplers == 0:
        return {}
    return {
        "sampler": samplers,
        "scanner": samplers,
        "entry": math.ceil(samplers / 2),
        "guide": 1,
        "consult": 1,
        "order": 1 + (samplers >= 4),
    }


def eligible(person: PersonIn, need: NeedIn) -> bool:
    return need.role in person.skills and need.site_path.startswith(person.base_path)


def distance(base_path: str, site_path: str) -> float:
    """How many levels below the person's base area the site lies (0: the base area's own site). People
    are sent only inside their base area (``eligible``); among its sites the nearest levels come first."""
    return float(site_path.rstrip("/").count("/") - base_path.rstrip("/").count("/"))


def _prefixes(path: str) -> list[str]:
    parts = [p for p in path.split("/") if p]
    return ["/" + "/".join(parts[:i]) + "/" for i in range(1, len(parts) + 1)]


def _conflicts(a: tuple[float, float], b: tuple[float, float], rest: float) -> bool:
    return a[0] < b[1] + rest and b[0] < a[1] + rest


TypeKey = tuple[str, frozenset[str], tuple[tuple[float, float], ...]]


def _types(people: list[PersonIn]) -> dict[TypeKey, list[PersonIn]]:
    by: dict[TypeKey, list[PersonIn]] = defaultdict(list)
    for p in people:
        by[(p.base_path, p.skills, tuple(sorted(p.busy)))].append(p)
    return by


def solve(needs: list[NeedIn], people: list[PersonIn], rest: float = DEFAULT_REST_MINUTES) -> Result:
    """The assignment by HiGHS (see the module's docstring). StaffingError solver_failed if HiGHS gives
    no solution (it always has one: every need may be left short)."""
    import highspy

    needs = [n for n in needs if n.count > 0]
    types = _types(people)
    keys = list(types)
    # Variables: one y per (type, need) the type may fill, then one short per need.
    cols: list[tuple[int, int]] = []
    cost: list[float] = []
    # Needs by (role, every area above their site): a type's candidates are one lookup per skill.
    index: dict[tuple[str, str], list[int]] = defaultdict(list)
    for ni, n in enumerate(needs):
        for prefix in _prefixes(n.site_path):
            index[(n.role, prefix)].append(ni)
    for ti, key in enumerate(keys):
        rep = types[key][0]
        for skill in sorted(rep.skills):
            for ni in index.get((skill, rep.base_path), ()):
                n = needs[ni]
                if not any(_conflicts((n.start, n.end), b, rest) for b in rep.busy):
                    cols.append((ti, ni))
                    cost.append(distance(rep.base_path, n.site_path))
    n_y = len(cols)
    n_var = n_y + len(needs)
    cost += [SHORT_COST] * len(needs)
    upper = [float(min(len(types[keys[ti]]), needs[ni].count)) for ti, ni in cols] + [
        float(n.count) for n in needs
    ]

    rows_idx: list[list[int]] = []
    rows_lo: list[float] = []
    rows_hi: list[float] = []
    by_need: dict[int, list[int]] = defaultdict(list)
    by_type: dict[int, list[int]] = defaultdict(list)
    for j, (ti, ni) in enumerate(cols):
        by_need[ni].append(j)
        by_type[ti].append(j)
    for ni, n in enumerate(needs):
        rows_idx.append([*by_need[ni], n_y + ni])
        rows_lo.append(float(n.count))
        rows_hi.append(float(n.count))
    for ti, js in by_type.items():
        size = float(len(types[keys[ti]]))
        points = sorted({needs[cols[j][1]].start for j in js})
        seen: set[tuple[int, ...]] = set()
        for t in points:
            clique = tuple(j for j in js if needs[cols[j][1]].start <= t < needs[cols[j][1]].end + rest)
            if len(clique) < 2 or clique in seen:
                continue
            # A clique whose places cannot exceed the type's people needs no row.
            if sum(upper[j] for j in clique) <= size:
                continue
            seen.add(clique)
            rows_idx.append(list(clique))
            rows_lo.append(0.0)
            rows_hi.append(size)

    h = highspy.Highs()  # type: ignore[no-untyped-call]
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", 30.0)
    h.setOptionValue("mip_rel_gap", 1e-4)
    inf = highspy.kHighsInf
    h.addVars(n_var, np.zeros(n_var), np.array(upper, dtype=float))
    h.changeColsCost(n_var, np.arange(n_var, dtype=np.int32), np.array(cost, dtype=float))
    h.changeColsIntegrality(
        n_var, np.arange(n_var, dtype=np.int32), np.array([highspy.HighsVarType.kInteger] * n_var)
    )
    starts: list[int] = []
    entries: list[int] = []
    value: list[float] = []
    for r in rows_idx:
        starts.append(len(entries))
        entries.extend(r)
        value.extend([1.0] * len(r))
    if rows_idx:
        h.addRows(
            len(rows_idx),
            np.array(rows_lo, dtype=float),
            np.array([min(x, inf) for x in rows_hi], dtype=float),
            len(entries),
            np.array(starts, dtype=np.int32),
            np.array(entries, dtype=np.int32),
            np.array(value, dtype=float),
        )
    h.run()
    status = h.modelStatusToString(h.getModelStatus())
    info = h.getInfo()
    if info.primal_solution_status != 2:  # kSolutionStatusFeasible
        raise StaffingError("solver_failed", f"HiGHS found no assignment ({status})")
    x = h.getSolution().col_value
    counts: dict[int, list[tuple[int, int]]] = defaultdict(list)  # type → [(need index, places)]
    for j, (ti, ni) in enumerate(cols):
        k = round(x[j])
        if k > 0:
            counts[ti].append((ni, k))
    assigned: list[tuple[int, int]] = []
    for ti, places in counts.items():
        assigned += _spread([(needs[ni], k) for ni, k in places], types[keys[ti]], rest)
    return _result(needs, assigned, float(info.objective_function_value), "highs", str(status))


def _spread(places: list[tuple[NeedIn, int]], people: list[PersonIn], rest: float) -> list[tuple[int, int]]:
    """Interval partitioning: places in start order, each to the person free the longest. Places no one
    is free for (only if the counts broke a rest rule, which the cliques forbid) are left out."""
    free: list[tuple[float, int]] = [(-1e18, i) for i in range(len(people))]
    heapq.heapify(free)
    out = []
    for need, k in sorted(places, key=lambda p: (p[0].start, p[0].end)):
        taken = []
        for _ in range(k):
            if not free or free[0][0] > need.start:
                break
            _t, i = heapq.heappop(free)
            out.append((need.id, people[i].id))
            taken.append(i)
        for i in taken:
            heapq.heappush(free, (need.end + rest, i))
    return out


def greedy(needs: list[NeedIn], people: list[PersonIn], rest: float = DEFAULT_REST_MINUTES) -> Result:
    """The floor: needs in start order; each place to the nearest eligible person free by then."""
    free_at = {p.id: -1e18 for p in people}
    for p in people:
        for b in p.busy:
            free_at[p.id] = max(free_at[p.id], b[1] + rest)
    by: dict[tuple[str, str], list[PersonIn]] = defaultdict(list)
    for p in people:
        for s in p.skills:
            by[(s, p.base_path)].append(p)
    assigned = []
    cost = 0.0
    for n in sorted((n for n in needs if n.count > 0), key=lambda n: (n.start, n.end)):
        left = n.count
        # Nearest first: people based in the site's own area, then one level up, and so on.
        for prefix in reversed(_prefixes(n.site_path)):
            for p in by.get((n.role, prefix), ()):
                if left == 0:
                    break
                if free_at[p.id] <= n.start:
                    assigned.append((n.id, p.id))
                    free_at[p.id] = n.end + rest
                    cost += distance(p.base_path, n.site_path)
                    left -= 1
    res = _result(needs, assigned, 0.0, "greedy", "done")
    res.objective = cost + SHORT_COST * sum(res.short.values())
    return res


def _result(
    needs: list[NeedIn], assigned: list[tuple[int, int]], objective: float, solver: str, status: str
) -> Result:
    got: dict[int, int] = defaultdict(int)
    for nid, _pid in assigned:
        got[nid] += 1
    short = {n.id: n.count - got[n.id] for n in needs if n.count > got[n.id]}
    return Result(assigned, short, objective, solver, status)


def check(needs: list[NeedIn], people: list[PersonIn], result: Result, rest: float) -> list[str]:
    """What an assignment breaks (empty when it respects skills, base areas, counts and rest)."""
    need = {n.id: n for n in needs}
    person = {p.id: p for p in people}
    problems = []
    per_person: dict[int, list[NeedIn]] = defaultdict(list)
    got: dict[int, int] = defaultdict(int)
    for nid, pid in result.assigned:
        n, p = need[nid], person[pid]
        if not eligible(p, n):
            problems.append(f"person {pid} cannot fill need {nid}")
        per_person[pid].append(n)
        got[nid] += 1
    for nid, k in got.items():
        if k > need[nid].count:
            problems.append(f"need {nid} over-filled")
    for pid, ns in per_person.items():
        spans = sorted([(n.start, n.end) for n in ns] + person[pid].busy)
        for a, b in itertools.pairwise(spans):
            if b[0] < a[1] + rest:
                problems.append(f"person {pid} has no rest between {a} and {b}")
    return problems
