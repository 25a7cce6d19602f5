"""Fault injection on the scan upload path: simulated phones uploading as the scanner page does, while
gunicorn workers and master are killed with -9, PostgreSQL is restarted in immediate mode, a phone goes
offline, responses are lost after the upload, batches are sent twice at once and clocks are skewed.

Afterwards every invariant is checked against the database: every action sent is recorded exactly once
(none lost, none duplicated, none left queued), no tube over capacity, nobody twice in a tube, tube sizes
equal their live samples, the roll call equals a recount (rollcall.services.check_round), and so do the
command view's kept counts (hours, sites, scans per site and minute). It exits
non-zero when any of them fails, so that CI can run the short version:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/gridroll_faults .venv/bin/python bench/faults.py --short

A phone follows scanner.js's protocol (docs/algorithms/scan.md): every action carries a nonce, the device
and the device's time; the queue is uploaded as one batch; an answered action leaves the queue, a
network error, a 5xx or an expired login keeps it for the next try.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridroll.settings")
os.environ.setdefault("GRIDROLL_DEMO", "1")


def _create_database() -> None:
    """The run's own PostgreSQL database, made if missing (Django's migrate needs it to exist)."""
    import dj_database_url
    import psycopg

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        return
    cfg = dj_database_url.parse(url)
    with psycopg.connect(
        host=cfg["HOST"] or "127.0.0.1",
        port=cfg["PORT"] or 5432,
        user=cfg["USER"] or "postgres",
        dbname="postgres",
        autocommit=True,
    ) as c:
        if not c.execute("SELECT 1 FROM pg_database WHERE datname = %s", [cfg["NAME"]]).fetchone():
            c.execute(f'CREATE DATABASE "{cfg["NAME"]}"')


_create_database()

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.db.models import Count, F  # noqa: E402
from django.utils import timezone  # noqa: E402
from phones import Phone, Stats  # noqa: E402
from stack import Gunicorn  # noqa: E402

from gridroll.accounts.models import Grant  # noqa: E402
from gridroll.areas.models import Area  # noqa: E402
from gridroll.codes.models import PersonalCode  # noqa: E402
from gridroll.codes.services import issue_codes  # noqa: E402
from gridroll.residents.models import Resident  # noqa: E402
from gridroll.rollcall.services import check_round, sync_round  # noqa: E402
from gridroll.sampling.models import Round, RoundArea, Sample, ScanAction, Site, Station, Tube  # noqa: E402
from gridroll.sampling.services import check_scan_minutes, check_site_tallies  # noqa: E402

PORT = int(os.environ.get("FAULTS_PORT", "8766"))


# --------------------------------------------------------------------------------------------- set-up


def setup(residents: int, phones: int) -> tuple[Round, Site, list[User], list[str]]:
    call_command("migrate", verbosity=0)
    if not Resident.objects.exists():
        from generate_district import generate

        generate(residents=residents, quiet=True)
        issue_codes(Resident.objects.all())
    district = Area.objects.get(parent__isnull=True)
    now = timezone.now()
    round_ = Round.objects.create(
        name="faults",
        starts_at=now - timezone.timedelta(minutes=30),
        ends_at=now + timezone.timedelta(hours=6),
        status=Round.Status.OPEN,
    )
    RoundArea.objects.create(round=round_, area=district, pool_mode="pool10")
    sync_round(round_)
    site = Site.objects.create(area=district, name=f"faults-{round_.pk}")
    for i in range(phones):
        Station.objects.create(site=site, name=f"{i + 1}号台")
    users = []
    for i in range(phones):
        user, _ = User.objects.get_or_create(username=f"faults-sampler-{i}")
        Grant.objects.get_or_create(user=user, area=district, role="sampler")
        users.append(user)
    tokens = list(
        PersonalCode.objects.filter(revoked_at__isnull=True, resident__isnull=False)
        .order_by("?")
        .values_list("token", flat=True)
    )
    return round_, site, users, tokens


# ------------------------------------------------------------------------------------------- gunicorn


def server() -> Gunicorn:
    """gunicorn with 2 sync workers (bench/stack.py); killed and restarted on the schedule."""
    env = {
        "DEBUG": "0",
        "GRIDROLL_DEMO": "1",
        "CONN_MAX_AGE": "60",
        "LOG_LEVEL": "ERROR",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
    }
    return Gunicorn(PORT, workers=2, env=env, timeout=30)


def restart_postgres() -> bool:
    """PostgreSQL restarted in immediate mode (crash recovery on start), as in the issue's fault run."""
    version = next(iter(os.listdir("/etc/postgresql")), None) if os.path.isdir("/etc/postgresql") else None
    if version is None:
        return False
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", "-m", "immediate", version, "main", "restart"],
        check=True,
        capture_output=True,
    )
    return True


# ---------------------------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--short", action="store_true", help="the CI version (about 2 minutes)")
    parser.add_argument("--phones", type=int, default=12)
    parser.add_argument("--seconds", type=int, default=180)
    parser.add_argument("--residents", type=int, default=30_000)
    parser.add_argument("--no-db-restart", action="store_true")
    parser.add_argument("--seed", type=int, default=21)
    args = parser.parse_args()
    if args.short:
        args.seconds, args.residents = 60, 8_000
    if connection.vendor != "postgresql":
        raise SystemExit("fault injection needs PostgreSQL (DATABASE_URL=postgres://...)")
    random.seed(args.seed)
    round_, site, users, tokens = setup(args.residents, args.phones)
    # Each phone scans its own people; a few people are on two phones: the deliberate races (an undo on
    # one lane while another adds the same person).
    share = len(tokens) // args.phones
    lists = [tokens[i * share : (i + 1) * share] for i in range(args.phones)]
    contested = tokens[-40:]
    for i, t in enumerate(contested):
        lists[i % args.phones].append(t)
        lists[(i + 1) % args.phones].append(t)
    stats = Stats()
    phones = [
        Phone(i, users[i], round_, site, lists[i], stats, ("127.0.0.1", PORT, False))
        for i in range(args.phones)
    ]
    connections.close_all()
    server_ = server()
    server_.start()
    stop = threading.Event()
    faults: list[tuple[float, str]] = []
    lose, double = 0.05, 0.03

    def scanner(phone: Phone) -> None:
        rng = random.Random(args.seed * 100 + phone.n)
        while not stop.is_set() and phone.scan_some(rng):
            pass
        connections.close_all()

    def uploader(phone: Phone) -> None:
        rng = random.Random(args.seed * 1000 + phone.n)
        while not (stop.is_set() and not phone.queue):
            phone.upload_once(rng, lose if not stop.is_set() else 0, double if not stop.is_set() else 0)
            time.sleep(rng.uniform(0.3, 0.7) if not stop.is_set() else 0.2)
            if stop.is_set() and time.monotonic() - stats.t0 > args.seconds + 120:
                break

    threads = [threading.Thread(target=scanner, args=(p,)) for p in phones]
    threads += [threading.Thread(target=uploader, args=(p,)) for p in phones]
    for t in threads:
        t.start()

    def at(fraction: float) -> None:
        while time.monotonic() - stats.t0 < args.seconds * fraction:
            time.sleep(0.05)

    at(0.15)
    phones[0].offline_until = time.monotonic() + min(60, args.seconds * 0.4)
    faults.append((time.monotonic() - stats.t0, "phone 0 offline"))
    at(0.25)
    faults.append((time.monotonic() - stats.t0, "gunicorn worker killed -9"))
    server_.kill_worker()
    at(0.45)
    faults.append((time.monotonic() - stats.t0, "gunicorn master and workers killed -9, restarted"))
    server_.kill()
    time.sleep(1)
    server_.start()
    if not args.no_db_restart:
        at(0.65)
        faults.append((time.monotonic() - stats.t0, "PostgreSQL restarted -m immediate"))
        if not restart_postgres():
            faults[-1] = (faults[-1][0], "PostgreSQL restart skipped (no pg_ctlcluster)")
    at(1.0)
    stop.set()
    drain_started = time.monotonic()
    for t in threads:
        t.join()
    drained_s = time.monotonic() - drain_started
    server_.kill()
    connections.close_all()
    return report(args, round_, phones, stats, faults, drained_s)


def report(args, round_, phones, stats, faults, drained_s, name: str = "faults") -> int:
    keys = {(p.user_id, p.device, n) for p in phones for n in p.sent}
    stored = Counter(
        ScanAction.objects.filter(round=round_).values_list("user_id", "device_id", "nonce").iterator()
    )
    stored_all = Counter(
        ScanAction.objects.filter(device_id__in=[p.device for p in phones])
        .values_list("user_id", "device_id", "nonce")
        .iterator()
    )
    lost = len(keys - set(stored_all))
    duplicated = sum(n - 1 for n in stored_all.values() if n > 1)
    left = sum(len(p.queue) for p in phones)
    unanswered = sum(len(p.sent) - len(p.answered) for p in phones)
    live = Sample.objects.filter(round=round_, is_removed=False)
    twice_in_tube = live.values("tube", "resident").annotate(n=Count("id")).filter(n__gt=1).count()
    sample_dupes = (
        Sample.objects.filter(round=round_).values("nonce").annotate(n=Count("id")).filter(n__gt=1).count()
    )
    over = Tube.objects.filter(round=round_, size__gt=F("capacity")).count()
    sizes = dict(live.values("tube").annotate(n=Count("id")).values_list("tube", "n"))
    wrong_sizes = sum(1 for t in Tube.objects.filter(round=round_) if sizes.get(t.pk, 0) != t.size)
    roll = check_round(round_)
    # The command view's kept counts: first samples per grid and hour, live samples per site, scans per
    # site and minute (each equal to a recount; docs/command.md).
    kept_wrong = len(roll["hours"]) + len(check_site_tallies(round_)) + len(check_scan_minutes(round_))
    windows = [(t, t + 15) for t, what in faults if "offline" not in what]
    # A request is in a fault window if it was under way at any time within one (one sent just before a
    # worker was killed loses its answer with it).
    outside = [r for r in stats.requests if not any(r[0] <= b and r[0] + r[1] >= a for a, b in windows)]
    errors_out = [r for r in outside if r[2] is None or r[2] >= 500]
    errors_in = [r for r in stats.requests if (r[2] is None or r[2] >= 500) and r not in outside]
    ok = sorted(r[1] for r in outside if r[2] == 200)
    p50 = statistics.median(ok) * 1000 if ok else 0
    p99 = ok[int(0.99 * (len(ok) - 1))] * 1000 if ok else 0
    summary = {
        "actions_sent": len(keys),
        "actions_recorded": len(keys & set(stored_all)),
        "lost": lost,
        "duplicated_actions": duplicated,
        "duplicated_samples": sample_dupes,
        "left_queued": left,
        "unanswered": unanswered,
        "tubes_over_capacity": over,
        "person_twice_in_a_tube": twice_in_tube,
        "tube_size_not_its_samples": wrong_sizes,
        "rollcall_entries_wrong": len(roll["entries"]),
        "rollcall_tallies_wrong": len(roll["tallies"]),
        "command_counts_wrong": kept_wrong,
        "requests": len(stats.requests),
        "errors_in_fault_windows": len(errors_in),
        "errors_outside_fault_windows": len(errors_out),
        "upload_p50_ms": round(p50, 1),
        "upload_p99_ms": round(p99, 1),
        "queues_drained_s": round(drained_s, 1),
        "faults": [f"{t:.1f}s {what}" for t, what in faults],
        "errors_outside_at": [f"{r[0]:.1f}s {r[2] or 'no answer'}" for r in errors_out][:20],
        "samples": live.count(),
        "recorded_in_round": sum(stored.values()),
    }
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    must_be_zero = [
        "lost",
        "duplicated_actions",
        "duplicated_samples",
        "left_queued",
        "unanswered",
        "tubes_over_capacity",
        "person_twice_in_a_tube",
        "tube_size_not_its_samples",
        "rollcall_entries_wrong",
        "rollcall_tallies_wrong",
        "command_counts_wrong",
        "errors_outside_fault_windows",
    ]
    failed = [k for k in must_be_zero if summary[k]]
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2))
    if failed:
        print("FAILED:", ", ".join(failed))
        return 1
    print("fault run: every invariant held")
    return 0


if __name__ == "__main__":
    sys.exit(main())
