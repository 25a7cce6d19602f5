"""record_action: every reason code, idempotency, ordered replay, review flags."""

import datetime

import pytest

from gridroll.api.scans import ScanOut
from gridroll.codes.services import reissue_code
from gridroll.sampling.models import RoundArea, Sample, ScanAction, Site, Tube
from gridroll.sampling.services import record_action
from gridroll.sampling.tests.conftest import code_of


def test_a_tube_fills_with_ten_people_and_closes_itself(sampler, act, people):
    assert record_action(sampler, act("open_tube")).result == "accepted"
    for person in people[:10]:
        result = record_action(sampler, act("add", code=code_of(person)))
        assert result.result == "accepted", result
    tube = Tube.objects.get()
    assert (tube.size, tube.status, tube.capacity) == (10, "sealed", 10)
    assert result.person["masked_name"] == "居***号"
    full = record_action(sampler, act("add", code=code_of(people[10])))
    assert (full.result, full.reason) == ("refused", "tube_full")


def test_the_same_nonce_twice_creates_nothing(sampler, act, people):
    record_action(sampler, act("open_tube"))
    action = act("add", code=code_of(people[0]))
    first = record_action(sampler, action)
    again = record_action(sampler, action)
    assert (again.result, again.duplicate, first.duplicate) == ("accepted", True, False)
    assert Sample.objects.count() == 1 and ScanAction.objects.filter(nonce=action["nonce"]).count() == 1
    assert Tube.objects.get().size == 1


def test_a_backlog_replays_in_order_and_again_changes_nothing(sampler, act, people, login):
    actions = [act("open_tube", tube="TUBE000002")] + [
        act("add", tube="TUBE000002", code=code_of(p), decided_offline=True) for p in people[:10]
    ]
    client = login(sampler)
    results = client.post(
        "/api/sampling/scans/batch", {"actions": actions}, content_type="application/json"
    ).json()
    assert [r["result"] for r in results] == ["accepted"] * 11
    # The answers are written without ninja's per-field check: they must still be what OpenAPI says.
    assert [ScanOut.model_validate(r).model_dump() for r in results] == results
    assert [s.position for s in Sample.objects.order_by("position")] == list(range(1, 11))
    response = client.post("/api/sampling/scans/batch", {"actions": actions}, content_type="application/json")
    assert "成功".encode() in response.content  # Chinese as Chinese, not \u escapes
    again = response.json()
    assert all(r["duplicate"] for r in again)
    assert Sample.objects.count() == 10 and ScanAction.objects.count() == 11


def test_an_offline_decision_the_server_refuses_is_kept_for_review(sampler, act, people):
    refused = record_action(
        sampler, act("add", tube="TUBE000404", code=code_of(people[0]), decided_offline=True)
    )
    assert refused.reason == "tube_not_open"
    action = ScanAction.objects.get(nonce=refused.nonce)
    assert action.needs_review and action.decided_offline and action.result == "refused"


def test_someone_sampled_earlier_in_the_round_is_accepted_with_a_warning(sampler, act, people):
    record_action(sampler, act("open_tube", tube="TUBE000003"))
    record_action(sampler, act("add", tube="TUBE000003", code=code_of(people[0])))
    record_action(sampler, act("open_tube", tube="TUBE000004"))
    result = record_action(sampler, act("add", tube="TUBE000004", code=code_of(people[0])))
    assert (result.result, result.reason) == ("warned", "already_sampled")
    assert Sample.objects.get(tube__barcode="TUBE000004").is_repeat


@pytest.mark.parametrize(
    "setup,action,reason",
    [
        (None, lambda a, p: a("add", nonce=""), "bad_request"),
        (None, lambda a, p: a("fly"), "bad_request"),
        (None, lambda a, p: a("open_tube", site_id=999999), "site_unknown"),
        (None, lambda a, p: a("open_tube", tube="abc"), "bad_tube_barcode"),
        (None, lambda a, p: a("open_tube", tube="TUBE-0001!"), "bad_tube_barcode"),
        (None, lambda a, p: a("add", tube="TUBE000404", code=code_of(p[0])), "tube_not_open"),
        ("open", lambda a, p: a("add", code="GRNOTACODE"), "code_forged"),
        ("open", lambda a, p: a("add", document_number="110101199003077777"), "person_unknown"),
        ("open", lambda a, p: a("add", resident_id=999999), "person_unknown"),
        ("open", lambda a, p: a("add"), "bad_request"),
        ("open", lambda a, p: a("undo"), "nothing_to_undo"),
        ("open", lambda a, p: a("seal"), "tube_empty"),
    ],
)
def test_each_refusal_has_its_reason(sampler, act, people, setup, action, reason):
    if setup == "open":
        record_action(sampler, act("open_tube"))
    data = action(act, people)
    result = record_action(sampler, data)
    assert (result.result, result.reason) == ("refused", reason), result
    assert result.message
    if data.get("nonce"):
        assert ScanAction.objects.get(nonce=data["nonce"]).reason == reason  # stored, not dropped


def test_a_revoked_code_is_refused(sampler, act, people):
    record_action(sampler, act("open_tube"))
    old = code_of(people[0])
    reissue_code(people[0], None, "lost")
    assert record_action(sampler, act("add", code=old)).reason == "code_revoked"
    assert record_action(sampler, act("add", code=code_of(people[0]))).result == "accepted"


def test_a_valid_code_unknown_here_is_refused(sampler, act, people):
    from gridroll.codes.services import active_key
    from gridroll.lib import signing

    key = active_key()
    record_action(sampler, act("open_tube"))
    token = signing.sign(bytes(key.private_key), key.key_id, 12345, datetime.date.today())
    assert record_action(sampler, act("add", code=token)).reason == "code_unknown"


def test_the_same_person_twice_in_a_tube_is_refused(sampler, act, people):
    record_action(sampler, act("open_tube"))
    record_action(sampler, act("add", code=code_of(people[0])))
    assert record_action(sampler, act("add", code=code_of(people[0]))).reason == "already_in_tube"


def test_a_tube_used_elsewhere_is_refused(sampler, act, people, tree):
    record_action(sampler, act("open_tube"))
    other = Site.objects.create(area=tree["grid_a"], name="南门采样点")
    assert record_action(sampler, act("open_tube", site_id=other.pk)).reason == "tube_used"
    assert record_action(sampler, act("open_tube")).result == "accepted"  # reopening the same tube: fine


def test_a_closed_round_refuses(sampler, act, round_):
    round_.status = "closed"
    round_.save()
    assert record_action(sampler, act("open_tube")).reason == "round_not_open"


def test_an_outsider_cannot_scan_at_another_grids_site(outsider, act):
    assert record_action(outsider, act("open_tube")).reason == "forbidden"


def test_manual_entry_by_document_number(sampler, act, people):
    record_action(sampler, act("open_tube"))
    number = people[0].document_number
    spaced = number[:6] + " " + number[6:]
    assert record_action(sampler, act("add", document_number=spaced)).result == "accepted"


def test_undo_removes_the_last_person(sampler, act, people):
    record_action(sampler, act("open_tube"))
    record_action(sampler, act("add", code=code_of(people[0])))
    record_action(sampler, act("add", code=code_of(people[1])))
    undone = record_action(sampler, act("undo"))
    assert undone.person["masked_name"] == people[1].masked_name
    assert Tube.objects.get().size == 1
    # Undone people can be scanned again.
    assert record_action(sampler, act("add", code=code_of(people[1]))).result == "accepted"


def test_household_mode_keeps_one_household_per_tube(sampler, act, people, round_, tree):
    RoundArea.objects.create(round=round_, area=tree["grid_a"], pool_mode="household")
    record_action(sampler, act("open_tube"))
    assert record_action(sampler, act("add", code=code_of(people[0]))).result == "accepted"
    assert record_action(sampler, act("add", code=code_of(people[1]))).result == "accepted"  # same flat
    assert record_action(sampler, act("add", code=code_of(people[2]))).reason == "other_household"
    assert record_action(sampler, act("seal")).result == "accepted"
    assert Tube.objects.get().status == "sealed"


def test_the_api_needs_scan_rights(tree, act, login, client):
    from gridroll.conftest import make_user

    assert (
        client.post("/api/sampling/scans", act("open_tube"), content_type="application/json").status_code
        == 401
    )
    lab = make_user("lab", "lab_staff", tree["district"])
    assert (
        login(lab).post("/api/sampling/scans", act("open_tube"), content_type="application/json").status_code
        == 403
    )


def test_the_roster_is_masked_and_scoped(tree, sampler, outsider, site, people, login):
    data = login(sampler).get(f"/api/sampling/sites/{site.pk}/roster").json()
    assert len(data["people"]) == 12
    text = str(data)
    assert people[0].name not in text and people[0].document_number not in text
    assert login(outsider).get(f"/api/sampling/sites/{site.pk}/roster").status_code == 404


def test_the_scanner_page_speaks_the_users_language(sampler, login, round_, site):
    import json
    import re

    def text(page):
        return json.loads(re.search(r'id="scanner-text" type="application/json">(.*?)</script>', page)[1])

    client = login(sampler)
    page = client.get("/scan/").content.decode()
    assert "开始采样" in page and text(page)["Scan a tube first"] == "请先扫管码"
    client.cookies["django_language"] = "en"
    page = client.get("/scan/").content.decode()
    assert "Start sampling" in page and text(page)["Scan a tube first"] == "Scan a tube first"
    assert text(page)["reason:tube_full"] == "This tube is full: close it and take a new one"


def test_a_tube_records_its_station_when_it_is_the_sites(sampler, act, site, tree):
    station = site.stations.get()
    record_action(sampler, act("open_tube", tube="TUBE000701", station_id=station.pk))
    assert Tube.objects.get(barcode="TUBE000701").station == station
    # A station added a moment ago (not yet in the cached context) is found too.
    new = site.stations.create(name="2号台")
    record_action(sampler, act("open_tube", tube="TUBE000702", station_id=new.pk))
    assert Tube.objects.get(barcode="TUBE000702").station == new
    # Another site's station is not recorded; the tube still opens.
    other = Site.objects.create(area=tree["grid_a"], name="南门").stations.create(name="1号台")
    opened = record_action(sampler, act("open_tube", tube="TUBE000703", station_id=other.pk))
    assert opened.result == "accepted" and Tube.objects.get(barcode="TUBE000703").station is None
