"""Feeds (名单) sent from above and what each line turned out to be."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Conclusion(models.TextChoices):
    """Stable codes: exports and the API carry the code; people read the label."""

    TESTED = "tested", _("Already tested this round")
    MISSING = "missing", _("Matched, not tested")
    EXEMPT = "exempt", _("Matched, away or exempt")
    MOVED_OUT = "moved_out", _("Matched, moved out")
    MATCHED = "matched", _("Matched (no round to check)")
    REVIEW = "review", _("Needs review")
    NOT_FOUND = "not_found", _("Not in the registry")
    NOT_HERE = "not_here", _("Does not live here")
    ADDED = "added", _("Added as a new resident")


# The order a grid worker works in: the people who still need something first.
WORK_ORDER = [
    Conclusion.REVIEW,
    Conclusion.MISSING,
    Conclusion.NOT_FOUND,
    Conclusion.EXEMPT,
    Conclusion.MOVED_OUT,
    Conclusion.MATCHED,
    Conclusion.ADDED,
    Conclusion.NOT_HERE,
    Conclusion.TESTED,
]
# Lines where a person is still to be found or called.
OPEN_CONCLUSIONS = {Conclusion.REVIEW, Conclusion.MISSING, Conclusion.NOT_FOUND}


class Decision(models.TextChoices):
    CONFIRMED = "confirmed", _("Match confirmed")
    PICKED = "picked", _("Candidate picked")
    NOT_HERE = "not_here", _("Does not live here")
    ADDED = "added", _("Added as a new resident")


class FeedQuerySet(models.QuerySet["Feed"]):
    def restrict(self, user, action: str = "view_registry") -> "FeedQuerySet":
        """Feeds with at least one line the user may see."""
        visible = FeedLine.objects.restrict(user, action).values("feed_id")
        return self.filter(pk__in=visible)


class Feed(models.Model):
    """A list to check (from a big-data centre, a higher level, a phone-location report), as uploaded.

    Invariant: total = the number of lines kept; blank rows are counted apart and nothing else is dropped.
    """

    name = models.CharField(_("name"), max_length=200)
    filename = models.CharField(max_length=255, blank=True)
    area = models.ForeignKey("areas.Area", on_delete=models.PROTECT, related_name="+", verbose_name=_("area"))
    round = models.ForeignKey(
        "sampling.Round", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    source = models.CharField(_("sent by"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    columns = models.JSONField(default=list)  # the file's own headers, in order
    mapping = models.JSONField(default=dict)  # field → column index: name, id_number, phone, address, note
    total = models.PositiveIntegerField(default=0)
    blank_rows = models.PositiveIntegerField(default=0)
    registry_size = models.PositiveIntegerField(default=0)
    seconds = models.FloatField(default=0)
    matched_at = models.DateTimeField(null=True, blank=True)

    objects = FeedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class FeedLineQuerySet(models.QuerySet["FeedLine"]):
    def restrict(self, user, action: str = "view_registry") -> "FeedLineQuerySet":
        from gridroll.accounts.scope import path_filter

        return self.filter(path_filter(user, action, "area_path"))


class FeedLine(models.Model):
    feed = models.ForeignKey(Feed, on_delete=models.CASCADE, related_name="lines")
    line = models.PositiveIntegerField()  # 1-based among the data lines, the upstream order
    row_number = models.PositiveIntegerField()  # the spreadsheet row, as Excel shows it
    cells = models.JSONField(default=list)  # the line's own cells as text, in the file's column order
    name = models.CharField(max_length=100, blank=True)
    id_number = models.CharField(max_length=40, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    address = models.CharField(max_length=300, blank=True)
    note = models.CharField(max_length=300, blank=True)

    conclusion = models.CharField(max_length=20, choices=Conclusion.choices)
    resident = models.ForeignKey(
        "residents.Resident", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    automatic = models.BooleanField(default=False)
    confidence = models.FloatField(default=0)
    explanation = models.CharField(max_length=500, blank=True)
    # The matcher's own explanation, kept when a decision replaces ``explanation``: undo restores it
    # without matching the line against the whole area again.
    machine_explanation = models.CharField(max_length=500, blank=True, default="")
    candidates = models.JSONField(default=list)  # [{"id": resident id, "p": probability, "why": text}]
    duplicate_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="duplicates"
    )
    # Who works the line: the matched resident's grid, else the grid of the address it gives, else the
    # feed's area (community staff).
    grid = models.ForeignKey("areas.Area", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    area_path = models.CharField(max_length=255, db_index=True)

    decision = models.CharField(max_length=20, choices=Decision.choices, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=200, blank=True)

    objects = FeedLineQuerySet.as_manager()

    class Meta:
        ordering = ["feed", "line"]
        constraints = [models.UniqueConstraint(fields=["feed", "line"], name="feed_line_unique")]

    def __str__(self) -> str:
        return f"{self.feed_id}:{self.line}"

    @property
    def is_open(self) -> bool:
        return self.conclusion in OPEN_CONCLUSIONS
