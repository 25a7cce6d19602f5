"""Rounds: every change a planner makes, as audited services.

create a round over an area → set or remove an area's pool mode → add or remove a site's opening →
open / close / reopen (with a reason). Each runs in a transaction with the round row locked, so two
planners cannot, say, close and reopen a round at once into a state neither chose. The views check who
may plan which round (``sampling.rounds``); these functions do the writing and leave the audit record.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from gridroll.audit.services import record
from gridroll.core.errors import DomainError
from gridroll.rollcall.services import sync_round
from gridroll.sampling.models import PoolMode, Round, RoundArea, Site, SiteOpening, Station

TRANSITIONS = {"open": (Round.Status.PLANNED, Round.Status.CLOSED), "close": (Round.Status.OPEN,)}


class RoundError(DomainError):
    MESSAGES = {
        "bad_pool_mode": _("Choose a pool mode."),
        "bad_transition": _("This round cannot do that now."),
        "reason_required": _("Say why a closed round is reopened."),
        "no_area": _("Add at least one area before opening the round."),
        "bad_opening": _("Give the opening and closing times, closing after opening."),
        "station_has_tubes": _("This station has tubes: it stays."),
        "station_name_required": _("Give the station a name."),
        "station_name_taken": _("This site already has a station with that name."),
    }


def _locked(round_: Round) -> Round:
    return Round.objects.select_for_update().get(pk=round_.pk)


@transaction.atomic
def create_round(user, *, name: str, starts_at, ends_at, area, pool_mode: str = PoolMode.POOL10) -> Round:
    if pool_mode not in PoolMode.values:
        raise RoundError("bad_pool_mode")
    round_ = Round.objects.create(name=name, starts_at=starts_at, ends_at=ends_at)
    RoundArea.objects.create(round=round_, area=area, pool_mode=pool_mode)
    record(
        user,
        "round.create",
        round_,
        changes={"area": [None, area.name], "pool_mode": [None, pool_mode]},
        reason=round_.name,
        area_path=area.path,
    )
    return round_


@transaction.atomic
def set_area(user, round_: Round, area, pool_mode: str) -> RoundArea:
    """Add an area to the round, or change its pool mode (the deepest area's mode wins)."""
    if pool_mode not in PoolMode.values:
        raise RoundError("bad_pool_mode")
    round_ = _locked(round_)
    before = RoundArea.objects.filter(round=round_, area=area).values_list("pool_mode", flat=True).first()
    ra, _created = RoundArea.objects.update_or_create(
        round=round_, area=area, defaults={"pool_mode": pool_mode}
    )
    record(
        user,
        "round.area",
        round_,
        changes={"area": [None, area.name], "pool_mode": [before, pool_mode]},
        area_path=area.path,
    )
    if round_.status == Round.Status.OPEN:
        sync_round(round_)  # an area added to an open round: its people join the roll call
    return ra


@transaction.atomic
def remove_area(user, round_: Round, round_area_id) -> bool:
    round_ = _locked(round_)
    ra = RoundArea.objects.select_related("area").filter(round=round_, pk=round_area_id).first()
    if ra is None:
        return False
    ra.delete()
    record(
        user,
        "round.area_remove",
        round_,
        changes={"area": [ra.area.name, None], "pool_mode": [ra.pool_mode, None]},
        area_path=ra.area.path,
    )
    return True


@transaction.atomic
def add_opening(user, round_: Round, site: Site, opens_at, closes_at) -> SiteOpening:
    if not (opens_at and closes_at and closes_at > opens_at):
        raise RoundError("bad_opening")
    round_ = _locked(round_)
    opening = SiteOpening.objects.create(round=round_, site=site, opens_at=opens_at, closes_at=closes_at)
    record(
        user,
        "round.opening",
        round_,
        changes={
            "site": [None, site.name],
            "opening": [None, f"{opens_at:%Y-%m-%d %H:%M}–{closes_at:%H:%M}"],
        },
        area_path=site.area.path,
    )
    return opening


@transaction.atomic
def remove_opening(user, round_: Round, opening_id) -> bool:
    round_ = _locked(round_)
    opening = SiteOpening.objects.select_related("site__area").filter(round=round_, pk=opening_id).first()
    if opening is None:
        return False
    opening.delete()
    record(
        user,
        "round.opening_remove",
        round_,
        changes={
            "site": [opening.site.name, None],
            "opening": [f"{opening.opens_at:%Y-%m-%d %H:%M}–{opening.closes_at:%H:%M}", None],
        },
        area_path=opening.site.area.path,
    )
    return True


@transaction.atomic
def change_status(user, round_: Round, action: str, reason: str = "") -> Round:
    """Open a planned round (or reopen a closed one, with a reason), close an open one."""
    round_ = _locked(round_)
    reason = (reason or "").strip()
    if action not in TRANSITIONS or round_.status not in TRANSITIONS[action]:
        raise RoundError("bad_transition")
    if action == "open" and round_.status == Round.Status.CLOSED and not reason:
        raise RoundError("reason_required")
    if action == "open" and not round_.areas.exists():
        raise RoundError("no_area")
    new = Round.Status.OPEN if action == "open" else Round.Status.CLOSED
    record(user, f"round.{action}", round_, changes={"status": [round_.status, new]}, reason=reason)
    round_.status = new
    round_.save(update_fields=["status"])
    if new == Round.Status.OPEN:
        sync_round(round_)
    return round_


@transaction.atomic
def add_station(user, site: Site, name: str) -> Station:
    name = (name or "").strip()[:50]
    if not name:
        raise RoundError("station_name_required")
    if site.stations.filter(name=name).exists():
        raise RoundError("station_name_taken")
    station = Station.objects.create(site=site, name=name)
    record(user, "site.station_add", site, changes={"station": [None, name]}, area_path=site.area.path)
    return station


@transaction.atomic
def remove_station(user, site: Site, station: Station) -> None:
    if station.tubes.exists():
        raise RoundError("station_has_tubes")
    station.delete()
    record(
        user, "site.station_remove", site, changes={"station": [station.name, None]}, area_path=site.area.path
    )


def sync_open_rounds(resident_ids: Sequence[int] | None = None, **_signal) -> None:
    """After registry changes: bring every open round's roll in line (for everyone, or these people).
    Connected in ``SamplingConfig.ready`` to a resident's save and to ``residents.signals.registry_changed``
    (bulk writes: the import, registration), so the registry need not know about rounds."""
    for round_ in Round.objects.filter(status=Round.Status.OPEN).prefetch_related("areas__area"):
        sync_round(round_, resident_ids)
