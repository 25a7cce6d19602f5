"""A building's 户图 (issue 18): a cell per flat laid out by floor, coloured by its household's state,
the household's people on a tap, scoped and masked as the grid page is."""

import re

import pytest
from django.urls import reverse

from gridroll.areas.models import Household
from gridroll.rollcall import flatmap
from gridroll.rollcall.models import Entry
from gridroll.rollcall.services import set_exemption
from gridroll.rollcall.tests.helpers import fill

pytestmark = pytest.mark.django_db


@pytest.fixture
def states(roll, people, tree, grid_worker, act, site):
    """101 sampled, 201 half sampled, 401 exempt, 301/501/601 missing, 102 empty (nobody on the roll)."""
    from django.contrib.auth.models import User

    admin = User.objects.create_superuser("root", password="x")
    fill(admin, act, "TUBE000001", people[:3])
    for p in people[6:8]:
        set_exemption(grid_worker, Entry.objects.get(round=roll, resident=p), "hospital")
    people[4].phone = "13905351234"
    people[4].save()
    return Household.objects.create(building=tree["building_a"], entrance="1", room="102")


def _url(roll, tree, building=None, **query):
    url = reverse("rollcall:flat_map", args=[roll.pk, tree["grid_a"].pk, (building or tree["building_a"]).pk])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def test_each_flat_has_the_state_of_its_household(states, roll, tree):
    found = {(f.entrance, f.room): f.state for f in flatmap.flats(roll, tree["building_a"])}
    assert found == {
        ("1", "101"): flatmap.ALL_DONE,
        ("1", "201"): flatmap.SOME_MISSING,
        ("1", "301"): flatmap.ALL_MISSING,
        ("1", "401"): flatmap.EXEMPT,
        ("1", "501"): flatmap.ALL_MISSING,
        ("1", "601"): flatmap.ALL_MISSING,
        ("1", "102"): flatmap.EMPTY,
        ("2", "501"): flatmap.EMPTY,  # the tree's household_a: nobody lives there in these tests
    }


def test_the_map_is_laid_out_by_floor_top_down_with_a_legend_and_counts(
    states, roll, tree, grid_worker, login
):
    page = login(grid_worker).get(_url(roll, tree)).content.decode()
    cells = re.findall(r'class="flat (\w+)[^"]*" href="\?h=\d+#household"[^>]*>(\d+)', page)
    # Entrance 1: floors 6 to 1, flats 01 and 02 of each floor in columns (102 the only 02 flat); then
    # entrance 2 with its one flat.
    assert [room for _state, room in cells] == ["601", "501", "401", "301", "201", "101", "102", "501"]
    assert dict((room, state) for state, room in cells[:7])["401"] == "exempt"
    assert page.count("<tr>") == 7 and page.count("<td></td>") == 5  # the floors without a 02 flat
    assert page.index("1单元") < page.index("2单元")
    # The text alternative: flats per state, in words and numbers.
    text = re.sub(r"<[^>]+>", "", page)
    assert "全部未采 3" in text and "部分未采 1" in text and "全部已采 1" in text
    assert "全部免采 1" in text and "空户或无人在册 2" in text
    assert "8户，在册12人：已采3人，待采7人，免采2人。" in text


def test_tapping_a_flat_shows_its_people_as_the_roll_call_does(states, roll, tree, grid_worker, login):
    household = Household.objects.get(building=tree["building_a"], room="301")
    page = login(grid_worker).get(_url(roll, tree, h=household.pk)).content.decode()
    assert 'id="household"' in page and "居民04号" in page and "居民05号" in page
    assert "tel:13905351234" in page  # the grid worker calls them
    assert "居民00号" not in page  # only the tapped household
    empty = login(grid_worker).get(_url(roll, tree, h=states.pk)).content.decode()
    assert "此户无人在本轮名册上" in empty


def test_phones_are_masked_above_the_community(states, roll, tree, sub_admin, login):
    household = Household.objects.get(building=tree["building_a"], room="301")
    page = login(sub_admin).get(_url(roll, tree, h=household.pk)).content.decode()
    assert "居民04号" in page and "13905351234" not in page and "139****1234" in page


def test_the_grid_page_links_each_building_to_its_map(states, roll, tree, grid_worker, login):
    page = (
        login(grid_worker).get(reverse("rollcall:area", args=[roll.pk, tree["grid_a"].pk])).content.decode()
    )
    assert _url(roll, tree) in page


def test_the_outsider_and_other_buildings_get_404(
    states, roll, tree, outsider, grid_worker, login, resident_b
):
    household = Household.objects.get(building=tree["building_a"], room="301")
    client = login(outsider)
    assert client.get(_url(roll, tree)).status_code == 404
    assert client.get(_url(roll, tree, h=household.pk)).status_code == 404
    # Grid B's building through grid A's page, and grid A's page asked for grid B's household.
    client = login(grid_worker)
    assert client.get(_url(roll, tree, building=tree["building_b"])).status_code == 404
    assert client.get(_url(roll, tree, h=resident_b.household_id)).status_code == 404
    # A community above the grid is no building's grid.
    community = reverse("rollcall:flat_map", args=[roll.pk, tree["community"].pk, tree["building_a"].pk])
    assert client.get(community).status_code == 404
