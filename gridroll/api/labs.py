"""Results in, retest lists and roll-call counts out."""

from __future__ import annotations

import datetime

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.errors import HttpError

from gridroll.accounts.roles import Action
from gridroll.accounts.scope import can, get_in_scope
from gridroll.areas.models import Area
from gridroll.labs.models import ResultUpload
from gridroll.labs.queries import retest_rows
from gridroll.labs.services import apply_results
from gridroll.rollcall.models import COUNTED, Tally
from gridroll.rollcall.queries import state_counts
from gridroll.sampling.models import Round
from gridroll.sampling.queries import rounds_for

router = Router(tags=["labs and roll call"])
MAX_ROWS = 20000


class ResultRow(Schema):
    tube: str
    result: str  # negative | positive | invalid (or 阴性 | 阳性 | 无效)
    ct: float | None = None
    ct_orf1ab: float | None = None
    ct_n: float | None = None
    tested_at: datetime.datetime | None = None


class ResultsIn(Schema):
    lab: str = ""
    rows: list[ResultRow]


class IssueOut(Schema):
    row: int
    tube: str
    code: str
    message: str


class ResultsOut(Schema):
    upload_id: int
    total: int
    applied: int
    unchanged: int
    conflicts: int
    rejected: int
    positive_tubes: list[str]
    issues: list[IssueOut]


@router.post("/results", response=ResultsOut)
def post_results(request: HttpRequest, payload: ResultsIn):
    """Apply results per tube; the same rules and counts as a file upload (rows numbered from 1)."""
    if not can(request.user, Action.REPORT_RESULTS):
        raise HttpError(403, "无权报告结果")
    if len(payload.rows) > MAX_ROWS:
        raise HttpError(413, f"一次最多 {MAX_ROWS} 行")
    upload = ResultUpload.objects.create(user=request.user, lab=payload.lab, filename="api")
    rows = [
        {"_row": i + 1, **{k: v for k, v in r.dict().items() if v is not None}}
        for i, r in enumerate(payload.rows)
    ]
    upload = apply_results(upload, rows)
    return {
        "upload_id": upload.pk,
        "total": upload.total,
        "applied": upload.applied,
        "unchanged": upload.unchanged,
        "conflicts": upload.conflicts,
        "rejected": upload.rejected,
        "positive_tubes": upload.positive_barcodes,
        "issues": [
            {"row": i.row_number, "tube": i.data.get("tube", ""), "code": i.code, "message": i.message}
            for i in upload.issues.all()
        ],
    }


class RetestOut(Schema):
    resident_id: int
    name: str
    household: str
    grid: str
    grid_workers: str
    phone: str
    kind: str
    status: str
    pool_tube: str
    result: str
    created_at: datetime.datetime


@router.get("/retests", response=list[RetestOut])
def get_retests(request: HttpRequest, round_id: int | None = None):
    """Retest and re-sample tasks in the caller's areas (phones masked above the community)."""
    if not can(request.user, Action.VIEW_REGISTRY):
        raise HttpError(403, "无权查看")
    round_ = Round.objects.filter(pk=round_id).first() if round_id else None
    return [
        {
            "resident_id": t.resident_id,
            "name": t.resident.name,
            "household": t.resident.household.label,
            "grid": t.resident.household.building.grid.name,
            "grid_workers": t.workers,
            "phone": t.phone_shown,
            "kind": t.kind,
            "status": t.status,
            "pool_tube": t.tube.barcode,
            "result": t.result,
            "created_at": t.created_at,
        }
        for t in retest_rows(request.user, round_, None)
    ]


@router.get("/rollcall/{round_id}/{area_id}")
def get_counts(request: HttpRequest, round_id: int, area_id: int):
    """A round's counts for an area of the caller's, per state, with those of each child area."""
    area = get_in_scope(Area.objects.all(), request.user, Action.VIEW_REGISTRY, pk=area_id)
    round_ = rounds_for(area).filter(pk=round_id).first()
    if round_ is None:
        raise HttpError(404, "Not Found")
    tallies = list(
        Tally.objects.filter(round=round_, grid__path__startswith=area.path).select_related("grid")
    )
    children = {}
    for child in Area.objects.filter(parent=area):
        children[child.name] = state_counts(
            [
                {c: getattr(t, c) for c in ["total", *COUNTED]}
                for t in tallies
                if t.grid.path.startswith(child.path)
            ]
        )
    return {"round": round_.name, "area": area.name, "counts": state_counts(tallies), "children": children}
