"""The planning tests' small town (shared by the unit and browser tests)."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from gridroll.areas.models import Building, Household
from gridroll.residents.models import Resident
from gridroll.sampling.models import Round, RoundArea, Site, Station


@pytest.fixture
def town(tree):
    """Two grids, 20 buildings of 30–49 residents, a site of 4 stations in grid A and one of 2 in grid B;
    a round of 4 hours."""
    now = timezone.now()
    round_ = Round.objects.create(
        name="第5轮", starts_at=now, ends_at=now + datetime.timedelta(hours=4), status=Round.Status.OPEN
    )
    RoundArea.objects.create(round=round_, area=tree["district"], pool_mode="pool10")
    sites = []
    for grid in (tree["grid_a"], tree["grid_b"]):
        s = Site.objects.create(area=grid, name=f"{grid.name}采样点")
        for n in range(4 if grid == tree["grid_a"] else 2):
            Station.objects.create(site=s, name=f"{n + 1}号台")
        sites.append(s)
    residents = []
    for i in range(20):
        grid = tree["grid_a"] if i % 2 else tree["grid_b"]
        b = Building.objects.create(grid=grid, compound="测试苑", number=str(100 + i))
        h = Household.objects.create(building=b, entrance="1", room="101")
        residents += [
            Resident(name=f"居民{i}-{k}", household=h, birth_date=datetime.date(1985, 1, 1))
            for k in range(30 + i)
        ]
    Resident.objects.bulk_create(residents)
    return round_, sites
