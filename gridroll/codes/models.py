import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class SigningKey(models.Model):
    """An Ed25519 key that signs personal codes. Scanners hold only the public halves.

    Rotation: a new key becomes ACTIVE and signs new codes; the old one becomes VERIFY_ONLY, so codes
    already printed still scan; when it is RETIRED its codes are refused ("please get a new code") and
    must be re-issued. The private key is stored in the database, which is the trust boundary of a
    deployment (docs/codes.md).
    """

    class State(models.TextChoices):
        ACTIVE = "active", _("Active")
        VERIFY_ONLY = "verify_only", _("Verify only")
        RETIRED = "retired", _("Retired")

    key_id = models.PositiveSmallIntegerField(unique=True)
    private_key = models.BinaryField(editable=False)
    public_key = models.BinaryField(editable=False)
    state = models.CharField(max_length=20, choices=State.choices, default=State.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["key_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["state"], condition=models.Q(state="active"), name="one_active_key"
            ),
            models.CheckConstraint(
                condition=models.Q(key_id__gte=1, key_id__lte=255), name="key_id_is_a_byte"
            ),
        ]

    def __str__(self) -> str:
        return f"key {self.key_id} ({self.state})"


class PersonalCode(models.Model):
    """A person's code (核酸码/信息采集码). One current (unrevoked) code per resident; a revoked code
    stays, with who revoked it and why, so that a scan of it is answered "revoked", not "forged"."""

    class RevokeReason(models.TextChoices):
        LOST = "lost", _("Lost or stolen phone or card")
        WRONG_PERSON = "wrong_person", _("Issued to the wrong person")
        REISSUED = "reissued", _("Replaced by a new code")
        KEY_RETIRED = "key_retired", _("Signing key retired")
        PERSON_DELETED = "person_deleted", _("Person deleted from the registry")
        OTHER = "other", _("Other")

    resident = models.ForeignKey(
        "residents.Resident", on_delete=models.SET_NULL, null=True, blank=True, related_name="codes"
    )
    key = models.ForeignKey(SigningKey, on_delete=models.PROTECT, related_name="codes")
    # The number inside the token: random, so codes cannot be enumerated from one another.
    serial = models.PositiveIntegerField(unique=True)
    short_code = models.CharField(max_length=9, unique=True)
    token = models.CharField(max_length=200, unique=True)
    issued_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True, db_index=True)
    revoked_reason = models.CharField(max_length=20, choices=RevokeReason.choices, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["resident"], condition=models.Q(revoked_at__isnull=True), name="one_current_code"
            ),
        ]

    def __str__(self) -> str:
        return self.short_code

    @property
    def is_current(self) -> bool:
        return self.revoked_at is None


def hash_access_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ResidentAccess(models.Model):
    """A resident's own page, reached by possession of a private link (no name + ID lookup exists).

    Only a hash of the link's secret is stored. ``is_confirmed`` is False when the registrant matched an
    existing registry record by what they typed (name and document number): they get the code so that
    they can be sampled, but results stay hidden until the grid worker confirms who they are — knowing
    someone's name and ID number must never be enough to see their results (Beijing, December 2020).
    """

    resident = models.ForeignKey("residents.Resident", on_delete=models.CASCADE, related_name="accesses")
    token_hash = models.CharField(max_length=64, unique=True)
    # False for a claim on a person already in the registry: the page shows nothing of that person (no
    # code, address, household or result) until the grid worker or a one-time code sent to the phone on
    # file confirms it.
    is_confirmed = models.BooleanField(default=True)
    # The phone the claimant typed, for the grid worker who checks the claim (never shown to the claimant).
    claim_phone = models.CharField(max_length=20, blank=True)
    # Made together with the record by the person who registered it (not a claim on someone else's):
    # confirming the record confirms this link too.
    is_registrant = models.BooleanField(default=False)
    consent_at = models.DateTimeField(_("consent given"), null=True, blank=True)
    site = models.ForeignKey(
        "sampling.Site", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Who ended the link and why (a rejected claim, a lost phone): the holder's page says so.
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    end_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"access #{self.pk}"

    @staticmethod
    def new_secret() -> str:
        return secrets.token_urlsafe(24)


class PhoneChallenge(models.Model):
    """A one-time code sent by SMS to the phone already on file for a person, so that whoever holds a
    claim (a private link or a guardianship made by typing someone's details) can prove they hold that
    phone. Only a hash of the code is stored; it expires and allows a few attempts."""

    access = models.ForeignKey(ResidentAccess, on_delete=models.CASCADE, related_name="challenges")
    guardianship = models.ForeignKey(
        "residents.Guardianship", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"challenge #{self.pk}"
