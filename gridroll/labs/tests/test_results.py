import io

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.utils import timezone
from openpyxl import load_workbook

from gridroll.audit.models import AuditRecord
from gridroll.labs.models import BoxReceipt, ResultIssue, RetestTask
from gridroll.labs.services import (
    box_differences,
    import_results,
    receive_all,
    receive_box,
    receive_tube,
    resolve_conflict,
    write_issues,
)
from gridroll.rollcall.tests.helpers import assert_tallies_true, fill, receive, states
from gridroll.sampling.boxes import hand_over_box, pack_tube, seal_box
from gridroll.sampling.models import Box, Tube

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(db):
    return User.objects.create_superuser("root", password="x")


@pytest.fixture
def tubes(roll, people, act, admin):
    """Three tubes of four people each, at the lab; one more sampled but never received."""
    for t in range(3):
        fill(admin, act, f"TUBE00000{t + 1}", people[t * 4 : t * 4 + 4])
    receive("TUBE000001", "TUBE000002", "TUBE000003")
    fill(admin, act, "TUBE000009", people[:1])
    return ["TUBE000001", "TUBE000002", "TUBE000003"]


def csv_file(*rows: str) -> bytes:
    return ("\n".join(rows) + "\n").encode()


def test_every_row_is_accounted_for_with_a_stable_reason(tubes, round_):
    data = csv_file(
        "管码,结果,CT值,检测时间",
        "TUBE000001,阴性,,2022-04-12 08:30",
        "tube000002,Negative,,",  # lower case and English: fine
        ",阴性,,",  # missing_tube
        "NOSUCH0001,阴性,,",  # unknown_tube
        "TUBE000009,阴性,,",  # tube_not_received (opened, never received)
        "TUBE000003,maybe,,",  # bad_result
        "TUBE000003,阳性,abc,",  # bad_ct
        "TUBE000003,阳性,,yesterday",  # bad_tested_at
        "TUBE000001,阴性,,",  # the same again: unchanged
        "TUBE000001,阳性,,",  # differs from the first: conflict
        ",,,",  # blank: counted apart
    )
    upload = import_results(data, "results.csv")
    assert upload.error == ""
    assert (upload.total, upload.applied, upload.unchanged, upload.conflicts, upload.rejected) == (
        10,
        2,
        1,
        1,
        6,
    )
    assert upload.blank_rows == 1
    codes = list(upload.issues.values_list("code", flat=True))
    assert codes == [
        "missing_tube",
        "unknown_tube",
        "tube_not_received",
        "bad_result",
        "bad_ct",
        "bad_tested_at",
        "conflict",
    ]
    tube = Tube.objects.get(barcode="TUBE000001")
    assert tube.result == "negative" and timezone.localtime(tube.tested_at).hour == 8
    # Re-uploading the same file changes nothing (the conflict is still one, and still not applied).
    again = import_results(data, "results.csv")
    assert (again.applied, again.unchanged, again.conflicts) == (0, 3, 1)
    assert Tube.objects.get(barcode="TUBE000001").result == "negative"
    assert_tallies_true(round_)


def test_a_result_for_a_closed_round_is_rejected(tubes, round_):
    round_.status = "closed"
    round_.save()
    upload = import_results(csv_file("tube,result", "TUBE000001,negative"), "r.csv")
    assert upload.issues.get().code == "round_closed"


def test_file_level_errors_say_what_is_wrong(tubes):
    assert "管码" in import_results(csv_file("姓名,电话", "张三,1"), "r.csv").error
    assert import_results(b"\x00\x01", "r.xlsx").error


def test_rejects_download_in_the_upload_columns_and_reimport_when_fixed(tubes):
    upload = import_results(csv_file("管码,结果", "TUBE000001,阴", "TUBE000002,??"), "r.csv")
    out = io.BytesIO()
    write_issues(upload, out, "rejects.xlsx")
    rows = list(load_workbook(io.BytesIO(out.getvalue())).active.values)
    assert rows[0][:2] == ("管码", "结果") and rows[1][0] == "TUBE000002" and rows[1][7] == "bad_result"
    fixed = io.BytesIO()
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(rows[0])
    book.active.append(["TUBE000002", "阴性", *rows[1][2:]])
    book.save(fixed)
    assert import_results(fixed.getvalue(), "fixed.xlsx").applied == 1


def test_positive_pool_sets_off_retests_for_exactly_its_members(tubes, people, round_):
    import_results(csv_file("tube,result,ct", "TUBE000001,negative,", "TUBE000002,positive,28.1"), "r.csv")
    assert sorted(RetestTask.objects.values_list("resident_id", flat=True)) == sorted(
        p.pk for p in people[4:8]
    )
    assert states(round_, people) == ["negative"] * 4 + ["pool_positive"] * 4 + ["sampled"] * 4
    assert Tube.objects.get(barcode="TUBE000002").ct_values == {"ct": 28.1}


def test_a_conflict_waits_for_a_person_and_either_answer_is_audited(tubes, people, round_, admin):
    import_results(csv_file("tube,result", "TUBE000001,negative"), "a.csv")
    upload = import_results(csv_file("tube,result", "TUBE000001,positive"), "b.csv")
    issue = upload.issues.get()
    assert Tube.objects.get(barcode="TUBE000001").result == "negative"  # never overwritten silently
    resolve_conflict(admin, issue, take_new=True)
    assert Tube.objects.get(barcode="TUBE000001").result == "positive"
    assert states(round_, people[:4]) == ["pool_positive"] * 4
    assert AuditRecord.objects.filter(action="result.replace").exists()
    assert_tallies_true(round_)
    later = import_results(csv_file("tube,result", "TUBE000001,negative"), "c.csv").issues.get()
    resolve_conflict(admin, later, take_new=False)
    assert ResultIssue.objects.get(pk=later.pk).resolution == "kept"
    assert Tube.objects.get(barcode="TUBE000001").result == "positive"


def test_the_command_line(tubes, tmp_path, capsys):
    path = tmp_path / "results.csv"
    path.write_bytes(csv_file("管码,结果", "TUBE000001,阴性", "NOSUCH0001,阴性"))
    call_command(
        "import_results", str(path), "--rejects", str(tmp_path / "rejects.csv"), "--lab", "聊城市检测中心"
    )
    out = capsys.readouterr().out
    assert "total 2 = applied 1 + unchanged 0 + conflicts 0 + rejected 1" in out
    assert "unknown_tube" in (tmp_path / "rejects.csv").read_text(encoding="utf-8-sig")
    assert Tube.objects.get(barcode="TUBE000001").lab == "聊城市检测中心"
    with pytest.raises(CommandError):
        call_command("import_results", str(tmp_path / "nothing.csv"))


def test_receiving_a_box_lists_what_is_missing_and_what_is_extra(roll, people, act, admin, round_, site):
    for t in range(3):
        fill(admin, act, f"TUBE00010{t}", people[t * 2 : t * 2 + 2])
        from gridroll.sampling.services import record_actions

        record_actions(admin, [act("seal", f"TUBE00010{t}")])
    box = Box.objects.create(code="BOX-001", round=round_, site=site)
    pack_tube(admin, box, "TUBE000100")
    pack_tube(admin, box, "TUBE000101")
    seal_box(admin, box, 2)
    hand_over_box(admin, box, "聊城市检测中心", "小李")
    box = receive_box(admin, box)
    assert box.status == "received"
    receive_tube(admin, box, "TUBE000100")
    receive_tube(admin, box, "tube000102")  # sealed but never packed in this box
    receive_tube(admin, box, "TUBE000100")  # scanned twice: one receipt
    assert BoxReceipt.objects.filter(box=box).count() == 2
    assert box_differences(box) == {
        "packed_not_scanned": ["TUBE000101"],
        "received_not_packed": ["TUBE000102"],
    }
    assert receive_all(admin, box) == 1
    assert box_differences(box)["packed_not_scanned"] == []
    assert Tube.objects.filter(received_at__isnull=False).count() == 3


def test_receiving_a_box_receives_its_tubes_so_results_go_in_at_once(roll, people, act, admin, round_, site):
    """Issue 18, item 9: a received box's tubes stayed unreceived until "counted" was pressed, and the
    upload was refused as tube_not_received with no hint of what to do."""
    from gridroll.sampling.services import record_actions

    fill(admin, act, "TUBE000201", people[:2])
    fill(admin, act, "TUBE000202", people[2:4])
    record_actions(admin, [act("seal", "TUBE000201"), act("seal", "TUBE000202")])
    box = Box.objects.create(code="BOX-201", round=round_, site=site)
    pack_tube(admin, box, "TUBE000201")
    seal_box(admin, box, 1)
    hand_over_box(admin, box, "聊城市检测中心", "小李")
    assert box_differences(box) == {"packed_not_scanned": [], "received_not_packed": []}
    receive_box(admin, box)
    tube = Tube.objects.get(barcode="TUBE000201")
    assert tube.received_at is not None and tube.lab == "聊城市检测中心"
    upload = import_results(b"tube,result\nTUBE000201,negative\nTUBE000202,negative\n", "r.csv", user=admin)
    issue = upload.issues.get()
    assert issue.code == "tube_not_received" and issue.data["tube"] == "TUBE000202"
    assert "箱码" in issue.message  # says what to do: receive the tube's box
    assert Tube.objects.get(barcode="TUBE000201").result == "negative"
