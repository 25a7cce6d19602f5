from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from gridroll.accounts.roles import Action
from gridroll.accounts.scope import can
from gridroll.areas.models import Area


@login_required
def home(request):
    """Where each person starts: their areas, a search box, and what they can do next."""
    grants = request.user.grants.select_related("area").order_by("area__path")
    areas = Area.objects.filter(parent__isnull=True) if request.user.is_superuser else None
    return render(
        request,
        "core/home.html",
        {
            "grants": grants,
            "root_areas": areas,
            "can_view": can(request.user, Action.VIEW_REGISTRY),
            "can_import": can(request.user, Action.IMPORT),
            "can_audit": can(request.user, Action.VIEW_AUDIT),
            "can_codes": can(request.user, Action.MANAGE_CODES),
            "can_plan": can(request.user, Action.PLAN_ROUNDS),
            "can_scan": can(request.user, Action.SCAN),
            "can_lab": can(request.user, Action.REPORT_RESULTS),
        },
    )
