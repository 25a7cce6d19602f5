"""The command view's kept counts (issue 20) stay equal to a count of the samples through every path that
changes samples: an add by code (fastpath.sql on PostgreSQL) and by id (the general way), a repeat, an
undo of a first sample and of a repeat, a batch that adds and undoes in one upload, a person sampled
before they were on the roll, a person who moves to another grid, and a result. ``check_rollcall
--repair`` counts them again after they were damaged.

On PostgreSQL every test here runs twice, through the fast path and the general way (conftest)."""

import datetime
import io

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.utils import timezone

from gridroll.labs.services import ResultUpload, apply_results
from gridroll.residents.models import Resident
from gridroll.rollcall.models import HourTally
from gridroll.rollcall.services import check_round, sync_round
from gridroll.rollcall.tests.helpers import assert_command_tallies_true, assert_tallies_true, receive
from gridroll.sampling.models import Sample, SiteTally, Tube
from gridroll.sampling.services import check_site_tallies, record_actions
from gridroll.sampling.tests.conftest import code_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(db):
    return User.objects.create_superuser("root", password="x")


@pytest.fixture
def hours_ago(roll):
    """Device times in three different hours of a round that began five hours ago."""
    now = timezone.now()
    roll.starts_at = now - datetime.timedelta(hours=5)
    roll.save(update_fields=["starts_at"])
    return lambda h: (now - datetime.timedelta(hours=h)).isoformat()


def _hours(round_) -> dict:
    return {
        (g, h): n
        for g, h, n in HourTally.objects.filter(round=round_).values_list("grid_id", "hour", "sampled")
        if n
    }


def test_every_path_that_changes_samples_keeps_the_tallies_true(
    roll, people, act, admin, tree, hours_ago, scan_way
):
    def one(kind, tube, **extra):
        return record_actions(admin, [act(kind, tube, **extra)])[0]

    one("open_tube", "TUBE000001")
    assert one("add", "TUBE000001", code=code_of(people[0]), device_time=hours_ago(3)).result == "accepted"
    assert one("add", "TUBE000001", resident_id=people[1].pk, device_time=hours_ago(2)).result == "accepted"
    assert one("add", "TUBE000001", code=code_of(people[2]), device_time=hours_ago(0)).result == "accepted"
    assert_tallies_true(roll)
    assert sum(_hours(roll).values()) == 3 and len(_hours(roll)) == 3

    # A repeat counts at the site, not in the hour; undone, it leaves the hour alone.
    one("open_tube", "TUBE000002")
    assert one("add", "TUBE000002", code=code_of(people[0]), device_time=hours_ago(0)).result == "warned"
    assert SiteTally.objects.get(round=roll).samples == 4
    assert_tallies_true(roll)
    one("undo", "TUBE000002")
    assert_tallies_true(roll)

    # The undo of a first sample takes it out of its hour.
    one("undo", "TUBE000001")
    assert sum(_hours(roll).values()) == 2
    assert_tallies_true(roll)

    # One upload that adds, undoes and adds again (the undone one never written).
    record_actions(
        admin,
        [
            act("open_tube", "TUBE000003"),
            act("add", "TUBE000003", code=code_of(people[3]), device_time=hours_ago(1)),
            act("add", "TUBE000003", code=code_of(people[4]), device_time=hours_ago(1)),
            act("undo", "TUBE000003"),
            act("add", "TUBE000003", resident_id=people[5].pk, device_time=hours_ago(1)),
        ],
    )
    assert Sample.objects.filter(tube__barcode="TUBE000003", is_removed=False).count() == 2
    assert_tallies_true(roll)

    # Sampled before being on the roll: counted at the site only, then in the hour once on the roll.
    # (bulk_create: no post_save, so the roll call does not follow until sync_round, as after an import)
    [newcomer] = Resident.objects.bulk_create(
        [Resident(name="新来的", sex="F", household=people[0].household)]
    )
    one("open_tube", "TUBE000004")
    assert one("add", "TUBE000004", resident_id=newcomer.pk, device_time=hours_ago(1)).result == "accepted"
    assert_tallies_true(roll)
    before = sum(_hours(roll).values())
    sync_round(roll)
    assert sum(_hours(roll).values()) == before + 1
    assert_tallies_true(roll)

    # Moved to grid B while the round is open: the first sample follows the person's entry.
    people[3].household = tree["household_b"]
    people[3].save(update_fields=["household"])  # post_save: sync_round for them
    assert any(g == tree["grid_b"].pk for g, _h in _hours(roll))
    assert_tallies_true(roll)

    # A result changes no sample.
    one("seal", "TUBE000003")
    receive("TUBE000003")
    upload = ResultUpload.objects.create(filename="api")
    apply_results(upload, [{"_row": 2, "tube": "TUBE000003", "result": "negative"}])
    assert Tube.objects.get(barcode="TUBE000003").result == "negative"
    assert_tallies_true(roll)


def test_check_rollcall_finds_and_repairs_damaged_tallies(
    roll, people, act, admin, site, hours_ago, scan_way
):
    record_actions(
        admin,
        [act("open_tube", "TUBE000001")]
        + [
            act("add", "TUBE000001", code=code_of(p), device_time=hours_ago(i))
            for i, p in enumerate(people[:3])
        ],
    )
    assert_command_tallies_true(roll)
    assert check_round(roll)["hours"] == [] and check_site_tallies(roll) == []

    hour = HourTally.objects.filter(round=roll).first()
    HourTally.objects.filter(pk=hour.pk).update(sampled=hour.sampled + 5)
    SiteTally.objects.filter(round=roll).delete()
    assert [(k, s - d) for k, s, d in check_round(roll)["hours"]] == [((hour.grid_id, hour.hour), 5)]
    assert check_site_tallies(roll) == [(site.pk, 0, 3)]

    out = io.StringIO()
    with pytest.raises(Exception, match="disagreements"):
        call_command("check_rollcall", stdout=out)
    assert "1 hourly tallies and 1 site tallies disagree" in out.getvalue()
    call_command("check_rollcall", "--repair", stdout=io.StringIO())
    assert_tallies_true(roll)
    assert check_round(roll)["hours"] == [] and check_site_tallies(roll) == []
    # The repair of the per-site counts is audited, as the roll call's is.
    from gridroll.audit.models import AuditRecord

    repaired = AuditRecord.objects.get(action="rollcall.repair_sites", target_id=roll.pk)
    assert repaired.changes == {"site_tallies": [1, 0]}
