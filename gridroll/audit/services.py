"""Writing audit records. Every service that changes or reveals personal data calls ``record``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from gridroll.audit.models import AuditRecord
from gridroll.core.bulk import insert_rows

# The columns of a row for ``record_many``, in this order.
FIELDS = ("actor_id", "action", "target_type", "target_id", "area_path", "changes", "reason", "at")


def _actor(actor):
    return actor if actor is not None and actor.is_authenticated else None


def record(actor, action: str, target, *, changes: dict | None = None, reason: str = "", area_path: str = ""):
    """Append one audit record for ``target`` (a model instance)."""
    return AuditRecord.objects.create(
        actor=_actor(actor),
        action=action,
        target_type=target._meta.label_lower,
        target_id=target.pk,
        area_path=area_path,
        changes=changes or {},
        reason=reason,
    )


def record_event(
    actor,
    action: str,
    target_type: str,
    *,
    target_id: int | None = None,
    changes: dict | None = None,
    reason: str = "",
    area_path: str = "",
):
    """Append one audit record for what is not one model instance: an export of an area's registry, a
    purge, a bulk read through the API, a probe refused at registration (``target_type`` names it)."""
    return AuditRecord.objects.create(
        actor=_actor(actor),
        action=action,
        target_type=target_type,
        target_id=target_id,
        area_path=area_path,
        changes=changes or {},
        reason=reason,
    )


def record_many(rows: Iterable[Sequence]) -> int:
    """Bulk-append records given as tuples in ``FIELDS`` order (an import writes one per changed resident,
    code issuing one per code): COPY on PostgreSQL, so a district's worth takes seconds. Returns how many."""
    rows = list(rows)
    if rows:
        insert_rows(AuditRecord, FIELDS, rows, ids=False)
    return len(rows)


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
