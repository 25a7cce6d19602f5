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
