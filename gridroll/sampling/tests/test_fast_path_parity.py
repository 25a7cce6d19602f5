"""The one-round-trip add (fastpath.sql) and the general Python way leave the same rows behind.

The same actions, nonces and device times run twice from the same database state (a savepoint rolled
back in between): once with the fast path, once without. Every answer (result, reason, message, tube,
person) and every row they write — samples, tubes, scan actions, roll-call entries, building tallies,
retest tasks — must be equal, ids and server clocks aside. The scenario reaches every reason an add by
code can end with, ``tube_full`` and ``other_household`` included (issue 17).
"""

import datetime

import pytest
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from gridroll.codes.services import current_code, revoke_code
from gridroll.labs.models import RetestTask
from gridroll.labs.services import import_results
from gridroll.rollcall.models import Entry, HourTally, Tally
from gridroll.rollcall.services import set_exemption
from gridroll.rollcall.tests.helpers import assert_tallies_true, receive
from gridroll.sampling import reasons, services
from gridroll.sampling.models import RoundArea, Sample, ScanAction, Site, SiteTally, Station, Tube
from gridroll.sampling.tests.conftest import code_of


@pytest.fixture(autouse=True)
def scan_way():
    """This module chooses the way itself (the conftest's doubling does not apply)."""
    return "chosen here"


class _Rollback(Exception):
    pass


@pytest.fixture
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("the fast path is PostgreSQL's: DATABASE_URL=postgres://... make test")


def _rows(round_) -> dict:
    """What the scans wrote, without ids and server clocks (which differ between two runs)."""
    barcode = dict(Tube.objects.values_list("id", "barcode"))
    return {
        "samples": sorted(
            (
                barcode[s.tube_id],
                s.resident_id,
                s.position,
                s.scanned_at,
                s.nonce,
                s.is_repeat,
                s.is_removed,
                s.decided_offline,
            )
            for s in Sample.objects.all()
        ),
        "tubes": sorted(
            Tube.objects.values_list(
                "barcode", "size", "capacity", "status", "sealed_at", "household_id", "pool_mode", "site_id"
            )
        ),
        "actions": sorted(
            (
                a.nonce,
                a.kind,
                a.result,
                a.reason,
                a.message,
                a.needs_review,
                a.decided_offline,
                a.tube_barcode,
                a.device_time,
                a.user_id,
                a.round_id,
                a.site_id,
                tuple(sorted(a.payload)),
                _payload(a.payload),
            )
            for a in ScanAction.objects.all()
        ),
        "entries": sorted(
            Entry.objects.filter(round=round_).values_list("resident_id", "state", "exemption")
        ),
        "tallies": sorted(
            Tally.objects.filter(round=round_).values_list(
                "building_id",
                "total",
                "missing",
                "sampled",
                "negative",
                "pool_positive",
                "positive",
                "invalid",
                "exempt",
            )
        ),
        "hour_tallies": sorted(
            HourTally.objects.filter(round=round_, sampled__gt=0).values_list("grid_id", "hour", "sampled")
        ),
        "site_tallies": sorted(
            SiteTally.objects.filter(round=round_, samples__gt=0).values_list("site_id", "samples")
        ),
        "tasks": sorted(
            (t.resident_id, t.kind, t.status, t.sampled_at is not None) for t in RetestTask.objects.all()
        ),
    }


def _payload(payload: dict) -> tuple:
    return tuple(sorted((k, str(v)) for k, v in payload.items()))


def _run(user, steps, *, fast: bool, round_) -> tuple[list, dict, int]:
    """Run the steps with or without the fast path; return the answers, the rows, and how many adds
    went through the SQL function. Everything is rolled back afterwards."""
    services._FAST_PATH[:] = [fast]
    out: dict = {}
    try:
        with transaction.atomic():
            with CaptureQueriesContext(connection) as queries:
                answers = []
                for step in steps:
                    if callable(step):
                        step()
                        continue
                    r = services.record_actions(user, [step])[0]
                    answers.append((r.nonce, r.result, r.reason, r.message, r.tube, r.person, r.duplicate))
            assert_tallies_true(round_)
            out["answers"], out["rows"] = answers, _rows(round_)
            out["calls"] = sum("gridroll_scan_add" in q["sql"] for q in queries.captured_queries)
            raise _Rollback
    except _Rollback:
        pass
    finally:
        services._FAST_PATH[:] = []
    return out["answers"], out["rows"], out["calls"]


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.usefixtures("_postgres_only")
def test_fast_and_general_way_write_the_same_rows(roll, people, act, tree):
    user = User.objects.create_superuser("root", password="x")
    # A second site whose area samples one tube per household (1户1管).
    home_site = Site.objects.create(area=tree["grid_b"], name="南门采样点")
    Station.objects.create(site=home_site, name="1号台")
    RoundArea.objects.create(round=roll, area=tree["grid_b"], pool_mode="household")
    # Before the runs, the same for both: an exemption, and a positive pool for people[11].
    entry = Entry.objects.get(round=roll, resident=people[10])
    set_exemption(user, entry, "away")
    services.record_actions(user, [act("open_tube", "TSETUP0001")])
    services.record_actions(user, [act("add", "TSETUP0001", code=code_of(people[11]))])
    services.record_actions(user, [act("seal", "TSETUP0001")])
    receive("TSETUP0001")
    import_results(b"tube,result\nTSETUP0001,positive\n", "r.csv")
    revoked = code_of(people[2])
    revoke_code(current_code(people[2]), user, "lost")
    genuine = code_of(people[5])
    forged = genuine[:60] + ("B" if genuine[60] != "B" else "C") + genuine[61:]

    clock = iter(
        timezone.now() - datetime.timedelta(minutes=30) + datetime.timedelta(seconds=i) for i in range(999)
    )

    def a(kind, tube, site=None, **extra):
        data = act(kind, tube, **extra)
        data["device_time"] = next(clock).isoformat()
        if site is not None:
            data["site_id"], data["station_id"] = site.pk, site.stations.first().pk
        return data

    def tube_at_capacity():
        Tube.objects.filter(barcode="TH00000002").update(size=20)

    steps = [
        a("open_tube", "TP00000001"),
        a("add", "TP00000001", code=code_of(people[0])),  # ok
        a("add", "TP00000001", code=code_of(people[0])),  # already_in_tube
        a("add", "TP00000001", code=revoked),  # code_revoked
        a("add", "TP00000001", code=forged),  # code_forged (the general way, both times)
        a("add", "NOSUCHTUBE1", code=code_of(people[3])),  # tube_not_open
        a("add", "TP00000001", code=code_of(people[10])),  # ok: exempt → sampled
        a("add", "TP00000001", code=code_of(people[11])),  # retest_needs_single
        a("open_tube", "TP00000002"),
        a("add", "TP00000002", code=code_of(people[0])),  # already_sampled (warned, added)
        a("add", "TP00000002", code=code_of(people[4]), decided_offline=True),  # ok, decided offline
        *[a("add", "TP00000002", code=code_of(people[i])) for i in (1, 3, 5, 6, 7, 8, 9, 10)],
        a("open_tube", "TS00000001", pool_mode="single"),
        a("add", "TS00000001", code=code_of(people[11])),  # ok: the retest, the tube seals itself
        a("add", "TS00000001", code=code_of(people[1])),  # tube_not_open (sealed)
        a("open_tube", "TH00000001", site=home_site),
        a("add", "TH00000001", site=home_site, code=code_of(people[6])),  # ok: the tube takes household 4
        a("add", "TH00000001", site=home_site, code=code_of(people[8])),  # other_household
        a("add", "TH00000001", site=home_site, code=code_of(people[7])),  # ok (same household, warned)
        a("open_tube", "TH00000002", site=home_site),
        a("add", "TH00000002", site=home_site, code=code_of(people[8])),
        tube_at_capacity,
        a("add", "TH00000002", site=home_site, code=code_of(people[9])),  # tube_full
        a("add", "TP00000002", code="GR" + "A" * 116, decided_offline=True),  # not a code: refused, review
    ]
    steps.append({**steps[1], "code": "anything"})  # the same nonce again: the stored answer

    fast_answers, fast_rows, calls = _run(user, steps, fast=True, round_=roll)
    general_answers, general_rows, none = _run(user, steps, fast=False, round_=roll)

    assert none == 0 and calls >= 15, "the first run must really go through the SQL function"
    reached = {answer[2] for answer in fast_answers}
    assert reached >= {
        "ok",
        "already_in_tube",
        "code_revoked",
        "code_forged",
        "tube_not_open",
        "retest_needs_single",
        "already_sampled",
        "other_household",
        "tube_full",
    }
    differ = [(f, g) for f, g in zip(fast_answers, general_answers, strict=True) if f != g]
    assert not differ
    for table in fast_rows:
        assert fast_rows[table] == general_rows[table], table
    assert all(reason in reasons.REASONS for reason in reached)


def test_every_name_the_sql_quotes_is_a_declared_one():
    """fastpath.sql repeats the rules in PL/pgSQL; the state and reason names it quotes must be the ones
    the Python side declares (sampling/reasons.py), so a renamed state cannot silently split the paths."""
    import re
    from pathlib import Path

    text = (Path(services.__file__).parent / "fastpath.sql").read_text()
    code = "\n".join(line.split("--")[0] for line in text.splitlines())
    quoted = set(re.findall(r"'([a-z_]+)'", code))
    json_keys = {"masked_name", "age", "sex", "year", "barcode", "size", "capacity", "status", "pool_mode"}
    json_keys |= {"result", "reason", "tube", "person", "_tube", "_person"}
    # The retest tasks' names belong to the labs (a layer above sampling); the fast path writes them too.
    from gridroll.labs.models import RetestTask

    retest_names = set(RetestTask.Kind.values) | set(RetestTask.Status.values)
    sql_words = {"hour", "minute"}  # date_trunc's units (the hourly tally, the scans per site and minute)
    unknown = quoted - reasons.NAMES - retest_names - json_keys - sql_words
    assert not unknown, f"fastpath.sql quotes names sampling/reasons.py does not declare: {unknown}"
    assert {"tube_full", "other_household", "retest_needs_single"} <= quoted


def test_the_scanner_page_reads_a_tube_as_the_server_does():
    """scanner.js repeats the tube pattern offline (docs/algorithms/scan.md, "Where the rules live")."""
    import re
    from pathlib import Path

    script = (Path(services.__file__).parent / "static/sampling/scanner.js").read_text()
    [pattern] = re.findall(r"const TUBE = /(.+?)/;", script)
    assert pattern == services.TUBE_BARCODE.pattern
    sql = (Path(services.__file__).parent / "fastpath.sql").read_text()
    assert "t.size >= t.capacity" in sql and "t.pool_mode <> 'household'" in sql  # full, closes by itself
