"""A sampler's account is no way into the district: issue 13's attacks on the scan API, as written."""

import datetime

from django.utils import timezone

from gridroll.conftest import make_user, new_id
from gridroll.residents.models import Resident
from gridroll.sampling.models import Sample, ScanAction
from gridroll.sampling.services import record_action


def _post(client, action):
    return client.post("/api/sampling/scans", action, content_type="application/json").json()


def test_adding_a_person_of_another_grid_by_id_answers_like_an_unknown_one(
    tree, sampler, act, people, resident_b, login
):
    client = login(sampler)
    _post(client, act("open_tube"))
    stranger = _post(client, act("add", resident_id=resident_b.pk))
    unknown = _post(client, act("add", resident_id=999_999))
    for answer in (stranger, unknown):
        assert (answer["result"], answer["reason"], answer["person"]) == ("refused", "person_unknown", {})
    assert stranger["message"] == unknown["message"]
    assert not Sample.objects.filter(resident=resident_b).exists()


def test_adding_a_person_of_another_grid_by_id_number_answers_like_an_unknown_one(
    tree, sampler, act, people, resident_b, login
):
    client = login(sampler)
    _post(client, act("open_tube"))
    stranger = _post(client, act("add", document_number=resident_b.document_number))
    unknown = _post(client, act("add", document_number=new_id(seq=977)))
    assert stranger["reason"] == unknown["reason"] == "person_unknown"
    assert stranger["person"] == unknown["person"] == {}


def test_a_person_of_the_sites_area_added_by_hand_is_flagged_on_the_board(
    tree, sampler, act, people, site, login
):
    client = login(sampler)
    _post(client, act("open_tube"))
    answer = _post(client, act("add", resident_id=people[0].pk))
    assert answer["result"] == "accepted" and answer["person"]["masked_name"] == "居***号"
    assert ScanAction.objects.get(nonce=answer["nonce"]).is_manual
    board = client.get(f"/sites/{site.pk}/board/").content.decode()
    assert "手工录入" in board


def test_a_visitor_registered_at_the_site_can_be_added_by_hand(tree, sampler, act, site, login):
    visitor = Resident.objects.create(name="徐来", document_number=new_id(seq=61), registered_site=site)
    client = login(sampler)
    _post(client, act("open_tube"))
    assert _post(client, act("add", document_number=visitor.document_number))["result"] == "accepted"


def test_a_far_future_device_time_is_kept_beside_the_server_time_and_flagged(
    tree, sampler, act, people, site, login
):
    client = login(sampler)
    _post(client, act("open_tube"))
    code = people[0].codes.get().token
    answer = _post(client, act("add", code=code, device_time="2030-01-01T08:00:00+08:00"))
    assert answer["result"] == "accepted"
    action = ScanAction.objects.get(nonce=answer["nonce"])
    assert action.device_time.year == 2030 and action.needs_review and action.clock_flag == "ahead"
    sample = Sample.objects.get(resident=people[0])
    assert abs(sample.scanned_at - timezone.now()) < datetime.timedelta(minutes=1)  # the server's time
    board = client.get(f"/sites/{site.pk}/board/").content.decode()
    assert "设备时间" in board and "2030" in board


def test_a_device_time_before_the_round_is_flagged(tree, sampler, act, people):
    record_action(sampler, act("open_tube"))
    early = (timezone.now() - datetime.timedelta(days=3)).isoformat()
    result = record_action(sampler, act("add", code=people[1].codes.get().token, device_time=early))
    assert ScanAction.objects.get(nonce=result.nonce).clock_flag == "outside_round"


def test_another_user_replaying_a_samplers_nonce_gets_nothing_of_theirs(tree, sampler, act, people, login):
    record_action(sampler, act("open_tube"))
    action = act("add", code=people[0].codes.get().token)
    mine = record_action(sampler, action)
    assert mine.result == "accepted" and mine.person
    other = make_user("sampler_other", "sampler", tree["grid_a"])
    theirs = record_action(other, {**action, "code": "NOT-A-CODE"})
    assert theirs.duplicate is False and theirs.person == {}  # not the stored answer
    assert ScanAction.objects.filter(nonce=action["nonce"]).count() == 2
    # …and the sampler's own re-upload is still recognised.
    assert record_action(sampler, action).duplicate is True


def test_an_id_number_is_never_opened_as_a_tube(tree, sampler, act, people):
    record_action(sampler, act("open_tube"))
    record_action(sampler, act("add", code=people[0].codes.get().token))
    result = record_action(sampler, act("open_tube", tube=people[1].document_number))
    assert (result.result, result.reason) == ("refused", "bad_tube_barcode")
    from gridroll.sampling.models import Tube

    assert Tube.objects.get(barcode="TUBE000001").status == "open"  # the tube in use stays open


def test_nul_characters_in_an_action_get_an_answer_not_a_500(tree, sampler, act, people, login):
    """Found by the schema fuzzer on PostgreSQL: a NUL in pool_mode reached the JSON column."""
    client = login(sampler)
    bad = act("open_tube", pool_mode="\x00single", device_id="phone\x00x", nonce="n\x00ul")
    response = client.post("/api/sampling/scans", bad, content_type="application/json")
    assert response.status_code == 200 and response.json()["result"] in ("accepted", "refused")
    add = act("add", code=people[0].codes.get().token + "\x00", document_number="\x00")
    assert (
        client.post(
            "/api/sampling/scans/batch", {"actions": [add]}, content_type="application/json"
        ).status_code
        == 200
    )
