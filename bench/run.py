"""Run the benchmarks, print a table and write bench/results/latest.json. Never part of `make test`.

    make bench                       # everything
    make bench ARGS="--only import --rounds 3"

Each benchmark runs in its own process against a fresh database: a SQLite file under bench/data/ and,
when PostgreSQL answers on 127.0.0.1:5432 (or BENCH_POSTGRES_URL), a database named gridroll_bench_*.
PostgreSQL runs with stock settings; nothing is changed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "latest.json"
POSTGRES = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")


def fresh_postgres(name: str) -> str | None:
    try:
        import psycopg

        with psycopg.connect(
            POSTGRES.replace("postgres://", "postgresql://") + "/postgres", autocommit=True, connect_timeout=3
        ) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name}")
            conn.execute(f"CREATE DATABASE {name}")
    except Exception as exc:
        print(f"PostgreSQL not available ({exc}); skipping its runs", file=sys.stderr)
        return None
    return f"{POSTGRES}/{name}"


def fresh_sqlite(name: str) -> str:
    (HERE / "data").mkdir(exist_ok=True)
    path = HERE / "data" / f"{name}.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    return f"sqlite:///{path}"


def run_script(script: str, database_url: str, extra: list[str]) -> list[dict]:
    # The demo's settings (no production SECRET_KEY or ALLOWED_HOSTS here); DEBUG off for speed.
    env = dict(os.environ, DATABASE_URL=database_url, DEBUG="0")
    env.setdefault("GRIDROLL_DEMO", "1")
    print(f"-- {script} on {database_url.split('://')[0]}", file=sys.stderr, flush=True)
    out = subprocess.run(
        [sys.executable, str(HERE / script), *extra], env=env, check=True, capture_output=True, text=True
    )
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


def bench_import(args) -> list[dict]:
    results = []
    extra = ["--rounds", str(args.rounds), "--rows", str(args.rows)]
    results += run_script("import_bench.py", fresh_sqlite("gridroll_bench_import"), extra)
    url = fresh_postgres("gridroll_bench_import")
    if url:
        results += run_script("import_bench.py", url, extra)
    return results


def bench_codes(args) -> list[dict]:
    extra = ["--rounds", str(args.rounds)]
    results = run_script("codes_bench.py", fresh_sqlite("gridroll_bench_codes"), extra)
    url = fresh_postgres("gridroll_bench_codes")
    if url:
        # The floors and QR figures do not depend on the database: keep the PostgreSQL issue rate only.
        results += [
            r for r in run_script("codes_bench.py", url, extra) if r["name"].startswith("codes.postgresql")
        ]
    return results


def bench_scan(args) -> list[dict]:
    import shutil

    if not shutil.which("wrk"):
        print("the scan benchmark needs wrk (apt-get install wrk); skipped", file=sys.stderr)
        return []
    url = fresh_postgres("gridroll_bench_scan")
    if not url:
        print("the scan benchmark needs PostgreSQL; skipped", file=sys.stderr)
        return []
    return run_script("scan_bench.py", url, ["--rounds", str(args.rounds)])


def bench_fastpath(args) -> list[dict]:
    url = fresh_postgres("gridroll_bench_fastpath")
    if not url:
        print("the fast-path benchmark needs PostgreSQL; skipped", file=sys.stderr)
        return []
    return run_script("fastpath_bench.py", url, ["--rounds", str(args.rounds)])


def bench_rollcall(args) -> list[dict]:
    # BENCH_REUSE=1 keeps the database of an earlier run (its setup takes about a quarter hour).
    if os.environ.get("BENCH_REUSE") == "1":
        url = f"{POSTGRES}/gridroll_bench_rollcall"
    else:
        url = fresh_postgres("gridroll_bench_rollcall")
    if not url:
        print("the roll-call benchmark needs PostgreSQL; skipped", file=sys.stderr)
        return []
    return run_script("rollcall_bench.py", url, ["--rounds", str(args.rounds)])


def bench_command(args) -> list[dict]:
    # The command view on the 1,000,000-resident district with three rounds. Its database is the cache:
    # kept (BENCH_REUSE=1) or built again (about a quarter hour).
    if os.environ.get("BENCH_REUSE") == "1":
        url = f"{POSTGRES}/gridroll_bench_command"
    else:
        url = fresh_postgres("gridroll_bench_command")
    if not url:
        print("the command benchmark needs PostgreSQL; skipped", file=sys.stderr)
        return []
    return run_script("command_bench.py", url, ["--rounds", str(max(args.rounds, 5))])


def bench_reconcile(args) -> list[dict]:
    rounds = ["--rounds", str(args.rounds)]
    small, large = ["--sizes", "5000:50000"], ["--sizes", "100000:1000000"]
    # The engine needs no database; the command runs on SQLite and, for both sizes, on PostgreSQL.
    results = run_script("reconcile_bench.py", fresh_sqlite("gridroll_bench_reconcile"), [*rounds, *small])
    url = fresh_postgres("gridroll_bench_reconcile")
    if url:
        results += run_script("reconcile_bench.py", url, [*rounds, *small, "--command-only"])
        url = fresh_postgres("gridroll_bench_reconcile_1m")
        results += run_script("reconcile_bench.py", url, [*rounds, *large])
    else:
        results += run_script(
            "reconcile_bench.py", fresh_sqlite("gridroll_bench_reconcile"), [*rounds, *large, "--engine-only"]
        )
    return results


def bench_gridpage(args) -> list[dict]:
    extra = ["--rounds", str(args.rounds)]
    results = run_script("gridpage_bench.py", fresh_sqlite("gridroll_bench_gridpage"), extra)
    url = fresh_postgres("gridroll_bench_gridpage")
    if url:
        results += [
            {**r, "name": r["name"].replace("gridpage.", "gridpage.postgresql.")}
            for r in run_script("gridpage_bench.py", url, extra)
        ]
    return results


def bench_cards(args) -> list[dict]:
    # The card sheet's PDF against its HTML print view; the database only holds the cards' people.
    return run_script("cards_bench.py", fresh_sqlite("gridroll_bench_cards"), ["--rounds", str(args.rounds)])


def bench_planning(args) -> list[dict]:
    # In memory: no database (the planner and the simulation are pure).
    return run_script("planning_bench.py", "sqlite://", ["--rounds", str(args.rounds)])


BENCHES = {
    "cards": bench_cards,
    "codes": bench_codes,
    "fastpath": bench_fastpath,
    "gridpage": bench_gridpage,
    "import": bench_import,
    "planning": bench_planning,
    "reconcile": bench_reconcile,
    "rollcall": bench_rollcall,
    "command": bench_command,
    "scan": bench_scan,
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", choices=sorted(BENCHES), action="append")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    results: list[dict] = []
    failed = []
    for name in args.only or sorted(BENCHES):
        try:
            results += BENCHES[name](args)
        except subprocess.CalledProcessError as exc:
            # Keep what the other benchmarks measured; say which one failed and why.
            failed.append(name)
            print(f"benchmark {name} failed:\n{exc.stderr[-3000:]}", file=sys.stderr)
    print(f"\n{'benchmark':<40} {'median':>12} {'unit':<8} runs")
    for r in results:
        print(f"{r['name']:<40} {r['value']:>12} {r['unit']:<8} {r.get('runs', '')}")
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
    names = {r["name"] for r in results}
    merged = [r for r in previous if r["name"] not in names] + [
        {"name": r["name"], "value": r["value"], "unit": r["unit"]} for r in results
    ]
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(merged, ensure_ascii=False, indent=1) + "\n")
    print(f"\nwritten to {RESULTS.relative_to(HERE.parent)}")
    if failed:
        raise SystemExit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
