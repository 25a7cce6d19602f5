"""Feeds in the database: conclusions from the roll call, duplicates, the command's result, pages, decisions
and the outsider who must see nothing."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from openpyxl import load_workbook

from gridroll.audit.models import AuditRecord
from gridroll.conftest import csv_bytes, make_user, xlsx_bytes
from gridroll.reconcile.models import Conclusion, Decision, Feed, FeedLine
from gridroll.reconcile.services import create_feed, decide, read_feed, rematch, undo
from gridroll.reconcile.tests.conftest import HEADER, feed_file
from gridroll.residents.importing import FileError
from gridroll.residents.models import Resident
from gridroll.rollcall.models import Entry


@pytest.fixture
def feed(tree, round_, people, sub_admin):
    return create_feed(sub_admin, tree["community"], feed_file(people), "名单.xlsx", round_=round_)


def _line(feed, n) -> FeedLine:
    return feed.lines.get(line=n)


def test_every_line_gets_a_conclusion_from_the_roll_call(feed, people):
    assert feed.total == 7 and feed.blank_rows == 1
    got = {x.line: (x.conclusion, x.resident_id) for x in feed.lines.all()}
    assert got[1] == (Conclusion.TESTED, people["a"].pk)
    assert got[2][0] == Conclusion.MISSING and got[2][1] == people["mother"].pk
    assert got[3] == (Conclusion.MISSING, people["b"].pk)
    assert got[4] == (Conclusion.EXEMPT, people["away"].pk)
    assert got[5] == (Conclusion.MOVED_OUT, people["moved"].pk)
    assert got[6] == (Conclusion.NOT_FOUND, None)
    assert got[7] == (Conclusion.TESTED, people["a"].pk)


def test_explanations_say_why_in_one_line(feed):
    assert _line(feed, 1).explanation.startswith("本轮已检测")
    assert "姓名“韩馨一”与登记“韩馨怡”同音" in _line(feed, 1).explanation
    assert "手机号是同户“韩*怡”的号码" in _line(feed, 2).explanation
    assert "本轮免检" in _line(feed, 4).explanation
    assert "登记为已迁出" in _line(feed, 5).explanation
    assert _line(feed, 6).explanation.startswith("登记中找不到此人")


def test_duplicate_lines_are_grouped(feed):
    first, again = _line(feed, 1), _line(feed, 7)
    assert again.duplicate_of_id == first.pk and again.explanation.startswith("与第1行为同一人")


def test_lines_are_placed_in_the_grid_that_works_them(feed, tree):
    assert _line(feed, 1).grid_id == tree["grid_a"].pk
    assert _line(feed, 3).grid_id == tree["grid_b"].pk
    # Nobody to place it with: the community's staff work it.
    assert _line(feed, 6).grid_id is None and _line(feed, 6).area_path == tree["community"].path


def test_a_file_without_a_header_is_refused_whole():
    with pytest.raises(FileError) as exc:
        read_feed(xlsx_bytes([["a", "b"], ["c", "d"]]), "x.xlsx")
    assert "姓名" in exc.value.message


def test_csv_and_split_address_columns(tree, people, sub_admin):
    data = csv_bytes(
        [["姓名", "手机号", "小区", "楼栋", "单元", "房号"], ["韩馨怡", "", "盛世佳苑", "3", "2", "501"]]
    )
    feed = create_feed(sub_admin, tree["community"], data, "list.csv")
    line = feed.lines.get()
    assert line.address == "盛世佳苑3号楼2单元501"
    assert line.resident_id == people["a"].pk and line.conclusion == Conclusion.MATCHED


def test_the_registry_carries_each_residents_community_and_a_lists_community_column_is_read(
    tree, people, sub_admin
):
    """A list with a 社区 column and a building of no compound: the column was not read, and the registry
    did not say which community anyone lived in."""
    from gridroll.reconcile.services import registry_rows

    rows, _ = registry_rows(tree["sub"])
    assert rows and {r.community for r in rows} == {"测试"}  # 测试社区, by its key
    data = csv_bytes([["姓名", "所属社区", "现住址"], ["韩馨怡", "测试社区", "3号楼2单元501"]])
    feed = create_feed(sub_admin, tree["community"], data, "list.csv")
    line = feed.lines.get()
    assert line.address == "测试社区 3号楼2单元501"
    assert line.resident_id == people["a"].pk and line.conclusion == Conclusion.MATCHED


def test_the_command_writes_every_line_in_order(tmp_path, feed, round_, people, tree):
    src = tmp_path / "名单.xlsx"
    src.write_bytes(feed_file(people))
    out = tmp_path / "result.xlsx"
    stdout = io.StringIO()
    args = ["reconcile", str(src), "--round", "current", "--area", "测试社区", "--out", str(out)]
    call_command(*args, "--full-ids", stdout=stdout)
    assert "7 lines" in stdout.getvalue()
    rows = list(load_workbook(out).active.iter_rows(values_only=True))
    assert list(rows[0]) == [*HEADER, "结论", "匹配证件号码", "置信度", "说明", "候选"]
    assert [r[0] for r in rows[1:]] == ["1", "2", "3", "4", "5", "6", "7"]
    # The 结论 column in words, like its header (issue 18, item 5: it said "tested", "not_found").
    assert rows[1][6] == "本轮已检测" and rows[1][7] == people["a"].document_number
    assert rows[3][3] == "13900001111"  # a phone Excel stored as a number comes back as text
    assert rows[6][6] == "登记中查无此人" and rows[6][7] is None


def test_the_command_masks_ids_like_the_page_and_can_keep_nothing(tmp_path, feed, round_, people, tree):
    """Issue 18, item 15: the command's result carried full IDs while the page's export was masked, and
    the README's example added a second copy of the demo list to the grid workers' worklists."""
    from gridroll.reconcile.models import Feed

    src = tmp_path / "名单.xlsx"
    src.write_bytes(feed_file(people))
    out = tmp_path / "result.xlsx"
    before = Feed.objects.count()
    args = ["reconcile", str(src), "--round", "current", "--area", "测试社区", "--out", str(out)]
    call_command(*args, "--check-only", stdout=io.StringIO())
    assert Feed.objects.count() == before
    rows = list(load_workbook(out).active.iter_rows(values_only=True))
    number = people["a"].document_number
    assert rows[1][7] == f"{number[:4]}{'*' * 10}{number[-4:]}"
    assert float(rows[1][8]) >= 0.99


def test_the_command_explains_bad_arguments(tmp_path, tree):
    with pytest.raises(CommandError, match="no such file"):
        call_command("reconcile", str(tmp_path / "none.xlsx"), "--out", str(tmp_path / "o.xlsx"))
    (tmp_path / "f.csv").write_bytes(csv_bytes([["姓名", "手机号"], ["王", "1"]]))
    with pytest.raises(CommandError, match="no round is open"):
        call_command(
            "reconcile", str(tmp_path / "f.csv"), "--round", "current", "--out", str(tmp_path / "o.xlsx")
        )
    with pytest.raises(CommandError, match="no area named"):
        call_command(
            "reconcile", str(tmp_path / "f.csv"), "--area", "火星", "--out", str(tmp_path / "o.xlsx")
        )


# ------------------------------------------------------------------------------------------ decisions


def test_picking_a_candidate_is_audited_and_can_be_undone(feed, grid_worker, people):
    line = _line(feed, 6)
    decide(grid_worker, line, Decision.NOT_HERE, note="电话核实，在外地工作")
    line.refresh_from_db()
    assert line.conclusion == Conclusion.NOT_HERE and line.decided_by == grid_worker
    rec = AuditRecord.objects.get(action="reconcile.decide", target_id=line.pk)
    assert rec.changes["conclusion"] == ["not_found", "not_here"] and rec.reason == "电话核实，在外地工作"
    fresh = undo(grid_worker, line)
    assert fresh.conclusion == Conclusion.NOT_FOUND and fresh.decision == ""
    # The same line, so its history stays together.
    assert fresh.pk == line.pk
    assert set(AuditRecord.objects.filter(target_id=line.pk).values_list("action", flat=True)) == {
        "reconcile.decide",
        "reconcile.undo",
    }
    assert AuditRecord.objects.filter(action="reconcile.undo").count() == 1


def test_undo_gives_back_the_automatic_match_with_the_roll_call_as_it_is_now(
    feed, grid_worker, people, round_
):
    line = _line(feed, 2)  # 王秀英, matched automatically, not tested yet
    machine = line.explanation
    decide(grid_worker, line, Decision.NOT_HERE, note="电话核实")
    assert line.resident is None
    Entry.objects.filter(round=round_, resident=people["mother"]).update(state="negative")
    undo(grid_worker, line)
    line.refresh_from_db()
    assert line.resident == people["mother"] and line.conclusion == Conclusion.TESTED
    assert line.explanation.startswith("本轮已检测") and machine.split("；", 1)[1] in line.explanation
    assert line.decision == "" and line.decided_by is None


def test_rematch_keeps_decisions_and_sees_registry_corrections(feed, grid_worker, people, tree):
    decide(grid_worker, _line(feed, 4), Decision.CONFIRMED, people["away"])
    # The grid worker registers 司马懿, who had just moved in.
    Resident.objects.create(name="司马懿", phone="13000000000", household=tree["household_a"])
    rematch(feed)
    assert _line(feed, 4).decision == Decision.CONFIRMED
    assert _line(feed, 6).resident is not None and _line(feed, 6).conclusion == Conclusion.MISSING
    assert feed.lines.count() == 7
    assert _line(feed, 7).duplicate_of == _line(feed, 1)


def test_worklist_is_worst_first_and_decisions_work_from_it(login, feed, grid_worker, people):
    c = login(grid_worker)
    page = c.get(reverse("reconcile:worklist", args=[feed.pk]) + "?show=all").content.decode()
    assert 'name="q" value=""' in page  # the header's search box is not filled with "show=all"
    # Missing comes before tested; grid B's line is not shown to grid A's worker.
    assert page.index("王秀英") < page.index("韩馨一")
    assert "徐志强" not in page
    line = _line(feed, 2)
    r = c.post(
        reverse("reconcile:decide", args=[line.pk]),
        {"decision": "confirmed", "resident": people["mother"].pk},
    )
    assert r.status_code == 302
    line.refresh_from_db()
    assert line.decision == Decision.CONFIRMED and line.conclusion == Conclusion.MISSING
    # Not living here needs a note.
    other = _line(feed, 1)
    c.post(reverse("reconcile:decide", args=[other.pk]), {"decision": "not_here"})
    other.refresh_from_db()
    assert other.decision == ""


def test_add_a_resident_from_a_line(login, feed, grid_worker, tree):
    c = login(grid_worker)
    line = _line(feed, 6)
    line.grid = tree["grid_a"]
    line.area_path = tree["grid_a"].path
    line.save()
    url = reverse("reconcile:add", args=[line.pk])
    page = c.post(url, {"name": "司马懿", "phone": "13000000000", "address": "3号楼2单元501", "find": "1"})
    assert "盛世佳苑 3号楼 2单元 501" in page.content.decode()
    r = c.post(
        url,
        {
            "name": "司马懿",
            "phone": "13000000000",
            "address": "3号楼2单元501",
            "household": tree["household_a"].pk,
        },
    )
    assert r.status_code == 302
    added = Resident.objects.get(name="司马懿")
    assert added.is_pending and added.household == tree["household_a"]
    line.refresh_from_db()
    assert line.conclusion == Conclusion.ADDED and line.resident == added
    assert AuditRecord.objects.filter(action="resident.create", target_id=added.pk).exists()


def test_answer_upstream_is_masked_and_in_order(login, feed, sub_admin, people):
    c = login(sub_admin)
    r = c.get(reverse("reconcile:export", args=[feed.pk]))
    rows = list(load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))
    assert [r[0] for r in rows[1:]] == ["1", "2", "3", "4", "5", "6", "7"]
    assert people["a"].document_number not in r.content.decode("latin-1")
    assert rows[1][7] == people["a"].masked_document


def test_pages_for_staff(login, feed, sub_admin):
    c = login(sub_admin)
    assert feed.name in c.get(reverse("reconcile:feeds")).content.decode()
    page = c.get(reverse("reconcile:feed", args=[feed.pk])).content.decode()
    assert "第一网格" in page and "第二网格" in page


def test_upload_page_keeps_a_bad_file_out_and_says_why(login, tree, sub_admin):
    c = login(sub_admin)
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = SimpleUploadedFile("x.xlsx", xlsx_bytes([["甲", "乙"]]))
    page = c.post(reverse("reconcile:feeds"), {"file": bad, "area": tree["community"].pk}).content.decode()
    assert "找不到表头" in page and Feed.objects.count() == 0


def test_a_list_too_long_for_the_page_says_to_use_the_command(tree, sub_admin, monkeypatch):
    monkeypatch.setattr("gridroll.reconcile.views.PAGE_MAX_LINES", 2)
    data = csv_bytes(
        [["姓名", "手机号"], ["甲", "13800000001"], ["乙", "13800000002"], ["丙", "13800000003"]]
    )
    with pytest.raises(FileError) as exc:
        create_feed(sub_admin, tree["community"], data, "big.csv", max_lines=2)
    assert exc.value.code == "too_many_lines" and "manage.py reconcile" in exc.value.message
    assert not Feed.objects.exists()


def test_delete_is_for_the_uploader_level(login, feed, grid_worker, sub_admin):
    assert login(grid_worker).post(reverse("reconcile:delete", args=[feed.pk])).status_code == 404
    assert login(sub_admin).post(reverse("reconcile:delete", args=[feed.pk])).status_code == 302
    assert not Feed.objects.exists()


def test_the_outsider_sees_nothing(client, feed, tree, people):
    stranger = make_user("stranger", "grid_worker", tree["grid_b"])
    # A grid worker of another district entirely.
    from gridroll.areas.models import Area

    elsewhere = Area.objects.create(name="别的区", level="district")
    outsider = make_user("far_away", "community_staff", elsewhere)
    client.force_login(outsider)
    assert feed.name not in client.get(reverse("reconcile:feeds")).content.decode()
    line = _line(feed, 1)
    for url in (
        reverse("reconcile:feed", args=[feed.pk]),
        reverse("reconcile:worklist", args=[feed.pk]),
        reverse("reconcile:export", args=[feed.pk]),
        reverse("reconcile:add", args=[line.pk]),
    ):
        assert client.get(url).status_code == 404, url
    for url in (reverse("reconcile:decide", args=[line.pk]), reverse("reconcile:undo", args=[line.pk])):
        assert client.post(url, {"decision": "not_here", "note": "x"}).status_code == 404
    # Grid B's worker sees grid B's line, not grid A's.
    client.force_login(stranger)
    page = client.get(reverse("reconcile:worklist", args=[feed.pk]) + "?show=all").content.decode()
    assert "徐志强" in page and "韩馨" not in page and "王秀英" not in page
    assert (
        client.post(
            reverse("reconcile:decide", args=[line.pk]), {"decision": "not_here", "note": "x"}
        ).status_code
        == 404
    )
    rows = list(
        load_workbook(
            io.BytesIO(client.get(reverse("reconcile:export", args=[feed.pk])).content)
        ).active.iter_rows(values_only=True)
    )
    assert [r[1] for r in rows[1:]] == ["徐志强"]


# --------------------------------------------------------------------------------- bulk confirmation


def _shown(page: str) -> list[int]:
    import re

    found = re.search(r'name="shown" value="([\d,]*)"', page)
    return [int(x) for x in found[1].split(",")] if found and found[1] else []


def test_bulk_confirm_confirms_each_matched_line_as_the_single_path_does(login, feed, grid_worker, people):
    """Issue 18: the worklist's sure matches confirmed in one POST, each audited and undone on its own."""
    c = login(grid_worker)
    url = reverse("reconcile:worklist", args=[feed.pk]) + "?show=all"
    page = c.get(url).content.decode()
    shown = _shown(page)
    sure = set(
        FeedLine.objects.filter(feed=feed, automatic=True, decision="", duplicate_of__isnull=True)
        .exclude(resident=people["b"])
        .values_list("pk", flat=True)
    )
    assert shown and set(shown) == sure  # every sure line of grid A, and not grid B's 徐志强
    assert f'value="{shown[0]}" form="bulk"' in page  # a checkbox per line
    grid_b_line = feed.lines.get(resident=people["b"])
    r = c.post(
        reverse("reconcile:confirm_many", args=[feed.pk]),
        {"all": "1", "shown": ",".join(map(str, [*shown, grid_b_line.pk])), "next": url},
    )
    assert r.status_code == 302 and r["Location"] == url
    confirmed = FeedLine.objects.filter(feed=feed, decision=Decision.CONFIRMED)
    assert set(confirmed.values_list("pk", flat=True)) == sure
    assert all(x.decided_by == grid_worker for x in confirmed)
    grid_b_line.refresh_from_db()
    assert grid_b_line.decision == ""  # not the grid worker's line: left alone
    records = AuditRecord.objects.filter(action="reconcile.decide", actor=grid_worker)
    assert sorted(records.values_list("target_id", flat=True)) == sorted(sure)  # one record per line
    # What the single confirm writes, line by line (same service).
    line2 = feed.lines.get(line=2)
    assert line2.conclusion == Conclusion.MISSING and "确认" in line2.explanation
    # Undone the way a single decision is.
    c.post(reverse("reconcile:undo", args=[line2.pk]))
    line2.refresh_from_db()
    assert line2.decision == "" and line2.resident == people["mother"] and line2.automatic
    assert _shown(c.get(url).content.decode()) == [line2.pk]


def test_bulk_confirm_of_ticked_lines_only(login, feed, grid_worker, people):
    c = login(grid_worker)
    line2 = feed.lines.get(line=2)
    c.post(reverse("reconcile:confirm_many", args=[feed.pk]), {"line": [line2.pk]})
    assert list(FeedLine.objects.filter(feed=feed).exclude(decision="").values_list("pk", flat=True)) == [
        line2.pk
    ]
    # Nothing ticked: nothing happens, and the page says what to do.
    r = c.post(reverse("reconcile:confirm_many", args=[feed.pk]), {}, follow=True)
    assert "请先勾选要确认的行" in r.content.decode()


def test_bulk_confirm_by_an_outsider_confirms_nothing(login, feed, outsider, tree, people):
    lines = list(FeedLine.objects.filter(feed=feed).values_list("pk", flat=True))
    c = login(outsider)  # grid B's worker: sees the feed (徐志强 is theirs), not grid A's lines
    c.post(
        reverse("reconcile:confirm_many", args=[feed.pk]), {"all": "1", "shown": ",".join(map(str, lines))}
    )
    decided = FeedLine.objects.filter(feed=feed).exclude(decision="")
    assert set(decided.values_list("resident__household__building__grid", flat=True)) <= {tree["grid_b"].pk}
    assert not decided.filter(resident__household__building__grid=tree["grid_a"]).exists()
    stranger = login(make_user("stranger", "sampler", tree["grid_b"]))
    assert (
        stranger.post(reverse("reconcile:confirm_many", args=[feed.pk]), {"line": lines}).status_code == 404
    )


def test_confirm_many_refuses_a_decided_line_and_confirms_none(feed, grid_worker, people):
    from gridroll.reconcile.services import DecisionError, confirm_many

    line1, line2 = feed.lines.get(line=1), feed.lines.get(line=2)
    decide(grid_worker, line1, Decision.NOT_HERE, note="电话核实")
    with pytest.raises(DecisionError):
        confirm_many(grid_worker, [feed.lines.get(line=2), feed.lines.get(line=1)])
    line2.refresh_from_db()
    assert line2.decision == ""  # one transaction: nothing half-done
