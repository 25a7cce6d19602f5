"""Shared fixtures. The personas of STYLE.md: a grid-A grid worker, a grid-A sampler, a subdistrict admin
and a grid-B outsider, on a small tree: 测试区 → 测试街道 → 测试社区 → 第一网格 (A) / 第二网格 (B)."""

from __future__ import annotations

import datetime
import io
import itertools

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from gridroll.accounts.models import Grant
from gridroll.areas.models import Area, Building, Household, Level
from gridroll.lib import idnumber
from gridroll.residents.models import Resident
from gridroll.sampling.models import Round, RoundArea, Site, Station

# Property tests check what is true, not how fast: hypothesis's default 200 ms deadline per example is a
# timing assert, and on a loaded 2-core CI machine it failed examples that pass (speed lives in bench/).
hypothesis_settings.register_profile("gridroll", deadline=None, suppress_health_check=[HealthCheck.too_slow])
hypothesis_settings.load_profile("gridroll")


@pytest.fixture(autouse=True)
def sms_outbox(settings):
    """Text messages go to ``gridroll.core.sms.outbox`` in tests (never the console backend)."""
    from gridroll.core import sms

    settings.SMS_BACKEND = "gridroll.core.sms.LocmemBackend"
    sms.outbox.clear()
    return sms.outbox


@pytest.fixture(autouse=True)
def jobs_in_tests(settings, tmp_path):
    """Background jobs run when a test says so (``runner.run_pending()``), never on a thread of their
    own, and write their files under the test's own directory."""
    settings.JOBS_IN_PROCESS = False
    settings.JOBS_DIR = tmp_path / "jobs"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Tests make many users: a deliberately slow hasher (PBKDF2, ~0.3 s a password) would be most of
    their time. Production keeps Django's default."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def tree(db):
    district = Area.objects.create(name="测试区", level=Level.DISTRICT)
    sub = Area.objects.create(name="测试街道", level=Level.SUBDISTRICT, parent=district)
    community = Area.objects.create(name="测试社区", level=Level.COMMUNITY, parent=sub)
    grid_a = Area.objects.create(name="第一网格", level=Level.GRID, parent=community)
    grid_b = Area.objects.create(name="第二网格", level=Level.GRID, parent=community)
    building_a = Building.objects.create(grid=grid_a, compound="盛世佳苑", number="3")
    building_b = Building.objects.create(grid=grid_b, compound="龙湾小区", number="7")
    return {
        "district": district,
        "sub": sub,
        "community": community,
        "grid_a": grid_a,
        "grid_b": grid_b,
        "building_a": building_a,
        "building_b": building_b,
        "household_a": Household.objects.create(building=building_a, entrance="2", room="501"),
        "household_b": Household.objects.create(building=building_b, entrance="1", room="101"),
    }


def make_user(username: str, role: str | None, area: Area | None) -> User:
    user = User.objects.create_user(username, password="pw-" + username)
    if role:
        Grant.objects.create(user=user, area=area, role=role)
    return user


@pytest.fixture
def grid_worker(tree):
    return make_user("gridworker_a", "grid_worker", tree["grid_a"])


@pytest.fixture
def sampler(tree):
    return make_user("sampler_a", "sampler", tree["grid_a"])


@pytest.fixture
def sub_admin(tree):
    return make_user("sub_admin", "subdistrict_admin", tree["sub"])


@pytest.fixture
def outsider(tree):
    return make_user("outsider_b", "grid_worker", tree["grid_b"])


def new_id(birth=datetime.date(1980, 5, 17), sex="M", seq=1, region="371502") -> str:
    return idnumber.make(region, birth, seq, sex)


@pytest.fixture
def resident_a(tree):
    return Resident.objects.create(
        name="韩馨怡",
        sex="F",
        document_number=new_id(datetime.date(1990, 3, 2), "F", 7),
        birth_date=datetime.date(1990, 3, 2),
        phone="13812345678",
        household=tree["household_a"],
        relation="户主",
    )


@pytest.fixture
def resident_b(tree):
    return Resident.objects.create(
        name="徐志强",
        sex="M",
        document_number=new_id(datetime.date(1975, 8, 9), "M", 3),
        birth_date=datetime.date(1975, 8, 9),
        phone="13900001111",
        household=tree["household_b"],
        relation="户主",
    )


def xlsx_bytes(rows: list[list]) -> bytes:
    """A real .xlsx in memory; numbers stay numbers, as Excel would store them."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(rows: list[list], encoding: str = "utf-8-sig") -> bytes:
    import csv

    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode(encoding)


@pytest.fixture
def login(client):
    def _login(user):
        client.force_login(user)
        return client

    return _login


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def browser():
    """Debian's Chromium driven by playwright. Skips with instructions when either is missing, unless
    GRIDROLL_REQUIRE_BROWSER=1 (CI), where a missing browser is a failure."""
    yield from _browser([])


@pytest.fixture
def browser_factory():
    """Launch Chromium with extra flags (a fake camera): ``browser_factory(["--use-file-..."])``."""
    launched = []

    def launch(extra_args):
        gen = _browser(extra_args)
        instance = next(gen)
        launched.append(gen)
        return instance

    yield launch
    for gen in launched:
        next(gen, None)


def _browser(extra_args):
    import os
    import shutil

    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if sync_playwright is None or not shutil.which(CHROMIUM):
        message = (
            "browser tests need Debian chromium and playwright: apt-get install chromium && "
            ".venv/bin/pip install -e '.[browser]' (never 'playwright install')"
        )
        if os.environ.get("GRIDROLL_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    # playwright runs an event loop in this thread; the test's own ORM calls are still synchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + list(extra_args))
        # Playwright's wait_for_function(string) evaluates the string in the page, which our
        # Content-Security-Policy (no eval) refuses: tests' own probes bypass it by default. The pages
        # themselves are checked against the policy in core/tests/test_csp_browser.py.
        new_context, new_page = instance.new_context, instance.new_page
        instance.new_context = lambda *a, **kw: new_context(*a, **{"bypass_csp": True, **kw})
        instance.new_page = lambda *a, **kw: new_page(*a, **{"bypass_csp": True, **kw})
        try:
            yield instance
        finally:
            instance.close()
            # ORM calls made while playwright's loop runs get their own connection (Django's connection
            # local follows the async context); close it here or PostgreSQL cannot drop the test database.
            from django.db import connections

            connections.close_all()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty per-process cache (the scan context is cached for seconds)."""
    from django.core.cache import cache

    from gridroll.sampling.services import clear_context

    cache.clear()
    clear_context()
    yield


# ------------------------------------------------------------------- a round, a site, people with codes
# (shared by sampling, labs and roll-call tests)

_nonce = itertools.count(1)


@pytest.fixture
def round_(tree):
    now = timezone.now()
    r = Round.objects.create(
        name="第3轮",
        starts_at=now - datetime.timedelta(hours=1),
        ends_at=now + datetime.timedelta(hours=5),
        status=Round.Status.OPEN,
    )
    RoundArea.objects.create(round=r, area=tree["district"], pool_mode="pool10")
    return r


@pytest.fixture
def site(tree):
    s = Site.objects.create(area=tree["grid_a"], name="北门采样点")
    Station.objects.create(site=s, name="1号台")
    return s


@pytest.fixture
def people(tree):
    """Twelve residents of grid A in six households, each with a code."""
    out = []
    for i in range(12):
        household, _ = Household.objects.get_or_create(
            building=tree["building_a"], entrance="1", room=f"{i // 2 + 1}01"
        )
        resident = Resident.objects.create(
            name=f"居民{i:02d}号",
            sex="M",
            household=household,
            document_number=new_id(datetime.date(1970 + i, 1, 1), "M", i),
            birth_date=datetime.date(1970 + i, 1, 1),
        )
        from gridroll.codes.services import issue_code

        issue_code(resident)
        out.append(resident)
    return out


def scan_action(round_, site, kind: str, tube: str = "TUBE000001", device: str = "phone-1", **extra) -> dict:
    """An action as a scanner would send it, at the site's first station."""
    return {
        "nonce": f"n-{next(_nonce)}",
        "device_id": device,
        "device_time": timezone.now().isoformat(),
        "kind": kind,
        "round_id": round_.pk,
        "site_id": site.pk,
        "station_id": site.stations.first().pk,
        "tube": tube,
        **extra,
    }


@pytest.fixture
def act(round_, site):
    """Build an action as a scanner would send it."""

    def _act(kind, tube="TUBE000001", **extra):
        return scan_action(round_, site, kind, tube, **extra)

    return _act


@pytest.fixture
def roll(round_, people):
    """The round's roll call, put together after the people exist."""
    from gridroll.rollcall.services import sync_round

    sync_round(round_)
    return round_
