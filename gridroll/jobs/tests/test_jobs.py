"""Background jobs (issue 18): submit (audited), claim once, progress, the owner's download only, a failure
that says why, a dead runner's job taken again or failed, files purged with the rest."""

from __future__ import annotations

import datetime
import io
import re
import threading
import time

import pytest
from django.core.management import call_command
from django.db import OperationalError, connection
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from gridroll.audit.models import AuditRecord
from gridroll.conftest import make_user
from gridroll.jobs import kinds, runner
from gridroll.jobs.models import Job
from gridroll.jobs.services import JobError, submit
from gridroll.operations.retention import purge


@pytest.fixture
def fake_kinds(monkeypatch):
    """Kinds for the mechanism's own tests: one that counts to three, one that fails."""

    def counting(job, out, progress):
        for i in range(3):
            progress(i, 3)
            out.write(f"line {i}\n".encode())
        progress(3, 3)

    def failing(job, out, progress):
        progress(1, 10)
        raise ValueError("the disk is full")

    makers = {"test.count": counting, "test.fail": failing}
    monkeypatch.setattr(kinds, "KINDS", {**kinds.KINDS, **{k: k for k in makers}})
    original = kinds.resolve
    monkeypatch.setattr(kinds, "resolve", lambda kind: makers.get(kind) or original(kind))
    return makers


def pdf_pages(pdf: bytes) -> int:
    """Pages of a PDF as ReportLab writes it (page objects are not compressed)."""
    assert pdf.startswith(b"%PDF")
    return len(re.findall(rb"/Type /Page(?!s)", pdf))


def _submit(user, kind="test.count", **params):
    return submit(user, kind, params, title="测试文件", filename="测试.txt", content_type="text/plain")


def test_a_submitted_job_is_audited_run_once_and_downloaded_by_its_owner(
    fake_kinds, sub_admin, outsider, client
):
    job = _submit(sub_admin, n=1)
    assert job.status == Job.Status.QUEUED
    assert AuditRecord.objects.filter(action="job.submit", target_id=job.pk, actor=sub_admin).exists()
    assert runner.run_pending() == 1
    job.refresh_from_db()
    assert (job.status, job.done, job.total, job.error) == (Job.Status.DONE, 3, 3, "")
    assert job.path.read_bytes() == b"line 0\nline 1\nline 2\n"
    assert runner.run_pending() == 0  # nothing runs twice

    client.force_login(sub_admin)
    page = client.get(reverse("jobs:detail", args=[job.pk]))
    assert page.status_code == 200 and reverse("jobs:download", args=[job.pk]) in page.content.decode()
    state = client.get(reverse("jobs:status", args=[job.pk])).json()
    assert state["status"] == "done" and state["percent"] == 100
    got = client.get(reverse("jobs:download", args=[job.pk]))
    assert b"".join(got.streaming_content) == b"line 0\nline 1\nline 2\n"
    assert "attachment" in got["Content-Disposition"]


@pytest.mark.parametrize("name", ["jobs:detail", "jobs:status", "jobs:download"])
def test_another_user_gets_the_same_404_as_for_no_job(fake_kinds, sub_admin, tree, client, name):
    job = _submit(sub_admin)
    runner.run_pending()
    # Another user with the same rights over the same area: still not theirs.
    colleague = make_user("colleague", "subdistrict_admin", tree["sub"])
    for user in (colleague, make_user("far", "grid_worker", tree["grid_b"])):
        client.force_login(user)
        hidden = client.get(reverse(name, args=[job.pk]))
        missing = client.get(reverse(name, args=[job.pk + 1000]))
        assert hidden.status_code == missing.status_code == 404
        assert hidden.content == missing.content


def test_the_same_request_twice_while_queued_is_one_job(fake_kinds, sub_admin):
    first, second = _submit(sub_admin, n=1), _submit(sub_admin, n=1)
    assert first.pk == second.pk
    assert _submit(sub_admin, n=2).pk != first.pk


def test_an_unknown_kind_is_refused(sub_admin):
    with pytest.raises(JobError) as exc:
        submit(sub_admin, "nothing.here", {}, title="x", filename="x", content_type="text/plain")
    assert exc.value.code == "unknown_kind"


def test_a_failing_job_says_why_and_leaves_no_file(fake_kinds, sub_admin, client, settings):
    job = _submit(sub_admin, kind="test.fail")
    runner.run_pending()
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and "the disk is full" in job.error
    assert list(settings.JOBS_DIR.iterdir()) == []
    client.force_login(sub_admin)
    assert "the disk is full" in client.get(reverse("jobs:status", args=[job.pk])).json()["error"]
    # Not ready: the download leads back to the job's page.
    assert client.get(reverse("jobs:download", args=[job.pk])).status_code == 302


def test_only_one_of_two_runners_claims_a_job(fake_kinds, sub_admin):
    job = _submit(sub_admin)
    assert runner.claim("runner-a").pk == job.pk
    assert runner.claim("runner-b") is None


@pytest.mark.django_db(transaction=True)
def test_runners_in_several_threads_claim_each_job_once(fake_kinds, tree):
    owner = make_user("owner", "subdistrict_admin", tree["sub"])
    jobs = [_submit(owner, n=i) for i in range(6)]
    claimed: list[tuple[str, int]] = []
    lock = threading.Lock()

    def work(name: str) -> None:
        try:
            while True:
                try:
                    job = runner.claim(name)
                except OperationalError:  # the in-memory test database locks whole tables: try again
                    time.sleep(0.01)
                    continue
                if job is None:
                    return
                with lock:
                    claimed.append((name, job.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(f"runner-{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(pk for _n, pk in claimed) == sorted(j.pk for j in jobs)


def test_a_dead_runners_job_is_taken_again_then_failed(fake_kinds, sub_admin, settings):
    settings.JOBS_MAX_ATTEMPTS = 2
    job = _submit(sub_admin)
    runner.claim("dead-runner-1")
    assert runner.claim("other") is None  # a live claim is respected
    old = timezone.now() - datetime.timedelta(seconds=settings.JOBS_STALE_SECONDS + 5)
    Job.objects.filter(pk=job.pk).update(heartbeat_at=old)
    again = runner.claim("dead-runner-2")
    assert again.pk == job.pk and again.attempts == 2 and again.claimed_by == "dead-runner-2"
    Job.objects.filter(pk=job.pk).update(heartbeat_at=old)
    assert runner.claim("third") is None
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and job.error == runner.RUNNER_STOPPED


def test_the_stopped_runner_failure_reads_in_the_users_language(fake_kinds, sub_admin, client):
    job = _submit(sub_admin)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.FAILED, error=runner.RUNNER_STOPPED)
    client.force_login(sub_admin)
    page = client.get(reverse("jobs:detail", args=[job.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "runner_stopped" not in page


def test_a_runner_whose_claim_was_taken_throws_its_file_away(fake_kinds, sub_admin, settings):
    job = _submit(sub_admin)
    claimed = runner.claim("slow-runner")
    Job.objects.filter(pk=job.pk).update(claimed_by="another-runner")
    result = runner.run(claimed, "slow-runner")
    assert result.claimed_by == "another-runner" and result.status == Job.Status.RUNNING
    assert list(settings.JOBS_DIR.iterdir()) == []


def test_run_jobs_once_runs_what_is_queued(fake_kinds, sub_admin):
    jobs = [_submit(sub_admin, n=i) for i in range(2)]
    out = io.StringIO()
    call_command("run_jobs", "--once", stdout=out)
    assert all(Job.objects.get(pk=j.pk).status == Job.Status.DONE for j in jobs)
    assert out.getvalue().count(": done") == 2


def test_purge_removes_old_jobs_and_their_files(fake_kinds, sub_admin, settings):
    old, new = _submit(sub_admin, n=1), _submit(sub_admin, n=2)
    runner.run_pending()
    old.refresh_from_db()
    new.refresh_from_db()
    stray = settings.JOBS_DIR / "99-deadbeef.part"
    stray.write_bytes(b"half")
    days = settings.RETENTION_DAYS["jobs"]
    Job.objects.filter(pk=old.pk).update(created_at=timezone.now() - datetime.timedelta(days=days + 1))
    past = (timezone.now() - datetime.timedelta(days=days + 1)).timestamp()
    import os

    os.utime(stray, (past, past))
    report = {r.kind: r for r in purge(dry_run=True)}["jobs"]
    assert report.detail == {"jobs": 1, "job_files": 2}
    assert old.path.exists()  # a dry run changes nothing
    purge()
    assert not Job.objects.filter(pk=old.pk).exists() and not old.path.exists() and not stray.exists()
    assert Job.objects.filter(pk=new.pk).exists() and new.path.exists()


def test_the_list_shows_my_files_only(fake_kinds, sub_admin, tree, client):
    mine = _submit(sub_admin)
    other = make_user("other", "subdistrict_admin", tree["sub"])
    theirs = submit(other, "test.count", {}, title="别人的文件", filename="x.txt", content_type="text/plain")
    client.force_login(sub_admin)
    page = client.get(reverse("jobs:list")).content.decode()
    assert reverse("jobs:detail", args=[mine.pk]) in page
    assert reverse("jobs:detail", args=[theirs.pk]) not in page and "别人的文件" not in page


# ------------------------------------------------------------------ the big downloads, through the jobs


def test_the_registry_export_above_a_grid_is_prepared_then_downloaded(
    sub_admin, resident_a, resident_b, client
):
    from gridroll.areas.models import Area

    community = Area.objects.get(name="测试社区")
    client.force_login(sub_admin)
    url = reverse("areas:area_export", args=[community.pk])
    page = client.get(url)
    assert page.status_code == 200 and '<form method="post"' in page.content.decode()
    response = client.post(url, {"format": "xlsx"})
    job = Job.objects.get(owner=sub_admin, kind="registry.export")
    assert response.url == reverse("jobs:detail", args=[job.pk])
    runner.run_pending()
    job.refresh_from_db()
    assert job.status == Job.Status.DONE and job.total == 2
    got = client.get(reverse("jobs:download", args=[job.pk]))
    rows = list(load_workbook(io.BytesIO(b"".join(got.streaming_content))).active.iter_rows(values_only=True))
    assert {r[8] for r in rows[1:]} == {"韩馨怡", "徐志强"}
    assert AuditRecord.objects.filter(action="registry.export", actor=sub_admin).exists()


def test_a_grids_registry_export_stays_direct(grid_worker, resident_a, tree, client):
    client.force_login(grid_worker)
    grid_worker.grants.update(role="community_staff")
    response = client.get(reverse("areas:area_export", args=[tree["grid_a"].pk]))
    assert response.status_code == 200 and response.streaming
    assert not Job.objects.exists()


def test_a_communitys_check_sheet_is_a_job_in_pdf_or_excel(sub_admin, round_, people, tree, client):
    from gridroll.rollcall.services import sync_round

    sync_round(round_)
    client.force_login(sub_admin)
    url = reverse("rollcall:sheet", args=[round_.pk, tree["community"].pk])
    page = client.get(url).content.decode()
    assert reverse("rollcall:sheet", args=[round_.pk, tree["grid_a"].pk]) in page  # one grid at a time
    # The old direct links lead to the same page, not to a long request.
    assert (
        client.get(reverse("rollcall:sheet_pdf", args=[round_.pk, tree["community"].pk])).status_code == 200
    )
    for fmt in ("pdf", "xlsx"):
        client.post(url, {"format": fmt})
    runner.run_pending()
    jobs = {j.params["format"]: j for j in Job.objects.filter(kind="rollcall.sheet")}
    assert jobs["pdf"].status == Job.Status.DONE and jobs["pdf"].path.read_bytes().startswith(b"%PDF")
    assert jobs["pdf"].done == jobs["pdf"].total == 12
    book = load_workbook(jobs["xlsx"].path)
    assert book.active.max_row == 13  # header and twelve people
    assert client.post(url, {"format": "doc"}).status_code == 302
    assert Job.objects.filter(kind="rollcall.sheet").count() == 2


def test_code_cards_above_a_grid_are_a_job_with_the_right_page_count(sub_admin, people, tree, client):
    client.force_login(sub_admin)
    url = f"{reverse('codes:cards')}?area={tree['community'].pk}"
    page = client.get(url).content.decode()
    assert "<svg" not in page  # no print view of thousands of cards
    response = client.post(url, {"format": "pdf"})
    job = Job.objects.get(kind="codes.cards")
    assert response.url == reverse("jobs:detail", args=[job.pk])
    runner.run_pending()
    job.refresh_from_db()
    assert (job.status, job.done, job.total) == (Job.Status.DONE, 12, 12)
    assert pdf_pages(job.path.read_bytes()) == 2  # ten cards a page


def test_a_grid_with_more_cards_than_a_request_makes_in_time_is_a_job_too(
    grid_worker, people, tree, client, monkeypatch
):
    from gridroll.codes import views as code_views

    client.force_login(grid_worker)
    url = f"{reverse('codes:cards')}?area={tree['grid_a'].pk}"
    assert client.get(url).content.decode().count("<svg") == 12  # small: the print view itself
    monkeypatch.setattr(code_views, "CARDS_DIRECT", 10)
    assert "<svg" not in client.get(url).content.decode()
    client.post(url, {"format": "pdf"})
    runner.run_pending()
    job = Job.objects.get(kind="codes.cards", owner=grid_worker)
    assert job.params["area"] == tree["grid_a"].pk and job.status == Job.Status.DONE
    assert pdf_pages(job.path.read_bytes()) == 2


@pytest.mark.django_db(transaction=True)
def test_a_running_job_keeps_its_claim_without_reporting_progress(fake_kinds, tree, settings, monkeypatch):
    """A job whose first step is long (no progress yet) is not taken for a dead runner's."""
    settings.JOBS_STALE_SECONDS = 4  # renewed every second
    owner = make_user("owner", "subdistrict_admin", tree["sub"])
    seen = {}

    def quiet(job, out, progress):
        time.sleep(2.5)
        seen["heartbeat"] = Job.objects.get(pk=job.pk).heartbeat_at
        out.write(b"x")

    fake_kinds["test.quiet"] = quiet
    monkeypatch.setattr(kinds, "KINDS", {**kinds.KINDS, "test.quiet": "test.quiet"})
    job = submit(owner, "test.quiet", {}, title="慢", filename="x.txt", content_type="text/plain")
    claimed = runner.claim("runner-a")
    started = claimed.heartbeat_at
    assert runner.run(claimed, "runner-a").status == Job.Status.DONE
    assert seen["heartbeat"] > started
    assert Job.objects.get(pk=job.pk).attempts == 1
