"""The demo's staff (issue 19, part 6), as in the seed: 梁水镇's cadres and clinic staff sent to 古楼街道's
sampling points, 侯营镇's to 柳园街道's, grid workers and public-welfare posts joining the scanning teams.

Both subdistricts are planned, their shifts made from the plans and filled by the solver; 梁水镇's team is
called up and part of it has acknowledged; the demo login ``liangshui`` is a 梁水镇 sampler whose site
access comes from their assignment (no grant by hand), and has checked in at their site. Most of the
others on shift now have checked in too; the rest are the gaps the command view shows.
"""

from __future__ import annotations

import datetime
import random

from django.contrib.auth.models import User
from django.test.utils import override_settings
from django.utils import timezone

from gridroll.accounts.models import Grant
from gridroll.areas.models import Area
from gridroll.demo.district import DEMO_PASSWORD
from gridroll.planning import services as planning
from gridroll.sampling.models import Round, Site, SiteOpening, Station
from gridroll.staff import services
from gridroll.staff.models import Assignment, CallUpReply, Skill

STAFF_USER = ("liangshui", "梁水镇 采样员 周护士")
# One sampling point more in each community without one (the seed's 古楼街道 had 28 for 8 communities).
MORE_SITES = {
    "古楼街道": ("西关社区", "南关社区", "北关社区", "光岳社区", "铁塔社区", "米市社区", "楼南社区"),
    "柳园街道": ("龙湾社区",),
}
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红梅建国志强海燕春生"
# (unit, skills, how many) per sending town: clinic staff swab, cadres scan and enter, 公益岗 keep order.
UNITS = (
    ("{town}卫生院", [Skill.SAMPLER], 14),
    ("{town}卫生院", [Skill.SAMPLER, Skill.ENTRY], 4),
    ("{town}机关", [Skill.SCANNER, Skill.ENTRY], 16),
    ("{town}机关", [Skill.SCANNER, Skill.GUIDE], 8),
    ("{town}机关", [Skill.CONSULT, Skill.ENTRY], 5),
    ("{town}公益岗", [Skill.ORDER, Skill.GUIDE], 8),
    ("{town}机关", [Skill.DRIVER], 2),
)
# (sending town, where the team goes, team, how many of each unit's people): 古楼街道 has more points.
TEAMS = (("梁水镇", "古楼街道", "梁水镇抽调队", 4), ("侯营镇", "柳园街道", "侯营镇抽调队", 2))


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def _more_sites(district: Area, round_: Round) -> None:
    """More sampling points (the demo's codes made one or two per subdistrict), with stations and hours."""
    template = round_.openings.first()
    for sub_name, communities in MORE_SITES.items():
        sub = Area.objects.get(parent=district, name=sub_name)
        for name in communities:
            community = Area.objects.get(parent=sub, name=name)
            site = Site.objects.create(area=community, name=f"{name}采样点", address=f"{name}居委会门前")
            for n in (1, 2, 3):
                Station.objects.create(site=site, name=f"{n}号台")
            if template is not None:
                SiteOpening.objects.create(
                    round=round_, site=site, opens_at=template.opens_at, closes_at=template.closes_at
                )


def _plan(admin, round_: Round, area: Area) -> None:
    """Plan the area, opening more stations at its sites while they cannot take everyone in time."""
    sites = list(Site.objects.filter(area__path__startswith=area.path))
    for _ in range(8):
        try:
            planning.make_plan(admin, round_, area)
            return
        except planning.PlanningError as exc:
            if exc.code != "not_enough_capacity":
                return  # without a plan, shifts are sized from the stations alone
        for site in sites:
            Station.objects.create(site=site, name=f"{site.stations.count() + 1}号台")


def build(district_name: str) -> dict:
    # The call-up's messages stay in memory (gridroll.core.sms.outbox) rather than fill the console.
    with override_settings(SMS_BACKEND="gridroll.core.sms.LocmemBackend"):
        return _build(district_name)


def _build(district_name: str) -> dict:
    rng = random.Random(19)
    district = Area.objects.get(name=district_name, parent__isnull=True)
    round_ = Round.objects.filter(status=Round.Status.OPEN).order_by("-starts_at").first()
    assert round_ is not None
    admin = User.objects.filter(is_superuser=True).first()
    _more_sites(district, round_)
    phones = iter(range(13963500000, 13963600000, 7))
    out: dict = {}
    for town_name, dest_name, team_name, times in TEAMS:
        town = Area.objects.get(parent=district, name=town_name)
        dest = Area.objects.get(parent=district, name=dest_name)
        _plan(admin, round_, dest)
        team = services.create_team(admin, name=team_name, home_area=town, destination=dest)
        for unit, skills, n in UNITS:
            for _ in range(n * times):
                services.save_member(
                    admin,
                    None,
                    name=_name(rng),
                    phone=str(next(phones)),
                    home_unit=unit.format(town=town_name),
                    home_area=town,
                    skills=list(skills),
                    team=team,
                )
        out[dest_name] = services.deploy(admin, round_, dest)
        out[team_name] = team

    # The staff login: a 梁水镇 sampler on shift now at one of 古楼街道's points.
    now = timezone.now()
    a = (
        Assignment.objects.filter(
            shift__role=Skill.SAMPLER,
            shift__site__area__path__startswith=Area.objects.get(name="古楼街道").path,
            shift__starts_at__lte=now,
            shift__ends_at__gt=now,
        )
        .select_related("member", "shift__site")
        .order_by("shift__site__name", "member__name")
        .first()
    )
    assert a is not None
    username, full_name = STAFF_USER
    account = User.objects.create_user(username, password=DEMO_PASSWORD, first_name=full_name.split()[-1])
    member = a.member
    member.name = full_name.split()[-1]
    member.save(update_fields=["name"])
    services.link_account(admin, member, account)
    services.check_in(account, a.shift.site)

    # 梁水镇's team called up for the next shift; some have acknowledged, by their page or by phone.
    team = out["梁水镇抽调队"]
    callup = services.call_up(
        admin,
        team,
        text="第二班次人员带好防护服、面屏，到后找采样点负责人签到。",
        place="梁水镇政府门口（统一乘车）",
        gather_at=now + datetime.timedelta(minutes=50),
    )
    replies = list(
        CallUpReply.objects.filter(callup=callup).select_related("member").order_by("member__name")
    )
    services.acknowledge(account, next(r for r in replies if r.member_id == member.pk))
    for r in replies[: len(replies) * 3 // 5]:
        services.acknowledge(admin, r, by_phone=True)
    checked_in = _check_in_most(admin, round_, rng, now)
    # The grid workers are in the register too, with their accounts linked: the command view's lagging
    # grids show their phones (masked above the community).
    for grant in Grant.objects.filter(role="grid_worker").select_related("user", "area__parent"):
        worker = services.save_member(
            admin,
            None,
            name=grant.user.first_name or grant.user.username,
            phone=str(next(phones)),
            home_unit=grant.area.parent.name if grant.area.parent else grant.area.name,
            home_area=grant.area.parent or grant.area,
            skills=["entry", "guide"],
        )
        services.link_account(admin, worker, grant.user)
    return {"site": a.shift.site, "member": member, "summaries": out, "checked_in": checked_in}


def _check_in_most(admin, round_: Round, rng: random.Random, now: datetime.datetime) -> int:
    """About four in five of the people on a shift now have checked in at their site, each with a login
    of their own (made here without a password, as an administrator would before the SMS), so that the
    command view's staff panel shows people on duty and the gaps: the rest, and every site of the
    district nobody was sent to."""
    on = (
        Assignment.objects.filter(
            shift__round=round_, shift__starts_at__lte=now, shift__ends_at__gt=now, member__user__isnull=True
        )
        .select_related("member", "shift__site")
        .order_by("shift__site__name", "member__name")
    )
    n = 0
    for a in on:
        if rng.random() >= 0.8:
            continue
        account = User.objects.create_user(a.member.phone, password=None, first_name=a.member.name[:150])
        services.link_account(admin, a.member, account)
        services.check_in(account, a.shift.site, now)
        n += 1
    return n
