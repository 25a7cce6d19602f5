"""Without the ``reconcile`` extra (splink, DuckDB, Arrow) the rest of gridroll runs, and checking a list
says what to install instead of failing inside the matcher (issue 17: splink behind an extra)."""

from __future__ import annotations

import sys

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from gridroll.reconcile.models import Feed
from gridroll.reconcile.tests.conftest import feed_file

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_matcher(monkeypatch):
    # A module set to None in sys.modules cannot be imported: as on a machine without the extra.
    monkeypatch.setitem(sys.modules, "splink", None)


def test_the_lists_page_says_what_to_install_before_anyone_uploads(no_matcher, login, sub_admin, tree):
    page = login(sub_admin).get(reverse("reconcile:feeds")).content.decode()
    assert "gridroll[reconcile]" in page


def test_an_upload_is_refused_with_the_reason_and_nothing_is_stored(
    no_matcher, login, sub_admin, tree, people
):
    upload = SimpleUploadedFile("名单.xlsx", feed_file(people))
    page = login(sub_admin).post(reverse("reconcile:feeds"), {"file": upload, "area": tree["community"].pk})
    assert page.status_code == 200
    assert "gridroll[reconcile]" in page.content.decode()
    assert Feed.objects.count() == 0


def test_the_command_says_what_to_install(no_matcher, tmp_path, tree, people, round_):
    (tmp_path / "f.xlsx").write_bytes(feed_file(people))
    with pytest.raises(CommandError, match=r"gridroll\[reconcile\]"):
        call_command(
            "reconcile",
            str(tmp_path / "f.xlsx"),
            "--area",
            tree["community"].name,
            "--out",
            str(tmp_path / "o.xlsx"),
        )


def test_with_the_extra_the_same_upload_is_checked(login, sub_admin, tree, people, round_):
    upload = SimpleUploadedFile("名单.xlsx", feed_file(people))
    page = login(sub_admin).post(reverse("reconcile:feeds"), {"file": upload, "area": tree["community"].pk})
    assert page.status_code == 302 and Feed.objects.count() == 1
