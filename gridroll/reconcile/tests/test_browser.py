"""In Chromium, as people do it: community staff upload a list and download the answer; the grid worker
works the worklist on a phone-sized screen."""

import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from gridroll.reconcile.models import Conclusion, FeedLine
from gridroll.reconcile.tests.conftest import feed_file

pytestmark = pytest.mark.browser


def _login(browser, live_server, user, password, viewport):
    user.set_password(password)
    user.save()
    page = browser.new_page(viewport=viewport, base_url=live_server.url, accept_downloads=True)
    page.goto("/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", password)
    page.click("main button")
    return page


@pytest.mark.django_db(transaction=True)
def test_upload_work_and_answer_upstream(
    live_server, browser, sub_admin, grid_worker, people, round_, tree, tmp_path
):
    src = tmp_path / "推送名单.xlsx"
    src.write_bytes(feed_file(people))
    page = _login(browser, live_server, sub_admin, "sub-2022", {"width": 1200, "height": 900})
    page.goto("/reconcile/")
    page.set_input_files("input[name=file]", str(src))
    page.select_option("select[name=area]", str(tree["community"].pk))
    page.fill("input[name=name]", "11月27日推送")
    page.click("form.card button")
    page.wait_for_url("**/reconcile/*/")
    assert "11月27日推送" in page.inner_text("h1")
    page.screenshot(path=str(tmp_path / "summary.png"), full_page=True)

    # One line is a person the registry does not know: the grid worker will settle it.
    line = FeedLine.objects.get(name="司马懿")
    line.grid, line.area_path = tree["grid_a"], tree["grid_a"].path
    line.save()

    worker = _login(browser, live_server, grid_worker, "grid-2022", {"width": 390, "height": 844})
    worker.goto(f"/reconcile/{line.feed_id}/lines/")
    card = worker.locator(f"#line-{line.line}")
    assert card.is_visible()
    card.locator("summary").click()
    card.locator("input[name=note]").fill("电话核实，在北京工作")
    card.locator("form:has(input[value=not_here]) button").click()
    worker.wait_for_load_state()
    line.refresh_from_db()
    assert line.conclusion == Conclusion.NOT_HERE
    worker.screenshot(path=str(tmp_path / "worklist.png"), full_page=True)

    page.goto(f"/reconcile/{line.feed_id}/")
    with page.expect_download() as download:
        page.click("a[href$='export.xlsx']")
    data = io.BytesIO(Path(download.value.path()).read_bytes())
    rows = list(load_workbook(data).active.iter_rows(values_only=True))
    assert rows[0][-5:] == ("结论", "匹配证件号码", "置信度", "说明", "候选")
    by_name = {r[1]: r for r in rows[1:]}
    assert by_name["司马懿"][6] == "不在本辖区居住" and "电话核实" in by_name["司马懿"][9]
    assert "*" in by_name["韩馨一"][7]
