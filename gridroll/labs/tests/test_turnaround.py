"""The turnaround per lab, picked by the database on PostgreSQL, equals the figures computed in Python
from every tube (issue 20: a district's round has 100,000 tubes, too many to read on every refresh)."""

import datetime
import random

import pytest
from django.db import connection
from django.utils import timezone

from gridroll.labs import queries
from gridroll.sampling.models import Tube

pytestmark = pytest.mark.django_db


def _sealed_tube(round_, site, barcode, sealed, packed, received, reported, lab) -> Tube:
    common = {"pool_mode": "pool10", "capacity": 10, "status": "sealed", "size": 1, "opened_at": sealed}
    return Tube(
        barcode=barcode,
        round=round_,
        site=site,
        sealed_at=sealed,
        packed_at=packed,
        received_at=received,
        reported_at=reported,
        lab=lab,
        **common,
    )


@pytest.fixture
def tubes(round_, site):
    """Tubes of three labs and none, odd and even counts, equal times, a result before its receipt, a
    tube never packed, and times to the microsecond."""
    rng = random.Random(20)
    start = timezone.now() - datetime.timedelta(days=1)
    rows = []
    for i in range(157):
        sealed = start + datetime.timedelta(minutes=rng.randrange(0, 300), microseconds=rng.randrange(10**6))
        packed = None if i % 11 == 0 else sealed + datetime.timedelta(minutes=rng.choice([5, 5, 17, 40]))
        received = (
            None if i % 7 == 0 else (packed or sealed) + datetime.timedelta(seconds=rng.randrange(7200))
        )
        reported = None
        if received and i % 5:
            reported = received + datetime.timedelta(seconds=rng.randrange(-600, 30000))
        lab = ["市疾控", "金域", "华大", ""][i % 4] if i % 13 else ""
        rows.append(_sealed_tube(round_, site, f"TUBE{i:06d}", sealed, packed, received, reported, lab))
    Tube.objects.bulk_create(rows)
    return Tube.objects.filter(round=round_)


def test_the_database_picks_the_same_medians_and_percentiles(tubes):
    if connection.vendor != "postgresql":
        pytest.skip("the database's way is PostgreSQL's")
    python = queries._turnaround_in_python(tubes)
    assert len(python) == 5  # three labs, and the unnamed received and not received
    assert queries._turnaround_in_sql(tubes) == python
    received = tubes.filter(received_at__isnull=False, lab="市疾控")
    assert queries._turnaround_in_sql(received) == queries._turnaround_in_python(received)
    # Received tubes grouped by lab alone (the command view's way, in the order of index tube_at_lab):
    # the unnamed lab's received tubes keep their label.
    received = tubes.filter(received_at__isnull=False)
    by_lab = queries._turnaround_in_sql(received, received=True)
    assert by_lab == queries._turnaround_in_python(received) == queries._turnaround_in_sql(received)
    assert len(by_lab) == 4 and queries._label("", True) in [row["lab"] for row in by_lab]
    assert queries._turnaround_in_sql(tubes.none()) == [] == queries._turnaround_in_python(tubes.none())


def test_the_page_and_the_command_view_use_one_function(tubes):
    assert queries.turnaround_by_lab(tubes) == queries._turnaround_in_python(tubes)


def test_the_database_picks_the_right_values_in_groups_of_one_to_twelve(round_, site):
    """The picked positions at the edges: one value, two, odd and even counts, and the 90th percentile's
    index reaching the last value."""
    if connection.vendor != "postgresql":
        pytest.skip("the database's way is PostgreSQL's")
    start = timezone.now() - datetime.timedelta(days=1)
    rng = random.Random(12)
    for size in range(1, 13):
        Tube.objects.filter(round=round_).delete()
        Tube.objects.bulk_create(
            _sealed_tube(
                round_,
                site,
                f"TUBE{size:03d}{i:03d}",
                start,
                start + datetime.timedelta(seconds=rng.randrange(3600)),
                start + datetime.timedelta(hours=2, seconds=rng.randrange(3600)),
                start + datetime.timedelta(hours=5, seconds=rng.randrange(-9000, 9000)),
                "金域",
            )
            for i in range(size)
        )
        tubes = Tube.objects.filter(round=round_)
        assert queries._turnaround_in_sql(tubes) == queries._turnaround_in_python(tubes), size
