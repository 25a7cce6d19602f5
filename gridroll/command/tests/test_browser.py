"""The command view in Chromium at phone and wall-screen sizes: a scan moves the numbers without a
reload, a check-in moves the staff panel, and the day's PDF downloads. The README's screenshots are of the
demo district (scripts/command_screenshots.py), not of this test's small round."""

import datetime
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from gridroll.rollcall.tests.helpers import fill
from gridroll.sampling.models import Site
from gridroll.staff import services as staff_services
from gridroll.staff.models import Assignment, Shift, StaffMember

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_the_command_view_follows_a_scan_at_phone_and_wall_sizes(
    live_server, browser, sub_admin, people, roll, act, tree, tmp_path
):
    sub_admin.set_password("sub-2022")
    sub_admin.save()
    context = browser.new_context(base_url=live_server.url, accept_downloads=True)
    phone = context.new_page()
    phone.set_viewport_size({"width": 360, "height": 780})
    phone.goto("/accounts/login/")
    phone.fill("#id_username", sub_admin.username)
    phone.fill("#id_password", "sub-2022")
    phone.click("main button")
    phone.goto("/command/")
    assert phone.url.endswith(f"/command/{roll.pk}/{tree['sub'].pk}/")
    wall = context.new_page()
    wall.set_viewport_size({"width": 1920, "height": 1080})
    wall.goto(phone.url + "?wall=1")
    missing = '[data-panel="areas"] [data-n="missing"]'
    for page in (phone, wall):
        assert page.locator(missing).inner_text() == "12"
        assert page.locator('[data-panel="progress"] svg').count() == 1  # ECharts drew the line
    assert wall.locator("header.top").is_hidden()
    assert phone.evaluate("window.performance.getEntriesByType('navigation').length") == 1

    admin = User.objects.create_superuser("root", password="x")
    fill(admin, act, "TUBE000001", people[:3])
    for page in (phone, wall):
        page.wait_for_function(
            f"document.querySelector('{missing}').textContent.trim() === '9'", timeout=20000
        )
        assert page.locator('[data-panel="progress"] [data-n="sampled"]').inner_text() == "3"
        assert page.locator('[data-panel="tubes"] [data-n="open"]').inner_text() == "1"
    # No shift yet: the staff panel says where to deploy; a shift with one person, then their check-in,
    # reach both screens without a reload.
    staff_panel = "[data-panel=staff]"
    assert "/staff/rounds/" in phone.locator(staff_panel).inner_html()
    shift = Shift.objects.create(
        round=roll,
        site=Site.objects.get(pk=act("open_tube")["site_id"]),
        role="sampler",
        needed=1,
        starts_at=timezone.now() - datetime.timedelta(minutes=30),
        ends_at=timezone.now() + datetime.timedelta(hours=1),
    )
    member = StaffMember.objects.create(
        name="周护士",
        phone="13963500001",
        home_unit="梁水镇卫生院",
        home_area=tree["sub"],
        skills=["sampler"],
    )
    Assignment.objects.create(shift=shift, member=member)
    checked = f"{staff_panel} [data-n='checked_in']"
    for page in (phone, wall):
        page.wait_for_function(
            f'document.querySelector("{checked}")?.textContent.trim() === "0"', timeout=20000
        )
        assert "周护士" in page.locator(staff_panel).inner_text()
    account = User.objects.create_user("zhou", password=None)
    staff_services.link_account(admin, member, account)
    staff_services.check_in(account, shift.site)
    for page in (phone, wall):
        page.wait_for_function(
            f'document.querySelector("{checked}").textContent.trim() === "1"', timeout=20000
        )
    assert phone.evaluate("window.performance.getEntriesByType('navigation').length") == 1
    phone.wait_for_timeout(500)
    phone.screenshot(path=str(tmp_path / "command-phone.png"), full_page=True)
    wall.screenshot(path=str(tmp_path / "command-wall.png"))

    with phone.expect_download() as info:
        phone.click("#cmd-pdf")
    pdf = info.value.path()
    assert Path(pdf).read_bytes()[:5] == b"%PDF-"
    assert info.value.suggested_filename.endswith(".pdf")
