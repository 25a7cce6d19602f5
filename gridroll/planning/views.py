"""Planning pages: a round's plans per area, a plan's batches on a timeline with the simulated queues,
re-planning and its acceptance, and a site's capacity. A plan is seen only by those who may plan its
area (or an area inside it); anything else is 404, like a missing plan."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gridroll.accounts.roles import Action
from gridroll.accounts.scope import can, get_in_scope
from gridroll.areas.models import Area
from gridroll.planning import services
from gridroll.planning.charts import load_chart, timeline
from gridroll.planning.models import Batch, Plan, StationCapacity
from gridroll.sampling.models import PoolMode, Round, Site


def _plan_or_404(user, pk: int) -> Plan:
    return get_in_scope(Plan.objects.select_related("round", "area"), user, Action.PLAN_ROUNDS, pk=pk)


@login_required
def round_plans(request, round_pk: int):
    """Areas of the round this user may plan, with their plans; POST makes a plan for one of them."""
    round_ = get_object_or_404(Round, pk=round_pk)
    round_paths = [ra.area.path for ra in round_.areas.select_related("area")]
    areas = [
        a
        for a in Area.objects.restrict(request.user, Action.PLAN_ROUNDS).exclude(level="grid")
        if any(a.path.startswith(p) for p in round_paths)
    ]
    if not areas:
        raise Http404
    if request.method == "POST":
        area = get_in_scope(Area.objects.all(), request.user, Action.PLAN_ROUNDS, pk=request.POST.get("area"))
        if area not in areas:
            raise Http404
        try:
            plan = services.make_plan(request.user, round_, area)
        except services.PlanningError as exc:
            messages.error(request, _("No plan: %(why)s") % {"why": exc.message})
            return redirect("planning:round", round_pk=round_.pk)
        return redirect("planning:plan", pk=plan.pk)
    plans = (
        Plan.objects.restrict(request.user)
        .filter(round=round_)
        .exclude(status=Plan.Status.SUPERSEDED)
        .select_related("area")
    )
    return render(request, "planning/round.html", {"round": round_, "areas": areas, "plans": plans})


@login_required
def plan_detail(request, pk: int):
    plan = _plan_or_404(request.user, pk)
    batches = list(plan.batches.select_related("site").prefetch_related("members__building"))
    sites = {b.site_id: b.site for b in batches if b.site_id}
    sim = plan.metrics.get("sites", {})
    rows = [
        {
            "site": s,
            "sim": sim.get(str(sid), {}),
            "people": sum(b.people for b in batches if b.site_id == sid),
        }
        for sid, s in sorted(sites.items(), key=lambda kv: kv[1].name)
    ]
    proposal = Plan.objects.filter(parent=plan, status=Plan.Status.PROPOSED).first()
    return render(
        request,
        "planning/plan.html",
        {
            "plan": plan,
            "batches": batches,
            "rows": rows,
            "home": [b for b in batches if b.kind == Batch.Kind.HOME],
            "timeline": timeline(plan, batches),
            "chart": load_chart(rows),
            "proposal": proposal,
            "worst": max((r["sim"].get("max_wait", 0) for r in rows), default=0),
        },
    )


@login_required
@require_POST
def replan(request, pk: int):
    plan = _plan_or_404(request.user, pk)
    try:
        new = services.propose_replan(request.user, plan, reason=request.POST.get("reason", ""))
    except services.PlanningError as exc:
        messages.error(request, _("No re-plan: %(why)s") % {"why": exc.message})
        return redirect("planning:plan", pk=plan.pk)
    return redirect("planning:plan", pk=new.pk)


@login_required
@require_POST
def accept(request, pk: int):
    plan = _plan_or_404(request.user, pk)
    try:
        services.accept_plan(request.user, plan)
        messages.success(request, _("Re-plan accepted: the notices follow it."))
    except services.PlanningError as exc:
        messages.error(request, exc.message)
    return redirect("planning:plan", pk=plan.pk)


@login_required
def site_capacity(request, pk: int):
    """A site's queue space, whether it is shut, and each station's swabs per hour by pool mode."""
    site = get_in_scope(Site.objects.select_related("area"), request.user, Action.PLAN_ROUNDS, pk=pk)
    stations = list(site.stations.all())
    if request.method == "POST":
        try:
            queue = int(request.POST.get("queue_space", "200"))
            if not 1 <= queue <= 10000:
                raise ValueError
            # Everything is read and checked before anything is written: a bad number changes nothing.
            rates = {
                st.pk: {m: int(request.POST.get(f"{st.pk}_{m}", "0")) for m in PoolMode.values}
                for st in stations
            }
            if any(not 1 <= v <= 1000 for r in rates.values() for v in r.values()):
                raise ValueError
            with transaction.atomic():
                services.set_site_capacity(
                    request.user, site, queue_space=queue, is_shut=bool(request.POST.get("is_shut"))
                )
                for st in stations:
                    services.set_station_capacity(
                        request.user, st, is_open=bool(request.POST.get(f"{st.pk}_open")), rates=rates[st.pk]
                    )
            messages.success(request, _("Capacity saved."))
        except ValueError:
            messages.error(request, _("Give whole numbers: queue space 1–10000, swabs per hour 1–1000."))
        return redirect("planning:site_capacity", pk=site.pk)
    caps = {c.station_id: c for c in StationCapacity.objects.filter(station__in=stations)}
    table = [(st, caps.get(st.pk) or StationCapacity(station=st)) for st in stations]
    return render(
        request,
        "planning/capacity.html",
        {
            "site": site,
            "cap": getattr(site, "capacity", None),
            "table": table,
            "modes": PoolMode.choices,
            "editable": can(request.user, Action.PLAN_ROUNDS, site.area.path),
        },
    )
