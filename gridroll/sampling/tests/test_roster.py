"""What a scanner phone may hold (the roster: no addresses) and what it must ask the server (addresses)."""

import datetime

from gridroll.areas.models import Building, Household
from gridroll.conftest import new_id
from gridroll.residents.models import Resident
from gridroll.sampling.tests.conftest import code_of


def test_the_roster_carries_only_what_offline_checks_and_the_confirmation_need(
    sampler, site, people, resident_a, login
):
    from gridroll.codes.services import issue_code

    issue_code(resident_a)
    data = login(sampler).get(f"/api/sampling/sites/{site.pk}/roster").json()
    assert len(data["people"]) == 13
    for person in data["people"]:
        assert set(person) == {"serial", "resident_id", "masked_name", "age", "sex", "household_id"}
    han = next(p for p in data["people"] if p["resident_id"] == resident_a.pk)
    assert han == {
        "serial": resident_a.codes.get().serial,
        "resident_id": resident_a.pk,
        "masked_name": "韩*怡",
        "age": resident_a.age,
        "sex": "F",
        "household_id": resident_a.household_id,
    }
    # No address in any form (compound, building, entrance, room), name, ID or phone, in any text the
    # roster carries. (Numbers are ids, serials and ages: a random serial may well contain "501".)
    text = str([v for p in data["people"] for v in p.values() if isinstance(v, str)]) + str(
        {k: v for k, v in data.items() if k != "people"}
    )
    for secret in ("盛世佳苑", "号楼", "单元", "501", resident_a.name, resident_a.document_number, "138"):
        assert secret not in text
    assert resident_a.phone not in str(data) and resident_a.document_number not in str(data)
    assert code_of(people[0]) not in text  # the token itself stays on the resident's card


def test_an_outsider_gets_no_roster_and_no_lookup(outsider, site, people, login):
    client = login(outsider)
    assert client.get(f"/api/sampling/sites/{site.pk}/roster").status_code == 404
    assert client.get(f"/api/sampling/sites/{site.pk}/lookup", {"q": "1单元101"}).status_code == 404


def _found(client, site, q):
    response = client.get(f"/api/sampling/sites/{site.pk}/lookup", {"q": q})
    assert response.status_code == 200, response.content
    return {p["resident_id"] for p in response.json()["people"]}


def test_the_online_lookup_finds_people_by_room_written_any_way_or_by_name(
    tree, sampler, site, resident_a, resident_b, login
):
    building = Building.objects.create(grid=tree["grid_a"], compound="盛世佳苑", number="1")
    home = Household.objects.create(building=building, entrance="1", room="101")
    neighbour = Resident.objects.create(
        name="王小霞",
        sex="F",
        household=home,
        document_number=new_id(datetime.date(1988, 4, 1), "F", 21),
        birth_date=datetime.date(1988, 4, 1),
    )
    client = login(sampler)
    assert _found(client, site, "2单元501") == {resident_a.pk}  # 盛世佳苑 3号楼 2单元 501
    assert _found(client, site, "2单元 501室") == {resident_a.pk}
    assert _found(client, site, "1号楼1单元101") == {neighbour.pk}
    assert _found(client, site, "1-1-101") == {neighbour.pk}
    assert _found(client, site, "盛世佳苑1号楼1单元101") == {neighbour.pk}
    assert _found(client, site, "3号楼2单元501") == {resident_a.pk}
    assert _found(client, site, "王小霞") == {neighbour.pk}
    assert _found(client, site, "韩") == {resident_a.pk}
    # resident_b lives at 龙湾小区 7号楼 1单元 101, in grid B: outside the site's area.
    assert _found(client, site, "1单元101") == {neighbour.pk}
    assert _found(client, site, "徐志强") == set()
    answer = client.get(f"/api/sampling/sites/{site.pk}/lookup", {"q": "1-1-101"}).json()["people"][0]
    assert answer["masked_name"] == "王*霞" and answer["household"] == "盛世佳苑 1号楼 1单元 101"
    assert "王小霞" not in str(answer) and neighbour.document_number not in str(answer)


def test_the_lookup_answers_nothing_for_an_empty_or_one_letter_query(sampler, site, resident_a, login):
    client = login(sampler)
    assert _found(client, site, "") == set()
    assert _found(client, site, "5") == set()
