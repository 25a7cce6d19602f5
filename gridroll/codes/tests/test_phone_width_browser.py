"""Issue 18, defect 13: the site poster (438 px) and the code cards' print view (810 px) were wider than
a phone. On screen they fit 360 px now; printing keeps A4."""

from __future__ import annotations

import pytest

from gridroll.conftest import make_user

pytestmark = pytest.mark.browser

PASSWORD = "a-long-pass-phrase-4-tests"


def test_the_poster_and_the_card_sheet_fit_a_phone(
    browser, live_server, tree, site, people, transactional_db
):
    worker = make_user("width_worker", "grid_worker", tree["grid_a"])
    worker.set_password(PASSWORD)
    worker.save()
    context = browser.new_context(viewport={"width": 360, "height": 740}, base_url=live_server.url)
    page = context.new_page()
    page.goto("/accounts/login/")
    page.fill("input[name=username]", "width_worker")
    page.fill("input[name=password]", PASSWORD)
    page.press("input[name=password]", "Enter")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    for name, url in (
        ("poster", f"/sites/{site.pk}/poster/"),
        ("cards", f"/codes/cards/?area={tree['grid_a'].pk}"),
    ):
        response = page.goto(url)
        assert response is not None and response.status == 200, url
        page.wait_for_load_state("networkidle")
        if name == "cards":
            assert page.locator(".sheet .card").count() == len(people)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        page.screenshot(path=f"var/{name}-360.png", full_page=False)
        assert width <= 360, (url, width)
    context.close()
