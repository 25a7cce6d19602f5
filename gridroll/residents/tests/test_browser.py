"""A grid worker in a real browser: log in, search, open a resident, reveal the ID (audited)."""

import pytest

from gridroll.audit.models import AuditRecord

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_a_grid_worker_finds_a_resident_and_reveals_the_id(
    live_server, browser, grid_worker, resident_a, tmp_path
):
    grid_worker.set_password("niushu-2022")
    grid_worker.save()
    page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", grid_worker.username)
    page.fill("#id_password", "niushu-2022")
    page.click("button:has-text('登录')")
    page.fill("main input[name=q]", "韩馨")
    page.press("main input[name=q]", "Enter")
    page.click("text=韩馨怡")
    # The click navigates: wait for the resident's page before reading it (a loaded machine is slow).
    page.wait_for_url(f"**/residents/{resident_a.pk}/")
    page.get_by_text(resident_a.masked_document).first.wait_for()
    assert resident_a.document_number not in page.content()
    page.click("text=显示完整号码")
    page.get_by_text(resident_a.document_number).first.wait_for()
    assert resident_a.document_number in page.content()
    page.screenshot(path=str(tmp_path / "resident.png"), full_page=True)
    assert AuditRecord.objects.filter(action="resident.reveal_document", actor=grid_worker).count() == 1


@pytest.mark.django_db(transaction=True)
def test_an_outsider_in_a_browser_sees_nothing(live_server, browser, outsider, resident_a):
    outsider.set_password("outsider-2022")
    outsider.save()
    page = browser.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", outsider.username)
    page.fill("#id_password", "outsider-2022")
    page.click("button:has-text('登录')")
    response = page.goto(f"{live_server.url}/residents/{resident_a.pk}/")
    assert response.status == 404
    page.goto(f"{live_server.url}/residents/?q=韩馨怡")
    assert "盛世佳苑 3号楼" not in page.content()
