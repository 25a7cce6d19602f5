"""The roll call (点名) of a round: one row per resident in scope, kept up to date as scans, results and
exemptions land, and a per-building tally of those rows so that a district summary is a few thousand
rows to add, never a million to count."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class State(models.TextChoices):
    MISSING = "missing", _("Missing")
    SAMPLED = "sampled", _("Sampled, result pending")
    NEGATIVE = "negative", _("Negative")
    POOL_POSITIVE = "pool_positive", _("Positive pool, awaiting retest")
    POSITIVE = "positive", _("Positive")
    INVALID = "invalid", _("Invalid, re-sample")
    EXEMPT = "exempt", _("Exempt")


# The order a grid worker reads them in: who needs something from me first.
STATE_ORDER = [
    State.MISSING,
    State.POSITIVE,
    State.POOL_POSITIVE,
    State.INVALID,
    State.SAMPLED,
    State.NEGATIVE,
    State.EXEMPT,
]


class Exemption(models.TextChoices):
    AWAY = "away", _("Away")
    ELSEWHERE = "elsewhere", _("Working elsewhere")
    HOSPITAL = "hospital", _("In hospital")
    HOME_SCHEDULED = "home_scheduled", _("Home sampling scheduled")
    HOME_DONE = "home_done", _("Home sampling done")
    INFANT = "infant", _("Infant")
    OTHER = "other", _("Other (see note)")


class EntryQuerySet(models.QuerySet["Entry"]):
    def restrict(self, user, action: str = "view_registry") -> "EntryQuerySet":
        from gridroll.accounts.scope import path_filter

        return self.filter(path_filter(user, action, "grid__path"))


class Entry(models.Model):
    """A resident's line in a round's roll call. ``state`` follows from their samples, their tubes'
    results, their open retest tasks and an exemption (rules in rollcall.services.STATE_SQL)."""

    # Not a column: set for display by rollcall.sheets.sheet_rows (the phone masked by the usual rule).
    phone_shown: str

    # No index of their own: (round, resident) and (resident, round) below lead with them. A round-only
    # index misled PostgreSQL when a round had just opened (its statistics said "no rows yet"): a scan
    # batch's lookup of 50 people read every entry of the round instead of 50.
    round = models.ForeignKey(
        "sampling.Round", on_delete=models.CASCADE, related_name="entries", db_index=False
    )
    resident = models.ForeignKey(
        "residents.Resident", on_delete=models.CASCADE, related_name="entries", db_index=False
    )
    # Where the resident lived when the round ran (copied, so that a move later does not rewrite history).
    # Copied from the registry by one INSERT … SELECT, so the database need not check them again: without
    # these three constraints, opening a round for 1,000,000 residents commits in a fraction of the time
    # (deferred foreign-key checks run per row at COMMIT). Deleting an area, building or household
    # still meets PROTECT in Django.
    grid = models.ForeignKey("areas.Area", on_delete=models.PROTECT, related_name="+", db_constraint=False)
    building = models.ForeignKey(
        "areas.Building", on_delete=models.PROTECT, related_name="+", db_constraint=False
    )
    household = models.ForeignKey(
        "areas.Household", on_delete=models.PROTECT, related_name="+", db_constraint=False
    )
    state = models.CharField(_("state"), max_length=20, choices=State.choices, default=State.MISSING)
    exemption = models.CharField(_("exemption"), max_length=20, choices=Exemption.choices, blank=True)
    exemption_note = models.CharField(_("note"), max_length=200, blank=True)
    exempted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    exempted_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()

    objects = EntryQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["round", "resident"], name="entry_once_per_round")]
        indexes = [
            # No index holds ``state`` or ``updated_at``: the updates that scans and results make to them
            # are then heap-only (HOT) on PostgreSQL, with room left on each page (fillfactor 70, 0003).
            models.Index(fields=["round", "grid"], name="entry_round_grid"),
            models.Index(fields=["round", "building"], name="entry_round_building"),
            models.Index(fields=["resident", "round"], name="entry_resident_round"),
        ]

    def __str__(self) -> str:
        return f"{self.round_id}/{self.resident_id} {self.state}"


COUNTED = ["missing", "sampled", "negative", "pool_positive", "positive", "invalid", "exempt"]


class Tally(models.Model):
    """Counts of a round's entries per building and state, changed in the same transaction as the
    entries (by increments, so concurrent scans add up)."""

    # No round-only index (the constraint and tally_round_grid lead with the round): with statistics
    # from before a round opened, PostgreSQL used it to find one building's tally among all the round's,
    # on every scan.
    round = models.ForeignKey(
        "sampling.Round", on_delete=models.CASCADE, related_name="tallies", db_index=False
    )
    building = models.ForeignKey("areas.Building", on_delete=models.CASCADE, related_name="+")
    grid = models.ForeignKey("areas.Area", on_delete=models.PROTECT, related_name="+")
    total = models.IntegerField(default=0)
    missing = models.IntegerField(default=0)
    sampled = models.IntegerField(default=0)
    negative = models.IntegerField(default=0)
    pool_positive = models.IntegerField(default=0)
    positive = models.IntegerField(default=0)
    invalid = models.IntegerField(default=0)
    exempt = models.IntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["round", "building"], name="tally_once_per_building")]
        indexes = [models.Index(fields=["round", "grid"], name="tally_round_grid")]

    def __str__(self) -> str:
        return f"{self.round_id}/{self.building_id} {self.missing}/{self.total}"


class HourTally(models.Model):
    """First samples of a round's people on the roll (not removed, not a repeat), per grid they are on
    the roll in and per hour of the scan (UTC hours; whole-hour zones share them). The command view's
    progress adds a few thousand of these instead of counting a round's samples (issue 20).

    Moved by increments in the same transaction as the samples, by both ways of scanning
    (sampling.services._write_tallies and fastpath.sql); ``services.recount_hours`` counts them again
    where the roll call itself moved people (sync_round) and on repair (check_round)."""

    round = models.ForeignKey("sampling.Round", on_delete=models.CASCADE, related_name="+", db_index=False)
    grid = models.ForeignKey("areas.Area", on_delete=models.CASCADE, related_name="+", db_index=False)
    hour = models.DateTimeField()
    sampled = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["round", "grid", "hour"], name="hour_tally_once_per_grid_hour")
        ]

    def __str__(self) -> str:
        return f"{self.round_id}/{self.grid_id} {self.hour:%Y-%m-%d %H}: {self.sampled}"
