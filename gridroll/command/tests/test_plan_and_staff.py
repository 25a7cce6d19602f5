"""The command view's plan line and staff panel (issue 20): the progress line follows the round's
accepted plan for the area viewed (or says it shows an even pace), the staff panel's figures match the
shifts, assignments and check-ins, both respect scope, mask phones, refresh on their own changes, and
reach the day's report."""

from __future__ import annotations

import datetime
import io
import itertools

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import Sum
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from gridroll.areas.models import Area, Building, Level
from gridroll.command import queries
from gridroll.conftest import make_user, scan_action
from gridroll.lib import phone as phonelib
from gridroll.planning import services as planning
from gridroll.planning.models import Batch, BatchBuilding, Plan
from gridroll.planning.tests.conftest import town  # noqa: F401 - the planning tests' town
from gridroll.residents.models import Resident
from gridroll.rollcall.models import Entry
from gridroll.rollcall.services import sync_round
from gridroll.rollcall.tests.helpers import fill
from gridroll.sampling.models import Sample, Site, Station
from gridroll.staff import services as staffing
from gridroll.staff.models import Assignment, CheckIn, Shift, StaffMember, Team

pytestmark = pytest.mark.django_db

ALL = ["sampler", "scanner", "entry", "guide", "consult", "order", "driver"]
_phones = itertools.count(7350000)


@pytest.fixture
def admin(db):
    return User.objects.create_superuser("root", password="x")


@pytest.fixture
def started(town, tree):  # noqa: F811 - the fixture imported above
    """The planning tests' town with its 4-hour round begun 90 minutes ago and its roll call made."""
    round_, sites = town
    round_.starts_at = timezone.now() - datetime.timedelta(minutes=90)
    round_.ends_at = round_.starts_at + datetime.timedelta(hours=4)
    round_.save()
    sync_round(round_)
    return round_, sites


def _act(round_, site):
    def act(kind, tube, **extra):
        return scan_action(round_, site, kind, tube, device="phone-9", **extra)

    return act


def _scan(admin, round_, site, people, tube):
    from gridroll.codes.services import issue_code

    for p in people:
        issue_code(p)
    fill(admin, _act(round_, site), tube, people)


def _expected_by(round_, plan_ids, area, when) -> float:
    """Straight from the batch rows: each building's people spread evenly over its batch's window, the
    newest plan's row where two plans name a building."""
    rows = BatchBuilding.objects.filter(plan_id__in=plan_ids, building__grid__path__startswith=area.path)
    newest: dict[int, int] = {}
    for r in rows:
        newest[r.building_id] = max(newest.get(r.building_id, 0), r.plan_id)
    total = 0.0
    for r in rows.select_related("batch"):
        if r.plan_id != newest[r.building_id]:
            continue
        b = r.batch
        span = (b.ends_at - b.starts_at).total_seconds()
        done = (when - b.starts_at).total_seconds()
        total += r.people * (min(1.0, max(0.0, done / span)) if span > 0 else float(done >= 0))
    return total


def _hours(round_, points):
    """The moment each point's planned figure is read: the end of its hour, as the even pace."""
    first = round_.starts_at.replace(minute=0, second=0, microsecond=0)
    return [first + datetime.timedelta(hours=i + 1) for i in range(len(points))]


# ----------------------------------------------------------------------------------------- the plan


def test_progress_follows_the_accepted_plan_for_each_area(started, tree, admin):
    round_, sites = started
    plan = planning.make_plan(admin, round_, tree["community"])
    _scan(
        admin,
        round_,
        sites[0],
        list(Resident.objects.filter(household__building__grid=tree["grid_a"])[:7]),
        "PLAN0001",
    )
    now = timezone.now()
    for area in (tree["district"], tree["sub"], tree["community"], tree["grid_a"], tree["grid_b"]):
        p = queries.view_data(round_, area, only={"progress"}, now=now)["progress"]
        members = BatchBuilding.objects.filter(plan=plan, building__grid__path__startswith=area.path)
        assert p["plan"]["people"] == sum(m.people for m in members) > 0
        assert (
            p["plan"]["buildings"]
            == p["plan"]["of_buildings"]
            == members.values("building").distinct().count()
        )
        assert p["plan"]["rest"] == 0 and p["plan"]["areas"] == [tree["community"].name]
        assert p["plan"]["now"] == round(_expected_by(round_, [plan.pk], area, now))
        for point, at in zip(p["points"], _hours(round_, p["points"]), strict=True):
            assert point["plan"] == round(_expected_by(round_, [plan.pk], area, at)), (area.name, point)
        # Sampled is still the area's own people.
        assert (
            p["sampled"]
            == Sample.objects.filter(
                round=round_,
                is_repeat=False,
                is_removed=False,
                resident__entries__round=round_,
                resident__entries__grid__path__startswith=area.path,
            ).count()
        )
    assert queries.view_data(round_, tree["grid_a"], only={"progress"})["progress"]["sampled"] == 7
    # The whole plan ends with everyone it names, the home visits included.
    p = queries.view_data(round_, tree["district"], only={"progress"})["progress"]
    assert p["plan"]["end"] == BatchBuilding.objects.filter(plan=plan).aggregate(n=Sum("people"))["n"]


def test_a_newer_plan_of_a_grid_replaces_the_older_one_there_only(started, tree, admin):
    round_, _ = started
    old = planning.make_plan(admin, round_, tree["community"])
    new = planning.make_plan(admin, round_, tree["grid_a"])
    assert Plan.objects.filter(status=Plan.Status.ACCEPTED).count() == 2
    now = timezone.now() + datetime.timedelta(minutes=40)
    p = queries.view_data(round_, tree["community"], only={"progress"}, now=now)["progress"]
    assert p["plan"]["now"] == round(_expected_by(round_, [old.pk, new.pk], tree["community"], now))
    grid_b = queries.view_data(round_, tree["grid_b"], only={"progress"}, now=now)["progress"]["plan"]
    assert grid_b["areas"] == [tree["community"].name]  # grid A's plan says nothing about grid B
    assert grid_b["now"] == round(_expected_by(round_, [old.pk], tree["grid_b"], now))


def test_buildings_no_plan_names_are_counted_at_an_even_pace(started, tree, admin):
    round_, _ = started
    planning.make_plan(admin, round_, tree["grid_a"])
    now = timezone.now()
    p = queries.view_data(round_, tree["community"], only={"progress"}, now=now)["progress"]
    # Buildings with people on the roll (the tree's empty 龙湾小区 7 is nobody's).
    b_buildings = set(
        Entry.objects.filter(round=round_, grid=tree["grid_b"]).values_list("building_id", flat=True)
    )
    b_people = Entry.objects.filter(round=round_, grid=tree["grid_b"]).count()
    assert p["plan"]["rest"] == b_people > 0
    assert p["plan"]["of_buildings"] - p["plan"]["buildings"] == len(b_buildings)
    share = (now - round_.starts_at) / (round_.ends_at - round_.starts_at)
    assert p["plan"]["now"] == round(
        _expected_by(round_, list(Plan.objects.values_list("pk", flat=True)), tree["community"], now)
        + b_people * share
    )


def test_without_a_plan_the_even_pace_is_shown_and_said(started, tree, admin, login):
    round_, _ = started
    other = Area.objects.create(name="别的街道", level=Level.SUBDISTRICT, parent=tree["district"])
    grid = Area.objects.create(
        name="别的网格",
        level=Level.GRID,
        parent=Area.objects.create(name="别的社区", level=Level.COMMUNITY, parent=other),
    )
    far = Building.objects.create(grid=grid, compound="别的小区", number="1")
    # An accepted plan that covers none of 测试街道.
    plan = Plan.objects.create(round=round_, area=other, status=Plan.Status.ACCEPTED)
    batch = Batch.objects.create(plan=plan, starts_at=round_.starts_at, ends_at=round_.ends_at, people=30)
    BatchBuilding.objects.create(plan=plan, batch=batch, building=far, people=30)
    p = queries.view_data(round_, tree["sub"], only={"progress"})["progress"]
    assert p["plan"] is None and all("plan" not in pt for pt in p["points"])
    assert p["points"][-1]["pace"] == p["expected"]
    html = login(admin).get(reverse("command:board", args=[round_.pk, tree["sub"].pk])).content.decode()
    assert _t("No plan yet: even pace shown (to the round's end).") in html and 'data-basis="pace"' in html
    planning.make_plan(admin, round_, tree["community"])
    html = login(admin).get(reverse("command:board", args=[round_.pk, tree["sub"].pk])).content.decode()
    assert 'data-basis="plan"' in html and 'data-basis="pace"' not in html


# ---------------------------------------------------------------------------------------- the staff


@pytest.fixture
def deployed(started, tree, sub_admin):
    """Staff deployed for the town's round (its first two-hour block is on now); two of them have an
    account and checked in."""
    round_, sites = started
    planning.make_plan(sub_admin, round_, tree["community"])
    team = Team.objects.create(name="梁水镇队", home_area=tree["sub"], destination=tree["community"])
    for i in range(40):
        StaffMember.objects.create(
            name=f"队员{i:02d}",
            phone=f"139{next(_phones):08d}",
            home_unit="镇卫生院",
            home_area=tree["sub"],
            skills=ALL,
            team=team,
        )
    staffing.deploy(sub_admin, round_, tree["community"])
    now = timezone.now()
    on = Assignment.objects.filter(shift__round=round_, shift__starts_at__lte=now, shift__ends_at__gt=now)
    checked = []
    for a in on.select_related("member", "shift__site").order_by("shift__site__name", "member__name")[:2]:
        account = make_user(f"staff{a.member_id}", None, None)
        staffing.link_account(sub_admin, a.member, account)
        staffing.check_in(account, a.shift.site)
        checked.append(a)
    return round_, sites, checked


def test_the_staff_panel_counts_the_shifts_on_now_and_who_checked_in(deployed, tree, admin):
    round_, sites, checked = deployed
    now = timezone.now()
    d = queries.view_data(round_, tree["district"], only={"staff"}, now=now, user=admin)["staff"]
    assert d["shifts"] == Shift.objects.filter(round=round_).count() > 0
    rows = {r["pk"]: r for r in d["sites"]}
    assert set(rows) == {s.pk for s in sites}
    for site in sites:
        on = Shift.objects.filter(round=round_, site=site, starts_at__lte=now, ends_at__gt=now)
        assigned = Assignment.objects.filter(shift__in=on)
        here = CheckIn.objects.filter(shift__in=on)
        r = rows[site.pk]
        assert r["needed"] == sum(s.needed for s in on)
        assert r["assigned"] == assigned.count()
        assert r["checked_in"] == here.count()
        absent = assigned.exclude(member__in=here.values("member"))
        assert sorted(a["name"] for a in r["absent"]) == sorted(absent.values_list("member__name", flat=True))
        assert r["unfilled"] == max(0, r["needed"] - r["assigned"])
        assert not r["nobody"]
    assert d["totals"]["checked_in"] == len(checked) == 2
    assert d["totals"]["absent"] == d["totals"]["assigned"] - 2


def test_a_site_with_no_one_on_duty_is_flagged_with_its_next_shift(deployed, tree, admin):
    round_, _sites, _ = deployed
    empty = Site.objects.create(area=tree["grid_a"], name="南门采样点")
    Station.objects.create(site=empty, name="1号台")
    later = Shift.objects.create(
        round=round_,
        site=empty,
        role="sampler",
        needed=2,
        starts_at=timezone.now() + datetime.timedelta(hours=1),
        ends_at=timezone.now() + datetime.timedelta(hours=3),
    )
    d = queries.view_data(round_, tree["grid_a"], only={"staff"}, user=admin)["staff"]
    first = d["sites"][0]
    assert first["pk"] == empty.pk and first["nobody"] and first["next"] == later.starts_at
    assert first["assigned"] == first["needed"] == 0
    staff_html = _page(admin, round_, tree["grid_a"]).split("panel-staff")[1]
    assert _t("no one assigned now") in staff_html.split("南门采样点")[1][:200]


def _t(text: str) -> str:
    """``text`` in the language the pages are served in (the site's default)."""
    with translation.override(settings.LANGUAGE_CODE):
        return translation.gettext(text)


def _page(user, round_, area) -> str:

    c = Client()
    c.force_login(user)
    r = c.get(reverse("command:board", args=[round_.pk, area.pk]))
    assert r.status_code == 200
    return r.content.decode()


def test_without_shifts_the_panel_says_where_to_deploy(started, tree, admin):
    round_, _ = started
    d = queries.view_data(round_, tree["community"], only={"staff"}, user=admin)["staff"]
    assert d["shifts"] == 0 and all(r["nobody"] for r in d["sites"])
    html = _page(admin, round_, tree["community"])
    board = reverse("staff:board", args=[round_.pk])
    assert (
        _t("No shifts for this round here yet.") in html
        and f'href="{board}?area={tree["community"].pk}"' in html
    )
    # From a grid, the staff board of its community.
    assert f'href="{board}?area={tree["community"].pk}"' in _page(admin, round_, tree["grid_a"])


def test_phones_are_masked_above_the_community_and_names_shown(deployed, tree, sub_admin):
    round_, _sites, _ = deployed
    community = make_user("community_cmd", "community_staff", tree["community"])
    absent = (
        Assignment.objects.filter(
            shift__round=round_, shift__starts_at__lte=timezone.now(), shift__ends_at__gt=timezone.now()
        )
        .exclude(member__checkins__isnull=False)
        .select_related("member")
        .first()
    )
    m = absent.member
    sub_html = _page(sub_admin, round_, tree["sub"])
    assert m.name in sub_html and phonelib.mask(m.phone) in sub_html and m.phone not in sub_html
    com_html = _page(community, round_, tree["community"])
    assert m.name in com_html and m.phone in com_html
    # The report follows the reader.
    c = Client()
    c.force_login(sub_admin)
    xlsx = c.get(reverse("command:report_xlsx", args=[round_.pk, tree["sub"].pk]))
    from openpyxl import load_workbook

    body = b"".join(xlsx.streaming_content) if xlsx.streaming else xlsx.content
    cells = [
        str(v) for row in load_workbook(io.BytesIO(body)).active.iter_rows(values_only=True) for v in row if v
    ]
    text = " ".join(cells)
    assert phonelib.mask(m.phone) in text and m.phone not in text


def test_a_subdistrict_admin_sees_only_their_subdistricts_sites_staff(deployed, tree, sub_admin, admin):
    round_, sites, _ = deployed
    other = Area.objects.create(name="别的街道", level=Level.SUBDISTRICT, parent=tree["district"])
    far = Site.objects.create(area=other, name="别处采样点")
    shift = Shift.objects.create(
        round=round_,
        site=far,
        role="sampler",
        needed=1,
        starts_at=round_.starts_at,
        ends_at=round_.starts_at + datetime.timedelta(hours=2),
    )
    stranger = StaffMember.objects.create(
        name="外区人员", phone="13900001111", home_unit="别处", home_area=other, skills=["sampler"]
    )
    Assignment.objects.create(shift=shift, member=stranger)
    html = _page(sub_admin, round_, tree["sub"])
    assert "外区人员" not in html and "别处采样点" not in html
    assert "外区人员" in _page(admin, round_, tree["district"])
    d = queries.view_data(round_, tree["sub"], only={"staff"}, user=sub_admin)["staff"]
    assert {r["pk"] for r in d["sites"]} == {s.pk for s in sites}

    c = Client()
    c.force_login(sub_admin)
    for name in ("command:board", "command:data", "command:report_xlsx", "command:report_pdf"):
        assert c.get(reverse(name, args=[round_.pk, other.pk])).status_code == 404


def test_an_outsider_gets_nothing(deployed, tree, outsider, grid_worker, sampler):
    round_, _, checked = deployed

    for user in (outsider, grid_worker, sampler, make_user("nobody2", None, None), checked[0].member.user):
        c = Client()
        c.force_login(user)
        for name in ("command:board", "command:data", "command:report_xlsx", "command:report_pdf"):
            r = c.get(reverse(name, args=[round_.pk, tree["community"].pk]))
            assert r.status_code == 404, (user, name)


# ------------------------------------------------------------------------------------- the refresh


def _someone_checks_in(round_, sub_admin, now, login: str):
    """The first person on a shift now who has not checked in gets an account and checks in."""
    a = (
        Assignment.objects.filter(shift__round=round_, shift__starts_at__lte=now, shift__ends_at__gt=now)
        .exclude(member__checkins__isnull=False)
        .select_related("member", "shift__site")
        .first()
    )
    account = make_user(login, None, None)
    staffing.link_account(sub_admin, a.member, account)
    staffing.check_in(account, a.shift.site)
    return a


def test_the_staff_version_moves_with_check_ins_and_assignments_only(deployed, tree, sub_admin, admin):
    round_, sites, _ = deployed
    now = timezone.now()
    v0 = queries.versions(round_, tree["community"], now)
    assert queries.versions(round_, tree["community"], now) == v0
    # A scan moves the tubes and the roll call, not the staff.
    _scan(
        admin,
        round_,
        sites[0],
        list(Resident.objects.filter(household__building__grid=tree["grid_a"])[:2]),
        "PLAN0002",
    )
    v1 = queries.versions(round_, tree["community"], now)
    assert v1["staff"] == v0["staff"] and v1["tubes"] != v0["tubes"]
    # Someone checks in.
    a = _someone_checks_in(round_, sub_admin, now, "late")
    v2 = queries.versions(round_, tree["community"], now)
    assert v2["staff"] != v1["staff"] and {k for k in v2 if v2[k] != v1[k]} == {"staff"}
    # A check-in in another area does not move this grid's panel.
    grid_b_v = queries.versions(round_, tree["grid_b"], now)["staff"]
    if a.shift.site.area_id != tree["grid_b"].pk:
        assert grid_b_v == queries.versions(round_, tree["grid_b"], now)["staff"]
    # An assignment removed.
    Assignment.objects.filter(shift__round=round_).exclude(member=a.member).first().delete()
    assert queries.versions(round_, tree["community"], now)["staff"] != v2["staff"]
    # A shift ending moves it (the panel shows the shifts on now).
    later = now + datetime.timedelta(hours=3)
    assert (
        queries.versions(round_, tree["community"], later)["staff"]
        != queries.versions(round_, tree["community"], now)["staff"]
    )


def test_the_refresh_sends_the_staff_panel_after_a_check_in(deployed, tree, sub_admin, login):
    round_, _, _ = deployed
    client = login(sub_admin)
    url = reverse("command:data", args=[round_.pk, tree["sub"].pk])
    first = client.get(url).json()
    assert "staff" in first["html"]
    v = ",".join(f"{k}:{x}" for k, x in first["versions"].items())
    assert client.get(url, {"v": v}).status_code == 204
    now = timezone.now()
    _someone_checks_in(round_, sub_admin, now, "late2")
    changed = client.get(url, {"v": v}).json()
    assert set(changed["html"]) == {"staff"}


def test_accepting_a_plan_moves_the_progress_panel(started, tree, admin):
    round_, _ = started
    v0 = queries.versions(round_, tree["sub"])
    planning.make_plan(admin, round_, tree["community"])
    v1 = queries.versions(round_, tree["sub"])
    assert v1["progress"] != v0["progress"] and v1["areas"] == v0["areas"]
    assert v1["sites"] != v0["sites"]  # the plan calls people to the sites: their predicted queues


# -------------------------------------------------------------------------------------- the report


def test_the_days_report_shows_the_plan_line_and_the_staff(deployed, tree, admin):
    from gridroll.command.report import progress_svg, rows

    round_, sites, _ = deployed
    data = queries.view_data(round_, tree["district"], user=admin)
    table = rows(round_, tree["district"], data)
    flat = [r for r in table if r]
    assert any(str(r[0]).startswith("按已接受的采样计划") for r in flat)
    header = next(i for i, r in enumerate(table) if r[:3] == ["时间", "累计已采", "计划应采"])
    for pt, row in zip(data["progress"]["points"], table[header + 1 :], strict=False):
        assert row == [pt["hour"], pt["sampled"], pt["plan"]]
    start = next(i for i, r in enumerate(table) if r and r[0] == "在岗人员")
    end = table.index([], start)
    staff_rows = {r[0]: r for r in table[start + 2 : end]}
    assert set(staff_rows) == {s.name for s in sites}
    for s in data["staff"]["sites"]:
        assert staff_rows[s["name"]][2:6] == [s["checked_in"], s["assigned"], s["needed"], s["unfilled"]]
    svg = progress_svg(data["progress"]["points"], line="plan")
    assert svg.count("<polyline") == 2

    c = Client()
    c.force_login(admin)
    pdf = c.get(reverse("command:report_pdf", args=[round_.pk, tree["district"].pk]))
    assert pdf.status_code == 200 and pdf.content[:5] == b"%PDF-"


def test_the_report_without_a_plan_says_even_pace(started, tree):
    from gridroll.command.report import rows

    round_, _ = started
    data = queries.view_data(round_, tree["district"])
    table = rows(round_, tree["district"], data)
    assert ["尚无计划：按均速（至本轮结束）对比"] in table
    assert ["时间", "累计已采", "均速计划"] in table
    assert any(r and r[0] == "在岗人员" and "尚无班次" in r[1] for r in table)
    assert Batch.objects.count() == 0


def test_the_staff_version_is_the_aggregates_of_the_shifts_and_check_ins(deployed, tree):
    """versions() reads the staff panel's figures in plain SQL, in its one statement (issue 20): they are
    the aggregates the ORM counts, at every level and at any time."""
    from django.db.models import Count, Max, Q

    round_, _sites, _ = deployed
    for area in (tree["district"], tree["community"], tree["grid_b"]):
        for now in (timezone.now(), timezone.now() + datetime.timedelta(hours=3)):
            s = Shift.objects.filter(round=round_, site__area__path__startswith=area.path).aggregate(
                n=Count("id", distinct=True),
                top=Max("id"),
                started=Count("id", distinct=True, filter=Q(starts_at__lte=now)),
                ended=Count("id", distinct=True, filter=Q(ends_at__lte=now)),
                a=Count("assignments", distinct=True),
                a_top=Max("assignments__id"),
            )
            c = CheckIn.objects.filter(site__area__path__startswith=area.path).aggregate(m=Max("pk"))["m"]
            expected = ".".join(str(v or 0) for v in [*s.values(), c])
            assert queries.versions(round_, area, now)["staff"] == expected
            if area == tree["community"]:
                assert expected.split(".")[0] != "0"


# ---------------------------------------------------------------------------------- predicted queue


def test_the_predicted_queue_is_who_the_plan_expects_by_now_less_those_sampled(started, tree, admin, login):
    """Issue 20's predicted queue per site: the people the accepted plan has called to the site and the
    arrival curve expects to have come by now (lib.queuesim, the curve the plan's simulation draws from),
    less the people sampled there; the minutes it takes at the last 10 minutes' rate, "not moving" when no
    one is being sampled; nothing for a site no plan calls people to. Checked against the batch rows."""
    from gridroll.lib import queuesim
    from gridroll.sampling.models import minute_of

    round_, sites = started
    planning.make_plan(admin, round_, tree["community"])
    _scan(
        admin,
        round_,
        sites[0],
        list(Resident.objects.filter(household__building__grid=tree["grid_a"])[:7]),
        "QUEUE001",
    )
    elsewhere = Site.objects.create(area=tree["grid_b"], name="无计划采样点")
    now = timezone.now()
    rows = {s["pk"]: s for s in queries.view_data(round_, tree["district"], only={"sites"}, now=now)["sites"]}
    assert rows[elsewhere.pk]["queue"] is None
    newest = 9 + (now - minute_of(now)).total_seconds() / 60
    assert rows[sites[0].pk]["last10"] == 7
    waiting_somewhere = False
    for site in sites:
        batches = Batch.objects.filter(plan__round=round_, site=site).exclude(kind=Batch.Kind.HOME)
        if not batches:
            assert rows[site.pk]["queue"] is None
            continue
        arrived = sum(
            queuesim.expected_arrivals(
                (b.starts_at - now).total_seconds() / 60,
                (b.ends_at - now).total_seconds() / 60,
                sum(m.people for m in b.members.all()),
                0.0,
            )
            for b in batches
        )
        sampled = Sample.objects.filter(round=round_, tube__site=site, is_removed=False).count()
        want = max(0, round(arrived - sampled))
        queue = rows[site.pk]["queue"]
        assert queue["people"] == want, site.name
        rate = rows[site.pk]["last10"] / newest
        if want:
            waiting_somewhere = True
            assert queue["minutes"] == (round(want / rate) if rate else None)
    assert waiting_somewhere  # the round began 90 minutes ago: people are expected at some site

    html = login(admin).get(reverse("command:board", args=[round_.pk, tree["district"].pk])).content.decode()
    assert "Predicted queue" in html or "预计排队" in html
