"""The bounded table reader, tried as an attacker would: bombs, oversized files on every upload path and
command. Each refusal must leave nothing stored and the process standing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.urls import reverse

from gridroll.conftest import csv_bytes, make_user, new_id, xlsx_bytes
from gridroll.core import tables
from gridroll.core.tables import TableError, read_rows
from gridroll.core.tests.attacks import RESULTS_HEADER, dimension_bomb, sparse_bomb, zip_bomb
from gridroll.labs.models import ResultIssue, ResultUpload
from gridroll.reconcile.models import Feed, FeedLine
from gridroll.residents.models import ImportBatch, ImportReject, Resident

ROOT = Path(__file__).resolve().parents[3]


def small_limits(**caps):
    """TABLE_LIMITS with the web's (and the command's) caps replaced by ``caps``."""
    from django.conf import settings

    base = {k: dict(v) for k, v in settings.TABLE_LIMITS.items()}
    for where in base:
        base[where].update(caps)
    return override_settings(TABLE_LIMITS=base)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def stored_files(media: Path) -> list[Path]:
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


@pytest.fixture
def lab(tree):
    return make_user("lab_a", "lab_staff", tree["district"])


def registry_csv(n: int) -> bytes:
    rows = [["网格", "楼栋", "房号", "姓名", "身份证号"]]
    rows += [["第一网格", "3号楼", f"{i % 50 + 1}01", f"居民{i}", new_id(seq=i % 900 + 1)] for i in range(n)]
    return csv_bytes(rows)


# ------------------------------------------------------------------------------------------- the bombs


def test_the_dimension_bomb_is_read_as_the_cells_it_has():
    data = dimension_bomb()
    assert len(data) < 2000
    assert read_rows(data, "bomb.xlsx") == [["姓名", "身份证号", "楼栋", "房号", "网格"]]


def test_the_sparse_bomb_is_refused_and_this_process_survives():
    # One real cell in XFD1048576: calamine asks for half a terabyte and aborts the process it runs in.
    # It runs in a capped child, so this process (the web worker) answers instead of dying.
    data = sparse_bomb()
    assert len(data) < 2000
    with pytest.raises(TableError) as exc:
        read_rows(data, "bomb.xlsx")
    assert exc.value.code == "unreadable_file" and "拒绝" in exc.value.message


def test_the_bomb_through_the_import_command_in_its_own_process_ends_with_an_error_not_a_crash(tmp_path):
    bomb = tmp_path / "名单.xlsx"
    bomb.write_bytes(sparse_bomb())
    env = {**os.environ, "GRIDROLL_DEMO": "1", "GRIDROLL_VAR_DIR": str(tmp_path / "var")}
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "import_residents", str(bomb), "--dry-run"],
        capture_output=True,
        env=env,
        timeout=300,
    )
    # A CommandError exits with 1 and says why; an abort would be -6 (SIGABRT) with no message.
    assert done.returncode == 1, done.stderr.decode()
    assert "unreadable_file" in done.stderr.decode()


def test_a_zip_bomb_is_refused_by_its_ratio_before_it_is_inflated():
    data = zip_bomb(40)
    assert len(data) < 100_000
    with pytest.raises(TableError) as exc:
        read_rows(data, "bomb.xlsx")
    assert exc.value.code == "zip_bomb" and "压缩炸弹" in exc.value.message


def test_a_workbook_whose_parts_inflate_past_the_cap_is_refused(settings):
    with small_limits(MAX_UNZIPPED=1024 * 1024), pytest.raises(TableError) as exc:
        read_rows(xlsx_bytes([["姓名"], *[[f"x{i}" * 20] for i in range(30_000)]]), "big.xlsx")
    assert exc.value.code == "zip_bomb"


def test_a_file_that_is_not_a_workbook_is_refused_with_a_reason():
    with pytest.raises(TableError) as exc:
        read_rows(b"PK\x03\x04 not really", "x.xlsx")
    assert exc.value.code == "unreadable_file"
    with pytest.raises(TableError) as exc:
        read_rows(b"MZ\x90\x00", "x.exe")
    assert exc.value.code == "unsupported_file"


# -------------------------------------------------------------------------------------------- the caps


@pytest.mark.parametrize("name", ["t.csv", "t.xlsx"])
def test_rows_columns_and_bytes_over_the_caps_are_refused(name):
    def table(rows):
        return csv_bytes(rows) if name.endswith(".csv") else xlsx_bytes(rows)

    with small_limits(MAX_ROWS=100), pytest.raises(TableError) as exc:
        read_rows(table([["a"]] * 200), name)
    assert exc.value.code == "too_many_rows"
    with small_limits(MAX_COLUMNS=10), pytest.raises(TableError) as exc:
        read_rows(table([["a"] * 11]), name)
    assert exc.value.code == "too_many_columns"
    data = table([["a" * 100]] * 500)
    with small_limits(MAX_BYTES=len(data) - 1), pytest.raises(TableError) as exc:
        read_rows(data, name)
    assert exc.value.code == "file_too_large" and "命令行" in exc.value.message
    # Within the caps, the same files read.
    assert len(read_rows(table([["a"]] * 100), name)) == 100


def test_a_csv_cell_of_megabytes_is_refused():
    with pytest.raises(TableError) as exc:
        read_rows(b"name\n" + b"x" * 100_000 + b"\n", "t.csv")
    assert exc.value.code == "unreadable_file"


def test_header_rows_are_found_below_a_title_and_row_numbers_are_the_sheets():
    with tables.open_table(
        xlsx_bytes([["盛世佳苑居民信息表"], [], ["姓名", "电话"], ["甲", "1"]]), "t.xlsx"
    ) as t:
        assert t.header(lambda row: row if "姓名" in row else None) == ["姓名", "电话"]
        assert list(t.rows()) == [(4, ["甲", "1"])]


# ------------------------------------------------------------------------------- every upload path


def test_registry_page_refuses_an_over_cap_file_and_stores_nothing(tree, sub_admin, login, media):
    data = registry_csv(300)
    with small_limits(MAX_BYTES=len(data) // 2):
        page = login(sub_admin).post(reverse("residents:import"), {"file": SimpleUploadedFile("t.csv", data)})
    text = page.content.decode()
    assert page.status_code == 200 and "超过网页上传上限" in text and "import_residents" in text
    assert not ImportBatch.objects.exists() and not stored_files(media) and not Resident.objects.exists()


def test_registry_page_refuses_too_many_rows_and_stores_nothing(tree, sub_admin, login, media):
    with small_limits(MAX_ROWS=100):
        page = login(sub_admin).post(
            reverse("residents:import"), {"file": SimpleUploadedFile("t.csv", registry_csv(300))}
        )
    assert "超过 100 行的上限" in page.content.decode()
    assert not ImportBatch.objects.exists() and not stored_files(media)


def test_registry_page_answers_the_bombs_and_stores_nothing(tree, sub_admin, login, media):
    client = login(sub_admin)
    for data in (sparse_bomb(), zip_bomb(20)):
        page = client.post(reverse("residents:import"), {"file": SimpleUploadedFile("t.xlsx", data)})
        assert page.status_code == 200 and "拒绝" in page.content.decode()
    # The declared dimension alone is harmless: a header and no rows.
    page = client.post(reverse("residents:import"), {"file": SimpleUploadedFile("t.xlsx", dimension_bomb())})
    assert page.status_code == 302
    assert not Resident.objects.exists() and not ImportReject.objects.exists()
    assert len(stored_files(media)) == 1  # the harmless one, kept for "apply"


def test_registry_upload_is_deleted_once_applied(tree, sub_admin, login, media):
    client = login(sub_admin)
    data = registry_csv(3)
    response = client.post(reverse("residents:import"), {"file": SimpleUploadedFile("t.csv", data)})
    batch = ImportBatch.objects.get()
    assert batch.file and len(stored_files(media)) == 1
    client.post(reverse("residents:import_apply", args=[batch.pk]))
    batch.refresh_from_db()
    assert response.status_code == 302 and batch.state == "applied" and Resident.objects.count() == 3
    assert not batch.file and not stored_files(media)


def test_import_command_refuses_over_its_own_caps(tree, tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(registry_csv(300))
    with small_limits(MAX_ROWS=100), pytest.raises(CommandError, match="too_many_rows"):
        call_command("import_residents", str(path))
    assert not Resident.objects.exists()


def test_labs_page_refuses_an_over_cap_file_and_stores_nothing(lab, login, media):
    data = csv_bytes([["管码", "结果"], *[[f"TUBE{i:06d}", "阴性"] for i in range(2000)]])
    client = login(lab)
    with small_limits(MAX_BYTES=len(data) // 2):
        response = client.post(reverse("labs:home"), {"file": SimpleUploadedFile("r.csv", data)})
    assert response.url == reverse("labs:home")
    assert "超过网页上传上限" in client.get(response.url).content.decode()
    with small_limits(MAX_ROWS=1000):
        response = client.post(reverse("labs:home"), {"file": SimpleUploadedFile("r.csv", data)})
    assert "超过 1000 行的上限" in client.get(response.url).content.decode()
    for bomb in (sparse_bomb(RESULTS_HEADER), zip_bomb(20)):
        response = client.post(reverse("labs:home"), {"file": SimpleUploadedFile("r.xlsx", bomb)})
        assert "拒绝" in client.get(response.url).content.decode()
    assert not ResultUpload.objects.exists() and not ResultIssue.objects.exists()
    assert not stored_files(media)


def test_results_command_refuses_over_its_own_caps(db, tmp_path):
    path = tmp_path / "r.csv"
    path.write_bytes(csv_bytes([["管码", "结果"], *[[f"TUBE{i:06d}", "阴性"] for i in range(200)]]))
    with small_limits(MAX_ROWS=100), pytest.raises(CommandError, match="上限"):
        call_command("import_results", str(path))
    assert not ResultUpload.objects.exists()


def test_reconcile_page_refuses_an_over_cap_file_and_stores_nothing(tree, sub_admin, login, media):
    data = csv_bytes([["姓名", "身份证号"], *[[f"居民{i}", new_id(seq=i % 900 + 1)] for i in range(500)]])
    client = login(sub_admin)
    area = tree["community"].pk
    with small_limits(MAX_BYTES=len(data) // 2):
        page = client.post(
            reverse("reconcile:feeds"), {"file": SimpleUploadedFile("f.csv", data), "area": area}
        )
    assert "超过网页上传上限" in page.content.decode()
    with small_limits(MAX_ROWS=100):
        page = client.post(
            reverse("reconcile:feeds"), {"file": SimpleUploadedFile("f.csv", data), "area": area}
        )
    assert "上限" in page.content.decode()
    for bomb in (sparse_bomb({"A1": "姓名", "B1": "身份证号"}), zip_bomb(20)):
        page = client.post(
            reverse("reconcile:feeds"), {"file": SimpleUploadedFile("f.xlsx", bomb), "area": area}
        )
        assert "拒绝" in page.content.decode()
    assert not Feed.objects.exists() and not FeedLine.objects.exists() and not stored_files(media)


def test_reconcile_command_refuses_over_its_own_caps(tree, tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(csv_bytes([["姓名", "身份证号"], *[[f"居民{i}", ""] for i in range(200)]]))
    with small_limits(MAX_ROWS=100), pytest.raises(CommandError, match="上限"):
        call_command("reconcile", str(path), "--area", "测试区", "--out", str(tmp_path / "out.xlsx"))
    assert not Feed.objects.exists()


def test_a_workbook_claiming_a_zip_version_nobody_reads_is_refused():
    # Found by fuzzing: zipfile raised NotImplementedError ("zip file version 6.4"), a 500.
    data = bytearray(xlsx_bytes([["姓名"]]))
    entry = data.find(b"PK\x01\x02")
    data[entry + 6] = 64
    with pytest.raises(TableError) as exc:
        read_rows(bytes(data), "x.xlsx")
    assert exc.value.code == "unreadable_file"
