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
from gridroll.labs.models import RetestTask
from gridroll.labs.services import import_results, receive_all, receive_box
from gridroll.rollcall.models import Entry
from gridroll.rollcall.services import recount, set_exemption, sync_round
from gridroll.sampling.boxes import hand_over_box, pack_tube, seal_box
from gridroll.sampling.models import Box, Round, RoundArea, Site, SiteOpening, Station
from gridroll.sampling.services import record_action, record_actions

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
    sync_round(round_)
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
            pack_tube(sampler, box, barcode)
        boxes.append(box)
    seal_box(sampler, boxes[0], 20)
    hand_over_box(sampler, boxes[0], "聊城市疾控中心实验室", "李师傅")
    seal_box(sampler, boxes[1], 20)
    results = _lab_results(round_, boxes[0], tubes)
    filled = _other_grids(round_, site, sampler)
    _exemptions(round_, site.area)
    _earlier_round(district, round_)
    return {"round": round_, "site": site, "samples": TUBES_FILLED * 10 + 4 + filled, **results}


def _lab_results(round_: Round, box: Box, tubes: list[str]) -> dict:
    """The first box reached the lab: all negative but one pool, whose ten members are now on 牛叔's
    retest list; one of them has already been re-swabbed into a single tube."""
    lab = User.objects.get(username="lab")
    receive_box(lab, box)
    receive_all(lab, box)
    positive = tubes[3]
    lines = ["管码,结果,CT值,检测时间"]
    tested = (timezone.localtime() - datetime.timedelta(minutes=20)).strftime("%Y-%m-%d %H:%M")
    for barcode in box.tubes.order_by("barcode").values_list("barcode", flat=True):
        lines.append(f"{barcode},{'阳性,31.2' if barcode == positive else '阴性,'},{tested}")
    upload = import_results(
        ("\n".join(lines) + "\n").encode(), "聊城市疾控中心-第1批.csv", user=lab, lab=box.handed_to
    )
    member = RetestTask.objects.filter(tube__barcode=positive).order_by("resident_id").first()
    site = box.site
    sampler = User.objects.get(username="sampler")
    base = {"device_id": "demo-phone-1", "round_id": round_.pk, "site_id": site.pk, "tube": "LC22R00001"}
    record_actions(
        sampler,
        [
            {
                **base,
                "nonce": uuid.uuid4().hex,
                "kind": "open_tube",
                "pool_mode": "single",
                "device_time": timezone.now().isoformat(),
            },
            {
                **base,
                "nonce": uuid.uuid4().hex,
                "kind": "add",
                "resident_id": member.resident_id,
                "device_time": timezone.now().isoformat(),
            },
        ],
    )
    return {"results": upload.applied, "positive_pool": positive}


# How far each other grid of 嘉明社区 has got: most nearly done, one lagging behind.
GRID_PROGRESS = [0.96, 0.9, 0.31]


def _other_grids(round_: Round, site: Site, user) -> int:
    grids = list(
        Area.objects.filter(parent=site.area.parent, level="grid").exclude(pk=site.area_id).order_by("name")
    )
    n = 0
    for grid, share in zip(grids, GRID_PROGRESS, strict=False):
        ids = list(
            Entry.objects.filter(round=round_, grid=grid, state="missing")
            .order_by("household_id", "resident_id")
            .values_list("resident_id", flat=True)
        )
        ids = ids[: int(len(ids) * share)]
        # They come with their codes (a person may test at any site; typing an id is only for the site's
        # own area, sampling.services._person).
        tokens = dict(
            PersonalCode.objects.filter(resident_id__in=ids, revoked_at__isnull=True).values_list(
                "resident_id", "token"
            )
        )
        for start in range(0, len(ids), 10):
            barcode = f"LC23{grid.pk:03d}{start // 10:05d}"
            base = {"device_id": "demo-phone-2", "round_id": round_.pk, "site_id": site.pk, "tube": barcode}
            when = timezone.now().isoformat()
            actions = [{**base, "nonce": uuid.uuid4().hex, "kind": "open_tube", "device_time": when}]
            actions += [
                {**base, "nonce": uuid.uuid4().hex, "kind": "add", "code": tokens[rid], "device_time": when}
                for rid in ids[start : start + 10]
            ]
            if len(actions) < 11:  # a last, partly filled tube is closed by hand (the README: one open tube)
                actions.append({**base, "nonce": uuid.uuid4().hex, "kind": "seal", "device_time": when})
            record_actions(user, actions)
        n += len(ids)
    return n


def _exemptions(round_: Round, grid: Area) -> None:
    """牛叔 knows who is away or in hospital."""
    worker = User.objects.get(username="niushu")
    missing = Entry.objects.filter(round=round_, grid=grid, state="missing").order_by("-resident_id")
    reasons = [
        ("hospital", "市人民医院住院"),
        ("elsewhere", "在济南务工"),
        ("home_scheduled", "卧床，已约上门"),
    ]
    for entry, (reason, note) in zip(list(missing[:3]), reasons, strict=False):
        set_exemption(worker, entry, reason, note)


def _earlier_round(district: Area, current: Round) -> None:
    """Last week's round, closed, for "keep missing": its history is written directly (no tubes kept in
    the demo), everyone negative but the same few people who are missing again now."""
    earlier = Round.objects.create(
        name="第2轮全员核酸检测",
        starts_at=current.starts_at - datetime.timedelta(days=7),
        ends_at=current.ends_at - datetime.timedelta(days=7),
        status=Round.Status.OPEN,
    )
    RoundArea.objects.create(round=earlier, area=district, pool_mode="pool10")
    sync_round(earlier)
    still_missing = set(
        Entry.objects.filter(round=current, state="missing")
        .order_by("resident_id")
        .values_list("resident_id", flat=True)[::7]
    )
    Entry.objects.filter(round=earlier).exclude(resident_id__in=still_missing).exclude(state="exempt").update(
        state="negative"
    )
    recount(earlier.pk)
    earlier.status = Round.Status.CLOSED
    earlier.save(update_fields=["status"])
