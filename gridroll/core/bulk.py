"""Fast multi-row inserts for imports and generators, on SQLite and PostgreSQL alike.

Django's bulk_create spends most of its time preparing each field of each object (about 10 s for
100,000 residents here). Rows that are already plain values go in several times faster:

- PostgreSQL: take the ids from the table's sequence first, then COPY the rows with their ids
  (COPY does ~160,000 rows/s here; a multi-row INSERT spent most of its time in psycopg's client-side
  parsing of the long statement).
- SQLite (≥ 3.35): multi-row ``INSERT … RETURNING id``, which returns ids in VALUES order, as Django's
  own bulk_create relies on.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.models import JSONField, Model


def _adapter(field):
    ops = connection.ops
    internal = field.get_internal_type()
    if internal == "DateTimeField":
        return ops.adapt_datetimefield_value
    if internal == "DateField":
        return ops.adapt_datefield_value
    if isinstance(field, JSONField):
        return lambda v: json.dumps(v, ensure_ascii=False)
    return None


SMALL = 20


def insert_rows(
    model: type[Model], fields: Sequence[str], rows: Sequence[Sequence[Any]], ids: bool = True
) -> list[int]:
    """Insert ``rows`` (values in the order of ``fields``, not yet adapted) and return their new ids
    (an empty list when ``ids`` is False: a caller that needs none saves a round trip)."""
    if not rows:
        return []
    fields, rows = _with_defaults(model, fields, rows)
    # COPY needs two round trips when it must return ids (ids, then data): worth it for many rows, not
    # for a scan's one or two.
    if connection.vendor == "postgresql" and len(rows) > SMALL:
        return _copy_rows(model, fields, rows, ids)
    meta = model._meta
    model_fields = [meta.get_field(f) for f in fields]
    adapters = [(i, a) for i, a in enumerate(_adapter(f) for f in model_fields) if a is not None]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in model_fields)
    table = connection.ops.quote_name(meta.db_table)
    pk = connection.ops.quote_name(meta.pk.column)
    # SQLite allows 32,766 parameters per statement; stay well below for both databases.
    per_statement = max(1, 8000 // len(fields))
    row_sql = "(" + ", ".join(["%s"] * len(fields)) + ")"
    new_ids: list[int] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            params: list[Any] = []
            for row in chunk:
                if adapters:
                    row = list(row)
                    for i, adapt in adapters:
                        if row[i] is not None:
                            row[i] = adapt(row[i])
                params.extend(row)
            sql = f"INSERT INTO {table} ({columns}) VALUES {', '.join([row_sql] * len(chunk))}"
            if not ids:
                cursor.execute(sql, params)
                continue
            cursor.execute(f"{sql} RETURNING {pk}", params)
            new_ids.extend(r[0] for r in cursor.fetchall())
    return new_ids


def _with_defaults(model, fields, rows):
    """Add the model's defaults for NOT NULL columns the caller did not name (a field added later must
    not break every fast insert); the database has no defaults of its own under Django."""
    extra = [
        f
        for f in model._meta.concrete_fields
        if not f.primary_key
        and not f.generated  # the database computes it
        and f.name not in fields
        and f.attname not in fields
        and not f.null
        and f.get_default() is not None  # a blank CharField's default is ""
    ]
    if not extra:
        return fields, rows
    values = tuple(f.get_default() for f in extra)
    return (*fields, *(f.attname for f in extra)), [(*row, *values) for row in rows]


def _copy_rows(
    model: type[Model], fields: Sequence[str], rows: Sequence[Sequence[Any]], want_ids: bool
) -> list[int]:
    meta = model._meta
    model_fields = [meta.get_field(f) for f in fields]
    json_positions = [i for i, f in enumerate(model_fields) if isinstance(f, JSONField)]
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    pk_column = [quote(meta.pk.column)] if want_ids else []
    columns = ", ".join(pk_column + [quote(f.column) for f in model_fields])
    with connection.cursor() as cursor:
        ids: list[int] = []
        if want_ids:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [meta.db_table, meta.pk.column, len(rows)],
            )
            ids = [r[0] for r in cursor.fetchall()]
        # The raw psycopg cursor skips Django's error wrapping: restore it, so that a unique violation is
        # django.db.IntegrityError here as it is on SQLite (callers retry on it).
        with (
            connection.wrap_database_errors,
            cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
        ):
            for n, row in enumerate(rows):
                if json_positions:
                    row = list(row)
                    for i in json_positions:
                        row[i] = json.dumps(row[i], ensure_ascii=False)
                copy.write_row((ids[n], *row) if want_ids else row)
    return ids


def for_update() -> str:
    """`` FOR UPDATE`` where the database locks rows (SQLite locks the whole database on a write)."""
    return " FOR UPDATE" if connection.features.has_select_for_update else ""


def placeholders(values: Sequence[Any]) -> str:
    """``%s, %s, %s`` for an ``IN (…)`` of these values (the values go in the parameters)."""
    return ", ".join(["%s"] * len(values))
