"""The grid worker's page carries the buildings' counts and one exemption form; a building's people are
loaded when it is opened, and an exemption is saved and shown in place. The people and figures loaded on
demand are exactly the roll call's own (same people, same counts, same masking)."""

import html
import re

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from gridroll.areas.models import Building, Household
from gridroll.residents.models import Resident
from gridroll.rollcall.models import Entry, Tally
from gridroll.rollcall.services import sync_round
from gridroll.rollcall.tests.helpers import fill

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(db):
    return User.objects.create_superuser("root", password="x")


@pytest.fixture
def two_buildings(roll, people, tree):
    """Grid A with a second building of three residents, so that the page has buildings to open."""
    b2 = Building.objects.create(grid=tree["grid_a"], number="2")
    for i in range(3):
        h, _ = Household.objects.get_or_create(building=b2, entrance="1", room="101")
        Resident.objects.create(name=f"二号楼{i}号", sex="F", household=h, phone="13905350000")
    sync_round(roll)
    return b2


def sources(page: str) -> list[str]:
    return [html.unescape(s) for s in re.findall(r'class="people" data-src="([^"]+)"', page)]


def test_the_page_carries_counts_and_one_form_not_people(two_buildings, roll, tree, grid_worker, login):
    client = login(grid_worker)
    page = client.get(reverse("rollcall:area", args=[roll.pk, tree["grid_a"].pk])).content.decode()
    assert "居民00号" not in page and "二号楼0号" not in page  # people come when a building opens
    assert page.count('name="reason"') == 1  # one exemption form for everyone
    assert len(sources(page)) == 2
    fragment = client.get(sources(page)[0]).content.decode()
    assert "<form" not in fragment and "data-exempt=" in fragment


@pytest.mark.parametrize("state", ["", "missing", "sampled"])
def test_the_people_loaded_on_demand_are_the_roll_calls_own(
    two_buildings, roll, people, tree, grid_worker, sub_admin, login, act, admin, state
):
    fill(admin, act, "TUBE000001", people[:4])
    for user, phone in ((grid_worker, "13905350000"), (sub_admin, "139****0000")):
        client = login(user)
        url = reverse("rollcall:area", args=[roll.pk, tree["grid_a"].pk])
        url += f"?state={state}" if state else ""
        page = client.get(url).content.decode()
        shown: set[int] = set()
        for src in sources(page):
            fragment = client.get(src).content.decode()
            ids = [int(x) for x in re.findall(r'class="person [a-z_]+" id="p(\d+)"', fragment)]
            assert len(ids) == len(set(ids))
            shown |= set(ids)
            if "二号楼" in fragment:
                assert phone in fragment and ("13905350000" in fragment) == (user == grid_worker)
        entries = Entry.objects.filter(round=roll, grid=tree["grid_a"])
        if state:
            entries = entries.filter(state=state)
        assert shown == set(entries.values_list("pk", flat=True))
        # Each building's summary is its tally, and the page's pills add up to the same.
        for t in Tally.objects.filter(round=roll, grid=tree["grid_a"]):
            if state and not getattr(t, state):
                assert f'id="b{t.building_id}"' not in page
                continue
            assert f"{t.total - t.missing}/{t.total}" in page
        missing = sum(t.missing for t in Tally.objects.filter(round=roll, grid=tree["grid_a"]))
        assert re.search(rf'pill missing"><a [^>]*>[^<]*<b>{missing}</b>', page)
        assert missing == Entry.objects.filter(round=roll, grid=tree["grid_a"], state="missing").count()


def test_an_exemption_is_saved_and_answered_with_the_new_row(roll, people, tree, grid_worker, login):
    client = login(grid_worker)
    entry = Entry.objects.get(round=roll, resident=people[3])
    url = reverse("rollcall:exempt", args=[entry.pk])
    bad = client.post(url, {"reason": "other", "note": ""}, headers={"X-Requested-With": "fetch"})
    assert bad.status_code == 400 and bad.content.decode() in ("请在备注中说明原因。", "Say why in the note.")
    assert Entry.objects.get(pk=entry.pk).state == "missing"  # nothing written
    good = client.post(url, {"reason": "hospital", "note": "人民医院"}, headers={"X-Requested-With": "fetch"})
    row = good.content.decode()
    assert good.status_code == 200 and row.count('class="person ') == 1
    assert f'class="person exempt" id="p{entry.pk}"' in row and "人民医院" in row and "居民03号" in row
    assert Entry.objects.get(pk=entry.pk).state == "exempt"
    back = client.post(url, {"clear": "1"}, headers={"X-Requested-With": "fetch"}).content.decode()
    assert f'class="person missing" id="p{entry.pk}"' in back


def test_a_building_of_another_grid_shows_nobody(two_buildings, roll, tree, grid_worker, login):
    other = Building.objects.create(grid=tree["grid_b"], number="9")
    url = reverse("rollcall:building", args=[roll.pk, tree["grid_a"].pk, other.pk])
    assert "person" not in login(grid_worker).get(url).content.decode().replace("persons", "")
