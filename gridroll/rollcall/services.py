"""Keeping a round's roll call true as the round goes.

- ``sync_round`` puts every resident in the round's areas on the roll (present or away, with a household,
  and placed by a grid worker: a pending self-registration is listed apart, 待核实, and counted nowhere),
  follows moves while the round is open, takes off those who left before anything was recorded, and
  recounts the tallies. It runs when a round opens and after registry changes.
- ``mark_sampled`` is the scan's fast path: missing or exempt → sampled, counted by increments.
- ``refresh`` derives people's states again from everything known (``STATE_SQL``) after an undo, a
  result, a task or an exemption changes, and moves the tallies by the difference.

Tallies change by increments in the same transaction as the entries, so that concurrent scans add up and
a district summary reads a few thousand tally rows instead of counting a million entries.
"""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from gridroll.audit.services import record
from gridroll.core.bulk import for_update, placeholders
from gridroll.core.errors import DomainError
from gridroll.rollcall.models import COUNTED, Entry, Exemption, HourTally, Tally

CHUNK = 2000

# A person's state, first match wins. A positive single-person tube makes a positive; an unfinished retest
# (pool positive) or re-sample (invalid tube) task comes next; then any negative result, then any sample
# still waiting for its result; with no sample at all, an exemption or missing.
STATE_SQL = """CASE
 WHEN EXISTS (SELECT 1 FROM sampling_sample s JOIN sampling_tube t ON t.id = s.tube_id
   WHERE s.round_id = e.round_id AND s.resident_id = e.resident_id AND s.is_removed = %s
   AND t.result = 'positive' AND t.size = 1) THEN 'positive'
 WHEN EXISTS (SELECT 1 FROM labs_retesttask k WHERE k.round_id = e.round_id
   AND k.resident_id = e.resident_id AND k.status <> 'closed' AND k.kind = 'retest') THEN 'pool_positive'
 WHEN EXISTS (SELECT 1 FROM labs_retesttask k WHERE k.round_id = e.round_id
   AND k.resident_id = e.resident_id AND k.status <> 'closed' AND k.kind = 'resample') THEN 'invalid'
 WHEN EXISTS (SELECT 1 FROM sampling_sample s JOIN sampling_tube t ON t.id = s.tube_id
   WHERE s.round_id = e.round_id AND s.resident_id = e.resident_id AND s.is_removed = %s
   AND t.result = 'negative') THEN 'negative'
 WHEN EXISTS (SELECT 1 FROM sampling_sample s
   WHERE s.round_id = e.round_id AND s.resident_id = e.resident_id AND s.is_removed = %s) THEN 'sampled'
 WHEN e.exemption <> '' THEN 'exempt'
 ELSE 'missing' END"""
STATE_PARAMS = [False, False, False]


def _chunks(seq: Sequence, size: int = CHUNK) -> Iterable[Sequence]:
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


def apply_deltas(round_id: int, deltas: dict[int, Counter]) -> None:
    """Move a round's tallies by per-building differences (increments: concurrent changes add up)."""
    rows = []
    now = timezone.now()
    for building_id in sorted(deltas):
        d = deltas[building_id]
        if not any(d.values()):
            continue
        rows.append([*(d.get(c, 0) for c in ["total", *COUNTED]), now, round_id, building_id])
    if not rows:
        return
    sets = ", ".join(f"{c} = {c} + %s" for c in ["total", *COUNTED])
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE rollcall_tally SET {sets}, updated_at = %s WHERE round_id = %s AND building_id = %s",
            rows,
        )


def mark_sampled(round_id: int, resident_ids: Sequence[int]) -> int:
    """A sample was recorded for these people: missing or exempt becomes sampled. Returns how many changed.

    Other states stay: a negative person sampled again is still negative until a new result says more,
    and a retest sample leaves the person awaiting its result.
    """
    if not resident_ids:
        return 0
    ids = sorted(set(resident_ids))
    with connection.cursor() as cursor:
        # The exemption column tells the old state: exempt when set, missing when not (see STATE_SQL).
        # By the people's index whatever the statistics say ("+ 0": see sampling.services._load).
        cursor.execute(
            f"UPDATE rollcall_entry SET state = 'sampled', updated_at = %s WHERE round_id + 0 = %s "
            f"AND resident_id IN ({placeholders(ids)}) AND state IN ('missing', 'exempt') "
            f"RETURNING building_id, exemption",
            [timezone.now(), round_id, *ids],
        )
        changed = cursor.fetchall()
    deltas: dict[int, Counter] = defaultdict(Counter)
    for building_id, exemption in changed:
        deltas[building_id]["exempt" if exemption else "missing"] -= 1
        deltas[building_id]["sampled"] += 1
    apply_deltas(round_id, deltas)
    return len(changed)


def hour_of(when: datetime.datetime) -> datetime.datetime:
    """The UTC hour a scan counts in (HourTally.hour)."""
    return when.astimezone(datetime.UTC).replace(minute=0, second=0, microsecond=0)


def add_hours(round_id: int, counts: dict[tuple[int, datetime.datetime], int]) -> None:
    """Move a round's hourly first samples by ``{(grid id, hour): difference}`` (increments, in key
    order: concurrent scans add up and lock the rows in one order)."""
    rows = [(round_id, grid_id, hour, n) for (grid_id, hour), n in sorted(counts.items()) if n]
    if not rows:
        return
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO rollcall_hourtally (round_id, grid_id, hour, sampled) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (round_id, grid_id, hour) DO UPDATE SET sampled = rollcall_hourtally.sampled + "
            "excluded.sampled",
            [(r, g, adapt(h), n) for r, g, h, n in rows],
        )


def _hour_sql() -> str:
    if connection.vendor == "postgresql":
        return "date_trunc('hour', s.scanned_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
    return "strftime('%%Y-%%m-%%d %%H:00:00', s.scanned_at)"


def derive_hours(
    round_id: int, grid_ids: Sequence[int] | None = None
) -> dict[tuple[int, datetime.datetime], int]:
    """Count the round's first samples (not removed, not a repeat) per grid of the person's entry and
    hour, from the samples themselves (all grids, or these)."""
    only, params = "", [round_id, False, False]
    if grid_ids is not None:
        if not grid_ids:
            return {}
        only, params = f" AND e.grid_id IN ({placeholders(grid_ids)})", [*params, *sorted(grid_ids)]
    hour = _hour_sql()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT e.grid_id, {hour}, COUNT(*) FROM sampling_sample s JOIN rollcall_entry e "
            f"ON e.round_id = s.round_id AND e.resident_id = s.resident_id WHERE s.round_id = %s "
            f"AND s.is_removed = %s AND s.is_repeat = %s{only} GROUP BY e.grid_id, {hour}",
            params,
        )
        rows = cursor.fetchall()
    out = {}
    for grid_id, hour_value, n in rows:
        if isinstance(hour_value, str):  # SQLite
            hour_value = datetime.datetime.fromisoformat(hour_value).replace(tzinfo=datetime.UTC)
        out[(grid_id, hour_of(hour_value))] = n
    return out


def recount_hours(round_id: int, grid_ids: Sequence[int] | None = None) -> None:
    """Count the round's hourly first samples again (all grids, or these): after the roll call moved
    people between grids or put on it people sampled before (sync_round), and on repair."""
    counts = derive_hours(round_id, grid_ids)
    stale = HourTally.objects.filter(round_id=round_id)
    if grid_ids is not None:
        stale = stale.filter(grid_id__in=sorted(grid_ids))
    stale.delete()
    HourTally.objects.bulk_create(
        [HourTally(round_id=round_id, grid_id=g, hour=h, sampled=n) for (g, h), n in sorted(counts.items())],
        batch_size=5000,
    )


def lock_entries(cursor, round_ids: Sequence[int], resident_ids: Sequence[int]) -> None:
    """Lock these people's roll-call entries in id order, before anything reads their samples or state.

    Every path that changes a person's samples (add, undo, result, exemption, retest) takes this lock
    first, so that two of them for one person run one after the other: the second reads, in a statement
    of its own (a fresh snapshot under READ COMMITTED), what the first committed. Reading first and
    locking after let an undo and an add on two lanes each miss the other's change (issue 21). The id
    order keeps two batches locking the same people from deadlocking.
    """
    if not round_ids or not resident_ids or not connection.features.has_select_for_update:
        return  # SQLite: a write transaction holds the whole database (IMMEDIATE)
    for chunk in _chunks(sorted(set(resident_ids))):
        cursor.execute(
            f"SELECT id FROM rollcall_entry WHERE round_id + 0 IN ({placeholders(round_ids)}) "
            f"AND resident_id IN ({placeholders(chunk)}) ORDER BY id FOR UPDATE",
            [*round_ids, *chunk],
        )


def refresh(round_id: int, resident_ids: Iterable[int]) -> int:
    """Derive these people's states again and move the tallies by the difference. Returns how many
    entries changed. People without an entry in the round (visitors, non-residents) are skipped.

    The entries are locked first and their states derived in a later statement, which sees every change
    committed before the lock was granted (lock_entries)."""
    ids = sorted(set(resident_ids))
    changed = 0
    now = timezone.now()
    for chunk in _chunks(ids):
        with connection.cursor() as cursor:
            lock_entries(cursor, [round_id], chunk)
            cursor.execute(
                f"SELECT e.id, e.building_id, e.state, {STATE_SQL} FROM rollcall_entry e "
                f"WHERE e.round_id = %s AND e.resident_id IN ({placeholders(chunk)}) ORDER BY e.id",
                [*STATE_PARAMS, round_id, *chunk],
            )
            rows = [r for r in cursor.fetchall() if r[2] != r[3]]
            if not rows:
                continue
            cursor.executemany(
                "UPDATE rollcall_entry SET state = %s, updated_at = %s WHERE id = %s",
                [(new, now, entry_id) for entry_id, _b, _old, new in rows],
            )
        deltas: dict[int, Counter] = defaultdict(Counter)
        for _id, building_id, old, new in rows:
            deltas[building_id][old] -= 1
            deltas[building_id][new] += 1
        apply_deltas(round_id, deltas)
        changed += len(rows)
    return changed


def _scope_sql(paths: Sequence[str]) -> tuple[str, list[str]]:
    if not paths:
        return "1 = 0", []
    return "(" + " OR ".join(["a.path LIKE %s"] * len(paths)) + ")", [p + "%" for p in paths]


ANALYZE_AFTER = 10_000  # entries added at once; fewer do not change the statistics much


@transaction.atomic
def sync_round(round_, resident_ids: Sequence[int] | None = None) -> dict[str, int]:
    """Bring the round's roll in line with the registry (all of it, or only ``resident_ids``).

    Adds residents in scope who are not on the roll (away residents come in exempt as away), follows
    people who moved while the round is open, and takes off those who left scope with nothing recorded.
    Someone already sampled stays on the roll where they were: what happened is not rewritten.
    """
    paths = [ra.area.path for ra in round_.areas.select_related("area")]
    scope, scope_params = _scope_sql(paths)
    only, only_params = "", []
    if resident_ids is not None:
        ids = sorted(set(resident_ids))
        if not ids:
            return {"added": 0, "moved": 0, "removed": 0}
        only, only_params = f" AND r.id IN ({placeholders(ids)})", ids
    now = timezone.now()
    with connection.cursor() as cursor:
        # Lock the round's tallies first: concurrent scans wait, then add their increments on the recount.
        cursor.execute(
            f"SELECT id FROM rollcall_tally WHERE round_id = %s ORDER BY building_id{for_update()}",
            [round_.pk],
        )
        touched = _buildings(cursor, round_.pk, only, only_params)
        # Those already on the roll are skipped by the unique index (ON CONFLICT), not by a NOT EXISTS
        # over the entries: opening a round, those are the rows this statement writes, and with no
        # statistics for them the planner was free to probe them by the round alone, so that every
        # resident read every entry inserted before it (tests/test_open_round.py, issue 20).
        cursor.execute(
            f"""INSERT INTO rollcall_entry (round_id, resident_id, grid_id, building_id, household_id, state,
                exemption, exemption_note, updated_at)
            SELECT %s, r.id, b.grid_id, h.building_id, r.household_id,
                CASE WHEN r.status = 'away' THEN 'exempt' ELSE 'missing' END,
                CASE WHEN r.status = 'away' THEN 'away' ELSE '' END, '', %s
            FROM residents_resident r
            JOIN areas_household h ON h.id = r.household_id
            JOIN areas_building b ON b.id = h.building_id
            JOIN areas_area a ON a.id = b.grid_id
            WHERE r.status IN ('present', 'away') AND r.is_pending = %s AND r.rejected_at IS NULL
            AND {scope}{only}
            ON CONFLICT (round_id, resident_id) DO NOTHING""",
            [round_.pk, now, False, *scope_params, *only_params],
        )
        added = cursor.rowcount
        analyze = added > ANALYZE_AFTER and connection.vendor == "postgresql"
        if analyze:
            # A round just opened: without fresh statistics the planner takes its entries for none, and
            # the first hour of scans (the busiest) would plan as if the roll call were empty. The
            # samples' statistics are refreshed too, for the scans' look-up by person (sampling.services).
            cursor.execute("ANALYZE rollcall_entry, sampling_sample")
        # Who moved household since they were put on the roll (and is still in scope).
        cursor.execute(
            f"""SELECT e.id, r.household_id, h.building_id, b.grid_id, e.grid_id
            FROM rollcall_entry e
            JOIN residents_resident r ON r.id = e.resident_id
            JOIN areas_household h ON h.id = r.household_id
            JOIN areas_building b ON b.id = h.building_id
            JOIN areas_area a ON a.id = b.grid_id
            WHERE e.round_id = %s AND r.household_id <> e.household_id AND {scope}{only}""",
            [round_.pk, *scope_params, *only_params],
        )
        moves = cursor.fetchall()
        cursor.executemany(
            "UPDATE rollcall_entry SET household_id = %s, building_id = %s, grid_id = %s, updated_at = %s "
            "WHERE id = %s",
            [(h, b, g, now, e) for e, h, b, g, _old in moves],
        )
        # The hourly first samples follow people into their new grid (HourTally: counted by entry).
        hour_grids = {g for _e, _h, _b, g, old in moves if g != old} | {
            old for _e, _h, _b, g, old in moves if g != old
        }
        # Who left: moved out, died, or moved outside the round, with nothing recorded for them.
        cursor.execute(
            f"""SELECT e.id, e.grid_id FROM rollcall_entry e JOIN residents_resident r ON r.id = e.resident_id
            WHERE e.round_id = %s AND e.state IN ('missing', 'exempt'){only}
            AND NOT EXISTS (
                SELECT 1 FROM areas_household h
                JOIN areas_building b ON b.id = h.building_id
                JOIN areas_area a ON a.id = b.grid_id
                WHERE h.id = r.household_id AND r.status IN ('present', 'away') AND r.is_pending = %s
                AND r.rejected_at IS NULL AND {scope})""",
            [round_.pk, *only_params, False, *scope_params],
        )
        gone_rows = cursor.fetchall()
        gone = [row[0] for row in gone_rows]
        hour_grids |= {row[1] for row in gone_rows}
        for chunk in _chunks(gone):
            cursor.execute(f"DELETE FROM rollcall_entry WHERE id IN ({placeholders(chunk)})", list(chunk))
        # People added mid-round may have been sampled already (as visitors, say).
        cursor.execute(
            """SELECT DISTINCT e.resident_id, e.grid_id FROM rollcall_entry e JOIN sampling_sample s
            ON s.round_id = e.round_id AND s.resident_id = e.resident_id AND s.is_removed = %s
            WHERE e.round_id = %s AND e.state IN ('missing', 'exempt')""",
            [False, round_.pk],
        )
        stale_rows = cursor.fetchall()
        stale = [row[0] for row in stale_rows]
        # On the roll now and sampled before (as visitors, say): their first samples count from now on.
        hour_grids |= {row[1] for row in stale_rows}
        # Marked away in the registry (or back): the automatic "away" exemption follows. One a person
        # set by hand (exempted_by) stays.
        cursor.execute(
            f"""SELECT e.id, e.resident_id, r.status FROM rollcall_entry e
            JOIN residents_resident r ON r.id = e.resident_id
            WHERE e.round_id = %s AND e.exempted_by_id IS NULL{only}
            AND ((r.status = 'away' AND e.exemption = '')
                OR (r.status <> 'away' AND e.exemption = 'away'))""",
            [round_.pk, *only_params],
        )
        flips = cursor.fetchall()
        cursor.executemany(
            "UPDATE rollcall_entry SET exemption = %s WHERE id = %s",
            [("away" if status == "away" else "", entry_id) for entry_id, _r, status in flips],
        )
        stale += [resident_id for _e, resident_id, _s in flips]
        if touched is not None:
            touched |= _buildings(cursor, round_.pk, only, only_params) or set()
    recount(round_.pk, touched)
    if hour_grids:
        recount_hours(round_.pk, sorted(hour_grids))
    if analyze:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE rollcall_tally")  # the tallies just counted (every scan moves one)
    if stale:
        refresh(round_.pk, stale)
    return {"added": added, "moved": len(moves), "removed": len(gone)}


def _buildings(cursor, round_id: int, only: str, only_params: list) -> set[int] | None:
    """The buildings of these people's entries (None: the whole round)."""
    if not only:
        return None
    cursor.execute(
        f"SELECT DISTINCT e.building_id FROM rollcall_entry e "
        f"JOIN residents_resident r ON r.id = e.resident_id WHERE e.round_id = %s{only}",
        [round_id, *only_params],
    )
    return {row[0] for row in cursor.fetchall()}


def recount(round_id: int, building_ids: set[int] | None = None) -> None:
    """Count the round's entries per building again (all, or these buildings) and write the tallies
    (updated in place, so that an increment waiting on a tally row lands on the new count)."""
    sums = ", ".join(f"SUM(CASE WHEN state = '{c}' THEN 1 ELSE 0 END)" for c in COUNTED)
    where, params = "round_id = %s", [round_id]
    tallies = Tally.objects.filter(round_id=round_id)
    if building_ids is not None:
        if not building_ids:
            return
        ids = sorted(building_ids)
        where += f" AND building_id IN ({placeholders(ids)})"
        params += ids
        tallies = tallies.filter(building_id__in=ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT building_id, MIN(grid_id), COUNT(*), {sums} FROM rollcall_entry WHERE {where} "
            "GROUP BY building_id",
            params,
        )
        counts = {row[0]: row[1:] for row in cursor.fetchall()}
    existing = dict(tallies.values_list("building_id", "id"))
    now = timezone.now()
    fields = ["grid_id", "total", *COUNTED]
    updates = []
    for building_id, tally_id in existing.items():
        values = counts.get(building_id)
        if values is None:
            values = (None, *([0] * (len(COUNTED) + 1)))
        updates.append((*values, now, tally_id))
    with connection.cursor() as cursor:
        sets = ", ".join(f"{f} = COALESCE(%s, {f})" if f == "grid_id" else f"{f} = %s" for f in fields)
        cursor.executemany(f"UPDATE rollcall_tally SET {sets}, updated_at = %s WHERE id = %s", updates)
    Tally.objects.bulk_create(
        [
            Tally(round_id=round_id, building_id=b, **dict(zip(fields, values, strict=True)))
            for b, values in counts.items()
            if b not in existing
        ]
    )


# ------------------------------------------------------------------------------------------- exemptions


class ExemptionError(DomainError):
    MESSAGES = {
        "unknown_reason": gettext_lazy("Choose a reason."),
        "note_required": gettext_lazy("Say why in the note."),
    }


def _exemption_reason(reason: str, note: str) -> str:
    """The audit record's why: the worker's note, else the reason's label in the site's language (a
    record is written once and read by anyone; the round is in its changes, not here)."""
    if note:
        return note
    from django.conf import settings
    from django.utils import translation

    with translation.override(settings.LANGUAGE_CODE):
        return str(Exemption(reason).label)


@transaction.atomic
def set_exemption(user, entry: Entry, reason: str, note: str = "") -> Entry:
    """Mark a resident exempt in this round (audited). A sample, if any, still decides the state."""
    note = note.strip()
    if reason not in Exemption.values:
        raise ExemptionError("unknown_reason")
    if reason == Exemption.OTHER and not note:
        raise ExemptionError("note_required")
    return _write_exemption(user, entry, reason, note)


def _write_exemption(user, entry: Entry, reason: str, note: str) -> Entry:
    """Set (``reason``) or clear (``""``) an entry's exemption, locked, audited, and the state derived
    again: a sample, if any, still decides it."""
    entry = Entry.objects.select_for_update().select_related("grid").get(pk=entry.pk)
    if not reason and not entry.exemption:
        return entry
    before = [entry.exemption, entry.exemption_note]
    entry.exemption, entry.exemption_note = reason, note[:200]
    entry.exempted_by, entry.exempted_at = user, timezone.now()
    entry.save(update_fields=["exemption", "exemption_note", "exempted_by", "exempted_at"])
    record(
        user,
        "rollcall.exempt" if reason else "rollcall.unexempt",
        entry.resident,
        changes={
            "round": [None, entry.round.name],
            "exemption": [before[0], reason],
            "note": [before[1], entry.exemption_note],
        },
        reason=_exemption_reason(reason, entry.exemption_note) if reason else "",
        area_path=entry.grid.path,
    )
    refresh(entry.round_id, [entry.resident_id])
    entry.refresh_from_db()
    return entry


@transaction.atomic
def clear_exemption(user, entry: Entry) -> Entry:
    """Undo an exemption (audited): the person counts as missing again unless sampled."""
    return _write_exemption(user, entry, "", "")


def check_round(round_, *, repair: bool = False, user=None) -> dict:
    """Compare a round's roll call with a recount from its samples, tasks and exemptions, and its tallies
    with a recount of its entries. Returns ``{"entries": [(resident id, stored, derived)…],
    "tallies": [(building id, stored counts, derived counts)…], "hours": [((grid id, hour), stored,
    derived)…] (HourTally), "repaired": bool}``.

    With ``repair``, wrong entries are derived again (locked, as every other path does), the round's
    tallies and hourly tallies are recounted, and an audit record says what was wrong — the operator's
    tool after an incident (``manage.py check_rollcall``)."""
    round_id = round_.pk
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT resident_id, state, derived FROM (SELECT e.resident_id, e.state, {STATE_SQL} AS derived "
            f"FROM rollcall_entry e WHERE e.round_id = %s) x WHERE state <> derived ORDER BY resident_id",
            [*STATE_PARAMS, round_id],
        )
        entries = [tuple(row) for row in cursor.fetchall()]
        sums = ", ".join(f"SUM(CASE WHEN state = '{c}' THEN 1 ELSE 0 END)" for c in COUNTED)
        cursor.execute(
            f"SELECT building_id, COUNT(*), {sums} FROM rollcall_entry WHERE round_id = %s "
            "GROUP BY building_id",
            [round_id],
        )
        derived = {row[0]: tuple(row[1:]) for row in cursor.fetchall()}
    fields = ["total", *COUNTED]
    stored = {
        row[0]: tuple(row[1:])
        for row in Tally.objects.filter(round_id=round_id).values_list("building_id", *fields)
    }
    zero = tuple([0] * len(fields))
    tallies = [
        (
            b,
            dict(zip(fields, stored.get(b, zero), strict=True)),
            dict(zip(fields, derived.get(b, zero), strict=True)),
        )
        for b in sorted(set(stored) | set(derived))
        if stored.get(b, zero) != derived.get(b, zero)
    ]
    stored_hours = {
        (g, hour_of(h)): n
        for g, h, n in HourTally.objects.filter(round_id=round_id).values_list("grid_id", "hour", "sampled")
        if n
    }
    derived_hours = derive_hours(round_id)
    hours = [
        (key, stored_hours.get(key, 0), derived_hours.get(key, 0))
        for key in sorted(set(stored_hours) | set(derived_hours))
        if stored_hours.get(key, 0) != derived_hours.get(key, 0)
    ]
    repaired = False
    if repair and (entries or tallies or hours):
        with transaction.atomic():
            if entries:
                refresh(round_id, [resident_id for resident_id, _s, _d in entries])
            recount(round_id)
            recount_hours(round_id)
            record(
                user,
                "rollcall.repair",
                round_,
                changes={
                    "entries": [len(entries), 0],
                    "tallies": [len(tallies), 0],
                    "hours": [len(hours), 0],
                },
                reason="check_rollcall --repair",
            )
        repaired = True
    return {"entries": entries, "tallies": tallies, "hours": hours, "repaired": repaired}
