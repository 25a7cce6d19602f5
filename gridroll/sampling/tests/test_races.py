"""The roll-call race of issue 21, run hundreds of times across threads (PostgreSQL only).

Lane A undoes person P while lane B adds P to another tube; two lanes undo P at once. Before the fix, B
read P as sampled before A committed and A derived P's state from a snapshot without B's sample: P ended
``missing`` holding a live sample, or ``sampled`` with none. After every race each entry must equal its
recount from samples, and each tally the count of its entries (rollcall.services.check_round).
"""

import queue
import random
import threading
import time

import pytest
from django.db import connection, connections

from gridroll.rollcall.services import check_round
from gridroll.sampling import services
from gridroll.sampling.tests.conftest import code_of

pytestmark = pytest.mark.postgres

ROUNDS = 120  # each: one undo-vs-add race and one undo-vs-undo race


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("the race needs PostgreSQL's row locks: DATABASE_URL=postgres://... make test")


class Lanes:
    """Two scanner lanes, each a thread with its own database connection for the whole test (a new
    connection per race would cost more than the race window). ``race(job_a, job_b)`` starts both at
    once, the later one 0–8 ms behind (which one is random), and waits for both."""

    def __init__(self, n: int = 2) -> None:
        self.inbox = [queue.Queue() for _ in range(n)]
        self.done: queue.Queue = queue.Queue()
        self.threads = [threading.Thread(target=self._lane, args=(q,), daemon=True) for q in self.inbox]
        for t in self.threads:
            t.start()

    def _lane(self, inbox: queue.Queue) -> None:
        try:
            while (item := inbox.get()) is not None:
                barrier, lag, job = item
                barrier.wait()
                if lag:
                    time.sleep(lag)
                try:
                    job()
                    self.done.put(None)
                except Exception as exc:  # reported by race()
                    self.done.put(exc)
        finally:
            connections.close_all()

    def race(self, *jobs) -> None:
        barrier = threading.Barrier(len(jobs))
        late = random.randrange(len(jobs))
        for i, job in enumerate(jobs):
            self.inbox[i].put((barrier, random.uniform(0, 0.008) if i == late else 0, job))
        errors = [e for e in (self.done.get() for _ in jobs) if e is not None]
        assert not errors, errors

    def close(self) -> None:
        for q in self.inbox:
            q.put(None)
        for t in self.threads:
            t.join()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("way", ["single", "batch"])
def test_undo_and_add_racing_on_two_lanes_leave_the_roll_call_true(way, sampler, roll, act, people):
    random.seed(21)
    p = people[0]
    send = (
        (lambda a: services.record_actions(sampler, [a]))
        if way == "single"  # one add by code: the fast path on PostgreSQL
        else (lambda a: services.record_actions(sampler, [a, {**a, "nonce": a["nonce"] + "-again"}]))
    )
    lanes = Lanes()
    try:
        _run(lanes, send, sampler, act, p, roll)
    finally:
        lanes.close()


def _run(lanes, send, sampler, act, p, roll):
    for i in range(ROUNDS):
        a, b, c = f"RA{i:07d}", f"RB{i:07d}", f"RC{i:07d}"
        for tube in (a, b, c):
            services.record_action(sampler, act("open_tube", tube=tube))
        services.record_action(sampler, act("add", tube=a, code=code_of(p)))
        # An undo on lane A, an add of the same person on lane B.
        undo_a, add_b = act("undo", tube=a), act("add", tube=b, code=code_of(p))
        lanes.race(lambda u=undo_a: services.record_action(sampler, u), lambda x=add_b: send(x))
        _assert_true(roll, i, "undo vs add")
        # Two lanes undoing the same person at once.
        services.record_action(sampler, act("add", tube=c, code=code_of(p)))
        services.record_action(sampler, act("undo", tube=b))
        undo_1, undo_2 = act("undo", tube=c), act("undo", tube=c)
        lanes.race(
            lambda u=undo_1: services.record_action(sampler, u),
            lambda u=undo_2: services.record_action(sampler, u),
        )
        _assert_true(roll, i, "undo vs undo")


def _assert_true(roll, i: int, race: str) -> None:
    """Checked right after the race: a later scan of the person would derive their state again."""
    result = check_round(roll)
    assert result["entries"] == [] and result["tallies"] == [], (i, race, result)
