from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render

from gridroll.accounts.roles import Action
from gridroll.accounts.scope import can
from gridroll.audit.models import AuditRecord
from gridroll.residents.masking import changes_for


@login_required
def audit_log(request):
    """Who changed or looked at what, in the user's areas, newest first."""
    if not can(request.user, Action.VIEW_AUDIT):
        raise Http404
    records = AuditRecord.objects.restrict(request.user).select_related("actor")
    action = request.GET.get("action", "")
    if action:
        records = records.filter(action=action)
    actions = (
        AuditRecord.objects.restrict(request.user)
        .order_by("action")
        .values_list("action", flat=True)
        .distinct()
    )
    page = Paginator(records, 100).get_page(request.GET.get("page"))
    for h in page.object_list:
        # Identifiers as this user may see them: IDs masked, phones by the calling rule (issue 13).
        h.shown_changes = changes_for(request.user, h.changes, h.area_path)
    return render(request, "audit/audit_log.html", {"page": page, "action": action, "actions": actions})
