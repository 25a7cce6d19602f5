from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render

from gridroll.accounts.roles import Action
from gridroll.accounts.scope import can
from gridroll.areas.models import Area
from gridroll.staff.models import StaffMember


@login_required
def home(request):
    """Where each person starts: their areas, a search box, and what they can do next."""
    grants = list(request.user.grants.current().select_related("area").order_by("area__path"))
    for g in grants:
        # A sampler's or a lab's area is where they work, not a page they may open (it would be a 404).
        g.may_open = can(request.user, Action.VIEW_REGISTRY, g.area.path)
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
            "is_staff_member": StaffMember.objects.filter(user=request.user).exists(),
        },
    )


# ---------------------------------------------------------------------------------- load balancer probes


def healthz(request):
    """Liveness: this process answers. No database, no cache: a slow database must not get every app
    server restarted at once."""
    return HttpResponse("ok\n", content_type="text/plain")


def readyz(request):
    """Readiness: this app server can do its job — the database answers and every migration is applied,
    and the cache answers. 503 with the reason otherwise, so that the load balancer sends no traffic here
    until it is fixed (docs/deployment.md)."""
    import json

    from django.core.cache import cache
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    problems = []
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        if not _migrations_checked:
            executor = MigrationExecutor(connection)
            if executor.migration_plan(executor.loader.graph.leaf_nodes()):
                problems.append("migrations not applied")
            else:
                _migrations_checked.append(True)  # once per process: the code cannot change under it
    except Exception as exc:  # any database failure means "not ready", never a 500 page
        problems.append(f"database: {type(exc).__name__}")
    try:
        cache.set("readyz", "1", 5)
        if cache.get("readyz") != "1":
            problems.append("cache: not keeping values")
    except Exception as exc:
        problems.append(f"cache: {type(exc).__name__}")
    body = json.dumps({"ready": not problems, "problems": problems})
    response = HttpResponse(body, content_type="application/json", status=503 if problems else 200)
    response["Cache-Control"] = "no-store"
    return response


_migrations_checked: list[bool] = []
