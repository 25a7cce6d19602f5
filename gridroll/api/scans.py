import re
from typing import Any

from django.http import HttpRequest, JsonResponse
from ninja import Router, Schema
from ninja.errors import HttpError
from pydantic import BaseModel

from gridroll.accounts.roles import Action
from gridroll.accounts.scope import can, get_in_scope
from gridroll.codes.models import PersonalCode
from gridroll.core import metrics
from gridroll.lib import address as addresslib
from gridroll.lib.names import mask_name
from gridroll.lib.text import halfwidth
from gridroll.residents.models import Resident, age_of
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
    action = payload.model_dump()
    result = record_action(request.user, action)
    metrics.observe_scans([action], [result])
    return _json(result.as_dict())


@router.post("/scans/batch", response=list[ScanOut], summary="Upload a backlog of actions, applied in order")
def scan_batch(request: HttpRequest, payload: BatchIn):
    """A phone that was offline uploads its queue; actions are applied in the order given, and each
    result is returned in that order. A re-upload of the whole batch changes nothing."""
    _require_scan(request)
    if len(payload.actions) > MAX_BATCH:
        raise HttpError(413, f"一次最多上传 {MAX_BATCH} 条，请分批上传")
    actions = [action.model_dump() for action in payload.actions]
    results = record_actions(request.user, actions)
    metrics.observe_scans(actions, results)
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
    """What a scanner phone holds to decide with no network (issue 13's data minimum): code serial →
    masked name, age and sex for the confirmation screen, the resident id for a pick from the roster
    search, the household id for 1户1管. No names, IDs, phones, and no address in any form (a phone is
    lost more easily than a server): rooms are looked up online (``lookup`` below)."""
    site = get_in_scope(Site.objects.select_related("area"), request.user, Action.SCAN, pk=site_id)
    rows = PersonalCode.objects.filter(
        revoked_at__isnull=True, resident__household__building__grid__path__startswith=site.area.path
    ).values_list(
        "serial",
        "resident_id",
        "resident__name",
        "resident__birth_date",
        "resident__sex",
        "resident__household_id",
    )
    return {
        "site": site.id,
        "people": [
            {
                "serial": serial,
                "resident_id": resident_id,
                "masked_name": mask_name(name),
                "age": age_of(birth_date),
                "sex": sex,
                "household_id": household_id,
            }
            for serial, resident_id, name, birth_date, sex, household_id in rows
        ],
    }


LOOKUP_LIMIT = 20
# '2单元501', '2单元 501室', '2-501': an entrance and a room, without the building (the sampler knows it).
_ENTRANCE_ROOM = re.compile(
    r"^(?P<e>\d+|[一二两三四五六七八九十]+)\s*(?:单元|-)\s*(?P<r>[A-Za-z]?\d+[A-Za-z]?)\s*[室号户]?$"
)


@router.get("/sites/{site_id}/lookup", summary="Find people of the site's area by room or name (online)")
def lookup(request: HttpRequest, site_id: int, q: str = ""):
    """The roster search's address half: the phone holds no addresses, so '2单元501', '1号楼1单元101',
    '1-1-101' or a full name is looked up here, among the people of the site's area only. Answers what
    the confirmation needs plus the household's label (the room the sampler typed), never stored."""
    site = get_in_scope(Site.objects.select_related("area"), request.user, Action.SCAN, pk=site_id)
    query = halfwidth(q)
    people = Resident.objects.filter(
        household__building__grid__path__startswith=site.area.path,
        status__in=["present", "away"],
        rejected_at__isnull=True,
    ).select_related("household__building")
    if len(query) < 2 and not re.search(r"[\u4e00-\u9fff]", query):
        return {"people": []}
    by_name = False
    tail = _ENTRANCE_ROOM.match(query)
    try:
        parsed = None if tail else addresslib.parse(query)
    except addresslib.AddressError:
        parsed = None
    if tail:
        people = people.filter(
            household__entrance=addresslib.entrance_key(tail["e"]),
            household__room=addresslib.room_key(tail["r"]),
        )
    elif parsed:
        people = people.filter(household__building__number=parsed.building, household__room=parsed.room)
        if parsed.entrance:
            people = people.filter(household__entrance=parsed.entrance)
        if parsed.compound:
            people = people.filter(household__building__compound_key=addresslib.compound_key(parsed.compound))
    elif query.isdigit():
        people = people.filter(household__room=addresslib.room_key(query))
    else:
        # A name finds people (masked), never where they live: a sampler's account is no way from a name
        # to an address (the room is answered only to someone who typed it).
        people = people.filter(name__contains=query)
        by_name = True
    return {
        "people": [
            {
                "resident_id": r.pk,
                "masked_name": r.masked_name,
                "age": r.age,
                "sex": r.sex,
                "household_id": r.household_id,
                "household": "" if by_name or not r.household else r.household.label,
            }
            for r in people.order_by("household_id", "pk")[:LOOKUP_LIMIT]
        ]
    }
