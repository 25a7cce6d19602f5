"""Opening a round puts everyone on its roll in one statement whose cost grows with the residents only.

Issue 20: the statement skipped people already on the roll with a NOT EXISTS over the entries. Opening a
round, the entries it probed were the ones the statement itself was writing, and with no statistics for
them the planner was free to probe them by the round alone: every resident then read every entry
inserted before it (200,000 residents took minutes; 1,000,000 had not finished after 19). The unique
index skips them now (ON CONFLICT), so no plan reads the entries at all.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gridroll.rollcall.models import Entry
from gridroll.rollcall.services import sync_round

pytestmark = pytest.mark.django_db


def _plan(sql: str) -> str:
    explain = "EXPLAIN" if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN"
    with connection.cursor() as cursor:
        cursor.execute(f"{explain} {sql}")
        return "\n".join(str(row) for row in cursor.fetchall())


def test_opening_a_round_never_reads_the_entries_it_writes(round_, people):
    Entry.objects.filter(round=round_).delete()  # put on the roll as they were created (post_save)
    with CaptureQueriesContext(connection) as queries:
        assert sync_round(round_)["added"] == len(people)
    [insert] = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].lstrip().startswith("INSERT INTO rollcall_entry")
    ]
    assert "rollcall_entry" not in _plan(insert).replace("Insert on rollcall_entry", "")
    # Run again, nobody is added twice.
    assert sync_round(round_)["added"] == 0
    assert Entry.objects.filter(round=round_).count() == len(people)
