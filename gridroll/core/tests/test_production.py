"""Production settings that fail closed, the headers every answer carries, bad parameters, redirects and
log lines — each written as the attack or the mistake it answers."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.test import RequestFactory, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from gridroll.conftest import make_user
from gridroll.core.logs import ScrubFilter, scrub

ROOT = Path(__file__).resolve().parents[3]
GOOD_KEY = "k" + secrets.token_urlsafe(60)


def run_manage(env_overrides: dict, *args: str) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("GRIDROLL_DEMO", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS")
    }
    for leftover in ("DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"):  # the browser tests set the latter
        env.pop(leftover, None)
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args], capture_output=True, env=env, timeout=120, text=True
    )


PRODUCTION = {"DEBUG": "0", "SECRET_KEY": GOOD_KEY, "ALLOWED_HOSTS": "gridroll.example.cn"}


@pytest.mark.parametrize(
    ("overrides", "why"),
    [
        ({}, "SECRET_KEY is missing"),  # nothing set: DEBUG is off, and there is no key and no host
        ({**PRODUCTION, "DEBUG": "1"}, "DEBUG is on"),
        ({**PRODUCTION, "SECRET_KEY": "gridroll-insecure-demo-key-change-me"}, "SECRET_KEY"),
        ({**PRODUCTION, "SECRET_KEY": ""}, "SECRET_KEY"),
        ({**PRODUCTION, "ALLOWED_HOSTS": "*"}, "ALLOWED_HOSTS"),
        ({**PRODUCTION, "ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS"),
    ],
)
def test_production_refuses_to_start_with_demo_settings(tmp_path, overrides, why):
    done = run_manage({**overrides, "GRIDROLL_VAR_DIR": str(tmp_path)}, "check")
    assert done.returncode != 0
    assert "refuses to start" in done.stderr and why in done.stderr


def test_production_settings_pass_check_deploy_at_warning_level(tmp_path):
    done = run_manage(
        {**PRODUCTION, "GRIDROLL_VAR_DIR": str(tmp_path)}, "check", "--deploy", "--fail-level", "WARNING"
    )
    assert done.returncode == 0, done.stderr + done.stdout


def test_the_demo_still_starts_with_its_conveniences(tmp_path):
    done = run_manage({"GRIDROLL_DEMO": "1", "GRIDROLL_VAR_DIR": str(tmp_path)}, "check")
    assert done.returncode == 0, done.stderr


# ---------------------------------------------------------------------------------------------- headers


def test_pages_exports_and_api_answers_are_never_stored_and_carry_a_csp(tree, resident_a, grid_worker, login):
    client = login(grid_worker)
    for url in (
        reverse("residents:detail", args=[resident_a.pk]),
        reverse("areas:area", args=[tree["grid_a"].pk]),
        f"/api/residents/{resident_a.pk}",
        reverse("residents:template"),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "no-store" in response["Cache-Control"], url
        csp = response["Content-Security-Policy"]
        assert "script-src 'self';" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert "no-store" in client.get(reverse("accounts:login"))["Cache-Control"]


def test_pages_have_no_inline_script_or_handlers():
    # The CSP allows scripts from our static files only: anything inline would silently stop working.
    import re

    offenders = []
    for path in ROOT.joinpath("gridroll").rglob("*.html"):
        text = path.read_text()
        for m in re.finditer(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", text):
            offenders.append(f"{path}: {m.group(0)}")
        for m in re.finditer(r"\son(click|change|submit|load|input|key\w+|error|focus|blur)=", text):
            offenders.append(f"{path}: {m.group(0)}")
    assert offenders == []


@override_settings(
    SECURE_SSL_REDIRECT=True,
    SECURE_HSTS_SECONDS=31_536_000,
    SESSION_COOKIE_SECURE=True,
    CSRF_COOKIE_SECURE=True,
)
def test_behind_nginx_the_site_is_https_with_hsts_and_secure_cookies(client, sub_admin, tree, login):
    from gridroll.sampling.models import Site

    # Plain http straight to the app is sent to https.
    assert client.get("/accounts/login/")["Location"].startswith("https://")
    # Through nginx (X-Forwarded-Proto: https) the request is secure: HSTS, and https links on the poster.
    response = client.get("/accounts/login/", headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 200
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")
    assert response.cookies["csrftoken"]["secure"]
    site = Site.objects.create(area=tree["grid_a"], name="北门采样点")
    c = login(sub_admin)
    nginx = {"X-Forwarded-Proto": "https", "Host": "testserver"}  # what deploy/nginx.conf sends
    poster = c.get(reverse("codes:site_poster", args=[site.pk]), headers=nginx)
    assert "https://testserver/register/s/" in poster.content.decode()
    assert "http://testserver" not in poster.content.decode()


# ------------------------------------------------------------------------------------ bad parameters

GARBAGE = {
    "round": "abc",
    "area": "abc",
    "grid": "1;DROP",
    "household": "x",
    "building": "-1",
    "page": "abc",
    "format": "xlsx",
    "show": "<script>",
    "q": "a\x00b",
    "since": "zzz",
    "state": "nope",
    "download": "1",
    "action": "%",
    "round_id": "abc",
    "r": "abc",
}


def _get_patterns(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            yield from _get_patterns(p, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern)


def _fill(pattern: str, pk: int) -> str | None:
    import re

    if pattern.startswith("^") or "admin" in pattern:
        return None
    path = re.sub(r"<int:\w+>", str(pk), pattern)
    path = re.sub(r"<(str|slug):\w+>", "abc", path)
    path = re.sub(r"<\w+>", "abc", path)
    return "/" + path


def test_no_page_answers_500_to_garbage_parameters(
    tree, roll, people, grid_worker, sub_admin, sampler, login
):
    lab = make_user("lab_a", "lab_staff", tree["district"])
    patterns = sorted({p for p in _get_patterns()})
    failures = []
    for user in (grid_worker, sub_admin, sampler, lab):
        client = login(user)
        for pattern in patterns:
            for pk in (roll.pk, tree["grid_a"].pk, 999_999):
                path = _fill(pattern, pk)
                if path is None:
                    continue
                response = client.get(path, GARBAGE)
                if response.status_code >= 500:
                    failures.append(f"{user.username} GET {path} → {response.status_code}")
    assert failures == []


def test_an_api_number_too_large_for_the_database_is_never_a_500(sampler, site, round_, login):
    # Found by the schema test: round_id 2**70 reached a raw query (OverflowError / out of range).
    client = login(sampler)
    body = {
        "nonce": "n-big",
        "device_id": "phone-1",
        "device_time": "2026-11-30T08:00:00+08:00",
        "kind": "open_tube",
        "round_id": 2**70,
        "site_id": site.pk,
        "station_id": site.stations.first().pk,
        "tube": "TUBE000001",
    }
    response = client.post("/api/sampling/scans", body, content_type="application/json")
    # SQLite cannot hold the number (400); PostgreSQL compares it and finds no such round (a refusal).
    assert response.status_code == 400 or response.json()["result"] == "refused", response.content


def test_retests_with_a_round_that_is_not_a_number_is_a_400(sub_admin, login):
    assert login(sub_admin).get("/retests/?round=abc").status_code == 400


# ---------------------------------------------------------------------------------------- redirects


def test_an_off_site_next_is_never_followed(roll, people, grid_worker, login):
    from gridroll.rollcall.models import Entry

    entry = Entry.objects.filter(round=roll).first()
    client = login(grid_worker)
    for evil in ("https://evil.example/", "//evil.example/x", "\\\\evil.example", "https:evil.example"):
        response = client.post(reverse("rollcall:exempt", args=[entry.pk]), {"reason": "away", "next": evil})
        assert response.status_code == 302
        assert "evil" not in response["Location"], evil
    response = client.post(
        reverse("rollcall:exempt", args=[entry.pk]), {"clear": "1", "next": "/rollcall/?x=1"}
    )
    assert response["Location"] == "/rollcall/?x=1"  # on-site: followed


def test_login_ignores_an_off_site_next(tree, client):
    user = make_user("someone", None, None)
    user.set_password("a-long-pass-phrase-4-tests")
    user.save()
    response = client.post(
        "/accounts/login/?next=https://evil.example/",
        {"username": "someone", "password": "a-long-pass-phrase-4-tests", "next": "https://evil.example/"},
    )
    assert response.status_code == 302 and "evil" not in response["Location"]


# ---------------------------------------------------------------------------------------- log lines


def test_scrub_masks_secrets_ids_phones_and_searches():
    line = scrub(
        "GET /residents/?q=37150219660912986X HTTP/1.1 /me/Zx9-secret_AAAA/code/K7/ "
        "/x/?phone=13812345678 id 371502660912986"
    )
    assert "37150219660912986X" not in line and "Zx9-secret_AAAA" not in line
    assert "13812345678" not in line and "371502660912986" not in line
    assert "/me/…/code/K7/" in line


def test_django_request_logs_are_scrubbed(caplog):
    record = logging.LogRecord(
        "django.server",
        logging.INFO,
        __file__,
        1,
        '"%s" %s %s',
        ("GET /residents/?q=37150219660912986X HTTP/1.1", "200", "5"),
        None,
    )
    ScrubFilter().filter(record)
    assert "37150219660912986X" not in record.getMessage()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_gunicorn_access_log_has_no_secrets_or_id_numbers(tmp_path, log_format):
    """The deployment's own gunicorn configuration, run for real on 127.0.0.1, answering three requests;
    with LOG_FORMAT=json every line is a JSON object of named fields (structured logs, issue 21)."""
    port = _free_port()
    log = tmp_path / "access.log"
    env = {**os.environ, "GRIDROLL_DEMO": "1", "GRIDROLL_VAR_DIR": str(tmp_path), "LOG_FORMAT": log_format}
    env.pop("DATABASE_URL", None)
    env.update(GUNICORN_BIND=f"127.0.0.1:{port}", GUNICORN_WORKERS="1", GUNICORN_ACCESSLOG=str(log))
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "deploy/gunicorn.conf.py"), "gridroll.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        urls = [
            "/residents/?q=37150219660912986X",
            "/me/Zx9SecretLinkToken0123456789/",
            "/register/s/SiteToken987654/?phone=13812345678",
        ]
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=5)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        for url in urls:
            with contextlib.suppress(urllib.error.HTTPError):  # 302 to login, 404: the log line matters
                urllib.request.urlopen(f"http://127.0.0.1:{port}{url}", timeout=10)
    finally:
        server.terminate()
        server.wait(timeout=30)
    text = log.read_text()
    assert "/residents/" in text and "/me/…/" in text and "/register/s/…/" in text
    for secret in ("37150219660912986X", "Zx9SecretLinkToken0123456789", "SiteToken987654", "13812345678"):
        assert secret not in text, text
    if log_format == "json":
        lines = [json.loads(line) for line in text.splitlines() if line.strip()]
        assert len(lines) >= 4, text
        paths = {line["path"] for line in lines}
        assert {"/me/…/", "/register/s/…/"} <= paths, paths
        for line in lines:
            assert isinstance(line["status"], int) and line["method"] == "GET" and "time" in line, line
            assert "query" not in line and "referer" not in line, line


def test_json_log_lines_are_objects_with_fields_and_nothing_private():
    from gridroll.core.logs import JsonFormatter

    request = RequestFactory().get("/residents/", {"q": "37150219660912986X"})
    request.path = "/me/Zx9SecretLinkToken0123456789/"
    record = logging.LogRecord(
        "django.request",
        logging.ERROR,
        __file__,
        1,
        "Internal Server Error: %s",
        ("/x/?phone=13812345678",),
        None,
    )
    record.request, record.status_code = request, 500
    ScrubFilter().filter(record)
    line = JsonFormatter().format(record)
    data = json.loads(line)
    assert data["level"] == "error" and data["logger"] == "django.request" and data["status"] == 500
    assert data["method"] == "GET" and data["path"] == "/me/…/"
    for secret in ("37150219660912986X", "Zx9SecretLinkToken0123456789", "13812345678"):
        assert secret not in line


def test_error_pages_are_gridrolls_own_and_say_nothing_internal(sub_admin, login, rf):
    from django.views.defaults import server_error

    client = login(sub_admin)
    page = client.get("/no/such/page/")
    assert page.status_code == 404 and "找不到页面" in page.content.decode()
    page = client.get("/retests/?round=abc")
    assert page.status_code == 400 and "请求有误" in page.content.decode()
    assert "Traceback" not in page.content.decode() and "sqlite" not in page.content.decode()
    page = server_error(rf.get("/"))
    assert page.status_code == 500 and "服务器出错" in page.content.decode()


def test_the_demo_with_debug_on_shows_gridrolls_404_not_djangos(sub_admin, login, settings):
    """Issue 18, defect 4: `make demo` runs with DEBUG on, where Django answered a 404 with its English
    technical page listing the URL patterns."""
    settings.DEBUG = True
    client = login(sub_admin)
    for url in ("/no/such/page/", "/areas/999999/"):  # no route; a route whose object is missing
        page = client.get(url)
        body = page.content.decode()
        assert page.status_code == 404 and "找不到页面" in body, url
        assert "URLconf" not in body and "Django" not in body, url
    api = client.get("/api/areas/999999")
    assert api.status_code == 404 and api["Content-Type"].startswith("application/json")
