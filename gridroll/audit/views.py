from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render

from gridroll.accounts.roles import Action
from gridroll.accounts.scope import can
from gridroll.audit.labels import action_label, changes_for
from gridroll.audit.models import AuditRecord


@login_required
def audit_log(request):
    """Who changed or looked at what, in the user's areas, newest first."""
    if not can(request.user, Action.VIEW_AUDIT):
        raise Http404
    records = AuditRecord.objects.restrict(request.user).select_related("actor")
    action = request.GET.get("action", "")
    if action:
        records = records.filter(action=action)
    codes = AuditRecord.objects.restrict(request.user).order_by("action").values_list("action", flat=True)
    # The filter offers what the reader reads (the label); the query string keeps the stable code.
    actions = sorted(((a, action_label(a)) for a in codes.distinct()), key=lambda pair: pair[1])
    page = Paginator(records, 100).get_page(request.GET.get("page"))
    for h in page.object_list:
        # Identifiers as this user may see them: IDs masked, phones by the calling rule (issue 13).
        h.shown_changes = changes_for(request.user, h.changes, h.area_path)
        h.shown_action = action_label(h.action)
    return render(request, "audit/audit_log.html", {"page": page, "action": action, "actions": actions})
