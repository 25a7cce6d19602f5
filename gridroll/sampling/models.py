import datetime
import secrets

from django.db import models
from django.utils.translation import gettext_lazy as _


def new_site_token() -> str:
    return secrets.token_urlsafe(9)


class SiteQuerySet(models.QuerySet["Site"]):
    def restrict(self, user, action: str = "view_registry") -> "SiteQuerySet":
        from gridroll.accounts.scope import path_filter

        return self.filter(path_filter(user, action, "area__path"))


class Site(models.Model):
    """A sampling site (采样点) in an area, usually a community or a grid.

    Its site code (场所码) is a QR of a registration link carrying ``token``: a visitor or new tenant
    scans it and gets a personal code on the spot. Stations and opening hours come with rounds.
    """

    name = models.CharField(_("name"), max_length=100)
    area = models.ForeignKey(
        "areas.Area", on_delete=models.PROTECT, related_name="sites", verbose_name=_("area")
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    token = models.CharField(max_length=20, unique=True, default=new_site_token, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SiteQuerySet.as_manager()

    class Meta:
        ordering = ["area__path", "name"]
        constraints = [models.UniqueConstraint(fields=["area", "name"], name="site_name_unique_in_area")]

    def __str__(self) -> str:
        return self.name


class PoolMode(models.TextChoices):
    SINGLE = "single", _("Single tube (单采)")
    HOUSEHOLD = "household", _("One tube per household (1户1管)")
    POOL10 = "pool10", _("10-in-1 (10合1)")
    POOL20 = "pool20", _("20-in-1 (20合1)")


POOL_SIZE = {PoolMode.SINGLE: 1, PoolMode.HOUSEHOLD: 20, PoolMode.POOL10: 10, PoolMode.POOL20: 20}


class Round(models.Model):
    """A round (轮次) of testing over some areas and a time window (guideline: sampling within 6 h).

    The pool mode is chosen per area (RoundArea): isolation sites single, sealed zones single or one
    tube per household, controlled zones 10-in-1, prevention zones 20-in-1 (3rd ed., March 2022).
    """

    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned")
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    name = models.CharField(_("name"), max_length=100)
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PLANNED)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_at"]

    def __str__(self) -> str:
        return self.name

    def pool_mode_for(self, area_path: str) -> str:
        """The mode of the most specific area of this round that contains ``area_path``."""
        best = None
        for ra in self.areas.all():
            if area_path.startswith(ra.area.path) and (
                best is None or len(ra.area.path) > len(best.area.path)
            ):
                best = ra
        return best.pool_mode if best else PoolMode.POOL10


class RoundArea(models.Model):
    """An area in a round's scope, with its pool mode; a deeper area overrides its parent's mode."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="areas")
    area = models.ForeignKey("areas.Area", on_delete=models.PROTECT, related_name="+")
    pool_mode = models.CharField(
        _("pool mode"), max_length=20, choices=PoolMode.choices, default=PoolMode.POOL10
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["round", "area"], name="round_area_unique")]

    def __str__(self) -> str:
        return f"{self.round} {self.area} {self.pool_mode}"


class Station(models.Model):
    """A lane (采样台) at a site."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="stations")
    name = models.CharField(_("name"), max_length=50)

    class Meta:
        ordering = ["site", "name"]
        constraints = [models.UniqueConstraint(fields=["site", "name"], name="station_name_unique_in_site")]

    def __str__(self) -> str:
        return f"{self.site} {self.name}"


class SiteOpening(models.Model):
    """When a site is open in a round (分时段)."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="openings")
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="openings")
    opens_at = models.DateTimeField()
    closes_at = models.DateTimeField()

    class Meta:
        ordering = ["opens_at"]

    def __str__(self) -> str:
        return f"{self.site} {self.opens_at:%H:%M}-{self.closes_at:%H:%M}"


class BoxQuerySet(models.QuerySet["Box"]):
    def restrict(self, user, action: str = "scan") -> "BoxQuerySet":
        from gridroll.accounts.scope import path_filter

        return self.filter(path_filter(user, action, "site__area__path"))


class Box(models.Model):
    """A transport box (转运箱) of sealed tubes, with its chain of custody: packed → sealed → handed over
    to a lab → received. The packer's count is checked against the system's before sealing."""

    class Status(models.TextChoices):
        PACKING = "packing", _("Packing")
        SEALED = "sealed", _("Sealed")
        HANDED_OVER = "handed_over", _("Handed over")
        RECEIVED = "received", _("Received")

    code = models.CharField(_("box code"), max_length=40, unique=True)
    round = models.ForeignKey(Round, on_delete=models.PROTECT, related_name="boxes")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="boxes")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PACKING)
    counted = models.PositiveIntegerField(_("tubes counted by the packer"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sealed_at = models.DateTimeField(null=True, blank=True)
    handed_at = models.DateTimeField(null=True, blank=True)
    handed_to = models.CharField(_("lab"), max_length=100, blank=True)
    courier = models.CharField(_("courier"), max_length=50, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)

    objects = BoxQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.code


class Tube(models.Model):
    """A sampling tube (采样管), bound to people by scanning. ``capacity`` comes from the pool mode."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        SEALED = "sealed", _("Sealed")

    barcode = models.CharField(_("tube barcode"), max_length=40, unique=True)
    round = models.ForeignKey(Round, on_delete=models.PROTECT, related_name="tubes")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="tubes")
    station = models.ForeignKey(
        Station, on_delete=models.PROTECT, related_name="tubes", null=True, blank=True
    )
    pool_mode = models.CharField(max_length=20, choices=PoolMode.choices)
    capacity = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    household = models.ForeignKey(
        "areas.Household", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    size = models.PositiveSmallIntegerField(default=0)
    opened_at = models.DateTimeField()
    sealed_at = models.DateTimeField(null=True, blank=True)
    box = models.ForeignKey(Box, on_delete=models.PROTECT, null=True, blank=True, related_name="tubes")
    packed_at = models.DateTimeField(null=True, blank=True)
    # At the lab (issue: lab results). ``result`` is the first result reported; a different second one
    # is kept as a conflict (labs.ResultIssue) until someone decides.
    received_at = models.DateTimeField(null=True, blank=True)
    result = models.CharField(
        max_length=20,
        blank=True,
        choices=[("negative", _("Negative")), ("positive", _("Positive")), ("invalid", _("Invalid"))],
    )
    ct_values = models.JSONField(default=dict, blank=True)
    tested_at = models.DateTimeField(null=True, blank=True)
    reported_at = models.DateTimeField(null=True, blank=True)
    lab = models.CharField(max_length=100, blank=True)
    # When the tube's box was handed over (Box.handed_at, written with it by boxes.hand_over_box): so that
    # the tube's stage below is a function of its own row.
    handed_at = models.DateTimeField(null=True, blank=True)
    # Where the tube is, kept by the database from the row itself (a stored generated column): each tube
    # is in exactly one stage, the furthest it has reached (STAGES), and ``stage_at`` is when it got there.
    # The command view counts a district's 100,000 tubes per site and stage, with each stage's oldest, from
    # the index tube_stage alone (issue 20: four times faster than filtering the rows per stage).
    stage = models.GeneratedField(
        expression=models.Case(
            models.When(reported_at__isnull=False, then=models.Value(5)),
            models.When(received_at__isnull=False, then=models.Value(4)),
            models.When(handed_at__isnull=False, then=models.Value(3)),
            models.When(packed_at__isnull=False, then=models.Value(2)),
            models.When(status="sealed", then=models.Value(1)),
            default=models.Value(0),
        ),
        output_field=models.PositiveSmallIntegerField(),
        db_persist=True,
    )
    stage_at = models.GeneratedField(
        expression=models.Case(
            models.When(reported_at__isnull=False, then="reported_at"),
            models.When(received_at__isnull=False, then="received_at"),
            models.When(handed_at__isnull=False, then="handed_at"),
            models.When(packed_at__isnull=False, then="packed_at"),
            models.When(status="sealed", then="sealed_at"),
            default="opened_at",
        ),
        output_field=models.DateTimeField(),
        db_persist=True,
    )

    # The stages in order, by the number ``stage`` holds.
    STAGES = ("open", "sealed", "packed", "in_transit", "received", "reported")

    class Meta:
        ordering = ["-opened_at"]
        indexes = [
            # The open tubes of a round per site and station (the command view's stations at work): a
            # few hundred rows, where the round has 100,000 tubes (issue 20). A scan's size update stays
            # heap-only: neither size nor anything else it writes is in here, only sealing moves it.
            models.Index(
                fields=["round", "site", "station"], condition=models.Q(status="open"), name="tube_open"
            ),
            # The command view's oldest tube still waiting for a result at a site: the first entry.
            models.Index(
                fields=["round", "site", "sealed_at"],
                condition=models.Q(reported_at__isnull=True, sealed_at__isnull=False),
                name="tube_waiting",
            ),
            # The received tubes of a round by lab, with what the turnaround reads (labs.queries): the
            # labs' figures group them by lab in this order instead of sorting a district's 66,000.
            models.Index(
                fields=["round", "lab"],
                include=["site", "sealed_at", "packed_at", "received_at", "reported_at"],
                condition=models.Q(received_at__isnull=False),
                name="tube_at_lab",
            ),
            # The command view's tubes per site and stage, and each stage's oldest: read from here alone.
            models.Index(fields=["round", "site", "stage"], include=["stage_at"], name="tube_stage"),
        ]

    def __str__(self) -> str:
        return self.barcode


class Sample(models.Model):
    """One person swabbed into one tube. A person may be sampled again in the same round (allowed,
    flagged ``is_repeat``), but never twice in one tube."""

    tube = models.ForeignKey(Tube, on_delete=models.PROTECT, related_name="samples")
    # No round-only index: sample_round_resident leads with the round (see rollcall.Entry for why). No
    # database constraint either: the round is the tube's, locked while the sample is written (see
    # ScanAction for what the checks cost).
    round = models.ForeignKey(
        Round, on_delete=models.PROTECT, related_name="samples", db_index=False, db_constraint=False
    )
    resident = models.ForeignKey("residents.Resident", on_delete=models.PROTECT, related_name="samples")
    position = models.PositiveSmallIntegerField()
    scanned_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    nonce = models.CharField(max_length=64)  # the action's (ScanAction: unique per user and device)
    is_repeat = models.BooleanField(default=False)
    is_removed = models.BooleanField(default=False)
    decided_offline = models.BooleanField(default=False)

    class Meta:
        ordering = ["tube", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["tube", "resident"], condition=models.Q(is_removed=False), name="person_once_per_tube"
            ),
            # Not unique by itself: a nonce is unique per user and device (ScanAction's constraint, written
            # in the same transaction as every sample), and two devices may well make the same one.
        ]
        indexes = [models.Index(fields=["round", "resident"], name="sample_round_resident")]

    def __str__(self) -> str:
        return f"{self.tube} #{self.position}"


class SiteTally(models.Model):
    """A round's live samples per site (what its tubes' sizes add up to), moved by increments in the
    same transaction as the samples by both ways of scanning (services._write_tallies, fastpath.sql):
    the command view reads one row a site instead of summing the round's tubes (issue 20).
    ``services.check_site_tallies`` compares them with a recount and repairs them."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="+", db_index=False)
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+", db_index=False)
    samples = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["round", "site"], name="site_tally_once_per_site")]

    def __str__(self) -> str:
        return f"{self.round_id}/{self.site_id}: {self.samples}"


def minute_of(when: datetime.datetime) -> datetime.datetime:
    """The UTC minute an action arrived in (ScanMinute.minute)."""
    return when.astimezone(datetime.UTC).replace(second=0, microsecond=0)


class ScanMinute(models.Model):
    """A round's adds accepted or warned per site and minute of arrival (the UTC minute of the action's
    ``received_at``), moved by increments in the same transaction as the actions by both ways of scanning
    (services._write_tallies, fastpath.sql). The command view's sites panel counts its 10-minute windows
    from these rows and the actions of the minutes its edges cut through, instead of every action of the
    last hour (issue 20). ``services.check_site_tallies`` compares them with a recount and repairs them."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="+", db_index=False)
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+", db_index=False)
    minute = models.DateTimeField()
    scans = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["round", "site", "minute"], name="scan_minute_once_per_site")
        ]

    def __str__(self) -> str:
        return f"{self.round_id}/{self.site_id} {self.minute:%H:%M}: {self.scans}"


# The adds a site's scan counts count: accepted, or accepted with a warning (a repeat).
COUNTED_ADDS = ("accepted", "warned")


class ScanAction(models.Model):
    """Every action a scanner uploads, accepted or refused, exactly once per nonce.

    A re-upload of the same nonce returns this row's result and creates nothing. Refused actions keep
    their reason code; actions the device decided offline and the server refused are open for review.
    """

    class Kind(models.TextChoices):
        OPEN_TUBE = "open_tube", _("Open a tube")
        ADD = "add", _("Add a person")
        UNDO = "undo", _("Undo the last person")
        SEAL = "seal", _("Close the tube")

    class Result(models.TextChoices):
        ACCEPTED = "accepted", _("Accepted")
        WARNED = "warned", _("Accepted with a warning")
        REFUSED = "refused", _("Refused")

    # Every scan writes a row here, so it carries only the indexes its readers use: the nonce's
    # uniqueness as a constraint (unique=True would add a LIKE index on PostgreSQL, which nothing uses),
    # no site-only index (scan_site_recent leads with the site), reviews only where there is one.
    # Its references are not checked again by the database: they come from the request's own user and
    # its cached round and site, and a deferred check per row and reference made a 50-scan batch's
    # commit 1.9 ms instead of 1.2 (with Sample.round's; PostgreSQL's statement log). Deleting a user,
    # round or site still meets PROTECT in Django. A sample keeps the checks on its tube and person.
    nonce = models.CharField(max_length=64)
    device_id = models.CharField(max_length=64)
    user = models.ForeignKey("auth.User", on_delete=models.PROTECT, related_name="+", db_constraint=False)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    round = models.ForeignKey(
        Round, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_constraint=False
    )
    site = models.ForeignKey(
        Site,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    tube_barcode = models.CharField(max_length=40, blank=True)
    payload = models.JSONField(default=dict)
    device_time = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    decided_offline = models.BooleanField(default=False)
    result = models.CharField(max_length=20, choices=Result.choices)
    reason = models.CharField(max_length=40, blank=True)
    message = models.CharField(max_length=200, blank=True)
    needs_review = models.BooleanField(default=False)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        "auth.User",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )

    class Meta:
        ordering = ["-received_at"]
        # A nonce is the device's: unique per user and device (another account replaying it is a new action).
        constraints = [
            models.UniqueConstraint(fields=["nonce", "user", "device_id"], name="scan_nonce_once_per_device")
        ]
        indexes = [
            models.Index(fields=["site", "-received_at"], name="scan_site_recent"),
            models.Index(
                fields=["reviewed_by"], condition=models.Q(reviewed_by__isnull=False), name="scan_reviewed_by"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.result} {self.reason}"

    @property
    def clock_flag(self) -> str:
        """``ahead`` / ``outside_round`` when the device's clock could not be right (kept for review)."""
        return self.payload.get("_clock", "")

    @property
    def is_manual(self) -> bool:
        """The person was typed by hand (id or document number), not scanned from a code."""
        return bool((self.payload.get("_person") or {}).get("manual"))
