"""The rehearsal: a whole round through the real stack, with faults on a schedule (issue 21).

nginx (deploy/nginx.conf, TLS) → several gunicorn instances → PostgreSQL (a cluster of its own, with a
streaming replica serving the check sheets) + Redis (sessions, caches). Many simulated phones
(bench/phones.py, the same simulation as bench/faults.py) scan the district's people into tubes; grid
workers poll their check sheets (read from the replica); a command-centre officer keeps the command view
refreshing (only changed panels); a lab takes the sealed tubes in boxes (packed, sealed, handed over and
received through the services, as the site and the lab would) and reports their results through
``POST /api/labs/results`` with a few positive pools, whose members must then be on the retest list.
Faults on the schedule: a phone offline, an app server killed -9 and restarted, a worker killed, the
primary restarted -m immediate, the replica promoted (read-heavy pages must fall back to the primary).

It reports completion time, bindings/s, p50/p99 per endpoint outside fault windows, lost and duplicated
actions, roll-call entries that disagree with samples, recovery times, and where the CPU went (the first
bottleneck). The target is 1,400 bindings/s for 10 minutes with p99 <= 500 ms; the short version:

    REDIS_URL=redis://127.0.0.1:6379/12 .venv/bin/python bench/rehearse.py --seconds 90 --residents 40000

Exits non-zero when an invariant fails (lost, duplicated, inconsistent), not when the rate is short.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from stack import PG_BIN, Gunicorn, Nginx, Postgres  # noqa: E402

PRIMARY_PORT, REPLICA_PORT, NGINX_PORT, APP_BASE = 5481, 5482, 8943, 8960
CTX = ssl._create_unverified_context()
RUNNING: list = []  # stopped on the way out, whatever happens (app servers, nginx, clusters)


class Endpoints:
    """(start, seconds, status) per endpoint, from every client thread."""

    def __init__(self, t0: float) -> None:
        self.t0, self.lock = t0, threading.Lock()
        self.rows: dict[str, list[tuple[float, float, int | None]]] = defaultdict(list)

    def record(self, name: str, started: float, status: int | None) -> None:
        with self.lock:
            self.rows[name].append((started - self.t0, time.monotonic() - started, status))


def cpu_by_pid(gunicorn_pgids: set[int]) -> dict[int, tuple[str, float]]:
    """CPU seconds so far per process, with its group, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[int, tuple[str, float]] = {}
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        pgrp, used = int(fields[2]), (int(fields[11]) + int(fields[12])) / tick
        if int(entry) == me:
            group = "load generator (phones, grid workers)"
        elif pgrp in gunicorn_pgids:
            group = "gunicorn (Django)"
        elif comm == "postgres":
            group = "postgresql (ours and the shared cluster's)"
        elif comm == "nginx":
            group = "nginx"
        elif comm.startswith("redis"):
            group = "redis"
        else:
            continue
        out[int(entry)] = (group, used)
    return out


class CpuLedger:
    """CPU seconds by process group over the run, from /proc read every second: a process that exits (an
    app server killed, PostgreSQL's backends across its restart) keeps what it used until its last read."""

    def __init__(self, gunicorn_pgids) -> None:
        self.pgids = gunicorn_pgids  # called at each read: restarted app servers have new groups
        self.first = cpu_by_pid(self.pgids())
        self.last = dict(self.first)

    def sample(self) -> None:
        self.last.update(cpu_by_pid(self.pgids()))

    def totals(self) -> dict[str, float]:
        out: dict[str, float] = defaultdict(float)
        for pid, (group, used) in self.last.items():
            out[group] += used - self.first.get(pid, (group, 0.0))[1]
        return out


def machine_busy() -> float:
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def first_bottleneck(cpu: dict[str, float], busy_cores: float, cores: int) -> str:
    ours = {k: v for k, v in cpu.items() if not k.startswith("other")}
    top = max(ours.items(), key=lambda kv: kv[1])[0] if ours else "?"
    if busy_cores > 0.85 * cores:
        return f"CPU: the machine's {cores} cores were busy ({busy_cores:.2f}); of ours, {top} used the most"
    return f"none saturated ({busy_cores:.2f} of {cores} cores busy): the phones' pace set the rate"


def https(
    method: str, path: str, cookie: str, csrf: str, body: str | None = None
) -> tuple[int | None, bytes]:
    """One request through nginx; (None, b"") when the connection fails or times out."""
    headers = {"Cookie": cookie, "X-CSRFToken": csrf, "Referer": f"https://127.0.0.1:{NGINX_PORT}/"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    try:
        c = http.client.HTTPSConnection("127.0.0.1", NGINX_PORT, timeout=30, context=CTX)
        c.request(method, path, body, headers)
        r = c.getresponse()
        return r.status, r.read()
    except (OSError, http.client.HTTPException):
        return None, b""


def is_positive(barcode: str) -> bool:
    """About one tube in 150 is a positive pool, decided by the barcode so that the check can recount it."""
    return zlib.crc32(barcode.encode()) % 150 == 0


def lab_invariants(round_) -> dict[str, int]:
    """Every sealed tube reported as sent; every live member of a positive pool on the retest list."""
    from gridroll.labs.models import RetestTask
    from gridroll.sampling.models import Sample, Tube

    sealed = Tube.objects.filter(round=round_, status="sealed")
    reported = dict(sealed.exclude(result="").values_list("barcode", "result"))
    positives = [b for b, r in reported.items() if r == "positive"]
    members = set(
        Sample.objects.filter(tube__barcode__in=positives, is_removed=False).values_list(
            "tube_id", "resident_id"
        )
    )
    tasks = set(RetestTask.objects.filter(tube__barcode__in=positives).values_list("tube_id", "resident_id"))
    return {
        "sealed_tubes": sealed.count(),
        "sealed_tubes_not_reported": sealed.filter(result="").count(),
        "reported_result_not_as_sent": sum(
            1 for b, r in reported.items() if r != ("positive" if is_positive(b) else "negative")
        ),
        "positive_pools": len(positives),
        "positive_pool_members": len(members),
        "positive_members_without_retest": len(members - tasks),
    }


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * (len(values) - 1)))] * 1000 if values else 0.0


ROUND_MINUTES, SLOT_MINUTES = 360, 30  # a round of 6 hours, called in batches of 30 minutes


def wall_seconds_per_minute(seconds: int) -> float:
    """The round, from its first early arrivals to its last late ones, in 95 % of ``seconds``."""
    from gridroll.lib import queuesim

    return seconds * 0.95 / (queuesim.EARLY_MINUTES + ROUND_MINUTES + queuesim.LATE_MINUTES)


def arrival_times(rng: random.Random, people: list[str], seconds: int) -> tuple[list[str], list[float], int]:
    """A phone's people as a planned round brings them: dealt in order over the round's 12 batches of 30
    minutes, each batch's people coming by the curve the plan's queue simulation draws from
    (gridroll.lib.queuesim.arrivals: some early, some late, families together, a few never), the round
    compressed into ``seconds`` (its early and late edges included, with 5 % left at the end to finish).
    Returns the people who come in the order the phone scans them (the list's end first), when each
    comes (seconds after the start, in the same order) and how many never come."""
    from gridroll.lib import queuesim

    slots = ROUND_MINUTES // SLOT_MINUTES
    first, scale = -queuesim.EARLY_MINUTES, wall_seconds_per_minute(seconds)
    come: list[tuple[float, str]] = []
    per_slot = -(-len(people) // slots)
    for k in range(slots):
        batch = people[k * per_slot : (k + 1) * per_slot]
        i = 0
        for minute, n in queuesim.arrivals(rng, k * SLOT_MINUTES, (k + 1) * SLOT_MINUTES, len(batch)):
            come += [((minute - first) * scale, p) for p in batch[i : i + n]]
            i += n
    # queuesim.arrivals leaves the no-shows' families out: they are the people not taken above.
    come.sort(reverse=True)
    return [p for _, p in come], [t for t, _ in come], len(people) - len(come)


def arrivals_summary(args, phones, no_shows: int) -> dict:
    """How the people came (``--arrivals plan``): the busiest 10 seconds of arrivals and how long people
    waited between coming and being scanned, in seconds and in the round's minutes."""
    if args.arrivals != "plan":
        return {"curve": "flat: everyone there from the start"}
    comes = sorted(t for p in phones for t in p.comes)
    peak, j = 0, 0
    for i, t in enumerate(comes):
        while comes[j] < t - 10:
            j += 1
        peak = max(peak, i - j + 1)
    waits = sorted(w for p in phones for w in p.waits)
    minute = wall_seconds_per_minute(args.seconds)
    return {
        "curve": f"plan: {ROUND_MINUTES // SLOT_MINUTES} batches of {SLOT_MINUTES} min, lib.queuesim's curve",
        "wall_seconds_per_round_minute": round(minute, 3),
        "came": len(comes),
        "never_came": no_shows,
        "busiest_10s_per_s": round(peak / 10, 1),
        "mean_per_s": round(len(comes) / args.seconds, 1),
        "scanned": len(waits),
        # On the phone: scanning is local (offline first), so this is the sampler's own pace, not the
        # server's; the server's shows in the upload times per endpoint.
        "wait_p50_ms": round(percentile(waits, 0.5), 1),
        "wait_p99_ms": round(percentile(waits, 0.99), 1),
        "wait_p99_round_minutes": round(percentile(waits, 0.99) / 1000 / minute, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=600)
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument("--phones", type=int, default=120)
    parser.add_argument("--grid-workers", type=int, default=20)
    parser.add_argument("--instances", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per instance")
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument(
        "--arrivals",
        choices=["flat", "plan"],
        default="flat",
        help="flat: every phone's people are there from the start (the stack's capacity); plan: they come "
        "by the plan's arrival curve over the round compressed into --seconds (see arrival_times)",
    )
    parser.add_argument(
        "--people", type=int, default=0, help="how many of the district's people come (default: all)"
    )
    parser.add_argument(
        "--restore",
        metavar="DUMP",
        help="start from this pg_dump -Fc of a district (residents with codes, no round) instead of "
        "generating one: 1,000,000 residents take about 4 minutes to generate and 10 to issue codes to",
    )
    args = parser.parse_args()
    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/12"

    work = Path(tempfile.mkdtemp(prefix="gridroll-rehearse-"))
    primary = Postgres(PRIMARY_PORT, work / "primary", {"max_connections": "200", "shared_buffers": "256MB",
                                                        "synchronous_commit": "on"})  # fmt: skip
    replica = Postgres(REPLICA_PORT, work / "replica", {"max_connections": "200"})
    RUNNING.extend([replica, primary])
    primary.init()
    primary.start()
    if args.restore:
        primary.sql('CREATE DATABASE "gridroll"')
        subprocess.run(
            [str(PG_BIN / "pg_restore"), "-h", "127.0.0.1", "-p", str(PRIMARY_PORT), "-U", "postgres",
             "-d", "gridroll", "--no-owner", "-j", "2", args.restore],
            check=True,
        )  # fmt: skip
    os.environ.update(
        DATABASE_URL=primary.url("gridroll"),
        GRIDROLL_DEMO="1",
        DJANGO_SETTINGS_MODULE="gridroll.settings",
    )
    import faults  # creates the database and sets Django up on it
    from django.contrib.auth.models import User
    from django.db import connections
    from phones import Phone, Stats, session_for

    from gridroll.accounts.models import Grant
    from gridroll.areas.models import Area, Level

    started_setup = time.monotonic()
    round_, site, users, tokens = faults.setup(args.residents, args.phones)
    setup_s = time.monotonic() - started_setup
    grids = list(Area.objects.filter(level=Level.GRID).order_by("id").values_list("id", flat=True))
    watchers = []
    for i in range(args.grid_workers):
        user, _ = User.objects.get_or_create(username=f"rehearse-grid-{i}")
        grid = grids[i % len(grids)]
        Grant.objects.get_or_create(user=user, area_id=grid, role="grid_worker")
        watchers.append((session_for(user)[0], grid))
    district = Area.objects.get(parent__isnull=True)
    officer, _ = User.objects.get_or_create(username="rehearse-command")
    Grant.objects.get_or_create(user=officer, area=district, role="district_admin")
    lab_user, _ = User.objects.get_or_create(username="rehearse-lab")
    Grant.objects.get_or_create(user=lab_user, area=district, role="lab_staff")
    officer_session, lab_session = session_for(officer), session_for(lab_user)
    connections.close_all()
    replica.datadir.parent.mkdir(exist_ok=True)
    primary.base_backup(replica.datadir, replica=True)
    replica.configure()
    replica.start()

    origins = f"https://127.0.0.1:{NGINX_PORT}"
    env = {
        "GRIDROLL_DEMO": "1",
        "DEBUG": "0",
        "LOG_LEVEL": "ERROR",
        "GUNICORN_ERRORLOG": "-",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "CSRF_TRUSTED_ORIGINS": origins,
        "USE_X_FORWARDED_FOR": "1",
        "REDIS_URL": redis_url,
        "DATABASE_URL": primary.url("gridroll"),
        "REPLICA_DATABASE_URL": replica.url("gridroll"),
        "CONN_MAX_AGE": "60",
    }
    log = Path(os.environ["REHEARSE_LOG"]) if os.environ.get("REHEARSE_LOG") else None
    apps = [
        Gunicorn(APP_BASE + i, workers=args.workers, env=env, production=True, timeout=30, log=log)
        for i in range(args.instances)
    ]
    nginx = Nginx(NGINX_PORT, [a.port for a in apps], work)
    RUNNING[:0] = [*apps, nginx]
    for a in apps:
        a.start()
    nginx.start()

    random.seed(args.seed)
    # --people: how many of the district come in this run (the roll call, the pages and the command view
    # are still the whole district's). A whole round of 1,000,000 at this machine's ~360 bindings/s is 47
    # minutes; with every phone scanning its share at once the uploads queue for as long.
    coming = tokens[: args.people] if args.people else tokens
    share = len(coming) // args.phones
    lists = [coming[i * share : (i + 1) * share] for i in range(args.phones)]
    for i, t in enumerate(coming[-40:]):  # the deliberate races: a few people on two lanes
        lists[i % args.phones].append(t)
        lists[(i + 1) % args.phones].append(t)
    dues: list[list[float] | None] = [None] * args.phones
    no_shows = 0
    if args.arrivals == "plan":
        for i in range(args.phones):
            lists[i], due, gone = arrival_times(random.Random(args.seed * 7 + i), lists[i], args.seconds)
            dues[i] = due
            no_shows += gone
    stats = Stats()
    t0 = stats.t0
    from django.utils import timezone

    wall0 = timezone.now()
    endpoints = Endpoints(t0)
    target = ("127.0.0.1", NGINX_PORT, True)
    phones = [Phone(i, users[i], round_, site, lists[i], stats, target, dues[i]) for i in range(args.phones)]
    for phone in phones:
        phone.started = t0
    connections.close_all()
    stop = threading.Event()
    fault_log: list[tuple[float, str]] = []
    recoveries: dict[str, float] = {}
    ledger, busy0 = CpuLedger(lambda: {a.proc.pid for a in apps if a.proc}), machine_busy()

    def scanner(phone: Phone) -> None:
        rng = random.Random(args.seed * 100 + phone.n)
        while not stop.is_set() and phone.scan_some(rng):
            pass

    def uploader(phone: Phone) -> None:
        rng = random.Random(args.seed * 1000 + phone.n)
        while not (stop.is_set() and not phone.queue):
            phone.upload_once(rng, 0.02 if not stop.is_set() else 0, 0.02 if not stop.is_set() else 0)
            time.sleep(rng.uniform(0.5, 1.5) if not stop.is_set() else 0.2)
            if stop.is_set() and time.monotonic() - t0 > args.seconds + 120:
                break

    def grid_worker(cookie: str, grid: int) -> None:
        rng = random.Random(grid)
        while not stop.is_set():
            started = time.monotonic()
            try:
                c = http.client.HTTPSConnection("127.0.0.1", NGINX_PORT, timeout=30, context=CTX)
                c.request("GET", f"/rollcall/{round_.pk}/{grid}/sheet/", headers={"Cookie": cookie})
                r = c.getresponse()
                r.read()
                status: int | None = r.status
            except (OSError, http.client.HTTPException):
                status = None
            endpoints.record("GET rollcall:sheet (replica)", started, status)
            stop.wait(rng.uniform(5, 15))

    def command_centre() -> None:
        versions = ""
        while not stop.is_set():
            started = time.monotonic()
            status, data = https("GET", f"/command/{round_.pk}/{district.pk}/data.json?v={versions}",
                                 *officer_session)  # fmt: skip
            endpoints.record("GET command:data (changed panels)", started, status)
            if status == 200:
                versions = ",".join(f"{k}:{v}" for k, v in json.loads(data)["versions"].items())
            stop.wait(5)

    lab_figures: dict[str, float] = defaultdict(float)

    def lab_pass() -> None:
        """Box the sealed tubes (100 a box), receive them, report the received ones' results."""
        from gridroll.labs.services import receive_box
        from gridroll.sampling.boxes import create_box, hand_over_box, pack_tube, seal_box
        from gridroll.sampling.models import Box, Tube

        try:
            # Boxes a fault interrupted are finished first, then new ones.
            for box in Box.objects.filter(round=round_, code__startswith="RH-").exclude(status="received"):
                if box.status == "packing":
                    box = seal_box(lab_user, box, box.tubes.count())
                if box.status == "sealed":
                    box = hand_over_box(lab_user, box, "演练检测所", courier="演练")
                receive_box(lab_user, box)
            sealed = Tube.objects.filter(round=round_, status="sealed", box__isnull=True).order_by("id")
            barcodes = list(sealed.values_list("barcode", flat=True)[:1000])
            for i in range(0, len(barcodes), 100):
                lab_figures["boxes"] += 1
                box = create_box(lab_user, site, f"RH-{int(lab_figures['boxes']):05d}")
                for barcode in barcodes[i : i + 100]:
                    pack_tube(lab_user, box, barcode)
                box = seal_box(lab_user, box, len(barcodes[i : i + 100]))
                box = hand_over_box(lab_user, box, "演练检测所", courier="演练")
                receive_box(lab_user, box)
            todo = list(
                Tube.objects.filter(round=round_, received_at__isnull=False, result="")
                .order_by("id")
                .values_list("barcode", flat=True)[:2000]
            )
        except Exception:  # the primary restarting: the next pass goes on from the rows
            lab_figures["passes_interrupted"] += 1
            connections.close_all()
            return
        finally:
            connections.close_all()
        if not todo:
            return
        rows = [{"tube": b, "result": "positive" if is_positive(b) else "negative"} for b in todo]
        started = time.monotonic()
        status, data = https(
            "POST", "/api/labs/results", *lab_session, json.dumps({"lab": "演练检测所", "rows": rows})
        )
        endpoints.record("POST /api/labs/results", started, status)
        if status == 200:
            answer = json.loads(data)
            lab_figures["tubes_reported"] += answer["applied"]
            lab_figures["positive_pools"] += len(answer["positive_tubes"])

    def lab() -> None:
        while not stop.is_set():
            lab_pass()
            stop.wait(10)

    threads = [threading.Thread(target=scanner, args=(p,)) for p in phones]
    threads += [threading.Thread(target=uploader, args=(p,)) for p in phones]
    pollers = [threading.Thread(target=grid_worker, args=w) for w in watchers]
    pollers += [threading.Thread(target=command_centre), threading.Thread(target=lab)]

    def read_cpu() -> None:
        while not stop.is_set():
            ledger.sample()
            stop.wait(1)

    pollers.append(threading.Thread(target=read_cpu))
    for t in threads + pollers:
        t.start()

    def at(fraction: float) -> None:
        while time.monotonic() - t0 < args.seconds * fraction:
            time.sleep(0.05)

    def note(what: str) -> None:
        fault_log.append((time.monotonic() - t0, what))

    at(0.15)
    phones[0].offline_until = time.monotonic() + min(60, args.seconds * 0.3)
    note("phone 0 offline")
    at(0.25)
    note("app server 1 killed -9 (nginx retries on the others)")
    apps[0].kill()
    at(0.35)
    began = time.monotonic()
    try:
        # Under a saturated machine a fresh instance takes long to answer its first page (30 s was not
        # enough once, and the run was lost): wait longer, and go on without it if it still does not.
        apps[0].start(wait=120)
        recoveries["app server 1 back (start to ready)"] = time.monotonic() - began
        note("app server 1 restarted")
    except RuntimeError:
        note("app server 1 not answering 120 s after its restart; nginx went on with the others")
    at(0.5)
    note("a worker of app server 2 killed -9")
    apps[1 % len(apps)].kill_worker()
    at(0.65)
    note("PostgreSQL primary restarted -m immediate")
    began = time.monotonic()
    primary.stop("immediate")
    primary.start()
    recoveries["primary restart (crash recovery, accepting again)"] = time.monotonic() - began
    at(0.8)
    note("replica promoted (read-heavy pages must fall back to the primary)")
    replica.promote()
    at(1.0)
    stop.set()
    drain = time.monotonic()
    for t in threads + pollers:
        t.join()
    drained_s = time.monotonic() - drain
    elapsed = time.monotonic() - t0
    # The lab's last passes: every tube the phones sealed is boxed, received and reported.
    for _ in range(5):
        lab_pass()
    ledger.sample()
    busy1 = machine_busy()
    for a in apps:
        a.stop()
    nginx.stop()

    # The invariants, checked as bench/faults.py checks them (lost, duplicated, roll call = recount).
    args.short = False
    code = faults.report(args, round_, phones, stats, fault_log, drained_s, name="rehearse_invariants")
    from gridroll.sampling.models import Sample

    bindings = Sample.objects.filter(round=round_).count()
    live = Sample.objects.filter(round=round_, is_removed=False)
    people = live.values("resident").distinct().count()
    last = live.order_by("-received_at").values_list("received_at", flat=True).first()
    last_s = round((last - wall0).total_seconds(), 1) if last else None
    lab_check = lab_invariants(round_)
    print(json.dumps({"lab": lab_check}, ensure_ascii=False, indent=2))
    if any(lab_check[k] for k in ("sealed_tubes_not_reported", "positive_members_without_retest",
                                  "reported_result_not_as_sent")):  # fmt: skip
        code = 1
    windows = [(t, t + 15) for t, what in fault_log if "offline" not in what]
    for start, seconds, status in stats.requests:
        endpoints.rows["POST /api/sampling/scans/batch"].append((start, seconds, status))
    per_endpoint = {}
    for name, rows in endpoints.rows.items():
        outside = [r for r in rows if not any(r[0] <= b and r[0] + r[1] >= a for a, b in windows)]
        ok = [r[1] for r in outside if r[2] == 200]
        per_endpoint[name] = {
            "requests": len(rows),
            "p50_ms": round(percentile(ok, 0.5), 1),
            "p99_ms": round(percentile(ok, 0.99), 1),
            "errors_outside_faults": sum(1 for r in outside if r[2] is None or r[2] >= 500),
            "errors_outside_at": [
                f"{r[0]:.1f}s {r[2] or 'no answer'}" for r in outside if r[2] is None or r[2] >= 500
            ][:8],
        }
    cpu = {k: round(v, 1) for k, v in ledger.totals().items()}
    busy = busy1 - busy0
    cores = os.cpu_count() or 1
    ours = sum(cpu.values())
    cpu["other engineers and the rest"] = round(max(0.0, busy - ours), 1)
    summary = {
        "seconds": round(elapsed, 1),
        "residents": len(tokens) if args.restore else args.residents,
        "restored_from": args.restore,
        "phones": args.phones,
        "app_servers": f"{args.instances} x {args.workers} workers",
        "setup_s": round(setup_s, 1),
        "bindings": bindings,
        "bindings_per_s": round(bindings / elapsed, 1),
        "target_bindings_per_s": 1400,
        # The phones scan their lists far faster than people queue (5-30 ms a scan), so a small district's
        # scanning can end well before --seconds: the rate while bindings were still arriving is the one
        # that measures the stack (bindings over the time to the last one recorded).
        "last_binding_after_s": last_s,
        "bindings_per_s_until_the_last": round(bindings / last_s, 1) if last_s else None,
        # About one add in twenty is undone by the phones and not scanned again: ~95% end up sampled.
        "arrivals": arrivals_summary(args, phones, no_shows),
        "people_with_a_code": len(set(tokens)),
        "people_coming": len(set(coming)),
        "people_sampled": people,
        "machine_cpu_busy": f"{busy / elapsed:.2f} of {cores} cores",
        "cpu_seconds_by_process": dict(sorted(cpu.items(), key=lambda kv: -kv[1])),
        "first_bottleneck": first_bottleneck(cpu, busy / elapsed, cores),
        "per_endpoint": per_endpoint,
        "recoveries_s": {k: round(v, 1) for k, v in recoveries.items()},
        "queues_drained_s": round(drained_s, 1),
        "lab": {**{k: int(v) for k, v in lab_figures.items()}, **lab_check},
    }
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "rehearse.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2))
    connections.close_all()
    replica.stop("immediate")
    primary.stop("immediate")
    shutil.rmtree(work, ignore_errors=True)
    return code


def stop_everything() -> None:
    for thing in RUNNING:
        if isinstance(thing, Postgres):
            thing.stop("immediate")
        else:
            thing.stop()


if __name__ == "__main__":
    try:
        code = main()
    finally:
        stop_everything()
    sys.exit(code)
