import html
import io
import re
import shutil
import subprocess

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.urls import reverse
from openpyxl import load_workbook

from gridroll.audit.models import AuditRecord
from gridroll.conftest import make_user
from gridroll.rollcall.models import Entry
from gridroll.rollcall.tests.helpers import fill, receive
from gridroll.sampling.services import record_actions

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(db):
    return User.objects.create_superuser("root", password="x")


def opened(client, url: str) -> str:
    """The grid page with every building opened, as the page's script loads them (data-src)."""
    page = client.get(url).content.decode()
    parts = [page]
    for src in re.findall(r'class="people" data-src="([^"]+)"', page):
        response = client.get(html.unescape(src))
        assert response.status_code == 200
        parts.append(response.content.decode())
    return "\n".join(parts)


def urls(roll, area):
    return [
        reverse("rollcall:area", args=[roll.pk, area.pk]),
        reverse("rollcall:live", args=[roll.pk, area.pk]),
        *[
            reverse("rollcall:building", args=[roll.pk, area.pk, b])
            for b in Entry.objects.filter(round=roll).values_list("building_id", flat=True).distinct()
        ],
        reverse("rollcall:sheet", args=[roll.pk, area.pk]),
        reverse("rollcall:sheet_xlsx", args=[roll.pk, area.pk]),
        reverse("rollcall:repeat", args=[roll.pk, area.pk]),
    ]


def test_grid_worker_sees_the_grid_by_household_with_states_and_phones(
    roll, people, tree, grid_worker, login, act, admin
):
    people[0].phone = "13905351234"
    people[0].save()
    fill(admin, act, "TUBE000001", people[:2])
    client = login(grid_worker)
    page = opened(client, reverse("rollcall:area", args=[roll.pk, tree["grid_a"].pk]))
    assert "居民00号" in page and "tel:13905351234" in page and "13905351234" in page
    assert "已采样" in page or "Sampled" in page
    body = opened(client, reverse("rollcall:area", args=[roll.pk, tree["grid_a"].pk]) + "?state=missing")
    assert "居民05号" in body and "居民00号" not in body
    assert client.get(reverse("rollcall:start")).status_code == 302


def test_phones_are_masked_above_the_community(roll, people, tree, sub_admin, login):
    people[0].phone = "13905351234"
    people[0].save()
    page = opened(login(sub_admin), reverse("rollcall:area", args=[roll.pk, tree["grid_a"].pk]))
    assert "居民00号" in page and "13905351234" not in page and "139****1234" in page


def test_the_outsider_sees_nothing(roll, people, tree, outsider, login):
    client = login(outsider)
    for url in urls(roll, tree["grid_a"]) + urls(roll, tree["community"]):
        assert client.get(url).status_code == 404, url
    entry = Entry.objects.get(round=roll, resident=people[0])
    response = client.post(reverse("rollcall:exempt", args=[entry.pk]), {"reason": "away"})
    assert response.status_code == 404
    assert Entry.objects.get(pk=entry.pk).exemption == ""
    # Their own grid is empty, and says what to do.
    own = client.get(reverse("rollcall:area", args=[roll.pk, tree["grid_b"].pk])).content.decode()
    assert "居民0" not in own and "韩馨怡" not in own


def test_exempt_from_the_page_and_take_it_back(roll, people, tree, grid_worker, login):
    client = login(grid_worker)
    entry = Entry.objects.get(round=roll, resident=people[3])
    page = reverse("rollcall:area", args=[roll.pk, tree["grid_a"].pk])
    client.post(reverse("rollcall:exempt", args=[entry.pk]), {"reason": "other", "note": "", "next": page})
    assert Entry.objects.get(pk=entry.pk).state == "missing"  # "other" needs a note
    client.post(
        reverse("rollcall:exempt", args=[entry.pk]), {"reason": "hospital", "note": "人民医院", "next": page}
    )
    assert Entry.objects.get(pk=entry.pk).state == "exempt"
    client.post(reverse("rollcall:exempt", args=[entry.pk]), {"clear": "1", "next": page})
    assert Entry.objects.get(pk=entry.pk).state == "missing"
    assert AuditRecord.objects.filter(actor=grid_worker, action__startswith="rollcall.").count() == 2


def test_community_view_lists_grids_worst_first(roll, people, tree, sub_admin, login, act, admin, resident_b):
    fill(admin, act, "TUBE000001", people[:10])
    page = (
        login(sub_admin).get(reverse("rollcall:area", args=[roll.pk, tree["community"].pk])).content.decode()
    )
    # 第二网格 has resident_b, missing (0%); 第一网格 10 of 13 done.
    assert page.index("第二网格") < page.index("第一网格")


def test_live_answers_204_until_a_scan_lands(roll, people, tree, grid_worker, login, act, admin):
    client = login(grid_worker)
    url = reverse("rollcall:live", args=[roll.pk, tree["grid_a"].pk])
    first = client.get(url)
    version = first.content.decode().split('data-version="')[1].split('"')[0]
    assert client.get(url, {"since": version}).status_code == 204
    fill(admin, act, "TUBE000001", people[:1])
    changed = client.get(url, {"since": version})
    assert changed.status_code == 200 and "data-version" in changed.content.decode()


def test_the_excel_check_sheet_is_exactly_the_residents_in_scope_with_their_states(
    roll, people, tree, grid_worker, login, act, admin, resident_a, resident_b
):
    fill(admin, act, "TUBE000001", people[:10])
    receive("TUBE000001")
    from gridroll.labs.services import ResultUpload, apply_results

    apply_results(
        ResultUpload.objects.create(filename="x"), [{"_row": 2, "tube": "TUBE000001", "result": "阴性"}]
    )
    response = login(grid_worker).get(reverse("rollcall:sheet_xlsx", args=[roll.pk, tree["community"].pk]))
    assert response.status_code == 404  # the community is not the grid worker's
    response = login(grid_worker).get(reverse("rollcall:sheet_xlsx", args=[roll.pk, tree["grid_a"].pk]))
    rows = list(load_workbook(io.BytesIO(response.content)).active.values)
    assert rows[0][4] == "姓名" and rows[0][8] == "状态"
    got = {r[4]: r[8] for r in rows[1:]}
    expected = {p.name: ("阴性" if i < 10 else "未采") for i, p in enumerate(people)}
    expected[resident_a.name] = "未采"
    assert got == expected  # resident_b lives in grid B: not on this sheet


def test_print_view_and_pdf(roll, people, tree, grid_worker, login):
    client = login(grid_worker)
    html = client.get(reverse("rollcall:sheet", args=[roll.pk, tree["grid_a"].pk])).content.decode()
    assert "已核" in html and "居民00号" in html and "data-print" in html
    pdf = client.get(reverse("rollcall:sheet_pdf", args=[roll.pk, tree["grid_a"].pk]))
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="needs pdftotext (poppler-utils)")
def test_the_pdf_sheet_lists_exactly_the_grids_people_with_their_states(
    roll, people, tree, grid_worker, login, act, admin, resident_b, tmp_path
):
    fill(admin, act, "TUBE000001", people[:2])
    entry = Entry.objects.get(round=roll, resident=people[5])
    client = login(grid_worker)
    client.post(reverse("rollcall:exempt", args=[entry.pk]), {"reason": "hospital", "note": "人民医院"})
    response = client.get(reverse("rollcall:sheet_pdf", args=[roll.pk, tree["grid_a"].pk]))
    (tmp_path / "s.pdf").write_bytes(response.content)
    text = subprocess.run(
        ["pdftotext", "-layout", str(tmp_path / "s.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout
    on_roll = Entry.objects.filter(round=roll, grid=tree["grid_a"]).select_related("resident")
    assert f"共 {on_roll.count()} 人" in text
    for e in on_roll:  # every person of the roll, with the roll's own state
        line = next(line for line in text.splitlines() if e.resident.name in line)
        assert e.get_state_display() in line, line
    assert {e.state for e in on_roll} == {"sampled", "exempt", "missing"}
    assert "人民医院" in next(line for line in text.splitlines() if people[5].name in line)
    assert resident_b.name not in text  # grid B's
    fonts = subprocess.run(["pdffonts", str(tmp_path / "s.pdf")], capture_output=True, text=True).stdout
    assert "NotoSansSC" in fonts and " yes yes " in fonts  # embedded and subset


def test_export_rollcall_command(roll, people, tree, tmp_path, capsys):
    out = tmp_path / "sheet.xlsx"
    call_command("export_rollcall", "--round", "current", "--area", "第一网格", str(out))
    assert "12 residents of 第一网格" in capsys.readouterr().out
    rows = list(load_workbook(out).active.values)
    assert len(rows) == 13 and {r[8] for r in rows[1:]} == {"未采"}


def test_people_who_keep_missing(roll, people, tree, grid_worker, login, act, admin, round_):
    import datetime

    from gridroll.rollcall.services import sync_round
    from gridroll.sampling.models import Round, RoundArea

    earlier = Round.objects.create(
        name="第2轮",
        starts_at=round_.starts_at - datetime.timedelta(days=7),
        ends_at=round_.ends_at - datetime.timedelta(days=7),
        status="open",
    )
    RoundArea.objects.create(round=earlier, area=tree["district"])
    sync_round(earlier)
    record_actions(admin, [act("open_tube", "TUBE000001", round_id=earlier.pk)])
    record_actions(
        admin, [act("add", "TUBE000001", round_id=earlier.pk, resident_id=p.pk) for p in people[:11]]
    )
    page = (
        login(grid_worker).get(reverse("rollcall:repeat", args=[roll.pk, tree["grid_a"].pk])).content.decode()
    )
    # 10 and 11 missed both rounds; 0–9 were sampled in the earlier one.
    assert "居民11号" in page and "居民10号" in page and "居民09号" not in page and "第2轮" in page


def test_sampler_and_lab_see_no_roll(roll, tree, login, sampler):
    lab = make_user("lab_x", "lab_staff", tree["district"])
    for user in (sampler, lab):
        assert login(user).get(reverse("rollcall:area", args=[roll.pk, tree["grid_a"].pk])).status_code == 404
