import pytest

from gridroll.sampling.models import Box
from gridroll.sampling.services import BoxError, hand_over_box, pack_tube, record_action, seal_box, trace_tube
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
    pack_tube(box, "TUBE000010")
    pack_tube(box, "tube000011")
    with pytest.raises(BoxError) as exc:
        seal_box(box, counted=3)
    assert exc.value.code == "count_mismatch" and "系统记录 2 管" in exc.value.message
    with pytest.raises(BoxError):
        hand_over_box(box, "聊城市检测中心")
    seal_box(box, counted=2)
    box = hand_over_box(box, "聊城市检测中心", "李师傅")
    assert (box.status, box.handed_to) == ("handed_over", "聊城市检测中心") and box.handed_at >= box.sealed_at
    with pytest.raises(BoxError) as exc:
        pack_tube(box, "TUBE000010")
    assert exc.value.code == "box_sealed"


def test_an_open_or_already_packed_tube_cannot_be_packed(sampler, act, people, round_, site):
    record_action(sampler, act("open_tube", tube="TUBE000020"))
    box = Box.objects.create(code="BOX-0002", round=round_, site=site)
    with pytest.raises(BoxError) as exc:
        pack_tube(box, "TUBE000020")
    assert exc.value.code == "tube_not_sealed"
    fill(sampler, act, people, "TUBE000021", 1)
    pack_tube(box, "TUBE000021")
    other = Box.objects.create(code="BOX-0003", round=round_, site=site)
    with pytest.raises(BoxError) as exc:
        pack_tube(other, "TUBE000021")
    assert exc.value.code == "tube_packed"
    with pytest.raises(BoxError) as exc:
        pack_tube(other, "NOSUCHTUBE1")
    assert exc.value.code == "tube_not_here"


def test_a_tube_traces_to_its_box_site_station_and_people(sampler, act, people, round_, site):
    fill(sampler, act, people, "TUBE000030", 3)
    box = Box.objects.create(code="BOX-0004", round=round_, site=site)
    pack_tube(box, "TUBE000030")
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
