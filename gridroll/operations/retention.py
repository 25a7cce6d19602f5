"""Retention: personal data is kept only as long as its purpose needs (PIPL art. 47), per kind of data.

``settings.RETENTION_DAYS`` gives each kind its time (defaults in docs/deployment.md). ``purge`` finds
what is past its time and deletes or anonymises it, kind by kind, and records in the audit that a purge
happened and how much each kind lost. ``python manage.py purge --dry-run`` shows the same report and
changes nothing.

- scan_logs: every scanner action (ScanAction), deleted once received that long ago;
- samples: who was in which tube, roll-call entries and retest tasks of rounds closed and over that
  long ago, deleted; per-grid counts (tallies) and tubes without people stay;
- visitors: non-residents registered at a site that long ago, deleted, or anonymised when a kept record
  still points at them;
- pending: self-registered residents never confirmed, as visitors;
- uploaded_files: uploaded tables kept for "apply", import rejects, lab result issues: files and rows
  deleted (unresolved conflicts stay);
- feeds: lists sent to check, with their lines and decisions, deleted;
- jobs: files prepared in the background (card sheets, check sheets, registry exports), files and rows
  deleted, and any file left in the jobs directory by a runner that died;
- audit: the audit log, deleted by plain SQL (the application cannot); the purge's own record is new.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

KINDS = ("scan_logs", "samples", "visitors", "pending", "uploaded_files", "feeds", "jobs", "audit")
ANONYMISED_NAME = "（已清除）"


@dataclass
class KindReport:
    kind: str
    cutoff: datetime.datetime
    found: int = 0
    deleted: int = 0
    anonymised: int = 0
    files: int = 0
    detail: dict[str, int] = field(default_factory=dict)


def cutoffs(now: datetime.datetime | None = None) -> dict[str, datetime.datetime]:
    now = now or timezone.now()
    return {kind: now - datetime.timedelta(days=settings.RETENTION_DAYS[kind]) for kind in KINDS}


def purge(dry_run: bool = False, now: datetime.datetime | None = None, user=None) -> list[KindReport]:
    """Delete or anonymise what is past its time; return what was (or, with ``dry_run``, would be) done."""
    limits = cutoffs(now)
    reports = []
    with transaction.atomic():
        for kind in KINDS:
            report = KindReport(kind, limits[kind])
            globals()[f"_{kind}"](report, dry_run)
            reports.append(report)
        if not dry_run:
            from gridroll.audit.services import record_event

            record_event(
                user,
                "retention.purge",
                "retention",
                changes={
                    r.kind: {"cutoff": r.cutoff.isoformat(), "deleted": r.deleted, "anonymised": r.anonymised}
                    for r in reports
                },
                reason="保存期限到期（个人信息保护法第47条）",
            )
    return reports


def _delete(report: KindReport, queryset, dry_run: bool, label: str | None = None) -> int:
    n = queryset.count()
    if label:
        report.detail[label] = n
    if not dry_run and n:
        queryset._raw_delete(queryset.db)
    return n


def _scan_logs(report: KindReport, dry_run: bool) -> None:
    from gridroll.sampling.models import ScanAction, ScanMinute, minute_of

    # To the minute, so that the scans per site and minute kept for the command view (no personal data)
    # go with the actions they count and check_rollcall still finds them equal.
    cutoff = minute_of(report.cutoff)
    report.found = report.deleted = _delete(
        report, ScanAction.objects.filter(received_at__lt=cutoff), dry_run
    )
    _delete(report, ScanMinute.objects.filter(minute__lt=cutoff), dry_run, "minutes per site")


def _purged_rounds() -> list[int]:
    """Rounds whose samples, roll call and tasks are past their time: closed, and over that long ago."""
    from gridroll.sampling.models import Round

    closed = Round.objects.filter(status=Round.Status.CLOSED, ends_at__lt=cutoffs()["samples"])
    return list(closed.values_list("pk", flat=True))


def _samples(report: KindReport, dry_run: bool) -> None:
    from gridroll.labs.models import RetestTask
    from gridroll.rollcall.models import Entry
    from gridroll.sampling.models import Sample

    rounds = _purged_rounds()
    report.detail["rounds"] = len(rounds)
    if not rounds:
        return
    n = 0
    n += _delete(report, RetestTask.objects.filter(round_id__in=rounds), dry_run, "retest_tasks")
    n += _delete(report, Entry.objects.filter(round_id__in=rounds), dry_run, "rollcall_entries")
    n += _delete(report, Sample.objects.filter(round_id__in=rounds), dry_run, "samples")
    report.found = report.deleted = n


def _forget_people(report: KindReport, people, dry_run: bool) -> None:
    """Delete people nothing kept points at; anonymise the others (a sample of a round still kept)."""
    from gridroll.codes.models import PersonalCode, ResidentAccess
    from gridroll.residents.models import Resident
    from gridroll.sampling.models import Sample

    ids = list(people.values_list("pk", flat=True))
    report.found = len(ids)
    if not ids:
        return
    # Samples of rounds this purge removes do not count (the same answer in a dry run as in a real one).
    kept_samples = Sample.objects.filter(resident_id__in=ids).exclude(round_id__in=_purged_rounds())
    referenced = set(kept_samples.values_list("resident_id", flat=True).distinct())
    free = [i for i in ids if i not in referenced]
    report.deleted, report.anonymised = len(free), len(referenced)
    if dry_run:
        return
    kept = list(referenced)
    ResidentAccess.objects.filter(resident_id__in=ids).delete()
    PersonalCode.objects.filter(resident_id__in=kept, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    Resident.objects.filter(pk__in=kept).update(
        name=ANONYMISED_NAME,
        document_number="",
        document_type="none",
        phone="",
        birth_date=None,
        note="",
        is_pending=False,
    )
    for start in range(0, len(free), 1000):
        Resident.objects.filter(pk__in=free[start : start + 1000]).delete()


def _visitors(report: KindReport, dry_run: bool) -> None:
    from gridroll.residents.models import Resident

    people = Resident.objects.filter(household__isnull=True, created_at__lt=report.cutoff).exclude(
        name=ANONYMISED_NAME
    )
    _forget_people(report, people, dry_run)


def _pending(report: KindReport, dry_run: bool) -> None:
    from gridroll.residents.models import Resident

    people = Resident.objects.filter(
        household__isnull=False, is_pending=True, created_at__lt=report.cutoff
    ).exclude(name=ANONYMISED_NAME)
    _forget_people(report, people, dry_run)


def _uploaded_files(report: KindReport, dry_run: bool) -> None:
    from gridroll.labs.models import ResultIssue, ResultUpload
    from gridroll.residents.models import ImportBatch, ImportReject

    for model, label in ((ImportBatch, "import_files"), (ResultUpload, "result_files")):
        with_files = model.objects.filter(created_at__lt=report.cutoff).exclude(file="")
        report.detail[label] = with_files.count()
        report.files += report.detail[label]
        if not dry_run:
            for upload in with_files.iterator():
                upload.file.delete(save=False)
            with_files.update(file="")
    n = _delete(
        report, ImportReject.objects.filter(batch__created_at__lt=report.cutoff), dry_run, "import_rejects"
    )
    issues = ResultIssue.objects.filter(upload__created_at__lt=report.cutoff).exclude(
        Q(code="conflict") & Q(resolution="")
    )
    n += _delete(report, issues, dry_run, "result_issues")
    report.found = report.deleted = n + report.files


def _feeds(report: KindReport, dry_run: bool) -> None:
    from gridroll.reconcile.models import Feed, FeedLine

    feeds = Feed.objects.filter(created_at__lt=report.cutoff)
    report.detail["feeds"] = feeds.count()
    lines = _delete(report, FeedLine.objects.filter(feed__in=feeds), dry_run, "lines")
    if not dry_run:
        # Lines first (they point at each other as duplicates), then the feeds.
        feeds._raw_delete(feeds.db)
    report.found = report.deleted = lines + report.detail["feeds"]


def _jobs(report: KindReport, dry_run: bool) -> None:
    from gridroll.jobs.models import Job, jobs_dir

    old = Job.objects.filter(created_at__lt=report.cutoff)
    old_files = set(old.exclude(result_file="").values_list("result_file", flat=True))
    kept = set(Job.objects.exclude(result_file="").values_list("result_file", flat=True)) - old_files
    directory = jobs_dir()
    if directory.exists():
        for path in directory.iterdir():
            # An old job's file, or one no job points at (a runner died mid-file) once as old.
            orphan = path.name not in kept and path.stat().st_mtime < report.cutoff.timestamp()
            if path.name in old_files or orphan:
                report.files += 1
                if not dry_run:
                    path.unlink(missing_ok=True)
    rows = _delete(report, old, dry_run, "jobs")
    report.detail["job_files"] = report.files
    report.found = report.deleted = rows + report.files


def _audit(report: KindReport, dry_run: bool) -> None:
    from gridroll.audit.models import AuditRecord

    old = AuditRecord.objects.filter(at__lt=report.cutoff)
    n = old.count()
    if not dry_run and n:
        # Append-only for the application; only retention removes records, by plain SQL.
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {AuditRecord._meta.db_table} WHERE at < %s", [report.cutoff])
    report.found = report.deleted = n
