"""At phone size, a grid worker far down a building marks a person exempt: the row changes in place and
the page stays where it was (it used to reload at the top)."""

import pytest

from gridroll.areas.models import Building, Household
from gridroll.residents.models import Resident
from gridroll.rollcall.models import Entry
from gridroll.rollcall.services import sync_round

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_an_exemption_is_shown_in_place_and_the_place_is_kept(
    live_server, browser, grid_worker, people, roll, tree, tmp_path
):
    b2 = Building.objects.create(grid=tree["grid_a"], number="2")
    for i in range(60):
        h, _ = Household.objects.get_or_create(building=b2, entrance="1", room=f"{i // 3 + 1}01")
        Resident.objects.create(name=f"二号楼{i:02d}", sex="F", household=h)
    sync_round(roll)
    target = Entry.objects.get(round=roll, resident__name="二号楼50")
    grid_worker.set_password("grid-2022")
    grid_worker.save()
    page = browser.new_page(viewport={"width": 360, "height": 780}, base_url=live_server.url)
    page.goto("/accounts/login/")
    page.fill("#id_username", grid_worker.username)
    page.fill("#id_password", "grid-2022")
    page.click("main button")
    page.goto(f"/rollcall/{roll.pk}/{tree['grid_a'].pk}/")
    page.click(f"#b{b2.pk} summary")
    row = page.locator(f"#p{target.pk}")
    row.wait_for()
    row.scroll_into_view_if_needed()
    before = page.evaluate("window.scrollY")
    assert before > 500  # far down the page
    row.locator("[data-exempt]").click()
    assert not page.locator("#exempt-dialog [data-clear]").is_visible()  # nothing to take back yet
    page.select_option("#exempt-dialog select[name=reason]", "hospital")
    page.fill("#exempt-dialog input[name=note]", "人民医院")
    page.screenshot(path=str(tmp_path / "dialog.png"))
    page.click("#exempt-dialog button:not([type]):not([name])")
    page.wait_for_selector(f"#p{target.pk}.exempt")
    assert "人民医院" in page.locator(f"#p{target.pk}").inner_text()
    assert not page.locator("#exempt-dialog").evaluate("d => d.open")
    assert abs(page.evaluate("window.scrollY") - before) < 5
    assert Entry.objects.get(pk=target.pk).state == "exempt"
    # The live poll (1.5 s) then refreshes the counts without moving the page or closing the building.
    page.wait_for_function(
        "document.querySelector('.pill.exempt b').textContent.trim() === '1'", timeout=10000
    )
    page.wait_for_timeout(500)  # the open building's refresh after the counts
    assert page.locator(f"#p{target.pk}.exempt").count() == 1
    assert abs(page.evaluate("window.scrollY") - before) < 5
    page.screenshot(path=str(tmp_path / "after.png"))
