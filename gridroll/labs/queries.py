"""Read-only figures about tubes at the labs and the retest list, shared by the labs' pages, the API and
the command view."""

from __future__ import annotations

import statistics

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


def turnaround_by_lab(tubes) -> list[dict]:
    """Sampled → packed → received → reported per lab (a queryset of tubes, already scoped), in hours."""
    rows: dict[str, list] = {}
    for t in tubes.values_list("lab", "sealed_at", "packed_at", "received_at", "reported_at").iterator(
        chunk_size=5000
    ):
        unnamed = _("(received, lab not named)") if t[3] else _("(not received yet)")
        rows.setdefault(t[0] or unnamed, []).append(t)
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
