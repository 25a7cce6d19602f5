"""The one way to narrow anything to what a user may see or do.

Every page, export and API endpoint goes through ``path_filter`` (via each model's
``QuerySet.restrict(user, action)``) or ``get_in_scope``. Both answer alike for an object that does not
exist and one that is out of scope, so an outsider learns nothing from the difference.
"""

from __future__ import annotations

from typing import TypeVar

from django.db.models import Model, Q, QuerySet
from django.http import Http404

from gridroll.accounts.roles import ROLE_ACTIONS

M = TypeVar("M", bound=Model)

_CACHE_ATTR = "_gridroll_scope_paths"


def allowed_paths(user, action: str) -> list[str] | None:
    """Area paths under which ``user`` may do ``action``; None means everywhere (superuser)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return []
    if user.is_superuser:
        return None
    cache = getattr(user, _CACHE_ATTR, None)
    if cache is None:
        cache = {}
        for role, path in user.grants.current().values_list("role", "area__path"):
            for act in ROLE_ACTIONS.get(role, ()):
                cache.setdefault(act, set()).add(path)
        setattr(user, _CACHE_ATTR, cache)
    paths = sorted(cache.get(action, ()))
    # A grant inside another grant adds nothing: drop it to keep the SQL short.
    return [p for i, p in enumerate(paths) if not any(p.startswith(q) for q in paths[:i])]


def path_filter(user, action: str, field: str) -> Q:
    """A Q object keeping rows whose area path (``field``) lies under one of the user's grants."""
    paths = allowed_paths(user, action)
    if paths is None:
        return Q()
    if not paths:
        return Q(pk__in=[])
    q = Q()
    for p in paths:
        q |= Q(**{f"{field}__startswith": p})
    return q


def can(user, action: str, area_path: str | None = None) -> bool:
    """May ``user`` do ``action`` somewhere (or under ``area_path``)?"""
    paths = allowed_paths(user, action)
    if paths is None:
        return True
    if area_path is None:
        return bool(paths)
    return any(area_path.startswith(p) for p in paths)


def get_in_scope(queryset: QuerySet[M], user, action: str = "view_registry", **lookup) -> M:
    """Fetch one object the user may act on, or raise Http404 whether it is missing or out of scope."""
    try:
        return queryset.restrict(user, action).get(**lookup)  # type: ignore[attr-defined]
    except (queryset.model.DoesNotExist, ValueError):  # type: ignore[attr-defined]
        raise Http404 from None


def forget(user) -> None:
    """Drop the cached grants (after they change)."""
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)
