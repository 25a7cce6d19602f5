"""Planning rounds: scoped to the planner's areas, status changes audited."""

from django.urls import reverse

from gridroll.audit.models import AuditRecord
from gridroll.conftest import make_user
from gridroll.sampling.models import Round, RoundArea, SiteOpening, Station


def test_a_subdistrict_admin_plans_opens_and_closes_a_round(tree, sub_admin, site, login):
    client = login(sub_admin)
    response = client.post(
        reverse("sampling:rounds"),
        {
            "name": "第4轮",
            "starts_at": "2026-11-29T06:00",
            "ends_at": "2026-11-29T12:00",
            "area": tree["sub"].pk,
            "pool_mode": "pool20",
        },
    )
    round_ = Round.objects.get(name="第4轮")
    assert response["Location"] == reverse("sampling:round", args=[round_.pk])
    client.post(
        reverse("sampling:round", args=[round_.pk]), {"area": tree["grid_b"].pk, "pool_mode": "household"}
    )
    assert round_.pool_mode_for(tree["grid_b"].path + "9/") == "household"
    assert round_.pool_mode_for(tree["grid_a"].path) == "pool20"
    client.post(
        reverse("sampling:round", args=[round_.pk]),
        {"site": site.pk, "opens_at": "2026-11-29T06:00", "closes_at": "2026-11-29T09:00"},
    )
    assert SiteOpening.objects.filter(round=round_, site=site).exists()
    client.post(reverse("sampling:round_status", args=[round_.pk]), {"action": "open"})
    assert Round.objects.get(pk=round_.pk).status == "open"
    client.post(reverse("sampling:round_status", args=[round_.pk]), {"action": "close"})
    client.post(reverse("sampling:round_status", args=[round_.pk]), {"action": "open"})  # no reason: refused
    assert Round.objects.get(pk=round_.pk).status == "closed"
    client.post(reverse("sampling:round_status", args=[round_.pk]), {"action": "open", "reason": "补采"})
    assert Round.objects.get(pk=round_.pk).status == "open"
    assert [r.action for r in AuditRecord.objects.filter(target_type="sampling.round").order_by("id")] == [
        "round.create",
        "round.area",
        "round.opening",
        "round.open",
        "round.close",
        "round.open",
    ]


def test_an_end_before_the_start_is_refused(tree, sub_admin, login):
    login(sub_admin).post(
        reverse("sampling:rounds"),
        {
            "name": "x",
            "starts_at": "2026-11-29T06:00",
            "ends_at": "2026-11-29T05:00",
            "area": tree["sub"].pk,
        },
    )
    assert not Round.objects.exists()


def test_others_cannot_see_or_change_a_round(tree, sub_admin, grid_worker, login, round_):
    staff_b = make_user("staff_b", "community_staff", tree["grid_b"])
    # The district's round covers grid B: its staff see it, and may not change it.
    page = login(staff_b).get(reverse("sampling:round", args=[round_.pk]))
    assert page.status_code == 200 and page.context["editable"] is False
    RoundArea.objects.filter(round=round_).update(area=tree["grid_a"])
    assert login(staff_b).get(reverse("sampling:round", args=[round_.pk])).status_code == 404
    assert (
        login(staff_b)
        .post(reverse("sampling:round_status", args=[round_.pk]), {"action": "close"})
        .status_code
        == 404
    )
    assert login(grid_worker).get(reverse("sampling:rounds")).status_code == 404


def test_stations_are_added_and_kept_when_used(tree, grid_worker, outsider, site, login):
    client = login(grid_worker)
    client.post(reverse("sampling:stations", args=[site.pk]), {"name": "2号台"})
    assert set(site.stations.values_list("name", flat=True)) == {"1号台", "2号台"}
    assert login(outsider).get(reverse("sampling:stations", args=[site.pk])).status_code == 404
    client = login(grid_worker)
    client.post(
        reverse("sampling:stations", args=[site.pk]), {"remove": Station.objects.get(name="2号台").pk}
    )
    assert not site.stations.filter(name="2号台").exists()


def test_every_change_to_a_round_and_its_sites_is_audited(tree, sub_admin, site, login):
    """Removing an area or an opening, adding an opening and changing stations wrote no audit (issue 17)."""
    client = login(sub_admin)
    client.post(
        reverse("sampling:rounds"),
        {
            "name": "第5轮",
            "starts_at": "2026-11-29T06:00",
            "ends_at": "2026-11-29T12:00",
            "area": tree["sub"].pk,
            "pool_mode": "pool10",
        },
    )
    round_ = Round.objects.get(name="第5轮")
    page = reverse("sampling:round", args=[round_.pk])
    client.post(page, {"area": tree["grid_b"].pk, "pool_mode": "household"})
    client.post(page, {"area": tree["grid_b"].pk, "pool_mode": "nonsense"})  # refused, nothing written
    client.post(page, {"site": site.pk, "opens_at": "2026-11-29T06:00", "closes_at": "2026-11-29T09:00"})
    client.post(page, {"site": site.pk, "opens_at": "2026-11-29T09:00", "closes_at": "2026-11-29T08:00"})
    opening = SiteOpening.objects.get(round=round_)
    client.post(page, {"remove_opening": opening.pk})
    client.post(page, {"remove_area": RoundArea.objects.get(round=round_, area=tree["grid_b"]).pk})
    client.post(page, {"remove_area": "x'; DROP"})  # a bad id is a 404, not a 500
    assert SiteOpening.objects.filter(round=round_).count() == 0
    assert RoundArea.objects.filter(round=round_).count() == 1
    rows = AuditRecord.objects.filter(target_type="sampling.round", target_id=round_.pk).order_by("id")
    assert [(r.action, r.actor_id) for r in rows] == [
        ("round.create", sub_admin.pk),
        ("round.area", sub_admin.pk),
        ("round.opening", sub_admin.pk),
        ("round.opening_remove", sub_admin.pk),
        ("round.area_remove", sub_admin.pk),
    ]
    assert rows[1].changes["pool_mode"] == [None, "household"]
    assert rows[4].changes == {"area": [tree["grid_b"].name, None], "pool_mode": ["household", None]}


def test_station_changes_are_audited(tree, site, login):
    from gridroll.conftest import make_user

    admin = make_user("community_staff", "community_staff", tree["community"])
    client = login(admin)
    page = reverse("sampling:stations", args=[site.pk])
    client.post(page, {"name": "2号台"})
    client.post(page, {"name": "2号台"})  # the same name again: refused
    station = Station.objects.get(site=site, name="2号台")
    client.post(page, {"remove": station.pk})
    assert not Station.objects.filter(pk=station.pk).exists()
    rows = AuditRecord.objects.filter(target_type="sampling.site", target_id=site.pk).order_by("id")
    assert [(r.action, r.changes) for r in rows] == [
        ("site.station_add", {"station": [None, "2号台"]}),
        ("site.station_remove", {"station": ["2号台", None]}),
    ]


def test_a_round_status_change_goes_through_the_locked_service(tree, sub_admin):
    import datetime

    import pytest
    from django.utils import timezone

    from gridroll.sampling.round_services import RoundError, change_status, create_round

    now = timezone.now()
    round_ = create_round(
        sub_admin, name="r", starts_at=now, ends_at=now + datetime.timedelta(hours=6), area=tree["sub"]
    )
    with pytest.raises(RoundError) as exc:
        change_status(sub_admin, round_, "close")  # a planned round cannot close
    assert exc.value.code == "bad_transition"
    change_status(sub_admin, round_, "open")
    stale = Round.objects.get(pk=round_.pk)
    change_status(sub_admin, round_, "close")
    with pytest.raises(RoundError):
        # A second planner's page still showed "open": the service reads the locked row, not the stale one.
        change_status(sub_admin, stale, "close")
    assert Round.objects.get(pk=round_.pk).status == "closed"
