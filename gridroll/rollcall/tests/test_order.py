"""Issue 18, item 10: buildings listed as text (10号楼 before 4号楼), and a building table naming a grid
without its community although many communities have a 第一网格."""

import datetime

import pytest
from django.urls import reverse

from gridroll.areas.models import Building, Household
from gridroll.residents.models import Resident
from gridroll.rollcall.services import sync_round
from gridroll.sampling.models import Round, RoundArea

pytestmark = pytest.mark.django_db


def test_people_who_keep_missing_are_listed_in_building_order(tree, round_, login, grid_worker):
    for number in ("10", "4", "2"):
        building = Building.objects.create(grid=tree["grid_a"], compound="盛世佳苑", number=number)
        household = Household.objects.create(building=building, entrance="1", room="101")
        Resident.objects.create(name=f"住{number}号楼", household=household)
    earlier = Round.objects.create(
        name="第2轮",
        starts_at=round_.starts_at - datetime.timedelta(days=2),
        ends_at=round_.starts_at - datetime.timedelta(days=1),
        status=Round.Status.CLOSED,
    )
    RoundArea.objects.create(round=earlier, area=tree["district"], pool_mode="pool10")
    sync_round(earlier)
    sync_round(round_)
    url = reverse("rollcall:repeat", args=[round_.pk, tree["grid_a"].pk])
    page = login(grid_worker).get(url).content.decode()
    positions = [page.index(f"住{n}号楼") for n in ("2", "4", "10")]
    assert positions == sorted(positions)


def test_the_worst_buildings_name_the_grids_community(tree, round_, login, sub_admin):
    household = tree["household_a"]
    Resident.objects.create(name="张三", household=household)
    sync_round(round_)
    page = login(sub_admin).get(reverse("rollcall:area", args=[round_.pk, tree["sub"].pk])).content.decode()
    assert "测试社区 第一网格" in page
