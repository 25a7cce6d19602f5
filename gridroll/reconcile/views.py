"""Feeds to check: upload, the summary by grid, the grid worker's worklist, decisions, the answer upstream."""

from __future__ import annotations

import io
from collections import Counter

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Case, Count, IntegerField, Value, When
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gridroll.accounts.roles import Action
from gridroll.accounts.scope import can, get_in_scope
from gridroll.areas.models import Area
from gridroll.audit.services import record
from gridroll.core import tables
from gridroll.core.http import download, param_int, safe_next
from gridroll.core.uploads import refused_upload
from gridroll.lib import idnumber
from gridroll.reconcile import services
from gridroll.reconcile.model import MatcherMissing, require_matcher
from gridroll.reconcile.models import OPEN_CONCLUSIONS, WORK_ORDER, Conclusion, Decision, Feed, FeedLine
from gridroll.residents.importing import FileError
from gridroll.residents.masking import phone_for
from gridroll.residents.models import Resident
from gridroll.residents.services import ResidentError
from gridroll.sampling.models import Round

# About 20 s on these machines; longer lists go through the command (docs/reconcile.md).
PAGE_MAX_LINES = 20_000

WORK_RANK = Case(
    *[When(conclusion=c, then=Value(i)) for i, c in enumerate(WORK_ORDER)],
    default=Value(len(WORK_ORDER)),
    output_field=IntegerField(),
)


def _upload_areas(user):
    return Area.objects.restrict(user, Action.IMPORT).exclude(level="grid")


def _feed(user, pk: int) -> Feed:
    return get_in_scope(Feed.objects.select_related("area", "round"), user, Action.VIEW_REGISTRY, pk=pk)


def _may_manage(user, feed: Feed) -> bool:
    return can(user, Action.IMPORT, feed.area.path)


def _managed_feed(user, pk: int) -> Feed:
    """A feed the user may match again or delete (the uploader's level); 404 otherwise."""
    feed = _feed(user, pk)
    if not _may_manage(user, feed):
        raise Http404
    return feed


@login_required
def feeds(request):
    """The lists sent to check, newest first, with what is still open in the user's areas."""
    if not can(request.user, Action.VIEW_REGISTRY):
        raise Http404
    error = refused_upload(request)
    if request.method == "POST" and error is None:
        upload = request.FILES.get("file")
        area = _upload_areas(request.user).filter(pk=param_int(request, "area", "POST") or 0).first()
        round_ = Round.objects.filter(pk=param_int(request, "round", "POST") or 0).first()
        if upload is None or area is None:
            error = _("Choose the file and the area the list is about.")
        else:
            try:
                feed = services.create_feed(
                    request.user,
                    area,
                    upload,
                    upload.name,
                    round_=round_,
                    name=request.POST.get("name", "").strip()[:200],
                    source=request.POST.get("source", "").strip()[:200],
                    max_lines=PAGE_MAX_LINES,
                )
            except (FileError, MatcherMissing) as exc:
                error = exc.message
            else:
                record(
                    request.user,
                    "reconcile.upload",
                    feed,
                    changes={"lines": [None, feed.total]},
                    area_path=area.path,
                )
                return redirect("reconcile:feed", pk=feed.pk)
    if error is None and request.method != "POST":
        try:
            require_matcher()
        except MatcherMissing as exc:
            error = exc.message  # said before anyone uploads a list it cannot check
    listed = list(Feed.objects.restrict(request.user).select_related("area", "round", "user")[:50])
    # The user's lines of every listed feed, counted in one query.
    mine: Counter = Counter()
    still_open: Counter = Counter()
    for feed_id, conclusion, n in (
        FeedLine.objects.restrict(request.user)
        .filter(feed__in=listed)
        .values_list("feed_id", "conclusion")
        .annotate(n=Count("id"))
        .order_by()
    ):
        mine[feed_id] += n
        if conclusion in OPEN_CONCLUSIONS:
            still_open[feed_id] += n
    rows = [{"feed": f, "open": still_open[f.pk], "mine": mine[f.pk]} for f in listed]
    upload_areas = list(_upload_areas(request.user)[:200])
    return render(
        request,
        "reconcile/feeds.html",
        {
            "rows": rows,
            "upload_areas": upload_areas,
            "rounds": Round.objects.exclude(status=Round.Status.PLANNED)[:10],
            "error": error,
            "limits": tables.limits("web"),
            "max_lines": PAGE_MAX_LINES,
        },
    )


@login_required
def feed_detail(request, pk: int):
    feed = _feed(request.user, pk)
    lines = FeedLine.objects.restrict(request.user).filter(feed=feed)
    counts = services.conclusion_counts(lines)
    by_grid: dict[int | None, Counter] = {}
    for grid_id, conclusion in lines.values_list("grid_id", "conclusion"):
        by_grid.setdefault(grid_id, Counter())[conclusion] += 1
    names = dict(Area.objects.filter(pk__in=[g for g in by_grid if g]).values_list("pk", "name"))
    grids = sorted(
        (
            {
                "id": g,
                "name": names.get(g, _("Not placed in a grid")),
                "open": sum(c[x] for x in OPEN_CONCLUSIONS),
                "total": sum(c.values()),
                "counts": c,
            }
            for g, c in by_grid.items()
        ),
        key=lambda row: (-row["open"], row["name"]),
    )
    return render(
        request,
        "reconcile/feed.html",
        {
            "feed": feed,
            "counts": [(Conclusion(c), n) for c, n in counts.items() if n],
            "total": sum(counts.values()),
            "open": sum(counts[c] for c in OPEN_CONCLUSIONS),
            "grids": grids,
            "may_manage": _may_manage(request.user, feed),
        },
    )


def _candidates(user, line: FeedLine) -> list[dict]:
    """The line's candidates the user may see (a candidate in another grid is only counted)."""
    ids = [c["id"] for c in line.candidates]
    visible = {
        r.pk: r
        for r in Resident.objects.restrict(user)
        .filter(pk__in=ids)
        .select_related("household__building__grid")
    }
    out = []
    for c in line.candidates:
        r = visible.get(c["id"])
        out.append({"resident": r, "p": c["p"], "why": c["why"], "hidden": r is None})
    return out


@login_required
def worklist(request, pk: int):
    """A grid worker's lines of a feed, the ones needing work first; mobile-first cards."""
    feed = _feed(request.user, pk)
    lines = FeedLine.objects.restrict(request.user).filter(feed=feed, duplicate_of__isnull=True)
    grid = None
    if request.GET.get("grid"):
        if request.GET["grid"] == "none":
            lines = lines.filter(grid__isnull=True)
        else:
            grid = get_in_scope(Area.objects.all(), request.user, pk=request.GET["grid"])
            lines = lines.filter(grid=grid)
    show = request.GET.get("show", "open")
    if show == "open":
        lines = lines.filter(conclusion__in=OPEN_CONCLUSIONS)
    elif show in Conclusion.values:
        lines = lines.filter(conclusion=show)
    lines = list(
        lines.select_related("resident__household__building__grid", "decided_by")
        .annotate(rank=WORK_RANK)
        .order_by("rank", "line")[:500]
    )
    dupes: dict[int, list[int]] = {}
    for first, line_no in FeedLine.objects.filter(duplicate_of__in=[x.pk for x in lines]).values_list(
        "duplicate_of", "line"
    ):
        dupes.setdefault(first, []).append(line_no)
    may_edit = {x.pk: can(request.user, Action.EDIT_REGISTRY, x.area_path) for x in lines}
    bulk = set(
        confirmable(request.user, feed).filter(pk__in=[x.pk for x in lines]).values_list("pk", flat=True)
    )
    for x in lines:
        x.bulk = x.pk in bulk
        x.shown_candidates = _candidates(request.user, x) if not x.automatic or x.decision else []
        x.same_person_lines = dupes.get(x.pk, [])
        x.may_edit = may_edit[x.pk]
        x.masked_id = idnumber.mask(idnumber.normalise(x.id_number)) if x.id_number else ""
        if x.resident_id and x.resident.household_id:
            # The registered phone to call (full for the grid worker and the community, masked above).
            x.resident_phone = phone_for(
                request.user, x.resident.phone, x.resident.household.building.grid.path
            )
    return render(
        request,
        "reconcile/worklist.html",
        {
            "feed": feed,
            "grid": grid,
            "lines": lines,
            "show": show,
            "conclusions": Conclusion.choices,
            "bulk": [x.pk for x in lines if x.bulk],
        },
    )


def _line(user, pk: int) -> FeedLine:
    return get_in_scope(
        FeedLine.objects.select_related("feed__area", "feed__round"), user, Action.EDIT_REGISTRY, pk=pk
    )


def _back(request, line: FeedLine):
    return redirect(safe_next(request, reverse("reconcile:worklist", args=[line.feed_id])))


@login_required
@require_POST
def decide(request, pk: int):
    line = _line(request.user, pk)
    decision = request.POST.get("decision", "")
    resident = None
    if decision in (Decision.CONFIRMED, Decision.PICKED):
        wanted = param_int(request, "resident", "POST") or 0
        if wanted not in [c["id"] for c in line.candidates] and wanted != line.resident_id:
            raise Http404
        resident = get_in_scope(Resident.objects.all(), request.user, Action.EDIT_REGISTRY, pk=wanted)
    note = request.POST.get("note", "").strip()
    if decision == Decision.NOT_HERE and not note:
        messages.error(request, _("Say how you know (a phone call, a visit…)."))
        return _back(request, line)
    try:
        services.decide(request.user, line, decision, resident, note)
    except services.DecisionError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, _("Line %(n)s: %(what)s.") % {"n": line.line, "what": line.get_conclusion_display()}
        )
    return _back(request, line)


def confirmable(user, feed: Feed):
    """Lines of ``feed`` the user may confirm in bulk: matched by the matcher alone, not decided yet, with
    a registered person the user may edit (as the single confirm asks)."""
    return (
        FeedLine.objects.restrict(user, Action.EDIT_REGISTRY)
        .filter(feed=feed, duplicate_of__isnull=True, automatic=True, decision="", resident__isnull=False)
        .filter(resident__in=Resident.objects.restrict(user, Action.EDIT_REGISTRY))
    )


@login_required
@require_POST
def confirm_many(request, pk: int):
    """Confirm the matcher's match on the ticked lines, or on every such line the page showed ("all")."""
    feed = _feed(request.user, pk)
    field = "shown" if request.POST.get("all") else "line"
    raw = request.POST.get("shown", "").split(",") if field == "shown" else request.POST.getlist("line")
    ids = {int(x) for x in raw if x.strip().isdigit()}
    back = redirect(safe_next(request, reverse("reconcile:worklist", args=[feed.pk])))
    if not ids:
        messages.error(request, _("Tick the lines to confirm first."))
        return back
    lines = list(
        confirmable(request.user, feed)
        .filter(pk__in=ids)
        .select_related("feed__round", "resident")
        .order_by("line")
    )
    skipped = len(ids) - len(lines)
    try:
        services.confirm_many(request.user, lines)
    except services.DecisionError as exc:
        messages.error(request, str(exc))
        return back
    messages.success(
        request,
        _("%(n)s lines confirmed; each can be undone on its own.") % {"n": len(lines)}
        + (
            " "
            + _("%(n)s lines were not confirmed: decided already, or not a match you may confirm.")
            % {"n": skipped}
            if skipped
            else ""
        ),
    )
    return back


@login_required
@require_POST
def undo(request, pk: int):
    line = _line(request.user, pk)
    if not line.decision:
        return _back(request, line)
    fresh = services.undo(request.user, line)
    messages.success(request, _("Line %(n)s: decision taken back.") % {"n": fresh.line})
    return _back(request, fresh)


@login_required
def add_resident(request, pk: int):
    """Register the person on a line as a new (pending) resident of a household in the user's grid."""
    line = _line(request.user, pk)
    if line.resident_id and line.decision:
        return redirect("reconcile:worklist", pk=line.feed_id)
    values = {
        "name": request.POST.get("name", line.name).strip(),
        "id_number": request.POST.get("id_number", line.id_number).strip(),
        "phone": request.POST.get("phone", line.phone).strip(),
        "address": request.POST.get("address", line.address).strip(),
    }
    households = (
        services.households_for(request.user, values["address"], line.feed.area) if values["address"] else []
    )
    error = None
    if request.method == "POST" and not request.POST.get("find"):
        household = next((h for h in households if str(h.pk) == request.POST.get("household")), None)
        if household is None:
            error = _("Choose the household: type the address as 3号楼2单元501 and pick it from the list.")
        else:
            try:
                services.add_resident(
                    request.user,
                    line,
                    name=values["name"],
                    id_number=values["id_number"],
                    phone=services.phone_or_blank(values["phone"]),
                    household=household,
                )
            except (ResidentError, idnumber.IDNumberError) as exc:
                error = exc.message
            else:
                messages.success(
                    request, _("Added to %(where)s, awaiting confirmation.") % {"where": household.label}
                )
                return redirect(reverse("reconcile:worklist", args=[line.feed_id]))
    return render(
        request,
        "reconcile/add.html",
        {"line": line, "values": values, "households": households, "error": error},
    )


@login_required
def export(request, pk: int):
    """The answer upstream: the list in its own order with conclusions and masked identities."""
    feed = _feed(request.user, pk)
    lines = FeedLine.objects.restrict(request.user).filter(feed=feed).order_by("line")
    out = io.BytesIO()
    n = services.write_result(feed, out, masked=True, lines=lines)
    record(request.user, "reconcile.export", feed, changes={"lines": [None, n]}, area_path=feed.area.path)
    return download(out.getvalue(), f"{feed.name}-核查结果.xlsx")


@login_required
@require_POST
def rematch(request, pk: int):
    feed = _managed_feed(request.user, pk)
    services.rematch(feed)
    record(request.user, "reconcile.rematch", feed, area_path=feed.area.path)
    messages.success(request, _("Matched again against the registry as it is now; decisions were kept."))
    return redirect("reconcile:feed", pk=feed.pk)


@login_required
@require_POST
def delete(request, pk: int):
    feed = _managed_feed(request.user, pk)
    record(
        request.user, "reconcile.delete", feed, changes={"name": [feed.name, None]}, area_path=feed.area.path
    )
    feed.delete()
    messages.success(request, _("List deleted."))
    return redirect("reconcile:feeds")
