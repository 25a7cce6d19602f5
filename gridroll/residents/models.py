from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from gridroll.lib import idnumber
from gridroll.lib import phone as phonelib
from gridroll.lib.names import mask_name


class Sex(models.TextChoices):
    MALE = "M", _("Male")
    FEMALE = "F", _("Female")


class DocumentType(models.TextChoices):
    ID_CARD = "id_card", _("Resident ID card")
    PASSPORT = "passport", _("Passport")
    HK_MACAU = "hk_macau", _("Hong Kong/Macau permit")
    TAIWAN = "taiwan", _("Taiwan permit")
    NONE = "none", _("None")


class ResidenceType(models.TextChoices):
    REGISTERED = "registered", _("Registered (户籍)")
    PERMANENT = "permanent", _("Permanent (常住)")
    TEMPORARY = "temporary", _("Temporary (暂住)")


class ResidentStatus(models.TextChoices):
    PRESENT = "present", _("Present")
    AWAY = "away", _("Away")
    MOVED_OUT = "moved_out", _("Moved out")
    DECEASED = "deceased", _("Deceased")


class ResidentQuerySet(models.QuerySet["Resident"]):
    def restrict(self, user, action: str = "view_registry") -> ResidentQuerySet:
        """Residents the user may act on: those living under one of the user's grants, and non-residents
        who registered at a sampling site under one of them."""
        from gridroll.accounts.scope import allowed_paths, path_filter

        if allowed_paths(user, action) is None:
            return self
        return self.filter(
            path_filter(user, action, "household__building__grid__path")
            | (models.Q(household__isnull=True) & path_filter(user, action, "registered_site__area__path"))
        )


class Resident(models.Model):
    """A person who lives in a household (实有人口: who lives here, not only the registered).

    Every resident belongs to exactly one household and through it to a building, a grid and every
    area above it. The one exception is a non-resident who registered at a sampling site (a visitor, a
    new tenant): no household until a grid worker places them, and in scope of the site's area.
    A document number is unique per document type; people without one (an infant) are
    told apart by household, name and birth date.
    """

    name = models.CharField(_("name"), max_length=50, db_index=True)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices, blank=True)
    document_type = models.CharField(
        _("document type"), max_length=20, choices=DocumentType.choices, default=DocumentType.ID_CARD
    )
    document_number = models.CharField(_("document number"), max_length=40, blank=True, db_index=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    # Up to 40: an import keeps a number the phone library refuses as written (unverified, below).
    phone = models.CharField(_("phone"), max_length=40, blank=True, db_index=True)
    # Empty only for a non-resident (a visitor who registered at a site): see ``registered_site``.
    household = models.ForeignKey(
        "areas.Household",
        on_delete=models.PROTECT,
        related_name="residents",
        verbose_name=_("household"),
        null=True,
        blank=True,
    )
    relation = models.CharField(_("relation to household head"), max_length=50, blank=True)
    residence_type = models.CharField(
        _("residence type"), max_length=20, choices=ResidenceType.choices, default=ResidenceType.PERMANENT
    )
    # An import keeps a value that fails validation as written and marks it unverified, rather than
    # dropping the person (a number range newer than the phone library's data is still a real phone).
    # Listed in the import's "to check" report; an edit through the form verifies it again.
    phone_verified = models.BooleanField(_("phone verified"), default=True)
    relation_verified = models.BooleanField(_("relation verified"), default=True)
    residence_type_verified = models.BooleanField(_("residence type verified"), default=True)
    status = models.CharField(
        _("status"), max_length=20, choices=ResidentStatus.choices, default=ResidentStatus.PRESENT
    )
    is_bedridden = models.BooleanField(_("bedridden"), default=False)
    is_living_alone = models.BooleanField(_("living alone"), default=False)
    has_disability = models.BooleanField(_("disability"), default=False)
    note = models.CharField(_("note"), max_length=200, blank=True)
    # Self-registered and not yet confirmed by the grid worker: on no roll call and in no completion
    # figure until then (listed apart as 待核实).
    is_pending = models.BooleanField(_("awaiting confirmation"), default=False)
    # A self-registration the grid worker rejected (nobody of that name lives there): kept, with its
    # code and links revoked, until the retention period for unconfirmed records ends.
    rejected_at = models.DateTimeField(_("rejected"), null=True, blank=True)
    registered_site = models.ForeignKey(
        "sampling.Site",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="registrants",
        verbose_name=_("registered at site"),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ResidentQuerySet.as_manager()

    class Meta:
        verbose_name = _("resident")
        verbose_name_plural = pgettext_lazy("admin", "residents")
        ordering = ["household_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["document_type", "document_number"],
                condition=~models.Q(document_number=""),
                name="resident_document_unique",
                violation_error_message=_(
                    "This document number is already registered: "
                    "search for the person instead of registering them again."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.masked_name

    @property
    def masked_name(self) -> str:
        """王*明 / 王*: enough for a sampler to confirm, not enough to identify."""
        return mask_name(self.name)

    @property
    def masked_document(self) -> str:
        return idnumber.mask(self.document_number)

    @property
    def masked_phone(self) -> str:
        return phonelib.mask(self.phone)

    @property
    def age(self) -> int | None:
        return age_of(self.birth_date)

    @property
    def special_needs(self) -> list[str]:
        return [
            str(label)
            for flag, label in (
                (self.is_bedridden, _("bedridden")),
                (self.is_living_alone, _("living alone")),
                (self.has_disability, _("disability")),
            )
            if flag
        ]


def age_of(birth_date: datetime.date | None) -> int | None:
    """Whole years today (the scanner's fast path computes the same in SQL: sampling/fastpath.sql)."""
    if not birth_date:
        return None
    today = datetime.date.today()
    return today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))


class Guardianship(models.Model):
    """A guardian (监护人) who holds a dependent's (被监护人) code: a child, an elderly or disabled person.

    A dependent can have several guardians. Consent for under-14s is recorded (PIPL art. 31).
    """

    dependent = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="guardianships")
    guardian = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="dependent_links")
    relation = models.CharField(_("relation"), max_length=20, blank=True)
    consent_at = models.DateTimeField(_("consent given"), null=True, blank=True)
    # False when a guardian linked a person already in the registry by typing their details: the
    # guardian sees nothing of that person (code, address, results) until the grid worker confirms or a
    # one-time code sent to the person's phone on file does.
    is_confirmed = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Ended by staff (a wrong link, a child who came of age): kept so that the guardian's page says so.
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    end_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("guardianship")
        verbose_name_plural = _("guardianships")
        constraints = [
            models.UniqueConstraint(
                fields=["dependent", "guardian"],
                condition=models.Q(ended_at__isnull=True),
                name="guardianship_unique",
            ),
            models.CheckConstraint(
                condition=~models.Q(dependent=models.F("guardian")), name="guardian_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.guardian} → {self.dependent}"


class ImportBatch(models.Model):
    """One registry import (file, page upload or command), with its counts.

    Invariant: total = created + updated + unchanged + rejected. Every rejected row is kept as an
    ImportReject with its reason, so a rejects file can be downloaded, corrected and imported again.
    ``warned`` counts the imported rows (of created + updated + unchanged) with a value kept unverified,
    each kept as an ImportWarning for the "to check" report; ``not_imported`` lists the file's headers
    that were not read (known but unused, or unknown).
    """

    class State(models.TextChoices):
        PREVIEW = "preview", _("Preview")
        APPLIED = "applied", _("Applied")
        FAILED = "failed", _("Failed")

    created_at = models.DateTimeField(auto_now_add=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    filename = models.CharField(max_length=255)
    file = models.FileField(upload_to="imports/%Y/%m/", blank=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.PREVIEW)
    create_areas = models.BooleanField(default=False)
    total = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    blank_rows = models.PositiveIntegerField(default=0)
    warned = models.PositiveIntegerField(default=0)
    not_imported = models.JSONField(default=list, blank=True)
    areas_created = models.JSONField(default=list, blank=True)
    changes = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("import batch")
        verbose_name_plural = _("import batches")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.get_state_display()})"


class ImportReject(models.Model):
    """A row that an import refused, with the row as it was and the reason, kept for correction."""

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="rejects")
    row_number = models.PositiveIntegerField()
    column = models.CharField(max_length=50, blank=True)
    code = models.CharField(max_length=50)
    message = models.CharField(max_length=300)
    data = models.JSONField(default=dict)

    class Meta:
        ordering = ["batch", "row_number"]

    def __str__(self) -> str:
        return f"row {self.row_number}: {self.code}"


class ImportWarning(models.Model):
    """An imported row with values kept as written but unverified: ``problems`` is a list of
    {"column", "code", "message"}; ``data`` the row as it was, for the "to check" report."""

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="warnings")
    row_number = models.PositiveIntegerField()
    problems = models.JSONField(default=list)
    data = models.JSONField(default=dict)

    class Meta:
        ordering = ["batch", "row_number"]

    def __str__(self) -> str:
        return f"row {self.row_number}: {', '.join(p['code'] for p in self.problems)}"


def area_paths(resident_ids: Iterable[int]) -> dict[int, str]:
    """Each resident's scope path (their grid, or the site they registered at): what audit rows carry."""
    out = {}
    for pk, grid_path, site_path in Resident.objects.filter(pk__in=list(resident_ids)).values_list(
        "pk", "household__building__grid__path", "registered_site__area__path"
    ):
        out[pk] = grid_path or site_path or ""
    return out


def resident_area_path(resident: Resident) -> str:
    return area_paths([resident.pk]).get(resident.pk, "")
