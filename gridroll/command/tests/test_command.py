"""The command view's figures against direct counts of the roll call and the tube records, its scope,
the refresh that sends only changed panels, and the day's report."""

from __future__ import annotations

import io
import json

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from gridroll.command import queries
from gridroll.conftest import make_user
from gridroll.labs.models import RetestTask
from gridroll.labs.services import ResultUpload, apply_results
from gridroll.residents.models import Resident
from gridroll.rollcall.models import Entry, Exemption
from gridroll.rollcall.services import set_exemption
from gridroll.rollcall.tests.helpers import assert_tallies_true, fill, receive
from gridroll.sampling.boxes import create_box, hand_over_box, pack_tube, seal_box
from gridroll.sampling.models import Box, Sample, Tube
from gridroll.sampling.services import check_scan_minutes, record_actions

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(db):
    return User.objects.create_superuser("root", password="x")


def results(rows):
    upload = ResultUpload.objects.create(filename="api")
    return apply_results(upload, [{"_row": i + 2, **r} for i, r in enumerate(rows)])


@pytest.fixture
def busy(roll, people, act, admin, tree, resident_b):
    """A round with pools, a positive pool and its retests, a negative, an exemption, a tube still open, a
    box handed over, and people in grid B."""
    from gridroll.rollcall.services import sync_round

    sync_round(roll)
    fill(admin, act, "TUBE000001", people[:5])  # positive pool
    fill(admin, act, "TUBE000002", people[5:8])  # negative
    fill(admin, act, "TUBE000003", people[8:9])  # packed into a handed-over box
    record_actions(admin, [act("open_tube", "TUBE000004")])  # open, empty
    record_actions(admin, [act("seal", "TUBE000001"), act("seal", "TUBE000002"), act("seal", "TUBE000003")])
    receive("TUBE000001", "TUBE000002")
    Tube.objects.filter(barcode__in=["TUBE000001", "TUBE000002"]).update(lab="市疾控")
    results([{"tube": "TUBE000001", "result": "阳性"}, {"tube": "TUBE000002", "result": "阴性"}])
    # Packed, the box sealed and handed over, as the site's packer does it (sampling.boxes).
    box = create_box(admin, Tube.objects.get(barcode="TUBE000003").site, "XA-0009")
    pack_tube(admin, box, "TUBE000003")
    hand_over_box(admin, seal_box(admin, box, 1), "市疾控")
    # One retest done: re-swabbed alone and negative.
    fill(admin, act, "TUBE000005", [people[0]], pool_mode="single")
    receive("TUBE000005")
    results([{"tube": "TUBE000005", "result": "negative"}])
    set_exemption(admin, Entry.objects.get(round=roll, resident=people[10]), Exemption.HOSPITAL)
    assert_tallies_true(roll)
    return roll


def _entries(round_, path):
    return Entry.objects.filter(round=round_, grid__path__startswith=path)


def test_every_panel_reconciles_with_the_roll_call_and_the_tubes(busy, tree, people):
    district = tree["district"]
    data = queries.view_data(busy, district)
    entries = _entries(busy, district.path)

    # Areas: the totals are the roll call's own counts.
    t = data["areas"]["totals"]
    assert t["total"] == entries.count() == 13  # 12 in grid A and resident_b in grid B
    for state in ("missing", "negative", "pool_positive", "positive", "exempt", "sampled", "invalid"):
        assert t[state] == entries.filter(state=state).count(), state
    assert t["exempt"] == 1 and t["pool_positive"] == 4 and t["negative"] == 4
    [sub] = data["areas"]["children"]
    assert sub["name"] == tree["sub"].name and sub["total"] == t["total"]

    # Progress: the last point is everyone with a sample; expected leaves out the exempt.
    p = data["progress"]
    sampled_people = (
        Sample.objects.filter(round=busy, is_removed=False).values("resident_id").distinct().count()
    )
    assert p["sampled"] == sampled_people == 9
    assert p["sampled"] == entries.exclude(state__in=["missing", "exempt"]).count()
    assert p["expected"] == entries.exclude(state="exempt").count() == 12
    assert max(x["sampled"] or 0 for x in p["points"]) == p["sampled"]
    assert p["points"][-1]["pace"] <= p["expected"]
    assert p["finish"] is not None

    # Tubes: each stage against the tube rows.
    tubes = data["tubes"]["totals"]
    assert tubes["open"] == Tube.objects.filter(round=busy, status="open").count() == 1
    assert tubes["reported"] == Tube.objects.filter(round=busy, reported_at__isnull=False).count() == 3
    assert tubes["in_transit"] == 1 and tubes["sealed"] == 0
    assert sum(tubes.values()) == Tube.objects.filter(round=busy).count()
    assert data["tubes"]["oldest"]["barcode"] == "TUBE000003"
    assert data["tubes"]["oldest"]["box__code"] == "XA-0009"

    # Labs: the same turnaround as the labs' page.
    from gridroll.labs.queries import turnaround_by_lab

    assert data["labs"] == turnaround_by_lab(Tube.objects.filter(round=busy, received_at__isnull=False))
    assert (
        sum(lab["tubes"] for lab in data["labs"])
        == Tube.objects.filter(round=busy, received_at__isnull=False).count()
    )

    # Positives: one pool, five retests of which one is done, all in grid A.
    pos = data["positives"]
    assert pos["pools"] == 1
    [grid] = pos["per_grid"]
    assert grid["grid_id"] == tree["grid_a"].pk
    assert grid["open"] == RetestTask.objects.filter(round=busy).exclude(status="closed").count() == 4
    assert grid["done"] == RetestTask.objects.filter(round=busy, status="closed").count() == 1

    # Lagging: grids with their missing count as the roll call has it.
    by_grid = {g["pk"]: g for g in data["lagging"]["grids"]}
    for grid_area in (tree["grid_a"], tree["grid_b"]):
        missing = _entries(busy, grid_area.path).filter(state="missing").count()
        assert by_grid.get(grid_area.pk, {}).get("missing", 0) == missing

    # Sites: every scan of the round, and the open tube's station.
    [site] = data["sites"]
    assert site["scans"] == Sample.objects.filter(round=busy, is_removed=False).count()
    assert site["last10"] == site["scans"] and site["open_stations"] == 1


def test_a_grid_shows_its_buildings_and_only_its_own_people(busy, tree):
    grid = tree["grid_b"]
    data = queries.view_data(busy, grid)
    assert data["areas"]["totals"]["total"] == _entries(busy, grid.path).count() == 1
    assert [c["kind"] for c in data["areas"]["children"]] == ["building"]
    assert data["positives"]["per_grid"] == []


def test_a_subdistrict_admin_sees_only_their_subdistrict(busy, tree, login):
    from gridroll.areas.models import Area, Level

    other = Area.objects.create(name="别的街道", level=Level.SUBDISTRICT, parent=tree["district"])
    admin = make_user("sub_cmd", "subdistrict_admin", tree["sub"])
    client = login(admin)
    start = client.get(reverse("command:start"))
    assert start.status_code == 302 and start["Location"] == reverse(
        "command:board", args=[busy.pk, tree["sub"].pk]
    )
    assert client.get(start["Location"]).status_code == 200
    for area in (tree["district"], other):
        for name in ("command:board", "command:data", "command:report_xlsx"):
            assert client.get(reverse(name, args=[busy.pk, area.pk])).status_code == 404, (name, area)


def test_an_outsider_sees_nothing(busy, tree, outsider, grid_worker, login):
    for user in (outsider, grid_worker, make_user("nobody", None, None)):
        client = login(user)
        assert client.get(reverse("command:start")).status_code == 404
        assert client.get(reverse("command:board", args=[busy.pk, tree["grid_a"].pk])).status_code == 404


def test_the_refresh_sends_only_changed_panels_and_nothing_when_nothing_changed(
    busy, tree, act, admin, login, people
):
    client = login(admin)
    url = reverse("command:data", args=[busy.pk, tree["district"].pk])
    first = client.get(url).json()
    assert set(first["html"]) == set(queries.PANELS)
    v = ",".join(f"{k}:{x}" for k, x in first["versions"].items())
    assert client.get(url, {"v": v}).status_code == 204
    # An exemption moves the roll call, not the tubes.
    set_exemption(admin, Entry.objects.get(round=busy, resident=people[11]), Exemption.AWAY)
    changed = client.get(url, {"v": v}).json()
    assert {"areas", "lagging", "progress"} <= set(changed["html"])
    assert "tubes" not in changed["html"] and "sites" not in changed["html"]
    assert ">2<" in changed["html"]["areas"] or "exempt" in changed["html"]["areas"]
    # A scan moves the tubes.
    v = ",".join(f"{k}:{x}" for k, x in changed["versions"].items())
    record_actions(admin, [act("add", "TUBE000004", resident_id=people[9].pk)])
    again = client.get(url, {"v": v}).json()
    assert {"tubes", "sites", "areas"} <= set(again["html"])


def test_the_page_and_the_days_report(busy, tree, admin, login):
    client = login(admin)
    page = client.get(reverse("command:board", args=[busy.pk, tree["district"].pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "echarts-5.6.0/echarts.min.js" in html and "//cdn" not in html
    wall = client.get(reverse("command:board", args=[busy.pk, tree["district"].pk]), {"wall": "1"})
    assert 'class="command wall"' in wall.content.decode()

    xlsx = client.get(reverse("command:report_xlsx", args=[busy.pk, tree["district"].pk]))
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(b"".join(xlsx.streaming_content) if xlsx.streaming else xlsx.content))
    cells = [[c for c in row] for row in book.active.iter_rows(values_only=True)]
    totals = next(r for r in cells if r and r[0] == "合计")
    data = queries.view_data(busy, tree["district"])
    assert totals[2] == data["areas"]["totals"]["missing"] and totals[4] == data["areas"]["totals"]["total"]

    pdf = client.get(reverse("command:report_pdf", args=[busy.pk, tree["district"].pk]))
    assert pdf.status_code == 200 and pdf.content[:5] == b"%PDF-"


def test_the_pdfs_charts_are_svg_of_the_same_figures(busy, tree):
    from gridroll.command.report import areas_svg, progress_svg

    data = queries.view_data(busy, tree["district"])
    svg = progress_svg(data["progress"]["points"])
    assert svg.startswith("<svg") and svg.count("<polyline") == 2
    bars = areas_svg(data["areas"]["children"])
    assert f"{data['areas']['children'][0]['percent']}%" in bars
    assert json.dumps(data, default=str)  # the JSON the page's charts read
    assert Resident.objects.count() == 13


def test_the_oldest_waiting_tube_is_the_areas_own_across_its_sites(busy, tree):
    """Each site's oldest tube waiting for a result, then the oldest of those: a tube sealed earlier at a
    site outside the area is not shown, and inside it, it is (reported tubes never are)."""
    from gridroll.sampling.models import Site

    other = Site.objects.create(area=tree["grid_b"], name="南门采样点")
    sealed = timezone.now() - timezone.timedelta(hours=5)
    common = {"round": busy, "pool_mode": "pool10", "capacity": 10, "status": "sealed", "size": 1}
    Tube.objects.create(barcode="TUBE000777", site=other, opened_at=sealed, sealed_at=sealed, **common)
    Tube.objects.create(
        barcode="TUBE000778",
        site=other,
        opened_at=sealed,
        sealed_at=sealed - timezone.timedelta(hours=1),
        reported_at=timezone.now(),
        **common,
    )
    district = queries.tubes(busy, tree["district"])["oldest"]
    assert (district["barcode"], district["site__name"], district["hours"]) == (
        "TUBE000777",
        "南门采样点",
        5.0,
    )
    assert queries.tubes(busy, tree["grid_a"])["oldest"]["barcode"] == "TUBE000003"
    assert queries.tubes(busy, tree["grid_b"])["oldest"]["barcode"] == "TUBE000777"


def test_the_sites_ten_minute_windows_are_counted_at_their_edges(busy, tree, sampler):
    """Each add accepted or warned in the last hour falls in one 10-minute window of whole minutes of
    arrival (the newest is this minute so far and the nine before it), the edges included as
    (this minute - its minute) // 10 puts them; refused adds, undos and older actions fall in none."""
    import datetime

    from gridroll.sampling.models import ScanAction, Site, minute_of

    minute = datetime.timedelta(minutes=1)
    tiny = datetime.timedelta(microseconds=1)
    this_minute = minute_of(timezone.now())
    now = this_minute + datetime.timedelta(seconds=30, microseconds=500)
    site = Site.objects.get(name="北门采样点")
    arrived = [
        now,
        this_minute,  # the minute's first instant: this minute
        this_minute - tiny,  # the minute before: still the newest window
        this_minute - 9 * minute,  # the newest window's first minute
        this_minute - 9 * minute - tiny,  # the window before
        this_minute - 29 * minute + datetime.timedelta(seconds=59),
        this_minute - 30 * minute,
        this_minute - 59 * minute,  # the hour's first minute: the oldest window
        this_minute - 59 * minute - tiny,  # out
        this_minute - 70 * minute,
    ]
    ScanAction.objects.all().delete()
    base = {"user": sampler, "round": busy, "site": site, "device_time": now, "payload": {}}
    kinds = [("add", "accepted"), ("add", "warned"), ("add", "refused"), ("undo", "accepted")]
    made = ScanAction.objects.bulk_create(
        ScanAction(nonce=f"n{i}-{j}", device_id="d", kind=kind, result=result, **base)
        for i in range(len(arrived))
        for j, (kind, result) in enumerate(kinds)
    )
    for action in made:
        i = int(action.nonce[1:].split("-")[0])
        ScanAction.objects.filter(pk=action.pk).update(received_at=arrived[i])
    # The actions were written here, not scanned: their minutes are counted as check_rollcall would.
    check_scan_minutes(busy, repair=True)
    expected = [0] * 6
    for at in arrived:
        back = (this_minute - minute_of(at)) // minute
        if back < 60:
            expected[back // 10] += 2  # the accepted and the warned add
    assert expected == [8, 2, 2, 2, 0, 2]
    [row] = queries.sites(busy, tree["district"], now=now)
    # The panel shows the last window and the average of the five before it.
    assert row["last10"] == expected[0] == 8
    assert row["hour_avg10"] == round(sum(expected[1:]) / 5, 1) == 1.6
    assert row["behind"] is False


def test_a_site_falls_behind_by_its_newest_windows_rate_not_its_count(busy, tree, sampler):
    """The newest window is nine minutes and a part: a site keeping its pace is not flagged for the
    minute it has not had yet, and one under half its pace is."""
    import datetime

    from gridroll.sampling.models import ScanMinute, Site, minute_of

    site = Site.objects.get(name="北门采样点")
    this_minute = minute_of(timezone.now())
    now = this_minute + datetime.timedelta(seconds=1)
    ScanMinute.objects.all().delete()
    # One scan a minute for the 50 minutes before the newest window: 10 a window.
    ScanMinute.objects.bulk_create(
        ScanMinute(round=busy, site=site, minute=this_minute - datetime.timedelta(minutes=m), scans=1)
        for m in range(10, 60)
    )
    newest = ScanMinute.objects.create(round=busy, site=site, minute=this_minute, scans=5)
    # 5 in 9 minutes and a second is a rate of 5.5 per 10 minutes: more than half of 10.
    [row] = queries.sites(busy, tree["district"], now=now)
    assert (row["last10"], row["hour_avg10"], row["behind"]) == (5, 10.0, False)
    ScanMinute.objects.filter(pk=newest.pk).update(scans=4)  # 4.4 per 10 minutes: behind
    [row] = queries.sites(busy, tree["district"], now=now)
    assert (row["last10"], row["behind"]) == (4, True)


def test_the_kept_minutes_give_the_windows_a_count_of_the_actions_gives(busy, tree, admin, act):
    """The windows come from the kept minutes: for scans made through the scanner's own ways at times on,
    just off and between minute edges, and for clocks read anywhere in a minute, they equal a count of the
    actions themselves by the minutes they arrived in."""
    import datetime
    import random
    from unittest import mock

    from gridroll.sampling.models import ScanAction, ScanMinute, Site, minute_of

    site = Site.objects.get(name="北门采样点")
    base = timezone.now().replace(second=0, microsecond=0) - datetime.timedelta(hours=2)
    rng = random.Random(20)
    offsets = sorted(
        {datetime.timedelta(minutes=m) for m in range(0, 125, 7)}
        | {datetime.timedelta(minutes=m, microseconds=1) for m in range(0, 125, 10)}
        | {datetime.timedelta(minutes=m) - datetime.timedelta(microseconds=1) for m in range(1, 125, 10)}
        | {datetime.timedelta(seconds=rng.uniform(0, 125 * 60)) for _ in range(60)}
    )
    ScanAction.objects.all().delete()
    ScanMinute.objects.all().delete()
    people = list(Resident.objects.order_by("pk"))
    tube = ""
    for i, offset in enumerate(offsets):
        # Each action arrives at base + offset (the server's clock), whatever the phone's says; a new
        # tube every eight adds, an undo after every third, people again in later tubes (warned).
        with mock.patch("django.utils.timezone.now", return_value=base + offset):
            if i % 8 == 0:
                tube = f"TUBE{900 + i:06d}"
                record_actions(admin, [act("open_tube", tube)])
            record_actions(admin, [act("add", tube, resident_id=people[i % len(people)].pk)])
            if i % 3 == 0:
                record_actions(admin, [act("undo", tube)])
    counted = ScanAction.objects.filter(kind="add", result__in=["accepted", "warned"])
    arrived = list(counted.values_list("received_at", flat=True))
    # Accepted, warned (sampled before) and refused adds (a positive pool's people need a single tube)
    results = set(ScanAction.objects.filter(kind="add").values_list("result", flat=True))
    assert results == {"accepted", "warned", "refused"} and len(arrived) > len(offsets) / 2
    clocks = [base + o for o in offsets] + [
        base + datetime.timedelta(seconds=rng.uniform(55 * 60, 130 * 60)) for _ in range(40)
    ]
    for now in clocks:
        expected = [0] * 6
        for at in arrived:
            back = (minute_of(now) - minute_of(at)) // datetime.timedelta(minutes=1)
            if 0 <= back < 60:  # (the clocks read here may be earlier than some arrivals in their minute)
                expected[back // 10] += 1
        got = queries.scan_windows(busy, [site.pk], now).get(site.pk, [0] * 6)
        assert got == expected, now


def test_a_tube_counts_in_one_stage_only_and_a_sites_stages_add_up_to_its_tubes(busy, tree, admin):
    """A tube still open at the site, scanned at the lab while unpacking a box (labs.receive_tube takes
    any tube): it has arrived, so it counts as at the lab, once. Counting each stage by its own filter
    counted it as open too, and the site's stages added up to more tubes than it has."""
    from gridroll.labs.services import receive_tube

    box = Box.objects.get(code="XA-0009")
    receive_tube(admin, box, "TUBE000004")  # open, never sealed or packed
    # One clock for the panel and the expected ages: read two and a half hours on.
    at = timezone.now() + timezone.timedelta(hours=2.5)
    tubes = queries.tubes(busy, tree["district"], now=at)
    assert (tubes["totals"]["open"], tubes["totals"]["received"]) == (0, 1)
    for row in tubes["per_site"]:
        assert (
            sum(row[s] for s in queries.STAGES)
            == Tube.objects.filter(round=busy, site__name=row["site"]).count()
        )
    assert sum(tubes["totals"].values()) == Tube.objects.filter(round=busy).count()
    # Each stage's age is that of its oldest tube, from the time it entered the stage: a value the panel
    # shows (hours a tube has waited), read at the fixed clock ``at`` given to the query, not a measure
    # of how fast anything ran.
    [row] = tubes["per_site"]
    received = Tube.objects.filter(round=busy, received_at__isnull=False, reported_at__isnull=True)
    oldest = min(t.received_at for t in received)
    assert row["ages"]["received"] == round((at - oldest).total_seconds() / 3600, 1)
    in_transit = Tube.objects.get(barcode="TUBE000003")
    assert row["ages"]["in_transit"] == round((at - box.handed_at).total_seconds() / 3600, 1)
    assert in_transit.handed_at == box.handed_at


def test_a_lagging_grids_worker_comes_with_their_phone_masked_unless_the_reader_may_call(busy, tree, login):
    """The issue's lagging panel: the grid worker and their phone (from the staff register entry of
    their account), in full to those who call residents in that grid, masked above them and in the day's
    report they download; a worker with no register entry shows by name alone."""
    from openpyxl import load_workbook

    from gridroll.staff.models import StaffMember

    niu = make_user("niu", "grid_worker", tree["grid_a"])
    niu.first_name = "牛叔"
    niu.save()
    StaffMember.objects.create(
        name="牛叔", phone="13912345678", home_unit="社区", home_area=tree["grid_a"], user=niu
    )
    make_user("wang", "grid_worker", tree["grid_a"])  # no register entry
    community = make_user("comm_cmd", "community_staff", tree["community"])
    sub = make_user("sub_cmd2", "subdistrict_admin", tree["sub"])

    def workers(user):
        rows = queries.view_data(busy, tree["district"], only={"lagging"}, user=user)["lagging"]["grids"]
        return next(g for g in rows if g["pk"] == tree["grid_a"].pk)["workers"]

    assert workers(community) == [
        {"name": "牛叔", "phone": "13912345678", "full": True},
        {"name": "wang", "phone": "", "full": False},
    ]
    for reader in (sub, None):
        assert workers(reader)[0] == {"name": "牛叔", "phone": "139****5678", "full": False}

    url = reverse("command:board", args=[busy.pk, tree["community"].pk])
    assert 'href="tel:13912345678"' in login(community).get(url).content.decode()
    html = login(sub).get(reverse("command:board", args=[busy.pk, tree["sub"].pk])).content.decode()
    assert "139****5678" in html and "13912345678" not in html
    xlsx = login(sub).get(reverse("command:report_xlsx", args=[busy.pk, tree["sub"].pk]))
    book = load_workbook(io.BytesIO(b"".join(xlsx.streaming_content) if xlsx.streaming else xlsx.content))
    text = " ".join(str(c) for row in book.active.iter_rows(values_only=True) for c in row if c)
    assert "牛叔 139****5678" in text and "13912345678" not in text


def test_a_sites_predicted_queue_is_the_same_from_every_area_that_shows_the_site(busy, tree, site):
    """Found by an independent check written from the docs: a plan calls grid B's building to grid A's
    site. The district view counted those people in the site's queue and grid A's view did not, while both
    took away everyone sampled at the site: grid A's view halved the queue. The queue is the site's, so
    every batch calling people there counts, wherever they live."""
    from gridroll.lib import queuesim
    from gridroll.planning.models import Batch, BatchBuilding, Plan

    now = timezone.now()
    plan = Plan.objects.create(round=busy, area=tree["district"], status=Plan.Status.ACCEPTED)
    starts, ends = now - timezone.timedelta(minutes=30), now + timezone.timedelta(minutes=30)
    batch = Batch.objects.create(plan=plan, site=site, starts_at=starts, ends_at=ends, people=60)
    BatchBuilding.objects.create(plan=plan, batch=batch, building=tree["building_a"], people=20)
    BatchBuilding.objects.create(plan=plan, batch=batch, building=tree["building_b"], people=40)  # grid B
    arrived = queuesim.expected_arrivals(-30, 30, 60, 0)
    sampled = Sample.objects.filter(round=busy, tube__site=site, is_removed=False).count()
    queues = {
        name: next(s for s in queries.sites(busy, tree[name], now) if s["pk"] == site.pk)["queue"]
        for name in ("district", "sub", "community", "grid_a")
    }
    assert {q["people"] for q in queues.values()} == {round(arrived - sampled)}, queues
