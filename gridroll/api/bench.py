"""The floor for bench/scan_bench.py: a bare endpoint that only inserts one row with the ORM.

Mounted only when GRIDROLL_BENCH=1, so that it never exists in a deployment. Same authentication and
CSRF as the scan endpoint, so that the comparison is of the work alone.
"""

from django.http import HttpRequest
from ninja import Router, Schema

from gridroll.audit.models import AuditRecord

router = Router(tags=["bench"])


class FloorIn(Schema):
    nonce: str


@router.post("/insert")
def insert(request: HttpRequest, payload: FloorIn):
    AuditRecord.objects.create(action="bench.floor", target_type="bench", reason=payload.nonce)
    return {"ok": True}
