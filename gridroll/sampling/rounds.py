"""Planning rounds: areas and pool modes, opening and closing, opening hours; stations at sites.

A planner sees the rounds that cover an area of theirs, and may change a round only if every area in it
is theirs (a subdistrict cannot close the district's round). Status changes are audited.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from gridroll.accounts.roles import Action
from gridroll.accounts.scope import allowed_paths, can, get_in_scope
from gridroll.areas.models import Area
from gridroll.audit.services import record
from gridroll.rollcall.services import sync_round
from gridroll.sampling.models import PoolMode, Round, RoundArea, Site, SiteOpening, Station


class RoundForm(forms.ModelForm):
    class Meta:
        model = Round
        fields = ["name", "starts_at", "ends_at"]
        widgets = {
            "starts_at": forms.DateTimeInput(attrs={"type": "datetime-local"}),
            "ends_at": forms.DateTimeInput(attrs={"type": "datetime-local"}),
        }

    def clean(self):
        data = super().clean()
        if data.get("starts_at") and data.get("ends_at") and data["ends_at"] <= data["starts_at"]:
            self.add_error("ends_at", gettext_lazy("The round must end after it starts."))
        return data


def _overlaps(user, path: str) -> bool:
    """The area is one of the user's, or contains one (a district round covers a community's grids)."""
    paths = allowed_paths(user, Action.PLAN_ROUNDS)
    return paths is None or any(path.startswith(p) or p.startswith(path) for p in paths)


def _visible_rounds(user):
    ids = {ra.round_id for ra in RoundArea.objects.select_related("area") if _overlaps(user, ra.area.path)}
    return Round.objects.filter(pk__in=ids)


def _editable(user, round_: Round) -> bool:
    areas = list(round_.areas.select_related("area"))
    return all(can(user, Action.PLAN_ROUNDS, ra.area.path) for ra in areas)


def _round_or_404(user, pk: int) -> Round:
    round_ = get_object_or_404(Round, pk=pk)
    areas = list(round_.areas.select_related("area"))
    if areas and not any(_overlaps(user, ra.area.path) for ra in areas):
        raise Http404
    if not areas and not can(user, Action.PLAN_ROUNDS):
        raise Http404
    return round_


@login_required
def round_list(request):
    if not can(request.user, Action.PLAN_ROUNDS):
        raise Http404
    form = RoundForm(request.POST or None)
    area_choices = Area.objects.restrict(request.user, Action.PLAN_ROUNDS).order_by("path")
    if request.method == "POST" and form.is_valid():
        area = get_in_scope(Area.objects.all(), request.user, Action.PLAN_ROUNDS, pk=request.POST.get("area"))
        round_ = form.save()
        RoundArea.objects.create(
            round=round_, area=area, pool_mode=request.POST.get("pool_mode") or PoolMode.POOL10
        )
        record(
            request.user,
            "round.create",
            round_,
            changes={"area": [None, area.name]},
            reason=round_.name,
            area_path=area.path,
        )
        return redirect("sampling:round", pk=round_.pk)
    rounds = _visible_rounds(request.user).prefetch_related("areas__area")
    return render(
        request,
        "sampling/rounds.html",
        {"form": form, "rounds": rounds, "areas": area_choices, "modes": PoolMode.choices},
    )


@login_required
def round_detail(request, pk: int):
    round_ = _round_or_404(request.user, pk)
    editable = _editable(request.user, round_)
    if request.method == "POST":
        if not editable:
            raise Http404
        if "area" in request.POST:
            area = get_in_scope(Area.objects.all(), request.user, Action.PLAN_ROUNDS, pk=request.POST["area"])
            mode = request.POST.get("pool_mode")
            if mode not in PoolMode.values:
                messages.error(request, _("Choose a pool mode."))
            else:
                RoundArea.objects.update_or_create(round=round_, area=area, defaults={"pool_mode": mode})
                record(
                    request.user,
                    "round.area",
                    round_,
                    changes={"area": [None, f"{area.name} {mode}"]},
                    area_path=area.path,
                )
        elif "remove_area" in request.POST:
            RoundArea.objects.filter(round=round_, pk=request.POST["remove_area"]).delete()
        elif "site" in request.POST:
            site = get_in_scope(Site.objects.all(), request.user, Action.PLAN_ROUNDS, pk=request.POST["site"])
            form = OpeningForm(request.POST)
            if form.is_valid():
                SiteOpening.objects.create(round=round_, site=site, **form.cleaned_data)
            else:
                messages.error(request, _("Give the opening and closing times, closing after opening."))
        elif "remove_opening" in request.POST:
            SiteOpening.objects.filter(round=round_, pk=request.POST["remove_opening"]).delete()
        return redirect("sampling:round", pk=round_.pk)
    sites = Site.objects.restrict(request.user, Action.PLAN_ROUNDS).select_related("area")
    return render(
        request,
        "sampling/round.html",
        {
            "round": round_,
            "editable": editable,
            "areas": round_.areas.select_related("area"),
            "area_choices": Area.objects.restrict(request.user, Action.PLAN_ROUNDS).order_by("path"),
            "modes": PoolMode.choices,
            "openings": round_.openings.select_related("site"),
            "sites": sites,
        },
    )


class OpeningForm(forms.Form):
    opens_at = forms.DateTimeField()
    closes_at = forms.DateTimeField()

    def clean(self):
        data = super().clean()
        if data.get("opens_at") and data.get("closes_at") and data["closes_at"] <= data["opens_at"]:
            raise forms.ValidationError("closes before it opens")
        return data


TRANSITIONS = {"open": (Round.Status.PLANNED, Round.Status.CLOSED), "close": (Round.Status.OPEN,)}


@login_required
@require_POST
def round_status(request, pk: int):
    """Open a planned round (or reopen a closed one, with a reason), close an open one. Audited."""
    round_ = _round_or_404(request.user, pk)
    if not _editable(request.user, round_):
        raise Http404
    action = request.POST.get("action")
    reason = request.POST.get("reason", "").strip()
    if action not in TRANSITIONS or round_.status not in TRANSITIONS[action]:
        messages.error(request, _("This round cannot do that now."))
    elif action == "open" and round_.status == Round.Status.CLOSED and not reason:
        messages.error(request, _("Say why a closed round is reopened."))
    elif action == "open" and not round_.areas.exists():
        messages.error(request, _("Add at least one area before opening the round."))
    else:
        new = Round.Status.OPEN if action == "open" else Round.Status.CLOSED
        record(
            request.user, f"round.{action}", round_, changes={"status": [round_.status, new]}, reason=reason
        )
        round_.status = new
        round_.save(update_fields=["status"])
        if new == Round.Status.OPEN:
            sync_round(round_)
        messages.success(request, _("Round opened.") if new == Round.Status.OPEN else _("Round closed."))
    return redirect("sampling:round", pk=round_.pk)


@login_required
def site_stations(request, pk: int):
    """Stations (lanes) of a site: add or rename; a station with tubes is kept."""
    site = get_in_scope(Site.objects.all(), request.user, Action.MANAGE_CODES, pk=pk)
    if request.method == "POST":
        name = request.POST.get("name", "").strip()
        if request.POST.get("remove"):
            station = get_object_or_404(Station, site=site, pk=request.POST["remove"])
            if station.tubes.exists():
                messages.error(request, _("This station has tubes: it stays."))
            else:
                station.delete()
        elif not name:
            messages.error(request, _("Give the station a name."))
        elif site.stations.filter(name=name).exists():
            messages.error(request, _("This site already has a station with that name."))
        else:
            Station.objects.create(site=site, name=name)
        return redirect("sampling:stations", pk=site.pk)
    return render(request, "sampling/stations.html", {"site": site, "stations": site.stations.all()})
