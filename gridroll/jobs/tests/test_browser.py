"""In Chromium: the district admin prepares the district's code cards, sees the job's progress on its page,
and downloads the PDF (one page per ten cards). The job runs on the web process's own runner thread, as
in ``make demo``."""

from __future__ import annotations

import datetime
import re
import time
from pathlib import Path

import pytest

from gridroll.areas.models import Household
from gridroll.codes.services import issue_codes
from gridroll.conftest import make_user, new_id
from gridroll.residents.models import Resident

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_the_district_admin_prepares_the_districts_code_cards(
    live_server, browser, tree, settings, tmp_path, monkeypatch, request
):
    from gridroll.codes import cards
    from gridroll.jobs import runner

    settings.JOBS_IN_PROCESS = True
    request.addfinalizer(runner.stop)
    for i in range(25):
        household, _ = Household.objects.get_or_create(
            building=tree["building_a"] if i % 2 else tree["building_b"], entrance="1", room=f"{i // 4 + 1}01"
        )
        Resident.objects.create(
            name=f"居民{i:02d}号",
            sex="F",
            household=household,
            document_number=new_id(datetime.date(1960 + i, 3, 1), "F", i),
            birth_date=datetime.date(1960 + i, 3, 1),
        )
    issue_codes(Resident.objects.all())
    admin = make_user("district_admin", "district_admin", tree["district"])
    admin.set_password("district-2022")
    admin.save()

    # Slow the drawing down (the runner thread shares this process): three pages, a second each, so
    # that the page shows the job part done before it shows the link.
    original = cards.cards_pdf

    def slow_pdf(context, out, progress=None):
        def slowly(done, total):
            time.sleep(1.0)
            progress(done, total)

        return original(context, out, slowly)

    monkeypatch.setattr(cards, "cards_pdf", slow_pdf)
    page = browser.new_page(
        viewport={"width": 360, "height": 740}, base_url=live_server.url, accept_downloads=True
    )
    page.goto("/accounts/login/")
    page.fill("#id_username", "district_admin")
    page.fill("#id_password", "district-2022")
    page.click("main button")
    page.goto(f"/codes/cards/?area={tree['district'].pk}")
    assert page.locator(".card .qr").count() == 0  # no print view of a whole district
    page.click("button[name=format][value=pdf]")
    page.wait_for_url("**/files/*/")
    assert "码卡" in page.inner_text("h1")
    # Progress: the bar moves and the count reads "10 / 25" or "20 / 25" while the job runs.
    page.wait_for_function(
        "() => /^(10|20) \\/ 25$/.test(document.querySelector('[data-job-count]').textContent.trim())",
        timeout=20_000,
    )
    assert 0 < int(page.get_attribute("[data-job-bar]", "value")) < 100
    page.screenshot(path=str(tmp_path / "progress.png"), full_page=True)
    link = page.locator("[data-job-download]")
    link.wait_for(state="visible", timeout=30_000)
    assert page.inner_text("[data-job-label]") == "已准备好"
    assert not page.locator("[data-job-bar]").is_visible()  # the bar gives way to the link
    page.screenshot(path=str(tmp_path / "ready.png"), full_page=True)
    with page.expect_download() as info:
        link.click()
    path = info.value.path()
    pdf = Path(path).read_bytes()
    assert info.value.suggested_filename == "测试区-码卡.pdf"
    assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type /Page(?!s)", pdf)) == 3
