"""Scan API under load: gunicorn (sync workers) on PostgreSQL, wrk with 32 connections.

Rounds alternate the floor (a bare Django + ninja endpoint that inserts one row) and the real
single-scan endpoint (every check, the ScanAction record that is the scan's audit, the sample), then a
backlog upload of 50 scans per request. Afterwards it counts rows: every 2xx response is exactly one
ScanAction, every accepted add exactly one Sample, no tube over capacity.

    make bench ARGS="--only scan"
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridroll.settings")
os.environ["GRIDROLL_BENCH"] = "1"

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.utils import timezone  # noqa: E402
from stack import Gunicorn  # noqa: E402

from gridroll.accounts.models import Grant  # noqa: E402
from gridroll.areas.models import Area  # noqa: E402
from gridroll.audit.models import AuditRecord  # noqa: E402
from gridroll.codes.models import PersonalCode  # noqa: E402
from gridroll.codes.services import issue_codes  # noqa: E402
from gridroll.residents.models import Resident  # noqa: E402
from gridroll.rollcall.services import sync_round  # noqa: E402
from gridroll.sampling.models import Round, RoundArea, Sample, ScanAction, Site, Station, Tube  # noqa: E402
from gridroll.sampling.services import record_actions  # noqa: E402

DATA = HERE / "data"
PORT = 8765
LUA = """
-- Each wrk thread sends its own share of the bodies (thread t: bodies t+1, t+1+n, …), so that no body is
-- sent twice unless a thread runs out of them (the benchmark checks that it did not).
local threads = tonumber(os.getenv("BENCH_THREADS") or "2")
local counter = 0
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end
local bodies = {}
local i = 0
local path = os.getenv("BENCH_PATH")
local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "0")
function init(args)
  for line in io.lines(args[1]) do bodies[#bodies + 1] = line end
end
function request()
  local body = bodies[(i * threads + tid) % #bodies + 1]
  i = i + 1
  return wrk.format("POST", path, nil, body)
end
-- A paced run: each connection waits before its next request, so that the offered rate is fixed
-- (what "p99 at half the sustained rate" needs; wrk alone always runs flat out).
if pause > 0 then
  function delay() return pause end
end
"""
THREADS = 2
CAPACITY = 20
# Bodies per run: more than a run can send at these machines' rates, so that none is sent twice.
SINGLE_BODIES, HALF_BODIES, BATCHES = 12_000, 4_000, 1_000


def setup(residents: int) -> tuple[User, Round, Site, list[str]]:
    call_command("migrate", verbosity=0)
    if not Resident.objects.exists():
        from generate_district import generate

        generate(residents=residents, quiet=True)
        issue_codes(Resident.objects.all())
    district = Area.objects.get(parent__isnull=True)
    user, _ = User.objects.get_or_create(username="bench-sampler")
    Grant.objects.get_or_create(user=user, area=district, role="sampler")
    round_ = new_round(district)
    site = Site.objects.create(area=district, name=f"bench-{round_.pk}")
    Station.objects.create(site=site, name="1")
    tokens = list(
        PersonalCode.objects.filter(revoked_at__isnull=True).order_by("id").values_list("token", flat=True)
    )
    return user, round_, site, tokens


def new_round(district: Area) -> Round:
    """An open round over the district at 20-in-1 with its roll call (every scan moves it, as in a real
    round). Each benchmark round has its own, so that everyone can be sampled once in each."""
    now = timezone.now()
    round_ = Round.objects.create(
        name="bench", starts_at=now, ends_at=now + timezone.timedelta(hours=6), status=Round.Status.OPEN
    )
    RoundArea.objects.create(round=round_, area=district, pool_mode="pool20")
    sync_round(round_)
    return round_


def backlogs(round_: Round, site: Site, people, count: int) -> Path:
    """``count`` request bodies, each one phone's offline queue of 50 scans as the scanner page builds it:
    open a tube, add 20 people (it closes itself), open the next, …: 3 tubes, 53 actions."""
    lines = []
    for n in range(count):
        actions = []
        for t, size in enumerate((20, 20, 10)):
            tube = f"BB{round_.pk:03d}{n:06d}{t}"
            actions.append(action(round_, site, "open_tube", tube))
            actions += [action(round_, site, "add", tube, code=next(people)) for _ in range(size)]
        lines.append(json.dumps({"actions": actions}))
    path = DATA / "batches.jsonl"
    path.write_text("\n".join(lines))
    return path


def open_tubes(user: User, round_: Round, site: Site, count: int) -> list[str]:
    tubes = [f"BT{round_.pk:03d}{i:07d}" for i in range(count)]
    for start in range(0, count, 500):
        record_actions(user, [action(round_, site, "open_tube", b) for b in tubes[start : start + 500]])
    return tubes


def session_cookie(user: User) -> tuple[str, str]:
    store = SessionStore()
    store["_auth_user_id"] = str(user.pk)
    store["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    store["_auth_user_hash"] = user.get_session_auth_hash()
    store.create()
    csrf = uuid.uuid4().hex  # 32 characters: Django accepts an unmasked secret in cookie and header
    return f"sessionid={store.session_key}; csrftoken={csrf}", csrf


def action(round_, site, kind, tube, **extra) -> dict:
    return {
        "nonce": uuid.uuid4().hex,
        "device_id": "bench",
        "device_time": timezone.now().isoformat(),
        "kind": kind,
        "round_id": round_.pk,
        "site_id": site.pk,
        "station_id": None,
        "tube": tube,
        **extra,
    }


def wrk(
    path: str, bodies: Path, seconds: int, connections: int, cookie: str, csrf: str, delay_ms: int = 0
) -> dict:
    script = DATA / "scan.lua"
    script.write_text(LUA)
    out = subprocess.run(
        [
            "wrk",
            f"-t{THREADS}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(script),
            "-H",
            "Content-Type: application/json",
            "-H",
            f"Cookie: {cookie}",
            "-H",
            f"X-CSRFToken: {csrf}",
            "-H",
            f"Referer: http://127.0.0.1:{PORT}/",
            f"http://127.0.0.1:{PORT}",
            "--",
            str(bodies),
        ],
        capture_output=True,
        text=True,
        env=dict(os.environ, BENCH_PATH=path, BENCH_DELAY_MS=str(delay_ms), BENCH_THREADS=str(THREADS)),
        check=True,
    ).stdout

    def latency(p):
        m = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out)
        value, unit = float(m[1]), m[2]
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    requests = int(re.search(r"(\d+) requests in", out)[1])
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1]),
        "requests": requests,
        "errors": int(non2xx[1]) if non2xx else 0,
        "p50": latency(50),
        "p99": latency(99),
        "raw": out,
    }


def start_gunicorn() -> Gunicorn:
    """2 sync workers (bench/stack.py, shared with bench/faults.py)."""
    server = Gunicorn(
        PORT, workers=2, env={"DEBUG": "0", "GRIDROLL_BENCH": "1", "CONN_MAX_AGE": "60", "LOG_LEVEL": "ERROR"}
    )
    server.start(wait=20)
    return server


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--residents", type=int, default=70_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=8)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("the scan benchmark needs PostgreSQL (DATABASE_URL=postgres://...)")
    needed = SINGLE_BODIES + HALF_BODIES + BATCHES * 50
    if args.residents < needed:
        raise SystemExit(f"--residents must be at least {needed}: everyone is scanned once per round")
    DATA.mkdir(exist_ok=True)
    user, first_round, site, tokens = setup(args.residents)
    cookie, csrf = session_cookie(user)
    proc = start_gunicorn()
    results: dict[str, list[dict]] = {"floor": [], "scan": [], "batch": [], "half": []}
    rounds: list[Round] = []
    try:
        for n in range(args.rounds):
            # A round of its own: everyone can be scanned once, each add moves the roll call.
            round_ = first_round if n == 0 else new_round(first_round.areas.get().area)
            rounds.append(round_)
            # Single scans from 32 stations at once go to open tubes spread over the site (one tube per
            # station at a time); a backlog opens and fills tubes of its own.
            singles = SINGLE_BODIES + HALF_BODIES
            tubes = open_tubes(user, round_, site, singles // CAPACITY)
            place = iter(tubes[i % len(tubes)] for i in range(singles))
            people = iter(tokens)

            def bodies(name: str, count: int, per_body: int = 0) -> Path:
                def add() -> dict:
                    return action(round_, site, "add", next(place), code=next(people))  # noqa: B023

                path = DATA / name
                lines = (
                    json.dumps({"actions": [add() for _ in range(per_body)]})
                    if per_body
                    else json.dumps(add())
                    for _ in range(count)
                )
                path.write_text("\n".join(lines))
                return path

            floor = DATA / "floor.jsonl"
            floor.write_text("\n".join(json.dumps({"nonce": uuid.uuid4().hex}) for _ in range(20000)))
            results["floor"].append(wrk("/api/bench/insert", floor, args.seconds, 32, cookie, csrf))
            scans = bodies("scans.jsonl", SINGLE_BODIES)
            results["scan"].append(wrk("/api/sampling/scans", scans, args.seconds, 32, cookie, csrf))
            # Half the rate just sustained, offered at a steady pace: the latency a queue would see.
            half = results["scan"][-1]["rps"] / 2
            paced = bodies("paced.jsonl", HALF_BODIES)
            delay = max(1, round(32 / half * 1000))
            results["half"].append(
                wrk("/api/sampling/scans", paced, args.seconds, 32, cookie, csrf, delay_ms=delay)
            )
            batches = backlogs(round_, site, people, BATCHES)
            results["batch"].append(wrk("/api/sampling/scans/batch", batches, args.seconds, 8, cookie, csrf))
            for kind, sent in (("scan", SINGLE_BODIES), ("half", HALF_BODIES), ("batch", BATCHES)):
                if results[kind][-1]["requests"] > sent:
                    raise SystemExit(f"{kind}: wrk ran out of bodies and re-sent some; raise {sent}")
    finally:
        proc.stop()

    # Correctness after the load: every 2xx response is its actions recorded exactly once.
    actions = ScanAction.objects.filter(round__in=rounds, kind="add")
    accepted = actions.filter(result__in=["accepted", "warned"]).count()
    samples = Sample.objects.filter(round__in=rounds).count()
    over = Tube.objects.filter(round__in=rounds, size__gt=CAPACITY).count()
    duplicates = actions.count() - actions.values("nonce").distinct().count()
    refused = dict(actions.filter(result="refused").values_list("reason").annotate(n=Count("id")))
    answered = sum(r["requests"] - r["errors"] for kind in ("scan", "half") for r in results[kind])
    answered += 50 * sum(r["requests"] - r["errors"] for r in results["batch"])
    errors = sum(r["errors"] for kind in results for r in results[kind])
    assert samples == accepted, (samples, accepted)
    assert over == 0 and duplicates == 0
    # A backlog's full tubes closed themselves; its last one waits open for more.
    backlog_tubes = Tube.objects.filter(round__in=rounds, barcode__startswith="BB")
    assert not backlog_tubes.filter(size=CAPACITY).exclude(status="sealed").exists()
    assert not backlog_tubes.filter(size__lt=CAPACITY).exclude(status="open").exists()
    # A request still in flight when wrk stops is not counted by it but may be recorded: allow those.
    in_flight = 32 * 2 + 8 * 50
    assert answered <= actions.count() <= answered + in_flight * args.rounds, (answered, actions.count())
    floor_rows = AuditRecord.objects.filter(action="bench.floor").count()

    ratios = [s["rps"] / f["rps"] for s, f in zip(results["scan"], results["floor"], strict=True)]
    # The backlog's scans/s per floor request/s, round by round: what carries from one machine (or one
    # hour of this shared one) to another. The 5,000 scans/s target was set beside a ~1,230 req/s floor.
    per_floor = [50 * b["rps"] / f["rps"] for b, f in zip(results["batch"], results["floor"], strict=True)]

    def med(kind, key):
        return statistics.median(x[key] for x in results[kind])

    out = [
        ("scan.floor_insert_rps", med("floor", "rps"), "req/s"),
        ("scan.single_rps", med("scan", "rps"), "req/s"),
        # Each round's single run beside the floor run just before it: the median of those ratios
        # (the machine drifts between rounds more than within one).
        ("scan.single_vs_floor", round(statistics.median(ratios), 3), "ratio"),
        ("scan.single_p50_ms", med("scan", "p50"), "ms"),
        ("scan.single_p99_ms", med("scan", "p99"), "ms"),
        ("scan.half_rate_rps", med("half", "rps"), "req/s"),
        ("scan.half_rate_p50_ms", med("half", "p50"), "ms"),
        ("scan.half_rate_p99_ms", med("half", "p99"), "ms"),
        ("scan.floor_p99_ms", med("floor", "p99"), "ms"),
        ("scan.batch50_scans_per_s", round(med("batch", "rps") * 50), "scans/s"),
        ("scan.batch50_per_floor", round(statistics.median(per_floor), 2), "ratio"),
        ("scan.batch50_p50_ms", med("batch", "p50"), "ms"),
        ("scan.batch50_p99_ms", med("batch", "p99"), "ms"),
        ("scan.rows_samples", samples, "rows"),
        ("scan.rows_duplicated", duplicates, "rows"),
        ("scan.tubes_over_capacity", over, "tubes"),
        ("scan.non_2xx_responses", errors, "responses"),
    ]
    runs = {"scan.floor_insert_rps": "floor", "scan.single_rps": "scan", "scan.batch50_scans_per_s": "batch"}
    for name, value, unit in out:
        entry = {"name": name, "value": round(value, 2) if isinstance(value, float) else value, "unit": unit}
        if name == "scan.single_vs_floor":
            entry["runs"] = [round(r, 3) for r in ratios]
        if name == "scan.batch50_per_floor":
            entry["runs"] = [round(r, 2) for r in per_floor]
        if name in runs:
            entry["runs"] = [
                round(x["rps"] * (50 if name.startswith("scan.batch") else 1)) for x in results[runs[name]]
            ]
        print(json.dumps(entry))
    print(f"refused reasons: {refused}; floor rows {floor_rows}", file=sys.stderr)


if __name__ == "__main__":
    main()
