"""The replica and failover drill, one command (CI runs it; about a minute):

    .venv/bin/python deploy/drill_failover.py

On clusters of its own (primary on 5471, a streaming replica made by ``pg_basebackup -R`` on 5472; the
machine's 5432 cluster is never touched), with gridroll migrated on the primary:

1. the read-heavy pages' reads go to the replica once it has caught up (gridroll/core/dbrouter.py);
2. replay is paused on the replica (``pg_wal_replay_pause()``) and the primary written: once the replica
   is more than ``GRIDROLL_REPLICA_MAX_LAG_SECONDS`` (1 s here) behind, the router reads from the primary
   and sees the new row; replay resumed, the reads go back to the replica;
3. failover: the primary is killed (-m immediate), the replica promoted (``pg_ctl promote``); every row
   committed on the primary before is on it, it takes writes, and the router no longer treats it as a
   replica (it is out of recovery). The time from the kill to the first write is printed.

Exits non-zero when a step fails. docs/deployment.md describes the same failover on real servers.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from stack import Postgres  # noqa: E402

PRIMARY_PORT, REPLICA_PORT = 5471, 5472
WORK = Path(tempfile.mkdtemp(prefix="gridroll-failover-"))
primary = Postgres(PRIMARY_PORT, WORK / "primary")
replica = Postgres(REPLICA_PORT, WORK / "replica", {"hot_standby": "on"})
failures: list[str] = []


def check(ok: bool, what: str) -> None:
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def wait(condition, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def main() -> int:
    primary.init()
    primary.start()
    primary.sql("CREATE DATABASE gridroll")
    os.environ.update(
        GRIDROLL_DEMO="1",
        DATABASE_URL=primary.url("gridroll"),
        REPLICA_DATABASE_URL=replica.url("gridroll"),
        GRIDROLL_REPLICA_MAX_LAG_SECONDS="1",
        GRIDROLL_REPLICA_CHECK_SECONDS="0",
        CONN_MAX_AGE="0",
        DJANGO_SETTINGS_MODULE="gridroll.settings",
    )
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    from gridroll.areas.models import Area, Level
    from gridroll.core import dbrouter
    from gridroll.core.dbrouter import ReplicaRouter, read_heavy

    call_command("migrate", verbosity=0)
    Area.objects.create(name="演练区", level=Level.DISTRICT)
    replica.datadir.parent.mkdir(exist_ok=True)
    primary.base_backup(replica.datadir, replica=True)
    replica.configure()
    replica.start()

    def routed() -> str:
        dbrouter.forget_verdict()
        with read_heavy():
            return ReplicaRouter().db_for_read(Area)

    # 1. Caught up: read-heavy reads on the replica, and they see the primary's rows.
    check(wait(lambda: routed() == "replica"), "read-heavy reads go to the caught-up replica")
    Area.objects.create(name="复制中", level=Level.DISTRICT)  # streamed, not in the base backup

    def replica_areas() -> int:
        return replica.sql("SELECT count(*) FROM areas_area", "gridroll")[0][0]

    # Asked of the replica itself: a count through the router may be the primary's while the replica
    # is still behind (on a loaded machine the fallback answers first, and that is not streaming).
    check(wait(lambda: replica_areas() == 2), "the replica streams the primary's writes")
    with read_heavy():
        check(wait(lambda: routed() == "replica"), "…and read-heavy reads are the replica's once it has them")
        check(Area.objects.count() == 2, "…which see the streamed row")
    check(ReplicaRouter().db_for_read(Area) == "default", "other reads stay on the primary")

    # 2. Replay paused, the primary written: beyond the bound the router falls back to the primary.
    # pg_wal_replay_pause() only requests the pause: wait until replay has really stopped.
    replica.sql("SELECT pg_wal_replay_pause()")
    paused = wait(lambda: replica.sql("SELECT pg_get_wal_replay_pause_state()")[0][0] == "paused")
    check(paused, "replay on the replica is paused")
    Area.objects.create(name="暂停后写入", level=Level.DISTRICT)
    time.sleep(1.5)
    lag = dbrouter.replica_lag()
    check(lag is not None and lag > 1, f"the paused replica reports its lag ({lag and round(lag, 1)} s)")
    check(routed() == "default", "beyond the bound, read-heavy reads fall back to the primary")
    with read_heavy():
        dbrouter.forget_verdict()
        check(Area.objects.filter(name="暂停后写入").exists(), "…and see the new row")
    on_replica = replica_areas()
    check(on_replica == 2, f"the paused replica has not replayed it ({on_replica} areas)")
    replica.sql("SELECT pg_wal_replay_resume()")
    check(wait(lambda: routed() == "replica"), "replay resumed: read-heavy reads return to the replica")

    # 3. Failover: the primary lost, the replica promoted.
    for i in range(100):
        Area.objects.create(name=f"切换前{i}", level=Level.DISTRICT)
    committed = Area.objects.count()
    connections.close_all()
    killed = time.monotonic()
    primary.stop("immediate")
    replica.promote()
    promoted = time.monotonic()
    check(routed() == "default", "a promoted replica is no longer read as a replica")
    import psycopg

    with psycopg.connect(replica.url("gridroll"), autocommit=True) as c:
        count = c.execute("SELECT count(*) FROM areas_area").fetchone()[0]
        c.execute("INSERT INTO areas_area (name, level, path) VALUES ('切换后写入', 'district', '')")
        written = time.monotonic()
    check(count == committed, f"every committed row is on the promoted replica ({count}/{committed})")
    print(f"promotion {promoted - killed:.1f} s, kill to first write {written - killed:.1f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    try:
        code = main()
    finally:
        replica.stop("immediate")
        primary.stop("immediate")
        shutil.rmtree(WORK, ignore_errors=True)
    print("FAILED: " + "; ".join(failures) if failures else "failover drill: every step held")
    sys.exit(code if not failures else 1)
