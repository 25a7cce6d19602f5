"""A building's 户图: one cell per flat, laid out as the building stands (floors as rows, the flats of a
floor as columns, one block per entrance), each flat coloured by its household's state in a round.

Read from the registry's households (so that an empty flat shows as one) and the round's entries of
the building (one query each); nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

from gridroll.areas.models import Building, Household
from gridroll.lib.address import floor_and_flat
from gridroll.lib.text import natural_key
from gridroll.rollcall.models import Entry, State

# A flat's state, in the order of the legend (what the grid worker goes to first).
ALL_MISSING = "all_missing"
SOME_MISSING = "some_missing"
ALL_DONE = "all_done"
EXEMPT = "exempt"
EMPTY = "empty"
FLAT_STATES = [
    (ALL_MISSING, _("Everyone still to sample")),
    (SOME_MISSING, _("Some still to sample")),
    (ALL_DONE, _("Everyone sampled")),
    (EXEMPT, _("Everyone exempt")),
    (EMPTY, _("Empty flat / nobody on the roll")),
]
FLAT_LABELS = dict(FLAT_STATES)
# States that still need a swab from the grid worker's point of view.
TO_SAMPLE = {State.MISSING, State.INVALID}
ALERT = {State.POSITIVE, State.POOL_POSITIVE}


@dataclass
class Flat:
    pk: int
    entrance: str
    room: str
    floor: int | None
    position: str
    people: int = 0
    to_sample: int = 0
    exempt: int = 0
    alert: bool = False

    @property
    def state(self) -> str:
        if not self.people:
            return EMPTY
        if self.exempt == self.people:
            return EXEMPT
        counted = self.people - self.exempt
        if self.to_sample == counted:
            return ALL_MISSING
        return SOME_MISSING if self.to_sample else ALL_DONE

    @property
    def state_label(self) -> str:
        return str(FLAT_LABELS[self.state])

    @property
    def done(self) -> int:
        return self.people - self.exempt - self.to_sample


@dataclass
class Block:
    """One entrance (单元): its floors top down, each a row of flats (None where no flat is registered)."""

    entrance: str
    positions: list[str]
    rows: list[tuple[int, list[Flat | None]]]
    unplaced: list[Flat] = field(default_factory=list)


def flats(round_, building: Building) -> list[Flat]:
    """The building's flats with their people's states in ``round_``."""
    out: dict[int, Flat] = {}
    for pk, entrance, room in Household.objects.filter(building=building).values_list(
        "pk", "entrance", "room"
    ):
        floor, position = floor_and_flat(room)
        out[pk] = Flat(pk, entrance, room, floor, position)
    rows = Entry.objects.filter(round=round_, building=building).values_list(
        "household_id", "household__entrance", "household__room", "state"
    )
    for household_id, entrance, room, state in rows:
        flat = out.get(household_id)
        if flat is None:  # a household moved to another building since the round opened
            floor, position = floor_and_flat(room)
            flat = out[household_id] = Flat(household_id, entrance, room, floor, position)
        flat.people += 1
        flat.to_sample += state in TO_SAMPLE
        flat.exempt += state == State.EXEMPT
        flat.alert = flat.alert or state in ALERT
    return list(out.values())


def blocks(found: list[Flat]) -> list[Block]:
    """The flats laid out per entrance: floors top down, flats of a floor left to right."""
    by_entrance: dict[str, list[Flat]] = {}
    for f in found:
        by_entrance.setdefault(f.entrance, []).append(f)
    out = []
    for entrance in sorted(by_entrance, key=natural_key):
        placed = [f for f in by_entrance[entrance] if f.floor is not None]
        unplaced = sorted(
            (f for f in by_entrance[entrance] if f.floor is None), key=lambda f: natural_key(f.room)
        )
        positions = sorted({f.position for f in placed}, key=natural_key)
        cells = {(f.floor, f.position): f for f in placed}
        floors = sorted({f.floor for f in placed if f.floor is not None}, reverse=True)
        rows = [(fl, [cells.get((fl, p)) for p in positions]) for fl in floors]
        out.append(Block(entrance, positions, rows, unplaced))
    return out


def summary(found: list[Flat]) -> dict:
    """The text alternative to the colours: flats per state, and people."""
    per_state = {state: 0 for state, _ in FLAT_STATES}
    for f in found:
        per_state[f.state] += 1
    return {
        "states": [(state, label, per_state[state]) for state, label in FLAT_STATES],
        "flats": len(found),
        "people": sum(f.people for f in found),
        "to_sample": sum(f.to_sample for f in found),
        "done": sum(f.done for f in found),
        "exempt": sum(f.exempt for f in found),
        "alerts": sum(1 for f in found if f.alert),
    }
