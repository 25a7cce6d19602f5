"""The serving stack on loopback ports, shared by the benchmarks, the fault run and deploy/ checks.

- ``Gunicorn``: one gunicorn instance (``deploy/gunicorn.conf.py`` when ``production``), started, killed
  (a worker or all of it, -9) and restarted. bench/faults.py and bench/scan_bench.py both use it.
- ``Nginx``: nginx rendered from ``deploy/nginx.conf`` (the shipped file) in front of several instances,
  with a self-signed certificate, plus one "pinned" TLS port per instance so that a test can choose the
  instance a request goes to.

Nothing here touches the system's nginx or PostgreSQL: everything lives in a temporary directory.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import random
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"


def wait_http(host: str, port: int, path: str = "/healthz", seconds: float = 30, tls: bool = False) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if tls:
                c: http.client.HTTPConnection = http.client.HTTPSConnection(
                    host, port, timeout=1, context=ssl._create_unverified_context()
                )
            else:
                c = http.client.HTTPConnection(host, port, timeout=1)
            c.request("GET", path, headers={"Host": "127.0.0.1"})
            c.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing answered on {host}:{port}{path} in {seconds} s")


class Gunicorn:
    """One gunicorn instance on 127.0.0.1:port."""

    def __init__(
        self,
        port: int,
        workers: int = 2,
        env: dict[str, str] | None = None,
        production: bool = False,
        timeout: int = 30,
        log: Path | None = None,
    ) -> None:
        self.port, self.workers_n, self.production, self.timeout = port, workers, production, timeout
        self.env = dict(os.environ, **(env or {}))
        self.log = log
        self.proc: subprocess.Popen | None = None

    def start(self, wait: float = 30) -> None:
        if self.production:
            # deploy/gunicorn.conf.py as shipped; only the bind and the worker count change.
            args = ["-c", str(DEPLOY / "gunicorn.conf.py")]
            env = dict(self.env, GUNICORN_BIND=f"127.0.0.1:{self.port}", GUNICORN_WORKERS=str(self.workers_n))
            env.setdefault("GUNICORN_ACCESSLOG", "/dev/null")
        else:
            args = ["-w", str(self.workers_n), "-b", f"127.0.0.1:{self.port}", "--log-level", "warning"]
            env = dict(self.env)
        args += ["--timeout", str(self.timeout)]
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "gridroll.wsgi", *args],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
        wait_http("127.0.0.1", self.port, "/accounts/login/", wait)

    def worker_pids(self) -> list[int]:
        assert self.proc is not None
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]

    def kill_worker(self) -> None:
        os.kill(random.choice(self.worker_pids()), signal.SIGKILL)

    def kill(self) -> None:
        """The master and its workers, -9 (the whole process group)."""
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
            self.proc = None


def self_signed(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "tls.pem", directory / "tls.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


class Nginx:
    """nginx from deploy/nginx.conf on ``port`` (TLS), balancing over ``upstreams`` (loopback ports);
    ``pinned[i]`` is a TLS port that only reaches ``upstreams[i]``."""

    def __init__(self, port: int, upstreams: list[int], static_root: Path, pinned_base: int = 0) -> None:
        self.port, self.upstreams, self.static_root = port, upstreams, static_root
        self.dir = Path(tempfile.mkdtemp(prefix="gridroll-nginx-"))
        # nginx's workers are not root: they must reach the request bodies' temporary files in here.
        self.dir.chmod(0o755)
        self.pinned = [pinned_base + i for i in range(len(upstreams))] if pinned_base else []
        self.proc: subprocess.Popen | None = None

    def render(self) -> Path:
        cert, key = self_signed(self.dir)
        site = (DEPLOY / "nginx.conf").read_text()
        for name, value in {
            "UPSTREAM_SERVERS": "\n    ".join(
                f"server 127.0.0.1:{p} max_fails=1 fail_timeout=2s;" for p in self.upstreams
            ),
            "LISTEN": f"127.0.0.1:{self.port}",
            "SERVER_NAME": "127.0.0.1",
            "CERT": str(cert),
            "KEY": str(key),
            "ACCESS_LOG": str(self.dir / "access.log"),
            "STATIC_ROOT": str(self.static_root),
        }.items():
            site = site.replace(f"@{name}@", value)
        assert not re.search(r"@[A-Z_]+@", site), "a placeholder left in deploy/nginx.conf"
        pinned = "".join(
            f"""
server {{
    listen 127.0.0.1:{port} ssl;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    access_log off;
    location / {{
        proxy_pass http://127.0.0.1:{upstream};
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-Proto https;
        proxy_set_header X-Forwarded-For $remote_addr;
    }}
}}"""
            for port, upstream in zip(self.pinned, self.upstreams, strict=False)
        )
        (self.dir / "site.conf").write_text(site + pinned)
        main = self.dir / "nginx.conf"
        main.write_text(
            f"""daemon off;
worker_processes 2;
pid {self.dir}/nginx.pid;
error_log {self.dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    include /etc/nginx/mime.types;
    client_body_temp_path {self.dir}/body;
    proxy_temp_path {self.dir}/proxy;
    fastcgi_temp_path {self.dir}/fastcgi;
    uwsgi_temp_path {self.dir}/uwsgi;
    scgi_temp_path {self.dir}/scgi;
    include {self.dir}/site.conf;
}}
"""
        )
        return main

    def start(self) -> None:
        main = self.render()
        subprocess.run(["nginx", "-t", "-q", "-c", str(main), "-p", str(self.dir)], check=True)
        self.proc = subprocess.Popen(
            ["nginx", "-c", str(main), "-p", str(self.dir)], start_new_session=True, stderr=subprocess.DEVNULL
        )
        wait_http("127.0.0.1", self.port, "/healthz", 10, tls=True)

    def stop(self) -> None:
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGQUIT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)


PG_BIN = (
    Path("/usr/lib/postgresql")
    / (sorted(os.listdir("/usr/lib/postgresql"))[-1] if os.path.isdir("/usr/lib/postgresql") else "15")
    / "bin"
)


class Postgres:
    """A PostgreSQL cluster of our own (initdb in a temporary directory, trust auth on 127.0.0.1), so that
    drills can restart, break and promote it without touching the machine's shared 5432 cluster."""

    def __init__(self, port: int, datadir: Path, settings: dict[str, str] | None = None) -> None:
        self.port, self.datadir = port, datadir
        self.settings = settings or {}

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = list(args)
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True)

    def own(self, path: Path) -> None:
        if os.geteuid() == 0:
            shutil.chown(path, "postgres", "postgres")
            for p in path.rglob("*"):
                shutil.chown(p, "postgres", "postgres")

    def init(self) -> None:
        self.datadir.parent.mkdir(parents=True, exist_ok=True)
        self.own(self.datadir.parent)
        self._run(
            str(PG_BIN / "initdb"), "-D", str(self.datadir), "-U", "postgres", "--auth=trust", "-E", "UTF8"
        )
        self.configure()

    def configure(self, extra: dict[str, str] | None = None) -> None:
        settings = {
            "port": str(self.port),
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.datadir.parent}'",
            "wal_level": "replica",
            "max_wal_senders": "5",
            "fsync": "on",
            **self.settings,
            **(extra or {}),
        }
        conf = self.datadir / "postgresql.auto.conf"
        lines = [line for line in conf.read_text().splitlines() if line.split("=")[0].strip() not in settings]
        conf.write_text("\n".join(lines + [f"{k} = {v}" for k, v in settings.items()]) + "\n")
        hba = self.datadir / "pg_hba.conf"
        if "gridroll drills" not in hba.read_text():
            with hba.open("a") as f:
                f.write("# gridroll drills\nhost replication all 127.0.0.1/32 trust\n")
        self.own(self.datadir)

    def start(self) -> None:
        log = str(self.datadir.parent / f"pg{self.port}.log")
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.datadir), "-l", log, "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.datadir), "-m", mode, "-w", "stop", check=False)

    def promote(self) -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.datadir), "-w", "promote")

    def url(self, db: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{db}"

    def sql(self, query: str, db: str = "postgres"):
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname=db, autocommit=True
        ) as c:
            cur = c.execute(query)
            return cur.fetchall() if cur.description else None

    def base_backup(self, target: Path, replica: bool = False) -> None:
        """pg_basebackup into ``target`` (plain format, WAL streamed); ``replica``: a standby of this one."""
        self.own(target.parent)
        args = [
            "-D",
            str(target),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-X",
            "stream",
            "-c",
            "fast",
        ]
        if replica:
            args.append("-R")
        self._run(str(PG_BIN / "pg_basebackup"), *args)
