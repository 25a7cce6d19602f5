"""Lab pages (receive boxes, upload results, resolve conflicts, turnaround) and the retest list for
community and subdistrict staff. Labs see barcodes and results, never names."""

from __future__ import annotations

import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gridroll.accounts.roles import Action
from gridroll.accounts.scope import allowed_paths, can, get_in_scope, path_filter
from gridroll.areas.models import Area
from gridroll.core import tables
from gridroll.core.http import download, param_int
from gridroll.core.uploads import refused_upload
from gridroll.labs.models import ResultIssue, ResultUpload, RetestTask
from gridroll.labs.queries import RETEST_HEADER, retest_rows, turnaround_by_lab
from gridroll.labs.services import (
    ReceiveError,
    box_differences,
    import_results,
    receive_all,
    receive_box,
    receive_tube,
    resolve_conflict,
    write_issues,
)
from gridroll.sampling.models import Box, Round, Tube


def _lab_only(user) -> None:
    if not can(user, Action.REPORT_RESULTS):
        raise Http404


def _uploads(user):
    qs = ResultUpload.objects.all()
    return qs if user.is_superuser else qs.filter(user=user)


@login_required
def lab_home(request):
    _lab_only(request.user)
    refused = refused_upload(request)
    if refused:
        messages.error(request, refused)
        return redirect("labs:home")
    if request.method == "POST" and request.FILES.get("file"):
        f = request.FILES["file"]
        upload = import_results(f, f.name, user=request.user, lab=request.POST.get("lab", "").strip())
        if upload.pk is None:
            # Unreadable or over a limit: nothing was stored.
            messages.error(request, upload.error)
            return redirect("labs:home")
        return redirect("labs:upload", pk=upload.pk)
    if request.method == "POST" and request.POST.get("box"):
        code = request.POST["box"].strip().upper()
        box = Box.objects.restrict(request.user, Action.REPORT_RESULTS).filter(code=code).first()
        if box is None:
            messages.error(request, _("No box with the code %(code)s.") % {"code": code})
            return redirect("labs:home")
        try:
            receive_box(request.user, box, request.POST.get("lab", "").strip())
        except ReceiveError as exc:
            messages.error(request, exc.message)
            return redirect("labs:home")
        return redirect("labs:box", pk=box.pk)
    boxes = Box.objects.restrict(request.user, Action.REPORT_RESULTS)
    conflicts = _conflicts(request.user).count()
    return render(
        request,
        "labs/home.html",
        {
            "uploads": _uploads(request.user)[:20],
            "incoming": boxes.filter(status=Box.Status.HANDED_OVER).select_related("site")[:50],
            "received": boxes.filter(status=Box.Status.RECEIVED).select_related("site")[:20],
            "conflicts": conflicts,
            "limits": tables.limits("web"),
        },
    )


@login_required
def box_receive(request, pk: int):
    _lab_only(request.user)
    box = get_in_scope(Box.objects.select_related("site"), request.user, Action.REPORT_RESULTS, pk=pk)
    if request.method == "POST":
        try:
            if request.POST.get("all"):
                n = receive_all(request.user, box)
                messages.success(request, _("%(n)d tubes recorded as counted.") % {"n": n})
            else:
                receive_tube(request.user, box, request.POST.get("tube", ""))
        except ReceiveError as exc:
            messages.error(request, exc.message)
        return redirect("labs:box", pk=box.pk)
    return render(
        request,
        "labs/box.html",
        {
            "box": box,
            "diff": box_differences(box),
            "packed": box.tubes.count(),
            "received": box.tubes.filter(received_at__isnull=False).count(),
            "counted": box.receipts.count(),
            "receipts": box.receipts.order_by("-scanned_at")[:20],
        },
    )


@login_required
def upload_detail(request, pk: int):
    _lab_only(request.user)
    upload = _uploads(request.user).filter(pk=pk).first()
    if upload is None:
        raise Http404
    if request.GET.get("download"):
        out = io.BytesIO()
        write_issues(upload, out, "rejects.xlsx")
        return download(out.getvalue(), f"未入库-{upload.filename.rsplit('.', 1)[0]}.xlsx")
    positives = Tube.objects.filter(barcode__in=upload.positive_barcodes).select_related("site")
    return render(
        request,
        "labs/upload.html",
        {"upload": upload, "issues": upload.issues.select_related("tube")[:500], "positives": positives},
    )


def _conflicts(user):
    issues = ResultIssue.objects.filter(code="conflict", resolution="").select_related(
        "tube__site__area", "upload"
    )
    return issues.filter(path_filter(user, Action.REPORT_RESULTS, "tube__site__area__path"))


@login_required
def conflicts(request):
    _lab_only(request.user)
    return render(request, "labs/conflicts.html", {"issues": _conflicts(request.user)[:500]})


@login_required
@require_POST
def resolve(request, pk: int):
    _lab_only(request.user)
    issue = _conflicts(request.user).filter(pk=pk).first()
    if issue is None:
        raise Http404
    resolve_conflict(request.user, issue, take_new=request.POST.get("take") == "new")
    messages.success(request, _("Decided and recorded."))
    return redirect("labs:conflicts")


@login_required
def turnaround(request):
    """Sampled → packed → received → reported, per lab: medians and 90th percentiles in hours."""
    paths = allowed_paths(request.user, Action.REPORT_RESULTS)
    if paths == [] and not can(request.user, Action.PLAN_ROUNDS):
        raise Http404
    action = Action.REPORT_RESULTS if paths != [] else Action.PLAN_ROUNDS
    tubes = Tube.objects.filter(path_filter(request.user, action, "site__area__path"))
    round_id = request.GET.get("round")
    if round_id and round_id.isdigit():
        tubes = tubes.filter(round_id=int(round_id))
    labs = turnaround_by_lab(tubes)
    # Per tube: the slowest reported tubes, and the oldest still waiting for a result.
    step_fields = ("barcode", "lab", "sealed_at", "packed_at", "received_at", "reported_at")
    slowest = []
    for t in tubes.filter(reported_at__isnull=False, sealed_at__isnull=False).values(*step_fields):
        t["hours"] = round((t["reported_at"] - t["sealed_at"]).total_seconds() / 3600, 1)
        slowest.append(t)
    slowest = sorted(slowest, key=lambda t: -t["hours"])[:30]
    waiting = (
        tubes.filter(reported_at__isnull=True, sealed_at__isnull=False)
        .order_by("sealed_at")
        .values(*step_fields)[:30]
    )
    return render(
        request,
        "labs/turnaround.html",
        {
            "labs": labs,
            "rounds": Round.objects.all()[:20],
            "round_id": round_id,
            "slowest": slowest,
            "waiting": waiting,
        },
    )


# --------------------------------------------------------------------------------------- retest list


@login_required
def retests(request):
    if not can(request.user, Action.VIEW_REGISTRY):
        raise Http404
    round_ = Round.objects.filter(pk=param_int(request, "round") or 0).first()
    area = None
    if request.GET.get("area"):
        area = get_in_scope(Area.objects.all(), request.user, pk=request.GET["area"])
    tasks = retest_rows(request.user, round_, area)
    if request.GET.get("format") == "xlsx":
        from gridroll.core.exports import write_xlsx

        out = io.BytesIO()
        write_xlsx(
            (
                [
                    t.get_status_display(),
                    t.get_kind_display(),
                    t.resident.name,
                    t.resident.household.label,
                    t.resident.household.building.grid.name,
                    t.workers,
                    t.phone_shown,
                    t.tube.barcode,
                    t.round.name,
                    t.created_at.strftime("%Y-%m-%d %H:%M"),
                    t.get_result_display() if t.result else "",
                ]
                for t in tasks
            ),
            out,
            title="复核名单",
            header=RETEST_HEADER,
        )
        return download(out.getvalue(), "复核名单.xlsx")
    # "To do" is who still has to be swabbed; someone swabbed and waiting for the result is not (issue 18).
    to_swab = sum(1 for t in tasks if t.status == RetestTask.Status.OPEN)
    awaiting = sum(1 for t in tasks if t.status == RetestTask.Status.SAMPLED)
    return render(
        request,
        "labs/retests.html",
        {
            "tasks": tasks,
            "open": to_swab,
            "awaiting": awaiting,
            "round": round_,
            "area": area,
            "rounds": Round.objects.exclude(status=Round.Status.PLANNED)[:20],
            "params": request.GET.urlencode(),  # not "query": that is the header search box's
        },
    )
