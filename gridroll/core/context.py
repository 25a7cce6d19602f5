"""Template context every page gets."""

from django.utils.functional import SimpleLazyObject

from gridroll.accounts.roles import Action
from gridroll.accounts.scope import can


def navigation(request):
    """``may_search``: whether the header's resident search can find anything for this user. Samplers and
    lab staff see no registry, so a search box would always answer "nothing found" (issue 18, item 12).
    Lazy: pages that never show the header pay nothing; the scope paths are cached on the user."""
    return {"may_search": SimpleLazyObject(lambda: can(request.user, Action.VIEW_REGISTRY))}
