"""The demo tells its stories (README): built once, then checked as a visitor would see it."""

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from gridroll.codes.models import ResidentAccess
from gridroll.labs.models import RetestTask
from gridroll.residents.models import Resident
from gridroll.sampling.models import ScanAction, Site, Tube


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        call_command("load_demo", verbosity=0)
        yield
        call_command("flush", "--noinput", verbosity=0)


@pytest.mark.django_db
def test_the_demo_site_has_one_open_tube_and_one_scan_to_review(demo):
    site = Site.objects.get(name="盛世佳苑北门采样点")
    assert Tube.objects.filter(site=site, status="open").count() == 1
    refused = ScanAction.objects.filter(site=site, result="refused")
    assert [(a.reason, a.decided_offline) for a in refused] == [("tube_full", True)]
    assert not ScanAction.objects.filter(reason="person_unknown").exists()


@pytest.mark.django_db
def test_the_family_page_and_the_pending_claims(demo, client):
    page = client.get("/me/demo-wang-lijuan-family/").content.decode()
    assert page.count("<svg") == 3  # 王丽娟, her son and her father-in-law, confirmed by their grid worker
    client.force_login(User.objects.get(username="niushu"))
    pending = client.get("/codes/pending/")
    assert [r.name for r in pending.context["pending"]] == ["孙晓雨"]
    assert (
        len(pending.context["links"]) == 1
        and not ResidentAccess.objects.get(pk=pending.context["links"][0].pk).is_confirmed
    )
    assert not Resident.objects.filter(is_pending=True, entries__isnull=False).exists()


@pytest.mark.django_db
def test_the_retest_list_is_there(demo):
    assert RetestTask.objects.filter(kind="retest").count() == 10


@pytest.mark.django_db
def test_the_demo_round_has_a_plan_and_a_proposed_replan(demo):
    from gridroll.planning.models import Batch, BatchBuilding, Plan

    plan = Plan.objects.get(area__name="闫寺街道", status=Plan.Status.ACCEPTED)
    proposal = Plan.objects.get(parent=plan, status=Plan.Status.PROPOSED)
    buildings = BatchBuilding.objects.filter(plan=plan, kind=Batch.Kind.GENERAL)
    assert buildings.count() == buildings.values("building").distinct().count() > 0
    assert proposal.metrics["replanned"] > 0


@pytest.mark.django_db
def test_demo_people_are_related_as_their_ages_allow(demo):
    """Issue 18, defect 16: no 孙子 of a head of 40, no 儿子 older than the head, no 父亲 younger."""
    import datetime

    from gridroll.demo.tests.test_relations import relation_faults
    from gridroll.residents.models import Guardianship

    households: dict = {}
    for row in Resident.objects.values_list("household_id", "name", "relation", "sex", "birth_date"):
        households.setdefault(row[0], []).append(row[1:])
    assert len(households) > 10_000
    assert relation_faults(households.values(), datetime.date.today()) == []
    # A guardian is never named a parent of their own parent (defect 8's sibling).
    wrong = Guardianship.objects.filter(
        relation="父母", dependent__relation__in=["户主", "配偶", "父亲", "母亲"]
    )
    assert not wrong.exists()


@pytest.mark.django_db
def test_the_demo_teams_are_deployed_called_up_and_one_checked_in(demo, client):
    from django.urls import reverse

    from gridroll.accounts.scope import can
    from gridroll.staff.models import Assignment, CallUpReply, CheckIn, Team

    for team_name, destination in (("梁水镇抽调队", "古楼街道"), ("侯营镇抽调队", "柳园街道")):
        team = Team.objects.get(name=team_name)
        assert team.destination.name == destination
        placed = Assignment.objects.filter(member__team=team)
        assert placed.exists()
        assert all(a.shift.site.area.path.startswith(team.destination.path) for a in placed)
    replies = CallUpReply.objects.filter(callup__team__name="梁水镇抽调队")
    acked = replies.filter(acknowledged_at__isnull=False).count()
    assert 0 < acked < replies.count()
    # The staff login has no grant made by hand: its site access comes from its sampler shift.
    staffer = User.objects.get(username="liangshui")
    assert not staffer.grants.filter(valid_until__isnull=True).exists()
    checkin = CheckIn.objects.get(member__user=staffer)
    assert can(staffer, "scan", checkin.site.area.path)
    client.force_login(staffer)
    assert checkin.site.name in client.get(reverse("staff:me")).content.decode()


@pytest.mark.django_db
def test_the_command_view_shows_the_plan_and_the_staff_on_duty(demo, client):
    """The open round's command view has an accepted plan to draw against and people on duty, some
    checked in and some not."""
    from django.urls import reverse

    from gridroll.areas.models import Area
    from gridroll.command import queries
    from gridroll.planning.models import Plan
    from gridroll.sampling.models import Round

    round_ = Round.objects.filter(status=Round.Status.OPEN).order_by("-starts_at").first()
    assert Plan.objects.filter(round=round_, status=Plan.Status.ACCEPTED).exists()
    district = Area.objects.get(parent__isnull=True)
    data = queries.view_data(round_, district, only={"progress", "staff"})
    assert data["progress"]["plan"] is not None and data["progress"]["plan"]["people"] > 0
    totals = data["staff"]["totals"]
    assert 0 < totals["checked_in"] < totals["assigned"] and totals["absent"] > 0
    assert any(r["nobody"] for r in data["staff"]["sites"])  # 闫寺街道's points: no one was sent there
    client.force_login(User.objects.get(username="admin"))
    page = client.get(reverse("command:board", args=[round_.pk, district.pk])).content.decode()
    assert 'data-basis="plan"' in page and "panel-staff" in page
