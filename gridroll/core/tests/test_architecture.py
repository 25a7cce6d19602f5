"""The layer contracts (pyproject's [tool.importlinter]; docs/architecture.md) hold, and they would catch
an import that points the wrong way: the check is run on a copy of the package with one bad import added.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import gridroll

ROOT = Path(gridroll.__file__).parent
PROJECT = ROOT.parent


def _lint(cwd: Path) -> subprocess.CompletedProcess:
    script = (
        "import sys; from importlinter import cli; sys.exit(cli.lint_imports(no_cache=True, no_logo=True))"
    )
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [sys.executable, "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_contracts_hold():
    result = _lint(PROJECT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    shutil.copytree(
        ROOT, tmp_path / "gridroll", ignore=shutil.ignore_patterns("static", "locale", "__pycache__")
    )
    shutil.copy(PROJECT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


@pytest.mark.parametrize(
    ("module", "bad_import", "broken"),
    [
        # A lower app reaching up: the registry importing the roll call (it sends a signal instead).
        ("residents/importing.py", "from gridroll.rollcall import services as _up", "Apps in layers"),
        # The scan path calling the labs directly (it sends retests_sampled instead).
        ("sampling/services.py", "from gridroll.labs import services as _up", "Apps in layers"),
        # The API borrowing a page's helper (it reads labs.queries instead).
        ("api/labs.py", "from gridroll.labs import views as _up", "Views are the top"),
        # A page writing the roll call's projection itself.
        ("command/queries.py", "from gridroll.rollcall import services as _up", "roll call is a projection"),
    ],
)
def test_an_import_the_wrong_way_breaks_a_contract(copy: Path, module: str, bad_import: str, broken: str):
    path = copy / "gridroll" / module
    path.write_text(path.read_text() + f"\n{bad_import}  # noqa\n")
    result = _lint(copy)
    assert result.returncode != 0
    assert broken in result.stdout.replace("\n", " ")
