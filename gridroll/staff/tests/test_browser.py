"""On a phone: a planner makes the shifts on the deployment board; a sampler of the team opens the site's
code, checks in, and finds it on their own page; the board then shows them on site."""

import datetime

import pytest

from gridroll.conftest import make_user
from gridroll.planning import services as planning
from gridroll.planning.tests.conftest import town  # noqa: F401 - the planning tests' town
from gridroll.staff import services
from gridroll.staff.models import CheckIn, StaffMember, Team

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_a_team_is_deployed_and_a_sampler_checks_in_on_a_phone(
    live_server,
    browser,
    town,  # noqa: F811
    tree,
    sub_admin,
    tmp_path,
):
    round_, _sites = town
    round_.ends_at = round_.starts_at + datetime.timedelta(minutes=services.SHIFT_MINUTES)
    round_.save()
    planning.make_plan(sub_admin, round_, tree["community"])
    team = Team.objects.create(name="梁水镇抽调队", home_area=tree["sub"], destination=tree["community"])
    for i in range(30):
        StaffMember.objects.create(
            name=f"队员{i}",
            phone=f"1396350{i:04d}",
            home_unit="梁水镇卫生院",
            home_area=tree["sub"],
            skills=["sampler"] if i == 0 else ["scanner", "entry", "guide", "consult", "order", "driver"],
            team=team,
        )
    nurse = StaffMember.objects.get(name="队员0")
    account = make_user("zhou", None, None)
    account.set_password("zhou-2022")
    account.save()
    services.link_account(sub_admin, nurse, account)
    sub_admin.set_password("plan-2022")
    sub_admin.save()

    def login(page, user, password):
        page.goto("/accounts/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", password)
        page.click("main button")
        page.wait_for_load_state()

    ctx = browser.new_context(viewport={"width": 360, "height": 740}, base_url=live_server.url)
    page = ctx.new_page()
    login(page, sub_admin, "plan-2022")
    page.goto(f"/staff/rounds/{round_.pk}/")
    page.click("#deploy")
    page.wait_for_selector(".site")
    page.screenshot(path=str(tmp_path / "board.png"), full_page=True)
    ctx.close()

    ctx = browser.new_context(viewport={"width": 360, "height": 740}, base_url=live_server.url)
    phone = ctx.new_page()
    login(phone, account, "zhou-2022")
    site = nurse.assignments.get().shift.site
    phone.goto(f"/register/s/{site.token}/")  # what the camera opens from the site's poster
    phone.click("#checkin")
    phone.wait_for_selector(".card.shift.now")
    phone.screenshot(path=str(tmp_path / "me.png"), full_page=True)
    assert CheckIn.objects.filter(member=nurse, site=site).exists()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    ctx.close()
