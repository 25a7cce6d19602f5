"""The expected arrivals (the command view's predicted queue) against the simulation's own draws: the
curve read by formula must be what drawing people from it gives on average."""

from __future__ import annotations

import random

import pytest

from gridroll.lib import queuesim


@pytest.mark.parametrize("t", [-20, -10, 0, 10, 20, 30, 45, 60, 70, 80, 100])
def test_expected_arrivals_are_the_mean_of_the_simulations_draws(t):
    start, end, people, trials = 0.0, 60.0, 200, 600
    drawn = sum(
        n
        for k in range(trials)
        for when, n in queuesim.arrivals(random.Random(k), start, end, people)
        if when <= t
    )
    # 600 slots of 200 people: the mean is known to well within 2 people.
    assert queuesim.expected_arrivals(start, end, people, t) == pytest.approx(drawn / trials, abs=2.0)


def test_before_the_early_ones_nobody_and_after_the_late_ones_all_who_come():
    assert queuesim.expected_arrivals(0, 30, 100, -15) == 0
    assert queuesim.expected_arrivals(0, 30, 100, 50) == pytest.approx(100 * (1 - queuesim.NO_SHOW))
    # A slot of no length: everyone in it comes at its start (and the early and late ones around it).
    assert queuesim.expected_arrivals(10, 10, 100, 10) == pytest.approx(
        100 * (1 - queuesim.NO_SHOW) * (1 - queuesim.LATE)
    )
