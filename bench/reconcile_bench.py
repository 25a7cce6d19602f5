"""Reconciliation: speed and accuracy of matching a feed to the registry.

    make bench ARGS="--only reconcile"
    .venv/bin/python bench/reconcile_bench.py --engine-only --sizes 5000:50000     # no database needed

Two parts, each for every size (feed lines : residents), medians over ``--rounds``:

- engine: the matcher alone (features, EM, the splink/DuckDB model, the decision per line) on lists from
  gridroll.demo.synth and from bench/feedgen2.py (a generator sharing nothing with it), with seeds
  never used for training: precision, recall over identifiable lines, the truth among the top three of
  the rest, blocking recall, and the floor of an exact-unique-phone lookup (bench/reconcile_eval.py).
- end to end: ``manage.py reconcile FEED --area … --out RESULT.xlsx`` on a district written to the database
  by generate_district.py (a different generator: other compounds, ID sequence numbers and households);
  the feed is made from the database's residents with the same error model. Reading the file, reading
  the registry, matching, storing every line and writing the result are all inside the time. Accuracy is
  reported for these lines too: they come from a registry the parameters never saw.

Setup (generating registries, writing the district) is not measured.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridroll.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from openpyxl import Workbook  # noqa: E402

from gridroll.demo import synth  # noqa: E402


def emit(name: str, value: float, unit: str, runs: int = 1) -> None:
    print(json.dumps({"name": name, "value": round(value, 4), "unit": unit, "runs": runs}), flush=True)


def label(lines: int, residents: int) -> str:
    def short(n: int) -> str:
        return f"{n // 1_000_000}m" if n >= 1_000_000 and n % 1_000_000 == 0 else f"{n // 1000}k"

    return f"{short(lines)}_vs_{short(residents)}"


def engine(lines: int, residents: int, rounds: int) -> None:
    """The matcher on both generators' lists (bench/reconcile_eval.py), with the exact-unique-phone floor."""
    from bench import reconcile_eval

    for generator in reconcile_eval.GENERATORS:
        case = reconcile_eval.make_case(generator, residents, lines, 941)
        runs = [reconcile_eval.score(case) for _ in range(rounds)]
        name = f"reconcile.engine.{generator}.{label(lines, residents)}"
        emit(f"{name}.seconds", statistics.median(r["seconds"] for r in runs), "s", rounds)
        for key in ("precision", "recall", "top3", "blocking", "floor_precision", "floor_recall"):
            emit(f"{name}.{key}", runs[-1][key], "ratio")


def _feed_file(feed: list, path: Path) -> None:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("名单")
    sheet.append(["序号", "姓名", "身份证号", "手机号", "地址"])
    for f in feed:
        sheet.append([f.line, f.name, f.id_number, f.phone, f.address])
    book.save(path)


def end_to_end(lines: int, residents: int, rounds: int) -> None:
    from bench.generate_district import DISTRICT, generate
    from gridroll.areas.models import Area
    from gridroll.reconcile.models import Feed
    from gridroll.reconcile.services import registry_rows

    if not Area.objects.filter(name=DISTRICT).exists():
        generate(residents=residents, quiet=True)
    district = Area.objects.get(name=DISTRICT)
    rows, _ = registry_rows(district)
    by_household: dict = {}
    for r in rows:
        by_household.setdefault(r.household_id, []).append(r)
    feed = synth.make_feed(synth.Registry(rows, by_household), lines, seed=103)
    truth = {f.line: f.truth for f in feed}
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "名单.xlsx", Path(tmp) / "结果.xlsx"
        _feed_file(feed, src)
        for _ in range(rounds):
            started = time.perf_counter()
            call_command("reconcile", str(src), "--area", DISTRICT, "--out", str(out), stdout=io.StringIO())
            times.append(time.perf_counter() - started)
    stored = Feed.objects.order_by("-pk").first()
    auto = correct = 0
    for line, resident_id, automatic in stored.lines.values_list("line", "resident_id", "automatic"):
        if automatic and resident_id is not None:
            auto += 1
            correct += resident_id == truth[line]
    in_registry = sum(1 for t in truth.values() if t is not None)
    name = f"reconcile.command.{connection.vendor}.{label(lines, residents)}"
    emit(f"{name}.seconds", statistics.median(times), "s", rounds)
    emit(f"{name}.precision", correct / auto if auto else 1.0, "ratio")
    emit(f"{name}.recall", correct / in_registry if in_registry else 1.0, "ratio")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sizes", default="5000:50000,100000:1000000", help="lines:residents,…")
    parser.add_argument("--engine-only", action="store_true")
    parser.add_argument("--command-only", action="store_true")
    args = parser.parse_args()
    sizes = [tuple(int(n) for n in s.split(":")) for s in args.sizes.split(",")]
    if not args.command_only:
        for lines, residents in sizes:
            engine(lines, residents, args.rounds)
    if not args.engine_only:
        from django.core.management import call_command as migrate

        migrate("migrate", verbosity=0)
        # One district per database: the command sizes are run in order and the first one builds it.
        lines, residents = sizes[0]
        end_to_end(lines, residents, args.rounds)


if __name__ == "__main__":
    main()
