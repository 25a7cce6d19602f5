"""The demo's codes: everyone has one, sites have site codes, and one family registered itself.

王女士 (the seed's mother whose child has no phone) registers at 兴业社区's site and adds her son, who has
no ID yet, and her father-in-law, who is bedridden; her private link is printed by load_demo.
"""

from __future__ import annotations

import datetime

from django.db import transaction

from gridroll.accounts.models import Grant
from gridroll.areas.models import Area, Building, Household
from gridroll.codes import registration
from gridroll.codes.models import ResidentAccess, hash_access_token
from gridroll.codes.services import issue_codes
from gridroll.lib import idnumber
from gridroll.residents.models import Resident
from gridroll.sampling.models import Site

FAMILY_SECRET = "demo-wang-lijuan-family"
SITES = (
    (("闫寺街道", "嘉明社区", "盛世佳苑网格"), "盛世佳苑北门采样点", "盛世佳苑北门广场"),
    (("闫寺街道", "嘉明社区"), "嘉明社区服务中心采样点", "嘉明社区服务中心门前"),
    (("柳园街道", "兴业社区"), "兴业社区采样点", "兴业社区文化广场"),
    (("柳园街道", "文苑社区"), "文苑社区采样点", "文苑社区南门"),
    (("古楼街道", "东关社区"), "东关社区采样点", "东关街口"),
)


def _area(district: Area, names: tuple[str, ...]) -> Area:
    area = district
    for name in names:
        area = Area.objects.get(parent=area, name=name)
    return area


@transaction.atomic
def build(district_name: str) -> dict:
    district = Area.objects.get(name=district_name, parent__isnull=True)
    sites = [
        Site.objects.create(area=_area(district, names), name=name, address=address)
        for names, name, address in SITES
    ]
    issued = issue_codes(Resident.objects.all(), reason="演示数据")

    xingye = sites[2]
    building = Building.objects.filter(grid__path__startswith=xingye.area.path).order_by("id").first()
    household = Household.objects.filter(building=building).order_by("id").first()
    mother_id = idnumber.make("371502", datetime.date(1990, 7, 8), 88, "F")
    mother = registration.register_self(
        {
            "name": "王丽娟",
            "document_type": "id_card",
            "document_number": mother_id,
            "sex": "F",
            "birth_date": datetime.date(1990, 7, 8),
            "phone": "13863500088",
        },
        household,
        site=xingye,
        consent=True,
    )
    access = mother.resident.accesses.get()
    registration.add_dependent(
        access,
        {
            "name": "张小满",
            "document_type": "none",
            "document_number": "",
            "sex": "M",
            "birth_date": datetime.date.today() - datetime.timedelta(days=500),
        },
        None,
        "父母",
        consent=True,
    )
    grandpa_id = idnumber.make("371502", datetime.date(1941, 3, 3), 7, "M")
    grandpa = registration.add_dependent(
        access,
        {
            "name": "张德福",
            "document_type": "id_card",
            "document_number": grandpa_id,
            "sex": "M",
            "birth_date": datetime.date(1941, 3, 3),
        },
        None,
        "子女",
        consent=True,
    )
    Resident.objects.filter(pk=grandpa.resident.pk).update(is_bedridden=True)
    # A fixed link, so that `make demo` can print it every time. Demo data only: real links are random.
    ResidentAccess.objects.filter(pk=access.pk).update(token_hash=hash_access_token(FAMILY_SECRET))
    # The grid worker knows the family: the three self-registrations join the registry and the roll call
    # (until then they were listed apart as 待核实 and counted nowhere).
    worker = _grid_worker_of(household)
    for resident in (
        mother.resident,
        *Resident.objects.filter(name__in=["张小满", "张德福"], is_pending=True),
    ):
        registration.confirm_resident(worker, resident)
    _waiting_for_niushu()
    return {"codes": issued}


def _grid_worker_of(household: Household):
    """The demo user whose grant covers this household (the grid worker; the district admin else)."""
    from django.contrib.auth.models import User

    path = household.building.grid.path
    for grant in Grant.objects.select_related("user", "area").order_by("-area__path"):
        if path.startswith(grant.area.path) and grant.role == "grid_worker":
            return grant.user
    return User.objects.get(username="district")


def _waiting_for_niushu() -> None:
    """What 待核实 looks like in 盛世佳苑: someone who typed a registered neighbour's name and ID number (a
    claim that shows nothing until checked) and a new tenant who registered themselves."""
    grid = Area.objects.get(name="盛世佳苑网格")
    neighbour = (
        Resident.objects.filter(household__building__grid=grid, document_type="id_card", is_pending=False)
        .exclude(phone="")
        .order_by("id")[5]
    )
    registration.register_self(
        {
            "name": neighbour.name,
            "document_type": "id_card",
            "document_number": neighbour.document_number,
            "sex": neighbour.sex,
            "birth_date": neighbour.birth_date,
            "phone": "13700009999",
        },
        neighbour.household,
        consent=True,
    )
    room = Household.objects.filter(building__grid=grid).order_by("-id").first()
    registration.register_self(
        {
            "name": "孙晓雨",
            "document_type": "id_card",
            "document_number": idnumber.make("371502", datetime.date(1998, 11, 2), 61, "F"),
            "sex": "F",
            "birth_date": datetime.date(1998, 11, 2),
            "phone": "13863511234",
        },
        room,
        consent=True,
    )


def links(base: str) -> list[str]:
    """What to try in the demo, read from the database (printed on every `make demo`)."""
    site = Site.objects.filter(name="兴业社区采样点").first()
    building = Building.objects.filter(grid__name="盛世佳苑网格", compound="盛世佳苑", number="1").first()
    if site is None or building is None:
        return []
    board = Site.objects.filter(name="盛世佳苑北门采样点").values_list("pk", flat=True).first()
    board_site = board or site.pk
    return [
        "  王丽娟's own page (she registered her son, who has no ID, and her bedridden father-in-law; their",
        "  grid worker then confirmed all three, so their codes and results show):",
        f"      {base}/me/{FAMILY_SECRET}/",
        f"  register as a resident:          {base}/register/",
        f"  the site code of {site.name}:  {base}/register/s/{site.token}/  (poster: log in, 采样点与场所码)",
        f"  待核实 (a claim on a registered neighbour, a new tenant): {base}/codes/pending/  (niushu)",
        f"  code cards for {building.label}:  {base}/codes/cards/?building={building.pk}  (log in as niushu)",
        f"  the scanner (log in as sampler): {base}/scan/   ·   site board: {base}/sites/{board_site}/board/",
        *_feed_links(base),
    ]


def _feed_links(base: str) -> list[str]:
    from gridroll.reconcile.models import Feed

    feed = Feed.objects.order_by("pk").first()
    if feed is None:
        return []
    return [
        f"  a big-data list for 嘉明社区 to check: {base}/reconcile/{feed.pk}/  (jiaming or niushu)",
        "      the same file from the command line: .venv/bin/python manage.py reconcile "
        "var/demo/feed-jiaming.xlsx --round current --area 嘉明社区 --out var/demo/feed-result.xlsx "
        "--check-only",
    ]
