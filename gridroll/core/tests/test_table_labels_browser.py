"""Issue 18, item 7: on a phone the tables hide their header row, and a cell read "48 / 154" with no
name. Every body cell of a responsive table now shows its column's name before its value at 360 px."""

from __future__ import annotations

import pytest

from gridroll.conftest import make_user

pytestmark = pytest.mark.browser

LABELS = """
() => Array.from(document.querySelectorAll('table.responsive tbody td')).map(td => {
  const before = getComputedStyle(td, '::before').content;
  const th = td.closest('table').tHead.rows[0].cells[td.cellIndex];
  return {before, header: th ? th.textContent.trim() : '', visible: td.offsetParent !== null,
          message: td.parentElement.cells.length === 1 && td.closest('table').tHead.rows[0].cells.length > 1};
})
"""


PASSWORD = "a-long-pass-phrase-4-tests"


def _phone_as(browser, live_server, user):
    """A 360 px browser logged in as ``user`` through the login page."""
    user.set_password(PASSWORD)
    user.save()
    context = browser.new_context(viewport={"width": 360, "height": 780}, base_url=live_server.url)
    page = context.new_page()
    page.goto("/accounts/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.press("input[name=password]", "Enter")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    return context, page


def test_every_cell_of_a_phone_table_shows_its_columns_name(
    browser, live_server, tree, roll, people, resident_a, transactional_db
):
    context, page = _phone_as(browser, live_server, make_user("labels_worker", "grid_worker", tree["grid_a"]))
    household = people[0].household
    for url in (f"/areas/{tree['grid_a'].pk}/", f"/households/{household.pk}/", "/retests/"):
        page.goto(url)
        page.wait_for_load_state("networkidle")
        cells = page.evaluate(LABELS)
        if url.startswith("/areas/"):
            assert cells, url
        for cell in cells:
            if cell["message"]:  # "nobody yet…": a message across the table, not the first column's value
                assert cell["before"] in ("none", "normal"), (url, cell)
            elif cell["visible"] and cell["header"]:
                assert cell["before"] == f'"{cell["header"]}："', (url, cell)
    context.close()
    # The staff register with nobody in it: its one-cell message row carries no column name.
    context, page = _phone_as(
        browser, live_server, make_user("labels_admin", "subdistrict_admin", tree["sub"])
    )
    page.goto("/staff/")
    page.wait_for_load_state("networkidle")
    messages = [c for c in page.evaluate(LABELS) if c["message"]]
    assert messages and all(c["before"] in ("none", "normal") for c in messages), messages
    context.close()
