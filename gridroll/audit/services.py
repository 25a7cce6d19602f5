"""Writing audit records. Every service that changes or reveals personal data calls ``record``."""

from __future__ import annotations

from collections.abc import Iterable

from gridroll.audit.models import AuditRecord


def record(actor, action: str, target, *, changes: dict | None = None, reason: str = "", area_path: str = ""):
    """Append one audit record for ``target`` (a model instance)."""
    return AuditRecord.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        target_type=target._meta.label_lower,
        target_id=target.pk,
        area_path=area_path,
        changes=changes or {},
        reason=reason,
    )


def record_many(rows: Iterable[AuditRecord], batch_size: int = 2000) -> None:
    """Bulk-append prepared records (imports write one per changed resident)."""
    AuditRecord.objects.bulk_create(list(rows), batch_size=batch_size)


def diff(before: dict, after: dict) -> dict:
    """{'field': [old, new]} for the fields that differ; values made JSON-safe."""
    out = {}
    for key, new in after.items():
        old = before.get(key)
        if old != new:
            out[key] = [_jsonable(old), _jsonable(new)]
    return out


def _jsonable(value):
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
