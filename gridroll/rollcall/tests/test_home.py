"""Phones on the home sampling list (issue 18): the bedridden and those exempt for home sampling, each with
a phone to call before the visit — their own, a guardian's or their household's — whole for the grid
worker, masked above the community, on the page and in its Excel export."""

import datetime
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from gridroll.residents.models import Guardianship, Resident
from gridroll.rollcall.models import Entry
from gridroll.rollcall.services import set_exemption

pytestmark = pytest.mark.django_db


@pytest.fixture
def home(roll, people, tree, grid_worker):
    """居民00号 bedridden with a phone; 居民01号 (same flat, no phone) exempt as home sampling scheduled;
    居民02号 bedridden with no phone and a guardian who has one; 居民03号 an ordinary missing neighbour."""
    Resident.objects.filter(pk=people[0].pk).update(is_bedridden=True, phone="13905351234", relation="户主")
    set_exemption(grid_worker, Entry.objects.get(round=roll, resident=people[1]), "home_scheduled")
    Resident.objects.filter(pk=people[2].pk).update(is_bedridden=True, phone="")
    son = Resident.objects.create(
        name="赵孝顺",
        household=tree["household_a"],
        phone="13700001111",
        birth_date=datetime.date(1990, 1, 1),
    )
    Guardianship.objects.create(dependent=people[2], guardian=son, relation="子女")
    Resident.objects.filter(pk=people[3].pk).update(phone="13600002222")
    return people


def _xlsx(client, roll, area) -> list[tuple]:
    response = client.get(reverse("rollcall:home_xlsx", args=[roll.pk, area.pk]))
    assert response.status_code == 200
    return list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))


def test_the_grid_worker_sees_whole_phones_and_whose_they_are(home, roll, tree, grid_worker, login):
    client = login(grid_worker)
    page = client.get(reverse("rollcall:area", args=[roll.pk, tree["grid_a"].pk])).content.decode()
    section = page.split('id="home"')[1].split("</table>")[0]
    assert "居民00号" in section and "居民01号" in section and "居民02号" in section
    assert "居民03号" not in section and "13600002222" not in section
    assert section.count('href="tel:13905351234"') == 2  # 居民00号's own, and his flat's for 居民01号
    assert "同户：居民00号（户主）" in section
    assert 'href="tel:13700001111"' in section and "监护人赵孝顺（子女）" in section
    rows = _xlsx(client, roll, tree["grid_a"])
    assert rows[0][:3] == ("网格", "地址", "姓名") and rows[0][-2:] == ("电话", "谁的电话")
    by_name = {r[2]: r for r in rows[1:]}
    assert set(by_name) == {"居民00号", "居民01号", "居民02号"}
    assert by_name["居民00号"][-2:] == ("13905351234", None) and by_name["居民00号"][4] == "卧床"
    assert by_name["居民01号"][-2:] == ("13905351234", "同户：居民00号（户主）")
    assert by_name["居民01号"][6] == "已约上门采样"
    assert by_name["居民02号"][-2:] == ("13700001111", "监护人赵孝顺（子女）")


def test_phones_are_masked_for_a_higher_level_admin(home, roll, tree, sub_admin, login):
    client = login(sub_admin)
    page = client.get(reverse("rollcall:area", args=[roll.pk, tree["grid_a"].pk])).content.decode()
    section = page.split('id="home"')[1].split("</table>")[0]
    assert "居民00号" in section and "139****1234" in section and "137****1111" in section
    assert "13905351234" not in page and "13700001111" not in page
    rows = _xlsx(client, roll, tree["sub"])  # the subdistrict's list: every grid's, still masked
    phones = {r[2]: r[-2] for r in rows[1:]}
    assert phones == {"居民00号": "139****1234", "居民01号": "139****1234", "居民02号": "137****1111"}


def test_the_outsider_gets_no_list(home, roll, tree, outsider, login):
    client = login(outsider)
    assert client.get(reverse("rollcall:home_xlsx", args=[roll.pk, tree["grid_a"].pk])).status_code == 404
    own = _xlsx(client, roll, tree["grid_b"])
    assert own[1:] == []  # their own grid has nobody to visit at home
