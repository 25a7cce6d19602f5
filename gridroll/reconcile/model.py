"""The Fellegi–Sunter linkage model, run by splink on DuckDB (or Spark for lists that outgrow a machine).

Four comparisons, each with levels from strongest to weakest agreement: name, ID number, phone and
address. Every level has an m probability (how often a true match lands there) and a u probability (how
often two different people do); a pair's match weight is the sum of log2(m/u) over its levels, plus the
prior. The name's exact level is adjusted for how common the name is (张伟 agreeing says less than
韩馨怡 agreeing).

The m and u probabilities are in ``parameters.json``, estimated by ``train()`` from generated lists with a
known truth (see ``synth.py``; ``python -m gridroll.reconcile.synth --train`` re-estimates them). The
comparisons and blocking rules are built here, in code, for each SQL dialect, so one model runs on DuckDB
and on Spark (a model saved by splink from DuckDB does not load on Spark).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PARAMETERS = Path(__file__).with_name("parameters.json")

# (label, SQL condition). The first level of each comparison is its null level.
NAME_LEVELS = [
    ("null", "name_l IS NULL OR name_r IS NULL"),
    ("exact", "name_l = name_r"),
    ("same_sound", "name_py_l = name_py_r"),
    ("same_shape", "name_shape_l = name_shape_r"),
    ("swapped", "name_sorted_l = name_sorted_r"),
    ("similar_sound", "name_fpy_l = name_fpy_r"),
    ("one_char", "levenshtein(name_l, name_r) <= 1"),
    ("different", "ELSE"),
]
ID_LEVELS = [
    ("null", "(id_head4_l IS NULL AND id_last4_l IS NULL) OR (id_head4_r IS NULL AND id_birth_r IS NULL)"),
    ("exact", "id_full_l = id_full_r"),
    ("one_digit", "levenshtein(id_full_l, id_full_r) <= 1"),
    (
        "masked",
        "id_full_l IS NULL AND id_head4_l = id_head4_r AND id_last4_l = id_last4_r"
        " AND (id_region_l IS NULL OR id_region_l = id_region_r)"
        " AND (id_birth_l IS NULL OR id_birth_l = id_birth_r)",
    ),
    ("same_birth", "id_birth_l = id_birth_r"),
    ("different", "ELSE"),
]
PHONE_LEVELS = [
    ("null", "phone_l IS NULL OR (phone_r IS NULL AND phone_household_r IS NULL)"),
    ("exact", "phone_l = phone_r"),
    ("household", "phone_household_l = phone_household_r"),
    ("one_digit", "length(phone_l) = length(phone_r) AND levenshtein(phone_l, phone_r) = 1"),
    ("different", "ELSE"),
]
# Compound and building as written: a list without the compound still names the building.
_SAME_BUILDING = "((compound_l = compound_r OR compound_l IS NULL) AND building_l = building_r)"
ADDRESS_LEVELS = [
    ("null", "(building_l IS NULL AND compound_l IS NULL) OR building_r IS NULL"),
    ("household", f"{_SAME_BUILDING} AND room_l = room_r"),
    (
        "near",
        f"({_SAME_BUILDING} AND levenshtein(room_l, room_r) = 1)"
        " OR ((compound_l IS NULL OR compound_l = compound_r) AND room_l = room_r"
        " AND (levenshtein(building_l, building_r) = 1 OR abs(building_num_l - building_num_r) = 1))",
    ),
    ("building", _SAME_BUILDING),
    ("compound", "compound_l = compound_r"),
    ("different", "ELSE"),
]
COMPARISONS = {"name": NAME_LEVELS, "id": ID_LEVELS, "phone": PHONE_LEVELS, "address": ADDRESS_LEVELS}

# Each rule pairs a line with the residents sharing one key; a pair found by several rules counts once.
BLOCKING_RULES = [
    "l.id_full = r.id_full",
    "l.id_head4 = r.id_head4 AND l.id_last4 = r.id_last4",
    "l.id_first14 = r.id_first14",
    "l.id_tail12 = r.id_tail12",
    "l.phone = r.phone",
    "l.phone_household = r.phone_household",
    "l.compound = r.compound AND l.building = r.building AND l.room = r.room",
    "l.name_py = r.name_py AND l.building = r.building",
    "l.name_py = r.name_py AND l.compound = r.compound",
    "l.name_py = r.name_py AND l.phone7 = r.phone7",
    "l.name_py = r.name_py AND l.phone4 = r.phone4",
    "l.name_py = r.name_py AND l.id_birth = r.id_birth",
    "l.name_py = r.name_py AND l.room = r.room",
    "l.name_sorted = r.name_sorted AND l.building = r.building",
    "l.name_sorted = r.name_sorted AND l.phone7 = r.phone7",
    "l.name_sorted = r.name_sorted AND l.phone4 = r.phone4",
    "l.name_fpy = r.name_fpy AND l.building = r.building",
    "l.name_shape = r.name_shape AND l.compound = r.compound",
    "l.name_sorted = r.name_sorted AND l.compound = r.compound",
    "l.name_shape = r.name_shape AND l.room = r.room",
    "l.name_fpy = r.name_fpy AND l.room = r.room",
    "l.name = r.name_short1 AND l.building = r.building",
    "l.name = r.name_short2 AND l.building = r.building",
    "l.name = r.name_short1 AND l.compound = r.compound",
    "l.name = r.name_short2 AND l.compound = r.compound",
    "l.name_fpy = r.name_fpy AND l.phone7 = r.phone7",
    "l.name_fpy = r.name_fpy AND l.phone4 = r.phone4",
    "l.name = r.name_short1 AND l.room = r.room",
    "l.name = r.name_short2 AND l.room = r.room",
    "l.name = r.name_short1 AND l.phone7 = r.phone7",
    "l.name = r.name_short2 AND l.phone7 = r.phone7",
    "l.name = r.name_short1 AND l.phone4 = r.phone4",
    "l.name = r.name_short2 AND l.phone4 = r.phone4",
    "l.name_shape = r.name_shape AND l.phone7 = r.phone7",
    "l.name_shape = r.name_shape AND l.phone4 = r.phone4",
    "l.name_shape = r.name_shape AND l.building = r.building",
    # A line with only a name: everyone of that sound, or that look, in the area is a candidate.
    "l.name_fpy = r.name_fpy AND l.sparse",
    "l.name_shape = r.name_shape AND l.sparse",
]


def _comparison(name: str, levels: list[tuple[str, str]], params: dict | None) -> dict[str, Any]:
    out = []
    for index, (label, sql) in enumerate(levels):
        level: dict[str, Any] = {"label_for_charts": label}
        if sql == "ELSE":
            level["sql_condition"] = "ELSE"
        else:
            level["sql_condition"] = sql
        if index == 0:
            level["is_null_level"] = True
        elif params and label in params.get(name, {}):
            m, u = params[name][label]
            level["m_probability"] = m
            level["u_probability"] = u
        if name == "name" and label == "exact":
            level["tf_adjustment_column"] = "name"
            level["tf_adjustment_weight"] = 1.0
        out.append(level)
    return {"output_column_name": name, "comparison_levels": out, "comparison_description": name}


def settings(prior: float, params: dict | None = None, dialect: str = "duckdb") -> dict[str, Any]:
    return {
        "link_type": "link_only",
        "probability_two_random_records_match": prior,
        "comparisons": [_comparison(name, levels, params) for name, levels in COMPARISONS.items()],
        "blocking_rules_to_generate_predictions": [
            {"blocking_rule": rule, "sql_dialect": dialect} for rule in BLOCKING_RULES
        ],
        # The gamma (level) columns, kept with the matching columns, are what explanations are written from.
        "retain_intermediate_calculation_columns": False,
        "retain_matching_columns": True,
        "sql_dialect": dialect,
    }


def load_parameters() -> dict:
    return json.loads(PARAMETERS.read_text())


@dataclass
class Candidate:
    resident_id: int
    weight: float
    probability: float
    levels: dict[str, str]  # comparison → level label


def _arrow(rows: list[tuple], extra: dict[str, list] | None = None):
    import pyarrow as pa

    from gridroll.reconcile.features import COLUMNS

    ints = {"unique_id", "phone_household", "building_id", "building_num"}
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(COLUMNS)
    data = {
        col: pa.array(
            values, type=pa.int64() if col in ints else pa.bool_() if col == "sparse" else pa.string()
        )
        for col, values in zip(COLUMNS, columns, strict=True)
    }
    for col, values in (extra or {}).items():
        data[col] = pa.array(values, type=pa.int64())
    return pa.table(data)


def _duckdb_api():
    from splink import DuckDBAPI

    return DuckDBAPI()


def spark_api(spark=None):
    """splink's Spark backend on ``spark`` or on a session made here (``SPARK_MASTER``, default local)."""
    import os
    import tempfile

    from splink import SparkAPI

    if spark is None:
        from pyspark.sql import SparkSession

        spark = (
            SparkSession.builder.master(os.environ.get("SPARK_MASTER", "local[*]"))
            .appName("gridroll-reconcile")
            .config("spark.sql.shuffle.partitions", os.environ.get("SPARK_SHUFFLE_PARTITIONS", "8"))
            .config("spark.ui.enabled", "false")
            .getOrCreate()
        )
        spark.sparkContext.setCheckpointDir(os.environ.get("SPARK_CHECKPOINT_DIR") or tempfile.mkdtemp())
    # The comparisons use only functions Spark has built in: splink's jar of extra UDFs is not needed.
    return SparkAPI(spark_session=spark, register_udfs_automatically=False)


def predict(
    feed: list[tuple],
    registry: list[tuple],
    *,
    db_api=None,
    params: dict | None = None,
    top: int = 4,
    min_weight: float = -10.0,
) -> dict[int, list[Candidate]]:
    """The best ``top`` candidates per feed line (by match weight), strongest first."""
    if not feed or not registry:
        return {}
    params = params if params is not None else load_parameters()
    own = db_api is None
    db_api = db_api or _duckdb_api()
    try:
        rows = _scored_rows(db_api, feed, registry, params, top, min_weight)
    finally:
        if own:
            # The in-memory database holds the registry, the pairs and their scores (gigabytes for a
            # million residents): free it now, not when the collector finds splink's reference cycles.
            db_api._con.close()
    # splink numbers the levels of a comparison from the weakest (0, the else level) up; null is -1.
    labels = {
        name: {len(levels) - 1 - i: label for i, (label, _) in enumerate(levels) if i} | {-1: "null"}
        for name, levels in COMPARISONS.items()
    }
    out: dict[int, list[Candidate]] = {}
    for row in rows:
        line, resident, source = row[0], row[1], row[2]
        if source != "a_feed":
            line, resident = resident, line
        gammas = row[5:]
        levels = {name: labels[name][int(g)] for name, g in zip(COMPARISONS, gammas, strict=True)}
        out.setdefault(int(line), []).append(Candidate(int(resident), float(row[3]), float(row[4]), levels))
    for cands in out.values():
        cands.sort(key=lambda c: (-c.weight, c.resident_id))
    return out


def _scored_rows(db_api, feed, registry, params, top: int, min_weight: float) -> list[tuple]:
    from splink import Linker

    dialect = db_api.sql_dialect.sql_dialect_str
    # A feed line matches at most one of the residents: the prior odds of a random pair.
    prior = min(0.5, 1.0 / max(1, len(registry)))
    left = db_api.register(_table_for(db_api, feed), dataset_display_name="a_feed")
    right = db_api.register(_table_for(db_api, registry), dataset_display_name="b_registry")
    linker = Linker([left, right], settings(prior, params, dialect), log_level=logging.WARNING)
    scored = linker.inference.predict(threshold_match_weight=min_weight, warning_mode="never")
    columns = ["unique_id_l", "unique_id_r", "source_dataset_l", "match_weight", "match_probability"] + [
        f"gamma_{name}" for name in COMPARISONS
    ]
    sql = (
        f"SELECT {', '.join(columns)} FROM ("
        "SELECT *, row_number() OVER"
        " (PARTITION BY unique_id_l ORDER BY match_weight DESC, unique_id_r) AS rn"
        f" FROM {scored.physical_name}) t WHERE rn <= {int(top)}"
    )
    return _rows(db_api, sql)


def _table_for(db_api, rows: list[tuple]):
    if db_api.sql_dialect.sql_dialect_str == "spark":
        return db_api.spark.createDataFrame(rows, schema=_spark_schema())
    return _arrow(rows)


def _spark_schema():
    from pyspark.sql.types import BooleanType, LongType, StringType, StructField, StructType

    from gridroll.reconcile.features import COLUMNS

    longs = {"unique_id", "phone_household", "building_id", "building_num"}
    return StructType(
        [
            StructField(
                c, LongType() if c in longs else BooleanType() if c == "sparse" else StringType(), True
            )
            for c in COLUMNS
        ]
    )


def _rows(db_api, sql: str) -> list[tuple]:
    if db_api.sql_dialect.sql_dialect_str == "spark":
        return [tuple(r) for r in db_api.spark.sql(sql).collect()]
    return db_api._con.execute(sql).fetchall()
