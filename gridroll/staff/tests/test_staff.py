"""Staff and volunteers (issue 19, part 6): assignments respect skills and rest, needs are filled or the
shortage reported, call-ups and check-ins are audited, a sampler's site access comes from the
assignment, the import keeps a bad row with its reason, and outsiders see nothing of another area."""

from __future__ import annotations

import datetime
import io
import itertools

import pytest
from django.urls import reverse
from django.utils import timezone

from gridroll.accounts.models import Grant
from gridroll.accounts.scope import can
from gridroll.areas.models import Area, Level
from gridroll.audit.models import AuditRecord
from gridroll.conftest import csv_bytes, make_user
from gridroll.lib import staffing
from gridroll.planning import services as planning
from gridroll.planning.tests.conftest import town  # noqa: F401 - the planning tests' town
from gridroll.staff import services
from gridroll.staff.models import Assignment, CallUpReply, CheckIn, Shift, Skill, StaffMember, Team
from gridroll.staff.services import StaffError

ALL = ["sampler", "scanner", "entry", "guide", "consult", "order", "driver"]


# ------------------------------------------------------------------------------------ the solver alone


def _needs(sites: int, shifts: int = 3, count: int = 2) -> list[staffing.NeedIn]:
    out = []
    for s in range(sites):
        for k in range(shifts):
            for role in ("sampler", "order"):
                out.append(
                    staffing.NeedIn(len(out) + 1, f"/1/2/{10 + s}/", role, k * 120, k * 120 + 120, count)
                )
    return out


def test_assignments_respect_skills_base_area_and_rest():
    needs = _needs(sites=3)
    people = [staffing.PersonIn(i, "/1/2/", frozenset({"sampler"})) for i in range(12)]
    people += [staffing.PersonIn(100 + i, "/1/2/", frozenset({"order"})) for i in range(12)]
    # Someone sent elsewhere is never used here, whatever their skills.
    people += [staffing.PersonIn(900 + i, "/1/3/", frozenset(ALL)) for i in range(20)]
    for solve in (staffing.solve, staffing.greedy):
        result = solve(needs, people, rest=60)
        assert staffing.check(needs, people, result, rest=60) == []
        assert not result.short
        assert not any(pid >= 900 for _nid, pid in result.assigned)
        roles = {n.id: n.role for n in needs}
        assert all(roles[nid] == ("order" if pid >= 100 else "sampler") for nid, pid in result.assigned)
        # With an hour of rest, no one works two shifts in a row (0-2 h and 2-4 h).
        worked: dict[int, list[float]] = {}
        starts = {n.id: n.start for n in needs}
        for nid, pid in result.assigned:
            worked.setdefault(pid, []).append(starts[nid])
        for times in worked.values():
            times.sort()
            assert all(b - a >= 240 for a, b in itertools.pairwise(times))


def test_the_shortage_is_reported_not_hidden():
    needs = _needs(sites=2, count=3)  # 6 samplers per shift, 3 shifts
    people = [staffing.PersonIn(i, "/1/2/", frozenset({"sampler", "order"})) for i in range(7)]
    result = staffing.solve(needs, people, rest=60)
    assert staffing.check(needs, people, result, rest=60) == []
    needed = sum(n.count for n in needs)
    # 7 people, each at most two of the three shifts (0-2 h and 4-6 h): 14 places of 36.
    assert result.filled == 14
    assert sum(result.short.values()) == needed - 14


def test_the_solver_fills_what_the_greedy_floor_misses():
    """Greedy gives the early shift to whoever comes first; the solver keeps the one person who can
    also swab for the shift only they can do."""
    needs = [
        staffing.NeedIn(1, "/1/2/", "order", 0, 120, 1),
        staffing.NeedIn(2, "/1/2/", "sampler", 60, 180, 1),
    ]
    people = [
        staffing.PersonIn(1, "/1/2/", frozenset({"order", "sampler"})),
        staffing.PersonIn(2, "/1/2/", frozenset({"order"})),
    ]
    assert not staffing.solve(needs, people, rest=60).short
    # Greedy takes the first order-keeper on its list (the only sampler) and leaves the swabbing empty.
    assert staffing.greedy(needs, people, rest=60).short == {2: 1}


# --------------------------------------------------------------------------------- the round's shifts


@pytest.fixture
def planned(town, tree, sub_admin):  # noqa: F811 - the fixture imported above
    """The town's round planned, shifted so that it starts in an hour (nothing started yet)."""
    round_, sites = town
    round_.starts_at = timezone.now() + datetime.timedelta(hours=1)
    round_.ends_at = round_.starts_at + datetime.timedelta(hours=4)
    round_.save()
    planning.make_plan(sub_admin, round_, tree["community"])
    return round_, sites


_PHONES = itertools.count(6350000)


def _staff(area: Area, n: int, skills: list[str], team: Team | None = None, prefix: str = "人员") -> list:
    out = []
    for i in range(n):
        out.append(
            StaffMember.objects.create(
                name=f"{prefix}{i}",
                phone=f"139{next(_PHONES):08d}",
                home_unit="镇卫生院",
                home_area=area,
                skills=skills,
                team=team,
            )
        )
    return out


def test_deploy_fills_every_need_when_enough_staff_exist(planned, tree, sub_admin):
    round_, sites = planned
    town_area = Area.objects.create(name="侯营镇", level=Level.TOWN, parent=tree["district"])
    team = Team.objects.create(name="侯营镇队", home_area=town_area, destination=tree["sub"])
    _staff(town_area, 40, ALL, team)
    summary = services.deploy(sub_admin, round_, tree["community"])
    shifts = list(Shift.objects.filter(round=round_))
    assert shifts and {s.site for s in shifts} == set(sites)
    assert summary["short"] == 0 and summary["assigned"] == summary["needed"] == sum(s.needed for s in shifts)
    # Sized from the stations and the plan: no more samplers than a site has stations.
    stations = {s.pk: s.stations.count() for s in sites}
    assert all(s.needed <= stations[s.site_id] for s in shifts if s.role == Skill.SAMPLER)
    # Rest: nobody holds two shifts closer than REST_MINUTES apart.
    by_member: dict[int, list[Shift]] = {}
    for a in Assignment.objects.select_related("shift"):
        by_member.setdefault(a.member_id, []).append(a.shift)
    for held in by_member.values():
        held.sort(key=lambda s: s.starts_at)
        for a, b in itertools.pairwise(held):
            assert (b.starts_at - a.ends_at) >= datetime.timedelta(minutes=services.REST_MINUTES)
    rec = AuditRecord.objects.get(action="staff.deploy")
    assert rec.changes["short"] == [None, 0] and rec.area_path == tree["community"].path


def test_deploy_reports_the_shortage_and_keeps_skills(planned, tree, sub_admin, client):
    round_, _sites = planned
    samplers = _staff(tree["sub"], 2, ["sampler"], prefix="采样")
    _staff(tree["sub"], 3, ["order", "guide"], prefix="秩序")
    summary = services.deploy(sub_admin, round_, tree["community"])
    assert summary["short"] > 0
    assert summary["assigned"] + summary["short"] == summary["needed"]
    for a in Assignment.objects.select_related("shift", "member"):
        assert a.shift.role in a.member.skills
    assert set(Assignment.objects.filter(shift__role="sampler").values_list("member", flat=True)) <= {
        m.pk for m in samplers
    }
    client.force_login(sub_admin)
    page = client.get(reverse("staff:board", args=[round_.pk])).content.decode()
    assert 'id="short"' in page and "采样0" in page


def test_a_deactivated_person_is_not_assigned_and_someone_with_shifts_is_never_deleted(
    planned, tree, sub_admin
):
    round_, _sites = planned
    a, b = _staff(tree["sub"], 2, ALL)
    services.set_active(sub_admin, b, False, "病假")
    services.deploy(sub_admin, round_, tree["community"])
    assert not Assignment.objects.filter(member=b).exists()
    assert Assignment.objects.filter(member=a).exists()
    with pytest.raises(StaffError) as exc:
        services.delete_member(sub_admin, a)
    assert exc.value.code == "has_shifts"
    assert StaffMember.objects.filter(pk=a.pk).exists()
    services.delete_member(sub_admin, b)  # never deployed: an entry made by mistake may go
    assert AuditRecord.objects.filter(action__in=["staff.deactivate", "staff.delete"]).count() == 2


def test_a_samplers_site_access_comes_from_the_assignment_for_its_window(planned, tree, sub_admin):
    round_, _sites = planned
    account = make_user("zhao", None, None)
    (doctor,) = _staff(tree["sub"], 1, ["sampler"], prefix="赵医生")
    services.link_account(sub_admin, doctor, account)
    services.deploy(sub_admin, round_, tree["community"])
    a = Assignment.objects.select_related("shift__site__area", "grant").filter(member=doctor).first()
    assert a is not None and a.grant is not None
    assert a.grant.role == "sampler" and a.grant.area == a.shift.site.area
    assert a.grant.valid_from == a.shift.starts_at - services.ACCESS_MARGIN
    assert a.grant.valid_until == a.shift.ends_at + services.ACCESS_MARGIN
    inside = a.shift.starts_at + datetime.timedelta(minutes=5)
    after = a.shift.ends_at + datetime.timedelta(hours=1)
    assert Grant.objects.current(inside).filter(pk=a.grant.pk).exists()
    assert not Grant.objects.current(after).filter(pk=a.grant.pk).exists()
    # Before the window (the round starts in an hour, the margin is 30 minutes) there is no access yet.
    account = type(account).objects.get(pk=account.pk)
    assert not can(account, "scan", a.shift.site.area.path)
    # A re-deploy replaces the assignment and its grant: no grant is left behind.
    services.deploy(sub_admin, round_, tree["community"])
    assert (
        Grant.objects.filter(user=account).count()
        == Assignment.objects.filter(member=doctor, shift__role="sampler").count()
    )


def _one_block(town):  # noqa: F811
    """The town's round cut to one two-hour block from now: every shift is on now."""
    round_, sites = town
    round_.ends_at = round_.starts_at + datetime.timedelta(minutes=services.SHIFT_MINUTES)
    round_.save()
    return round_, sites


def test_a_sampler_on_shift_now_reaches_the_site_board_and_no_other(town, tree, sub_admin, client):  # noqa: F811
    round_, sites = _one_block(town)
    planning.make_plan(sub_admin, round_, tree["community"])
    account = make_user("qian", None, None)
    (doctor,) = _staff(tree["sub"], 1, ["sampler"], prefix="钱医生")
    services.link_account(sub_admin, doctor, account)
    services.deploy(sub_admin, round_, tree["community"])
    a = services.current_assignment(doctor)
    assert a is not None and a.shift.role == "sampler"
    client.force_login(account)
    assert client.get(reverse("sampling:board", args=[a.shift.site.pk])).status_code == 200
    other = next(s for s in sites if s.area_id != a.shift.site.area_id)
    assert client.get(reverse("sampling:board", args=[other.pk])).status_code == 404


def test_a_grant_made_by_hand_still_works(sampler, tree):
    assert can(sampler, "scan", tree["grid_a"].path)


# ------------------------------------------------------------------------------- check-in and call-up


@pytest.fixture
def on_shift(town, tree, sub_admin):  # noqa: F811
    """The town's round on now, planned, one staff member with an account deployed to it."""
    round_, _sites = _one_block(town)
    planning.make_plan(sub_admin, round_, tree["community"])
    team = Team.objects.create(name="梁水镇队", home_area=tree["sub"], destination=tree["community"])
    people = _staff(tree["sub"], 30, ALL, team)
    account = make_user("liang", None, None)
    services.link_account(sub_admin, people[0], account)
    services.deploy(sub_admin, round_, tree["community"])
    a = services.current_assignment(people[0])
    assert a is not None
    return {"round": round_, "member": people[0], "account": account, "assignment": a, "team": team}


def test_check_in_by_the_site_code_is_audited_and_shows_on_the_board(on_shift, sub_admin, client):
    a, account = on_shift["assignment"], on_shift["account"]
    site = a.shift.site
    client.force_login(account)
    # The site code's link takes a logged-in staff member to the check-in.
    r = client.get(reverse("codes:register_site", args=[site.token]))
    assert r.status_code == 302 and r.url == reverse("staff:checkin", args=[site.token])
    assert 'id="checkin"' in client.get(r.url).content.decode()
    client.post(r.url)
    c = CheckIn.objects.get(member=on_shift["member"])
    assert c.site == site and c.shift == a.shift
    rec = AuditRecord.objects.get(action="staff.checkin")
    assert rec.actor == account and rec.area_path == site.area.path
    client.force_login(sub_admin)
    board = client.get(reverse("staff:board", args=[on_shift["round"].pk])).content.decode()
    assert on_shift["member"].name in board.split(f'id="site-{site.pk}"')[1].split("</p>")[0]


def test_check_in_where_one_has_no_shift_is_refused(on_shift, tree, client):
    from gridroll.sampling.models import Site

    other = Site.objects.create(area=tree["grid_b"], name="别处采样点")
    client.force_login(on_shift["account"])
    client.post(reverse("staff:checkin", args=[other.token]))
    assert not CheckIn.objects.exists()
    assert not AuditRecord.objects.filter(action="staff.checkin").exists()


def test_a_call_up_reaches_the_team_by_sms_and_shows_who_acknowledged(
    on_shift, sub_admin, client, sms_outbox, django_capture_on_commit_callbacks
):
    team = on_shift["team"]
    gather = (timezone.localtime() + datetime.timedelta(minutes=40)).strftime("%Y-%m-%dT%H:%M")
    client.force_login(sub_admin)
    # The messages go once the call-up is committed.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("staff:team", args=[team.pk]),
            {"action": "callup", "gather_at": gather, "place": "镇政府门口", "text": "带好防护服"},
        )
    assert len(sms_outbox) == team.members.count() == 30
    assert "镇政府门口" in sms_outbox[0].text
    assert AuditRecord.objects.get(action="staff.callup").changes["sent"] == [None, 30]
    reply = CallUpReply.objects.get(member=on_shift["member"])
    client.force_login(on_shift["account"])
    me = client.get(reverse("staff:me")).content.decode()
    assert f'id="callup-{reply.pk}"' in me
    client.post(reverse("staff:ack", args=[reply.pk]))
    reply.refresh_from_db()
    assert reply.acknowledged_at is not None
    assert AuditRecord.objects.get(action="staff.callup_ack").actor == on_shift["account"]
    client.force_login(sub_admin)
    page = client.get(reverse("staff:team", args=[team.pk])).content.decode()
    assert "1 of 30 acknowledged" in page or "30 人中 1 人已确认" in page
    # Someone else's call-up cannot be acknowledged by this account.
    other = CallUpReply.objects.exclude(pk=reply.pk).first()
    client.force_login(on_shift["account"])
    assert client.post(reverse("staff:ack", args=[other.pk])).status_code == 404


def test_my_page_shows_my_shift_site_and_duty(on_shift, client):
    client.force_login(on_shift["account"])
    page = client.get(reverse("staff:me")).content.decode()
    shift = on_shift["assignment"].shift
    assert shift.site.name in page and shift.get_role_display() in page
    assert 'class="card shift now"' in page


# --------------------------------------------------------------------------------------------- import


def test_import_keeps_a_bad_row_with_its_reason(tree, sub_admin, client):
    Team.objects.create(name="梁水镇队", home_area=tree["sub"], destination=tree["community"])
    table = csv_bytes(
        [
            ["侯营镇抽调人员名单"],
            ["姓名", "手机号", "单位", "所属区域", "技能", "队伍"],
            ["赵医生", "13906351234", "镇卫生院", "测试社区", "采样、扫码引导", "梁水镇队"],
            ["钱干事", "1390635", "侯营镇机关", "", "信息录入", ""],
            ["孙大姐", "13906355678", "公益岗", "", "跳舞", ""],
            ["李师傅", "13906359999", "镇卫生院", "", "司机", "没有这个队"],
            ["周干事", "13906351234", "侯营镇机关", "", "秩序维护", ""],
        ]
    )
    client.force_login(sub_admin)
    r = client.post(reverse("staff:import"), {"area": tree["sub"].pk, "file": _upload(table, "名单.csv")})
    assert r.status_code == 302
    page = client.get(r.url).content.decode()
    from gridroll.staff.models import StaffImport

    imp = StaffImport.objects.get()
    assert [x["row"] for x in imp.rejects] == [4, 5, 6, 7]
    reasons = {x["row"]: x["reason"] for x in imp.rejects}
    assert "跳舞" in reasons[5] and "没有这个队" in reasons[6] and "第 3 行" in reasons[7]
    assert "跳舞" in page
    assert not StaffMember.objects.exists()  # a preview changes nothing
    client.post(r.url)
    (doctor,) = StaffMember.objects.all()
    assert doctor.skills == ["sampler", "scanner"] and doctor.team.name == "梁水镇队"
    assert doctor.home_area == tree["community"]
    imp.refresh_from_db()
    assert imp.applied_at and len(imp.rejects) == 4  # the bad rows are still there, with their reasons
    assert AuditRecord.objects.filter(action="staff.import").exists()
    # The export has the import's columns, and is audited.
    csv = client.get(reverse("staff:export")).content.decode("utf-8-sig")
    assert csv.splitlines()[0].startswith("姓名,手机号") and "赵医生" in csv
    assert AuditRecord.objects.filter(action="staff.export").exists()


def _upload(content: bytes, name: str):
    f = io.BytesIO(content)
    f.name = name
    return f


def test_an_excel_table_with_phones_stored_as_numbers(tree, sub_admin, client):
    from gridroll.conftest import xlsx_bytes

    table = xlsx_bytes(
        [
            ["姓名", "手机", "单位", "岗位"],
            ["王干事", 13906350001, "梁水镇机关", "扫码、信息录入"],
            ["", "", "", ""],
            ["李大姐", 13906350002, "公益岗", "秩序维护/引导"],
        ]
    )
    client.force_login(sub_admin)
    r = client.post(reverse("staff:import"), {"area": tree["sub"].pk, "file": _upload(table, "名单.xlsx")})
    client.post(r.url)
    got = dict(StaffMember.objects.values_list("phone", "skills"))
    assert got == {"13906350001": ["scanner", "entry"], "13906350002": ["order", "guide"]}


def test_an_unreadable_table_stores_nothing(tree, sub_admin, client):
    client.force_login(sub_admin)
    r = client.post(
        reverse("staff:import"), {"area": tree["sub"].pk, "file": _upload(csv_bytes([["a", "b"]]), "x.csv")}
    )
    assert r.status_code == 200 and "姓名" in r.content.decode()
    from gridroll.staff.models import StaffImport

    assert not StaffImport.objects.exists()


# ------------------------------------------------------------------------------------------- scoping


def test_outsiders_see_no_other_areas_staff_or_deployment(planned, tree, sub_admin, client):
    round_, _sites = planned
    (mine,) = _staff(tree["sub"], 1, ALL, prefix="本街道")
    services.deploy(sub_admin, round_, tree["community"])
    other_sub = Area.objects.create(name="别的街道", level=Level.SUBDISTRICT, parent=tree["district"])
    (theirs,) = _staff(other_sub, 1, ALL, prefix="外街道")
    neighbour = make_user("neighbour", "subdistrict_admin", other_sub)
    client.force_login(neighbour)
    page = client.get(reverse("staff:register")).content.decode()
    assert theirs.name in page and mine.name not in page
    assert mine.name not in client.get(reverse("staff:export")).content.decode("utf-8-sig")
    assert client.get(reverse("staff:member", args=[mine.pk])).status_code == 404
    board = client.get(reverse("staff:board", args=[round_.pk]))
    assert board.status_code == 200 and mine.name not in board.content.decode()
    # A team sent into their area makes its members visible there (not editable).
    team = Team.objects.create(name="支援队", home_area=tree["sub"], destination=other_sub)
    services.set_team(sub_admin, team, [mine])
    r = client.get(reverse("staff:member", args=[mine.pk]))
    assert r.status_code == 200 and 'name="action" value="save"' not in r.content.decode()
    for user in (make_user("someone", "grid_worker", tree["grid_a"]), make_user("nobody", None, None)):
        client.force_login(user)
        for name in ("staff:register", "staff:teams", "staff:import", "staff:export"):
            assert client.get(reverse(name)).status_code == 404, (user, name)


# ------------------------------------------------------------------ accounts made from the register


def test_a_staff_members_account_is_made_from_the_register_not_by_hand(
    town,  # noqa: F811
    tree,
    sub_admin,
    client,
    sms_outbox,
    django_capture_on_commit_callbacks,
):
    """Issue 19: samplers' accounts and site grants come from the register and the assignment. The planner
    makes the account on the member's page: the login is the phone, a one-off password is texted to it,
    the account holds no grant made by hand, and its site access is exactly its sampler shifts'."""
    round_, _sites = _one_block(town)
    planning.make_plan(sub_admin, round_, tree["community"])
    team = Team.objects.create(name="梁水镇队", home_area=tree["sub"], destination=tree["community"])
    people = _staff(tree["sub"], 30, ALL, team)
    services.deploy(sub_admin, round_, tree["community"])
    member = people[0]
    client.force_login(sub_admin)
    page = client.get(reverse("staff:member", args=[member.pk])).content.decode()
    assert 'value="create_account"' in page
    with django_capture_on_commit_callbacks(execute=True):  # the text goes once the account is committed
        client.post(reverse("staff:member", args=[member.pk]), {"action": "create_account"})
    member.refresh_from_db()
    account = member.user
    assert account is not None and account.username == member.phone
    assert len(sms_outbox) == 1 and sms_outbox[0].phone == member.phone
    password = sms_outbox[0].text.split("初始密码：")[1].split("。")[0]
    assert account.check_password(password) and len(password) == 10
    assert AuditRecord.objects.filter(action="staff.create_account", actor=sub_admin).count() == 1
    assert not Grant.objects.filter(user=account, valid_until__isnull=True).exists()
    sampler_shifts = Assignment.objects.filter(
        member=member, shift__role=Skill.SAMPLER, shift__ends_at__gt=timezone.now()
    ).count()
    assert Grant.objects.filter(user=account, role="sampler").count() == sampler_shifts
    # A second account for the same person is refused; so is one whose login another account holds.
    with pytest.raises(StaffError) as refused:
        services.create_account(sub_admin, member)
    assert refused.value.code == "has_account"
    make_user(people[1].phone, None, None)
    with pytest.raises(StaffError) as taken:
        services.create_account(sub_admin, people[1])
    assert taken.value.code == "login_taken" and people[1].user is None
    # The new account logs in with the texted password and changes it.
    client.logout()
    r = client.post(reverse("accounts:login"), {"username": account.username, "password": password})
    assert r.status_code == 302, r.content.decode()[:500]
    r = client.post(
        reverse("accounts:password_change"),
        {"old_password": password, "new_password1": "caiyang-2022-xin", "new_password2": "caiyang-2022-xin"},
    )
    assert r.status_code == 302 and r.url == reverse("accounts:password_changed")
    account.refresh_from_db()
    assert account.check_password("caiyang-2022-xin")


def test_an_outsider_cannot_make_an_account_for_another_areas_staff(town, tree, sub_admin, outsider, client):  # noqa: F811
    member = _staff(tree["sub"], 1, ALL, None)[0]
    client.force_login(outsider)
    r = client.post(reverse("staff:member", args=[member.pk]), {"action": "create_account"})
    assert r.status_code == 404
    member.refresh_from_db()
    assert member.user is None
