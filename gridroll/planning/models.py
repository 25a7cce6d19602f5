"""Planning a round: capacity of sites and stations, plans of batches (site, time slot) per building.

docs/algorithms/planning.md describes the planner (gridroll.lib.planner) and the queue simulation.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from gridroll.sampling.models import PoolMode

# Demo defaults, people per hour at one station. A 10-in-1 tube saves the labelling and the
# opening and closing of a tube per person, so it is faster per person than single tubes; Beijing
# (Jan 2021) measured about 2 minutes from scan-in to swab done with scanning kept ahead of swabbing.
DEFAULT_RATES = {PoolMode.SINGLE: 40, PoolMode.HOUSEHOLD: 70, PoolMode.POOL10: 100, PoolMode.POOL20: 110}
# Guideline: a point needs room for a queue of about 200 at one metre apart.
DEFAULT_QUEUE_SPACE = 200


class SiteCapacity(models.Model):
    """How much a sampling site can take: its queue space and whether it is shut (a site dropped out).
    Stations and opening hours live in sampling (Station, SiteOpening); rates per station below."""

    site = models.OneToOneField("sampling.Site", on_delete=models.CASCADE, related_name="capacity")
    queue_space = models.PositiveIntegerField(_("queue space (people)"), default=DEFAULT_QUEUE_SPACE)
    is_shut = models.BooleanField(_("shut"), default=False)

    def __str__(self) -> str:
        return f"{self.site} capacity"

    class Meta:
        verbose_name = _("site capacity")
        verbose_name_plural = _("site capacities")


class StationCapacity(models.Model):
    """Swabs per hour at one station by pool mode, and whether the station is open."""

    station = models.OneToOneField("sampling.Station", on_delete=models.CASCADE, related_name="capacity")
    per_hour_single = models.PositiveSmallIntegerField(default=DEFAULT_RATES[PoolMode.SINGLE])
    per_hour_household = models.PositiveSmallIntegerField(default=DEFAULT_RATES[PoolMode.HOUSEHOLD])
    per_hour_pool10 = models.PositiveSmallIntegerField(default=DEFAULT_RATES[PoolMode.POOL10])
    per_hour_pool20 = models.PositiveSmallIntegerField(default=DEFAULT_RATES[PoolMode.POOL20])
    is_open = models.BooleanField(_("open"), default=True)

    def __str__(self) -> str:
        return f"{self.station} capacity"

    def rate(self, mode: str) -> int:
        return getattr(self, f"per_hour_{mode}")

    class Meta:
        verbose_name = _("station capacity")
        verbose_name_plural = _("station capacities")


class PlanQuerySet(models.QuerySet["Plan"]):
    def restrict(self, user, action: str = "plan_rounds") -> PlanQuerySet:
        from gridroll.accounts.scope import path_filter

        return self.filter(path_filter(user, action, "area__path"))


class Plan(models.Model):
    """A round's plan for one area: every building of the area in exactly one batch. A re-plan is a new
    plan (``parent`` the plan it replaces) proposed for a person to accept; finished batches are kept."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        ACCEPTED = "accepted", _("Accepted")
        SUPERSEDED = "superseded", _("Superseded")

    round = models.ForeignKey("sampling.Round", on_delete=models.CASCADE, related_name="plans")
    area = models.ForeignKey("areas.Area", on_delete=models.PROTECT, related_name="+")
    parent = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PROPOSED)
    slot_minutes = models.PositiveSmallIntegerField(default=30)
    reason = models.CharField(max_length=200, blank=True)
    # Figures of the planner and the queue simulation (per site: worst wait, queue over the day).
    metrics = models.JSONField(default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PlanQuerySet.as_manager()

    class Meta:
        verbose_name = _("round plan")
        verbose_name_plural = _("round plans")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.round} {self.area} {self.status}"


class Batch(models.Model):
    """A batch (批次): buildings called to one site in one time window. ``kind`` elderly is the quiet
    slot for the elderly and disabled; home is the home sampling team's visits to the bedridden."""

    class Kind(models.TextChoices):
        GENERAL = "general", _("Residents")
        ELDERLY = "elderly", _("Elderly and disabled")
        HOME = "home", _("Home sampling")
        SCHOOL = "school", _("School")
        FACTORY = "factory", _("Factory")

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="batches")
    site = models.ForeignKey(
        "sampling.Site", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.GENERAL)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    people = models.PositiveIntegerField(default=0)
    is_finished = models.BooleanField(default=False)

    class Meta:
        ordering = ["starts_at", "site_id"]

    def __str__(self) -> str:
        return f"{self.site} {self.starts_at:%H:%M}-{self.ends_at:%H:%M}"


class BatchBuilding(models.Model):
    """A building's people in a batch. Each building is in exactly one batch of each kind per plan."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="+")
    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="members")
    building = models.ForeignKey("areas.Building", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=Batch.Kind.choices, default=Batch.Kind.GENERAL)
    people = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["plan", "building", "kind"], name="building_once_per_plan_kind")
        ]

    def __str__(self) -> str:
        return f"{self.building_id} {self.kind} {self.people}"
