"""Queue simulation of a plan (SimPy): who arrives when, how long they wait (docs/algorithms/planning.md).

Arrivals per batch follow a curve seen at real sites: most people come in the first part of their slot
(a Beta(1.6, 2.6) over the slot), some come early (up to 15 min before), some late (up to 20 min after),
a few not at all (no-shows), and they come as families (groups of 1–4 swabbed one after the other at
one station). Service per person is a gamma time around the station's minutes per person for the pool
mode (cv 0.3). Each site is an M-station FIFO queue; sites are independent.
"""

from __future__ import annotations

import math
import random
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import simpy

EARLY, LATE, NO_SHOW = 0.12, 0.08, 0.04
EARLY_MINUTES, LATE_MINUTES = 15, 20  # how early the early ones come, how late the late ones
FAMILY = (1, 2, 2, 3, 3, 4)  # household sizes people arrive in (the demo's mean is about 2.6)
SERIES_STEP = 15.0


@dataclass
class SiteResult:
    site_id: int
    people: int = 0
    max_wait: float = 0.0
    p95_wait: float = 0.0
    mean_wait: float = 0.0
    max_queue: int = 0
    series: list[tuple[float, int, float]] = field(default_factory=list)  # (minute, queue, worst wait)


def arrivals(rng: random.Random, start: float, end: float, people: int) -> list[tuple[float, int]]:
    """One batch's people as they come: (minute, how many together), the no-shows left out."""
    out, left = [], people
    while left > 0:
        n = min(left, rng.choice(FAMILY))
        left -= n
        if rng.random() < NO_SHOW:
            continue
        u = rng.random()
        if u < EARLY:
            t = start - rng.uniform(0, EARLY_MINUTES)
        elif u < EARLY + LATE:
            t = end + rng.uniform(0, LATE_MINUTES)
        else:
            t = start + (end - start) * rng.betavariate(1.6, 2.6)
        out.append((t, n))
    return out


# The arrival curve's Beta(1.6, 2.6) as a cumulative table over the slot (midpoint rule, 2,000 steps):
# the expected arrivals below read it instead of drawing people.
_BETA_A, _BETA_B, _STEPS = 1.6, 2.6, 2000


def _beta_table() -> list[float]:
    norm = math.exp(math.lgamma(_BETA_A + _BETA_B) - math.lgamma(_BETA_A) - math.lgamma(_BETA_B))
    table, total = [0.0], 0.0
    for i in range(_STEPS):
        x = (i + 0.5) / _STEPS
        total += norm * x ** (_BETA_A - 1) * (1 - x) ** (_BETA_B - 1) / _STEPS
        table.append(total)
    return [v / total for v in table]  # exactly 1 at the end


_BETA_CDF = _beta_table()


def _within(x: float) -> float:
    """The share of a slot's in-slot arrivals come by ``x`` (0–1 of the slot)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    i, frac = divmod(x * _STEPS, 1)
    return _BETA_CDF[int(i)] + (_BETA_CDF[int(i) + 1] - _BETA_CDF[int(i)]) * frac


def expected_arrivals(start: float, end: float, people: int, t: float) -> float:
    """How many of a batch's ``people`` are expected to have arrived by minute ``t`` (the clock of
    ``start`` and ``end``), by the curve ``arrivals`` draws from: the early ones over the 15 minutes
    before the slot, the late ones over the 20 after it, the rest by the Beta over the slot; no-shows
    never come."""

    def uniform(a: float, b: float) -> float:
        return min(1.0, max(0.0, (t - a) / (b - a)))

    span = end - start
    in_slot = _within((t - start) / span) if span > 0 else float(t >= start)
    share = (
        EARLY * uniform(start - EARLY_MINUTES, start)
        + LATE * uniform(end, end + LATE_MINUTES)
        + (1 - EARLY - LATE) * in_slot
    )
    return all_who_come(people) * share


def all_who_come(people: int) -> float:
    """Of a batch's ``people``, how many come at all (the no-shows never do)."""
    return people * (1 - NO_SHOW)


def simulate_site(
    site_id: int, stations: int, batches: list[tuple[float, float, int, float]], seed: int = 1
) -> SiteResult:
    """batches: (start, end, people, minutes per person). Returns waits and queue over the day."""
    rng = random.Random(seed * 1_000_003 + site_id)
    groups = []
    for start, end, people, mpp in batches:
        groups += [(t, n, mpp) for t, n in arrivals(rng, start, end, people)]
    groups.sort()
    res = SiteResult(site_id)
    if not groups or stations <= 0:
        res.people = sum(n for _t, n, _m in groups)
        res.max_wait = float("inf") if groups else 0.0
        return res
    offset = -min(0.0, groups[0][0])
    env = simpy.Environment()
    desks = simpy.Resource(env, capacity=stations)
    waits: list[float] = []
    buckets: dict[int, tuple[int, float]] = {}

    def visit(t: float, n: int, mpp: float) -> Generator[Any, Any, None]:
        yield env.timeout(t + offset - env.now)
        arrived = env.now
        with desks.request() as req:
            yield req
            wait = env.now - arrived
            waits.extend([wait] * n)
            k = int((arrived - offset) // SERIES_STEP)
            q, w = buckets.get(k, (0, 0.0))
            buckets[k] = (max(q, len(desks.queue) + 1), max(w, wait))
            yield env.timeout(sum(rng.gammavariate(11.1, mpp / 11.1) for _ in range(n)))

    # One process per group, started in arrival order (SimPy keeps the FIFO order of requests).
    def source() -> Generator[Any, Any, None]:
        for t, n, mpp in groups:
            yield env.timeout(max(0.0, t + offset - env.now))
            env.process(visit(t, n, mpp))

    def tracker() -> Generator[Any, Any, None]:
        while True:
            k = int((env.now - offset) // SERIES_STEP)
            q, w = buckets.get(k, (0, 0.0))
            buckets[k] = (max(q, len(desks.queue)), w)
            yield env.timeout(SERIES_STEP / 3)

    env.process(source())
    env.process(tracker())
    env.run(until=groups[-1][0] + offset + 24 * 60)
    waits.sort()
    res.people = len(waits)
    res.max_wait = waits[-1] if waits else 0.0
    res.p95_wait = waits[int(0.95 * (len(waits) - 1))] if waits else 0.0
    res.mean_wait = sum(waits) / len(waits) if waits else 0.0
    res.series = [(k * SERIES_STEP, q, w) for k, (q, w) in sorted(buckets.items()) if q or w]
    res.max_queue = max((q for _m, q, _w in res.series), default=0)
    return res


def simulate(
    sites: dict[int, int], batches: list[tuple[int, float, float, int, float]], seed: int = 1
) -> dict[int, SiteResult]:
    """sites: id → open stations (× speed); batches: (site id, start, end, people, minutes per person)."""
    per: dict[int, list[tuple[float, float, int, float]]] = {}
    for site_id, start, end, people, mpp in batches:
        per.setdefault(site_id, []).append((start, end, people, mpp))
    return {sid: simulate_site(sid, sites.get(sid, 0), b, seed) for sid, b in per.items()}
