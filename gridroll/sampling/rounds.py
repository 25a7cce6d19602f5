"""Planning rounds: areas and pool modes, opening and closing, opening hours; stations at sites.

A planner sees the rounds that cover an area of theirs, and may change a round only if every area in it
is theirs (a subdistrict cannot close the district's round).
Every change goes through sampling.round_services (audited, the round locked).
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
from gridroll.sampling import round_services as services
from gridroll.sampling.models import PoolMode, Round, RoundArea, Site, Station


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
        try:
            round_ = services.create_round(
                request.user,
                **{k: form.cleaned_data[k] for k in ("name", "starts_at", "ends_at")},
                area=area,
                pool_mode=request.POST.get("pool_mode") or PoolMode.POOL10,
            )
        except services.RoundError as exc:
            messages.error(request, exc.message)
        else:
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
        try:
            if "area" in request.POST:
                area = get_in_scope(
                    Area.objects.all(), request.user, Action.PLAN_ROUNDS, pk=request.POST["area"]
                )
                services.set_area(request.user, round_, area, request.POST.get("pool_mode", ""))
            elif "remove_area" in request.POST:
                services.remove_area(request.user, round_, _int(request.POST["remove_area"]))
            elif "site" in request.POST:
                site = get_in_scope(
                    Site.objects.select_related("area"),
                    request.user,
                    Action.PLAN_ROUNDS,
                    pk=request.POST["site"],
                )
                form = OpeningForm(request.POST)
                if not form.is_valid():
                    raise services.RoundError("bad_opening")
                services.add_opening(request.user, round_, site, **form.cleaned_data)
            elif "remove_opening" in request.POST:
                services.remove_opening(request.user, round_, _int(request.POST["remove_opening"]))
        except services.RoundError as exc:
            messages.error(request, exc.message)
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


def _int(text: str) -> int:
    """A posted id; anything else is a missing object (404), never a 500."""
    if not text.isdigit() or len(text) > 18:
        raise Http404
    return int(text)


@login_required
@require_POST
def round_status(request, pk: int):
    """Open a planned round (or reopen a closed one, with a reason), close an open one. Audited."""
    round_ = _round_or_404(request.user, pk)
    if not _editable(request.user, round_):
        raise Http404
    try:
        round_ = services.change_status(
            request.user, round_, request.POST.get("action", ""), request.POST.get("reason", "")
        )
    except services.RoundError as exc:
        messages.error(request, exc.message)
    else:
        opened = round_.status == Round.Status.OPEN
        messages.success(request, _("Round opened.") if opened else _("Round closed."))
    return redirect("sampling:round", pk=round_.pk)


@login_required
def site_stations(request, pk: int):
    """Stations (lanes) of a site: add or rename; a station with tubes is kept."""
    site = get_in_scope(Site.objects.select_related("area"), request.user, Action.MANAGE_CODES, pk=pk)
    if request.method == "POST":
        try:
            if request.POST.get("remove"):
                station = get_object_or_404(Station, site=site, pk=_int(request.POST["remove"]))
                services.remove_station(request.user, site, station)
            else:
                services.add_station(request.user, site, request.POST.get("name", ""))
        except services.RoundError as exc:
            messages.error(request, exc.message)
        return redirect("sampling:stations", pk=site.pk)
    return render(request, "sampling/stations.html", {"site": site, "stations": site.stations.all()})
