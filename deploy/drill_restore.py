"""The restore drill, one command (CI runs it; about 20 s):

    .venv/bin/python deploy/drill_restore.py

On a PostgreSQL cluster of its own (port 5461; the machine's 5432 cluster is never touched) with WAL
archiving on, as deploy/postgresql.conf sets it: a gridroll-shaped database is written, backed up twice
(``pg_basebackup`` for point-in-time recovery, ``pg_dump -Fc`` for a logical copy), written again, a named
restore point is set, written once more — then the cluster is killed (-m immediate: the machine is
lost). The base backup is restored into a new data directory, the archived WAL replayed up to the restore
point, and the counts checked: everything before the point is there, nothing after it. The logical dump
is restored into a fresh database beside it and checked too. Exits non-zero when a count is wrong.
docs/deployment.md describes the same steps for a real server.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from stack import PG_BIN, Postgres

PORT, RESTORED_PORT = 5461, 5462


def rows(pg: Postgres, db: str = "drill") -> dict[str, int]:
    return dict(pg.sql("SELECT batch, count(*) FROM sample GROUP BY batch", db) or [])


def write(pg: Postgres, batch: str, n: int) -> None:
    pg.sql(
        f"INSERT INTO sample (batch, tube, resident_id, at) "
        f"SELECT '{batch}', 'T' || (g / 10), g, now() FROM generate_series(1, {n}) g",
        "drill",
    )


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="gridroll-drill-"))
    archive = work / "wal_archive"
    archive.mkdir()
    primary = Postgres(
        PORT,
        work / "primary",
        {
            "archive_mode": "on",
            "archive_command": f"'test ! -f {archive}/%f && cp %p {archive}/%f'",
        },
    )
    restored = None
    failures = []
    try:
        primary.init()
        primary.own(archive)
        primary.start()
        primary.sql("CREATE DATABASE drill")
        primary.sql(
            "CREATE TABLE sample (id bigserial PRIMARY KEY, batch text, tube text, resident_id bigint,"
            " at timestamptz)",
            "drill",
        )
        write(primary, "before_backup", 5000)

        started = time.monotonic()
        primary.base_backup(work / "base")
        dump = work / "drill.dump"
        primary._run(str(PG_BIN / "pg_dump"), "-h", "127.0.0.1", "-p", str(PORT), "-U", "postgres", "-Fc",
                     "-f", str(dump), "drill")  # fmt: skip
        backup_s = time.monotonic() - started

        write(primary, "after_backup", 3000)
        primary.sql("SELECT pg_create_restore_point('drill')")
        write(primary, "after_the_point", 2000)
        # The WAL holding all of it reaches the archive (archive_timeout does this on a server).
        segment = primary.sql("SELECT pg_walfile_name(pg_current_wal_lsn())")[0][0]
        primary.sql("SELECT pg_switch_wal()")
        for _ in range(100):
            if (archive / segment).exists():
                break
            time.sleep(0.1)
        primary.stop("immediate")  # the machine is lost

        # Point-in-time recovery: the base backup, the archive replayed up to the named point.
        started = time.monotonic()
        shutil.copytree(work / "base", work / "restored")
        restored = Postgres(
            RESTORED_PORT,
            work / "restored",
            {
                "archive_mode": "off",
                "restore_command": f"'cp {archive}/%f %p'",
                "recovery_target_name": "'drill'",
                "recovery_target_action": "'promote'",
            },
        )
        restored.configure()
        (restored.datadir / "recovery.signal").touch()
        restored.own(restored.datadir)
        restored.start()
        for _ in range(300):
            if restored.sql("SELECT NOT pg_is_in_recovery()")[0][0]:
                break
            time.sleep(0.1)
        restore_s = time.monotonic() - started
        got = rows(restored)
        want = {"before_backup": 5000, "after_backup": 3000}
        print("point-in-time restore:", got)
        if got != want:
            failures.append(f"point-in-time restore has {got}, wanted {want}")
        restored.sql("INSERT INTO sample (batch) VALUES ('written after the restore')", "drill")

        # The logical dump, restored into a fresh database.
        restored.sql("CREATE DATABASE from_dump")
        where = ["-h", "127.0.0.1", "-p", str(RESTORED_PORT), "-U", "postgres"]
        restored._run(str(PG_BIN / "pg_restore"), *where, "-d", "from_dump", str(dump))
        got = rows(restored, "from_dump")
        print("pg_dump restore:", got)
        if got != {"before_backup": 5000}:
            failures.append(f"pg_dump restore has {got}")
        print(f"backup {backup_s:.1f} s, point-in-time restore {restore_s:.1f} s")
    except subprocess.CalledProcessError as e:
        failures.append(f"{e.cmd}: {e.stderr}")
    finally:
        for pg in (restored, primary):
            if pg is not None:
                pg.stop("immediate")
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        print("FAILED:", "; ".join(failures))
        return 1
    print("restore drill: every count as expected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
