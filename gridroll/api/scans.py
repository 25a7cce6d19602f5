from typing import Any

from django.http import HttpRequest, JsonResponse
from ninja import Router, Schema
from ninja.errors import HttpError
from pydantic import BaseModel

from gridroll.accounts.roles import Action
from gridroll.accounts.scope import can, get_in_scope
from gridroll.codes.models import PersonalCode
from gridroll.sampling.models import POOL_SIZE, Round, Site
from gridroll.sampling.services import may_scan, record_action, record_actions

router = Router(tags=["sampling"])
MAX_BATCH = 500


class ScanIn(BaseModel):
    """One scanner action. A plain pydantic model: ninja's Schema adds a validator per object that cost
    ~30 µs each, 1.5 ms of a 50-scan upload."""

    nonce: str
    device_id: str
    device_time: str
    kind: str  # open_tube | add | undo | seal
    round_id: int
    site_id: int
    station_id: int | None = None
    tube: str
    code: str | None = None
    resident_id: int | None = None
    document_number: str | None = None
    decided_offline: bool = False
    pool_mode: str | None = None  # "single" opens a single tube (a retest) whatever the area's mode


class ScanOut(Schema):
    nonce: str
    result: str  # accepted | warned | refused
    reason: str
    message: str
    tube: dict[str, Any]
    person: dict[str, Any]
    duplicate: bool


class BatchIn(BaseModel):
    actions: list[ScanIn]


def _require_scan(request: HttpRequest) -> None:
    if not may_scan(request.user):
        raise HttpError(403, "无权扫码")


@router.post("/scans", response=ScanOut, summary="Record one scanner action (idempotent by nonce)")
def scan(request: HttpRequest, payload: ScanIn):
    _require_scan(request)
    return _json(record_action(request.user, payload.model_dump()).as_dict())


@router.post("/scans/batch", response=list[ScanOut], summary="Upload a backlog of actions, applied in order")
def scan_batch(request: HttpRequest, payload: BatchIn):
    """A phone that was offline uploads its queue; actions are applied in the order given, and each
    result is returned in that order. A re-upload of the whole batch changes nothing."""
    _require_scan(request)
    if len(payload.actions) > MAX_BATCH:
        raise HttpError(413, f"一次最多上传 {MAX_BATCH} 条，请分批上传")
    results = record_actions(request.user, [action.model_dump() for action in payload.actions])
    return _json([r.as_dict() for r in results])


def _json(data) -> JsonResponse:
    """The service's results as they are (they have ScanOut's shape by construction): ninja's check of
    every field of every result cost as much as the scans' own decisions."""
    return JsonResponse(data, safe=False, json_dumps_params={"ensure_ascii": False})


class SiteOut(Schema):
    id: int
    name: str
    area: str
    pool_mode: str
    capacity: int
    stations: list[dict[str, Any]]


class RoundOut(Schema):
    id: int
    name: str
    status: str
    sites: list[SiteOut]


@router.get("/rounds", response=list[RoundOut], summary="Open rounds and the sites the caller may scan at")
def rounds(request: HttpRequest):
    _require_scan(request)
    sites = [
        s
        for s in Site.objects.filter(is_active=True).select_related("area").prefetch_related("stations")
        if can(request.user, Action.SCAN, s.area.path)
    ]
    out = []
    for r in Round.objects.filter(status=Round.Status.OPEN).prefetch_related("areas__area"):
        site_list = []
        for s in sites:
            mode = r.pool_mode_for(s.area.path)
            site_list.append(
                {
                    "id": s.id,
                    "name": s.name,
                    "area": s.area.name,
                    "pool_mode": mode,
                    "capacity": POOL_SIZE[mode],
                    "stations": [{"id": st.id, "name": st.name} for st in s.stations.all()],
                }
            )
        out.append({"id": r.id, "name": r.name, "status": r.status, "sites": site_list})
    return out


@router.get("/sites/{site_id}/roster", summary="The site area's people, masked, for offline checks")
def roster(request: HttpRequest, site_id: int):
    """What a scanner needs to show who a code belongs to with no network: code serial → masked name,
    age, sex. No full names, IDs, phones or addresses leave the server this way."""
    site = get_in_scope(Site.objects.select_related("area"), request.user, Action.SCAN, pk=site_id)
    codes = PersonalCode.objects.filter(
        revoked_at__isnull=True, resident__household__building__grid__path__startswith=site.area.path
    ).select_related("resident__household__building")
    return {
        "site": site.id,
        "people": [
            {
                "serial": c.serial,
                "short_code": c.short_code,
                "resident_id": c.resident_id,
                "masked_name": c.resident.masked_name,
                "household": c.resident.household.label if c.resident.household else "",
                "age": c.resident.age,
                "sex": c.resident.sex,
            }
            for c in codes
        ],
    }
