"""Logins and registration as an attacker tries them: many wrong passwords from two workers, weak
passwords, sessions that never end, and ID probing through registration from many devices."""

from __future__ import annotations

import datetime
import time

import pytest
from django.contrib.auth.forms import SetPasswordForm
from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import reverse

from gridroll.accounts.middleware import SEEN, STARTED
from gridroll.codes.tests.test_registration import register
from gridroll.conftest import make_user, new_id

PASSWORD = "Correct-Horse-4-Grid"


@pytest.fixture
def staff(tree):
    user = make_user("niushu", "grid_worker", tree["grid_a"])
    user.set_password(PASSWORD)
    user.save()
    return user


def worker(address: str = "10.1.2.3") -> Client:
    """A client as one gunicorn worker sees it: its own process, nothing shared but the database."""
    return Client(REMOTE_ADDR=address)


def post_login(client: Client, username: str, password: str):
    return client.post(reverse("accounts:login"), {"username": username, "password": password})


def test_thirty_wrong_passwords_from_two_workers_lock_the_login(staff):
    from axes.models import AccessAttempt

    first, second = worker(), worker()
    statuses = [post_login((first, second)[i % 2], "niushu", f"guess-{i}").status_code for i in range(30)]
    # The tenth failure, counted across both workers, locks; every later attempt is refused unread.
    assert statuses[:9] == [200] * 9 and set(statuses[9:]) == {429}
    assert AccessAttempt.objects.get(username="niushu").failures_since_start >= 10
    # The right password no longer works from either worker, and the page says what to do.
    for client in (first, second):
        response = post_login(client, "niushu", PASSWORD)
        assert response.status_code == 429 and "_auth_user_id" not in client.session
        assert "管理员" in response.content.decode() or "administrator" in response.content.decode()


def test_a_lockout_is_for_that_login_not_the_sites_wifi(staff, tree):
    colleague = make_user("wangyg", "grid_worker", tree["grid_b"])
    colleague.set_password(PASSWORD)
    colleague.save()
    for i in range(12):
        post_login(worker(), "niushu", f"guess-{i}")
    assert post_login(worker(), "niushu", PASSWORD).status_code == 429
    # Someone else behind the same address still logs in.
    assert post_login(worker(), "wangyg", PASSWORD).status_code == 302


def test_the_lock_lifts_after_the_cooloff(staff):
    from axes.models import AccessAttempt

    for i in range(10):
        post_login(worker(), "niushu", f"guess-{i}")
    assert post_login(worker(), "niushu", PASSWORD).status_code == 429
    AccessAttempt.objects.update(
        attempt_time=datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)
    )
    assert post_login(worker(), "niushu", PASSWORD).status_code == 302


@pytest.mark.parametrize("weak", ["12345678", "password", "1234567890", "niushu2022", "gridroll"])
def test_weak_staff_passwords_are_refused(staff, weak):
    with pytest.raises(ValidationError):
        validate_password(weak, staff)
    form = SetPasswordForm(staff, {"new_password1": weak, "new_password2": weak})
    assert not form.is_valid()


def test_a_good_password_is_accepted(staff):
    validate_password("lantern-harbour-57-copper", staff)


# ------------------------------------------------------------------------------------------ sessions


def _age_session(client: Client, started_ago: int, seen_ago: int) -> None:
    session = client.session
    now = int(time.time())
    session[STARTED], session[SEEN] = now - started_ago, now - seen_ago
    session.save()


def test_a_grid_workers_session_lasts_a_working_day(staff):
    client = Client()
    client.force_login(staff)
    _age_session(client, started_ago=10 * 3600, seen_ago=3 * 3600)  # morning login, lunch break
    assert client.get(reverse("core:home")).status_code == 200


def test_an_idle_session_ends(staff, settings):
    client = Client()
    client.force_login(staff)
    _age_session(
        client, started_ago=settings.SESSION_IDLE_TIMEOUT + 100, seen_ago=settings.SESSION_IDLE_TIMEOUT + 1
    )
    response = client.get(reverse("core:home"))
    assert response.status_code == 302 and reverse("accounts:login") in response["Location"]
    assert "_auth_user_id" not in client.session


def test_a_session_ends_after_its_absolute_time_however_busy(staff, settings):
    client = Client()
    client.force_login(staff)
    _age_session(client, started_ago=settings.SESSION_ABSOLUTE_TIMEOUT + 1, seen_ago=5)
    assert client.get(reverse("core:home")).status_code == 302
    # The API answers 401: the scanner keeps its queue and asks for a login.
    client.force_login(staff)
    _age_session(client, started_ago=settings.SESSION_ABSOLUTE_TIMEOUT + 1, seen_ago=5)
    assert client.get("/api/areas").status_code == 401


def test_an_administrators_session_is_shorter(db, settings):
    admin = User.objects.create_superuser("root", password=PASSWORD)
    client = Client()
    client.force_login(admin)
    _age_session(client, started_ago=3600, seen_ago=settings.ADMIN_SESSION_IDLE_TIMEOUT + 1)
    assert client.get(reverse("core:home")).status_code == 302


@override_settings(SESSION_IDLE_TIMEOUT=60, SESSION_ABSOLUTE_TIMEOUT=120)
def test_timeouts_are_configurable(staff):
    client = Client()
    client.force_login(staff)
    _age_session(client, started_ago=90, seen_ago=61)
    assert client.get(reverse("core:home")).status_code == 302


# ------------------------------------------------------------------------------- registration probes

SHARED = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "gridroll_cache"}}


@pytest.fixture
def shared_cache(db):
    """The database cache production falls back to without Redis: what every worker reads and writes."""
    with override_settings(
        CACHES=SHARED, REGISTRATION_THROTTLE={"DEVICE_LIMIT": 3, "CLIENT_LIMIT": 12, "WINDOW": 600}
    ):
        from django.core.cache import caches

        call_command("createcachetable", verbosity=0)
        caches["default"].clear()
        yield
        caches["default"].clear()


def probe(client: Client, tree, resident, n: int):
    return register(client, tree, name=f"某{n}", document_number=resident.document_number)


def test_probing_is_counted_per_device_across_workers_and_restarts(
    shared_cache, tree, resident_a, monkeypatch
):
    from django.core.cache import caches

    from gridroll.core import throttle

    phone = worker("10.9.9.9")
    phone.get(reverse("codes:register_community", args=[tree["community"].pk]))
    assert phone.cookies.get(throttle.DEVICE_COOKIE)
    # Each probe goes to a different worker: a fresh cache connection, as in another process.
    monkeypatch.setattr(throttle, "_cache", lambda: caches.create_connection("default"))
    for i in range(3):
        assert "尝试次数过多" not in probe(phone, tree, resident_a, i).content.decode()
    assert "尝试次数过多" in probe(phone, tree, resident_a, 99).content.decode()
    # Another phone on the same Wi-Fi is not held up by it.
    neighbour = worker("10.9.9.9")
    assert register(neighbour, tree, name="王秀英").status_code == 302


def test_a_script_dropping_its_cookie_is_stopped_by_its_address(shared_cache, tree, resident_a):
    blocked_at = None
    for i in range(40):
        script = worker("10.7.7.7")  # a new client each time: no device cookie
        if "尝试次数过多" in probe(script, tree, resident_a, i).content.decode():
            blocked_at = i
            break
    assert blocked_at == 12


def test_a_sites_queue_is_never_throttled_for_honest_registrations(shared_cache, tree):
    for i in range(30):  # more than the address limit, all honest: new people, one address
        response = register(worker("10.5.5.5"), tree, name=f"王{i}", document_number=new_id(seq=200 + i))
        assert response.status_code == 302, i
