"""Match feed lines to residents: features, the linkage model, and the decision per line.

A line is matched automatically only when the model is sure (the probability that the line is this
resident, among its candidates and "nobody registered", is ≥ ``AUTO_PROBABILITY``; see
``line_posteriors``), the runner-up is far behind (``MARGIN`` bits of match weight: a household's two 张伟
send the line to review), and the name or the ID number agrees (a new tenant with a neighbour's phone and
the same room is not the neighbour).

Lists keyed by phone (落位名单) often have no name, or a masked one, and no ID: for them the phone decides
(``phone_path``). A phone that exactly one resident of the registry has matches that resident unless the
line contradicts them (another name, another ID); a phone of one household matches the one member whose
name fits; a phone one digit off matches when it is the only such candidate and the name fits. Otherwise
the line goes to review with its best candidates, or, when no candidate is plausible, counts as not in the
registry.
"""

from __future__ import annotations

import contextlib
import gc
from dataclasses import dataclass, field
from typing import Any

from gridroll.reconcile import model
from gridroll.reconcile.features import (
    AddressReader,
    FeedFeatures,
    FeedInput,
    ResidentRow,
    as_row,
    feed_features,
    registry_table,
)

AUTO_PROBABILITY = 0.95
MARGIN = 4.5  # bits: the runner-up is at least 23 times less likely
REVIEW_PROBABILITY = 0.05
NAME_AGREES = {"exact", "same_sound", "same_shape", "swapped", "similar_sound", "masked"}
ID_AGREES = {"exact", "one_digit", "two_digits", "masked", "masked_parts"}
# Among one household's members, a name with a character dropped or added (张军 for 张军亮) fits the one
# member it is close to, when no other member carrying the phone is as close (``phone_path``).
NAME_FITS = NAME_AGREES | {"dropped", "one_char"}
ADDRESS_AGREES = {"household", "near", "building", "building_other_room", "compound"}
# A name one character off (a dropped character) does not contradict a phone only that person has.
NAME_NOT_AGAINST = NAME_AGREES | {"null", "dropped", "one_char", "masked_surname"}


@dataclass
class PhoneOwners:
    """Who has each phone in the registry: the residents, and how many households they make."""

    residents: dict[str, list[int]]
    households: dict[str, set[int]]
    phoneless: set[int]  # members of those households without a phone of their own (they may carry it)
    names: dict[int, str] = field(default_factory=dict)  # of the owners and the phoneless members
    phoneless_of: dict[int, list[int]] = field(default_factory=dict)  # household → its phoneless members

    def carriers(self, phone: str) -> list[int]:
        """Who could give this phone on a list: its owners, and their households' members without one."""
        owners = self.residents.get(phone, [])
        kept = [m for h in self.households.get(phone, ()) for m in self.phoneless_of.get(h, [])]
        return list(dict.fromkeys([*owners, *kept]))


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
) -> tuple[list[tuple], Any, dict[int, FeedFeatures]]:
    """The feed's rows and the registry's Arrow table (both in the order of features.COLUMNS), and each
    line's features."""
    reader = AddressReader({r.compound for r in residents}, {r.community for r in residents})
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
    return [as_row(f.record) for f in feats.values()], registry_table(residents), feats


def phone_owners(residents: list[ResidentRow], phones: set[str]) -> PhoneOwners:
    """The owners of the phones the list names (only those: a million residents' phones are not needed)."""
    owners: dict[str, list[int]] = {}
    households: dict[str, set[int]] = {}
    for r in residents:
        if r.phone in phones:
            owners.setdefault(r.phone, []).append(r.id)
            households.setdefault(r.phone, set()).add(r.household_id if r.household_id is not None else -r.id)
    named = set().union(*households.values()) if households else set()
    listed = {i for ids in owners.values() for i in ids}
    phoneless: set[int] = set()
    names: dict[int, str] = {}
    phoneless_of: dict[int, list[int]] = {}
    for r in residents:
        if r.id in listed:
            names[r.id] = r.name
        elif not r.phone and r.household_id in named:
            phoneless.add(r.id)
            names[r.id] = r.name
            phoneless_of.setdefault(r.household_id, []).append(r.id)  # type: ignore[arg-type]
    return PhoneOwners(owners, households, phoneless, names, phoneless_of)


def fits(pattern: str, name: str) -> bool:
    """张_伟 fits 张志伟: the same length, and every visible character in its place."""
    return len(pattern) == len(name) and all(p in ("_", c) for p, c in zip(pattern, name, strict=True))


def mask_fits_two_carriers(pattern: str | None, phone: str, owners: PhoneOwners | None) -> bool:
    """A masked name with a phone that two who could carry it both fit (李** with a number of 李宇晨's
    household, whose 李琳霞 has no phone): the line is either of them, whatever the scores say. The
    phoneless member is often not among the best candidates at all (a family phone is weaker evidence
    than one's own), so the carriers are counted here, not among the candidates."""
    if not pattern or not phone or owners is None:
        return False
    return sum(1 for c in owners.carriers(phone) if fits(pattern, owners.names.get(c, ""))) >= 2


# The name levels from the strongest; a candidate is as good as another when its level is not later.
NAME_RANK = {label: i for i, (label, _sql) in enumerate(model.NAME_LEVELS[1:])}


def phone_path(scored: list[model.Candidate], phone: str, owners: PhoneOwners | None) -> bool:
    """Does the phone settle the line on its top candidate? See the module's docstring."""
    if not scored or owners is None:
        return False
    top = scored[0]
    lv = top.levels
    if lv["id"] == "different" or lv["name"] not in NAME_NOT_AGAINST:
        return False
    if lv["address"] == "different" and lv["name"] not in NAME_AGREES:
        return False
    rank = NAME_RANK.get(lv["name"], len(NAME_RANK))
    # Who else could be carrying this phone: a resident who has it too, or a member of the household
    # without a phone of their own (白** with 白娜娟's phone, whose daughter 白悦梓 has none).
    # When the phone is not the top candidate's own but a family member's, every member of that
    # household carries it as much as the top candidate does (胡* with 陈静秀's phone: 胡军 or 胡强).
    carriers = [
        c
        for c in scored[1:]
        if c.levels["phone"] in ("exact", "one_digit")
        or (
            c.levels["phone"] == "household"
            and (lv["phone"] == "household" or c.resident_id in owners.phoneless)
        )
    ]
    if lv["name"] != "null" and any(NAME_RANK.get(c.levels["name"], 99) <= rank for c in carriers):
        return False
    # A member of the household whose name the line gives better than the phone's owner (刘静 with the
    # phone of 张静, whose household has a 刘静): the line is that member giving a family phone.
    if any(
        c.levels["phone"] == "household" and NAME_RANK.get(c.levels["name"], 99) < rank for c in scored[1:]
    ):
        return False
    if lv["phone"] in ("exact", "household") and phone:
        if owners.residents.get(phone, []) == [top.resident_id]:
            return True
        # One household's phone: the name decides among its members (no other fits as well, above).
        return len(owners.households.get(phone, ())) == 1 and lv["name"] in NAME_FITS
    if lv["phone"] == "one_digit" and lv["name"] in NAME_AGREES:
        return not any(c.levels["phone"] in ("exact", "one_digit") for c in scored[1:])
    return False


def decide(
    line: int,
    scored: list[model.Candidate],
    phone: str = "",
    owners: PhoneOwners | None = None,
    pattern: str | None = None,
) -> LineMatch:
    if not scored:
        return LineMatch(line, None, False, 0.0)
    top = scored[0]
    runner_up = scored[1].weight if len(scored) > 1 else None
    lv = top.levels
    evidence = (
        lv["name"] in NAME_AGREES
        or lv["id"] in ID_AGREES
        # A nameless line whose phone is one digit off the person's, at the person's address: nothing
        # the line shows belongs to someone else (a new tenant would give their own name or phone).
        or (
            lv["name"] == "null"
            and lv["id"] == "null"
            and lv["phone"] == "one_digit"
            and lv["address"] in ADDRESS_AGREES
        )
    )
    automatic = (
        top.probability >= AUTO_PROBABILITY
        and (runner_up is None or top.weight - runner_up >= MARGIN)
        and evidence
    ) or phone_path(scored, phone, owners)
    # (An ID that agrees settles it: 李** with the family's phone and 李宇晨's own ID is 李宇晨.)
    if automatic and lv["id"] not in ID_AGREES and mask_fits_two_carriers(pattern, phone, owners):
        automatic = False
    return LineMatch(
        line,
        top.resident_id if automatic else None,
        automatic,
        top.probability,
        [c.resident_id for c in scored[:3]],
        scored[:3],
    )


def line_posteriors(predictions: dict[int, list[model.Candidate]], lines: int) -> float:
    """Turn each pair's probability into the probability that the line is that resident, among its
    candidates and "nobody in the registry"; return the share of lines in the registry it estimated.

    splink scores each pair alone, with the prior one in N: as if every line had an even chance of being
    nobody (N residents at 1/N each, against 1 − 1/N for the rest). For a line, the candidates compete:
    P(j) = λ·s_j / ((1 − λ) + λ·Σ s_k), where s_j = 2^weight_j is candidate j's odds at the prior 1/N and
    λ the share of the list's lines that are someone in the registry. λ is estimated on the list at hand
    by expectation maximisation over the lines (the mean of each line's chance of being someone), from
    one half. Two equally good candidates get at most one half each; a lone good one on a list whose
    lines are mostly in the registry gets more than splink's pair probability.
    """
    odds = {line: [2.0 ** min(c.weight, 60.0) for c in cands] for line, cands in predictions.items()}
    share = 0.5
    for _ in range(50):
        total = sum(share * sum(s) / ((1 - share) + share * sum(s)) for s in odds.values())
        new = min(max(total / max(1, lines), LAMBDA_MIN), LAMBDA_MAX)
        if abs(new - share) < 1e-4:
            share = new
            break
        share = new
    for line, cands in predictions.items():
        below = (1 - share) + share * sum(odds[line])
        for c, s in zip(cands, odds[line], strict=True):
            c.probability = share * s / below
    return share


# λ is kept inside these bounds: a list of strangers, or one where everyone is someone.
LAMBDA_MIN, LAMBDA_MAX = 0.05, 0.98


def match_lines(
    lines: list[FeedInput],
    residents: list[ResidentRow],
    *,
    db_api=None,
    params: dict | None = None,
    learned: dict | None = None,
) -> dict[int, LineMatch]:
    """One LineMatch per feed line (keyed by its line number). ``learned`` receives the parameters the
    model estimated on this list (see ``model.estimate``)."""
    with no_gc():
        feed_rows, registry_rows, feats = prepare(lines, residents)
        owners = phone_owners(residents, {f.phone for f in feats.values() if f.phone})
        predictions = model.predict(feed_rows, registry_rows, db_api=db_api, params=params, learned=learned)
    share = line_posteriors(predictions, len(lines))
    if learned is not None:
        learned["in_registry"] = share
    out = {}
    for line in lines:
        feat = feats[line.line]
        pattern = feat.record.get("name_pattern")
        match = decide(line.line, predictions.get(line.line, []), feat.phone, owners, pattern)
        match.features = feat
        out[line.line] = match
    return out
