"""Loaded by pytest before Django's settings (``-p gridroll.core.testenv`` in pyproject.toml): tests run
with the demo's settings, which production refuses (gridroll/settings.py).

It also gives CI's second run, on PostgreSQL, what it needs and no more (``--database-tests-only``): a
test that never touches the database gives the same answer on either database, and it has given it in
the SQLite run (README.md, the end of "More")."""

import os

os.environ.setdefault("GRIDROLL_DEMO", "1")

# pytest-django's fixtures that reach the database; a test with none of them (and no django_db mark)
# is refused any query, so its answer cannot depend on which database is configured.
DATABASE_FIXTURES = frozenset(
    {
        "db",
        "transactional_db",
        "django_db_reset_sequences",
        "django_db_serialized_rollback",
        "django_db_setup",
        "live_server",
    }
)


def uses_database(item) -> bool:
    return item.get_closest_marker("django_db") is not None or bool(
        DATABASE_FIXTURES & set(getattr(item, "fixturenames", ()))
    )


def pytest_addoption(parser):
    parser.addoption(
        "--database-tests-only",
        action="store_true",
        help="run only the tests that use the database (CI's PostgreSQL run; the others ran on SQLite)",
    )


def deselect(config, items, leave_out) -> None:
    """Take the items ``leave_out(item)`` is true of out of the run, reported as deselected."""
    dropped = [item for item in items if leave_out(item)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if not leave_out(item)]


def pytest_collection_modifyitems(config, items):
    if config.getoption("--database-tests-only"):
        deselect(config, items, lambda item: not uses_database(item))
