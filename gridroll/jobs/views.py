"""A job's page (progress, then the download link), its status for the page to poll, and the file.

Only the job's owner sees any of it: for anyone else a job is 404, as for a job that does not exist."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache

from gridroll.jobs import runner
from gridroll.jobs.models import Job

ERRORS = {
    runner.RUNNER_STOPPED: gettext_lazy(
        "The server stopped while preparing this file, more than once. Start it again; if it fails again, "
        "tell the system administrator."
    ),
}


def _own(request, pk: int) -> Job:
    return get_object_or_404(Job, pk=pk, owner=request.user)


def _error(job: Job) -> str:
    return str(ERRORS.get(job.error, job.error)) if job.status == Job.Status.FAILED else ""


def _state(job: Job) -> dict:
    return {
        "status": job.status,
        "label": job.get_status_display(),
        "done": job.done,
        "total": job.total,
        "percent": job.percent,
        "error": _error(job),
        "download": reverse("jobs:download", args=[job.pk]) if job.status == Job.Status.DONE else "",
        "size": job.size,
    }


def _keep_running(job: Job) -> None:
    # The in-process runner ends when idle and dies with the web process: a page still waiting on a
    # job starts it again (nothing, when jobs run in `manage.py run_jobs`).
    if not job.is_finished:
        runner.wake()


@never_cache
@login_required
def job_list(request):
    jobs = Job.objects.filter(owner=request.user).order_by("-created_at")[:50]
    days = settings.RETENTION_DAYS["jobs"]
    return render(request, "jobs/list.html", {"jobs": jobs, "retention_days": days})


@never_cache
@login_required
def job_detail(request, pk: int):
    job = _own(request, pk)
    _keep_running(job)
    return render(request, "jobs/job.html", {"job": job, "state": _state(job), "error": _error(job)})


@never_cache
@login_required
def job_status(request, pk: int):
    job = _own(request, pk)
    _keep_running(job)
    return JsonResponse(_state(job))


@login_required
def job_download(request, pk: int):
    job = _own(request, pk)
    if job.status != Job.Status.DONE:
        return redirect("jobs:detail", pk=job.pk)
    path = job.path
    if path is None or not path.exists():
        raise Http404(_("This file was deleted after its time."))
    response = FileResponse(
        open(path, "rb"),  # noqa: SIM115 (FileResponse closes it)
        as_attachment=True,
        filename=job.filename,
        content_type=job.content_type or "application/octet-stream",
    )
    response["Cache-Control"] = "private, no-store"
    return response
