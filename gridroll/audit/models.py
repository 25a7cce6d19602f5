from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(Exception):
    pass


class AuditQuerySet(models.QuerySet["AuditRecord"]):
    def update(self, **kwargs):  # type: ignore[override]
        raise AppendOnlyError("audit records are append-only")

    def delete(self):  # type: ignore[override]
        raise AppendOnlyError("audit records are append-only")

    def restrict(self, user, action: str = "view_audit") -> "AuditQuerySet":
        from gridroll.accounts.scope import path_filter

        return self.filter(path_filter(user, action, "area_path"))


class AuditRecord(models.Model):
    """One change or one access to personal data: who, when, what, why. Append-only.

    Henan, June 2022: codes were changed for reasons that had nothing to do with the epidemic and no
    record stopped it. Here nothing about a person changes without a row in this table, and this table
    cannot be edited from the application (``save`` of an existing row, ``update`` and ``delete`` raise).
    ``area_path`` is the area the subject lived in at the time, so that audit views are scoped like
    everything else.
    """

    at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    action = models.CharField(_("action"), max_length=50)
    target_type = models.CharField(max_length=50)
    target_id = models.BigIntegerField(null=True, blank=True)
    area_path = models.CharField(max_length=255, blank=True, db_index=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    reason = models.TextField(_("reason"), blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit record")
        verbose_name_plural = _("audit records")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id"], name="audit_target")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.target_type}#{self.target_id}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise AppendOnlyError("audit records are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit records are append-only")
