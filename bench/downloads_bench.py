"""Every download, export and print page of the demo, timed in-process as the district admin (issue 18).

Runs on a database where ``load_demo`` was run (not a fresh one: the demo district is the data):

    GRIDROLL_DEMO=1 DEBUG=0 DATABASE_URL=sqlite:///$PWD/var/demo.sqlite3 \
        .venv/bin/python bench/downloads_bench.py [--cap 60] [--only cards]

Each page is requested once with Django's test client (no network, no server), at each level the demo
has (the district, a subdistrict, a community, the seed grid, a building, a household). A request still
running after ``--cap`` seconds is stopped and reported as "> cap". ``issue_codes --pdf`` is timed for
the seed grid. The floor is the home page in the same run. Prints a table and one JSON line per figure.
A page that answers "prepare" (a form that starts a background job) is timed as it answers; the job
itself is timed apart (``jobs`` lines: submit, run by the runner as ``run_jobs`` would, download).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridroll.settings")
os.environ.setdefault("GRIDROLL_DEMO", "1")
# The runner thread is not wanted here: jobs are run in this process, in order, and timed.
os.environ["GRIDROLL_JOBS_IN_PROCESS"] = "0"

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402

from gridroll.areas.models import Area, Building, Household, Level  # noqa: E402
from gridroll.sampling.models import Round  # noqa: E402

settings.ALLOWED_HOSTS = ["*"]


class Capped(Exception):
    pass


def _alarm(signum, frame):
    raise Capped


def timed(
    client: Client, url: str, cap: int, method: str = "get", data=None
) -> tuple[float | None, int, int]:
    """(seconds or None when capped, status, bytes)."""
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(cap)
    started = time.perf_counter()
    try:
        response = getattr(client, method)(url, data or {})
        body = b"".join(response.streaming_content) if response.streaming else response.content
        elapsed = time.perf_counter() - started
    except Capped:
        return None, 0, 0
    finally:
        signal.alarm(0)
    return elapsed, response.status_code, len(body)


def targets() -> list[tuple[str, str, str]]:
    """(name, method, url) for every download/export/print page at every level."""
    district = Area.objects.get(level=Level.DISTRICT, parent__isnull=True)
    grid = Area.objects.get(name="盛世佳苑网格")
    community = grid.parent
    subdistrict = community.parent
    round_ = Round.objects.filter(status__in=["open", "closed"]).order_by("-starts_at").first()
    building = Building.objects.filter(grid=grid).order_by("pk").first()
    household = Household.objects.filter(building=building).order_by("pk").first()
    levels = [("district", district), ("subdistrict", subdistrict), ("community", community), ("grid", grid)]
    out: list[tuple[str, str, str]] = []
    for level, area in levels:
        out.append((f"cards.{level}.html", "get", f"{reverse('codes:cards')}?area={area.pk}"))
        out.append((f"cards.{level}.pdf", "get", f"{reverse('codes:cards')}?area={area.pk}&format=pdf"))
        if round_:
            kw = {"round_pk": round_.pk, "area_pk": area.pk}
            for fmt, name in (
                ("html", "rollcall:sheet"),
                ("pdf", "rollcall:sheet_pdf"),
                ("xlsx", "rollcall:sheet_xlsx"),
            ):
                out.append((f"sheet.{level}.{fmt}", "get", reverse(name, kwargs=kw)))
            out.append((f"report.{level}.xlsx", "get", reverse("command:report_xlsx", kwargs=kw)))
            out.append((f"report.{level}.pdf", "get", reverse("command:report_pdf", kwargs=kw)))
        out.append((f"registry.{level}.xlsx", "get", reverse("areas:area_export", kwargs={"pk": area.pk})))
    out.append(("cards.building.html", "get", f"{reverse('codes:cards')}?building={building.pk}"))
    out.append(("cards.building.pdf", "get", f"{reverse('codes:cards')}?building={building.pk}&format=pdf"))
    out.append(
        ("cards.household.pdf", "get", f"{reverse('codes:cards')}?household={household.pk}&format=pdf")
    )
    if round_:
        kw = {"round_pk": round_.pk, "building_pk": building.pk}
        out.append(("notice.building.pdf", "get", reverse("planning:notice_pdf", kwargs=kw)))
    out.append(("registry.template.xlsx", "get", reverse("residents:template")))
    from gridroll.reconcile.models import Feed

    for feed in Feed.objects.order_by("pk")[:1]:
        out.append(("reconcile.feed.xlsx", "get", reverse("reconcile:export", kwargs={"pk": feed.pk})))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cap", type=int, default=60)
    parser.add_argument(
        "--jobs", action="store_true", help="also time the district's jobs, run as run_jobs would"
    )
    parser.add_argument("--only", action="append", help="a name prefix, e.g. cards or sheet.district")
    parser.add_argument(
        "--command", action="store_true", help="also time issue_codes --pdf for the seed grid"
    )
    args = parser.parse_args()
    client = Client()
    client.force_login(User.objects.get(username="district"))
    floor, _s, _b = timed(client, reverse("core:home"), args.cap)
    rows = [("floor.home", floor, 200, 0)]
    for name, method, url in targets():
        if args.only and not any(name.startswith(p) for p in args.only):
            continue
        seconds, status, size = timed(client, url, args.cap, method)
        rows.append((name, seconds, status, size))
        print(f"{name:<28} {_fmt(seconds, args.cap):>9} {status:>4} {size:>12,} B  {url}", file=sys.stderr)
    if args.command:
        with tempfile.TemporaryDirectory() as tmp:
            signal.signal(signal.SIGALRM, _alarm)
            signal.alarm(args.cap)
            started = time.perf_counter()
            try:
                with open(os.devnull, "w") as quiet:
                    call_command(
                        "issue_codes", area="盛世佳苑网格", pdf=str(Path(tmp) / "cards.pdf"), stdout=quiet
                    )
                seconds: float | None = time.perf_counter() - started
            except Capped:
                seconds = None
            finally:
                signal.alarm(0)
        rows.append(("command.issue_codes_pdf.grid", seconds, 0, 0))
    if args.jobs:
        rows += time_jobs(client)
    for name, seconds, status, size in rows:
        value = round(seconds, 3) if seconds is not None else f">{args.cap}"
        print(
            json.dumps(
                {"name": f"downloads.{name}", "value": value, "unit": "s", "status": status, "bytes": size}
            )
        )


def time_jobs(client: Client) -> list[tuple[str, float | None, int, int]]:
    """Each district-wide file as a job: submitted by the page's POST, run here as ``run_jobs`` would
    (one at a time), downloaded. Times the run; the POST and the download are requests and timed too."""
    from gridroll.jobs import runner
    from gridroll.jobs.models import Job

    district = Area.objects.get(level=Level.DISTRICT, parent__isnull=True)
    round_ = Round.objects.filter(status__in=["open", "closed"]).order_by("-starts_at").first()
    sheet = (
        reverse("rollcall:sheet", kwargs={"round_pk": round_.pk, "area_pk": district.pk}) if round_ else None
    )
    posts = [
        ("cards.district.pdf", f"{reverse('codes:cards')}?area={district.pk}", {"format": "pdf"}),
        (
            "registry.district.xlsx",
            reverse("areas:area_export", kwargs={"pk": district.pk}),
            {"format": "xlsx"},
        ),
    ]
    if sheet:
        posts += [
            ("sheet.district.pdf", sheet, {"format": "pdf"}),
            ("sheet.district.xlsx", sheet, {"format": "xlsx"}),
        ]
    rows: list[tuple[str, float | None, int, int]] = []
    for name, url, data in posts:
        Job.objects.filter(owner__username="district").delete()
        started = time.perf_counter()
        response = client.post(url, data)
        rows.append((f"job.{name}.submit", time.perf_counter() - started, response.status_code, 0))
        started = time.perf_counter()
        job = runner.run_next()
        rows.append((f"job.{name}.run", time.perf_counter() - started, 0, job.size if job else 0))
        if job is not None:
            seconds, status, size = timed(client, reverse("jobs:download", args=[job.pk]), 60)
            rows.append((f"job.{name}.download", seconds, status, size))
            print(
                f"job {name}: {job.status} {job.done}/{job.total} {job.size:,} B {job.error}", file=sys.stderr
            )
    return rows


def _fmt(seconds: float | None, cap: int) -> str:
    return f"> {cap} s" if seconds is None else f"{seconds:.2f} s"


if __name__ == "__main__":
    main()
