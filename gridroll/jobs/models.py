"""Background jobs: a file too big to make within one request (issue 18: no request over 10 s).

A job is a row: what to make (``kind`` and its ``params``), for whom (``owner``, and the area it covers),
how far it got (``done`` of ``total``) and where the result is (a file under ``VAR_DIR/jobs``). A runner
(a thread in the web process, or ``manage.py run_jobs``) claims queued rows one at a time; see
``gridroll/jobs/runner.py``.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


def jobs_dir() -> Path:
    """Where results are written: under the project's var directory, never under a served path."""
    return Path(settings.JOBS_DIR)


class Job(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting")
        RUNNING = "running", _("Being prepared")
        DONE = "done", _("Ready")
        FAILED = "failed", _("Failed")

    kind = models.CharField(max_length=40)
    params = models.JSONField(default=dict)
    title = models.CharField(max_length=200)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="jobs")
    # The area the file covers (its scope), kept as a path as the audit keeps it.
    area_path = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    # The result: a file name under jobs_dir(), the name the browser saves it as, and its type.
    result_file = models.CharField(max_length=200, blank=True)
    filename = models.CharField(max_length=200, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    error = models.TextField(blank=True)
    # Claiming: the runner that holds the job, and when it last said it is alive. A claim older than
    # settings.JOBS_STALE_SECONDS is a crashed runner's: the job is taken again, or failed after
    # settings.JOBS_MAX_ATTEMPTS tries.
    claimed_by = models.CharField(max_length=100, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "created_at"], name="job_status_created"),
            models.Index(fields=["owner", "-created_at"], name="job_owner_created"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return int(100 * self.done / self.total) if self.total else 0

    @property
    def path(self) -> Path | None:
        return jobs_dir() / self.result_file if self.result_file else None

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)
