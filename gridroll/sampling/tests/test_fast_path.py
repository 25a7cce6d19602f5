"""The one-round-trip add (fastpath.sql) decides exactly as the general Python way, reason for reason."""

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gridroll.codes.services import current_code, revoke_code
from gridroll.labs.services import import_results
from gridroll.rollcall.models import Entry, Tally
from gridroll.rollcall.tests.helpers import assert_tallies_true, receive
from gridroll.sampling import services
from gridroll.sampling.models import Sample, ScanAction, Tube
from gridroll.sampling.tests.conftest import code_of

pytestmark = pytest.mark.postgres


@pytest.fixture(autouse=True)
def scan_way():
    """This module chooses the way itself (the conftest's doubling does not apply)."""
    return "chosen here"


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("the fast path is PostgreSQL's: DATABASE_URL=postgres://... make test")


def scenario(user, act, people, tag):
    """Every outcome of an add, in order; the results and what they left behind."""
    t = f"T{tag}000001"
    run = lambda *a: services.record_actions(user, [act(*a[:2], **a[2])])[0]  # noqa: E731
    out = []
    run("open_tube", t, {})
    out.append(run("add", t, {"code": code_of(people[0])}))  # ok
    out.append(run("add", t, {"code": code_of(people[0])}))  # already_in_tube
    out.append(run("add", t, {"resident_id": people[1].pk}))  # ok by id
    out.append(run("add", t, {"resident_id": 10**8}))  # person_unknown
    revoked = code_of(people[2])
    revoke_code(current_code(people[2]), user, "lost")
    out.append(run("add", t, {"code": revoked}))  # code_revoked
    genuine = code_of(people[5])
    forged = genuine[:60] + ("B" if genuine[60] != "B" else "C") + genuine[61:]
    out.append(run("add", t, {"code": forged}))  # code_forged: not a stored token, and a bad signature
    out.append(run("add", "NOSUCHTUBE1", {"code": code_of(people[3])}))  # tube_not_open
    t2 = f"T{tag}000002"
    run("open_tube", t2, {})
    out.append(run("add", t2, {"code": code_of(people[0])}))  # already_sampled (warned)
    out.append(run("add", t2, {"code": code_of(people[4]), "decided_offline": True}))  # ok, offline
    return out


@pytest.mark.django_db
@pytest.mark.parametrize("fast", [True, False])
def test_both_ways_decide_alike(fast, roll, people, act, monkeypatch):
    user = User.objects.create_superuser("root", password="x")
    monkeypatch.setattr(services, "_FAST_PATH", [fast])
    results = scenario(user, act, people, "F" if fast else "G")
    assert [(r.result, r.reason) for r in results] == [
        ("accepted", "ok"),
        ("refused", "already_in_tube"),
        ("accepted", "ok"),
        ("refused", "person_unknown"),
        ("refused", "code_revoked"),
        ("refused", "code_forged"),
        ("refused", "tube_not_open"),
        ("warned", "already_sampled"),
        ("accepted", "ok"),
    ]
    assert results[0].person == {"masked_name": people[0].masked_name, "age": people[0].age, "sex": "男"}
    assert results[0].tube == {
        "barcode": results[0].tube["barcode"],
        "size": 1,
        "capacity": 10,
        "status": "open",
        "pool_mode": "pool10",
    }
    assert ScanAction.objects.filter(kind="add").count() == len(results)
    assert ScanAction.objects.get(nonce=results[3].nonce).message == services.MESSAGES["person_unknown"]
    assert Sample.objects.count() == 4
    sampled = set(Entry.objects.filter(round=roll, state="sampled").values_list("resident_id", flat=True))
    assert sampled == {people[0].pk, people[1].pk, people[4].pk}
    assert_tallies_true(roll)
    # The same nonce again: the stored answer, nothing new.
    again = services.record_actions(
        user, [{**act("add", "TF000001"), "nonce": results[0].nonce, "code": "x"}]
    )[0]
    assert again.duplicate and again.reason == "ok" and Sample.objects.count() == 4


@pytest.mark.django_db
def test_one_add_is_one_statement(roll, people, act):
    user = User.objects.create_superuser("root", password="x")
    services.record_actions(user, [act("open_tube", "TQ000001")])
    services.record_actions(user, [act("add", "TQ000001", code=code_of(people[5]))])  # warm the caches
    with CaptureQueriesContext(connection) as queries:
        result = services.record_actions(user, [act("add", "TQ000001", code=code_of(people[6]))])[0]
    assert result.reason == "ok"
    calls = [q["sql"] for q in queries.captured_queries if "gridroll_scan_add" in q["sql"]]
    assert len(calls) == 1 and not any("sampling_sample" in q["sql"] for q in queries.captured_queries)


@pytest.mark.django_db
def test_retests_through_the_fast_path(roll, people, act):
    user = User.objects.create_superuser("root", password="x")
    services.record_actions(user, [act("open_tube", "TR000001")])
    services.record_actions(user, [act("add", "TR000001", resident_id=p.pk) for p in people[:3]])
    receive("TR000001")
    import_results(b"tube,result\nTR000001,positive\n", "r.csv")
    services.record_actions(user, [act("open_tube", "TR000002")])
    refused = services.record_actions(user, [act("add", "TR000002", resident_id=people[0].pk)])[0]
    assert refused.reason == "retest_needs_single"
    services.record_actions(user, [act("open_tube", "TR000003", pool_mode="single")])
    ok = services.record_actions(user, [act("add", "TR000003", resident_id=people[0].pk)])[0]
    assert (ok.result, ok.reason) == ("accepted", "ok")
    assert Tube.objects.get(barcode="TR000003").status == "sealed"
    from gridroll.labs.models import RetestTask

    assert RetestTask.objects.get(resident=people[0]).status == "sampled"
    assert Tally.objects.filter(round=roll).exists()
    assert_tallies_true(roll)


@pytest.mark.django_db
def test_the_installed_function_is_the_file_and_the_newest_migration():
    """A change to fastpath.sql needs a migration carrying the new text; replaying migrations installs
    exactly what each one froze (issue 17)."""
    import importlib
    from pathlib import Path

    from gridroll.sampling import migrations as sampling_migrations

    folder = Path(sampling_migrations.__file__).parent
    installing = sorted(p.stem for p in folder.glob("0*.py") if 'SQL = r"""' in p.read_text())
    newest = importlib.import_module(f"gridroll.sampling.migrations.{installing[-1]}")
    text = (folder.parent / "fastpath.sql").read_text()
    assert text == newest.SQL, f"fastpath.sql changed: freeze it in a new migration after {installing[-1]}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT prosrc FROM pg_proc WHERE proname = 'gridroll_scan_add'")
        [(installed,)] = cursor.fetchall()
    body = text.split("$$")[1]
    assert installed == body
