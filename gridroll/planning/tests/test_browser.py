"""A planner in Chromium plans a round, shuts a site, accepts the re-plan and opens a notice PDF."""

import pytest

from gridroll.planning.models import Batch, BatchBuilding, Plan

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_a_planner_plans_a_round_accepts_a_replan_and_opens_a_notice(
    live_server, browser, town, tree, sub_admin, tmp_path
):
    round_, sites = town
    sub_admin.set_password("plan-2022")
    sub_admin.save()
    page = browser.new_page(viewport={"width": 360, "height": 780}, base_url=live_server.url)
    page.goto("/accounts/login/")
    page.fill("#id_username", sub_admin.username)
    page.fill("#id_password", "plan-2022")
    page.click("main button")
    page.goto(f"/planning/rounds/{round_.pk}/")
    page.select_option("select[name=area]", str(tree["sub"].pk))
    page.click("#make-plan")
    page.wait_for_selector("#site-load")
    assert page.locator("#plan-status").get_attribute("data-status") == "accepted"
    page.screenshot(path=str(tmp_path / "plan.png"), full_page=True)
    plan = Plan.objects.get(status=Plan.Status.ACCEPTED)

    # Site B drops out: shut on its capacity page, then re-plan the remaining batches.
    page.goto(f"/planning/sites/{sites[1].pk}/capacity/")
    page.check("input[name=is_shut]")
    page.click("main form button")
    page.goto(f"/planning/plans/{plan.pk}/")
    page.click("#replan")
    page.wait_for_selector("#accept-plan")
    page.screenshot(path=str(tmp_path / "proposal.png"), full_page=True)
    page.click("#accept-plan")
    page.wait_for_selector("#plan-status[data-status=accepted]")
    new = Plan.objects.get(status=Plan.Status.ACCEPTED)
    assert new.parent_id == plan.pk
    assert (
        not new.batches.filter(site=sites[1], starts_at__gt=round_.starts_at)
        .exclude(is_finished=True)
        .filter(starts_at__gte=new.created_at)
        .exists()
    )

    member = BatchBuilding.objects.filter(plan=new, kind=Batch.Kind.GENERAL).first()
    page.goto(f"/planning/rounds/{round_.pk}/buildings/{member.building_id}/notice/")
    assert member.batch.site.name in page.locator("#notice-text").input_value()
    page.screenshot(path=str(tmp_path / "notice.png"), full_page=True)
    pdf = page.request.get(page.locator("#notice-pdf").get_attribute("href"))
    assert pdf.headers["content-type"] == "application/pdf" and pdf.body().startswith(b"%PDF")
    (tmp_path / "notice.pdf").write_bytes(pdf.body())
