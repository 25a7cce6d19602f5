"""The same matching on Spark as on DuckDB, on a small generated list. Runs where pyspark (and Java) are
installed; otherwise skips with how to run it."""

from __future__ import annotations

import os
import shutil
import sys

import pytest

from gridroll.demo import synth
from gridroll.reconcile import model
from gridroll.reconcile.matching import match_lines, prepare


def _spark_or_skip():
    how = "the Spark test needs pyspark and Java 17: pip install -e '.[spark]' (see docs/reconcile.md)"
    try:
        import pyspark  # noqa: F401
    except ImportError:
        pytest.skip(how)
    if not shutil.which("java"):
        pytest.skip(how)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("SPARK_MASTER", "local[2]")
    from gridroll.reconcile.model import spark_api

    return spark_api()


def test_spark_gives_the_answers_duckdb_gives():
    db_api = _spark_or_skip()
    try:
        registry = synth.make_registry(1500, seed=5)
        feed = synth.make_feed(registry, 150, seed=6)
        lines = [synth._input(f) for f in feed]
        on_duckdb = match_lines(lines, registry.residents)
        on_spark = match_lines(lines, registry.residents, db_api=db_api)
        for f in feed:
            a, b = on_duckdb[f.line], on_spark[f.line]
            assert (a.resident_id, a.automatic, a.candidates) == (b.resident_id, b.automatic, b.candidates), f
            assert a.confidence == pytest.approx(b.confidence, abs=1e-6)
        assert sum(1 for f in feed if on_spark[f.line].resident_id == f.truth and f.truth) > 120
        # The SQL gridroll writes itself: the pairs to score and the u sample (150 lines are too few for
        # match_lines to estimate, so they are run directly).
        feed_rows, registry_table, _ = prepare(lines, registry.residents)
        found = {}
        for engine, api in (("duckdb", model._duckdb_api()), ("spark", db_api)):
            left = api.register(model._table_for(api, feed_rows), dataset_display_name="a_check")
            right = api.register(model._table_for(api, registry_table), dataset_display_name="b_check")
            pairs = model.blocked_pairs(api, left, right)
            rows = model._rows(api, f"SELECT match_key, join_key_l, join_key_r FROM {pairs.physical_name}")
            u = model.sample_u(api, left, right, len(feed_rows), registry_table.num_rows, pairs=20_000)
            found[engine] = (sorted(tuple(r) for r in rows), u)
        assert found["spark"][0] == found["duckdb"][0] and len(found["duckdb"][0]) > 150
        for name, levels in found["duckdb"][1].items():
            unseen = {k: -1.0 if v is None else v for k, v in levels.items()}  # None: no pair at that level
            assert {k: -1.0 if v is None else v for k, v in found["spark"][1][name].items()} == pytest.approx(
                unseen
            )
        assert found["duckdb"][1]["name"]["different"] > 0.9
    finally:
        db_api.spark.stop()
