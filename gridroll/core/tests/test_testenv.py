"""CI's PostgreSQL run leaves out the tests that cannot reach the database (--database-tests-only): the
rule that tells them apart, tried on tests of each kind (this file's own)."""

import pytest
from django.db import connection

from gridroll.core.testenv import uses_database


def test_a_test_with_no_database_is_left_to_the_sqlite_run(request):
    assert not uses_database(request.node)
    # And it truly cannot reach the database: pytest-django refuses, so its answer is the same on both.
    with pytest.raises(RuntimeError, match="Database access not allowed"):
        connection.cursor()


@pytest.mark.django_db
def test_a_test_marked_for_the_database_runs_on_both(request):
    assert uses_database(request.node)


def test_a_test_asking_for_the_database_by_fixture_runs_on_both(db, request):
    assert uses_database(request.node)


@pytest.fixture
def built_once(django_db_setup):
    yield


def test_a_test_whose_fixture_builds_the_database_runs_on_both(built_once, request):
    assert uses_database(request.node)
