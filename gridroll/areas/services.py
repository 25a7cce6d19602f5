"""Writes to the area tree that reach beyond one row."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Value
from django.db.models.functions import Concat, Substr

from gridroll.areas.models import Area, AreaError
from gridroll.audit.services import record


@transaction.atomic
def move_area(user, area: Area, new_parent: Area | None, reason: str) -> int:
    """Put ``area`` under ``new_parent`` and rewrite the path of every area below it, in one transaction,
    so that scope (a prefix of the path) follows at once: the new subdistrict's staff see the moved
    grids, the old one's no longer do. Returns how many areas' paths changed.

    Fails with AreaError ``reason_required``, ``area_cycle`` (under itself or a descendant) or
    ``area_level`` (a parent at the same level or below)."""
    if not reason.strip():
        raise AreaError("reason_required")
    area = Area.objects.select_for_update().get(pk=area.pk)
    if new_parent is not None:
        new_parent = Area.objects.get(pk=new_parent.pk)
    area.check_parent(new_parent)
    old_path, old_parent = area.path, area.parent
    new_path = (new_parent.path if new_parent else "/") + f"{area.pk}/"
    if new_path == old_path:
        return 0
    # Lock the subtree, then rewrite every path under the old prefix (the area's own included).
    subtree = Area.objects.select_for_update().filter(path__startswith=old_path)
    count = len(list(subtree.values_list("pk", flat=True)))
    Area.objects.filter(pk=area.pk).update(parent=new_parent)
    subtree.update(path=Concat(Value(new_path), Substr("path", len(old_path) + 1)))
    record(
        user,
        "area.move",
        area,
        changes={
            "parent": [
                old_parent.full_name() if old_parent else None,
                new_parent.full_name() if new_parent else None,
            ],
            "path": [old_path, new_path],
            "areas": [None, count],
        },
        reason=reason.strip(),
        area_path=new_path,
    )
    # Open rounds' roll calls copy the grid, not the path: nothing else to rewrite. Cached scan scopes
    # expire within seconds (sampling.services.CONTEXT_SECONDS).
    return count
