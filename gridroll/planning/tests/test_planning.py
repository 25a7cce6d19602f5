"""Planning a round: every building once, capacity kept, special needs, re-plans that keep what is done."""

from __future__ import annotations

import datetime
import shutil
import subprocess

import pytest
from django.urls import reverse

from gridroll.areas.models import Building
from gridroll.audit.models import AuditRecord
from gridroll.conftest import make_user
from gridroll.lib import planner
from gridroll.planning import services
from gridroll.planning.models import DEFAULT_RATES, Batch, BatchBuilding, Plan, SiteCapacity
from gridroll.residents.models import Resident
from gridroll.sampling.models import Site


def test_every_building_is_in_exactly_one_batch(town, tree, sub_admin):
    round_, _sites = town
    plan = services.make_plan(sub_admin, round_, tree["sub"])
    rows = list(
        BatchBuilding.objects.filter(plan=plan, kind=Batch.Kind.GENERAL).values_list("building_id", flat=True)
    )
    buildings = set(
        Building.objects.filter(
            grid__path__startswith=tree["sub"].path, households__residents__isnull=False
        ).values_list("pk", flat=True)
    )
    assert sorted(rows) == sorted(buildings)
    assert plan.status == Plan.Status.ACCEPTED
    assert AuditRecord.objects.filter(action="planning.plan", target_id=plan.pk).exists()


def test_no_batch_is_over_its_sites_capacity(town, tree, sub_admin):
    round_, _sites = town
    plan = services.make_plan(sub_admin, round_, tree["sub"])
    per_slot: dict = {}
    for b in plan.batches.exclude(site=None):
        minutes = (b.ends_at - b.starts_at).total_seconds() / 60
        stations = b.site.stations.count()
        assert b.people * 60 / DEFAULT_RATES["pool10"] <= stations * minutes * planner.SLOT_TARGET + 1e-6
        per_slot[b.site_id] = per_slot.get(b.site_id, 0) + b.people
    for site_id, people in per_slot.items():
        hours = (round_.ends_at - round_.starts_at).total_seconds() / 3600
        assert people <= Site.objects.get(pk=site_id).stations.count() * DEFAULT_RATES["pool10"] * hours
    worst = max(s["max_wait"] for s in plan.metrics["sites"].values())
    assert worst <= 20, worst


def test_the_elderly_get_their_own_slot_and_the_bedridden_the_home_team(town, tree, sub_admin):
    round_, _sites = town
    b = Building.objects.filter(grid=tree["grid_a"]).first()
    old = Resident.objects.filter(household__building=b)[:3]
    Resident.objects.filter(pk__in=[r.pk for r in old[:2]]).update(birth_date=datetime.date(1940, 1, 1))
    Resident.objects.filter(pk=old[2].pk).update(is_bedridden=True)
    plan = services.make_plan(sub_admin, round_, tree["sub"])
    elderly = BatchBuilding.objects.get(plan=plan, building=b, kind=Batch.Kind.ELDERLY)
    home = BatchBuilding.objects.get(plan=plan, building=b, kind=Batch.Kind.HOME)
    general = BatchBuilding.objects.get(plan=plan, building=b, kind=Batch.Kind.GENERAL)
    total = Resident.objects.filter(household__building=b).count()
    assert (elderly.people, home.people, general.people) == (2, 1, total - 3)
    assert home.batch.site_id is None
    assert elderly.batch.site_id is not None and elderly.batch != general.batch


def test_schools_get_batches_of_their_own():
    buildings = [
        planner.BuildingIn(i, "/1/2/", ("a", i), 20, 0.6, kind="school" if i == 3 else "general")
        for i in range(6)
    ]
    out = planner.plan(buildings, [planner.SiteIn(1, "/1/2/", 2, 0, 240)])
    school = [b for b in out.batches if any(bid == 3 for bid, _p in b.buildings)]
    assert len(school) == 1 and school[0].kind == "school" and len(school[0].buildings) == 1


def test_it_refuses_a_plan_the_stations_cannot_take():
    buildings = [planner.BuildingIn(1, "/1/2/", ("a",), 5000, 0.6)]
    with pytest.raises(planner.PlanError) as exc:
        planner.plan(buildings, [planner.SiteIn(1, "/1/2/", 1, 0, 60)])
    assert exc.value.code == "not_enough_capacity"


def test_a_replan_keeps_finished_batches_and_moves_the_shut_sites_buildings(town, tree, sub_admin):
    round_, sites = town
    plan = services.make_plan(sub_admin, round_, tree["sub"])
    now = round_.starts_at + datetime.timedelta(minutes=70)
    started = {
        (b.site_id, b.starts_at, b.kind, tuple(sorted(b.members.values_list("building_id", flat=True))))
        for b in plan.batches.filter(starts_at__lte=now).exclude(site=sites[1])
    }
    SiteCapacity.objects.create(site=sites[1], is_shut=True)
    new = services.propose_replan(sub_admin, plan, now=now, reason="二号点关闭", speeds={})
    assert new.status == Plan.Status.PROPOSED
    kept = {
        (b.site_id, b.starts_at, b.kind, tuple(sorted(b.members.values_list("building_id", flat=True))))
        for b in new.batches.filter(starts_at__lte=now)
    }
    assert started <= kept
    assert not new.batches.filter(site=sites[1], starts_at__gt=now).exists()
    general = list(
        BatchBuilding.objects.filter(plan=new, kind=Batch.Kind.GENERAL).values_list("building_id", flat=True)
    )
    assert sorted(general) == sorted(
        BatchBuilding.objects.filter(plan=plan, kind=Batch.Kind.GENERAL).values_list("building_id", flat=True)
    )
    services.accept_plan(sub_admin, new)
    plan.refresh_from_db()
    assert plan.status == Plan.Status.SUPERSEDED
    audit = AuditRecord.objects.get(action="planning.accept", target_id=new.pk)
    assert audit.changes["moved_buildings"]
    with pytest.raises(services.PlanningError) as refused:
        services.accept_plan(sub_admin, new)
    assert refused.value.code == "not_proposed"


def test_a_slow_site_from_real_scans_is_found(town, tree, sub_admin):
    round_, sites = town
    plan = services.make_plan(sub_admin, round_, tree["sub"])
    now = round_.starts_at + datetime.timedelta(minutes=90)
    new = services.propose_replan(sub_admin, plan, now=now)
    # No scans at all in the last hour: both sites are far behind.
    assert set(new.metrics["slow_sites"]) == {str(s.pk) for s in sites}


def test_outsiders_see_no_other_areas_plan(town, tree, sub_admin, client):
    round_, _sites = town
    plan = services.make_plan(sub_admin, round_, tree["community"])
    client.force_login(sub_admin)
    assert client.get(reverse("planning:plan", args=[plan.pk])).status_code == 200
    assert client.get(reverse("planning:round", args=[round_.pk])).status_code == 200
    for who in (
        make_user("gw_b", "grid_worker", tree["grid_b"]),
        make_user("cs_b", "community_staff", tree["grid_b"]),
    ):
        client.force_login(who)
        assert client.get(reverse("planning:plan", args=[plan.pk])).status_code == 404
        assert client.post(reverse("planning:replan", args=[plan.pk])).status_code == 404


def test_the_capacity_page_saves_and_audits(town, tree, sub_admin, client):
    _round, sites = town
    client.force_login(sub_admin)
    stations = list(sites[0].stations.all())
    data = {"queue_space": "150"}
    for st in stations:
        data.update(
            {
                f"{st.pk}_single": "30",
                f"{st.pk}_household": "60",
                f"{st.pk}_pool10": "90",
                f"{st.pk}_pool20": "100",
            }
        )
        if st != stations[-1]:
            data[f"{st.pk}_open"] = "on"
    client.post(reverse("planning:site_capacity", args=[sites[0].pk]), data)
    assert SiteCapacity.objects.get(site=sites[0]).queue_space == 150
    st, other = stations[0], stations[-1]
    st.refresh_from_db()
    other.refresh_from_db()
    assert st.capacity.per_hour_pool10 == 90 and not other.capacity.is_open
    assert AuditRecord.objects.filter(action="planning.station_capacity").count() == len(stations)


def test_the_capacity_page_refuses_a_bad_number_and_changes_nothing(town, tree, sub_admin, client):
    _round, sites = town
    client.force_login(sub_admin)
    st = sites[0].stations.first()
    data = {"queue_space": "150", f"{st.pk}_single": "-3"}
    page = client.post(reverse("planning:site_capacity", args=[sites[0].pk]), data, follow=True)
    assert "1000" in page.content.decode()
    assert not SiteCapacity.objects.filter(site=sites[0]).exists()
    assert not AuditRecord.objects.filter(action__startswith="planning.").exists()


def test_a_buildings_notice_follows_the_accepted_replan(town, tree, sub_admin, client):
    round_, sites = town
    plan = services.make_plan(sub_admin, round_, tree["sub"])
    b = (
        BatchBuilding.objects.filter(
            plan=plan,
            kind=Batch.Kind.GENERAL,
            batch__site=sites[1],
            batch__starts_at__gt=round_.starts_at + datetime.timedelta(minutes=70),
        )
        .first()
        .building
    )
    worker = make_user("gw_notice", "grid_worker", b.grid)
    client.force_login(worker)
    url = reverse("planning:notice_text", args=[round_.pk, b.pk])
    assert sites[1].name in client.get(url).content.decode()
    SiteCapacity.objects.create(site=sites[1], is_shut=True)
    new = services.propose_replan(
        sub_admin, plan, now=round_.starts_at + datetime.timedelta(minutes=70), speeds={}
    )
    assert sites[1].name in client.get(url).content.decode()  # a proposal changes nothing yet
    services.accept_plan(sub_admin, new)
    text = client.get(url).content.decode()
    assert sites[0].name in text and sites[1].name not in text
    page = client.get(reverse("planning:notice", args=[round_.pk, b.pk])).content.decode()
    assert sites[0].name in page
    slots = client.get(reverse("planning:grid_slots", args=[round_.pk, b.grid.pk])).content.decode()
    assert b.label in slots


@pytest.mark.skipif(not shutil.which("pdffonts"), reason="needs pdffonts (poppler-utils; CI installs it)")
def test_the_notice_pdf_embeds_the_chinese_font(town, tree, sub_admin, client, tmp_path):
    round_, _sites = town
    plan = services.make_plan(sub_admin, round_, tree["sub"])
    b = BatchBuilding.objects.filter(plan=plan, kind=Batch.Kind.GENERAL).first().building
    client.force_login(sub_admin)
    pdf = client.get(reverse("planning:notice_pdf", args=[round_.pk, b.pk]))
    assert pdf["Content-Type"] == "application/pdf"
    (tmp_path / "notice.pdf").write_bytes(pdf.content)
    # The Chinese font travels inside the PDF (as the code cards'): it prints anywhere.
    fonts = subprocess.run(["pdffonts", str(tmp_path / "notice.pdf")], capture_output=True, text=True).stdout
    assert "GridrollCJK" in fonts and all(" yes " in line for line in fonts.splitlines()[2:]), fonts


def test_an_outsider_gets_no_notice_of_another_grid(town, tree, sub_admin, outsider, client):
    round_, _sites = town
    services.make_plan(sub_admin, round_, tree["sub"])
    b = Building.objects.filter(grid=tree["grid_a"]).first()
    client.force_login(outsider)
    assert client.get(reverse("planning:notice_text", args=[round_.pk, b.pk])).status_code == 404
