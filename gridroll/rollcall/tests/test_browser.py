"""The grid worker's page in Chromium follows a scan by itself (live.js polls every 2 s)."""

import pytest
from django.contrib.auth.models import User

from gridroll.rollcall.tests.helpers import fill

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_the_grid_workers_page_changes_when_a_scan_lands(
    live_server, browser, grid_worker, people, roll, act, tree, tmp_path
):
    grid_worker.set_password("grid-2022")
    grid_worker.save()
    page = browser.new_page(viewport={"width": 390, "height": 844}, base_url=live_server.url)
    page.goto("/accounts/login/")
    page.fill("#id_username", grid_worker.username)
    page.fill("#id_password", "grid-2022")
    page.click("main button")
    page.goto(f"/rollcall/{roll.pk}/{tree['grid_a'].pk}/")
    missing = page.locator(".pill.missing b")
    assert missing.inner_text() == "12"
    page.screenshot(path=str(tmp_path / "before.png"))

    admin = User.objects.create_superuser("root", password="x")
    fill(admin, act, "TUBE000001", people[:3])

    # Within a few seconds, without a reload: 9 missing, three people now show as sampled.
    page.wait_for_function(
        "document.querySelector('.pill.missing b').textContent.trim() === '9'", timeout=10000
    )
    # The open building's people are loaded on demand and refreshed in place after the counts.
    page.wait_for_function("document.querySelectorAll('.person.sampled').length === 3", timeout=10000)
    assert page.locator(".person.sampled").count() == 3
    page.screenshot(path=str(tmp_path / "after.png"), full_page=True)
