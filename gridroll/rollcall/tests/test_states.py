import pytest
from django.contrib.auth.models import User

from gridroll.audit.models import AuditRecord
from gridroll.labs.models import RetestTask
from gridroll.labs.services import ResultUpload, apply_results
from gridroll.residents.models import Resident
from gridroll.rollcall.models import Entry, Exemption, State, Tally
from gridroll.rollcall.services import ExemptionError, clear_exemption, set_exemption, sync_round
from gridroll.rollcall.tests.helpers import assert_tallies_true, fill, receive, states
from gridroll.sampling.services import record_actions

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(db):
    return User.objects.create_superuser("root", password="x")


def results(rows):
    upload = ResultUpload.objects.create(filename="api")
    return apply_results(upload, [{"_row": i + 2, **r} for i, r in enumerate(rows)])


def test_sync_puts_everyone_in_scope_on_the_roll(round_, people, resident_a, resident_b):
    people[0].status = "away"
    people[0].save()
    people[1].status = "moved_out"
    people[1].save()
    # Saving a resident already keeps open rounds in line (a signal); start again from an empty roll.
    assert Entry.objects.filter(round=round_, resident=people[0], state="exempt").exists()
    Entry.objects.filter(round=round_).delete()
    counts = sync_round(round_)
    on_roll = set(Entry.objects.filter(round=round_).values_list("resident_id", flat=True))
    expected = set(
        Resident.objects.filter(household__isnull=False, status__in=["present", "away"]).values_list(
            "pk", flat=True
        )
    )
    assert on_roll == expected and people[1].pk not in on_roll
    assert counts["added"] == len(expected)
    entry = Entry.objects.get(round=round_, resident=people[0])
    assert (entry.state, entry.exemption) == (State.EXEMPT, Exemption.AWAY)
    assert_tallies_true(round_)
    # Running it again changes nothing.
    assert sync_round(round_) == {"added": 0, "moved": 0, "removed": 0}


def test_opening_a_big_round_refreshes_the_planner_statistics(round_, people, monkeypatch):
    """A round just opened must not plan as if its roll call were empty (PostgreSQL)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from gridroll.rollcall import services

    if connection.vendor != "postgresql":
        pytest.skip("statistics are PostgreSQL's: DATABASE_URL=postgres://... make test")
    Entry.objects.filter(round=round_).delete()
    monkeypatch.setattr(services, "ANALYZE_AFTER", len(people) - 1)
    with CaptureQueriesContext(connection) as queries:
        sync_round(round_)
    analysed = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("ANALYZE")]
    assert analysed == ["ANALYZE rollcall_entry, sampling_sample", "ANALYZE rollcall_tally"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'rollcall_entry'")
        assert cursor.fetchone()[0] >= len(people)
    # A small addition (someone registered mid-round) does not analyse again.
    with CaptureQueriesContext(connection) as queries:
        sync_round(round_)
    assert not any("ANALYZE" in q["sql"] for q in queries.captured_queries)


def test_scan_marks_sampled_and_undo_takes_it_back(roll, people, act, admin):
    fill(admin, act, "TUBE000001", people[:3])
    assert states(roll, people[:4]) == ["sampled", "sampled", "sampled", "missing"]
    assert_tallies_true(roll)
    record_actions(admin, [act("undo", "TUBE000001")])
    assert states(roll, people[:3]) == ["sampled", "sampled", "missing"]
    assert_tallies_true(roll)


def test_exemption_is_audited_reversible_and_a_sample_still_counts(roll, people, act, admin):
    entry = Entry.objects.get(round=roll, resident=people[5])
    with pytest.raises(ExemptionError):
        set_exemption(admin, entry, Exemption.OTHER, "")
    with pytest.raises(ExemptionError):
        set_exemption(admin, entry, "holiday")
    entry = set_exemption(admin, entry, Exemption.HOSPITAL, "市人民医院")
    assert entry.state == State.EXEMPT
    assert AuditRecord.objects.filter(action="rollcall.exempt", target_id=str(people[5].pk)).exists()
    assert_tallies_true(roll)
    entry = clear_exemption(admin, entry)
    assert entry.state == State.MISSING and entry.exemption == ""
    assert AuditRecord.objects.filter(action="rollcall.unexempt").count() == 1
    set_exemption(admin, entry, Exemption.ELSEWHERE)
    fill(admin, act, "TUBE000002", [people[5]])
    assert states(roll, [people[5]]) == ["sampled"]
    assert_tallies_true(roll)


def test_negative_pool(roll, people, act, admin):
    fill(admin, act, "TUBE000001", people[:10])
    receive("TUBE000001")
    upload = results([{"tube": "TUBE000001", "result": "阴性"}])
    assert upload.applied == 1
    assert states(roll, people[:11]) == ["negative"] * 10 + ["missing"]
    assert_tallies_true(roll)


def test_positive_pool_gives_its_members_retests_and_a_single_tube_closes_one(roll, people, act, admin):
    fill(admin, act, "TUBE000001", people[:10])
    fill(admin, act, "TUBE000002", people[10:12])
    receive("TUBE000001", "TUBE000002")
    results(
        [{"tube": "TUBE000001", "result": "阳性", "ct": "31.5"}, {"tube": "TUBE000002", "result": "negative"}]
    )
    tasks = RetestTask.objects.filter(round=roll)
    assert sorted(tasks.values_list("resident_id", flat=True)) == sorted(p.pk for p in people[:10])
    assert set(tasks.values_list("kind", flat=True)) == {"retest"}
    assert states(roll, people) == ["pool_positive"] * 10 + ["negative"] * 2
    assert_tallies_true(roll)

    # A pool-positive person may not go into another pool.
    record_actions(admin, [act("open_tube", "TUBE000003")])
    [refused] = record_actions(admin, [act("add", "TUBE000003", resident_id=people[0].pk)])
    assert refused.reason == "retest_needs_single"

    # Re-swabbed into a single tube: the task is sampled, then closed with the person's own result.
    fill(admin, act, "TUBE000004", [people[0]], pool_mode="single")
    assert tasks.get(resident=people[0]).status == "sampled"
    assert states(roll, [people[0]]) == ["pool_positive"]
    receive("TUBE000004")
    results([{"tube": "TUBE000004", "result": "negative"}])
    task = tasks.get(resident=people[0])
    assert (task.status, task.result) == ("closed", "negative")
    assert states(roll, people[:2]) == ["negative", "pool_positive"]

    fill(admin, act, "TUBE000005", [people[1]], pool_mode="single")
    receive("TUBE000005")
    results([{"tube": "TUBE000005", "result": "positive"}])
    assert tasks.get(resident=people[1]).result == "positive"
    assert states(roll, people[:2]) == ["negative", "positive"]
    assert_tallies_true(roll)


def test_invalid_tube_gives_resample_tasks_closed_by_any_tube(roll, people, act, admin):
    fill(admin, act, "TUBE000001", people[:3])
    receive("TUBE000001")
    results([{"tube": "TUBE000001", "result": "无效"}])
    assert states(roll, people[:3]) == ["invalid"] * 3
    assert set(RetestTask.objects.values_list("kind", flat=True)) == {"resample"}
    fill(admin, act, "TUBE000002", people[:3])
    assert set(RetestTask.objects.values_list("status", flat=True)) == {"sampled"}
    receive("TUBE000002")
    results([{"tube": "TUBE000002", "result": "negative"}])
    assert states(roll, people[:3]) == ["negative"] * 3
    assert set(RetestTask.objects.values_list("status", flat=True)) == {"closed"}
    assert_tallies_true(roll)


def test_undoing_a_retest_sample_reopens_the_task(roll, people, act, admin):
    fill(admin, act, "TUBE000001", people[:2])
    receive("TUBE000001")
    results([{"tube": "TUBE000001", "result": "positive"}])
    fill(admin, act, "TUBE000002", [people[0]], pool_mode="single")
    assert RetestTask.objects.get(resident=people[0]).status == "sampled"
    record_actions(admin, [act("undo", "TUBE000002")])
    assert RetestTask.objects.get(resident=people[0]).status == "open"
    assert states(roll, [people[0]]) == ["pool_positive"]


def test_single_positive_is_positive_without_retest(roll, people, act, admin):
    fill(admin, act, "TUBE000001", [people[0]], pool_mode="single")
    receive("TUBE000001")
    results([{"tube": "TUBE000001", "result": "positive"}])
    assert states(roll, [people[0]]) == ["positive"]
    assert not RetestTask.objects.exists()


def test_moves_follow_while_open_and_leavers_with_nothing_recorded_go(roll, people, tree, act, admin):
    from gridroll.areas.models import Building, Household

    other = Building.objects.create(grid=tree["grid_b"], compound="盛世佳苑", number="9")
    household = Household.objects.create(building=other, room="101")
    # A bulk write (no signal) is caught up by a sync.
    Resident.objects.filter(pk=people[3].pk).update(household=household)
    assert sync_round(roll, [people[3].pk]) == {"added": 0, "moved": 1, "removed": 0}
    people[0].household = household
    people[0].save()
    people[1].status = "moved_out"
    people[1].save()
    fill(admin, act, "TUBE000001", [people[2]])
    people[2].status = "moved_out"
    people[2].save()
    # Each save already brought the roll in line (a signal); a sync finds nothing more to do.
    assert sync_round(roll, [p.pk for p in people[:3]]) == {"added": 0, "moved": 0, "removed": 0}
    entry = Entry.objects.get(round=roll, resident=people[0])
    assert (entry.grid_id, entry.building_id) == (tree["grid_b"].pk, other.pk)
    assert states(roll, people[1:3]) == [None, "sampled"]
    assert_tallies_true(roll)
    assert Tally.objects.get(round=roll, building=other).total == 2
