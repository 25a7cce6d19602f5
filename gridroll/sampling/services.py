"""Recording scanner actions: one function for the scanner page, the API and a backlog upload.

``record_action`` takes one action as the device sent it (nonce, device, device time, kind, …) and
returns its result. The rules, drawn in docs/algorithms/scan.md:

- A nonce seen before returns the stored result and creates nothing (re-uploads are safe).
- The tube row is locked while a person is added, so two stations can never overfill it.
- Every refusal is stored with a stable reason code; an action the device had decided offline that the
  server refuses is flagged for review, never dropped.
- A person already sampled this round is accepted with a warning (they may test again anywhere).
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from gridroll.accounts.roles import Action
from gridroll.accounts.scope import can
from gridroll.codes.services import check_code
from gridroll.residents.models import Resident
from gridroll.sampling.models import POOL_SIZE, Box, PoolMode, Round, Sample, ScanAction, Site, Station, Tube

TUBE_BARCODE = re.compile(r"^[A-Z0-9]{8,20}$")
BOX_CODE = re.compile(r"^[A-Z0-9-]{4,40}$")

MESSAGES = {
    "ok": "成功",
    "bad_request": "请求不完整",
    "forbidden": "无权在此采样点扫码",
    "round_not_open": "本轮次未开放采样",
    "site_unknown": "采样点不存在或已关闭",
    "bad_tube_barcode": "管码格式不对（应为8–20位字母或数字），请重扫",
    "tube_used": "此管已在其他轮次、采样点使用或已封管，请换一支管",
    "tube_not_open": "此管未开管或已封管",
    "tube_full": "此管已满，请封管后换新管",
    "code_forged": "不是有效的核酸码（伪造或损坏）",
    "code_revoked": "此码已作废，请出示新码或用证件号登记",
    "code_unknown": "本系统中没有此码，请用证件号登记",
    "person_unknown": "找不到此人，请先登记",
    "already_in_tube": "此人已在本管中",
    "already_sampled": "此人本轮已采过样（已记录）",
    "other_household": "1户1管：此人不是本户成员",
    "nothing_to_undo": "本管没有可撤销的人",
    "tube_empty": "空管不能封管",
}


class ActionError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(MESSAGES[reason])
        self.reason = reason


@dataclass
class ActionResult:
    nonce: str
    result: str  # accepted | warned | refused
    reason: str
    message: str
    tube: dict = field(default_factory=dict)
    person: dict = field(default_factory=dict)
    duplicate: bool = False

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def _stored(action: ScanAction) -> ActionResult:
    return ActionResult(
        nonce=action.nonce,
        result=action.result,
        reason=action.reason,
        message=action.message,
        tube=action.payload.get("_tube", {}),
        person=action.payload.get("_person", {}),
        duplicate=True,
    )


def _device_time(value) -> datetime.datetime:
    if isinstance(value, datetime.datetime):
        return value
    parsed = parse_datetime(str(value or ""))
    if parsed is None:
        return timezone.now()
    return parsed if parsed.tzinfo else timezone.make_aware(parsed)


def _tube_info(tube: Tube | None) -> dict:
    if tube is None:
        return {}
    return {
        "barcode": tube.barcode,
        "size": tube.size,
        "capacity": tube.capacity,
        "status": tube.status,
        "pool_mode": tube.pool_mode,
    }


def record_action(user, data: dict) -> ActionResult:
    """Record one scanner action. Never raises for bad input: the refusal is the result."""
    nonce = str(data.get("nonce") or "")[:64]
    if not nonce:
        return ActionResult(nonce="", result="refused", reason="bad_request", message=MESSAGES["bad_request"])
    stored = ScanAction.objects.filter(nonce=nonce).first()
    if stored is not None:
        return _stored(stored)
    try:
        with transaction.atomic():
            return _record(user, nonce, data)
    except IntegrityError:
        # The same nonce arrived twice at once (two syncs from one phone): the other one won.
        stored = ScanAction.objects.filter(nonce=nonce).first()
        if stored is None:
            raise
        return _stored(stored)


def _record(user, nonce: str, data: dict) -> ActionResult:
    kind = data.get("kind")
    barcode = str(data.get("tube") or "").strip().upper()
    offline = bool(data.get("decided_offline"))
    action = ScanAction(
        nonce=nonce,
        device_id=str(data.get("device_id") or "")[:64],
        user=user,
        kind=kind if kind in ScanAction.Kind.values else ScanAction.Kind.ADD,
        tube_barcode=barcode[:40],
        payload={
            k: v
            for k, v in data.items()
            if k
            in ("code", "resident_id", "document_number", "station_id", "site_id", "round_id", "household")
        },
        device_time=_device_time(data.get("device_time")),
        decided_offline=offline,
    )
    tube = None
    person: dict = {}
    warning = ""
    try:
        if kind not in ScanAction.Kind.values:
            raise ActionError("bad_request")
        site = Site.objects.filter(pk=data.get("site_id"), is_active=True).select_related("area").first()
        if site is None:
            raise ActionError("site_unknown")
        action.site = site
        if not can(user, Action.SCAN, site.area.path):
            raise ActionError("forbidden")
        round_ = Round.objects.filter(pk=data.get("round_id")).first()
        if round_ is None or round_.status != Round.Status.OPEN:
            raise ActionError("round_not_open")
        action.round = round_
        if not TUBE_BARCODE.match(barcode):
            raise ActionError("bad_tube_barcode")
        if kind == ScanAction.Kind.OPEN_TUBE:
            tube = _open_tube(round_, site, barcode, data, action.device_time)
        else:
            tube = Tube.objects.select_for_update().filter(barcode=barcode).first()
            if tube is None or tube.round_id != round_.pk or tube.site_id != site.pk:
                raise ActionError("tube_not_open")
            if kind == ScanAction.Kind.ADD:
                person, warning = _add(tube, round_, data, nonce, action.device_time, offline)
            elif kind == ScanAction.Kind.UNDO:
                person = _undo(tube)
            else:
                _seal(tube)
    except ActionError as exc:
        action.result, action.reason, action.message = (
            ScanAction.Result.REFUSED,
            exc.reason,
            MESSAGES[exc.reason],
        )
        # The phone had already told the sampler "OK": someone must look at this one.
        action.needs_review = offline
    else:
        action.result = ScanAction.Result.WARNED if warning else ScanAction.Result.ACCEPTED
        action.reason = warning or "ok"
        action.message = MESSAGES[action.reason]
    action.payload["_tube"] = _tube_info(tube)
    action.payload["_person"] = person
    action.save()
    return ActionResult(
        nonce=nonce,
        result=action.result,
        reason=action.reason,
        message=action.message,
        tube=_tube_info(tube),
        person=person,
    )


def _open_tube(round_: Round, site: Site, barcode: str, data: dict, when) -> Tube:
    tube = Tube.objects.select_for_update().filter(barcode=barcode).first()
    station = Station.objects.filter(pk=data.get("station_id"), site=site).first()
    if tube is not None:
        if tube.round_id == round_.pk and tube.site_id == site.pk and tube.status == Tube.Status.OPEN:
            return tube  # the same tube opened again at the site: nothing to do
        raise ActionError("tube_used")
    mode = round_.pool_mode_for(site.area.path)
    return Tube.objects.create(
        barcode=barcode,
        round=round_,
        site=site,
        station=station,
        pool_mode=mode,
        capacity=POOL_SIZE[mode],
        opened_at=when,
    )


def _resolve_person(data: dict) -> Resident:
    if data.get("code"):
        check = check_code(str(data["code"]))
        if check.status == "forged":
            raise ActionError("code_forged")
        if check.status == "revoked":
            raise ActionError("code_revoked")
        if check.status == "unknown" or not check.person.get("resident_id"):
            raise ActionError("code_unknown")
        return Resident.objects.select_related("household").get(pk=check.person["resident_id"])
    if data.get("resident_id"):
        resident = Resident.objects.select_related("household").filter(pk=data["resident_id"]).first()
    elif data.get("document_number"):
        from gridroll.lib import idnumber

        resident = (
            Resident.objects.select_related("household")
            .filter(document_number=idnumber.normalise(str(data["document_number"])))
            .first()
        )
    else:
        raise ActionError("bad_request")
    if resident is None:
        raise ActionError("person_unknown")
    return resident


def _add(tube: Tube, round_: Round, data: dict, nonce: str, when, offline: bool) -> tuple[dict, str]:
    # Full before closed: a full tube closed by itself, and "full" tells the sampler what to do.
    if tube.size >= tube.capacity:
        raise ActionError("tube_full")
    if tube.status != Tube.Status.OPEN:
        raise ActionError("tube_not_open")
    resident = _resolve_person(data)
    person = {"masked_name": resident.masked_name, "age": resident.age, "sex": resident.get_sex_display()}
    if Sample.objects.filter(tube=tube, resident=resident, is_removed=False).exists():
        raise ActionError("already_in_tube")
    if tube.pool_mode == PoolMode.HOUSEHOLD:
        if tube.household_id is None:
            tube.household_id = resident.household_id
        elif resident.household_id != tube.household_id:
            raise ActionError("other_household")
    repeat = Sample.objects.filter(round=round_, resident=resident, is_removed=False).exists()
    tube.size += 1
    Sample.objects.create(
        tube=tube,
        round=round_,
        resident=resident,
        position=tube.size,
        scanned_at=when,
        nonce=nonce,
        is_repeat=repeat,
        decided_offline=offline,
    )
    if tube.size >= tube.capacity and tube.pool_mode != PoolMode.HOUSEHOLD:
        tube.status, tube.sealed_at = Tube.Status.SEALED, when  # full: closes by itself
    tube.save(update_fields=["size", "status", "sealed_at", "household"])
    return person, "already_sampled" if repeat else ""


def _undo(tube: Tube) -> dict:
    last = (
        Sample.objects.filter(tube=tube, is_removed=False)
        .order_by("-position")
        .select_related("resident")
        .first()
    )
    if last is None or tube.box_id is not None:
        raise ActionError("nothing_to_undo")
    Sample.objects.filter(pk=last.pk).update(is_removed=True)
    tube.size -= 1
    tube.status, tube.sealed_at = Tube.Status.OPEN, None
    if tube.size == 0:
        tube.household_id = None
    tube.save(update_fields=["size", "status", "sealed_at", "household"])
    return {"masked_name": last.resident.masked_name, "age": last.resident.age}


def _seal(tube: Tube) -> None:
    if tube.status == Tube.Status.SEALED:
        return
    if tube.size == 0:
        raise ActionError("tube_empty")
    tube.status, tube.sealed_at = Tube.Status.SEALED, timezone.now()
    tube.save(update_fields=["status", "sealed_at"])


# ------------------------------------------------------------------------------------------------ boxes


class BoxError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@transaction.atomic
def pack_tube(box: Box, barcode: str) -> Tube:
    """Put a sealed tube of the box's round and site into the box."""
    box = Box.objects.select_for_update().get(pk=box.pk)
    if box.status != Box.Status.PACKING:
        raise BoxError("box_sealed", "此箱已封箱")
    tube = Tube.objects.select_for_update().filter(barcode=barcode.strip().upper()).first()
    if tube is None or tube.round_id != box.round_id or tube.site_id != box.site_id:
        raise BoxError("tube_not_here", "此管不属于本采样点本轮次")
    if tube.status != Tube.Status.SEALED:
        raise BoxError("tube_not_sealed", "此管未封管，请先封管")
    if tube.box_id is not None:
        raise BoxError("tube_packed", f"此管已装入 {tube.box.code}")
    tube.box, tube.packed_at = box, timezone.now()
    tube.save(update_fields=["box", "packed_at"])
    return tube


@transaction.atomic
def seal_box(box: Box, counted: int) -> Box:
    """Close a box after the packer counted its tubes: the count must equal the system's."""
    box = Box.objects.select_for_update().get(pk=box.pk)
    in_system = box.tubes.count()
    if counted != in_system:
        raise BoxError("count_mismatch", f"清点 {counted} 管，系统记录 {in_system} 管，请核对后再封箱")
    if in_system == 0:
        raise BoxError("box_empty", "空箱不能封箱")
    box.counted, box.status, box.sealed_at = counted, Box.Status.SEALED, timezone.now()
    box.save(update_fields=["counted", "status", "sealed_at"])
    return box


@transaction.atomic
def hand_over_box(box: Box, lab: str, courier: str = "") -> Box:
    box = Box.objects.select_for_update().get(pk=box.pk)
    if box.status != Box.Status.SEALED:
        raise BoxError("box_not_sealed", "请先封箱再交接")
    box.status, box.handed_at, box.handed_to, box.courier = (
        Box.Status.HANDED_OVER,
        timezone.now(),
        lab,
        courier,
    )
    box.save(update_fields=["status", "handed_at", "handed_to", "courier"])
    return box


def trace_tube(barcode: str) -> dict:
    """tube → box → site → station → people: what an abnormal tube needs at once."""
    tube = Tube.objects.select_related("box", "site__area", "station", "round").get(barcode=barcode)
    people = [
        {
            "resident_id": s.resident_id,
            "name": s.resident.name,
            "household": s.resident.household.label if s.resident.household else "",
            "position": s.position,
        }
        for s in tube.samples.filter(is_removed=False).select_related("resident__household__building")
    ]
    return {
        "tube": tube.barcode,
        "round": tube.round.name,
        "box": tube.box.code if tube.box else "",
        "site": tube.site.name,
        "station": tube.station.name if tube.station else "",
        "people": people,
    }
