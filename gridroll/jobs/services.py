"""Submitting a job: the only write a user makes here (the runner's own writes are in runner.py)."""

from __future__ import annotations

from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from gridroll.audit.services import record
from gridroll.core.errors import DomainError
from gridroll.jobs import kinds
from gridroll.jobs.models import Job


class JobError(DomainError):
    MESSAGES = {
        "unknown_kind": _("This kind of file cannot be prepared."),
    }


def submit(
    user, kind: str, params: dict, *, title: str, filename: str, content_type: str, area_path: str = ""
) -> Job:
    """Queue ``kind`` for ``user`` (audited), or return the same job already queued or running for them.

    ``params`` must name everything the job needs (ids, not objects); the job runs with the owner's
    rights at the time it runs. The file is made in the language the owner reads now."""
    if kind not in kinds.KINDS:
        raise JobError("unknown_kind")
    params = {**params, "lang": translation.get_language() or ""}
    with transaction.atomic():
        same = (
            Job.objects.filter(
                owner=user, kind=kind, params=params, status__in=[Job.Status.QUEUED, Job.Status.RUNNING]
            )
            .order_by("-pk")
            .first()
        )
        if same is not None:
            return same
        job = Job.objects.create(
            owner=user,
            kind=kind,
            params=params,
            title=title[:200],
            filename=filename[:200],
            content_type=content_type,
            area_path=area_path,
        )
        record(
            user,
            "job.submit",
            job,
            changes={"kind": kind, "params": params},
            reason=title,
            area_path=area_path,
        )
    from gridroll.jobs.runner import wake

    transaction.on_commit(wake)
    return job
