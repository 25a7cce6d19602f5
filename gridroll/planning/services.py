"""Writes of planning: capacity, plans, re-plans and their acceptance. Each is audited, in a transaction.

Refusals are PlanningError (a DomainError, docs/errors.md): the planner's own (not_enough_capacity,
no_site, window_too_short, solver_failed) and not_accepted, not_proposed.
"""

from __future__ import annotations

import datetime
from collections import defaultdict

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy

from gridroll.areas.models import Area, Building
from gridroll.audit.services import record
from gridroll.core.errors import DomainError
from gridroll.lib import planner, queuesim
from gridroll.lib.planner import PlanError
from gridroll.planning.models import DEFAULT_RATES, Batch, BatchBuilding, Plan, SiteCapacity, StationCapacity
from gridroll.residents.models import Resident, ResidentStatus
from gridroll.sampling.models import Round, Sample, Site, Station

ELDERLY_AGE = 75


class PlanningError(DomainError):
    MESSAGES = {
        "not_enough_capacity": gettext_lazy(
            "The sites' open stations cannot take everyone in the round's window: about %(hours)s "
            "station-hours short. Open stations or sites, or lengthen the window."
        ),
        "no_site": gettext_lazy(
            "A building has no open sampling site in its area: open one or add the area."
        ),
        "window_too_short": gettext_lazy("A site's opening hours leave no whole slot for its buildings."),
        "solver_failed": gettext_lazy("The plan could not be computed; try again."),
        "not_accepted": gettext_lazy("Only the accepted plan can be re-planned."),
        "not_proposed": gettext_lazy("This plan is not a proposal any more."),
    }


def _refused(exc: PlanError) -> PlanningError:
    """The planner's refusal in the reader's language (its params fill the message)."""
    return (
        PlanningError(exc.code, **exc.params)
        if exc.code in PlanningError.MESSAGES
        else PlanningError(exc.code, exc.message)
    )


def set_site_capacity(user, site: Site, *, queue_space: int, is_shut: bool) -> SiteCapacity:
    """Change a site's queue space or shut it (a site dropped out); audited."""
    with transaction.atomic():
        cap, _ = SiteCapacity.objects.select_for_update().get_or_create(site=site)
        before = {"queue_space": cap.queue_space, "is_shut": cap.is_shut}
        cap.queue_space, cap.is_shut = queue_space, is_shut
        cap.save()
        record(
            user,
            "planning.site_capacity",
            site,
            changes=_diff(before, {"queue_space": queue_space, "is_shut": is_shut}),
            area_path=site.area.path,
        )
    return cap


def set_station_capacity(user, station: Station, *, is_open: bool, rates: dict[str, int]) -> StationCapacity:
    """Change a station's swabs per hour by pool mode, or close it; audited. ValueError on a bad rate."""
    if any(not (1 <= int(v) <= 1000) for v in rates.values()):
        raise ValueError("rate_out_of_range")
    with transaction.atomic():
        cap, _ = StationCapacity.objects.select_for_update().get_or_create(station=station)
        before = {"is_open": cap.is_open, **{m: cap.rate(m) for m in rates}}
        cap.is_open = is_open
        for mode, v in rates.items():
            setattr(cap, f"per_hour_{mode}", int(v))
        cap.save()
        after = {"is_open": is_open, **{m: int(v) for m, v in rates.items()}}
        record(
            user,
            "planning.station_capacity",
            station,
            changes=_diff(before, after),
            area_path=station.site.area.path,
        )
    return cap


def _diff(before: dict, after: dict) -> dict:
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}


def _minutes(round_: Round, when: datetime.datetime) -> float:
    return (when - round_.starts_at).total_seconds() / 60


def _at(round_: Round, minutes: float) -> datetime.datetime:
    return round_.starts_at + datetime.timedelta(minutes=minutes)


def site_inputs(round_: Round, area: Area) -> tuple[list[planner.SiteIn], dict[int, Site]]:
    """Open sites under the area with their open stations (× their speed against the defaults)."""
    sites = {
        s.pk: s
        for s in Site.objects.filter(area__path__startswith=area.path, is_active=True).select_related(
            "area", "capacity"
        )
    }
    caps: dict[int, list[float]] = defaultdict(list)
    for st in Station.objects.filter(site__in=sites).select_related("capacity"):
        c = getattr(st, "capacity", None)
        if c is None or c.is_open:
            caps[st.site_id].append(c.rate("pool10") / DEFAULT_RATES["pool10"] if c else 1.0)
    hours: dict[int, tuple[float, float]] = {}
    for o in round_.openings.filter(site__in=sites):
        a, b = _minutes(round_, o.opens_at), _minutes(round_, o.closes_at)
        old = hours.get(o.site_id)
        hours[o.site_id] = (min(a, old[0]), max(b, old[1])) if old else (a, b)
    window = (0.0, _minutes(round_, round_.ends_at))
    out = []
    for pk, s in sites.items():
        shut = getattr(s, "capacity", None) is not None and s.capacity.is_shut
        rates = caps.get(pk, [])
        opens, closes = hours.get(pk, window)
        out.append(
            planner.SiteIn(
                pk,
                s.area.path,
                len(rates),
                max(0.0, opens),
                min(closes, window[1]),
                speed=0.0 if shut or not rates else sum(rates) / len(rates),
            )
        )
    return out, sites


def building_inputs(
    round_: Round, area: Area, only: set[int] | None = None
) -> tuple[list[planner.BuildingIn], dict]:
    """Buildings under the area with who comes: the elderly/disabled apart, the bedridden stay home."""
    qs = Building.objects.filter(grid__path__startswith=area.path).select_related("grid")
    if only is not None:
        qs = qs.filter(pk__in=only)
    cutoff = timezone.localdate().replace(year=timezone.localdate().year - ELDERLY_AGE)
    counts = {
        row["household__building"]: row
        for row in Resident.objects.filter(
            household__building__grid__path__startswith=area.path, status=ResidentStatus.PRESENT
        )
        .values("household__building")
        .annotate(
            total=Count("id"),
            bedridden=Count("id", filter=Q(is_bedridden=True)),
            elderly=Count(
                "id", filter=Q(is_bedridden=False) & (Q(has_disability=True) | Q(birth_date__lte=cutoff))
            ),
        )
    }
    modes: dict[str, str] = {}
    out, bedridden = [], {}
    for b in qs:
        c = counts.get(b.pk, {"total": 0, "bedridden": 0, "elderly": 0})
        mode = modes.get(b.grid.path) or modes.setdefault(b.grid.path, round_.pool_mode_for(b.grid.path))
        kind = getattr(getattr(b, "profile", None), "kind", "general")
        out.append(
            planner.BuildingIn(
                b.pk,
                b.grid.path,
                (b.compound_key, b.grid.path, b.number.zfill(6)),
                c["total"] - c["bedridden"] - c["elderly"],
                60 / DEFAULT_RATES[mode],
                elderly=c["elderly"],
                kind=kind,
            )
        )
        if c["bedridden"]:
            bedridden[b.pk] = (b, c["bedridden"])
    return out, bedridden


def _simulate(
    round_: Round, sites: list[planner.SiteIn], batches: list[planner.BatchOut], mpp: dict[int, float]
) -> dict:
    rows = []
    for bt in batches:
        if bt.site_id is None or not bt.people:
            continue
        m = bt.load / bt.people if bt.load else 1.0
        speed = next((s.speed for s in sites if s.id == bt.site_id), 1.0) or 1.0
        rows.append((bt.site_id, bt.start, bt.end, bt.people, m / speed))
    res = queuesim.simulate({s.id: s.stations for s in sites}, rows)
    return {
        str(sid): {
            "max_wait": round(r.max_wait, 1),
            "p95_wait": round(r.p95_wait, 1),
            "max_queue": r.max_queue,
            "people": r.people,
            "series": [[m, q, round(w, 1)] for m, q, w in r.series],
        }
        for sid, r in res.items()
    }


def _save(
    round_: Round, plan: Plan, out: list[planner.BatchOut], kept: list[Batch], moved_kept_members: dict
) -> None:
    """Write the batches (kept ones first, copied as they were) and their members."""
    members = []
    for old in kept:
        new = Batch.objects.create(
            plan=plan,
            site_id=old.site_id,
            kind=old.kind,
            starts_at=old.starts_at,
            ends_at=old.ends_at,
            people=0,
            is_finished=old.is_finished,
        )
        keep = moved_kept_members[old.pk]
        for m in keep:
            members.append(
                BatchBuilding(plan=plan, batch=new, building_id=m.building_id, kind=m.kind, people=m.people)
            )
        new.people = sum(m.people for m in keep)
        new.save(update_fields=["people"])
    for bt in out:
        new = Batch.objects.create(
            plan=plan,
            site_id=bt.site_id,
            kind=bt.kind,
            starts_at=_at(round_, bt.start),
            ends_at=_at(round_, bt.end),
            people=bt.people,
        )
        for bid, people in bt.buildings:
            members.append(BatchBuilding(plan=plan, batch=new, building_id=bid, kind=bt.kind, people=people))
    BatchBuilding.objects.bulk_create(members, batch_size=2000)


def _home_batches(round_: Round, bedridden: dict) -> list[planner.BatchOut]:
    """The bedridden go to the home sampling team of their community, over the whole window."""
    by_community: dict[str, list] = defaultdict(list)
    for b, n in bedridden.values():
        by_community[b.grid.path.rsplit("/", 2)[0]].append((b.pk, n))
    end = _minutes(round_, round_.ends_at)
    return [planner.BatchOut(None, 0.0, end, Batch.Kind.HOME, rows) for rows in by_community.values()]  # type: ignore[arg-type]


def make_plan(user, round_: Round, area: Area, slot_minutes: int = 30) -> Plan:
    """Plan every building under ``area`` for the round and accept it (replacing an accepted plan of
    the same round and area); audited. PlanningError when the sites cannot take everyone in the window."""
    sites, _ = site_inputs(round_, area)
    buildings, bedridden = building_inputs(round_, area)
    try:
        result = planner.plan(buildings, sites, slot=slot_minutes)
        naive = planner.naive_plan(buildings, sites)
    except PlanError as exc:
        raise _refused(exc) from None
    mpp = {b.id: b.minutes_per_person for b in buildings}
    metrics = {
        "sites": _simulate(round_, sites, result.batches, mpp),
        "naive_worst_wait": round(
            max((r["max_wait"] for r in _simulate(round_, sites, naive, mpp).values()), default=0.0), 1
        ),
        "cost": round(result.cost, 2),
        "lp_bound": round(result.lp_bound, 2),
        "split": result.split,
    }
    with transaction.atomic():
        Plan.objects.filter(round=round_, area=area, status=Plan.Status.ACCEPTED).update(
            status=Plan.Status.SUPERSEDED
        )
        Plan.objects.filter(round=round_, area=area, status=Plan.Status.PROPOSED).delete()
        plan = Plan.objects.create(
            round=round_,
            area=area,
            status=Plan.Status.ACCEPTED,
            slot_minutes=slot_minutes,
            metrics=metrics,
            created_by=user,
        )
        _save(round_, plan, result.batches + _home_batches(round_, bedridden), [], {})
        record(
            user,
            "planning.plan",
            plan,
            changes={"batches": [None, len(result.batches)], "buildings": [None, len(buildings)]},
            area_path=area.path,
        )
    return plan


def measured_speed(round_: Round, site_id: int, stations: int, now: datetime.datetime) -> float:
    """The site board's real throughput over the last hour against what its open stations should do
    (1.0 = as planned). Only a site that had people planned in that hour is judged."""
    since = now - datetime.timedelta(hours=1)
    done = Sample.objects.filter(
        tube__site_id=site_id, round=round_, is_removed=False, scanned_at__gte=since, scanned_at__lte=now
    ).count()
    expected = stations * DEFAULT_RATES["pool10"]
    return min(1.0, done / expected) if expected else 0.0


def propose_replan(
    user,
    plan: Plan,
    now: datetime.datetime | None = None,
    reason: str = "",
    speeds: dict[int, float] | None = None,
) -> Plan:
    """Propose a re-plan of the batches not yet started (and of those at shut sites): finished and
    running batches are kept as they were. ``speeds`` (site → measured ÷ planned throughput) defaults
    to the sites' real scan throughput over the last hour where it fell below 70% of the plan."""
    now = now or timezone.now()
    round_ = plan.round
    if plan.status != Plan.Status.ACCEPTED:
        raise PlanningError("not_accepted")
    sites, _ = site_inputs(round_, plan.area)
    t_now = _minutes(round_, now)
    old = list(plan.batches.prefetch_related("members"))
    if speeds is None:
        speeds = {}
        for s in sites:
            running = any(b.site_id == s.id and b.starts_at <= now - datetime.timedelta(hours=1) for b in old)
            if running and s.speed:
                m = measured_speed(round_, s.id, s.stations, now)
                if m < 0.7:
                    # A site with next to no scans may be scanning on paper: plan it at a quarter, not zero.
                    speeds[s.id] = max(m, 0.25)
    shut = {s.id for s in sites if s.speed == 0}
    for s in sites:
        if s.id in speeds:
            s.speed = s.speed * speeds[s.id]
        # Nothing new starts before the next slot boundary from now.
        start = plan.slot_minutes * -(-t_now // plan.slot_minutes)
        s.opens = max(s.opens, start)
    kept, members, moved = [], {}, set()
    for b in old:
        started = b.starts_at <= now or b.is_finished
        slow = b.site_id in speeds or b.site_id in shut
        if b.kind == Batch.Kind.HOME or (started and b.site_id not in shut) or (b.ends_at <= now):
            kept.append(b)
            members[b.pk] = list(b.members.all())
        elif slow or not started:
            for m in b.members.all():
                if b.kind != Batch.Kind.ELDERLY:
                    moved.add(m.building_id)
            kept_elderly = [
                m for m in b.members.all() if b.kind == Batch.Kind.ELDERLY and m.building_id not in moved
            ]
            if kept_elderly and not slow:
                kept.append(b)
                members[b.pk] = kept_elderly
    # Elderly rows of moved buildings move with them.
    for b in kept:
        members[b.pk] = [
            m
            for m in members[b.pk]
            if not (b.kind == Batch.Kind.ELDERLY and m.building_id in moved and b.starts_at > now)
        ]
    buildings, _ = building_inputs(round_, plan.area, only=moved)
    done_elderly = {m.building_id for b in kept if b.kind == Batch.Kind.ELDERLY for m in members[b.pk]}
    for bi in buildings:
        if bi.id in done_elderly:
            bi.elderly = 0
    try:
        result = (
            planner.plan(buildings, sites, slot=plan.slot_minutes)
            if buildings
            else planner.PlanOut([], {}, 0, 0, 0)
        )
    except PlanError as exc:
        raise _refused(exc) from None
    old_site = {
        m.building_id: (b.site_id, b.starts_at)
        for b in old
        if b.kind == Batch.Kind.GENERAL
        for m in b.members.all()
    }
    changes = []
    for bt in result.batches:
        if bt.kind == Batch.Kind.ELDERLY:
            continue
        for bid, _p in bt.buildings:
            if old_site.get(bid, (None,))[0] != bt.site_id or old_site[bid][1] != _at(round_, bt.start):
                changes.append(bid)
    metrics = {
        "sites": _simulate(round_, sites, result.batches, {}),
        "moved": len(changes),
        "replanned": len(moved),
        "slow_sites": {str(k): round(v, 2) for k, v in speeds.items()},
        "shut_sites": sorted(shut),
    }
    with transaction.atomic():
        Plan.objects.filter(round=round_, area=plan.area, status=Plan.Status.PROPOSED).delete()
        new = Plan.objects.create(
            round=round_,
            area=plan.area,
            parent=plan,
            status=Plan.Status.PROPOSED,
            slot_minutes=plan.slot_minutes,
            metrics=metrics,
            created_by=user,
            reason=reason[:200],
        )
        _save(round_, new, result.batches, kept, members)
        record(
            user,
            "planning.propose_replan",
            new,
            changes={"moved": [None, len(changes)]},
            reason=reason,
            area_path=plan.area.path,
        )
    return new


def accept_plan(user, plan: Plan) -> Plan:
    """Accept a proposed re-plan: it replaces its parent, and the notices follow it. Audited with the
    buildings that moved. PlanError not_proposed when the plan is not a proposal (or was replaced)."""
    with transaction.atomic():
        plan = Plan.objects.select_for_update().get(pk=plan.pk)
        if plan.status != Plan.Status.PROPOSED:
            raise PlanningError("not_proposed")
        if plan.parent_id:
            Plan.objects.filter(pk=plan.parent_id).update(status=Plan.Status.SUPERSEDED)
        Plan.objects.filter(round=plan.round, area=plan.area, status=Plan.Status.ACCEPTED).update(
            status=Plan.Status.SUPERSEDED
        )
        plan.status = Plan.Status.ACCEPTED
        plan.save(update_fields=["status"])
        old = dict(
            BatchBuilding.objects.filter(plan_id=plan.parent_id, kind=Batch.Kind.GENERAL).values_list(
                "building_id", "batch__site__name"
            )
        )
        new = dict(
            BatchBuilding.objects.filter(plan=plan, kind=Batch.Kind.GENERAL).values_list(
                "building_id", "batch__site__name"
            )
        )
        moved = {str(b): [old.get(b), s] for b, s in new.items() if old.get(b) != s}
        record(
            user,
            "planning.accept",
            plan,
            changes={"status": ["proposed", "accepted"], "moved_buildings": moved},
            area_path=plan.area.path,
        )
    return plan
