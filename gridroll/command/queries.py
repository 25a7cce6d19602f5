"""The command view's figures (指挥部): one function per panel, shared by the page, its JSON refresh and
the day's report. Everything reads the roll call's tallies (rollcall.Tally, kept equal to the entries)
and the tube records; nothing here writes.

Each panel also has a cheap version (``versions``): the refresh compares them and rebuilds only the
panels whose version moved.
"""

from __future__ import annotations

import datetime
from collections import defaultdict

from django.db import connection
from django.db.models import Count, Min, Q, Sum
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from gridroll.accounts.models import Grant
from gridroll.areas.models import Area, Building
from gridroll.labs.models import ResultUpload, RetestTask
from gridroll.labs.queries import turnaround_by_lab
from gridroll.rollcall.models import COUNTED, HourTally, Tally
from gridroll.rollcall.services import state_counts, with_progress
from gridroll.sampling.models import Box, Round, ScanAction, Site, SiteTally, Station, Tube

PANELS = ["progress", "areas", "sites", "tubes", "labs", "positives", "lagging"]
ROLL_PANELS = {"progress", "areas", "lagging", "positives"}
WINDOW = datetime.timedelta(minutes=10)
STAGES = ["open", "sealed", "packed", "in_transit", "received", "reported"]


def _tallies(round_: Round, area: Area):
    return Tally.objects.filter(round=round_, grid__path__startswith=area.path)


def _tubes(round_: Round, area: Area):
    """The round's tubes taken at sites in ``area`` (where the tube is, not where its people live)."""
    return Tube.objects.filter(round=round_, site__area__path__startswith=area.path)


def versions(round_: Round, area: Area) -> dict[str, str]:
    """Per panel, a string that changes when its figures may have: small indexed aggregates in one
    statement (one round trip: the refresh asks every 5 s from every open page)."""
    # A tube changes by a scan action (open, add, undo, seal), a result upload, or its box moving
    # (packed, sealed, handed over, received): the newest of each. The newest id is an index lookup; a
    # round's boxes are a few thousand rows at most. A tube received alone while its box is unpacked
    # shows with the next of these events (docs/command.md).
    like = connection.ops.prep_for_like_query(area.path) + "%"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT MAX(t.updated_at) FROM rollcall_tally t JOIN areas_area a ON a.id = t.grid_id "
            "WHERE t.round_id = %s AND a.path LIKE %s ESCAPE '\\'), "
            f"(SELECT MAX(id) FROM {ScanAction._meta.db_table}), "
            f"(SELECT MAX(id) FROM {ResultUpload._meta.db_table}), "
            "b.n, b.s, b.h, b.r FROM (SELECT COUNT(*) AS n, MAX(sealed_at) AS s, MAX(handed_at) AS h, "
            f"MAX(received_at) AS r FROM {Box._meta.db_table} WHERE round_id = %s) b",
            [round_.pk, like, round_.pk],
        )
        roll, last_scan, last_upload, *box = cursor.fetchone()
    roll_v = _stamp(roll)
    last_scan, last_upload = last_scan or 0, last_upload or 0
    box_v = ".".join([str(box[0] or 0), *(_stamp(v) for v in box[1:])])
    tubes_v = f"{last_scan}.{last_upload}.{box_v}"
    out = dict.fromkeys(PANELS, tubes_v)
    for p in ROLL_PANELS:
        out[p] = roll_v if p in ("areas", "lagging") else f"{roll_v}|{tubes_v}"
    return out


def _stamp(value) -> str:
    """A time from a plain query as the version's text ("0" for none); SQLite hands back text."""
    if value is None:
        return "0"
    if isinstance(value, str):
        value = parse_datetime(value)
        if timezone.is_naive(value):
            value = timezone.make_aware(value, datetime.UTC)
    return str(value.timestamp())


# ----------------------------------------------------------------------------------- completion


def per_grid(round_: Round, area: Area) -> dict[int, dict]:
    """The roll call's counts per grid under ``area`` (summed tallies)."""
    rows = _tallies(round_, area).values("grid_id").annotate(**{c: Sum(c) for c in ["total", *COUNTED]})
    return {r.pop("grid_id"): with_progress(r) for r in rows}


def totals(grids: dict[int, dict]) -> dict:
    return state_counts(grids.values())


def children(round_: Round, area: Area, grids: dict[int, dict]) -> list[dict]:
    """Completion per child area (per building when ``area`` is a grid), worst first."""
    if area.is_grid:
        tallies = _tallies(round_, area).select_related("building")
        rows = [
            {
                "pk": t.building_id,
                "name": t.building.label,
                "kind": "building",
                **with_progress({c: getattr(t, c) for c in ["total", *COUNTED]}),
            }
            for t in tallies
            if t.total
        ]
    else:
        kids = list(Area.objects.filter(parent=area).order_by("path"))
        paths = dict(Area.objects.filter(pk__in=grids).values_list("pk", "path"))
        sums: dict[int, dict] = {}
        for grid_id, counts in grids.items():
            kid = next((k for k in kids if paths[grid_id].startswith(k.path)), None)
            if kid is None:
                continue
            s = sums.setdefault(kid.pk, dict.fromkeys(["total", *COUNTED], 0))
            for c in ["total", *COUNTED]:
                s[c] += counts[c]
        rows = [
            {"pk": k.pk, "name": k.name, "kind": "area", **with_progress(sums[k.pk])}
            for k in kids
            if k.pk in sums
        ]
    rows.sort(key=lambda r: (r["percent"], -r["missing"]))
    return rows


# ------------------------------------------------------------------------------------- progress


def plan_curve(round_: Round, area: Area, expected: int) -> list[tuple[datetime.datetime, int]] | None:
    """The round plan's expected counts over time (issue 19, branch i19plan). None until the plan exists:
    the even pace below stands in. The plan's module should return [(time, expected sampled), ...]."""
    return None


def progress(round_: Round, area: Area, grids: dict[int, dict], now: datetime.datetime | None = None) -> dict:
    """Sampled people per hour (cumulative) against an even pace to the round's end, and the finish time
    at the rate so far."""
    now = now or timezone.now()
    counts = totals(grids)
    expected = counts["total"] - counts["exempt"]
    # First samples of the area's people per hour, kept on scan (rollcall.HourTally: a few rows per grid
    # and hour instead of the round's samples; issue 20).
    hours = HourTally.objects.filter(round=round_)
    if area.parent_id is not None:
        hours = hours.filter(grid__path__startswith=area.path)
    hourly = {h: n for h, n in hours.values("hour").annotate(n=Sum("sampled")).values_list("hour", "n") if n}
    start = round_.starts_at.replace(minute=0, second=0, microsecond=0)
    end = max(round_.ends_at, now)
    points: list[dict] = []
    running, t = 0, start
    first = min(hourly, default=start)
    t = min(start, first)
    while t <= end and len(points) < 24 * 14:
        running += hourly.get(t, 0)
        span = (round_.ends_at - round_.starts_at).total_seconds() or 1
        pace = min(
            expected,
            max(
                0,
                round(expected * (t + datetime.timedelta(hours=1) - round_.starts_at).total_seconds() / span),
            ),
        )
        points.append(
            {
                "hour": timezone.localtime(t).strftime("%m-%d %H:00"),
                "sampled": running if t <= now else None,
                "pace": pace,
            }
        )
        t += datetime.timedelta(hours=1)
    sampled = sum(hourly.values())
    elapsed = (
        min(now, round_.ends_at if round_.status == Round.Status.CLOSED else now) - round_.starts_at
    ).total_seconds()
    finish: datetime.datetime | str | None = None
    if sampled >= expected:
        finish = "done"
    elif sampled and elapsed > 0:
        finish = round_.starts_at + datetime.timedelta(seconds=elapsed * expected / sampled)
    return {
        "points": points,
        "sampled": sampled,
        "expected": expected,
        "finish": finish,
        "behind_pace": isinstance(finish, datetime.datetime) and finish > round_.ends_at,
        "plan": plan_curve(round_, area, expected),
    }


# ----------------------------------------------------------------------------------------- sites


def sites(round_: Round, area: Area, now: datetime.datetime | None = None) -> list[dict]:
    """Per site: scans in the last 10 minutes and in each of the five before, stations, stations with an
    open tube; behind when the last 10 minutes fell under half of the hour's average before them."""
    now = now or timezone.now()
    site_rows = list(
        Site.objects.filter(area__path__startswith=area.path)
        .select_related("area")
        .order_by("area__path", "name")
    )
    ids = [s.pk for s in site_rows]
    windows: dict[int, list[int]] = defaultdict(lambda: [0] * 6)
    since = now - 6 * WINDOW
    # Scan actions by site and time (index scan_site_recent); a scan uploaded late from an offline
    # phone counts when it arrived.
    for site_id, at in (
        ScanAction.objects.filter(
            site_id__in=ids,
            received_at__gte=since,
            kind=ScanAction.Kind.ADD,
            result__in=[ScanAction.Result.ACCEPTED, ScanAction.Result.WARNED],
        )
        .values_list("site_id", "received_at")
        .iterator()
    ):
        k = min(5, int((now - at) / WINDOW))
        windows[site_id][k] += 1
    stations = dict(
        Station.objects.filter(site_id__in=ids)
        .values("site_id")
        .annotate(n=Count("id"))
        .values_list("site_id", "n")
    )
    open_stations = dict(
        Tube.objects.filter(round=round_, site_id__in=ids, status=Tube.Status.OPEN)
        .values("site_id")
        .annotate(n=Count("station_id", distinct=True))
        .values_list("site_id", "n")
    )
    # Live samples per site, kept on scan (SiteTally: one row a site instead of the round's tubes).
    total = dict(SiteTally.objects.filter(round=round_, site_id__in=ids).values_list("site_id", "samples"))
    out = []
    for s in site_rows:
        w = windows[s.pk]
        before = sum(w[1:]) / 5
        out.append(
            {
                "pk": s.pk,
                "name": s.name,
                "area": s.area.name,
                "last10": w[0],
                "hour_avg10": round(before, 1),
                "stations": stations.get(s.pk, 0),
                "open_stations": open_stations.get(s.pk, 0),
                "scans": total.get(s.pk, 0),
                "behind": before > 0 and w[0] < before / 2,
            }
        )
    return out


# ----------------------------------------------------------------------------------------- tubes


def stage_q() -> dict[str, Q]:
    return {
        "open": Q(status=Tube.Status.OPEN),
        "sealed": Q(status=Tube.Status.SEALED, packed_at__isnull=True, received_at__isnull=True),
        "packed": Q(packed_at__isnull=False, box__handed_at__isnull=True, received_at__isnull=True),
        "in_transit": Q(box__handed_at__isnull=False, received_at__isnull=True),
        "received": Q(received_at__isnull=False, reported_at__isnull=True),
        "reported": Q(reported_at__isnull=False),
    }


STAGE_TIME = {
    "open": "opened_at",
    "sealed": "sealed_at",
    "packed": "packed_at",
    "in_transit": "box__handed_at",
    "received": "received_at",
    "reported": "reported_at",
}


def tubes(round_: Round, area: Area, now: datetime.datetime | None = None) -> dict:
    """Tubes per stage and site: how many and how old the oldest is (hours since it entered the stage);
    the oldest tube still waiting for a result, with its box."""
    now = now or timezone.now()
    qs = _tubes(round_, area)
    agg: dict[str, Count | Min] = {}
    for stage, q in stage_q().items():
        agg[f"{stage}__n"] = Count("id", filter=q)
        if stage != "reported":
            agg[f"{stage}__oldest"] = Min(STAGE_TIME[stage], filter=q)
    per_site = []
    for row in qs.values("site_id", "site__name").annotate(**agg).order_by("site__name"):
        per_site.append(
            {
                "site": row["site__name"],
                **{s: row[f"{s}__n"] for s in STAGES},
                "ages": {
                    s: round((now - row[f"{s}__oldest"]).total_seconds() / 3600, 1)
                    for s in STAGES
                    if s != "reported" and row[f"{s}__oldest"]
                },
            }
        )
    sums = {s: sum(r[s] for r in per_site) for s in STAGES}
    oldest = (
        qs.filter(reported_at__isnull=True, sealed_at__isnull=False)
        .order_by("sealed_at")
        .values("barcode", "sealed_at", "box__code", "site__name", "lab")
        .first()
    )
    if oldest:
        oldest["hours"] = round((now - oldest["sealed_at"]).total_seconds() / 3600, 1)
    return {"per_site": per_site, "totals": sums, "oldest": oldest}


def labs(round_: Round, area: Area) -> list[dict]:
    """Per lab: tubes at the lab, reported, and the turnaround (labs.queries, as the labs' own page)."""
    qs = _tubes(round_, area)
    rows = turnaround_by_lab(qs.filter(received_at__isnull=False))
    return rows


# ------------------------------------------------------------------------------------- positives


def positives(round_: Round, area: Area, now: datetime.datetime | None = None) -> dict:
    """Positive pools and single positives (residents living in ``area``) and their retest tasks per grid,
    with the hours since the oldest result that is still open."""
    now = now or timezone.now()
    tasks = RetestTask.objects.filter(
        round=round_, resident__entries__round=round_, resident__entries__grid__path__startswith=area.path
    )
    rows = (
        tasks.values("resident__entries__grid_id", "resident__entries__grid__name")
        .annotate(
            open=Count("id", filter=~Q(status=RetestTask.Status.CLOSED)),
            done=Count("id", filter=Q(status=RetestTask.Status.CLOSED)),
            oldest_open=Min("tube__reported_at", filter=~Q(status=RetestTask.Status.CLOSED)),
        )
        .order_by("-open", "resident__entries__grid__name")
    )
    per_grid = [
        {
            "grid_id": r["resident__entries__grid_id"],
            "grid": r["resident__entries__grid__name"],
            "open": r["open"],
            "done": r["done"],
            "hours": round((now - r["oldest_open"]).total_seconds() / 3600, 1) if r["oldest_open"] else None,
        }
        for r in rows
    ]
    pools = tasks.filter(kind=RetestTask.Kind.RETEST).values("tube_id").distinct().count()
    return {"pools": pools, "per_grid": per_grid}


# --------------------------------------------------------------------------------------- lagging


def lagging(round_: Round, area: Area, grids: dict[int, dict], limit: int = 20) -> dict:
    """Grids and buildings worst first, with the grid's workers."""
    worst = sorted(grids.items(), key=lambda kv: (kv[1]["percent"], -kv[1]["missing"]))[:limit]
    names = dict(Area.objects.filter(pk__in=[g for g, _ in worst]).values_list("pk", "name"))
    workers: dict[int, list[str]] = defaultdict(list)
    for g in Grant.objects.filter(area_id__in=names, role="grid_worker").select_related("user"):
        workers[g.area_id].append(g.user.get_full_name() or g.user.username)
    grid_rows = [
        {"pk": g, "name": names.get(g, ""), "workers": "、".join(workers[g]), **c}
        for g, c in worst
        if c["missing"]
    ]
    buildings = list(
        _tallies(round_, area)
        .filter(missing__gt=0)
        .order_by("-missing")
        .values("building_id", "grid_id", "total", *COUNTED)[: limit * 5]
    )
    rows = [with_progress(b) | {"building_id": b["building_id"], "grid_id": b["grid_id"]} for b in buildings]
    rows.sort(key=lambda r: (r["percent"], -r["missing"]))
    rows = rows[:limit]
    labels = {b.pk: b.label for b in Building.objects.filter(pk__in=[r["building_id"] for r in rows])}
    bnames = dict(Area.objects.filter(pk__in={r["grid_id"] for r in rows}).values_list("pk", "name"))
    for r in rows:
        r["name"] = labels.get(r["building_id"], "")
        r["grid"] = bnames.get(r["grid_id"], "")
    return {"grids": grid_rows, "buildings": rows}


# ------------------------------------------------------------------------------------------ all


def panel(name: str, round_: Round, area: Area, grids: dict[int, dict], now=None):
    if name == "progress":
        return progress(round_, area, grids, now)
    if name == "areas":
        return {"totals": totals(grids), "children": children(round_, area, grids)}
    if name == "sites":
        return sites(round_, area, now)
    if name == "tubes":
        return tubes(round_, area, now)
    if name == "labs":
        return labs(round_, area)
    if name == "positives":
        return positives(round_, area, now)
    if name == "lagging":
        return lagging(round_, area, grids)
    raise KeyError(name)


def view_data(round_: Round, area: Area, only: set[str] | None = None, now=None) -> dict:
    """Every panel (or only those named) for one round and area."""
    grids = per_grid(round_, area)
    return {p: panel(p, round_, area, grids, now) for p in PANELS if only is None or p in only}
