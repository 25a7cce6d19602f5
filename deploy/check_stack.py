"""The production stack, tested on loopback: nginx (deploy/nginx.conf, TLS) in front of three gunicorn
instances (deploy/gunicorn.conf.py, production settings), PostgreSQL and Redis. Exits non-zero when a
check fails; CI runs it:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/gridroll_stack REDIS_URL=redis://127.0.0.1:6379/12 \\
        .venv/bin/python deploy/check_stack.py

Checks: a login made on one instance is honoured by the others (sessions in Redis and the database); the
login lockout counts wrong passwords sent to different instances together; the balanced port spreads
requests over every instance and keeps answering when one is killed -9; static files come from nginx;
an upload over the cap is refused by nginx (413); /metrics is not reachable through nginx.
"""

from __future__ import annotations

import http.client
import os
import re
import secrets
import shutil
import ssl
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

VAR = Path(tempfile.mkdtemp(prefix="gridroll-stack-"))
VAR.chmod(0o755)  # nginx workers (not root) read the collected static files
NGINX_PORT, PINNED, APP = 8843, 8850, [8861, 8862, 8863]
PRODUCTION_ENV = {
    "SECRET_KEY": secrets.token_urlsafe(64),
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "CSRF_TRUSTED_ORIGINS": ",".join(
        f"https://127.0.0.1:{p}" for p in [NGINX_PORT, *range(PINNED, PINNED + 3)]
    ),
    "USE_X_FORWARDED_FOR": "1",
    "GRIDROLL_VAR_DIR": str(VAR),
    "GRIDROLL_LOGIN_FAILURE_LIMIT": "4",
    "LOG_LEVEL": "ERROR",
    "DEBUG": "0",
}
os.environ.pop("GRIDROLL_DEMO", None)
os.environ.update(PRODUCTION_ENV)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridroll.settings")
if not os.environ.get("REDIS_URL") or not os.environ.get("DATABASE_URL", "").startswith("postgres"):
    raise SystemExit("needs DATABASE_URL=postgres://... and REDIS_URL=redis://...")

from faults import _create_database  # noqa: E402  (makes the database if missing)

_create_database()

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connections  # noqa: E402
from stack import Gunicorn, Nginx  # noqa: E402

CTX = ssl._create_unverified_context()
failures: list[str] = []


def check(ok: bool, what: str) -> None:
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def request(port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    c = http.client.HTTPSConnection("127.0.0.1", port, timeout=20, context=CTX)
    c.request(method, path, body, {"Host": "127.0.0.1", **(headers or {})})
    r = c.getresponse()
    data = r.read()
    return r, data


class Browser:
    """Cookies kept across ports, as one browser keeps them for one site."""

    def __init__(self) -> None:
        self.cookies: dict[str, str] = {}

    def go(self, port: int, method: str, path: str, form: dict | None = None, headers: dict | None = None):
        h = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()), **(headers or {})}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            h.update(
                {"Content-Type": "application/x-www-form-urlencoded", "Referer": f"https://127.0.0.1:{port}/"}
            )
        r, data = request(port, method, path, body, h)
        for name, value in r.getheaders():
            if name.lower() == "set-cookie":
                k, _, v = value.split(";")[0].partition("=")
                self.cookies[k] = v
        return r, data

    def login(self, port: int, username: str, password: str):
        _r, page = self.go(port, "GET", "/accounts/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
        return self.go(
            port,
            "POST",
            "/accounts/login/",
            {"csrfmiddlewaretoken": token, "username": username, "password": password},
        )


def main() -> int:
    call_command("migrate", verbosity=0)
    call_command("collectstatic", verbosity=0, interactive=False)
    password = secrets.token_urlsafe(12)
    for name in ("stack-alice", "stack-bob"):
        user, _ = User.objects.get_or_create(username=name)
        user.set_password(password)
        user.save()
    from axes.models import AccessAttempt

    AccessAttempt.objects.all().delete()
    connections.close_all()

    apps = [Gunicorn(p, workers=2, production=True, timeout=30) for p in APP]
    nginx = Nginx(NGINX_PORT, APP, VAR / "static", pinned_base=PINNED)
    try:
        for g in apps:
            g.start()
        nginx.start()
        pinned = nginx.pinned

        # A login on instance 1 is honoured by instances 2 and 3 and through the balancer.
        alice = Browser()
        r, _ = alice.login(pinned[0], "stack-alice", password)
        check(r.status == 302 and "sessionid" in alice.cookies, "login through instance 1")
        for i, port in enumerate([pinned[1], pinned[2], NGINX_PORT], start=2):
            r, _ = alice.go(port, "GET", "/")
            check(r.status == 200, f"still logged in through {'the balancer' if i == 4 else f'instance {i}'}")
        r, _ = Browser().go(pinned[1], "GET", "/")
        check(
            r.status == 302 and "/accounts/login/" in (r.getheader("Location") or ""),
            "a stranger is sent to login",
        )

        # The lockout counts wrong passwords on every instance together: 4 wrong answers, one per instance
        # in turn, then the right password is refused on a fourth try elsewhere.
        bob = Browser()
        for i in range(4):
            bob.login(pinned[i % 3], "stack-bob", "wrong-" + password)
        r, _ = bob.login(pinned[1], "stack-bob", password)
        check(
            r.status != 302, f"locked out after wrong passwords spread over three instances (got {r.status})"
        )

        # The balancer uses every instance.
        for _ in range(30):
            request(NGINX_PORT, "GET", "/healthz")
        log = (nginx.dir / "access.log").read_text()
        used = {p for p in APP if f"127.0.0.1:{p}" in log}
        check(used == set(APP), f"requests spread over every instance ({sorted(used)})")
        check("?" not in log, "no query strings in nginx's log")

        # Static files from nginx, with their cache headers.
        static = next((VAR / "static").rglob("*.js"))
        r, data = request(NGINX_PORT, "GET", "/static/" + str(static.relative_to(VAR / "static")))
        check(r.status == 200 and data == static.read_bytes() and r.getheader("Expires") is not None,
              "static file served by nginx")  # fmt: skip

        # Upload cap: 22 MB refused by nginx before any app server reads it.
        r, _ = request(
            NGINX_PORT, "POST", "/labs/", b"x" * (22 * 1024 * 1024), {"Content-Type": "text/plain"}
        )
        check(r.status == 413, f"an upload over 21 MB refused by nginx (got {r.status})")

        # A body larger than nginx's memory buffer (a phone's 200-action backlog is ~100 KB) goes through
        # nginx's temporary file to the app: refused there for want of a login, not a 500 from nginx.
        r, _ = request(NGINX_PORT, "POST", "/api/sampling/scans/batch", b'{"actions": []}' + b" " * 150_000,
                       {"Content-Type": "application/json"})  # fmt: skip
        check(r.status in (401, 403), f"a 150 KB upload reaches the app through nginx (got {r.status})")

        # /metrics never through nginx.
        r, _ = request(NGINX_PORT, "GET", "/metrics")
        check(r.status == 404, "/metrics not served through nginx")

        # Each instance's own /metrics, scraped on loopback straight from gunicorn, adds up its workers.
        c = http.client.HTTPConnection("127.0.0.1", APP[1], timeout=10)
        c.request("GET", "/metrics", headers={"Host": "127.0.0.1"})
        r = c.getresponse()
        text = r.read().decode()
        counts = re.findall(
            r'gridroll_http_request_duration_seconds_count\{[^}]*view="core:healthz"[^}]*\} (\S+)', text
        )
        check(
            r.status == 200 and counts and float(counts[0]) >= 5,
            f"instance 2's /metrics counts its probes {counts}",
        )

        # An instance killed -9: the balancer keeps answering (retried on another instance).
        apps[0].kill()
        statuses = [request(NGINX_PORT, "GET", "/readyz")[0].status for _ in range(20)]
        check(all(s == 200 for s in statuses), f"every request answered with instance 1 dead ({statuses})")
        r, _ = alice.go(NGINX_PORT, "GET", "/")
        check(r.status == 200, "still logged in with instance 1 dead")
    finally:
        nginx.stop()
        for g in apps:
            g.stop()
        shutil.rmtree(VAR, ignore_errors=True)
    if failures:
        print("FAILED:", "; ".join(failures))
        return 1
    print("stack: every check passed")
    return 0


if __name__ == "__main__":
    started = time.monotonic()
    code = main()
    print(f"{time.monotonic() - started:.0f} s")
    sys.exit(code)
