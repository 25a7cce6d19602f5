"""Notices to residents per building (issue 19): when and where to come, what to bring. One context,
three forms: a print view, a PDF with the embedded Chinese font of the code cards, and a short text
for the building's WeChat group. They read the round's accepted plans, so an accepted re-plan reaches
them at once."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.utils import timezone

from gridroll.accounts.roles import Action
from gridroll.accounts.scope import get_in_scope
from gridroll.areas.models import Building
from gridroll.core.http import download
from gridroll.planning.models import Batch, BatchBuilding, Plan
from gridroll.sampling.models import Round


def notice_context(round_: Round, building: Building) -> dict:
    rows = {
        m.kind: m
        for m in BatchBuilding.objects.filter(
            plan__round=round_, plan__status=Plan.Status.ACCEPTED, building=building
        ).select_related("batch__site")
    }
    general = rows.get(Batch.Kind.GENERAL) or rows.get(Batch.Kind.SCHOOL) or rows.get(Batch.Kind.FACTORY)
    if general is None:
        raise Http404
    return {
        "round": round_,
        "building": building,
        "general": general.batch,
        "elderly": rows[Batch.Kind.ELDERLY].batch if Batch.Kind.ELDERLY in rows else None,
        "home": Batch.Kind.HOME in rows,
        "tz": timezone.get_current_timezone(),
    }


@login_required
def notice(request, round_pk: int, building_pk: int, fmt: str = "html"):
    """A building's notice, for the staff of its grid (and above)."""
    building = get_in_scope(
        Building.objects.select_related("grid"), request.user, Action.VIEW_REGISTRY, pk=building_pk
    )
    round_ = get_object_or_404(Round, pk=round_pk)
    ctx = notice_context(round_, building)
    ctx["text"] = render_to_string("planning/notice.txt", ctx).strip()
    if fmt == "pdf":
        from gridroll.codes.cards import pdf_from_template

        pdf = pdf_from_template("planning/notice_pdf.html", ctx)
        return download(pdf, f"{building.label}-核酸检测通知.pdf", "application/pdf", inline=True)
    if fmt == "txt":
        return HttpResponse(ctx["text"], content_type="text/plain; charset=utf-8")
    return render(request, "planning/notice.html", ctx)


@login_required
def grid_slots(request, round_pk: int, grid_pk: int):
    """The grid worker's buildings and their slots in the round's accepted plans."""
    from gridroll.areas.models import Area

    grid = get_in_scope(Area.objects.all(), request.user, Action.VIEW_REGISTRY, pk=grid_pk)
    round_ = get_object_or_404(Round, pk=round_pk)
    rows = (
        BatchBuilding.objects.filter(
            plan__round=round_, plan__status=Plan.Status.ACCEPTED, building__grid__path__startswith=grid.path
        )
        .select_related("batch__site", "building")
        .order_by("building__compound_key", "building__number", "kind")
    )
    return render(request, "planning/grid_slots.html", {"round": round_, "grid": grid, "rows": rows})
