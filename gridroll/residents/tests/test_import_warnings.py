"""Registry tables as they come (issue 15, item 7): extra and unknown columns are listed as not imported,
a bad phone, relation or residence type is a warning on an imported row, and identity errors still reject."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from openpyxl import load_workbook

from gridroll.conftest import csv_bytes, xlsx_bytes
from gridroll.residents.importing import ResidentImporter
from gridroll.residents.models import ImportBatch, Resident
from gridroll.residents.search import search_residents
from gridroll.residents.tests.test_import import HEADER, ID_1, ID_2, ID_3, row, run

# A number in a segment newer than the phone library's data: a real phone the library calls invalid.
NEW_SEGMENT = "19412345678"


def test_residence_type_under_its_real_header_is_mapped(tree):
    header = [*HEADER, "人员类型"]
    batch = run(
        [[*row(), "流动"], [*row(name="韩馨怡", doc=ID_2, sex="女"), "户籍"]],
        header=header,
    )
    assert (batch.created, batch.rejected, batch.warned) == (2, 0, 0)
    assert Resident.objects.get(document_number=ID_1).residence_type == "temporary"
    assert Resident.objects.get(document_number=ID_2).residence_type == "registered"


def test_extra_and_unknown_columns_and_title_rows_do_not_refuse_the_file(tree):
    header = ["序号", *HEADER, "民族", "工作单位", "政治面貌", "血型", "微信昵称"]
    data = xlsx_bytes(
        [
            ["盛世佳苑小区居民信息表"],
            ["填表单位：测试社区", "", "", "填表日期：2026年11月"],
            [],
            header,
            ["1", *row(), "汉族", "测试公司", "群众", "A", "老牛"],
        ]
    )
    batch = ResidentImporter().run(data, "t.xlsx")
    assert (batch.total, batch.created, batch.rejected) == (1, 1, 0)
    assert batch.not_imported == ["序号", "民族", "工作单位", "政治面貌", "血型", "微信昵称"]
    # Only the registry's own columns are kept: nothing of the unused ones lands anywhere.
    person = Resident.objects.get()
    assert person.name == "牛绪俭" and "汉族" not in person.note and "老牛" not in person.note


def test_only_a_missing_required_column_refuses_the_file(tree):
    from gridroll.residents.importing import FileError

    with pytest.raises(FileError) as exc:
        run([["第一网格", "3", "501", "牛绪俭", "汉族"]], header=["网格", "楼栋", "房号", "姓名", "民族"])
    assert exc.value.code == "missing_column"


@pytest.mark.parametrize(
    "override,column,code,stored",
    [
        (
            {"phone": NEW_SEGMENT},
            "手机号",
            "unverified_phone",
            {"phone": NEW_SEGMENT, "phone_verified": False},
        ),
        ({"phone": "194-1234 5678"}, "手机号", "unverified_phone", {"phone": NEW_SEGMENT}),
        ({"phone": "1380000"}, "手机号", "unverified_phone", {"phone": "1380000", "phone_verified": False}),
        (
            {"relation": "13800001234"},
            "与户主关系",
            "unverified_relation",
            {"relation": "13800001234", "relation_verified": False},
        ),
    ],
)
def test_a_bad_phone_or_relation_is_a_warning_and_the_person_is_imported(
    tree, override, column, code, stored
):
    batch = run([row(**override)])
    assert (batch.total, batch.created, batch.rejected, batch.warned) == (1, 1, 0, 1)
    warning = batch.warnings.get()
    assert warning.row_number == 2 and [p["code"] for p in warning.problems] == [code]
    assert warning.problems[0]["column"] == column and warning.problems[0]["message"]
    person = Resident.objects.get()
    for field, value in stored.items():
        assert getattr(person, field) == value


def test_a_bad_residence_type_is_kept_as_written_and_unverified(tree):
    batch = run([[*row(), "外来人口"]], header=[*HEADER, "人员类型"])
    assert (batch.created, batch.rejected, batch.warned) == (1, 0, 1)
    person = Resident.objects.get()
    assert (person.residence_type, person.residence_type_verified) == ("外来人口", False)
    assert batch.warnings.get().problems[0]["code"] == "unverified_residence_type"


def test_a_good_phone_is_verified_and_importing_twice_changes_nothing(tree):
    rows = [row(), row(name="韩馨怡", doc=ID_2, sex="女", phone=NEW_SEGMENT)]
    first = run(rows)
    assert (first.created, first.warned) == (2, 1)
    assert Resident.objects.get(document_number=ID_1).phone_verified is True
    second = run(rows)
    assert (second.unchanged, second.updated, second.warned) == (2, 0, 1)


def test_correcting_the_phone_later_verifies_it(tree):
    run([row(phone=NEW_SEGMENT)])
    batch = run([row(phone="13800001234")])
    assert (batch.updated, batch.warned) == (1, 0)
    person = Resident.objects.get()
    assert (person.phone, person.phone_verified) == ("13800001234", True)


@pytest.mark.parametrize(
    "override,code",
    [
        ({"doc": ID_1[:-1] + ("0" if ID_1[-1] != "0" else "1")}, "bad_check_digit"),
        ({"doc": "371502199002301234"}, "bad_birth_date"),
        ({"sex": "女"}, "sex_mismatch"),
        ({"birth": "1964-05-04"}, "birth_date_mismatch"),
    ],
)
def test_identity_errors_still_reject_even_with_a_bad_phone(tree, override, code):
    batch = run([row(phone="1380000", **override)])
    assert (batch.total, batch.created, batch.rejected, batch.warned) == (1, 0, 1, 0)
    assert batch.rejects.get().code == code
    assert batch.warnings.count() == 0 and Resident.objects.count() == 0


def test_a_duplicate_id_in_the_file_still_rejects(tree):
    batch = run([row(phone="1380000"), row(name="韩馨怡", phone="1380000")])
    assert (batch.total, batch.created, batch.rejected, batch.warned) == (2, 1, 1, 1)
    assert batch.rejects.get().code == "duplicate_id"
    assert batch.warnings.get().row_number == 2


def test_counts_in_equal_counts_out_with_warnings(tree):
    batch = run(
        [
            row(phone=NEW_SEGMENT),
            row(name="韩馨怡", doc=ID_2, sex="女", relation="13800001234"),
            row(name="", doc=ID_3),
            row(name="牛子轩", phone="1380000"),
        ]
    )
    assert batch.total == 4 == batch.created + batch.updated + batch.unchanged + batch.rejected
    assert (batch.created, batch.rejected, batch.warned) == (2, 2, 2)
    # Row 5 shares row 2's ID under another name: an identity error, rejected and not in the report.
    assert {w.row_number for w in batch.warnings.all()} == {2, 3}


def test_an_unverified_phone_is_still_found_by_an_exact_phone_search(tree, grid_worker):
    run([row(phone="194 1234 5678")])
    person = Resident.objects.get()
    # The grid worker of the person's grid, who may call residents, looks the whole number up.
    assert list(search_residents(grid_worker, NEW_SEGMENT)) == [person]
    assert list(search_residents(grid_worker, "194-1234-5678")) == [person]


def test_a_list_with_the_unverified_phone_still_matches_the_person(tree, sub_admin):
    from gridroll.reconcile.services import create_feed

    run([row(phone=NEW_SEGMENT)])
    person = Resident.objects.get()
    # A phone-location list: no name, no ID, the phone only.
    data = csv_bytes([["姓名", "手机号", "地址"], ["", NEW_SEGMENT, "盛世佳苑3号楼"]])
    feed = create_feed(sub_admin, tree["community"], data, "落位名单.csv")
    assert feed.lines.get().resident_id == person.pk


# ------------------------------------------------------------------------------------- the report


def test_the_command_lists_not_imported_columns_and_writes_the_to_check_report(tree, tmp_path):
    source = tmp_path / "in.csv"
    source.write_bytes(csv_bytes([[*HEADER, "民族"], [*row(phone=NEW_SEGMENT), "汉族"], [*row(name=""), ""]]))
    report = tmp_path / "to-check.xlsx"
    out = io.StringIO()
    call_command("import_residents", str(source), "--to-check", str(report), stdout=out)
    text = out.getvalue()
    assert "total 2 = created 1 + updated 0 + unchanged 0 + rejected 1" in text
    assert "1 imported rows to check" in text
    assert "columns not imported: 民族" in text
    rows = list(load_workbook(report).active.iter_rows(values_only=True))
    assert rows[0][-4:] == ("原行号", "待核实列", "原因代码", "原因")
    assert len(rows) == 2 and rows[1][rows[0].index("手机号")] == NEW_SEGMENT
    assert rows[1][-4:-1] == ("2", "手机号", "unverified_phone")


def test_the_to_check_report_imports_again_as_it_is(tree, tmp_path):
    batch = run([row(phone=NEW_SEGMENT)])
    from gridroll.residents.importing import iter_warning_rows

    rows = list(iter_warning_rows(batch))
    again = ResidentImporter().run(csv_bytes(rows), "to-check.csv")
    assert (again.unchanged, again.rejected, again.not_imported) == (1, 0, [])


def test_the_preview_shows_warnings_and_not_imported_columns_and_the_report_downloads(tree, sub_admin, login):
    client = login(sub_admin)
    data = csv_bytes([[*HEADER, "民族"], [*row(phone=NEW_SEGMENT), "汉族"], [*row(name="", doc=ID_2), ""]])
    response = client.post(reverse("residents:import"), {"file": SimpleUploadedFile("t.csv", data)})
    batch = ImportBatch.objects.get()
    assert response["Location"] == reverse("residents:import_batch", args=[batch.pk])
    page = client.get(response["Location"]).content.decode()
    assert "民族" in page and "unverified_phone" in page
    assert reverse("residents:import_to_check", args=[batch.pk]) in page
    assert (batch.total, batch.created, batch.rejected, batch.warned) == (2, 1, 1, 1)
    report = client.get(reverse("residents:import_to_check", args=[batch.pk]) + "?format=csv")
    assert report.status_code == 200
    body = report.content.decode("utf-8-sig")
    assert NEW_SEGMENT in body and "unverified_phone" in body and "missing_name" not in body
    xlsx = client.get(reverse("residents:import_to_check", args=[batch.pk]))
    assert len(list(load_workbook(io.BytesIO(xlsx.content)).active.iter_rows())) == 2


def test_someone_else_cannot_download_the_to_check_report(tree, sub_admin, login):
    from gridroll.conftest import make_user

    client = login(sub_admin)
    data = csv_bytes([HEADER, row(phone=NEW_SEGMENT)])
    client.post(reverse("residents:import"), {"file": SimpleUploadedFile("t.csv", data)})
    batch = ImportBatch.objects.get()
    other = make_user("other_admin", "subdistrict_admin", tree["sub"])
    url = reverse("residents:import_to_check", args=[batch.pk])
    assert login(other).get(url).status_code == 404


def test_correcting_an_unverified_phone_in_the_registry_verifies_it(tree, grid_worker, resident_a):
    from gridroll.residents.services import update_resident

    Resident.objects.filter(pk=resident_a.pk).update(phone="1380000", phone_verified=False)
    resident_a.refresh_from_db()
    update_resident(grid_worker, resident_a, {"note": "核实中"}, reason="备注")
    assert Resident.objects.get(pk=resident_a.pk).phone_verified is False  # another field: still unverified
    update_resident(grid_worker, resident_a, {"phone": "13800001234"}, reason="电话核实")
    assert Resident.objects.get(pk=resident_a.pk).phone_verified is True


def test_unverified_values_survive_export_then_import(tree, tmp_path):
    from gridroll.residents.exporting import export_residents

    header = [*HEADER, "人员类型"]
    run([[*row(phone=NEW_SEGMENT, relation="13800001234"), "外来人口"]], header=header)
    out = tmp_path / "all.xlsx"
    export_residents(Resident.objects.all(), out)
    before = list(Resident.objects.values())
    batch = ResidentImporter().run(out)
    assert (batch.unchanged, batch.warned) == (1, 1)
    assert [p["code"] for p in batch.warnings.get().problems] == [
        "unverified_phone",
        "unverified_relation",
        "unverified_residence_type",
    ]
    assert list(Resident.objects.values()) == before


def test_the_resident_page_marks_an_unverified_phone(tree, grid_worker, login):
    run([row(phone=NEW_SEGMENT)])
    person = Resident.objects.get()
    page = login(grid_worker).get(reverse("residents:detail", args=[person.pk])).content.decode()
    assert page.count("badge away unverified") == 1 and NEW_SEGMENT in page


def test_a_phone_cell_longer_than_the_field_is_imported_and_the_report_keeps_it_whole(tree):
    from gridroll.lib.text import halfwidth
    from gridroll.residents.importing import iter_warning_rows

    cell = "13812345678 / 13987654321（老伴）/ 0635-8281234（家里座机，晚上打）"
    batch = run([row(phone=cell)])
    assert (batch.created, batch.warned) == (1, 1)
    person = Resident.objects.get()
    assert (
        person.phone_verified is False and len(person.phone) <= 40 and person.phone.startswith("13812345678")
    )
    header, line = list(iter_warning_rows(batch))
    # As the rejects file does: the cell as read (full-width punctuation made half-width), not cut.
    assert line[header.index("手机号")] == halfwidth(cell)
