import pytest

from gridroll.sampling.boxes import BoxError, hand_over_box, pack_tube, seal_box
from gridroll.sampling.models import Box, Tube
from gridroll.sampling.services import record_action, trace_tube
from gridroll.sampling.tests.conftest import code_of


def fill(sampler, act, people, barcode, n):
    record_action(sampler, act("open_tube", tube=barcode))
    for p in people[:n]:
        record_action(sampler, act("add", tube=barcode, code=code_of(p)))
    record_action(sampler, act("seal", tube=barcode))


def test_a_box_is_packed_counted_sealed_and_handed_over(sampler, act, people, round_, site):
    fill(sampler, act, people, "TUBE000010", 10)
    fill(sampler, act, people[10:], "TUBE000011", 2)
    box = Box.objects.create(code="BOX-0001", round=round_, site=site)
    pack_tube(sampler, box, "TUBE000010")
    pack_tube(sampler, box, "tube000011")
    with pytest.raises(BoxError) as exc:
        seal_box(sampler, box, counted=3)
    assert exc.value.code == "count_mismatch" and "系统记录 2 管" in exc.value.message
    with pytest.raises(BoxError):
        hand_over_box(sampler, box, "聊城市检测中心")
    seal_box(sampler, box, counted=2)
    box = hand_over_box(sampler, box, "聊城市检测中心", "李师傅")
    assert (box.status, box.handed_to) == ("handed_over", "聊城市检测中心") and box.handed_at >= box.sealed_at
    # Its tubes are in transit from the moment of the handover (the command view's stage, from the row).
    for tube in Tube.objects.filter(barcode__in=["TUBE000010", "TUBE000011"]):
        assert (Tube.STAGES[tube.stage], tube.stage_at, tube.handed_at) == (
            "in_transit",
            box.handed_at,
            box.handed_at,
        )
    with pytest.raises(BoxError) as exc:
        pack_tube(sampler, box, "TUBE000010")
    assert exc.value.code == "box_sealed"


def test_an_open_or_already_packed_tube_cannot_be_packed(sampler, act, people, round_, site):
    record_action(sampler, act("open_tube", tube="TUBE000020"))
    box = Box.objects.create(code="BOX-0002", round=round_, site=site)
    with pytest.raises(BoxError) as exc:
        pack_tube(sampler, box, "TUBE000020")
    assert exc.value.code == "tube_not_sealed"
    fill(sampler, act, people, "TUBE000021", 1)
    pack_tube(sampler, box, "TUBE000021")
    other = Box.objects.create(code="BOX-0003", round=round_, site=site)
    with pytest.raises(BoxError) as exc:
        pack_tube(sampler, other, "TUBE000021")
    assert exc.value.code == "tube_packed"
    with pytest.raises(BoxError) as exc:
        pack_tube(sampler, other, "NOSUCHTUBE1")
    assert exc.value.code == "tube_not_here"


def test_a_tube_traces_to_its_box_site_station_and_people(sampler, act, people, round_, site):
    fill(sampler, act, people, "TUBE000030", 3)
    box = Box.objects.create(code="BOX-0004", round=round_, site=site)
    pack_tube(sampler, box, "TUBE000030")
    trace = trace_tube("TUBE000030")
    assert (trace["box"], trace["site"], trace["station"]) == ("BOX-0004", "北门采样点", "1号台")
    assert [p["name"] for p in trace["people"]] == [p.name for p in people[:3]]


def test_the_box_pages_pack_count_seal_and_hand_over(sampler, outsider, act, people, round_, site, login):
    from django.urls import reverse

    fill(sampler, act, people, "TUBE000040", 2)
    client = login(sampler)
    client.post(reverse("sampling:box_create", args=[site.pk]), {"code": "box-0100"})
    box = Box.objects.get(code="BOX-0100")
    assert login(outsider).get(reverse("sampling:box", args=[box.pk])).status_code == 404
    client = login(sampler)
    client.post(reverse("sampling:box", args=[box.pk]), {"tube": "TUBE000040"})
    client.post(reverse("sampling:box", args=[box.pk]), {"counted": "2"})
    box.refresh_from_db()
    assert box.status == "packing"  # counted 2, system has 1: refused
    client.post(reverse("sampling:box", args=[box.pk]), {"counted": "1"})
    client.post(reverse("sampling:box", args=[box.pk]), {"lab": "聊城市检测中心", "courier": "李师傅"})
    box.refresh_from_db()
    assert (box.status, box.handed_to) == ("handed_over", "聊城市检测中心")
    board = client.get(reverse("sampling:board", args=[site.pk])).content.decode()
    assert "BOX-0100" in board


def test_the_site_board_is_scoped_and_resolves_refusals(sampler, outsider, act, site, login):
    from django.urls import reverse

    from gridroll.sampling.models import ScanAction

    record_action(sampler, act("add", tube="TUBE000404", decided_offline=True, resident_id=1))
    assert login(outsider).get(reverse("sampling:board", args=[site.pk])).status_code == 404
    client = login(sampler)
    page = client.get(reverse("sampling:board", args=[site.pk]))
    assert len(page.context["review"]) == 1
    client.post(reverse("sampling:board", args=[site.pk]), {"resolve": page.context["review"][0].pk})
    action = ScanAction.objects.get()
    assert action.reviewed_by == sampler and not action.needs_review


def test_every_step_of_the_chain_of_custody_names_who_did_it(sampler, act, people, round_, site):
    """pack, seal and hand over wrote no audit and took no user (issue 17): the chain had no "who"."""
    from gridroll.audit.models import AuditRecord
    from gridroll.sampling.boxes import create_box

    fill(sampler, act, people, "TUBE000040", 2)
    box = create_box(sampler, site, "box-0040")
    pack_tube(sampler, box, "TUBE000040")
    seal_box(sampler, box, counted=1)
    hand_over_box(sampler, box, " 聊城市检测中心 ", "李师傅")
    rows = AuditRecord.objects.filter(target_type="sampling.box", target_id=box.pk).order_by("pk")
    assert [(r.action, r.actor_id) for r in rows] == [
        ("box.create", sampler.pk),
        ("box.pack", sampler.pk),
        ("box.seal", sampler.pk),
        ("box.hand_over", sampler.pk),
    ]
    assert rows[1].changes == {"tube": [None, "TUBE000040"]} and rows[3].changes["lab"] == [
        None,
        "聊城市检测中心",
    ]
    assert all(r.area_path == site.area.path for r in rows)


def test_two_packers_with_one_box_code_get_an_answer_not_a_500(sampler, round_, site):
    """box_create checked "exists" and then created: two at once raced into an IntegrityError."""
    from gridroll.sampling.boxes import create_box

    create_box(sampler, site, "XA-0099")
    with pytest.raises(BoxError) as exc:
        create_box(sampler, site, "xa-0099")  # the database's unique constraint decides
    assert exc.value.code == "box_code_taken"
    with pytest.raises(BoxError) as exc:
        create_box(sampler, site, "no")
    assert exc.value.code == "bad_box_code"
    assert Box.objects.filter(code="XA-0099").count() == 1


def test_a_box_belongs_to_the_open_round_of_its_site_not_any_open_round(sampler, round_, site, tree):
    """box_create took Round.objects.filter(status=OPEN).first(): another area's round would do."""
    import datetime

    from django.utils import timezone

    from gridroll.areas.models import Area, Level
    from gridroll.sampling.boxes import create_box, open_round_for
    from gridroll.sampling.models import Round, RoundArea

    elsewhere = Area.objects.create(name="别区", level=Level.DISTRICT)
    later = Round.objects.create(
        name="别区第1轮",
        starts_at=timezone.now(),
        ends_at=timezone.now() + datetime.timedelta(hours=6),
        status=Round.Status.OPEN,
    )
    RoundArea.objects.create(round=later, area=elsewhere, pool_mode="pool10")
    assert open_round_for(site) == round_
    assert create_box(sampler, site, "XA-0100").round == round_
    round_.status = Round.Status.CLOSED
    round_.save()
    with pytest.raises(BoxError) as exc:
        create_box(sampler, site, "XA-0101")
    assert exc.value.code == "no_open_round"


def test_box_refusals_are_in_the_readers_language(sampler, act, people, round_, site):
    """Service messages were hard-coded Chinese: the English interface showed 此箱已封箱."""
    from django.utils import translation

    fill(sampler, act, people, "TUBE000050", 1)
    box = Box.objects.create(code="BOX-0050", round=round_, site=site)
    pack_tube(sampler, box, "TUBE000050")
    with pytest.raises(BoxError) as exc:
        seal_box(sampler, box, counted=4)
    with translation.override("en"):
        assert exc.value.message == "Counted 4 tubes, the system has 1: check the box before sealing it."
    with translation.override("zh-hans"):
        assert exc.value.message == "清点 4 管，系统记录 1 管，请核对后再封箱"
