"""Accuracy of the matcher on lists from two generators, beside the floor of an exact-unique-phone lookup.

    .venv/bin/python bench/reconcile_eval.py --sizes 5000:50000 --seeds 901,902,903
    .venv/bin/python bench/reconcile_eval.py --sizes 100000:1000000 --seeds 901

Generators:

- ``synth``: gridroll/demo/synth.py, the generator the starting parameters were trained on (training
  uses seed 3; evaluation seeds here are ≥ 900 and never used for training).
- ``gen2_should_test`` and ``gen2_phone_location``: bench/feedgen2.py, written separately, with its own
  registry shape and error kinds. Its tables (title rows, extra columns) are written as CSV and read back
  through the app's own reader (``services.read_feed``), as an uploaded list would be.

Figures per list (all lines count towards precision; recall is over the lines whose person is in the
registry and identifiable in principle):

- ``precision``: automatic matches that are the right person;
- ``recall``: identifiable lines matched automatically to the right person;
- ``top3``: identifiable lines not matched automatically whose person is among the three candidates;
- ``blocking``: identifiable lines whose true pair reached scoring (passed a blocking rule);
- ``floor_precision`` / ``floor_recall``: "the one resident with exactly this phone", the lookup the
  model must beat;
- ``seconds``: the matcher from lines and registry rows to decisions, EM included.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridroll.settings")

import django

django.setup()

from bench import feedgen2  # noqa: E402
from gridroll.demo import synth  # noqa: E402
from gridroll.reconcile import model  # noqa: E402
from gridroll.reconcile.features import FeedInput, ResidentRow, phone_digits  # noqa: E402
from gridroll.reconcile.matching import match_lines, prepare  # noqa: E402

GENERATORS = ("synth", "gen2_should_test", "gen2_phone_location")


@dataclass
class Case:
    name: str
    residents: list[ResidentRow]
    lines: list[FeedInput]
    truth: dict[int, int | None]
    identifiable: dict[int, bool]
    errors: dict[int, list[str]]


def synth_case(residents: int, lines: int, seed: int) -> Case:
    registry = synth.make_registry(residents, seed=seed)
    feed = synth.make_feed(registry, lines, seed=seed + 1, outsiders=0.10)
    return Case(
        "synth",
        registry.residents,
        [synth._input(f) for f in feed],
        {f.line: f.truth for f in feed},
        {f.line: f.truth is not None for f in feed},
        {f.line: list(f.errors) for f in feed},
    )


def gen2_case(kind: str, residents: int, lines: int, seed: int) -> Case:
    from gridroll.core.tables import limits
    from gridroll.lib.address import community_key, compound_key
    from gridroll.reconcile.services import line_fields, read_feed

    world = feedgen2.make_world(residents, seed)
    make = feedgen2.make_should_test if kind == "should_test" else feedgen2.make_phone_location
    table = make(world, lines, seed + 1)
    # The registry as the app holds it: compounds by their key (正商小区 → 正商), each resident's community
    # (the area above their grid) by its key.
    for r in world.residents:
        r.community = community_key(world.community_of[r.compound])
        r.compound = compound_key(r.compound)
    # Read as the command reads a file (its limits: a 100,000-line list is over the web upload's).
    read = read_feed(table.csv_bytes(), "名单.csv", limits("command"))
    inputs = []
    for index, (_row, cells) in enumerate(read.rows, start=1):
        f = line_fields(cells, read.mapping)
        inputs.append(FeedInput(index, f["name"], f["id_number"], f["phone"], f["address"]))
    if len(inputs) != len(table.truth):
        raise SystemExit(f"the reader found {len(inputs)} lines in a table of {len(table.truth)}")
    return Case(f"gen2_{kind}", world.residents, inputs, table.truth, table.identifiable, table.errors)


def make_case(generator: str, residents: int, lines: int, seed: int) -> Case:
    if generator == "synth":
        return synth_case(residents, lines, seed)
    return gen2_case(generator.removeprefix("gen2_"), residents, lines, seed)


def phone_floor(case: Case) -> dict[int, int]:
    """Line → the one resident whose phone is exactly the line's (lines whose phone nobody or several
    residents have are left out)."""
    owners: dict[str, list[int]] = {}
    for r in case.residents:
        if r.phone:
            owners.setdefault(r.phone, []).append(r.id)
    out = {}
    for line in case.lines:
        found = owners.get(phone_digits(line.phone), [])
        if len(found) == 1:
            out[line.line] = found[0]
    return out


def reaching_scoring(case: Case) -> set[int]:
    """Lines whose true pair passes at least one blocking rule (the same SQL splink runs)."""
    import duckdb

    feed_rows, registry_rows, _ = prepare(case.lines, case.residents)
    pairs = [(line, t) for line, t in case.truth.items() if t is not None]
    con = duckdb.connect()
    con.register("feed", model._arrow(feed_rows))
    con.register("registry", model._arrow(registry_rows))
    import pyarrow as pa

    con.register("pairs", pa.table({"line": [p[0] for p in pairs], "resident": [p[1] for p in pairs]}))
    rules = " OR ".join(f"({rule})" for rule in model.BLOCKING_RULES)
    found = con.execute(
        "SELECT p.line FROM pairs p JOIN feed l ON l.unique_id = p.line"
        f" JOIN registry r ON r.unique_id = p.resident WHERE {rules}"
    ).fetchall()
    con.close()
    return {row[0] for row in found}


def score(case: Case, misses: Counter | None = None) -> dict:
    started = time.perf_counter()
    result = match_lines(case.lines, case.residents)
    seconds = time.perf_counter() - started
    floor = phone_floor(case)
    reached = reaching_scoring(case)
    ident = [line for line, ok in case.identifiable.items() if ok]
    auto = [m for m in result.values() if m.automatic and m.resident_id is not None]
    right = sum(1 for m in auto if case.truth[m.line] == m.resident_id)
    auto_ident_right = sum(
        1 for line in ident if result[line].automatic and result[line].resident_id == case.truth[line]
    )
    rest = [line for line in ident if not (result[line].automatic and result[line].resident_id)]
    rest_top3 = sum(1 for line in rest if case.truth[line] in result[line].candidates[:3])
    floor_right = sum(1 for line, rid in floor.items() if case.truth[line] == rid)
    floor_ident = sum(1 for line in ident if floor.get(line) == case.truth[line])
    if misses is not None:
        for m in auto:
            if case.truth[m.line] != m.resident_id:
                misses["wrong:" + "+".join(case.errors[m.line])] += 1
        for line in rest:
            where = "top3" if case.truth[line] in result[line].candidates[:3] else "lost"
            where += "" if line in reached else "(unblocked)"
            levels = "/".join(result[line].scored[0].levels.values()) if result[line].scored else "-"
            misses[f"{where} [{levels}] " + "+".join(case.errors[line])] += 1
    return {
        "lines": len(case.lines),
        "identifiable": len(ident),
        "auto": len(auto),
        "precision": right / len(auto) if auto else 1.0,
        "recall": auto_ident_right / len(ident) if ident else 1.0,
        "top3": rest_top3 / len(rest) if rest else 1.0,
        "blocking": sum(1 for line in ident if line in reached) / len(ident) if ident else 1.0,
        "floor_precision": floor_right / len(floor) if floor else 1.0,
        "floor_recall": floor_ident / len(ident) if ident else 1.0,
        "seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="5000:50000", help="lines:residents,…")
    parser.add_argument("--seeds", default="901,902,903")
    parser.add_argument("--generators", default=",".join(GENERATORS))
    parser.add_argument("--misses", type=int, default=0, help="print the N commonest kinds of miss")
    parser.add_argument(
        "--weights", action="store_true", help="print the starting and the estimated weights of each list"
    )
    args = parser.parse_args()
    if args.weights:
        lines, residents = (int(n) for n in args.sizes.split(",")[0].split(":"))
        seed = int(args.seeds.split(",")[0])
        for generator in args.generators.split(","):
            weights_table(make_case(generator, residents, lines, seed))
        return
    for size in args.sizes.split(","):
        lines, residents = (int(n) for n in size.split(":"))
        for generator in args.generators.split(","):
            runs = []
            misses: Counter = Counter()
            for seed in (int(s) for s in args.seeds.split(",")):
                case = make_case(generator, residents, lines, seed)
                figures = score(case, misses)
                runs.append(figures)
                print(json.dumps({"generator": generator, "seed": seed, "size": size, **_round(figures)}))
            if len(runs) > 1:
                summary = {k: statistics.fmean(r[k] for r in runs) for k in runs[0]}
                worst = {
                    f"min_{k}": min(r[k] for r in runs) for k in ("precision", "recall", "top3", "blocking")
                }
                print(
                    json.dumps(
                        {"generator": generator, "size": size, "mean": _round(summary), **_round(worst)}
                    )
                )
            for kind, count in misses.most_common(args.misses):
                print(f"{count:6d}  {kind}")


def weights_table(case: Case) -> None:
    """Markdown: each level's weight log2(m/u) as trained and as estimated on this list, with m and u."""
    import math

    learned: dict = {}
    match_lines(case.lines, case.residents, learned=learned)
    start, used = learned["start"], learned["used"]
    print(f"\n{case.name}: {len(case.lines)} lines, {len(case.residents)} residents\n")
    print("| comparison | level | trained m / u | weight | estimated m / u | weight |")
    print("|---|---|---|---|---|---|")
    for name, levels in used.items():
        for label, (m, u) in levels.items():
            m0, u0 = start.get(name, {}).get(label, (None, None))
            before = f"{m0:.3g} / {u0:.2g} | {math.log2(m0 / u0):+.1f}" if m0 else "– | –"
            print(f"| {name} | {label} | {before} | {m:.3g} / {u:.2g} | {math.log2(m / u):+.1f} |")
    print(f"\nShare of the list's lines estimated to be in the registry (λ): {learned['in_registry']:.3f}")


def _round(d: dict) -> dict:
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in d.items()}


if __name__ == "__main__":
    main()
