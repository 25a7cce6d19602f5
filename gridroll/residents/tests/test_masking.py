"""Masks that a neighbouring field cannot undo, and no bulk read without a trace (issue 13, 3 and 5)."""

import datetime

from gridroll.audit.models import AuditRecord
from gridroll.conftest import new_id
from gridroll.residents.models import Resident


def test_a_masked_id_is_never_shown_beside_the_full_birth_date(tree, grid_worker, resident_a, login):
    client = login(grid_worker)
    page = client.get(f"/residents/{resident_a.pk}/").content.decode()
    assert resident_a.masked_document in page
    assert "1990-03-02" not in page and "03-02" not in page  # the age instead
    client.post(f"/residents/{resident_a.pk}/reveal/")
    page = client.get(f"/residents/{resident_a.pk}/").content.decode()
    assert resident_a.document_number in page and "1990-03-02" in page  # revealed: both, recorded
    assert AuditRecord.objects.filter(action="resident.reveal_document").count() == 1


def test_a_search_on_a_full_id_is_recorded_as_a_reveal(tree, grid_worker, resident_a, login):
    client = login(grid_worker)
    page = client.get("/residents/", {"q": resident_a.document_number})
    assert resident_a in page.context["page"].object_list
    assert AuditRecord.objects.filter(action="resident.search_document", target_id=resident_a.pk).exists()
    # The last four characters are on every masked number: searching them reveals nothing new.
    client.get("/residents/", {"q": resident_a.document_number[-4:]})
    assert AuditRecord.objects.filter(action="resident.search_document").count() == 1


def test_guessing_ids_from_a_masked_one_leaves_a_record_per_confirmation(
    tree, grid_worker, resident_a, login
):
    # The attack: 3715**********0754 beside a birth date leaves a few candidates; try each.
    client = login(grid_worker)
    birth = datetime.date(1990, 3, 2)
    candidates = [new_id(birth, "F", seq) for seq in range(1, 12)]
    assert resident_a.document_number in candidates
    for candidate in candidates:
        client.get("/residents/", {"q": candidate})
    records = AuditRecord.objects.filter(action="resident.search_document")
    assert [r.target_id for r in records] == [resident_a.pk]


def test_the_audit_log_and_history_mask_ids_and_phones(tree, sub_admin, grid_worker, resident_a, login):
    old_id, new = resident_a.document_number, new_id(datetime.date(1990, 3, 2), "F", 9)
    AuditRecord.objects.create(
        action="resident.update",
        target_type="residents.resident",
        target_id=resident_a.pk,
        area_path=tree["grid_a"].path,
        changes={"document_number": [old_id, new], "phone": ["13812345678", "13900009999"]},
    )
    log = login(sub_admin).get("/audit/").content.decode()
    assert old_id not in log and new not in log and old_id[-4:] in log
    assert "13812345678" not in log and "138****5678" in log  # above the community: masked
    history = login(grid_worker).get(f"/residents/{resident_a.pk}/").content.decode()
    assert old_id not in history and new not in history
    assert "13812345678" in history  # the grid worker calls residents


def test_api_lists_are_paged_masked_and_bulk_reads_audited(tree, sub_admin, grid_worker, login):
    for i in range(60):
        Resident.objects.create(name=f"苑{i}", household=tree["household_a"], phone=f"138{i:08d}")
    client = login(sub_admin)
    assert client.get("/api/residents", {"q": "苑", "limit": 100000}).status_code == 422
    body = client.get("/api/residents", {"q": "苑", "limit": 200}).json()
    assert body["count"] == 60 and len(body["items"]) == 60
    assert all("****" in r["phone"] for r in body["items"]) and "birth_date" not in body["items"][0]
    record = AuditRecord.objects.get(action="resident.bulk_read")
    assert record.actor == sub_admin and record.changes["rows"] == 60
    small = login(grid_worker).get("/api/residents", {"q": "苑", "limit": 10}).json()
    assert small["items"][0]["phone"].startswith("138000")
    assert AuditRecord.objects.filter(action="resident.bulk_read").count() == 1
