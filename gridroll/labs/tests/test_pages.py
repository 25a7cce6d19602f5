import io

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from openpyxl import load_workbook

from gridroll.codes.registration import _new_access
from gridroll.conftest import make_user
from gridroll.labs.models import RetestTask
from gridroll.labs.services import import_results
from gridroll.rollcall.tests.helpers import fill, receive
from gridroll.sampling.boxes import hand_over_box, pack_tube, seal_box
from gridroll.sampling.models import Box, Tube
from gridroll.sampling.services import record_actions

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(db):
    return User.objects.create_superuser("root", password="x")


@pytest.fixture
def lab(tree):
    return make_user("lab_a", "lab_staff", tree["district"])


@pytest.fixture
def positive_pool(roll, people, act, admin):
    fill(admin, act, "TUBE000001", people[:10])
    fill(admin, act, "TUBE000002", people[10:])
    receive("TUBE000001", "TUBE000002")
    import_results(b"tube,result\nTUBE000001,positive\nTUBE000002,negative\n", "r.csv")
    return people[:10]


def test_lab_receives_a_box_and_uploads_results_from_the_page(
    roll, people, act, admin, lab, login, round_, site
):
    fill(admin, act, "TUBE000001", people[:10])
    box = Box.objects.create(code="BOX-9", round=round_, site=site)
    pack_tube(admin, box, "TUBE000001")
    seal_box(admin, box, 1)
    hand_over_box(admin, box, "聊城市检测中心")
    client = login(lab)
    home = client.get(reverse("labs:home")).content.decode()
    assert "BOX-9" in home and "居民0" not in home
    response = client.post(reverse("labs:home"), {"box": "box-9"})
    assert response.url == reverse("labs:box", args=[box.pk])
    # Receiving the box received its tube; scanning it is the lab's count.
    assert Tube.objects.get(barcode="TUBE000001").received_at is not None
    page = client.get(response.url).content.decode()
    assert "居民0" not in page  # labs never see names
    client.post(response.url, {"tube": "TUBE000001"})
    page = client.get(response.url).content.decode()
    assert "TUBE000001" in page and "居民0" not in page
    upload = io.BytesIO(
        b"\xe7\xae\xa1\xe7\xa0\x81,\xe7\xbb\x93\xe6\x9e\x9c\nTUBE000001,\xe9\x98\xb3\xe6\x80\xa7\nNOPE000001,x\n"
    )
    upload.name = "results.csv"
    response = client.post(reverse("labs:home"), {"file": upload, "lab": "聊城市检测中心"})
    page = client.get(response.url).content.decode()
    # The reason in words, without its code in front (issue 18, item 5).
    assert "TUBE000001" in page and "系统中没有这支管" in page and "unknown_tube" not in page
    rejects = client.get(response.url + "?download=1")
    rows = list(load_workbook(io.BytesIO(rejects.content)).active.values)
    assert rows[1][0] == "NOPE000001"
    assert RetestTask.objects.count() == 10


def test_lab_pages_are_for_labs_in_scope(roll, login, grid_worker, tree, round_, site):
    other_lab = make_user("lab_b", "lab_staff", tree["grid_b"])
    box = Box.objects.create(code="BOX-1", round=round_, site=site, status="handed_over")
    assert login(grid_worker).get(reverse("labs:home")).status_code == 404
    client = login(other_lab)
    assert client.get(reverse("labs:box", args=[box.pk])).status_code == 404
    client.post(reverse("labs:home"), {"box": "BOX-1"})
    assert Box.objects.get(pk=box.pk).status == "handed_over"


def test_an_outside_lab_cannot_report_a_tube_it_cannot_see(roll, people, act, admin, tree):
    fill(admin, act, "TUBE000001", people[:2])
    receive("TUBE000001")
    other_lab = make_user("lab_b", "lab_staff", tree["grid_b"])
    upload = import_results(b"tube,result\nTUBE000001,positive\n", "r.csv", user=other_lab)
    assert upload.issues.get().code == "unknown_tube"
    assert Tube.objects.get(barcode="TUBE000001").result == ""


def test_retest_list_for_the_grid_worker_and_the_subdistrict_and_not_the_outsider(
    positive_pool, login, grid_worker, sub_admin, outsider, roll, tree
):
    people = positive_pool
    people[0].phone = "13905351234"
    people[0].save()
    grid_page = (
        login(grid_worker).get(reverse("rollcall:area", args=[roll.pk, tree["grid_a"].pk])).content.decode()
    )
    assert "复核名单" in grid_page and "TUBE000001" in grid_page and "tel:13905351234" in grid_page
    listing = login(sub_admin).get(reverse("labs:retests")).content.decode()
    assert (
        all(p.name in listing for p in people) and "139****1234" in listing and "13905351234" not in listing
    )
    xlsx = login(sub_admin).get(reverse("labs:retests") + "?format=xlsx")
    rows = list(load_workbook(io.BytesIO(xlsx.content)).active.values)
    assert len(rows) == 11 and {r[2] for r in rows[1:]} == {p.name for p in people}
    assert "gridworker_a" in {r[5] for r in rows[1:]}  # the grid worker's name, to call them
    outsider_page = login(outsider).get(reverse("labs:retests")).content.decode()
    assert not any(p.name in outsider_page for p in people)
    # The filter's query string keeps the Excel link, and no longer fills the header's search box.
    filtered = login(sub_admin).get(reverse("labs:retests") + f"?round={roll.pk}").content.decode()
    assert f'href="?round={roll.pk}&format=xlsx"' in filtered
    assert 'name="q" value=""' in filtered


def test_a_resident_sees_their_own_result_with_its_time_and_only_once_confirmed(
    positive_pool, client, people
):
    secret = _new_access(people[0], confirmed=True, site=None)
    page = client.get(reverse("codes:me", args=[secret]))
    body = page.content.decode()
    assert "混管阳性" in body and "截至" in body
    assert "no-cache" in page["Cache-Control"] or "max-age=0" in page["Cache-Control"]
    other = _new_access(people[11], confirmed=False, site=None)
    assert "阴性" not in client.get(reverse("codes:me", args=[other])).content.decode()


def test_conflicts_are_decided_on_the_page(positive_pool, lab, login):
    import_results(b"tube,result\nTUBE000002,positive\n", "again.csv")
    client = login(lab)
    page = client.get(reverse("labs:conflicts")).content.decode()
    assert "TUBE000002" in page
    from gridroll.labs.models import ResultIssue

    issue = ResultIssue.objects.get(code="conflict")
    client.post(reverse("labs:resolve", args=[issue.pk]), {"take": "first"})
    assert ResultIssue.objects.get(pk=issue.pk).resolution == "kept"
    assert "TUBE000002" not in client.get(reverse("labs:conflicts")).content.decode()


def test_turnaround_per_lab(positive_pool, lab, login):
    Tube.objects.update(lab="聊城市检测中心", packed_at=None)
    page = login(lab).get(reverse("labs:turnaround")).content.decode()
    assert "聊城市检测中心" in page
    assert "报告最慢的管" in page and "TUBE000001" in page  # per tube, slowest first


def test_a_retest_scan_from_the_scanner_marks_the_task(positive_pool, act, admin):
    record_actions(admin, [act("open_tube", "TUBE000010", pool_mode="single")])
    [result] = record_actions(admin, [act("add", "TUBE000010", resident_id=positive_pool[0].pk)])
    assert result.result == "accepted"
    assert RetestTask.objects.get(resident=positive_pool[0]).status == "sampled"


def test_the_api_takes_results_and_answers_like_a_file(roll, people, act, admin, lab, login, outsider, tree):
    fill(admin, act, "TUBE000001", people[:10])
    receive("TUBE000001")
    client = login(lab)
    body = {
        "lab": "聊城市检测中心",
        "rows": [{"tube": "TUBE000001", "result": "阳性", "ct": 30.5}, {"tube": "X1", "result": "neg"}],
    }
    data = client.post("/api/labs/results", body, content_type="application/json").json()
    assert (data["total"], data["applied"], data["rejected"], data["positive_tubes"]) == (
        2,
        1,
        1,
        ["TUBE000001"],
    )
    assert data["issues"][0]["code"] == "unknown_tube"
    again = client.post("/api/labs/results", body, content_type="application/json").json()
    assert (again["applied"], again["unchanged"]) == (0, 1)
    assert login(outsider).post("/api/labs/results", body, content_type="application/json").status_code == 403
    retests = login(outsider).get("/api/labs/retests").json()
    assert retests == []
    counts = login(admin).get(f"/api/labs/rollcall/{roll.pk}/{tree['community'].pk}").json()
    assert counts["counts"]["pool_positive"] == 10 and counts["children"]["第一网格"]["pool_positive"] == 10
    assert login(outsider).get(f"/api/labs/rollcall/{roll.pk}/{tree['community'].pk}").status_code == 404


def test_the_retest_lists_summary_does_not_count_a_swabbed_person_as_to_do(positive_pool, login, sub_admin):
    """Issue 18, item 11: "共10人，待处理10人" while one of the ten showed 已采待出结果."""
    task = RetestTask.objects.filter(resident=positive_pool[0]).get()
    RetestTask.objects.filter(pk=task.pk).update(status=RetestTask.Status.SAMPLED)
    page = login(sub_admin).get(reverse("labs:retests"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "已采待出结果" in page
    assert "共 10 人：待采样 9 人，已采待出结果 1 人" in page


def test_a_resident_is_not_told_not_sampled_yet_for_a_round_that_has_ended(roll, people):
    """Issue 18, item 8: the resident's own page said 本轮尚未采样 for a round that had ended."""
    from gridroll.labs.services import person_results
    from gridroll.sampling.models import Round

    assert person_results(people[0])[0]["text"] == "本轮尚未采样"
    Round.objects.filter(pk=roll.pk).update(status=Round.Status.CLOSED)
    text = person_results(people[0])[0]["text"]
    assert "尚未" not in text and "已结束" in text
