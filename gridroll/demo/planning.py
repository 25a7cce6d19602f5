"""The demo round's plan (issue 19): 闫寺街道 planned in batches and slots, then a site falls behind (two
of its stations closed) and a re-plan of the remaining batches waits for someone to accept it."""

from __future__ import annotations

import math

from django.contrib.auth.models import User

from gridroll.areas.models import Area
from gridroll.planning import services
from gridroll.planning.models import DEFAULT_RATES, StationCapacity
from gridroll.residents.models import Resident
from gridroll.sampling.models import Round, Site, Station

PLANNED = "闫寺街道"
BEHIND = "嘉明社区服务中心采样点"


def build(district_name: str) -> dict:
    district = Area.objects.get(name=district_name, parent__isnull=True)
    area = Area.objects.get(parent=district, name=PLANNED)
    round_ = Round.objects.filter(status=Round.Status.OPEN).order_by("-starts_at").first()
    assert round_ is not None
    admin = User.objects.filter(is_superuser=True).first()
    sites = list(Site.objects.filter(area__path__startswith=area.path).order_by("name"))
    # Enough stations for the subdistrict in the sites' hours at 80% load (the guideline's rule of
    # samplers = population ÷ 360 gives about the same): the demo's sites start with three each.
    people = Resident.objects.filter(household__building__grid__path__startswith=area.path).count()
    opening = round_.openings.filter(site=sites[0]).first()
    minutes = (opening.closes_at - opening.opens_at).total_seconds() / 60 if opening else 300
    need = math.ceil(people * 60 / DEFAULT_RATES["pool10"] / (minutes * 0.75))
    n = 3
    while sum(s.stations.count() for s in sites) < need:
        n += 1
        for s in sites:
            Station.objects.get_or_create(site=s, name=f"{n}号台")
    plan = services.make_plan(admin, round_, area)
    # Two stations of one site close (samplers sent to the 盛世佳苑 site): it falls behind.
    behind = Site.objects.get(name=BEHIND)
    for st in behind.stations.order_by("name")[:2]:
        StationCapacity.objects.update_or_create(station=st, defaults={"is_open": False})
    proposal = services.propose_replan(
        admin, plan, reason=f"{BEHIND}两个采样台关闭，剩余批次重新安排", speeds={}
    )
    return {"plan": plan, "proposal": proposal}
