"""Running jobs: claim a queued row, make its file, say how far it got, finish or fail it.

Two ways to run, both through ``run_next``:

- in the web process (``settings.JOBS_IN_PROCESS``, on in the demo): a daemon thread started when a job
  is submitted or a job's page is polled; it runs queued jobs one at a time and ends after a minute with
  nothing to do. ``make demo`` needs nothing else.
- ``manage.py run_jobs`` (production, docs/deployment.md): a process of its own that loops.

Claiming is one conditional UPDATE (status, claimant and attempts as read): of several runners in several
processes, exactly one wins a row, on PostgreSQL and SQLite alike, with no lock held while the file is
made. A running job's claim is renewed with each progress report; a claim older than
``JOBS_STALE_SECONDS`` belongs to a runner that died, and the job is claimed again, or failed once it
has been tried ``JOBS_MAX_ATTEMPTS`` times. A runner that finds its claim taken stops and throws its
file away.
"""

from __future__ import annotations

import datetime
import logging
import os
import secrets
import socket
import threading
import time
from pathlib import Path

from django.conf import settings
from django.db import connections
from django.db.models import F, Q
from django.utils import timezone, translation

from gridroll.core.errors import DomainError
from gridroll.jobs import kinds
from gridroll.jobs.models import Job, jobs_dir

log = logging.getLogger(__name__)

# Error codes the job page shows in the reader's language (views.ERRORS); other errors show as written.
RUNNER_STOPPED = "runner_stopped"
PROGRESS_EVERY = 0.5  # seconds between progress writes


class JobLost(Exception):
    """Another runner holds the job now (this one was taken for dead)."""


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"[:100]


def _stale_before() -> datetime.datetime:
    return timezone.now() - datetime.timedelta(seconds=settings.JOBS_STALE_SECONDS)


def fail_abandoned() -> int:
    """Fail the running jobs whose runner died and that were tried as often as allowed."""
    return Job.objects.filter(
        status=Job.Status.RUNNING,
        heartbeat_at__lt=_stale_before(),
        attempts__gte=settings.JOBS_MAX_ATTEMPTS,
    ).update(status=Job.Status.FAILED, error=RUNNER_STOPPED, finished_at=timezone.now(), claimed_by="")


def claim(worker: str) -> Job | None:
    """The oldest job to run (queued, or running under a dead runner's claim), claimed for ``worker``."""
    fail_abandoned()
    candidates = Job.objects.filter(
        Q(status=Job.Status.QUEUED) | Q(status=Job.Status.RUNNING, heartbeat_at__lt=_stale_before())
    ).order_by("created_at", "pk")
    for job in candidates[:10]:
        now = timezone.now()
        won = Job.objects.filter(
            pk=job.pk, status=job.status, claimed_by=job.claimed_by, attempts=job.attempts
        ).update(
            status=Job.Status.RUNNING,
            claimed_by=worker,
            heartbeat_at=now,
            started_at=now,
            attempts=F("attempts") + 1,
            done=0,
            error="",
        )
        if won:
            return Job.objects.get(pk=job.pk)
    return None


class Progress:
    """``progress(done, total)``: written at most every PROGRESS_EVERY seconds; renews the claim."""

    def __init__(self, job: Job, worker: str) -> None:
        self.job, self.worker, self.last = job, worker, 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.last < PROGRESS_EVERY and done < total:
            return
        self.last = now
        held = Job.objects.filter(pk=self.job.pk, claimed_by=self.worker, status=Job.Status.RUNNING).update(
            done=done, total=total, heartbeat_at=timezone.now()
        )
        if not held:
            raise JobLost(self.job.pk)


def _heartbeat(pk: int, worker: str, done: threading.Event) -> None:
    """Renew the claim while the job runs, whether or not it reports progress: only a runner that is
    gone stops renewing it (a long first query or a slow page is no reason to take the job away)."""
    interval = max(1.0, settings.JOBS_STALE_SECONDS / 4)
    try:
        while not done.wait(interval):
            Job.objects.filter(pk=pk, claimed_by=worker, status=Job.Status.RUNNING).update(
                heartbeat_at=timezone.now()
            )
    except Exception:
        log.exception("job %s: the heartbeat failed; progress reports still renew the claim", pk)
    finally:
        connections.close_all()


def run(job: Job, worker: str) -> Job:
    """Make ``job``'s file (claimed by ``worker``) and record the outcome."""
    done = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(job.pk, worker, done), daemon=True)
    beat.start()
    try:
        return _run(job, worker)
    finally:
        done.set()
        beat.join()


def _run(job: Job, worker: str) -> Job:
    directory = jobs_dir()
    directory.mkdir(parents=True, exist_ok=True)
    suffix = "".join(c for c in Path(job.filename).suffix if c.isalnum() or c == ".")[:10]
    name = f"{job.pk}-{secrets.token_hex(8)}{suffix}"
    part = directory / f"{name}.part"
    mine = Job.objects.filter(pk=job.pk, claimed_by=worker, status=Job.Status.RUNNING)
    try:
        make = kinds.resolve(job.kind)
        with translation.override(job.params.get("lang") or settings.LANGUAGE_CODE), open(part, "wb") as out:
            make(job, out, Progress(job, worker))
    except JobLost:
        part.unlink(missing_ok=True)
        log.warning("job %s was taken over by another runner; %s stops", job.pk, worker)
        return Job.objects.get(pk=job.pk)
    except Exception as exc:
        part.unlink(missing_ok=True)
        if isinstance(exc, DomainError | RuntimeError):
            error = str(exc)
        else:
            log.exception("job %s (%s) failed", job.pk, job.kind)
            error = f"{type(exc).__name__}: {exc}"
        mine.update(status=Job.Status.FAILED, error=error[:2000], finished_at=timezone.now(), claimed_by="")
        return Job.objects.get(pk=job.pk)
    final = directory / name
    part.replace(final)
    if not mine.update(
        status=Job.Status.DONE,
        result_file=name,
        size=final.stat().st_size,
        done=F("total"),
        finished_at=timezone.now(),
        claimed_by="",
    ):
        final.unlink(missing_ok=True)  # taken over meanwhile: the other runner's file counts
    return Job.objects.get(pk=job.pk)


def run_next(worker: str | None = None) -> Job | None:
    """Claim and run one job; None when there is nothing to do."""
    worker = worker or worker_name()
    job = claim(worker)
    if job is None:
        return None
    log.info("job %s (%s) claimed by %s", job.pk, job.kind, worker)
    return run(job, worker)


def run_pending(limit: int | None = None) -> int:
    """Run queued jobs until none is left (or ``limit`` ran); the number run."""
    n = 0
    while (limit is None or n < limit) and run_next() is not None:
        n += 1
    return n


# --------------------------------------------------------------------- the thread in the web process

_lock = threading.Lock()
_wake = threading.Event()
_stop = threading.Event()
_thread: threading.Thread | None = None
IDLE_SECONDS = 60


def wake() -> None:
    """Start the in-process runner (when enabled), or wake it if it is waiting."""
    global _thread
    if not settings.JOBS_IN_PROCESS:
        return
    with _lock:
        _wake.set()
        if _thread is None or not _thread.is_alive():
            _stop.clear()
            _thread = threading.Thread(target=_loop, name="gridroll-jobs", daemon=True)
            _thread.start()


def stop(timeout: float = 30) -> None:
    """End the in-process runner after its current job (tests; a server simply exits)."""
    with _lock:
        thread = _thread
    if thread is not None:
        _stop.set()
        _wake.set()
        thread.join(timeout)


def _loop() -> None:
    idle_since = time.monotonic()
    worker = worker_name()
    try:
        while time.monotonic() - idle_since < IDLE_SECONDS and not _stop.is_set():
            _wake.clear()
            try:
                ran = run_next(worker)
            except Exception:
                log.exception("the job runner thread failed a round; it goes on")
                ran = None
            if ran is not None:
                idle_since = time.monotonic()
            elif not _stop.is_set():
                _wake.wait(2)
    finally:
        connections.close_all()
