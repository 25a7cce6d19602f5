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
