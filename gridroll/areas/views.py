"""Browsing the registry: area → grid → building → household, each narrowed to the user's scope."""

from __future__ import annotations

from collections import defaultdict

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from gridroll.accounts.roles import Action
from gridroll.accounts.scope import can, get_in_scope
from gridroll.areas.models import Area, Building, Household, Level
from gridroll.core.exports import XLSX
from gridroll.lib.text import natural_key
from gridroll.residents.exporting import export_residents_response
from gridroll.residents.models import Resident, ResidentStatus


def crumbs(user, area: Area, include_self: bool = True) -> list[Area]:
    """The area's ancestors (and itself) that the user may open: no link leads to a "not found"."""
    chain = [*area.ancestors(), area] if include_self else area.ancestors()
    return [a for a in chain if can(user, Action.VIEW_REGISTRY, a.path)]


def _resident_counts(user, area: Area) -> dict[int, dict[str, int]]:
    """Residents per grid under ``area`` (all, and present), in one query."""
    rows = (
        Resident.objects.restrict(user)
        .filter(household__building__grid__path__startswith=area.path)
        .values("household__building__grid_id", "status")
        .annotate(n=Count("id"))
    )
    counts: dict[int, dict[str, int]] = defaultdict(lambda: {"total": 0, "present": 0})
    for row in rows:
        c = counts[row["household__building__grid_id"]]
        c["total"] += row["n"]
        if row["status"] == ResidentStatus.PRESENT:
            c["present"] += row["n"]
    return counts


@login_required
def area_detail(request, pk: int):
    area = get_in_scope(Area.objects.all(), request.user, pk=pk)
    counts = _resident_counts(request.user, area)
    grid_paths = dict(Area.objects.filter(id__in=counts.keys()).values_list("id", "path"))
    children = []
    for child in area.children.restrict(request.user).order_by("name"):
        total = sum(c["total"] for gid, c in counts.items() if grid_paths[gid].startswith(child.path))
        present = sum(c["present"] for gid, c in counts.items() if grid_paths[gid].startswith(child.path))
        children.append({"area": child, "total": total, "present": present})
    children.sort(key=lambda c: natural_key(c["area"].name))
    buildings = []
    if area.is_grid:
        qs = (
            Building.objects.restrict(request.user)
            .filter(grid=area)
            .annotate(
                household_count=Count("households", distinct=True),
                resident_count=Count("households__residents"),
            )
        )
        buildings = sorted(qs, key=lambda b: (b.compound_key, natural_key(b.number)))
    total = sum(c["total"] for c in counts.values())
    workers = area.grants.filter(role="grid_worker").select_related("user") if area.is_grid else []
    return render(
        request,
        "areas/area_detail.html",
        {
            "area": area,
            "ancestors": crumbs(request.user, area, include_self=False),
            "children": children,
            "buildings": buildings,
            "total": total,
            "workers": workers,
            "can_import": can(request.user, Action.IMPORT, area.path),
            "can_codes": can(request.user, Action.MANAGE_CODES, area.path),
            "can_edit": can(request.user, Action.EDIT_REGISTRY, area.path),
            "pending_count": Resident.objects.restrict(request.user, Action.EDIT_REGISTRY)
            .filter(is_pending=True)
            .count(),
        },
    )


@login_required
def building_detail(request, pk: int):
    building = get_in_scope(Building.objects.select_related("grid"), request.user, pk=pk)
    households = sorted(
        building.households.prefetch_related("residents"),
        key=lambda h: (natural_key(h.entrance), natural_key(h.room)),
    )
    return render(
        request,
        "areas/building_detail.html",
        {
            "building": building,
            "grid": building.grid,
            "ancestors": crumbs(request.user, building.grid),
            "households": households,
            "resident_count": sum(len(h.residents.all()) for h in households),
        },
    )


@login_required
def household_detail(request, pk: int):
    household = get_in_scope(Household.objects.select_related("building__grid"), request.user, pk=pk)
    grid = household.building.grid
    return render(
        request,
        "areas/household_detail.html",
        {
            "household": household,
            "ancestors": crumbs(request.user, grid),
            "residents": household.residents.all(),
            "can_edit": can(request.user, Action.EDIT_REGISTRY, grid.path),
        },
    )


@login_required
def area_export(request, pk: int) -> HttpResponse:
    area = get_in_scope(Area.objects.all(), request.user, Action.IMPORT, pk=pk)
    queryset = Resident.objects.restrict(request.user, Action.IMPORT).filter(
        household__building__grid__path__startswith=area.path
    )
    filename = f"{area.name}-居民信息.xlsx"
    if area.level == Level.GRID:
        return export_residents_response(request.user, queryset, filename, area.path)
    # Above a grid the export runs in the background (the district's took 24 s; issue 18).
    if request.method == "POST":
        from gridroll.jobs.services import submit

        job = submit(
            request.user,
            "registry.export",
            {"area": area.pk},
            title=_("Registry export · %(area)s") % {"area": area.name},
            filename=filename,
            content_type=XLSX,
            area_path=area.path,
        )
        return redirect("jobs:detail", pk=job.pk)
    return render(
        request,
        "jobs/prepare.html",
        {
            "title": _("Registry export · %(area)s") % {"area": area.name},
            "count": queryset.count(),
            "formats": [("xlsx", _("Prepare the Excel file"))],
            "back": reverse("areas:area", args=[area.pk]),
            "ancestors": crumbs(request.user, area),
        },
    )
