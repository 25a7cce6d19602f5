"""Read-only figures about tubes at the labs and the retest list, shared by the labs' pages, the API and
the command view."""

from __future__ import annotations

import statistics

from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.utils.translation import gettext as _

from gridroll.accounts.models import Grant
from gridroll.areas.models import Area
from gridroll.labs.models import RetestTask
from gridroll.residents.masking import phone_for
from gridroll.sampling.models import Round


def hours(pairs) -> dict:
    """Median and 90th percentile, in hours, of the (start, end) pairs that have both ends in order."""
    values = sorted((b - a).total_seconds() / 3600 for a, b in pairs if a and b and b >= a)
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "median": round(statistics.median(values), 1),
        "p90": round(values[min(len(values) - 1, int(len(values) * 0.9))], 1),
    }


STEPS = {  # figure → (start, end)
    "packing": ("sealed_at", "packed_at"),
    "transport": ("packed_at", "received_at"),
    "testing": ("received_at", "reported_at"),
    "total": ("sealed_at", "reported_at"),
}


def turnaround_by_lab(tubes, *, received: bool = False) -> list[dict]:
    """Sampled → packed → received → reported per lab (a queryset of tubes, already scoped), in hours.
    ``received``: the caller filtered ``tubes`` to those received (the command view), so that they group
    by lab alone, in the order of the index of received tubes by lab (``tube_at_lab``).

    On PostgreSQL the database picks the few values each median and 90th percentile needs and only those
    come back (a district's round has 100,000 tubes; reading them all into Python took seconds, issue 20);
    the figures are the same as ``_turnaround_in_python``'s to the bit (labs/tests/test_turnaround.py).
    """
    if connection.vendor == "postgresql":
        return _turnaround_in_sql(tubes, received=received)
    return _turnaround_in_python(tubes)


def _label(lab: str, received: bool) -> str:
    return lab or (_("(received, lab not named)") if received else _("(not received yet)"))


def _turnaround_in_sql(tubes, *, received: bool = False) -> list[dict]:
    columns = ("lab", "sealed_at", "packed_at", "received_at", "reported_at")
    try:
        sql, params = tubes.order_by().values(*columns).query.sql_with_params()
    except EmptyResultSet:
        return []
    # A tube without a named lab is grouped by whether it has arrived (as the labels say); when every tube
    # has (``received``), by lab alone: then the partial index tube_at_lab (round, lab; received tubes,
    # with the times and the site) gives them in the grouping's order and the database sorts nothing
    # before the steps' own sorts (a district's labs panel in about half the time). One pass over
    # the tubes, grouped by lab: the counts, and per step the durations in order, of which only the values
    # hours() reads come back: the middle one or two and the 90th percentile's. (Numbering every row with
    # window functions took three times as long at 66,000 received tubes; bench/README.md, "command".)
    ordered, picked = [], []
    for i, (start, end) in enumerate(STEPS.values()):
        d = f"{end} - {start}"
        ordered.append(f"array_agg({d} ORDER BY {d}) FILTER (WHERE {d} >= interval '0') AS a{i}")
        n = f"cardinality(a{i})"
        picked.append(
            f"{n}, ARRAY[a{i}[({n} - 1) / 2 + 1], a{i}[{n} / 2 + 1], "
            f"a{i}[LEAST({n} - 1, FLOOR({n} * 0.9::float8))::int + 1]]"
        )
    k2, group = (
        ("CASE WHEN lab = '' THEN TRUE END", "1")
        if received
        else (
            "CASE WHEN lab = '' THEN received_at IS NOT NULL END",
            "1, 2",
        )
    )
    with transaction.atomic(), connection.cursor() as cursor:
        # The durations are sorted in memory: PostgreSQL's default of 4 MB spilled a district's 66,000
        # received tubes to disk (a fifth of the query's time). SET LOCAL: until this transaction ends.
        cursor.execute("SET LOCAL work_mem = '32MB'")
        cursor.execute(
            f"SELECT lab, k2, n, reported, {', '.join(picked)} FROM ("
            f"SELECT lab, {k2} AS k2, COUNT(*) AS n, "
            f"COUNT(reported_at) AS reported, {', '.join(ordered)} FROM ({sql}) q GROUP BY {group}) g",
            params,
        )
        rows = cursor.fetchall()
    labs = []
    for lab, received, n_tubes, n_reported, *per_step in rows:
        row = {"lab": _label(lab, bool(received)), "tubes": n_tubes, "reported": n_reported}
        for i, step in enumerate(STEPS):
            n, values = per_step[2 * i], per_step[2 * i + 1]
            if not n:  # no durations: the aggregate is NULL
                row[step] = {"n": 0}
                continue
            low, high, p90 = (d.total_seconds() / 3600 for d in values)
            # The same arithmetic as statistics.median: the middle value, or the mean of the middle two.
            median = high if n % 2 else (low + high) / 2
            row[step] = {"n": n, "median": round(median, 1), "p90": round(p90, 1)}
        labs.append(row)
    labs.sort(key=lambda r: r["lab"])
    return labs


def _turnaround_in_python(tubes) -> list[dict]:
    rows: dict[str, list] = {}
    for t in tubes.values_list("lab", "sealed_at", "packed_at", "received_at", "reported_at").iterator(
        chunk_size=5000
    ):
        rows.setdefault(_label(t[0], bool(t[3])), []).append(t)
    labs = []
    for lab, ts in sorted(rows.items()):
        labs.append(
            {
                "lab": lab,
                "tubes": len(ts),
                "reported": sum(1 for t in ts if t[4]),
                "packing": hours((t[1], t[2]) for t in ts),
                "transport": hours((t[2], t[3]) for t in ts),
                "testing": hours((t[3], t[4]) for t in ts),
                "total": hours((t[1], t[4]) for t in ts),
            }
        )
    return labs


def _grid_of(task: RetestTask) -> Area | None:
    """The grid the task's person lives in; None for someone sampled who is not placed in a household
    yet (registered at a site): their task is still listed, under no grid."""
    household = task.resident.household
    return household.building.grid if household is not None else None


def retest_rows(user, round_: Round | None, area: Area | None) -> list[RetestTask]:
    """The retest tasks the user may see (of one round and area when given), open first, by grid and flat,
    each with ``phone_shown`` (masked by the usual rule) and ``workers`` (the grid's workers' names)."""
    found = RetestTask.objects.restrict(user).select_related(
        "resident__household__building__grid__parent", "tube", "round"
    )
    if round_ is not None:
        found = found.filter(round=round_)
    if area is not None:
        found = found.filter(resident__household__building__grid__path__startswith=area.path)
    tasks = sorted(
        found,
        key=lambda t: (
            t.status,
            grid.path if (grid := _grid_of(t)) is not None else "",
            t.resident.household.sort_key if t.resident.household is not None else (),
        ),
    )
    grids = {grid.pk for t in tasks if (grid := _grid_of(t)) is not None}
    workers: dict[int, list[str]] = {}
    for g in Grant.objects.filter(area_id__in=grids, role="grid_worker").select_related("user"):
        workers.setdefault(g.area_id, []).append(g.user.get_full_name() or g.user.username)
    for t in tasks:
        grid = _grid_of(t)
        t.phone_shown = phone_for(user, t.resident.phone, grid.path if grid is not None else "")
        t.workers = "、".join(workers.get(grid.pk, [])) if grid is not None else ""
    return tasks


RETEST_HEADER = [
    "状态",
    "任务",
    "姓名",
    "住址",
    "网格",
    "网格员",
    "联系电话",
    "原混管管码",
    "轮次",
    "下达时间",
    "复核结果",
]
