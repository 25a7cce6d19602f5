"""Editing residents through the pages, and the audit trail each change leaves."""

import datetime

import pytest
from django.urls import reverse

from gridroll.areas.models import Household
from gridroll.audit.models import AppendOnlyError, AuditRecord
from gridroll.conftest import csv_bytes, new_id
from gridroll.residents.models import ImportBatch, Resident


def form_data(resident, **changes):
    data = {
        "name": resident.name,
        "sex": resident.sex,
        "document_type": resident.document_type,
        "document_number": resident.document_number,
        "birth_date": resident.birth_date.isoformat(),
        "phone": resident.phone,
        "relation": resident.relation,
        "residence_type": resident.residence_type,
        "status": resident.status,
        "note": resident.note,
        "reason": "核对户口本",
    }
    data.update(changes)
    return data


def test_editing_a_resident_is_audited_with_who_what_and_why(tree, grid_worker, resident_a, login):
    client = login(grid_worker)
    response = client.post(
        reverse("residents:edit", args=[resident_a.pk]), form_data(resident_a, phone="13955556666")
    )
    assert response.status_code == 302
    record = AuditRecord.objects.get(action="resident.update")
    assert (record.actor, record.reason) == (grid_worker, "核对户口本")
    assert record.changes == {"phone": ["13812345678", "13955556666"]}
    assert record.area_path == tree["grid_a"].path


def test_an_edit_needs_a_reason(tree, grid_worker, resident_a, login):
    response = login(grid_worker).post(
        reverse("residents:edit", args=[resident_a.pk]), form_data(resident_a, phone="13955556666", reason="")
    )
    assert response.status_code == 200
    assert Resident.objects.get(pk=resident_a.pk).phone == "13812345678"


def test_an_edit_checks_the_id_like_the_import(tree, grid_worker, resident_a, login):
    bad = resident_a.document_number[:-1] + ("0" if resident_a.document_number[-1] != "0" else "1")
    response = login(grid_worker).post(
        reverse("residents:edit", args=[resident_a.pk]), form_data(resident_a, document_number=bad)
    )
    assert "校验位" in response.content.decode()
    assert not AuditRecord.objects.exists()


def test_moving_a_resident_creates_the_room_and_is_audited(tree, grid_worker, resident_a, login):
    response = login(grid_worker).post(
        reverse("residents:move", args=[resident_a.pk]),
        {"building": tree["building_a"].pk, "entrance": "2单元", "room": "602室", "reason": "换房"},
    )
    assert response.status_code == 302
    resident_a.refresh_from_db()
    assert (resident_a.household.entrance, resident_a.household.room) == ("2", "602")
    record = AuditRecord.objects.get(action="resident.move")
    assert record.changes["household"] == ["盛世佳苑 3号楼 2单元 501", "盛世佳苑 3号楼 2单元 602"]


def test_a_grid_worker_cannot_move_someone_into_another_grid(tree, grid_worker, resident_a, login):
    response = login(grid_worker).post(
        reverse("residents:move", args=[resident_a.pk]),
        {"building": tree["building_b"].pk, "room": "101", "reason": "x"},
    )
    assert response.status_code == 200  # the other grid's building is not a choice
    assert Resident.objects.get(pk=resident_a.pk).household == tree["household_a"]


def test_marking_away_is_audited(tree, grid_worker, resident_a, login):
    login(grid_worker).post(
        reverse("residents:status", args=[resident_a.pk]), {"status": "away", "reason": "在济南务工"}
    )
    assert Resident.objects.get(pk=resident_a.pk).status == "away"
    assert AuditRecord.objects.get(action="resident.update").changes == {"status": ["present", "away"]}


def test_revealing_an_id_is_audited_and_shown_once(tree, grid_worker, resident_a, login):
    client = login(grid_worker)
    page = client.get(reverse("residents:detail", args=[resident_a.pk])).content.decode()
    assert resident_a.document_number not in page and resident_a.masked_document in page
    client.post(reverse("residents:reveal", args=[resident_a.pk]))
    assert (
        resident_a.document_number
        in client.get(reverse("residents:detail", args=[resident_a.pk])).content.decode()
    )
    assert (
        resident_a.document_number
        not in client.get(reverse("residents:detail", args=[resident_a.pk])).content.decode()
    )
    assert AuditRecord.objects.filter(action="resident.reveal_document", actor=grid_worker).count() == 1


def test_an_outsider_cannot_reveal_or_edit(tree, outsider, resident_a, login):
    client = login(outsider)
    assert client.post(reverse("residents:reveal", args=[resident_a.pk])).status_code == 404
    assert (
        client.post(
            reverse("residents:status", args=[resident_a.pk]), {"status": "away", "reason": "x"}
        ).status_code
        == 404
    )
    assert not AuditRecord.objects.exists()


def test_adding_a_newborn_without_an_id(tree, grid_worker, login):
    response = login(grid_worker).post(
        reverse("residents:create", args=[tree["household_a"].pk]),
        {
            "name": "牛小宝",
            "sex": "M",
            "document_type": "none",
            "document_number": "",
            "birth_date": "2022-10-01",
            "phone": "",
            "relation": "孙子",
            "residence_type": "registered",
            "status": "present",
            "note": "",
            "reason": "新生儿",
        },
    )
    assert response.status_code == 302
    baby = Resident.objects.get(name="牛小宝")
    assert baby.document_type == "none" and baby.birth_date == datetime.date(2022, 10, 1)
    assert AuditRecord.objects.filter(action="resident.create", target_id=baby.pk).exists()


def test_adding_someone_already_registered_is_refused(tree, grid_worker, resident_a, login):
    response = login(grid_worker).post(
        reverse("residents:create", args=[tree["household_a"].pk]),
        form_data(resident_a, reason="重复"),
    )
    assert "已登记" in response.content.decode()
    assert Resident.objects.count() == 1


def test_audit_records_are_append_only(tree, grid_worker, resident_a, login):
    login(grid_worker).post(reverse("residents:reveal", args=[resident_a.pk]))
    record = AuditRecord.objects.get()
    record.reason = "changed"
    with pytest.raises(AppendOnlyError):
        record.save()
    with pytest.raises(AppendOnlyError):
        record.delete()
    with pytest.raises(AppendOnlyError):
        AuditRecord.objects.all().delete()
    with pytest.raises(AppendOnlyError):
        AuditRecord.objects.update(reason="x")


def test_the_upload_page_previews_then_applies(tree, sub_admin, login):
    client = login(sub_admin)
    header = ["网格", "小区", "楼栋", "单元", "房号", "姓名", "身份证号码"]
    data = csv_bytes(
        [
            header,
            ["第一网格", "盛世佳苑", "3", "2", "501", "牛绪俭", new_id()],
            ["第一网格", "盛世佳苑", "3", "2", "501", "", new_id(seq=2)],
        ]
    )
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post(reverse("residents:import"), {"file": SimpleUploadedFile("table.csv", data)})
    batch = ImportBatch.objects.get()
    assert response["Location"] == reverse("residents:import_batch", args=[batch.pk])
    page = client.get(response["Location"]).content.decode()
    assert "missing_name" in page and Resident.objects.count() == 0
    client.post(reverse("residents:import_apply", args=[batch.pk]))
    batch.refresh_from_db()
    assert (batch.state, batch.created, batch.rejected) == ("applied", 1, 1)
    assert Resident.objects.count() == 1
    # Applying twice does nothing more.
    client.post(reverse("residents:import_apply", args=[batch.pk]))
    assert Resident.objects.count() == 1
    rejects = client.get(reverse("residents:import_rejects", args=[batch.pk]) + "?format=csv")
    assert "missing_name" in rejects.content.decode("utf-8-sig")


def test_the_upload_page_explains_a_bad_header(tree, sub_admin, login):
    from django.core.files.uploadedfile import SimpleUploadedFile

    # An unknown column alone no longer refuses a file (issue 15); a missing required one does.
    data = csv_bytes([["姓名", "身份证号", "血型"], ["牛绪俭", new_id(), "A"]])
    response = login(sub_admin).post(reverse("residents:import"), {"file": SimpleUploadedFile("t.csv", data)})
    assert "缺少住址" in response.content.decode() and not ImportBatch.objects.exists()


def test_a_grid_worker_cannot_import(tree, grid_worker, login):
    assert login(grid_worker).get(reverse("residents:import")).status_code == 404


def test_the_template_downloads_with_chinese_headers(tree, grid_worker, login):
    from io import BytesIO

    from openpyxl import load_workbook

    response = login(grid_worker).get(reverse("residents:template"))
    header = next(load_workbook(BytesIO(response.content)).active.values)
    assert "证件号码" in header and "姓名" in header


def test_the_tree_pages_show_counts(tree, sub_admin, resident_a, resident_b, login):
    client = login(sub_admin)
    page = client.get(reverse("areas:area", args=[tree["community"].pk])).content.decode()
    assert "第一网格" in page and "第二网格" in page
    assert client.get(reverse("areas:area", args=[tree["grid_a"].pk])).context["total"] == 1
    building = client.get(reverse("areas:building", args=[tree["building_a"].pk])).content.decode()
    assert "韩馨怡" in building and "tel:13812345678" in building
    Household.objects.create(building=tree["building_a"], entrance="2", room="1001")
    rooms = [
        h.room
        for h in client.get(reverse("areas:building", args=[tree["building_a"].pk])).context["households"]
    ]
    assert rooms == ["501", "1001"]  # in the order people walk them, not as strings


def test_pages_switch_to_english(tree, grid_worker, login):
    client = login(grid_worker)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert "Find a resident" in client.get("/").content.decode()
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert "查找居民" in client.get("/").content.decode()


def test_chinese_is_the_default_whatever_the_browser_says(tree, grid_worker, login):
    client = login(grid_worker)
    assert "查找居民" in client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()


def test_the_audit_log_is_scoped(tree, sub_admin, grid_worker, outsider, resident_a, resident_b, login):
    from gridroll.conftest import make_user

    login(grid_worker).post(reverse("residents:reveal", args=[resident_a.pk]))
    login(outsider).post(reverse("residents:reveal", args=[resident_b.pk]))
    page = login(sub_admin).get(reverse("audit:log"))
    assert {r.target_id for r in page.context["page"]} == {resident_a.pk, resident_b.pk}
    staff_b = make_user("staff_b", "community_staff", tree["grid_b"])
    page = login(staff_b).get(reverse("audit:log"))
    assert {r.target_id for r in page.context["page"]} == {resident_b.pk}
    # Grid workers read their residents' history on the resident page, not the whole log.
    assert login(grid_worker).get(reverse("audit:log")).status_code == 404
