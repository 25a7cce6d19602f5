import base64
import datetime

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.errors import HttpError

from gridroll.accounts.roles import Action
from gridroll.accounts.scope import can
from gridroll.codes.models import SigningKey
from gridroll.codes.services import check_code, revocations_since

router = Router(tags=["codes"])


class CheckIn(Schema):
    text: str


class PersonOut(Schema):
    masked_name: str | None = None
    sex: str | None = None
    age: int | None = None
    is_pending: bool | None = None
    resident_id: int | None = None
    household: str | None = None
    grid: str | None = None
    is_resident: bool | None = None
    site: str | None = None


class CheckOut(Schema):
    status: str  # valid | forged | revoked | unknown
    reason: str
    message: str
    short_code: str
    person: PersonOut


def _require_scan(request: HttpRequest) -> None:
    if not can(request.user, Action.SCAN):
        raise HttpError(403, "无权扫码核验")


@router.post("/check", response=CheckOut, summary="Check a scanned personal code")
def check(request: HttpRequest, payload: CheckIn):
    """valid / forged / revoked / unknown, and who it is as far as the caller may see: masked name, sex
    and age for anyone; household and grid only inside the caller's areas (else status "unknown")."""
    _require_scan(request)
    return check_code(payload.text, request.user).as_dict()


class KeyOut(Schema):
    key_id: int
    public_key: str  # base64 of the raw 32-byte Ed25519 public key
    state: str


@router.get("/keys", response=list[KeyOut], summary="Public keys for offline checks")
def keys(request: HttpRequest):
    _require_scan(request)
    return [
        {"key_id": k.key_id, "public_key": base64.b64encode(bytes(k.public_key)).decode(), "state": k.state}
        for k in SigningKey.objects.all()
    ]


class RevocationOut(Schema):
    serial: int
    key_id: int
    revoked_at: str
    reason: str


@router.get("/revocations", response=list[RevocationOut], summary="Revoked codes, for scanners to sync")
def revocations(request: HttpRequest, since: datetime.datetime | None = None):
    _require_scan(request)
    return revocations_since(since)
