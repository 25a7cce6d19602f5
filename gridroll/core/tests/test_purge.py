"""Retention: data past its time is gone after ``purge``, data within it is kept, the audit says so."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from gridroll.audit.models import AuditRecord
from gridroll.conftest import new_id
from gridroll.labs.models import RetestTask
from gridroll.operations.retention import ANONYMISED_NAME, purge
from gridroll.reconcile.models import Feed, FeedLine
from gridroll.residents.models import ImportBatch, ImportReject, Resident
from gridroll.rollcall.models import Entry, Tally
from gridroll.rollcall.tests.helpers import fill
from gridroll.sampling.models import Round, Sample, ScanAction, ScanMinute
from gridroll.sampling.services import check_scan_minutes

pytestmark = pytest.mark.django_db

LONG_AGO = timezone.now() - datetime.timedelta(days=4000)
RECENTLY = timezone.now() - datetime.timedelta(days=1)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def history(roll, people, act, tree, site, resident_a):
    """An old round (closed, long over) with samples and a retest task, and everything else twice: once
    past its time and once within it."""
    admin = User.objects.create_superuser("root", password="x")
    fill(admin, act, "TUBE000001", people[:5])
    RetestTask.objects.create(
        round=roll, resident=people[0], tube=Sample.objects.first().tube, kind="retest", created_at=LONG_AGO
    )
    Round.objects.filter(pk=roll.pk).update(status=Round.Status.CLOSED, ends_at=LONG_AGO)
    ScanAction.objects.filter(pk__in=ScanAction.objects.order_by("pk").values("pk")[:3]).update(
        received_at=LONG_AGO
    )
    check_scan_minutes(roll, repair=True)  # as if they had come then: the minutes per site follow them
    # Visitors: one registered long ago who was sampled (anonymised), one never sampled (deleted), one new.
    old_visitor = Resident.objects.create(
        name="过客甲", registered_site=site, document_number=new_id(seq=801)
    )
    gone_visitor = Resident.objects.create(
        name="过客乙", registered_site=site, document_number=new_id(seq=802)
    )
    new_visitor = Resident.objects.create(
        name="过客丙", registered_site=site, document_number=new_id(seq=803)
    )
    Sample.objects.filter(resident=people[1]).update(resident=old_visitor)
    Resident.objects.filter(pk__in=[old_visitor.pk, gone_visitor.pk]).update(created_at=LONG_AGO)
    # Pending self-registrations: one never confirmed for long, one new; a confirmed old resident stays.
    old_pending = Resident.objects.create(
        name="待确认", household=tree["household_a"], is_pending=True, document_number=new_id(seq=804)
    )
    new_pending = Resident.objects.create(
        name="新登记", household=tree["household_a"], is_pending=True, document_number=new_id(seq=805)
    )
    Resident.objects.filter(pk__in=[old_pending.pk, resident_a.pk]).update(created_at=LONG_AGO)
    # Uploads: an old preview never applied (file and rejects), a new one.
    batches = []
    for when in (LONG_AGO, RECENTLY):
        batch = ImportBatch.objects.create(filename="t.csv")
        batch.file.save("t.csv", ContentFile(b"name\n"), save=True)
        ImportReject.objects.create(batch=batch, row_number=2, code="x", message="x", data={"name": "某"})
        ImportBatch.objects.filter(pk=batch.pk).update(created_at=when)
        batches.append(batch)
    # Feeds.
    feeds = []
    for when in (LONG_AGO, RECENTLY):
        feed = Feed.objects.create(
            name="名单", filename="f.xlsx", area=tree["community"], columns=[], mapping={}
        )
        FeedLine.objects.create(feed=feed, line=1, row_number=2, cells=[], name="某人")
        Feed.objects.filter(pk=feed.pk).update(created_at=when)
        feeds.append(feed)
    # Audit.
    AuditRecord.objects.create(action="old.thing", target_type="x")
    AuditRecord.objects.create(action="new.thing", target_type="x")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditrecord SET at = %s WHERE action = 'old.thing'", [LONG_AGO])
    return {
        "round": roll,
        "people": people,
        "visitors": (old_visitor, gone_visitor, new_visitor),
        "pending": (old_pending, new_pending),
        "resident_a": resident_a,
        "batches": batches,
        "feeds": feeds,
    }


def test_a_dry_run_reports_and_changes_nothing(history):
    before = (
        Sample.objects.count(),
        ScanAction.objects.count(),
        Resident.objects.count(),
        AuditRecord.objects.count(),
    )
    reports = {r.kind: r for r in purge(dry_run=True)}
    assert reports["scan_logs"].deleted == 3
    assert reports["samples"].detail == {"rounds": 1, "retest_tasks": 1, "rollcall_entries": 13, "samples": 5}
    # The sampled visitor's samples go with the old round: nothing kept points at them any more.
    assert (reports["visitors"].deleted, reports["visitors"].anonymised) == (2, 0)
    assert (reports["pending"].deleted, reports["pending"].anonymised) == (1, 0)
    assert reports["uploaded_files"].files == 1 and reports["feeds"].detail["feeds"] == 1
    assert reports["audit"].deleted == 1
    after = (
        Sample.objects.count(),
        ScanAction.objects.count(),
        Resident.objects.count(),
        AuditRecord.objects.count(),
    )
    assert before == after


def test_purge_removes_what_is_past_its_time_and_keeps_the_rest(history):
    h = history
    tallies = Tally.objects.filter(round=h["round"]).count()
    purge()
    # Samples, roll-call entries and tasks of the old round: gone; its per-grid counts stay.
    assert not Sample.objects.exists() and not Entry.objects.exists() and not RetestTask.objects.exists()
    assert Tally.objects.filter(round=h["round"]).count() == tallies
    assert (
        ScanAction.objects.filter(received_at__lt=timezone.now() - datetime.timedelta(days=30)).count() == 0
    )
    assert ScanAction.objects.exists()  # the recent ones
    # The scans per site and minute kept for the command view go with the actions they count.
    assert ScanMinute.objects.exists() and not ScanMinute.objects.filter(minute__lt=RECENTLY).exists()
    assert check_scan_minutes(h["round"]) == []
    old_visitor, gone_visitor, new_visitor = h["visitors"]
    assert not Resident.objects.filter(pk__in=[old_visitor.pk, gone_visitor.pk]).exists()
    assert Resident.objects.filter(pk=new_visitor.pk, name="过客丙").exists()
    old_pending, new_pending = h["pending"]
    assert not Resident.objects.filter(pk=old_pending.pk).exists()
    assert Resident.objects.filter(pk=new_pending.pk).exists()
    assert Resident.objects.filter(pk=h["resident_a"].pk, name="韩馨怡").exists()  # confirmed: kept
    old_batch, new_batch = (ImportBatch.objects.get(pk=b.pk) for b in h["batches"])
    assert not old_batch.file and not old_batch.rejects.exists()
    assert new_batch.file and new_batch.rejects.exists()
    assert list(Feed.objects.values_list("pk", flat=True)) == [h["feeds"][1].pk]
    assert FeedLine.objects.count() == 1
    assert not AuditRecord.objects.filter(action="old.thing").exists()
    assert AuditRecord.objects.filter(action="new.thing").exists()
    record = AuditRecord.objects.get(action="retention.purge")
    assert record.changes["samples"]["deleted"] == 19 and record.changes["audit"]["deleted"] == 1


def test_purging_twice_finds_nothing_more(history):
    purge()
    again = purge(dry_run=True)
    assert sum(r.deleted + r.anonymised for r in again) == 0


def test_the_command_prints_a_report_by_kind(history, capsys):
    call_command("purge", "--dry-run")
    out = capsys.readouterr().out
    for kind in ("scan_logs", "samples", "visitors", "pending", "uploaded_files", "feeds", "audit"):
        assert kind in out
    assert "dry run: nothing changed" in out
    assert Sample.objects.count() == 5


def test_a_visitor_sampled_in_a_round_still_kept_is_anonymised_not_deleted(history, settings):
    settings.RETENTION_DAYS = {**settings.RETENTION_DAYS, "samples": 100_000}
    old_visitor = history["visitors"][0]
    purge()
    old_visitor.refresh_from_db()
    assert (old_visitor.name, old_visitor.document_number, old_visitor.phone) == (ANONYMISED_NAME, "", "")
    assert Sample.objects.filter(resident=old_visitor).exists()  # the tube's membership stays whole
    assert not old_visitor.accesses.exists()
    assert not old_visitor.codes.filter(revoked_at__isnull=True).exists()
