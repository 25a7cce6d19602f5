"""The demo's open round: sites with stations, tubes filled through the real scan service, boxes at each
stage of their chain of custody, an open tube, and one offline scan the server refused (to review)."""

from __future__ import annotations

import datetime
import uuid

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from gridroll.areas.models import Area
from gridroll.codes.models import PersonalCode
from gridroll.sampling.models import Box, Round, RoundArea, Site, SiteOpening, Station
from gridroll.sampling.services import hand_over_box, pack_tube, record_action, seal_box

TUBES_FILLED = 60


@transaction.atomic
def build(district_name: str) -> dict:
    now = timezone.now()
    district = Area.objects.get(name=district_name, parent__isnull=True)
    round_ = Round.objects.create(
        name="第3轮全员核酸检测",
        starts_at=now - datetime.timedelta(hours=2),
        ends_at=now + datetime.timedelta(hours=4),
        status=Round.Status.OPEN,
    )
    RoundArea.objects.create(round=round_, area=district, pool_mode="pool10")
    # A sealed zone (封控区): one tube per household, as the guideline allows.
    sealed_zone = Area.objects.get(name="第二网格", parent__name="兴业社区")
    RoundArea.objects.create(round=round_, area=sealed_zone, pool_mode="household")
    for site in Site.objects.all():
        for n in (1, 2, 3):
            Station.objects.create(site=site, name=f"{n}号台")
        # 分时段: the site opens with the round, closes an hour before it ends.
        SiteOpening.objects.create(
            round=round_,
            site=site,
            opens_at=round_.starts_at,
            closes_at=round_.ends_at - datetime.timedelta(hours=1),
        )
    site = Site.objects.get(name="盛世佳苑北门采样点")
    stations = list(site.stations.order_by("name"))
    sampler = User.objects.get(username="sampler")
    codes = list(
        PersonalCode.objects.filter(revoked_at__isnull=True, resident__household__building__grid=site.area)
        .order_by("resident__household_id", "resident_id")
        .values_list("token", flat=True)[: TUBES_FILLED * 10 + 4]
    )
    started = now - datetime.timedelta(minutes=82)
    clock = iter(range(10**6))

    def act(kind, tube, index, **extra):
        # One action every 8 seconds across the three stations, ending about now.
        return record_action(
            sampler,
            {
                "nonce": uuid.uuid4().hex,
                "device_id": f"demo-phone-{index % 3 + 1}",
                "kind": kind,
                "device_time": (started + datetime.timedelta(seconds=7 * next(clock))).isoformat(),
                "round_id": round_.pk,
                "site_id": site.pk,
                "station_id": stations[index % 3].pk,
                "tube": tube,
                **extra,
            },
        )

    tubes = []
    for t in range(TUBES_FILLED):
        barcode = f"LC22{t + 1:06d}"
        act("open_tube", barcode, t)
        for p in range(10):
            act("add", barcode, t, code=codes[t * 10 + p])
        tubes.append(barcode)
    act("open_tube", "LC22999001", 1)
    for p in range(4):
        act("add", "LC22999001", 1, code=codes[TUBES_FILLED * 10 + p])
    # A phone that was offline had let someone into a tube that another station had already filled.
    act("add", tubes[0], 2, code=codes[-1], decided_offline=True)

    boxes = []
    for b, (start, end) in enumerate(((0, 20), (20, 40), (40, 50))):
        box = Box.objects.create(code=f"XA-{b + 1:04d}", round=round_, site=site)
        for barcode in tubes[start:end]:
            pack_tube(box, barcode)
        boxes.append(box)
    seal_box(boxes[0], 20)
    hand_over_box(boxes[0], "聊城市疾控中心实验室", "李师傅")
    seal_box(boxes[1], 20)
    return {"round": round_, "site": site, "samples": TUBES_FILLED * 10 + 4}
