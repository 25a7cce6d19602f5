"""Match feed lines to residents: features, the linkage model, and the decision per line.

A line is matched automatically only when the model is sure (match probability ≥ ``AUTO_PROBABILITY``),
the runner-up is far behind (``MARGIN`` bits of match weight: a household's two 张伟 send the line to
review), and the name or the ID number agrees (a new tenant with a neighbour's phone and the same room is
not the neighbour). Otherwise the line goes to review with its best candidates, or, when no candidate is
plausible, counts as not in the registry.
"""

from __future__ import annotations

import contextlib
import gc
from dataclasses import dataclass, field

from gridroll.reconcile import model
from gridroll.reconcile.features import (
    AddressReader,
    FeedFeatures,
    FeedInput,
    ResidentRow,
    as_row,
    feed_features,
    resident_record,
)

AUTO_PROBABILITY = 0.95
MARGIN = 6.0  # bits: the runner-up is at least 64 times less likely
REVIEW_PROBABILITY = 0.05
NAME_AGREES = {"exact", "same_sound", "same_shape", "swapped", "similar_sound"}
ID_AGREES = {"exact", "one_digit", "masked"}


@dataclass
class LineMatch:
    line: int
    resident_id: int | None  # the automatic match, or None
    automatic: bool
    confidence: float  # the top candidate's match probability (0 when there is none)
    candidates: list[int] = field(default_factory=list)  # residents, best first (at most three)
    scored: list[model.Candidate] = field(default_factory=list)
    features: FeedFeatures | None = None

    @property
    def plausible(self) -> bool:
        return bool(self.scored) and self.scored[0].probability >= REVIEW_PROBABILITY


@contextlib.contextmanager
def no_gc():
    """Pause the cyclic garbage collector while a million small tuples are made: they hold no cycles, and
    the collector's passes over them cost as much as making them."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def prepare(
    lines: list[FeedInput], residents: list[ResidentRow]
) -> tuple[list[tuple], list[tuple], dict[int, FeedFeatures]]:
    """The feed's and the registry's rows (in the order of features.COLUMNS) and each line's features."""
    reader = AddressReader({r.compound for r in residents})
    households_by_phone: dict[str, int] = {}
    building_ids: dict[tuple[str, str], int] = {}
    ambiguous: set[tuple[str, str]] = set()
    for r in residents:
        if r.phone and r.household_id is not None:
            households_by_phone.setdefault(r.phone, r.household_id)
        if r.building_id is not None:
            # A building named twice (two 3号楼 of one compound in two grids) places nobody.
            known = building_ids.setdefault((r.compound, r.building), r.building_id)
            if known != r.building_id:
                ambiguous.add((r.compound, r.building))
    for key in ambiguous:
        del building_ids[key]
    feats = {line.line: feed_features(line, reader, households_by_phone, building_ids) for line in lines}
    registry = [resident_record(r) for r in residents]
    return [as_row(f.record) for f in feats.values()], registry, feats


def decide(line: int, scored: list[model.Candidate]) -> LineMatch:
    if not scored:
        return LineMatch(line, None, False, 0.0)
    top = scored[0]
    runner_up = scored[1].weight if len(scored) > 1 else None
    evidence = top.levels["name"] in NAME_AGREES or top.levels["id"] in ID_AGREES
    automatic = (
        top.probability >= AUTO_PROBABILITY
        and (runner_up is None or top.weight - runner_up >= MARGIN)
        and evidence
    )
    return LineMatch(
        line,
        top.resident_id if automatic else None,
        automatic,
        top.probability,
        [c.resident_id for c in scored[:3]],
        scored[:3],
    )


def match_lines(
    lines: list[FeedInput], residents: list[ResidentRow], *, db_api=None, params: dict | None = None
) -> dict[int, LineMatch]:
    """One LineMatch per feed line (keyed by its line number)."""
    with no_gc():
        feed_rows, registry_rows, feats = prepare(lines, residents)
        predictions = model.predict(feed_rows, registry_rows, db_api=db_api, params=params)
    out = {}
    for line in lines:
        match = decide(line.line, predictions.get(line.line, []))
        match.features = feats[line.line]
        out[line.line] = match
    return out
