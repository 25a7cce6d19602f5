import datetime

from django.db import connection
from django.utils import timezone

from gridroll.rollcall.models import COUNTED, Entry, HourTally, Tally
from gridroll.sampling.services import record_actions


def states(round_, people) -> list[str]:
    by_id = dict(Entry.objects.filter(round=round_).values_list("resident_id", "state"))
    return [by_id.get(p.pk) for p in people]


def assert_tallies_true(round_) -> None:
    """The increments kept the tallies equal to a recount of the entries."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT building_id, state, COUNT(*) FROM rollcall_entry WHERE round_id = %s GROUP BY 1, 2",
            [round_.pk],
        )
        counted: dict = {}
        for building_id, state, n in cursor.fetchall():
            counted.setdefault(building_id, dict.fromkeys(["total", *COUNTED], 0))
            counted[building_id][state] += n
            counted[building_id]["total"] += n
    tallied = {
        t["building_id"]: {c: t[c] for c in ["total", *COUNTED]}
        for t in Tally.objects.filter(round=round_).values()
        if t["total"]
    }
    assert tallied == counted
    assert_command_tallies_true(round_)


def assert_command_tallies_true(round_) -> None:
    """The command view's kept counts equal a count of the samples themselves (issue 20): first samples
    (live, not a repeat) per grid of the person's entry and UTC hour (HourTally), live samples per site
    (SiteTally), and adds per site and minute (ScanMinute, counted from the actions)."""
    from collections import Counter

    from gridroll.sampling.models import Sample, SiteTally

    grid_of = dict(Entry.objects.filter(round=round_).values_list("resident_id", "grid_id"))
    hours: Counter = Counter()
    sites: Counter = Counter()
    for resident_id, scanned_at, is_repeat, site_id in Sample.objects.filter(
        round=round_, is_removed=False
    ).values_list("resident_id", "scanned_at", "is_repeat", "tube__site_id"):
        sites[site_id] += 1
        if not is_repeat and resident_id in grid_of:
            hour = scanned_at.astimezone(datetime.UTC).replace(minute=0, second=0, microsecond=0)
            hours[(grid_of[resident_id], hour)] += 1
    kept_hours = {
        (g, h.astimezone(datetime.UTC)): n
        for g, h, n in HourTally.objects.filter(round=round_).values_list("grid_id", "hour", "sampled")
        if n
    }
    kept_sites = {
        s: n for s, n in SiteTally.objects.filter(round=round_).values_list("site_id", "samples") if n
    }
    assert kept_hours == dict(hours)
    assert kept_sites == dict(sites)
    # Adds accepted or warned per site and UTC minute of arrival (ScanMinute), from the actions.
    from gridroll.sampling.models import ScanAction, ScanMinute

    minutes: Counter = Counter()
    for site_id, received_at in ScanAction.objects.filter(
        round=round_, kind="add", result__in=["accepted", "warned"]
    ).values_list("site_id", "received_at"):
        minutes[(site_id, received_at.astimezone(datetime.UTC).replace(second=0, microsecond=0))] += 1
    kept_minutes = {
        (s, m.astimezone(datetime.UTC)): n
        for s, m, n in ScanMinute.objects.filter(round=round_).values_list("site_id", "minute", "scans")
        if n
    }
    assert kept_minutes == dict(minutes)


def fill(user, act, tube, people, **extra):
    """Open ``tube`` and scan ``people`` into it; the results of the adds."""
    record_actions(user, [act("open_tube", tube, **extra)])
    return record_actions(user, [act("add", tube, resident_id=p.pk) for p in people])


def receive(*barcodes) -> None:
    """The lab has these tubes (the box flow is tested in labs)."""
    from gridroll.sampling.models import Tube

    Tube.objects.filter(barcode__in=barcodes).update(status="sealed", received_at=timezone.now())
