"""Concurrent uploads to one tube: PostgreSQL only (SQLite serialises writers anyway)."""

import threading

import pytest
from django.db import connection, connections

from gridroll.sampling.models import Sample, ScanAction, Tube
from gridroll.sampling.services import record_action
from gridroll.sampling.tests.conftest import code_of

pytestmark = pytest.mark.postgres


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("concurrency tests need PostgreSQL: DATABASE_URL=postgres://... make test")


@pytest.mark.django_db(transaction=True)
def test_fifteen_stations_racing_for_one_ten_tube(sampler, act, people):
    record_action(sampler, act("open_tube"))
    extra = [p for p in people]  # 12 people, some sent twice
    actions = [act("add", code=code_of(p)) for p in extra] + [
        act("add", code=code_of(extra[0])) for _ in range(3)
    ]
    results = []
    barrier = threading.Barrier(len(actions))

    def run(action):
        barrier.wait()
        try:
            results.append(record_action(sampler, action))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(a,)) for a in actions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    tube = Tube.objects.get()
    accepted = [r for r in results if r.result == "accepted"]
    assert len(results) == 15, "an upload raised instead of answering"
    assert len(accepted) == tube.size == 10 == Sample.objects.count()
    assert {r.reason for r in results if r.result == "refused"} <= {"tube_full", "already_in_tube"}
    assert ScanAction.objects.count() == 16


@pytest.mark.django_db(transaction=True)
def test_the_same_nonce_uploaded_twice_at_once(sampler, act, people):
    record_action(sampler, act("open_tube"))
    action = act("add", code=code_of(people[0]))
    results = []

    def run():
        try:
            results.append(record_action(sampler, action))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4, "an upload raised instead of answering"
    assert {r.result for r in results} == {"accepted"} and Sample.objects.count() == 1
    assert sum(1 for r in results if not r.duplicate) == 1
