"""A building's 户图 on a phone (issue 18): a 30-floor building with 4 flats a floor fits 360 px, every
flat a cell one can tap, and a tap shows the household's people."""

from __future__ import annotations

import datetime
import os

import pytest

from gridroll.areas.models import Building, Household
from gridroll.conftest import make_user
from gridroll.residents.models import Resident

pytestmark = pytest.mark.browser

PASSWORD = "a-long-pass-phrase-4-tests"


def login(browser, live_server, username):
    context = browser.new_context(viewport={"width": 360, "height": 740}, base_url=live_server.url)
    page = context.new_page()
    page.goto("/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.press("input[name=password]", "Enter")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    return context, page


def test_a_thirty_floor_building_fits_a_phone_and_a_tap_shows_the_household(
    browser, live_server, tree, round_, transactional_db
):
    from gridroll.rollcall.services import sync_round

    tower = Building.objects.create(grid=tree["grid_a"], compound="盛世佳苑", number="12")
    for floor in range(1, 31):
        for flat in range(1, 5):
            household = Household.objects.create(building=tower, entrance="1", room=f"{floor}{flat:02d}")
            if (floor + flat) % 5:  # one flat in five stands empty
                Resident.objects.create(
                    name=f"住户{floor:02d}{flat:02d}",
                    household=household,
                    birth_date=datetime.date(1980, 1, 1),
                    phone=f"139{floor:04d}{flat:04d}",
                )
    sync_round(round_)
    worker = make_user("map_worker", "grid_worker", tree["grid_a"])
    worker.set_password(PASSWORD)
    worker.save()
    context, page = login(browser, live_server, "map_worker")
    page.goto(f"/rollcall/{round_.pk}/{tree['grid_a'].pk}/")
    page.click(f"#b{tower.pk} summary a")  # the building's 户图 link on the roll call
    page.wait_for_load_state("networkidle")
    assert "户图" in page.title()
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 360, width
    cells = page.evaluate(
        "() => Array.from(document.querySelectorAll('a.flat')).map(a => {"
        " const r = a.getBoundingClientRect(); return [a.textContent, r.left, r.right, r.width]; })"
    )
    assert len(cells) == 120
    assert all(left >= 0 and right <= 360 and w >= 40 for _t, left, right, w in cells), cells[:4]
    assert cells[0][0].startswith("3001") and cells[-1][0].startswith("104")  # top floor first
    os.makedirs("var", exist_ok=True)
    page.screenshot(path="var/flatmap-360.png", full_page=False)
    page.click("a.flat:has-text('2702')")
    page.wait_for_load_state("networkidle")
    household = page.inner_text("#household")
    assert "住户2702" in household and "全部未采" in household
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
    page.screenshot(path="var/flatmap-household-360.png", full_page=False)
    context.close()
