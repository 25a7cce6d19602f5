"""A command run on a database that was never migrated says what to run instead of printing a raw
OperationalError (issue 15, item 7)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def manage(tmp_path, *args):
    env = dict(os.environ, GRIDROLL_DEMO="1", DATABASE_URL=f"sqlite:///{tmp_path / 'never-migrated.sqlite3'}")
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("args", [("load_demo",), ("import_residents", "none.csv")])
def test_a_command_before_migrate_says_to_migrate(tmp_path, args):
    if args[0] == "import_residents":
        source = tmp_path / "in.csv"
        source.write_text("网格,楼栋,房号,姓名,身份证号码\n第一网格,3,501,牛绪俭,\n", encoding="utf-8")
        args = ("import_residents", str(source))
    done = manage(tmp_path, *args)
    assert done.returncode != 0
    assert "python manage.py migrate" in done.stderr
    assert "Traceback" not in done.stderr and "OperationalError" not in done.stderr


def test_an_error_on_a_migrated_database_is_not_hidden(tmp_path):
    assert manage(tmp_path, "migrate", "-v", "0").returncode == 0
    done = manage(tmp_path, "import_residents", str(tmp_path / "missing.csv"))
    assert done.returncode != 0 and "no such file" in done.stderr and "manage.py migrate" not in done.stderr
