"""The command view (指挥部): the round at a glance for district, subdistrict and community staff, with
a JSON refresh that sends only the panels whose version moved, and the day's report as Excel and PDF."""

from __future__ import annotations

import io
import json

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone

from gridroll.accounts.roles import Action
from gridroll.accounts.scope import can
from gridroll.areas.models import Area
from gridroll.command import queries
from gridroll.core.http import download
from gridroll.rollcall.views import round_and_area
from gridroll.sampling.models import Round
from gridroll.sampling.queries import rounds_for

# Commanding is planning rounds: district, subdistrict and community staff (not grid workers, samplers
# or labs). The area must also be one the user may see.
ACTION = Action.PLAN_ROUNDS


def _context(request, round_pk: int, area_pk: int) -> tuple[Round, Area]:
    return round_and_area(request, round_pk, area_pk, ACTION)


@login_required
def start(request):
    """The user's highest area and the newest open (or else latest) round there."""
    if not can(request.user, ACTION):
        raise Http404
    area = Area.objects.restrict(request.user, ACTION).order_by("path").first()
    if area is None:
        raise Http404
    rounds = rounds_for(area)
    round_ = rounds.filter(status=Round.Status.OPEN).first() or rounds.first()
    if round_ is None:
        return render(request, "command/none.html", {"area": area})
    return redirect("command:board", round_pk=round_.pk, area_pk=area.pk)


def _panels_html(request, round_, area, data: dict) -> dict[str, str]:
    return {
        name: render_to_string(
            f"command/_{name}.html",
            {"d": value, "round": round_, "area": area, "chart": json.dumps(value, default=str)},
            request=request,
        )
        for name, value in data.items()
    }


@login_required
def board(request, round_pk: int, area_pk: int):
    round_, area = _context(request, round_pk, area_pk)
    data = queries.view_data(round_, area, user=request.user)
    ancestors = [a for a in area.ancestors() if can(request.user, ACTION, a.path)] if area.parent_id else []
    return render(
        request,
        "command/board.html",
        {
            "round": round_,
            "area": area,
            "trail": ancestors,
            "panels": _panels_html(request, round_, area, data),
            "versions": queries.versions(round_, area),
            "wall": request.GET.get("wall") == "1",
            "rounds": rounds_for(area)[:10],
            "now": timezone.now(),
        },
    )


@login_required
def data(request, round_pk: int, area_pk: int):
    """``?v=<panel>:<version>,...``: the panels whose version differs, as HTML; 204 when none did."""
    round_, area = _context(request, round_pk, area_pk)
    current = queries.versions(round_, area)
    seen = dict(part.split(":", 1) for part in request.GET.get("v", "").split(",") if ":" in part)
    changed = {p for p, v in current.items() if seen.get(p) != v}
    if not changed:
        return HttpResponse(status=204)
    payload = queries.view_data(round_, area, only=changed, user=request.user)
    return JsonResponse({"versions": current, "html": _panels_html(request, round_, area, payload)})


@login_required
def report(request, round_pk: int, area_pk: int, fmt: str):
    round_, area = _context(request, round_pk, area_pk)
    from gridroll.command import report as day_report

    data = queries.view_data(round_, area, user=request.user)
    name = f"{round_.name}-{area.name}-{timezone.localdate():%Y%m%d}"
    if fmt == "xlsx":
        out = io.BytesIO()
        day_report.write_xlsx(round_, area, data, out)
        return download(out.getvalue(), f"{name}.xlsx")
    return download(day_report.pdf(request, round_, area, data), f"{name}.pdf")
