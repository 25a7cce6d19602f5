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
