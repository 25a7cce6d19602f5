"""The Fellegi–Sunter linkage model, run by splink on DuckDB (or Spark for lists that outgrow a machine).

Four comparisons, each with levels from strongest to weakest agreement: name, ID number, phone and
address. Every level has an m probability (how often a true match lands there) and a u probability (how
often two different people do); a pair's match weight is the sum of log2(m/u) over its levels, plus the
prior. The name's exact level is adjusted for how common the name is (张伟 agreeing says less than
韩馨怡 agreeing).

The m and u probabilities are in ``parameters.json``, estimated by ``train()`` from generated lists with a
known truth (see ``synth.py``; ``python -m gridroll.demo.synth --train`` re-estimates them). The
comparisons and blocking rules are built here, in code, for each SQL dialect, so one model runs on DuckDB
and on Spark (a model saved by splink from DuckDB does not load on Spark).
"""

from __future__ import annotations

import json
import logging
import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.utils.translation import gettext_lazy

from gridroll.core.errors import DomainError


class MatcherMissing(DomainError):
    """splink, DuckDB and Arrow are the ``reconcile`` extra (about 200 MB): a deployment that never checks
    lists can leave them out, and then says so instead of failing inside the matcher."""

    MESSAGES = {
        "needs_reconcile_extra": gettext_lazy(
            "Checking lists needs the matcher, which is not installed here: "
            "pip install 'gridroll[reconcile]' (splink, DuckDB, Arrow)."
        )
    }


def require_matcher() -> None:
    """Raise ``MatcherMissing`` unless splink and its DuckDB and Arrow can be imported."""
    try:
        import duckdb  # noqa: F401
        import pyarrow  # noqa: F401
        import splink  # noqa: F401
    except ImportError:
        raise MatcherMissing("needs_reconcile_extra") from None


PARAMETERS = Path(__file__).with_name("parameters.json")

# (label, SQL condition). The first level of each comparison is its null level: a field missing on either
# side is neither agreement nor disagreement. A masked field (张*伟, 138****4296, 410105********1234) is
# compared on what is visible, as a LIKE pattern: its visible characters in their places and its length.
NAME_LEVELS = [
    ("null", "(name_l IS NULL AND name_pattern_l IS NULL) OR name_r IS NULL"),
    ("exact", "name_l = name_r"),
    ("same_sound", "name_py_l = name_py_r"),
    ("same_shape", "name_shape_l = name_shape_r"),
    ("swapped", "name_sorted_l = name_sorted_r"),
    ("similar_sound", "name_fpy_l = name_fpy_r"),
    ("masked", "name_r LIKE name_pattern_l"),
    # A character dropped or added (李俊 for 李俊会, 张磊颖 for 张磊): the rest of the name is kept in order.
    # Stronger than a replaced character, which in a two-character name leaves only the surname (李有).
    (
        "dropped",
        "name_l = name_short1_r OR name_l = name_short2_r"
        " OR name_short1_l = name_r OR name_short2_l = name_r",
    ),
    ("one_char", "levenshtein(name_l, name_r) <= 1"),
    ("masked_surname", "name_pattern_l IS NOT NULL AND name_first_l = name_first_r"),
    ("different", "ELSE"),
]
ID_LEVELS = [
    (
        "null",
        "(id_head4_l IS NULL AND id_last4_l IS NULL AND id_pattern_l IS NULL)"
        " OR (id_head4_r IS NULL AND id_birth_r IS NULL)",
    ),
    ("exact", "id_full_l = id_full_r"),
    ("one_digit", "levenshtein(id_full_l, id_full_r) <= 1"),
    # Two digits swapped or mistyped: rare between two people's numbers.
    ("two_digits", "levenshtein(id_full_l, id_full_r) = 2"),
    ("masked", "id_full_r LIKE id_pattern_l"),
    (
        "masked_parts",
        "id_full_l IS NULL AND id_pattern_l IS NULL AND id_head4_l = id_head4_r AND id_last4_l = id_last4_r"
        " AND (id_region_l IS NULL OR id_region_l = id_region_r)"
        " AND (id_birth_l IS NULL OR id_birth_l = id_birth_r)",
    ),
    ("same_birth", "id_birth_l = id_birth_r"),
    ("different", "ELSE"),
]
PHONE_LEVELS = [
    (
        "null",
        "(phone_l IS NULL AND phone_pattern_l IS NULL) OR (phone_r IS NULL AND phone_household_r IS NULL)",
    ),
    ("exact", "phone_l = phone_r"),
    ("household", "phone_household_l = phone_household_r"),
    ("one_digit", "length(phone_l) = length(phone_r) AND levenshtein(phone_l, phone_r) = 1"),
    ("masked", "phone_r LIKE phone_pattern_l"),
    ("two_digits", "length(phone_l) = length(phone_r) AND levenshtein(phone_l, phone_r) = 2"),
    ("different", "ELSE"),
]
# Compound and building as written: a list without the compound still names the building. The entrance is
# not compared: '47号楼601' and '33号楼1-102' name a flat as well as '47号楼2单元601' does. A vaguer address
# (a building only, a compound only) agrees at its own level; only a contradiction is a disagreement.
# A list that names no compound may name the community (a column of its own, or in the address): then a
# building of that number elsewhere is not the same building.
_COMPOUND_OK = (
    "(compound_l = compound_r OR (compound_l IS NULL"
    " AND (community_l IS NULL OR community_r IS NULL OR community_l = community_r)))"
)
_SAME_BUILDING = f"({_COMPOUND_OK} AND building_l = building_r)"
ADDRESS_LEVELS = [
    # A building number alone, of no named compound (金水区5幢附近), that is not the resident's says
    # little: every compound has a 5幢, and vague lists often name the wrong one. Neither for nor against.
    (
        "null",
        "(building_l IS NULL AND compound_l IS NULL) OR building_r IS NULL"
        " OR (compound_l IS NULL AND room_l IS NULL AND building_l <> building_r)",
    ),
    ("household", f"{_SAME_BUILDING} AND room_l = room_r"),
    (
        "near",
        f"({_SAME_BUILDING} AND levenshtein(room_l, room_r) = 1)"
        f" OR ({_COMPOUND_OK} AND room_l = room_r"
        " AND (levenshtein(building_l, building_r) = 1 OR abs(building_num_l - building_num_r) = 1))",
    ),
    ("building", f"{_SAME_BUILDING} AND room_l IS NULL"),
    ("building_other_room", _SAME_BUILDING),
    ("compound", "compound_l = compound_r AND building_l IS NULL"),
    ("compound_other_building", "compound_l = compound_r"),
    ("different", "ELSE"),
]
COMPARISONS = {"name": NAME_LEVELS, "id": ID_LEVELS, "phone": PHONE_LEVELS, "address": ADDRESS_LEVELS}

# Each rule pairs a line with the residents sharing one key; a pair found by several rules counts once.
# Every kind of key a line may keep has a rule: the phone (whole, first 3 + last 4, first 7, last 8: one
# mistyped digit leaves one of them intact), the ID and its visible digits, the name's sound or shape or
# visible surname with a place or part of a phone, and the flat.
BLOCKING_RULES = [
    "l.id_full = r.id_full",
    # A masked number's visible ends (4101**********1234). A whole number does not need them: its first
    # fourteen, its last eight or its ends survive one mistyped digit (features.id_ends), and its sorted
    # digits two swapped ones; the province and the last four paired each line with a hundred residents
    # of a million, half of all the pairs scored.
    "l.id_full IS NULL AND l.id_head4 = r.id_head4 AND l.id_last4 = r.id_last4",
    "l.id_first14 = r.id_first14",
    "l.id_tail8 = r.id_tail8",
    "l.id_ends = r.id_ends",
    "l.id_sorted = r.id_sorted",
    "l.id_last4 = r.id_last4 AND l.name_first = r.name_first",
    "l.id_last4 = r.id_last4 AND l.building = r.building",
    "l.id_last4 = r.id_last4 AND l.phone4 = r.phone4",
    "l.phone = r.phone",
    "l.phone3 = r.phone3 AND l.phone4 = r.phone4",
    "l.phone7 = r.phone7",
    "l.phone_tail8 = r.phone_tail8",
    # Two digits swapped after the first three: the same first three and the same other digits.
    "l.phone_sorted = r.phone_sorted",
    # A masked ID's last four digits with the name's sound (劉博海 for 刘博海 keeps no surname in common).
    "l.id_last4 = r.id_last4 AND l.name_fpy = r.name_fpy",
    "l.phone_household = r.phone_household",
    "l.compound = r.compound AND l.building = r.building AND l.room = r.room",
    "l.building = r.building AND l.room = r.room AND l.name_first = r.name_first",
    "l.name_py = r.name_py AND l.building = r.building",
    "l.name_py = r.name_py AND l.compound = r.compound",
    "l.name_py = r.name_py AND l.phone3 = r.phone3",
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
    # The list replaced a character by one of another sound and shape (郑杰虽 for 郑杰强, 尹青 for 尹倩):
    # the name with the same character dropped on both sides, within the building.
    "l.name_short1 = r.name_short1 AND l.building = r.building AND l.compound = r.compound",
    "l.name_short2 = r.name_short2 AND l.building = r.building AND l.compound = r.compound",
    # The surname replaced (季志春 for 李志春), or the ID's last four with no name in common (季杰 for 李杰).
    "l.name_given = r.name_given AND l.building = r.building AND l.compound = r.compound",
    "l.name_given = r.name_given AND l.building = r.building AND l.room = r.room",
    "l.name_given = r.name_given AND l.compound = r.compound AND l.building IS NULL"
    " AND length(l.name_given) >= 2",
    "l.id_last4 = r.id_last4 AND l.compound = r.compound",
    # The list added a character (张磊颖 for 张磊).
    "l.name_short1 = r.name AND l.building = r.building",
    "l.name_short2 = r.name AND l.building = r.building",
    "l.name_short1 = r.name AND l.phone4 = r.phone4",
    "l.name_short2 = r.name AND l.phone4 = r.phone4",
    "l.name_short1 = r.name AND l.room = r.room",
    "l.name_short2 = r.name AND l.room = r.room",
    "l.name_shape = r.name_shape AND l.phone7 = r.phone7",
    "l.name_shape = r.name_shape AND l.phone4 = r.phone4",
    "l.name_shape = r.name_shape AND l.building = r.building",
    # A masked name keeps its first and last characters and its length (张*伟), or its surname only (张**):
    # within the building or the compound. (The surname alone with a building number of any compound
    # paired a masked line with every 张 of every 3号楼, a quarter of all the pairs scored.)
    "l.name_ends = r.name_ends AND l.building = r.building",
    "l.name_ends = r.name_ends AND l.compound = r.compound",
    "l.name_pattern IS NOT NULL AND l.name_first = r.name_first AND l.building = r.building"
    " AND l.compound = r.compound",
    "l.name_pattern IS NOT NULL AND l.name_first = r.name_first AND l.building = r.building"
    " AND l.room = r.room",
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
        # EM starts from the trained parameters, near where it ends: three rounds of up to 25 iterations to
        # splink's default 1e-4 were two thirds of a 5,000-line run, and moved no decision.
        "em_convergence": EM_CONVERGENCE,
        "max_iterations": EM_MAX_ITERATIONS,
    }


def load_parameters() -> dict:
    return json.loads(PARAMETERS.read_text())


@dataclass
class Candidate:
    resident_id: int
    weight: float
    probability: float
    levels: dict[str, str]  # comparison → level label


def _arrow(rows, extra: dict[str, list] | None = None):
    """Rows in the order of features.COLUMNS (or a table of them already) as an Arrow table."""
    import pyarrow as pa

    from gridroll.reconcile.features import COLUMNS

    if isinstance(rows, pa.Table):
        for col, values in (extra or {}).items():
            rows = rows.append_column(col, pa.array(values, type=pa.int64()))
        return rows

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
    registry,
    *,
    db_api=None,
    params: dict | None = None,
    top: int = 4,
    min_weight: float | None = None,
    learned: dict | None = None,
) -> dict[int, list[Candidate]]:
    """The best ``top`` candidates per feed line (by match weight), strongest first. The parameters are
    estimated on the list and the registry at hand (``estimate``), starting from ``params``."""
    if not feed or len(registry) == 0:
        return {}
    params = params if params is not None else load_parameters()
    own = db_api is None
    db_api = db_api or _duckdb_api()
    try:
        rows = _scored_rows(db_api, feed, registry, params, top, min_weight, learned)
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
        # Stable: candidates of equal weight stay in the query's order (TIE_BREAK, then the resident id).
        cands.sort(key=lambda c: -c.weight)
    return out


# Expectation maximisation runs once per blocking rule; a rule's own comparison is left out of that round
# (splink), so each comparison is estimated from pairs found by another's key: the name, ID and address from
# pairs sharing a phone that only one resident has (a family's shared phone would teach that a different
# name is common among matches); the name, phone and address from pairs sharing an ID; the ID and phone
# from pairs of the same sound of name in the same compound. Pairs in the same flat are not used: they are
# mostly families, not matches.
EM_RULES = [
    "l.phone = r.phone_unique",
    "l.id_full = r.id_full",
    "l.name_py = r.name_py AND l.compound = r.compound",
]
EM_CONVERGENCE = 1e-3
EM_MAX_ITERATIONS = 10
# Below this many lines the data says too little: the starting parameters are used as they are.
EM_MIN_LINES = 300
# How many lines' worth of belief the starting parameters keep: with 5,000 lines the data's estimate has
# about nine tenths of the say, with 300 about a third.
PRIOR_LINES = 600
EM_MAX_PAIRS = 2e6
EM_SAMPLE_LINES = 10_000
U_MAX_PAIRS = 1e6
U_SAMPLE_LINES = 1_000


def weight_floor(residents: int) -> float:
    """The lowest match weight a candidate is kept at: the prior's (one in ``residents``), so a pair is
    dropped only when its comparisons speak against it. A fixed cut (−10 bits) kept, against a million
    residents, only pairs with 10 bits of evidence for them: 张敏 in her compound with another building,
    or 尹青 for 尹倩 in her building, never reached the three candidates."""
    prior = min(0.5, 1.0 / max(1, residents))
    return math.log2(prior / (1 - prior))


# Candidates of equal weight (six X军 in the building for 玉军, each one character off) are ordered by how
# far their names look and sound from the line's: 王军 (四角号码 1010) is nearer 玉军 (1013) than 韩军 is.
# Both functions are built into DuckDB and Spark.
TIE_BREAK = (
    "coalesce(levenshtein(name_shape_l, name_shape_r), 99), coalesce(levenshtein(name_py_l, name_py_r), 99)"
)


def _linker(left, right, model_settings: dict, log_level: int):
    """A splink linker of the list and the registry. splink checks every column a setting names by parsing
    each level's SQL with sqlglot, on every linker: a second and a half of a 5,000-line run for three
    linkers, to check settings that are ours, fixed, and run by every reconcile test. Not done."""
    from splink import Linker

    return Linker([left, right], model_settings, log_level=log_level, validate_settings=False)


def _scored_rows(db_api, feed, registry, params, top: int, min_weight: float | None, learned) -> list[tuple]:
    dialect = db_api.sql_dialect.sql_dialect_str
    # A feed line matches at most one of the residents: the prior odds of a random pair.
    prior = min(0.5, 1.0 / max(1, len(registry)))
    if min_weight is None:
        min_weight = weight_floor(len(registry))
    left = db_api.register(_table_for(db_api, feed), dataset_display_name="a_feed")
    right = db_api.register(_table_for(db_api, registry), dataset_display_name="b_registry")
    if len(feed) >= EM_MIN_LINES:
        sample = left
        if len(feed) > EM_SAMPLE_LINES:
            # Ten thousand lines hold thousands of matches of every common kind: enough to estimate m,
            # and EM over a hundred thousand lines against a million residents would cost more than the
            # matching itself.
            rows = random.Random(0).sample(feed, EM_SAMPLE_LINES)
            sample = db_api.register(_table_for(db_api, rows), dataset_display_name="a_feed_sample")
        params = estimate(db_api, sample, right, prior, params, len(feed), learned)
    linker = _linker(left, right, settings(prior, params, dialect), logging.WARNING)
    linker.table_management.register_blocked_pairs_for_predict(blocked_pairs(db_api, left, right))
    scored = linker.inference.predict(threshold_match_weight=min_weight, warning_mode="never")
    columns = ["unique_id_l", "unique_id_r", "source_dataset_l", "match_weight", "match_probability"] + [
        f"gamma_{name}" for name in COMPARISONS
    ]
    sql = (
        f"SELECT {', '.join(columns)} FROM ("
        "SELECT *, row_number() OVER"
        f" (PARTITION BY unique_id_l ORDER BY match_weight DESC, {TIE_BREAK}, unique_id_r) AS rn"
        f" FROM {scored.physical_name}) t WHERE rn <= {int(top)} ORDER BY unique_id_l, rn"
    )
    return _rows(db_api, sql)


def blocked_pairs(db_api, left, right):
    """The pairs to score: every (line, resident) that some BLOCKING_RULES rule joins, once, as splink's
    blocked-pairs table (``match_key`` is the first rule that found the pair).

    splink writes each rule's join with the negation of every rule before it, so that no pair comes twice:
    with seventy rules that is 160 KB of SQL whose joins each test up to seventy conditions per pair, 1.7 s
    of a 5,000-line run. Seventy plain equi-joins with the duplicates grouped away take 0.25 s and give the
    same pairs (test_matching)."""
    joins = " UNION ALL ".join(
        f"SELECT {i} AS k, l.unique_id AS a, r.unique_id AS b"
        f" FROM {left.physical_name} AS l JOIN {right.physical_name} AS r ON {rule}"
        for i, rule in enumerate(BLOCKING_RULES)
    )
    sql = (
        f"SELECT CAST(min(k) AS STRING) AS match_key,"
        f" '{left.templated_name}-__-' || CAST(a AS STRING) AS join_key_l,"
        f" '{right.templated_name}-__-' || CAST(b AS STRING) AS join_key_r"
        f" FROM ({joins}) AS found GROUP BY a, b"
    )
    return _materialise(db_api, f"__gridroll_blocked_pairs_{random.Random().randrange(16**8):08x}", sql)


def _materialise(db_api, name: str, sql: str):
    """The result of ``sql`` as a table of the backend, registered with splink."""
    if db_api.sql_dialect.sql_dialect_str == "spark":
        db_api.spark.sql(sql).createOrReplaceTempView(name)
    else:
        db_api._con.execute(f"CREATE TABLE {name} AS {sql}")
    return db_api.register(name)


def estimate(db_api, left, right, prior: float, start: dict, lines: int, learned: dict | None = None) -> dict:
    """The parameters for this list and this registry: u from random pairs of the two (sample_u), m by
    expectation maximisation from ``start`` (the trained parameters), then m pulled back towards ``start``
    in proportion to how little data there is. ``learned`` (when given) receives the estimates."""
    dialect = db_api.sql_dialect.sql_dialect_str
    logging.getLogger("splink").setLevel(logging.ERROR)
    sampled = sample_u(db_api, left, right, _count(db_api, left), _count(db_api, right))
    # Random pairs of a list and its registry include true matches (about one in N): for a strong level
    # (the same ID) they are most of what is seen. u is what remains once the matches' share, the prior
    # times m, is taken out.
    exact = exact_u(db_api, left, right) if dialect == "duckdb" else {}
    with_u: dict = {}
    for name, levels in COMPARISONS.items():
        with_u[name] = {}
        for label, _sql in levels[1:]:
            m0, u0 = start.get(name, {}).get(label, (None, None))
            u1 = sampled[name][label]
            if u1 is not None and m0 is not None:
                u1 = max((u1 - prior * m0) / (1 - prior), U_FLOOR)
            if label == "exact" and name in exact:
                u1 = exact[name] if name != "phone" or u1 is None else max(exact[name], u1)
            if (name, label) == ("phone", "exact"):
                # A phone is also agreed by the family member whose phone the line gives, who is not the
                # person: one pair in N for each line that gives a family member's number, m(household)
                # of them. The registry's own pairs cannot show it (each has their own number), and a
                # million random pairs see it once or not at all: at a million residents that one pair
                # or none moved u from 5e-7 to 1e-12, and 14 % of a list's lines (a child listed with a
                # parent's phone) went to the parent.
                u1 = max(u1 or 0.0, prior * start.get("phone", {}).get("household", (0.0, 0.0))[0], U_MIN)
            u = u1 if u1 is not None else u0
            if m0 is not None and u is not None:
                with_u[name][label] = [m0, u]
    linker = _linker(left, right, settings(prior, with_u, dialect), logging.ERROR)
    for rule in EM_RULES:
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule, estimate_without_term_frequencies=True, max_pairs=EM_MAX_PAIRS
            )
        except Exception as exc:  # a rule no pair passes (a list without IDs) teaches nothing
            logging.getLogger(__name__).info("EM round %s skipped: %s", rule, exc)
    found = _parameters_of(linker)
    weight = lines / (lines + PRIOR_LINES)
    out: dict = {}
    for name, levels in COMPARISONS.items():
        out[name] = {}
        for label, _sql in levels[1:]:
            m0, u0 = with_u.get(name, {}).get(label, (None, None))
            m1, _u = found.get(name, {}).get(label, (None, None))
            m = m0 if m1 is None else m1 if m0 is None else weight * m1 + (1 - weight) * m0
            u = u0
            if m is None or u is None:
                continue
            out[name][label] = [max(float(m), M_FLOOR), max(float(u), U_MIN)]
        _normalise(out[name])
    for name, label in VAGUE_LEVELS:
        # A vaguer address (a building, a compound) is never evidence against: m at least u.
        if label in out[name] and out[name][label][0] < out[name][label][1]:
            m, u = out[name][label]
            # The difference comes out of the comparison's largest level, so that m still sums to one.
            largest = max(out[name].values(), key=lambda v: v[0])
            largest[0] -= u - m
            out[name][label] = [u, u]
    keep_order(out)
    if learned is not None:
        learned.update(
            {"start": start, "sampled_u": sampled, "estimated": found, "used": out, "weight": weight}
        )
    return out


M_FLOOR = 1e-4
VAGUE_LEVELS = (("address", "building"), ("address", "compound"))
NOT_WEAKER = (("phone", "exact", "household"), ("phone", "exact", "one_digit"))
U_FLOOR = 1e-7  # what a million sampled pairs can resolve
U_MIN = 1e-13  # below a counted u (1/N² for a million residents is 1e-12)
# The registry column each exact level compares, and the list's column that must be present for the level
# to be possible (a masked name or phone can agree only at its masked level).
_EXACT_COLUMNS = {"name": "name", "id": "id_full", "phone": "phone"}
_PRESENT = {
    "name": "(name IS NOT NULL OR name_pattern IS NOT NULL)",
    "id": "(id_head4 IS NOT NULL OR id_last4 IS NOT NULL OR id_pattern IS NOT NULL)",
    "phone": "(phone IS NOT NULL OR phone_pattern IS NOT NULL)",
}


def keep_order(params: dict) -> None:
    """One's own phone is never weaker evidence than a family member's or one a digit off (NOT_WEAKER).
    At a million residents neither level's u is seen among a million random pairs, and the floors the
    estimates fall to made a family member's phone worth more than the person's own: a nameless line
    with the person's own number ranked them below three of their family. The stronger level's u is
    lowered until its odds are the weaker one's."""
    for name, strong, weak in NOT_WEAKER:
        levels = params.get(name, {})
        if strong in levels and weak in levels:
            (ms, us), (mw, uw) = levels[strong], levels[weak]
            if ms / us < mw / uw:
                levels[strong][1] = ms * uw / mw


def exact_u(db_api, left, right) -> dict[str, float]:
    """u of the exact levels of name, ID and phone from the registry itself, counted, not sampled.

    Two different residents have the same value with probability sum c(c-1) / N(N-1) over the values'
    counts c (a family's shared phone, ten 张伟; IDs almost never); a line can agree exactly only when it
    shows the whole value, so that is scaled by the share of the list's lines that do. Random sampling
    cannot see these: a million sampled pairs resolve nothing below one in a million, and among random
    pairs of a list and its registry the true matches (one in N) outnumber the non-matches that agree.
    At least one pair in all the registry's pairs is assumed (1 / N²)."""
    con = db_api._con
    feed, registry = left.physical_name, right.physical_name
    n = con.execute(f"SELECT count(*) FROM {registry}").fetchall()[0][0]
    out = {}
    for name, column in _EXACT_COLUMNS.items():
        pairs = con.execute(
            f"SELECT coalesce(sum(c * (c - 1)), 0) FROM (SELECT count(*) AS c FROM {registry}"
            f" WHERE {column} IS NOT NULL GROUP BY {column})"
        ).fetchall()[0][0]
        shown, present = con.execute(
            f"SELECT count({column}), count(*) FILTER (WHERE {_PRESENT[name]}) FROM {feed}"
        ).fetchall()[0]
        share = shown / present if present else 1.0
        out[name] = max(share * float(pairs) / max(1, n * (n - 1)), 1.0 / max(1, n) ** 2)
    return out


def _level_case(name: str, levels: list[tuple[str, str]]) -> str:
    """A comparison's level label for a pair, as splink chooses it: the first level whose condition holds."""
    whens = " ".join(f"WHEN {sql} THEN '{label}'" for label, sql in levels if sql != "ELSE")
    return f"CASE {whens} ELSE '{levels[-1][0]}' END AS g_{name}"


def sample_u(
    db_api, left, right, lines: int, residents: int, pairs: float | None = None, seed: int = 1
) -> dict:
    """u of every level (comparison → label → u, or None where no pair fell in it) from random pairs of the
    list and the registry, every comparison in one pass over the same pairs.

    splink's estimate_u_using_random_sampling joins its sample once per comparison (four cross joins of a
    million pairs: 4.1 s against 2.7 here, on one 5,000-line list) and keeps only a few hundred of the
    list's lines (a sample of both sides in proportion: 316 of 5,000 lines with 3,162 residents; 100 of the
    ten thousand EM lines at a million residents). Here up to U_SAMPLE_LINES lines, chosen by a hash of
    their id (the same every run, and on DuckDB and Spark), each meet the same residents, chosen the same way,
    as many as make ``pairs``. u of a level is its share of the pairs where the comparison is not null, as
    in splink."""
    pairs = U_MAX_PAIRS if pairs is None else pairs
    n_lines = max(1, min(lines, U_SAMPLE_LINES))
    n_residents = max(1, min(residents, math.ceil(pairs / n_lines)))
    from gridroll.reconcile.features import COLUMNS

    select = ", ".join(f"l.{c} AS {c}_l, r.{c} AS {c}_r" for c in COLUMNS)
    # A multiplicative hash of the id, modulo a prime: the same order on DuckDB and Spark (their hash()
    # functions differ), so both engines sample the same pairs.
    order = f"(unique_id * 2654435761 + {int(seed)}) % 4294967291, unique_id"
    cases = ", ".join(_level_case(name, levels) for name, levels in COMPARISONS.items())
    gammas = [f"g_{name}" for name in COMPARISONS]
    sql = (
        f"WITH ls AS (SELECT * FROM {left.physical_name} ORDER BY {order} LIMIT {n_lines}),"
        f" rs AS (SELECT * FROM {right.physical_name} ORDER BY {order} LIMIT {n_residents}),"
        f" pairs AS (SELECT {select} FROM ls AS l CROSS JOIN rs AS r),"
        f" g AS (SELECT {cases} FROM pairs)"
        f" SELECT {', '.join(gammas)}, count(*) FROM g"
        f" GROUP BY GROUPING SETS ({', '.join(f'({g})' for g in gammas)})"
    )
    counts: dict[str, dict[str, int]] = {name: {} for name in COMPARISONS}
    for row in _rows(db_api, sql):
        for name, label in zip(COMPARISONS, row[:-1], strict=True):
            if label is not None:
                counts[name][label] = int(row[-1])
    out: dict = {}
    for name, levels in COMPARISONS.items():
        seen = {label: c for label, c in counts[name].items() if label != levels[0][0]}
        total = sum(seen.values())
        out[name] = {
            label: (seen[label] / total if total and seen.get(label) else None) for label, _ in levels[1:]
        }
    return out


def _normalise(levels: dict) -> None:
    """m (and u) over a comparison's levels sum to one after blending and flooring."""
    for index in (0, 1):
        total = sum(v[index] for v in levels.values())
        if total > 0:
            for v in levels.values():
                v[index] = v[index] / total


def _parameters_of(linker) -> dict:
    out: dict = {}
    for comparison in linker.misc.save_model_to_json()["comparisons"]:
        name = comparison["output_column_name"]
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            m, u = level.get("m_probability"), level.get("u_probability")
            out.setdefault(name, {})[level["label_for_charts"]] = (m, u)
    return out


def _table_for(db_api, rows):
    if db_api.sql_dialect.sql_dialect_str == "spark":
        if not isinstance(rows, list):  # the registry's Arrow table
            rows = list(zip(*(column.to_pylist() for column in rows.columns), strict=True))
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


def _count(db_api, table) -> int:
    return int(_rows(db_api, f"SELECT count(*) FROM {table.physical_name}")[0][0])


def _rows(db_api, sql: str) -> list[tuple]:
    if db_api.sql_dialect.sql_dialect_str == "spark":
        return [tuple(r) for r in db_api.spark.sql(sql).collect()]
    return db_api._con.execute(sql).fetchall()
