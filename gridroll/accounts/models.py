from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from gridroll.accounts.roles import Role


class GrantQuerySet(models.QuerySet["Grant"]):
    def current(self, now=None) -> GrantQuerySet:
        """Grants that hold now: those made by hand, and those of an assignment within their window."""
        from django.utils import timezone

        now = now or timezone.now()
        return self.filter(
            models.Q(valid_until__isnull=True) | models.Q(valid_from__lte=now, valid_until__gt=now)
        )


class Grant(models.Model):
    """A role held by a user on an area. It covers the area and everything below it.

    A grid worker's grant on a grid is how grid workers are assigned to grids; a user can hold several.
    A sampler assigned to a shift gets a grant on the site's area for the shift's window (gridroll.staff).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="grants")
    area = models.ForeignKey(
        "areas.Area", on_delete=models.CASCADE, related_name="grants", verbose_name=_("area")
    )
    role = models.CharField(_("role"), max_length=30, choices=Role.choices)
    # A grant made by a staff assignment (a sampler's site access for a shift) holds only in its window;
    # a grant made by hand has neither and holds until it is removed.
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)

    objects = GrantQuerySet.as_manager()

    class Meta:
        verbose_name = _("grant")
        verbose_name_plural = _("grants")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "area", "role"],
                condition=models.Q(valid_until__isnull=True),
                name="grant_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.get_role_display()} @ {self.area}"


class TOTPDevice(models.Model):
    """A user's authenticator app (TOTP, RFC 6238), optional, meant for administrators.

    Once confirmed, logging in needs its six-digit code after the password (accounts/totp.py). A code is
    taken once: ``last_step`` is the time step of the last code accepted, and no earlier step is.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="totp")
    secret = models.CharField(max_length=64)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    last_step = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"TOTP {self.user}"
