"""The import preview on a phone: the rows to check and the columns not imported, as a person sees them."""

import os
from pathlib import Path

import pytest

from gridroll.conftest import csv_bytes
from gridroll.residents.tests.test_import import HEADER, ID_2, row

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_the_preview_shows_rows_to_check_on_a_phone(live_server, browser, sub_admin, tree, tmp_path):
    sub_admin.set_password("sub-admin-2022")
    sub_admin.save()
    source = tmp_path / "居民信息.csv"
    source.write_bytes(
        csv_bytes(
            [
                ["序号", *HEADER, "民族", "人员类型"],
                ["1", *row(phone="19412345678"), "汉族", "流动"],
                ["2", *row(name="韩馨怡", doc=ID_2, sex="女", relation="13800001234"), "汉族", "户籍"],
                ["3", *row(name=""), "汉族", ""],
            ]
        )
    )
    page = browser.new_page(viewport={"width": 360, "height": 780})
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", sub_admin.username)
    page.fill("#id_password", "sub-admin-2022")
    page.click("button:has-text('登录')")
    page.goto(f"{live_server.url}/registry/import/")
    page.set_input_files("input[type=file]", str(source))
    page.click("button:has-text('检查文件')")
    page.wait_for_selector("text=待核实的行")
    text = page.inner_text("main")
    assert "2 个已导入的行有待核实的信息" in text
    assert "未导入的列: 序号、民族" in text or "未导入的列：序号、民族" in text
    assert "unverified_phone" in text and "unverified_relation" in text and "missing_name" in text
    # Nothing runs off the side of a phone's screen.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, width
    shots = Path(os.environ.get("GRIDROLL_SCREENSHOTS", tmp_path))
    page.screenshot(path=str(shots / "import-preview-to-check.png"), full_page=True)
    with page.expect_download() as download:
        page.click("text=下载待核实的行")
    assert download.value.suggested_filename == "居民信息-待核实.xlsx"
