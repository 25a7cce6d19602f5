"""The command view's figures (指挥部): one function per panel, shared by the page, its JSON refresh and
the day's report. Everything reads the roll call's tallies (rollcall.Tally, kept equal to the entries)
and the tube records; nothing here writes.

Each panel also has a cheap version (``versions``): the refresh compares them and rebuilds only the
panels whose version moved.
"""

from __future__ import annotations

import bisect
import datetime
from collections import defaultdict
from typing import Any

from django.db import connection
from django.db.models import (
    Case,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    Min,
    OuterRef,
    Prefetch,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.expressions import CombinedExpression
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from gridroll.accounts.models import Grant
from gridroll.areas.models import Area, Building
from gridroll.labs.models import ResultUpload, RetestTask
from gridroll.labs.queries import turnaround_by_lab
from gridroll.lib import queuesim
from gridroll.lib.phone import mask as phone_mask
from gridroll.planning.models import Batch, BatchBuilding, Plan
from gridroll.residents.masking import may_call
from gridroll.rollcall.models import COUNTED, HourTally, Tally
from gridroll.rollcall.queries import state_counts, with_progress
from gridroll.sampling.models import Box, Round, ScanAction, ScanMinute, Site, Tube, minute_of
from gridroll.staff.models import Assignment, CheckIn, Shift, Skill

PANELS = ["progress", "areas", "sites", "staff", "tubes", "labs", "positives", "lagging"]
ROLL_PANELS = {"progress", "areas", "lagging", "positives"}
STAGES = list(Tube.STAGES)


def _tallies(round_: Round, area: Area):
    return Tally.objects.filter(round=round_, grid__path__startswith=area.path)


def _area_sites(area: Area) -> dict[int, str]:
    """The sites in ``area``: id → name."""
    return dict(Site.objects.filter(area__path__startswith=area.path).values_list("pk", "name"))


def _tubes(round_: Round, area: Area, sites: dict[int, str] | None = None):
    """The round's tubes taken at sites in ``area`` (where the tube is, not where its people live): by the
    sites' ids (a district has a few hundred), so that the database reads the tubes without joining each
    one to its site and area."""
    ids = list(_area_sites(area) if sites is None else sites)
    tubes = Tube.objects.filter(round=round_)
    if len(ids) == Site.objects.count():
        # Every site is in the area (a district's own view): the filter would keep every tube, and
        # testing 100,000 tubes against 401 ids cost the tubes and labs panels a third of their time.
        return tubes
    return tubes.filter(site_id__in=ids)


def versions(round_: Round, area: Area, now: datetime.datetime | None = None) -> dict[str, str]:
    """Per panel, a string that changes when its figures may have: small indexed aggregates, the roll
    call's, the tubes' and the plan's in one statement (the refresh asks every 5 s from every open page)."""
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
            # A plan accepted (made, or a re-plan accepted) is a newer row: the newest accepted plan's id.
            f"(SELECT MAX(id) FROM {Plan._meta.db_table} WHERE round_id = %s AND status = %s), "
            "b.n, b.s, b.h, b.r, st.* FROM (SELECT COUNT(*) AS n, MAX(sealed_at) AS s, MAX(handed_at) AS h, "
            f"MAX(received_at) AS r FROM {Box._meta.db_table} WHERE round_id = %s) b, ({_STAFF_SQL}) st",
            [round_.pk, like, round_.pk, Plan.Status.ACCEPTED, round_.pk, *_staff_params(round_, area, now)],
        )
        roll, last_scan, last_upload, plan_v, *rest = cursor.fetchone()
    box, staff_v = rest[:4], rest[4:]
    roll_v = _stamp(roll)
    last_scan, last_upload = last_scan or 0, last_upload or 0
    box_v = ".".join([str(box[0] or 0), *(_stamp(v) for v in box[1:])])
    tubes_v = f"{last_scan}.{last_upload}.{box_v}"
    out = dict.fromkeys(PANELS, tubes_v)
    for p in ROLL_PANELS:
        out[p] = roll_v if p in ("areas", "lagging") else f"{roll_v}|{tubes_v}"
    # The plan draws the progress line and calls people to the sites (the predicted queues).
    out["progress"] += f"|{plan_v or 0}"
    out["sites"] += f"|{plan_v or 0}"
    out["staff"] = ".".join(str(v or 0) for v in staff_v)
    return out


def _stamp(value) -> str:
    """A time from a plain query as the version's text ("0" for none)."""
    return "0" if value is None else str(_aware(value).timestamp())


def _aware(value) -> datetime.datetime:
    """A time from a plain query (SQLite hands back text in UTC) as an aware datetime."""
    if isinstance(value, str):
        value = parse_datetime(value)
        if timezone.is_naive(value):
            value = timezone.make_aware(value, datetime.UTC)
    return value


# The staff panel's version (part of the statement in ``versions``): it moves when shifts or assignments
# are made or removed (deploy re-makes them: new ids), when someone checks in under the area, and when a
# shift starts or ends (the panel shows the shifts on now). A name or phone edited in the register shows
# with the next of these. Plain SQL: the two ORM aggregates it was cost more to build than to run.
_STAFF_SQL = (
    "SELECT COUNT(DISTINCT sh.id), MAX(sh.id), COUNT(DISTINCT sh.id) FILTER (WHERE sh.starts_at <= %s), "
    "COUNT(DISTINCT sh.id) FILTER (WHERE sh.ends_at <= %s), COUNT(DISTINCT asg.id), MAX(asg.id), "
    "(SELECT MAX(c.id) FROM staff_checkin c JOIN sampling_site cs ON cs.id = c.site_id "
    "JOIN areas_area ca ON ca.id = cs.area_id WHERE ca.path LIKE %s ESCAPE '\\') "
    "FROM staff_shift sh JOIN sampling_site ss ON ss.id = sh.site_id "
    "JOIN areas_area sa ON sa.id = ss.area_id LEFT JOIN staff_assignment asg ON asg.shift_id = sh.id "
    "WHERE sh.round_id = %s AND sa.path LIKE %s ESCAPE '\\'"
)


def _staff_params(round_: Round, area: Area, now: datetime.datetime | None) -> list:
    at = connection.ops.adapt_datetimefield_value(now or timezone.now())
    like = connection.ops.prep_for_like_query(area.path) + "%"
    return [at, at, like, round_.pk, like]


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


def _accepted_plans(round_: Round, area: Area) -> list[Plan]:
    """The round's accepted plans that say something about ``area``: made for it, for an area above it
    (a district plan covers its grids) or for an area under it (a community planned on its own)."""
    return [
        p
        for p in Plan.objects.filter(round=round_, status=Plan.Status.ACCEPTED).select_related("area")
        if area.path.startswith(p.area.path) or p.area.path.startswith(area.path)
    ]


def _plan_members(plans: list[Plan], area: Area | None):
    """The buildings under ``area`` (None: all) in ``plans``' batches; a building two accepted plans name
    (a district plan, then one of its communities planned again) counts in the newer plan's batch only."""
    ids = [p.pk for p in plans]
    members = BatchBuilding.objects.filter(plan_id__in=ids)
    if area is not None:
        members = members.filter(building__grid__path__startswith=area.path)
    return members.filter(
        ~Exists(
            BatchBuilding.objects.filter(
                plan_id__in=ids, plan_id__gt=OuterRef("plan_id"), building_id=OuterRef("building_id")
            )
        )
    )


def plan_curve(round_: Round, area: Area, expected: int) -> dict | None:
    """What the round's accepted plan expects sampled by when, for the buildings under ``area``; None
    when no accepted plan covers any of them (the page then shows the even pace and says so).

    A batch's people are expected evenly over its window (docs/algorithms/planning.md: the planner
    sizes a batch to its site's rate over its slot); home-sampling batches span the whole round. When
    two accepted plans name the same building (a district plan, then one of its communities planned
    again), the newer plan's batches count. Buildings under the area that no plan names keep the even
    pace of their own expected people (``rest``), added to the curve."""
    plans = _accepted_plans(round_, area)
    if not plans:
        return None
    members = _plan_members(plans, area)
    rows = list(
        members.values_list("batch__starts_at", "batch__ends_at").annotate(n=Sum("people")).order_by()
    )
    if not rows:
        return None
    covered = members.values("building_id").distinct().count()
    rest_counts = (
        _tallies(round_, area)
        .exclude(building_id__in=members.values("building_id"))
        .aggregate(
            people=Sum("total"), exempt_people=Sum("exempt"), buildings=Count("id", filter=Q(total__gt=0))
        )
    )
    # Breakpoints of the cumulative curve: the rate changes only where a batch starts or ends.
    rate_changes: dict[datetime.datetime, float] = defaultdict(float)
    steps: dict[datetime.datetime, int] = defaultdict(int)
    for starts, ends, n in rows:
        if ends > starts:
            rate = n / (ends - starts).total_seconds()
            rate_changes[starts] += rate
            rate_changes[ends] -= rate
        else:
            steps[starts] += n
    curve: list[tuple[datetime.datetime, float]] = []
    running, rate, last = 0.0, 0.0, None
    for t in sorted(set(rate_changes) | set(steps)):
        if last is not None:
            running += rate * (t - last).total_seconds()
        running += steps.get(t, 0)
        rate += rate_changes.get(t, 0.0)
        curve.append((t, running))
        last = t
    return {
        "curve": curve,
        "people": sum(n for _, _, n in rows),
        "buildings": covered,
        "of_buildings": covered + (rest_counts["buildings"] or 0),
        "rest": max(0, (rest_counts["people"] or 0) - (rest_counts["exempt_people"] or 0)),
        "areas": sorted({p.area.name for p in plans}),
    }


def planned_by(round_: Round, plan: dict, when: datetime.datetime) -> int:
    """People the plan expects sampled by ``when``: the curve read between its breakpoints, plus the
    uncovered buildings' even pace."""
    curve = plan["curve"]
    i = bisect.bisect_right([t for t, _ in curve], when)
    if i == 0:
        value = 0.0
    elif i == len(curve):
        value = curve[-1][1]
    else:
        (t0, v0), (t1, v1) = curve[i - 1], curve[i]
        value = v0 + (v1 - v0) * (when - t0).total_seconds() / ((t1 - t0).total_seconds() or 1)
    span = (round_.ends_at - round_.starts_at).total_seconds() or 1
    share = min(1.0, max(0.0, (when - round_.starts_at).total_seconds() / span))
    return round(value + plan["rest"] * share)


def _with_plan(
    points: list[dict], first_hour: datetime.datetime, round_: Round, area: Area, expected: int, now
) -> dict | None:
    """Put the plan's expected count on each hour's point (at the hour's end, as the even pace is) and
    return what the panel says about the plan; None when there is none (the even pace stands)."""
    plan = plan_curve(round_, area, expected)
    if plan is None:
        return None
    for i, p in enumerate(points):
        p["plan"] = planned_by(round_, plan, first_hour + datetime.timedelta(hours=i + 1))
    plan_now = planned_by(round_, plan, now)
    return {
        "people": plan["people"],
        "buildings": plan["buildings"],
        "of_buildings": plan["of_buildings"],
        "rest": plan["rest"],
        "areas": plan["areas"],
        "now": plan_now,
        "end": planned_by(round_, plan, max(round_.ends_at, plan["curve"][-1][0])),
    }


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
        "plan": _with_plan(points, min(start, first), round_, area, expected, now),
    }


# ----------------------------------------------------------------------------------------- sites


def sites(round_: Round, area: Area, now: datetime.datetime | None = None) -> list[dict]:
    """Per site: scans in the last 10 minutes and in each of the five before (``scan_windows``: whole
    minutes), stations, stations with an open tube; behind when the last 10 minutes' rate fell under half
    of the hour's average before them."""
    now = now or timezone.now()
    # One row a site with its counts, each counted once for all the sites and joined: stations, the
    # stations with an open tube (index tube_open), the kept live samples (SiteTally). A district has
    # hundreds of sites; a query per figure with their ids, or a subquery per site, cost more than this.
    like = connection.ops.prep_for_like_query(area.path) + "%"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.id, s.name, a.name, COALESCE(st.n, 0), COALESCE(op.n, 0), COALESCE(t.samples, 0) "
            "FROM sampling_site s JOIN areas_area a ON a.id = s.area_id "
            "LEFT JOIN (SELECT site_id, COUNT(*) AS n FROM sampling_station GROUP BY site_id) st "
            "ON st.site_id = s.id "
            "LEFT JOIN (SELECT site_id, COUNT(DISTINCT station_id) AS n FROM sampling_tube "
            "WHERE round_id = %s AND status = %s GROUP BY site_id) op ON op.site_id = s.id "
            "LEFT JOIN sampling_sitetally t ON t.site_id = s.id AND t.round_id = %s "
            "WHERE a.path LIKE %s ESCAPE '\\' ORDER BY a.path, s.name",
            [round_.pk, Tube.Status.OPEN, round_.pk, like],
        )
        keys = ("pk", "name", "area__name", "n_stations", "n_open", "samples")
        site_rows = [dict(zip(keys, row, strict=True)) for row in cursor.fetchall()]
    windows = scan_windows(round_, [s["pk"] for s in site_rows], now)
    newest = 9 + (now - minute_of(now)).total_seconds() / 60  # minutes in the newest window
    called = _called_by_plan(round_, [s["pk"] for s in site_rows], now)
    out = []
    for s in site_rows:
        w = windows.get(s["pk"], [0] * 6)
        before = sum(w[1:]) / 5
        samples = s["samples"] or 0
        out.append(
            {
                "pk": s["pk"],
                "name": s["name"],
                "area": s["area__name"],
                "last10": w[0],
                "hour_avg10": round(before, 1),
                "stations": s["n_stations"] or 0,
                "open_stations": s["n_open"] or 0,
                "scans": samples,
                # The newest window is not yet ten minutes long: its rate is compared, not its count.
                "behind": before > 0 and w[0] * 10 / newest < before / 2,
                "queue": _queue(called.get(s["pk"]), samples, w[0] / newest),
            }
        )
    return out


def _called_by_plan(round_: Round, site_ids: list[int], now: datetime.datetime) -> dict[int, float]:
    """Per site that the round's accepted plans call people to: how many of them are expected to have
    arrived by ``now``, by the arrival curve the plan's queue simulation draws from (lib.queuesim). Every
    batch at the site counts, wherever its people live: the queue is the site's, the same from every area
    that shows it, as the people sampled there are. Home sampling is not at a site. Sites no plan names
    are left out."""
    plans = list(Plan.objects.filter(round=round_, status=Plan.Status.ACCEPTED))
    if not plans or not site_ids:
        return {}
    # Only the batches whose arrivals are still under way need the curve: before its early ones nobody of
    # a batch has come, after its late ones all who come have. Those two are summed per site in the
    # database (a district plan has thousands of batches: reading each took 50 ms at 1,000,000 residents).
    early = now + datetime.timedelta(minutes=queuesim.EARLY_MINUTES)
    late = now - datetime.timedelta(minutes=queuesim.LATE_MINUTES)
    phase = Case(
        When(batch__starts_at__gt=early, then=Value(0)),  # nobody yet
        When(batch__ends_at__lt=late, then=Value(2)),  # all who come
        default=Value(1),
    )
    under_way = Q(batch__starts_at__lte=early, batch__ends_at__gte=late)
    rows = (
        _plan_members(plans, None)
        .filter(batch__site_id__in=site_ids)
        .exclude(kind=Batch.Kind.HOME)
        .annotate(
            phase=phase,
            # From now, as durations: psycopg reads them in C, where Django's time-zone-aware loader
            # read 1,600 times of a district's batches in Python (13 µs each).
            starts=Case(When(under_way, then=_since(F("batch__starts_at"), now))),
            ends=Case(When(under_way, then=_since(F("batch__ends_at"), now))),
        )
        .values_list("batch__site_id", "phase", "starts", "ends")
        .annotate(n=Sum("people"))
        .order_by()
    )
    out: dict[int, float] = defaultdict(float)
    for site_id, phase_, starts, ends, n in rows:
        if phase_ == 1:
            minutes = [d.total_seconds() / 60 for d in (starts, ends)]
            out[site_id] += queuesim.expected_arrivals(minutes[0], minutes[1], n, 0.0)
        else:
            out[site_id] += queuesim.all_who_come(n) if phase_ == 2 else 0.0
    return out


def _since(field: F, now: datetime.datetime) -> ExpressionWrapper:
    """``field`` − ``now`` as a duration in the database."""
    return ExpressionWrapper(CombinedExpression(field, "-", Value(now)), output_field=DurationField())


def _queue(arrived: float | None, sampled: int, per_minute: float) -> dict | None:
    """The predicted queue at a site: the people the plan expects to have come by now, less those sampled
    there (never below 0), and the minutes it takes at the last 10 minutes' rate (None: no one is being
    sampled, so it does not go down). None when no plan calls people to the site."""
    if arrived is None:
        return None
    waiting = max(0, round(arrived - sampled))
    if not waiting:
        return {"people": 0, "minutes": 0}
    return {"people": waiting, "minutes": round(waiting / per_minute) if per_minute > 0 else None}


def scan_windows(round_: Round, site_ids: list[int], now: datetime.datetime) -> dict[int, list[int]]:
    """Per site, the round's adds accepted or warned in each 10-minute window of the last hour, newest
    first, in whole minutes of arrival: the newest window is this minute so far and the nine before it,
    each earlier one the ten minutes before that (an add that arrived ``m`` whole minutes before this
    minute falls in window ``m // 10``). A scan uploaded late from an offline phone counts when it arrived.

    Read from the kept minutes (ScanMinute: at most 60 rows a site), not from the actions: at a district's
    peak hour that was some 500,000 actions, and even the actions of the minutes a window's exact edges
    cut through were 60,000 (issue 20; docs/command.md)."""
    this_minute = minute_of(now)
    starts = [this_minute - (10 * k + 9) * datetime.timedelta(minutes=1) for k in range(6)]
    windows = {f"w{k}": Sum("scans", filter=Q(minute__gte=starts[k])) for k in range(6)}
    out = {}
    for row in (
        ScanMinute.objects.filter(
            round=round_, site_id__in=site_ids, minute__gte=starts[5], minute__lte=this_minute
        )
        .order_by()
        .values("site_id")
        .annotate(**windows)
    ):
        upto = [row[f"w{k}"] or 0 for k in range(6)]  # from each window's start to now
        out[row["site_id"]] = [upto[0]] + [upto[k] - upto[k - 1] for k in range(1, 6)]
    return out


# ----------------------------------------------------------------------------------------- tubes


def tubes(round_: Round, area: Area, now: datetime.datetime | None = None) -> dict:
    """Tubes per stage and site: how many and how old the oldest is (hours since it entered the stage);
    the oldest tube still waiting for a result, with its box. Each tube counts once, in the furthest stage
    it has reached (Tube.stage), so a site's stages add up to its tubes."""
    now = now or timezone.now()
    names = _area_sites(area)
    qs = _tubes(round_, area, names)
    rows: dict[int, dict] = {}
    # Per site and stage, from the index tube_stage alone: a count and the oldest time.
    for site_id, stage, n, oldest in (
        qs.values_list("site_id", "stage").annotate(n=Count("*"), oldest=Min("stage_at")).order_by()
    ):
        row = rows.setdefault(site_id, {"site": names[site_id], **dict.fromkeys(STAGES, 0), "ages": {}})
        name = STAGES[stage]
        row[name] = n
        if name != "reported":
            row["ages"][name] = round((now - oldest).total_seconds() / 3600, 1)
    per_site = [rows[k] for k in sorted(rows, key=lambda k: (names[k], k))]
    # Each site's oldest tube still waiting for a result (sealed, no result): the first entry of its site
    # in the index tube_waiting, one lookup per site with tubes. Walking all the round's waiting tubes in
    # time order for the first one in the area took as long as the whole panel for a grid.
    site_id = _oldest_waiting_site(round_, list(rows))
    sums = {s: sum(r[s] for r in per_site) for s in STAGES}
    oldest = None
    if site_id is not None:
        oldest = (
            qs.filter(site_id=site_id, reported_at__isnull=True, sealed_at__isnull=False)
            .order_by("sealed_at")
            .values("barcode", "sealed_at", "box__code", "site__name", "lab")
            .first()
        )
    if oldest:
        oldest["hours"] = round((now - oldest["sealed_at"]).total_seconds() / 3600, 1)
    return {"per_site": per_site, "totals": sums, "oldest": oldest}


def _oldest_waiting_site(round_: Round, site_ids: list[int]) -> int | None:
    """Of ``site_ids``, the site whose oldest tube waiting for a result was sealed first (None: none
    waits): per site, the first entry in the index tube_waiting."""
    first = (
        Tube.objects.filter(
            round=round_, site_id=OuterRef("pk"), reported_at__isnull=True, sealed_at__isnull=False
        )
        .order_by("sealed_at")
        .values("sealed_at")[:1]
    )
    return (
        Site.objects.filter(pk__in=site_ids)
        .annotate(first=Subquery(first))
        .filter(first__isnull=False)
        .order_by("first", "pk")
        .values_list("pk", flat=True)
        .first()
    )


def labs(round_: Round, area: Area) -> list[dict]:
    """Per lab: tubes at the lab, reported, and the turnaround (labs.queries, as the labs' own page)."""
    qs = _tubes(round_, area)
    rows = turnaround_by_lab(qs.filter(received_at__isnull=False), received=True)
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


def lagging(round_: Round, area: Area, grids: dict[int, dict], limit: int = 20, user=None) -> dict:
    """Grids and buildings worst first, with the grid's workers and their phones: a worker's phone is the
    one in the staff register of their account (staff.StaffMember.user), in full only to those who may
    call residents in that grid (residents.masking, the rule of every page), else masked; masked when
    ``user`` is None."""
    worst = sorted(grids.items(), key=lambda kv: (kv[1]["percent"], -kv[1]["missing"]))[:limit]
    grid_areas = {a.pk: a for a in Area.objects.filter(pk__in=[g for g, _ in worst]).only("name", "path")}
    workers: dict[int, list[dict]] = defaultdict(list)
    grants = (
        Grant.objects.filter(area_id__in=grid_areas, role="grid_worker")
        .select_related("user__staff_member")
        .order_by("area_id", "user__username")
    )
    calls = {pk: user is not None and may_call(user, a.path) for pk, a in grid_areas.items()}
    for g in grants:
        member = getattr(g.user, "staff_member", None)
        phone = member.phone if member is not None else ""
        workers[g.area_id].append(
            {
                "name": g.user.get_full_name() or g.user.username,
                "phone": phone if calls[g.area_id] or not phone else phone_mask(phone),
                "full": calls[g.area_id] and bool(phone),
            }
        )
    grid_rows = [
        {"pk": g, "name": grid_areas[g].name if g in grid_areas else "", "workers": workers[g], **c}
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


# ----------------------------------------------------------------------------------------- staff


def _staff_shifts(round_: Round, area: Area):
    return Shift.objects.filter(round=round_, site__area__path__startswith=area.path)


def staff(round_: Round, area: Area, now: datetime.datetime | None = None, user=None) -> dict:
    """Per site under ``area``: the shifts on now, how many people they need, who is assigned, who
    checked in for them, and the gaps (assigned but not checked in, places nobody fills). A site with
    no one on duty now is flagged, with its next shift.

    "Checked in" follows the staff board (staff.views.board): a check-in counts for the shift it was
    made for, so someone staying on for a second shift checks in again. Names are shown (the view's
    users may plan rounds here, as the staff board's are); phones only of those not checked in, masked
    unless ``user`` may call residents at the site (residents.masking, the rule of every page)."""
    now = now or timezone.now()
    shifts = _staff_shifts(round_, area)
    planned = shifts.count()
    site_rows = list(
        Site.objects.filter(area__path__startswith=area.path, is_active=True)
        .order_by("area__path", "name")
        .values("pk", "name", "area__name", "area__path", "capacity__is_shut")
    )
    current = list(
        shifts.filter(starts_at__lte=now, ends_at__gt=now)
        .prefetch_related(Prefetch("assignments", queryset=Assignment.objects.select_related("member")))
        .order_by("site_id", "role")
    )
    checked = set(
        CheckIn.objects.filter(shift__in=[s.pk for s in current]).values_list("shift_id", "member_id")
    )
    upcoming = dict(
        shifts.filter(starts_at__gt=now)
        .values("site_id")
        .annotate(t=Min("starts_at"))
        .values_list("site_id", "t")
    )
    roles = dict(Skill.choices)
    by_site: dict[int, list[Shift]] = defaultdict(list)
    for s in current:
        by_site[s.site_id].append(s)
    out = []
    for site in site_rows:
        on = by_site.get(site["pk"], [])
        calls = user is not None and bool(on) and may_call(user, site["area__path"])
        row: dict[str, Any] = {
            "pk": site["pk"],
            "name": site["name"],
            "area": site["area__name"],
            "is_shut": bool(site["capacity__is_shut"]),
            "shift": (
                f"{timezone.localtime(min(s.starts_at for s in on)):%H:%M}-"
                f"{timezone.localtime(max(s.ends_at for s in on)):%H:%M}"
                if on
                else ""
            ),
            "needed": sum(s.needed for s in on),
            "assigned": 0,
            "checked_in": 0,
            "absent": [],
            "next": upcoming.get(site["pk"]),
        }
        for s in on:
            for a in s.assignments.all():
                row["assigned"] += 1
                if (s.pk, a.member_id) in checked:
                    row["checked_in"] += 1
                else:
                    phone = a.member.phone
                    row["absent"].append(
                        {
                            "name": a.member.name,
                            "role": str(roles.get(s.role, s.role)),
                            "phone": phone if calls else phone_mask(phone),
                        }
                    )
        row["unfilled"] = max(0, row["needed"] - row["assigned"])
        row["nobody"] = row["assigned"] == 0 and not row["is_shut"]
        out.append(row)
    out.sort(key=lambda r: (not r["nobody"], -len(r["absent"]) - r["unfilled"], r["area"], r["name"]))
    keys = ("needed", "assigned", "checked_in", "unfilled")
    sums = {k: sum(r[k] for r in out) for k in keys} | {"absent": sum(len(r["absent"]) for r in out)}
    return {"shifts": planned, "sites": out, "totals": sums}


# ------------------------------------------------------------------------------------------ all


def panel(name: str, round_: Round, area: Area, grids: dict[int, dict], now=None, user=None):
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
        return lagging(round_, area, grids, user=user)
    if name == "staff":
        return staff(round_, area, now, user)
    raise KeyError(name)


def view_data(round_: Round, area: Area, only: set[str] | None = None, now=None, user=None) -> dict:
    """Every panel (or only those named) for one round and area. ``user`` is who will read it: the staff
    and lagging panels' phones are masked unless they may see them in full (masked when None)."""
    grids = per_grid(round_, area)
    return {p: panel(p, round_, area, grids, now, user) for p in PANELS if only is None or p in only}
