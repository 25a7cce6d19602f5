"""Staff pages: the register (with import and export), teams and their call-ups, the deployment board of
a round, and each staff member's own phone page with the check-in by site code.

Views parse, authorise, call a service and present. The register, teams and the board are for those who
may plan rounds, scoped to their areas (a staff member is seen from their home area and from where their
team is sent); anything else is 404, like a missing object. A staff member's own page shows only their
own shifts and call-ups."""

from __future__ import annotations

import csv
import datetime
from collections import defaultdict
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.db.models import Count, Prefetch
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from gridroll.accounts.roles import Action
from gridroll.accounts.scope import can, get_in_scope
from gridroll.areas.models import Area
from gridroll.audit.services import record
from gridroll.core import tables
from gridroll.core.uploads import refused_upload
from gridroll.lib import phone as phones
from gridroll.sampling.models import Round, Site
from gridroll.staff import services
from gridroll.staff.models import (
    Assignment,
    CallUpReply,
    CheckIn,
    Shift,
    Skill,
    StaffImport,
    StaffMember,
    Team,
)
from gridroll.staff.services import StaffError

PLAN = Action.PLAN_ROUNDS

# What each role does, shown on the staff member's own page.
DUTIES = {
    Skill.SAMPLER: gettext_lazy(
        "Swab at your station. Open the scanner with this account: scan the tube, then each person's code."
    ),
    Skill.SCANNER: gettext_lazy(
        "Walk the queue: have people open their code (or the printed card) before the table, one metre apart."
    ),
    Skill.ENTRY: gettext_lazy(
        "Register people with no code on the spot (the site code), and write down who cannot be scanned."
    ),
    Skill.GUIDE: gettext_lazy("Lead people from the entrance to the queue, the elderly to their own lane."),
    Skill.CONSULT: gettext_lazy("Answer questions at the desk: slots, codes, results, retests."),
    Skill.ORDER: gettext_lazy(
        "Keep the queue in order and one metre apart; call the site leader if it passes 20 minutes."
    ),
    Skill.DRIVER: gettext_lazy("Take the sealed boxes to the lab and hand them over with the box's code."),
}


def _plan_areas(user):
    """Areas (above the grid) where the user may manage staff, broadest first."""
    return list(Area.objects.restrict(user, PLAN).exclude(level="grid").order_by("path"))


def _plan_areas_or_404(user) -> list[Area]:
    """The same, for a page that has nothing to show someone with none: 404, as for an outsider."""
    areas = _plan_areas(user)
    if not areas:
        raise Http404
    return areas


def _area_from(request, areas, key: str = "area") -> Area:
    pk = request.POST.get(key) or request.GET.get(key)
    for a in areas:
        if str(a.pk) == str(pk):
            return a
    raise Http404


def _skills_from(request) -> list[str]:
    return [s for s in request.POST.getlist("skills") if s in Skill.values]


# -------------------------------------------------------------------------------------------- register


@login_required
def register(request):
    """The register of the user's areas, with a form to add someone."""
    areas = _plan_areas_or_404(request.user)
    if request.method == "POST":
        try:
            team = _team_or_none(request)
            member = services.save_member(
                request.user,
                None,
                name=request.POST.get("name", ""),
                phone=request.POST.get("phone", ""),
                home_unit=request.POST.get("home_unit", ""),
                home_area=_area_from(request, areas, "home_area"),
                skills=_skills_from(request),
                team=team,
            )
        except StaffError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("%(name)s added to the register.") % {"name": member.name})
        return redirect("staff:register")
    members = StaffMember.objects.restrict(request.user).select_related("home_area", "team__destination")
    q = request.GET.get("q", "").strip()
    if q:
        members = members.filter(name__contains=q) | members.filter(home_unit__contains=q)
    skill = request.GET.get("skill", "")
    rows = [m for m in members.order_by("home_area__path", "name")[:2000] if not skill or skill in m.skills]
    return render(
        request,
        "staff/register.html",
        {
            "members": rows,
            "areas": areas,
            "skills": Skill.choices,
            "teams": Team.objects.restrict(request.user).select_related("destination"),
            "q": q,
            "skill": skill,
        },
    )


def _team_or_none(request) -> Team | None:
    pk = request.POST.get("team")
    if not pk:
        return None
    return get_in_scope(Team.objects.all(), request.user, PLAN, pk=pk)


@login_required
def export(request):
    """The register of the user's areas as CSV (the import's columns); the export is audited."""
    areas = _plan_areas_or_404(request.user)
    members = list(
        StaffMember.objects.restrict(request.user)
        .select_related("home_area", "team")
        .order_by("home_area__path", "name")
    )
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote('人员名册.csv')}"
    response.write("\ufeff")  # Excel opens UTF-8 CSV with a BOM as UTF-8
    writer = csv.writer(response)
    for row in services.export_rows(members):
        writer.writerow([f"'{c}" if c[:1] in "=+-@" else c for c in row])
    record(
        request.user,
        "staff.export",
        areas[0],
        changes={"rows": [None, len(members)]},
        area_path=areas[0].path,
    )
    return response


@login_required
def member(request, pk: int):
    """One person of the register: edit, link an account, deactivate (or delete if never deployed)."""
    m = get_in_scope(
        StaffMember.objects.select_related("home_area", "team", "user"), request.user, PLAN, pk=pk
    )
    editable = can(request.user, PLAN, m.home_area.path)
    areas = _plan_areas(request.user)
    if request.method == "POST":
        if not editable:
            raise Http404
        action = request.POST.get("action", "save")
        try:
            if action == "deactivate":
                services.set_active(request.user, m, False, request.POST.get("reason", ""))
                messages.success(request, _("Deactivated: out of new assignments, later shifts freed."))
            elif action == "activate":
                services.set_active(request.user, m, True)
                messages.success(request, _("Active again."))
            elif action == "delete":
                services.delete_member(request.user, m)
                messages.success(request, _("Removed from the register."))
                return redirect("staff:register")
            elif action == "create_account":
                made, password = services.create_account(request.user, m)
                messages.success(
                    request,
                    _("Account made: login %(login)s, one-off password %(password)s (also texted to them).")
                    % {"login": made.username, "password": password},
                )
            elif action == "link":
                username = request.POST.get("username", "").strip()
                account = User.objects.filter(username=username, is_active=True).first() if username else None
                if username and account is None:
                    messages.error(request, _("No active account with that login name."))
                else:
                    services.link_account(request.user, m, account)
                    messages.success(request, _("Account saved."))
            else:
                services.save_member(
                    request.user,
                    m,
                    name=request.POST.get("name", ""),
                    phone=request.POST.get("phone", ""),
                    home_unit=request.POST.get("home_unit", ""),
                    home_area=_area_from(request, areas, "home_area"),
                    skills=_skills_from(request),
                    team=_team_or_none(request),
                )
                messages.success(request, _("Saved."))
        except StaffError as exc:
            messages.error(request, exc.message)
        return redirect("staff:member", pk=m.pk)
    shifts = (
        Assignment.objects.filter(member=m)
        .select_related("shift__site", "shift__round")
        .order_by("-shift__starts_at")[:20]
    )
    return render(
        request,
        "staff/member.html",
        {
            "m": m,
            "editable": editable,
            "areas": areas,
            "skills": Skill.choices,
            "teams": Team.objects.restrict(request.user),
            "assignments": shifts,
            "phone": m.phone if editable else phones.mask(m.phone),
        },
    )


# ---------------------------------------------------------------------------------------------- import


@login_required
def import_upload(request):
    areas = _plan_areas_or_404(request.user)
    error = refused_upload(request)
    if request.method == "POST" and not error:
        upload = request.FILES.get("file")
        if upload is None:
            error = _("Choose a file.")
        else:
            try:
                imp = services.preview_import(request.user, _area_from(request, areas), upload, upload.name)
            except tables.TableError as exc:
                error = exc.message
            else:
                return redirect("staff:import_preview", pk=imp.pk)
    return render(
        request,
        "staff/import.html",
        {
            "areas": areas,
            "error": error,
            "imports": StaffImport.objects.filter(user=request.user).order_by("-created_at")[:10],
            "limits": tables.limits("web"),
        },
    )


@login_required
def import_preview(request, pk: int):
    # Rejected rows hold phone numbers: only the person who uploaded them sees them.
    imp = get_in_scope(
        StaffImport.objects.filter(user=request.user).select_related("area"), request.user, PLAN, pk=pk
    )
    if request.method == "POST":
        try:
            imp = services.apply_import(request.user, imp)
            messages.success(
                request,
                _("Imported: %(created)s added, %(updated)s updated.")
                % {"created": imp.created, "updated": imp.updated},
            )
        except StaffError as exc:
            messages.error(request, exc.message)
        return redirect("staff:import_preview", pk=imp.pk)
    labels = dict(Skill.choices)
    rows = [{**r, "skill_labels": [labels.get(s, s) for s in r["skills"]]} for r in imp.rows[:500]]
    return render(request, "staff/import_preview.html", {"imp": imp, "rows": rows})


# ---------------------------------------------------------------------------------------- teams, call-ups


@login_required
def teams(request):
    areas = _plan_areas_or_404(request.user)
    if request.method == "POST":
        try:
            destination = get_object_or_404(
                Area.objects.exclude(level="grid"), pk=request.POST.get("destination")
            )
            team = services.create_team(
                request.user,
                name=request.POST.get("name", ""),
                home_area=_area_from(request, areas, "home_area"),
                destination=destination,
            )
        except StaffError as exc:
            messages.error(request, exc.message)
            return redirect("staff:teams")
        return redirect("staff:team", pk=team.pk)
    rows = (
        Team.objects.restrict(request.user)
        .select_related("home_area", "destination")
        .annotate(n=Count("members"))
    )
    # A team is sent anywhere in the district: any area above the grid under the user's broadest root.
    roots = {a.path.split("/")[1] for a in areas}
    destinations = [
        a for a in Area.objects.exclude(level="grid").order_by("path") if a.path.split("/")[1] in roots
    ]
    return render(request, "staff/teams.html", {"teams": rows, "areas": areas, "destinations": destinations})


@login_required
def team(request, pk: int):
    """A team: its members, adding members, calling it up and who acknowledged each call-up."""
    t = get_in_scope(Team.objects.select_related("home_area", "destination"), request.user, PLAN, pk=pk)
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "ack":
                reply = get_object_or_404(CallUpReply, pk=request.POST.get("reply"), callup__team=t)
                services.acknowledge(request.user, reply, by_phone=True)
                messages.success(request, _("Recorded: %(name)s replied.") % {"name": reply.member.name})
            elif action == "members":
                chosen = list(
                    StaffMember.objects.restrict(request.user).filter(pk__in=request.POST.getlist("member"))
                )
                n = services.set_team(request.user, t, chosen)
                messages.success(request, _("%(n)s added to the team.") % {"n": n})
            else:
                when = parse_datetime(request.POST.get("gather_at", ""))
                if when is None:
                    messages.error(request, _("Give the time to gather."))
                    return redirect("staff:team", pk=t.pk)
                if timezone.is_naive(when):
                    when = timezone.make_aware(when)
                services.call_up(
                    request.user,
                    t,
                    text=request.POST.get("text", ""),
                    place=request.POST.get("place", ""),
                    gather_at=when,
                )
                messages.success(request, _("Call-up sent by SMS and to each member's own page."))
        except StaffError as exc:
            messages.error(request, exc.message)
        return redirect("staff:team", pk=t.pk)
    members = list(t.members.select_related("home_area").order_by("name"))
    callups = list(
        t.callups.prefetch_related(
            Prefetch(
                "replies", queryset=CallUpReply.objects.select_related("member").order_by("member__name")
            )
        )[:10]
    )
    shown = [
        {
            "c": c,
            "acked": [r for r in c.replies.all() if r.acknowledged_at],
            "waiting": [r for r in c.replies.all() if not r.acknowledged_at],
        }
        for c in callups
    ]
    others = (
        StaffMember.objects.restrict(request.user)
        .filter(is_active=True, home_area__path__startswith=t.home_area.path)
        .exclude(team=t)
        .order_by("name")[:300]
    )
    default_at = timezone.localtime() + datetime.timedelta(hours=1)
    return render(
        request,
        "staff/team.html",
        {"t": t, "members": members, "callups": shown, "others": others, "default_at": default_at},
    )


# ------------------------------------------------------------------------------------ deployment board


@login_required
def board(request, round_pk: int):
    """Per site of the chosen area: each shift's needs against who is assigned, who checked in, and the
    places left empty; POST makes the shifts and fills them (services.deploy)."""
    round_ = get_object_or_404(Round, pk=round_pk)
    round_paths = [ra.area.path for ra in round_.areas.select_related("area")]
    areas = [a for a in _plan_areas(request.user) if any(a.path.startswith(p) for p in round_paths)]
    if not areas:
        raise Http404
    area = _area_from(request, areas) if (request.GET.get("area") or request.POST.get("area")) else areas[0]
    if request.method == "POST":
        try:
            summary = services.deploy(request.user, round_, area)
        except StaffError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request,
                _("%(assigned)s of %(needed)s places filled; %(short)s left empty.") % summary,
            )
        return redirect(f"{reverse('staff:board', args=[round_.pk])}?area={area.pk}")
    shifts = list(
        Shift.objects.restrict(request.user)
        .filter(round=round_, site__area__path__startswith=area.path)
        .select_related("site")
        .prefetch_related(Prefetch("assignments", queryset=Assignment.objects.select_related("member")))
        .order_by("site__name", "starts_at", "role")
    )
    sites_by_id = {s.site_id: s.site for s in shifts}
    now_on = services.on_site_now(sites_by_id.values())
    checked = defaultdict(set)
    for c in CheckIn.objects.filter(shift__in=shifts).values("shift_id", "member_id"):
        checked[c["shift_id"]].add(c["member_id"])
    per_site: dict[int, dict] = {}
    for s in shifts:
        entry = per_site.setdefault(
            s.site_id,
            {"site": s.site, "blocks": {}, "needed": 0, "assigned": 0, "here": now_on.get(s.site_id, [])},
        )
        block = entry["blocks"].setdefault(s.starts_at, {"start": s.starts_at, "end": s.ends_at, "roles": []})
        people = [(a.member, a.member_id in checked[s.pk]) for a in s.assignments.all()]
        block["roles"].append({"shift": s, "people": people, "short": max(0, s.needed - len(people))})
        entry["needed"] += s.needed
        entry["assigned"] += len(people)
    sites = sorted(per_site.values(), key=lambda e: e["site"].name)
    order = {v: i for i, v in enumerate(Skill.values)}
    for e in sites:
        e["blocks"] = sorted(e["blocks"].values(), key=lambda b: b["start"])
        for b in e["blocks"]:
            b["roles"].sort(key=lambda r: order.get(r["shift"].role, 99))
        e["short"] = e["needed"] - e["assigned"]
    short = [(r["shift"], r["short"]) for e in sites for b in e["blocks"] for r in b["roles"] if r["short"]]
    return render(
        request,
        "staff/board.html",
        {
            "round": round_,
            "areas": areas,
            "area": area,
            "sites": sites,
            "short": short,
            "needed": sum(e["needed"] for e in sites),
            "assigned": sum(e["assigned"] for e in sites),
            "here": sum(len(e["here"]) for e in sites),
        },
    )


# ------------------------------------------------------------------------------ the staff member's page


@login_required
def me(request):
    """My shift, my site, what to do, call-ups to acknowledge, and how to check in."""
    m = StaffMember.objects.filter(user=request.user).select_related("team__destination").first()
    if m is None:
        return render(request, "staff/me.html", {"m": None})
    now = timezone.now()
    assignments = list(
        Assignment.objects.filter(member=m, shift__ends_at__gt=now - datetime.timedelta(hours=1))
        .select_related("shift__site__area", "shift__round")
        .order_by("shift__starts_at")[:10]
    )
    current = services.current_assignment(m, now=now)
    checked = set(
        CheckIn.objects.filter(member=m, shift__in=[a.shift for a in assignments]).values_list(
            "shift_id", flat=True
        )
    )
    rows = [
        {
            "a": a,
            "duty": DUTIES.get(a.shift.role, ""),
            "checked": a.shift_id in checked,
            "now": current is not None and a.pk == current.pk,
        }
        for a in assignments
    ]
    replies = list(
        CallUpReply.objects.filter(member=m, callup__gather_at__gt=now - datetime.timedelta(hours=12))
        .select_related("callup__team")
        .order_by("-callup__created_at")[:5]
    )
    return render(request, "staff/me.html", {"m": m, "rows": rows, "replies": replies, "current": current})


@login_required
@require_POST
def ack(request, pk: int):
    reply = get_object_or_404(CallUpReply, pk=pk, member__user=request.user)
    services.acknowledge(request.user, reply)
    messages.success(request, _("Acknowledged: the team leader sees it."))
    return redirect("staff:me")


@login_required
def checkin(request, token: str):
    """Where a site code leads a logged-in staff member: confirm, and the check-in is recorded."""
    site = get_object_or_404(Site.objects.select_related("area"), token=token, is_active=True)
    m = StaffMember.objects.filter(user=request.user, is_active=True).first()
    current = services.current_assignment(m, site) if m else None
    if request.method == "POST":
        try:
            services.check_in(request.user, site)
        except StaffError as exc:
            messages.error(request, exc.message)
            return redirect("staff:checkin", token=token)
        messages.success(request, _("Checked in at %(site)s.") % {"site": site.name})
        return redirect("staff:me")
    return render(request, "staff/checkin.html", {"site": site, "m": m, "current": current, "token": token})
