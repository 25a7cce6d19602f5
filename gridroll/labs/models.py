"""Labs: receiving boxes, results per tube (kept on ``sampling.Tube``), uploads with their rejected rows
and conflicts, and the retest tasks a positive or invalid tube gives its members."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Result(models.TextChoices):
    NEGATIVE = "negative", _("Negative")
    POSITIVE = "positive", _("Positive")
    INVALID = "invalid", _("Invalid")


class BoxReceipt(models.Model):
    """A tube barcode scanned at the lab while receiving a box: in the box or not, known or not."""

    box = models.ForeignKey("sampling.Box", on_delete=models.CASCADE, related_name="receipts")
    barcode = models.CharField(max_length=40)
    tube = models.ForeignKey(
        "sampling.Tube", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    scanned_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["scanned_at"]
        constraints = [models.UniqueConstraint(fields=["box", "barcode"], name="receipt_once_per_box")]

    def __str__(self) -> str:
        return f"{self.box} {self.barcode}"


class ResultUpload(models.Model):
    """One file of results (or one API call). total = applied + unchanged + conflicts + rejected."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    lab = models.CharField(_("lab"), max_length=100, blank=True)
    filename = models.CharField(max_length=255)
    file = models.FileField(upload_to="results/%Y/%m/", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    total = models.PositiveIntegerField(default=0)
    applied = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    conflicts = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    blank_rows = models.PositiveIntegerField(default=0)
    positive_tubes = models.PositiveIntegerField(default=0)
    positive_barcodes = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    seconds = models.FloatField(default=0)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.filename


class ResultIssue(models.Model):
    """A row that was not applied: rejected with a reason, or a conflict with an earlier result, kept
    for review. A conflict is resolved by keeping the first result or taking the new one (audited)."""

    class Resolution(models.TextChoices):
        KEPT = "kept", _("Kept the first result")
        REPLACED = "replaced", _("Took the new result")

    upload = models.ForeignKey(ResultUpload, on_delete=models.CASCADE, related_name="issues")
    row_number = models.PositiveIntegerField()
    code = models.CharField(max_length=40)
    message = models.CharField(max_length=300)
    data = models.JSONField(default=dict)
    tube = models.ForeignKey(
        "sampling.Tube", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    resolution = models.CharField(max_length=20, choices=Resolution.choices, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["upload", "row_number"]

    def __str__(self) -> str:
        return f"{self.upload_id}:{self.row_number} {self.code}"


class RetestTaskQuerySet(models.QuerySet["RetestTask"]):
    def restrict(self, user, action: str = "view_registry") -> "RetestTaskQuerySet":
        from gridroll.accounts.scope import path_filter

        return self.filter(path_filter(user, action, "resident__household__building__grid__path"))


class RetestTask(models.Model):
    """A member of a positive pool to re-swab into a single tube (复核), or of an invalid tube to sample
    again (重采). It is ``sampled`` once the scanner records that, and ``closed`` with the person's own
    result when it comes."""

    # Not columns: set for display by labs.queries.retest_rows (the phone masked by the usual rule, and
    # the names of the grid's workers).
    phone_shown: str
    workers: str

    class Kind(models.TextChoices):
        RETEST = "retest", _("Retest (single tube)")
        RESAMPLE = "resample", _("Re-sample (invalid tube)")

    class Status(models.TextChoices):
        OPEN = "open", _("To do")
        SAMPLED = "sampled", _("Sampled, result pending")
        CLOSED = "closed", _("Closed")

    round = models.ForeignKey("sampling.Round", on_delete=models.CASCADE, related_name="tasks")
    resident = models.ForeignKey("residents.Resident", on_delete=models.CASCADE, related_name="tasks")
    tube = models.ForeignKey("sampling.Tube", on_delete=models.PROTECT, related_name="tasks")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField()
    sampled_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    result = models.CharField(max_length=20, choices=Result.choices, blank=True)

    objects = RetestTaskQuerySet.as_manager()

    class Meta:
        ordering = ["created_at"]
        constraints = [models.UniqueConstraint(fields=["tube", "resident"], name="task_once_per_tube")]
        indexes = [models.Index(fields=["round", "resident", "status"], name="task_round_resident")]

    def __str__(self) -> str:
        return f"{self.kind} {self.resident_id} {self.status}"
