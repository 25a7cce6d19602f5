"""The grid worker's roll-call page for a 2,256-resident grid, beside a floor, in-process (DEBUG off).

    make bench ARGS="--only gridpage"

Setup (not measured): one grid of 14 buildings, 668 households and 2,256 residents (盛世佳苑's size in
the demo), an open round with its roll call and a grid worker. Per round, interleaved, medians reported:
- floor: the page's own live poll answered 204 "nothing changed" (the same login, middleware, scope
  check and version queries, no body);
- page: the grid page (buildings and counts, one exemption dialog), and the same with ?state=missing;
- building: the largest building's people, as the page loads them when it is opened;
- exempt: an exemption saved from the page's script and answered with the person's row (set and taken
  back in alternate rounds);
- the grid's check sheet as PDF, beside the same sheet as Excel (the same rows read, no drawing).
Sizes are the bytes sent (the server sends no gzip; gzip_bytes says what a compressing proxy would send).
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridroll.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from gridroll.accounts.models import Grant  # noqa: E402
from gridroll.areas.models import Area, Building, Household, Level  # noqa: E402
from gridroll.residents.models import Resident  # noqa: E402
from gridroll.rollcall.models import Entry  # noqa: E402
from gridroll.rollcall.services import sync_round  # noqa: E402
from gridroll.sampling.models import Round, RoundArea  # noqa: E402

RESIDENTS = 2256
HOUSEHOLDS = 668
BUILDINGS = 14


def setup():
    call_command("migrate", verbosity=0)
    district = Area.objects.create(name="区", level=Level.DISTRICT)
    sub = Area.objects.create(name="街道", level=Level.SUBDISTRICT, parent=district)
    community = Area.objects.create(name="社区", level=Level.COMMUNITY, parent=sub)
    grid = Area.objects.create(name="盛世佳苑", level=Level.GRID, parent=community)
    buildings = [
        Building.objects.create(grid=grid, compound="盛世佳苑", number=str(i + 1)) for i in range(BUILDINGS)
    ]
    households = Household.objects.bulk_create(
        Household(
            building=buildings[i % BUILDINGS], entrance=str(i % 3 + 1), room=f"{i // 42 + 1}0{i % 2 + 1}"
        )
        for i in range(HOUSEHOLDS)
    )
    Resident.objects.bulk_create(
        Resident(
            name=f"居民{i:04d}",
            sex="MF"[i % 2],
            household=households[i % HOUSEHOLDS],
            birth_date=datetime.date(1950 + i % 60, 1 + i % 12, 1 + i % 28),
            phone=f"139{i:08d}",
            relation="户主" if i < HOUSEHOLDS else "子女",
        )
        for i in range(RESIDENTS)
    )
    now = timezone.now()
    round_ = Round.objects.create(
        name="第1轮",
        starts_at=now - datetime.timedelta(hours=1),
        ends_at=now + datetime.timedelta(hours=5),
        status=Round.Status.OPEN,
    )
    RoundArea.objects.create(round=round_, area=district, pool_mode="pool10")
    sync_round(round_)
    from django.contrib.auth.models import User

    user = User.objects.create_user("grid", password="x")
    Grant.objects.create(user=user, area=grid, role="grid_worker")
    return round_, grid, user


def timed(fn):
    t = time.perf_counter()
    response = fn()
    return time.perf_counter() - t, response


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    settings.ALLOWED_HOSTS = ["*"]
    round_, grid, user = setup()
    assert Entry.objects.filter(round=round_, grid=grid).count() == RESIDENTS
    client = Client()
    client.force_login(user)
    page_url = reverse("rollcall:area", args=[round_.pk, grid.pk])
    live_url = reverse("rollcall:live", args=[round_.pk, grid.pk])
    page = client.get(page_url).content.decode()
    sources = re.findall(r'class="people" data-src="([^"]+)"', page)
    assert len(sources) == BUILDINGS
    biggest = max(sources, key=lambda s: len(client.get(s).content))
    entry = Entry.objects.filter(round=round_, grid=grid, state="missing").first()
    exempt_url = reverse("rollcall:exempt", args=[entry.pk])
    client.get(page_url)  # warm
    pdf_url = reverse("rollcall:sheet_pdf", args=[round_.pk, grid.pk])
    xlsx_url = reverse("rollcall:sheet_xlsx", args=[round_.pk, grid.pk])
    client.get(pdf_url)  # the font is loaded once per process
    keys = ("floor", "page", "missing", "building", "exempt", "sheet_xlsx", "sheet_pdf")
    times: dict[str, list[float]] = {k: [] for k in keys}
    sizes: dict[str, int] = {}
    for i in range(args.rounds):
        version = client.get(live_url).content.decode().split('data-version="')[1].split('"')[0]
        t, r = timed(lambda v=version: client.get(live_url, {"since": v}))
        assert r.status_code == 204
        times["floor"].append(t)
        for name, fn in (
            ("page", lambda: client.get(page_url)),
            ("missing", lambda: client.get(page_url, {"state": "missing"})),
            ("building", lambda: client.get(biggest)),
        ):
            t, r = timed(fn)
            assert r.status_code == 200
            times[name].append(t)
            sizes[name] = len(r.content)
            sizes[name + "_gzip"] = len(gzip.compress(r.content))
        data = {"clear": "1"} if i % 2 else {"reason": "hospital", "note": "人民医院"}
        t, r = timed(lambda d=data: client.post(exempt_url, d, headers={"X-Requested-With": "fetch"}))
        assert r.status_code == 200 and f'id="p{entry.pk}"' in r.content.decode()
        times["exempt"].append(t)
        sizes["exempt"] = len(r.content)
        for name, url in (("sheet_xlsx", xlsx_url), ("sheet_pdf", pdf_url)):
            t, r = timed(lambda u=url: client.get(u))
            assert r.status_code == 200
            times[name].append(t)
            sizes[name] = len(r.content)
    floor = statistics.median(times["floor"])
    out = [{"name": "gridpage.floor_s", "value": round(floor, 4), "unit": "s"}]
    for name in ("page", "missing", "building", "exempt"):
        m = statistics.median(times[name])
        out.append({"name": f"gridpage.{name}_s", "value": round(m, 4), "unit": "s"})
        out.append({"name": f"gridpage.{name}_over_floor", "value": round(m / floor, 2), "unit": "x"})
    # The PDF beside the Excel sheet of the same rows (its own floor: the same reading, no drawing).
    xlsx = statistics.median(times["sheet_xlsx"])
    pdf = statistics.median(times["sheet_pdf"])
    out.append({"name": "gridpage.sheet_xlsx_s", "value": round(xlsx, 4), "unit": "s"})
    out.append({"name": "gridpage.sheet_pdf_s", "value": round(pdf, 4), "unit": "s"})
    out.append({"name": "gridpage.sheet_pdf_over_xlsx", "value": round(pdf / xlsx, 2), "unit": "x"})
    for name, n in sizes.items():
        out.append({"name": f"gridpage.{name}_bytes", "value": n, "unit": "B"})
    for row in out:
        print(json.dumps(row))


if __name__ == "__main__":
    main()
