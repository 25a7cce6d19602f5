"""Say "run python manage.py migrate" when a command meets a database that was never migrated.

Without it ``load_demo`` (or any command) on a fresh database prints a raw OperationalError ("no such
table") or, on PostgreSQL, a ProgrammingError ("relation … does not exist"). ``manage.py`` calls
``unmigrated_message`` when a database error ends a command: only when migrations are in fact pending is
the error replaced by the instruction; any other database error is raised as it was.
"""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.utils import OperationalError, ProgrammingError

DATABASE_ERRORS = (OperationalError, ProgrammingError)


def pending_migrations(alias: str = DEFAULT_DB_ALIAS) -> list[str]:
    """The migrations not yet applied to the database, as 'app.name'."""
    from django.db.migrations.executor import MigrationExecutor

    connection = connections[alias]
    connection.close()  # the failed command may have left the connection in an aborted transaction
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{m.app_label}.{m.name}" for m, _backwards in plan]


def unmigrated_message(exc: BaseException) -> str | None:
    """The instruction to migrate if ``exc`` came from a database that lacks migrations, else None."""
    if not isinstance(exc, DATABASE_ERRORS):
        return None
    try:
        pending = pending_migrations()
    except Exception:  # the database cannot even be read: the original error says more
        return None
    if not pending:
        return None
    first_line = str(exc).splitlines()[0] if str(exc) else "a missing table"
    settings_db = connections[DEFAULT_DB_ALIAS].settings_dict
    where = settings_db.get("NAME") or ""
    return (
        f"The database {where} is not migrated ({len(pending)} migrations pending, e.g. {pending[0]}).\n"
        "Run: python manage.py migrate\n"
        f"(the command stopped on: {first_line})"
    )
