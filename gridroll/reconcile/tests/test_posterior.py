"""A line's candidates compete, and a list whose lines are mostly someone makes a lone good candidate
more likely (issue 15: a clear name and its building alone stayed at p 0.6–0.9 under the one-in-N prior
of each pair taken alone). Each test is written as the failure it guards against."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gridroll.reconcile import model
from gridroll.reconcile.matching import LAMBDA_MAX, decide, line_posteriors

LEVELS = {"name": "exact", "id": "null", "phone": "null", "address": "building"}


def _cands(*weights: float) -> list[model.Candidate]:
    return [
        model.Candidate(i, w, 2.0**w / (1 + 2.0**w), dict(LEVELS)) for i, w in enumerate(weights, start=1)
    ]


def _strong_list(lines: int, strong: int) -> dict[int, list[model.Candidate]]:
    """``strong`` lines with one sure candidate (weight 20), the rest with nobody plausible."""
    out = {i: _cands(20.0) for i in range(1, strong + 1)}
    out.update({i: _cands(-9.0) for i in range(strong + 1, lines + 1)})
    return out


@given(weight=st.floats(-5, 40), others=st.lists(st.floats(-10, 40), max_size=3))
def test_two_equally_good_candidates_are_never_more_than_even(weight, others):
    """splink scores pairs alone: a household's two 张伟 both came out at 0.99."""
    predictions = _strong_list(50, 45)
    predictions[51] = _cands(weight, weight, *others)
    line_posteriors(predictions, 51)
    first, second = predictions[51][0].probability, predictions[51][1].probability
    assert first <= 0.5 + 1e-9 and abs(first - second) < 1e-9
    assert sum(c.probability for c in predictions[51]) <= 1 + 1e-9


@given(strong=st.integers(5, 95))
def test_the_share_of_lines_in_the_registry_is_estimated_from_the_list(strong):
    share = line_posteriors(_strong_list(100, strong), 100)
    assert abs(share - min(strong / 100, LAMBDA_MAX)) < 0.02


def test_a_lone_clear_name_in_its_building_is_matched_on_a_list_of_registered_people():
    """Weight 3 (pair probability 0.89 under the one-in-N prior) on a list where nine lines in ten are
    someone: the line went to review."""
    predictions = _strong_list(100, 90)
    predictions[101] = _cands(3.0, -6.0)
    assert predictions[101][0].probability < 0.95
    line_posteriors(predictions, 101)
    assert decide(101, predictions[101]).automatic
    # On a list of strangers the same evidence is not enough.
    strangers = _strong_list(100, 5)
    strangers[101] = _cands(3.0, -6.0)
    line_posteriors(strangers, 101)
    assert not decide(101, strangers[101]).automatic


def test_a_masked_name_that_fits_one_member_beats_one_whose_surname_alone_agrees():
    """张*琪 with the household's masked phone: 张红琪 fits (9.9 bits), 张涛 shares only the surname
    (4.2 bits). 5.7 bits apart, the line went to review under a 6-bit margin."""
    fits = {"name": "masked", "id": "null", "phone": "masked", "address": "building"}
    surname = dict(fits, name="masked_surname")
    cands = [
        model.Candidate(1, 9.9, 0.999, fits),
        model.Candidate(2, 4.2, 0.95, surname),
        model.Candidate(3, 0.8, 0.63, dict(fits, name="different")),
    ]
    predictions = _strong_list(100, 90)
    predictions[101] = cands
    line_posteriors(predictions, 101)
    assert decide(101, cands).resident_id == 1
