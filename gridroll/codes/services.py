"""Personal codes: issue, revoke, re-issue, rotate keys, and check a scanned code.

Every write is audited. ``check_code`` is what the scanner API and ``manage.py check_code`` answer;
the offline scanner applies the same rules with the public keys and revocations it syncs
(docs/codes.md).
"""

from __future__ import annotations

import datetime
import secrets
from dataclasses import asdict, dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from gridroll.accounts.roles import Action
from gridroll.accounts.scope import can
from gridroll.audit.services import record, record_many
from gridroll.codes.models import PersonalCode, SigningKey
from gridroll.core.bulk import insert_rows
from gridroll.core.errors import DomainError
from gridroll.lib import signing
from gridroll.residents.models import Resident, area_paths, resident_area_path

# PositiveIntegerField is a signed 32-bit integer on PostgreSQL: serials stay below 2**31.
SERIAL_MAX = 2**31 - 1


class CodeError(DomainError):
    MESSAGES = {
        "no_key_ids_left": gettext_lazy("No signing key numbers are left (255 at most)."),
        "key_active": gettext_lazy(
            "The key that signs new codes cannot be retired: rotate to a new key first."
        ),
        "bad_reason": gettext_lazy("Choose why the code is revoked."),
        "already_revoked": gettext_lazy("This code is already revoked."),
    }


# ------------------------------------------------------------------------------------------------ keys


def active_key() -> SigningKey:
    """The key that signs new codes; the first one is made on first use."""
    key = SigningKey.objects.filter(state=SigningKey.State.ACTIVE).first()
    if key is None:
        with transaction.atomic():
            key = SigningKey.objects.select_for_update().filter(state=SigningKey.State.ACTIVE).first()
            if key is None:
                key = _new_key(
                    1 + (SigningKey.objects.order_by("-key_id").values_list("key_id", flat=True).first() or 0)
                )
                record(None, "code.create_key", key, changes={"key_id": [None, key.key_id]}, reason="first")
    return key


def _new_key(key_id: int) -> SigningKey:
    if key_id > 255:
        raise CodeError("no_key_ids_left")
    private = signing.new_private_key()
    return SigningKey.objects.create(
        key_id=key_id, private_key=private, public_key=signing.public_key_of(private)
    )


@transaction.atomic
def rotate_key(actor=None) -> SigningKey:
    """Start signing with a new key; the old one keeps verifying the codes already out there."""
    current = active_key()
    SigningKey.objects.filter(pk=current.pk).update(state=SigningKey.State.VERIFY_ONLY)
    key = _new_key(SigningKey.objects.order_by("-key_id").values_list("key_id", flat=True).first() + 1)
    record(actor, "code.rotate_key", key, changes={"key_id": [current.key_id, key.key_id]}, reason="rotate")
    return key


@transaction.atomic
def retire_key(key: SigningKey, actor=None, reason: str = "") -> int:
    """Stop accepting a key (it leaked, or its time is up). Its current codes are revoked and replaced
    with codes signed by the active key; returns how many were replaced."""
    if key.state == SigningKey.State.ACTIVE:
        raise CodeError("key_active")
    now = timezone.now()
    SigningKey.objects.filter(pk=key.pk).update(state=SigningKey.State.RETIRED, retired_at=now)
    residents = list(
        Resident.objects.filter(codes__key=key, codes__revoked_at__isnull=True).values_list("pk", flat=True)
    )
    PersonalCode.objects.filter(key=key, revoked_at__isnull=True).update(
        revoked_at=now, revoked_reason=PersonalCode.RevokeReason.KEY_RETIRED, revoked_by=actor
    )
    issue_codes(Resident.objects.filter(pk__in=residents), actor=actor, reason="密钥停用后重新签发")
    record(actor, "code.retire_key", key, changes={"replaced": [None, len(residents)]}, reason=reason)
    return len(residents)


# --------------------------------------------------------------------------------------------- issuing


def _unused_serials(count: int) -> list[int]:
    serials: set[int] = set()
    while len(serials) < count:
        wanted = count - len(serials)
        candidates = {secrets.randbelow(SERIAL_MAX) + 1 for _ in range(wanted)}
        taken = set(PersonalCode.objects.filter(serial__in=candidates).values_list("serial", flat=True))
        serials |= candidates - taken
    return list(serials)[:count]


def _unused_short_codes(count: int) -> list[str]:
    codes: set[str] = set()
    while len(codes) < count:
        candidates = {signing.new_short_code() for _ in range(count - len(codes))}
        taken = set(
            PersonalCode.objects.filter(short_code__in=candidates).values_list("short_code", flat=True)
        )
        codes |= candidates - taken
    return list(codes)[:count]


def current_code(resident: Resident) -> PersonalCode | None:
    return resident.codes.filter(revoked_at__isnull=True).select_related("key").first()


def issue_code(resident: Resident, actor=None, reason: str = "") -> PersonalCode:
    """The resident's current code, issued now if they have none. Never a second current code."""
    existing = current_code(resident)
    if existing is not None:
        return existing
    issue_codes(Resident.objects.filter(pk=resident.pk), actor=actor, reason=reason)
    code = current_code(resident)
    assert code is not None
    return code


@transaction.atomic
def issue_codes(residents, actor=None, reason: str = "", batch_size: int = 5000) -> int:
    """Issue a code to every resident in ``residents`` who has no current one. Returns how many.

    Signing is ~50 µs a code; rows go in with ``insert_rows`` so that a whole district takes seconds.
    A concurrent issue for the same person loses on the one-current-code constraint and is retried as
    "already has one".
    """
    key = active_key()
    today = timezone.localdate()
    holders = PersonalCode.objects.filter(revoked_at__isnull=True, resident__isnull=False).values(
        "resident_id"
    )
    ids = sorted(residents.exclude(pk__in=holders).values_list("pk", flat=True))
    now = timezone.now()
    issued = 0
    for start in range(0, len(ids), batch_size):
        chunk = ids[start : start + batch_size]
        serials = _unused_serials(len(chunk))
        shorts = _unused_short_codes(len(chunk))
        rows = [
            (pk, key.pk, serial, short, signing.sign(bytes(key.private_key), key.key_id, serial, today), now)
            for pk, serial, short in zip(chunk, serials, shorts, strict=True)
        ]
        try:
            with transaction.atomic():
                code_ids = insert_rows(
                    PersonalCode,
                    ("resident_id", "key_id", "serial", "short_code", "token", "issued_at"),
                    rows,
                )
        except IntegrityError:
            # Someone issued one of these at the same moment: fall back to one by one, skipping only
            # the people who now have a current code; any other failure is a real error.
            code_ids = []
            kept = []
            for row in rows:
                try:
                    with transaction.atomic():
                        code_ids += insert_rows(
                            PersonalCode,
                            ("resident_id", "key_id", "serial", "short_code", "token", "issued_at"),
                            [row],
                        )
                    kept.append(row)
                except IntegrityError:
                    if not PersonalCode.objects.filter(resident_id=row[0], revoked_at__isnull=True).exists():
                        raise
            rows = kept
        paths = area_paths([r[0] for r in rows])
        record_many(
            [
                (
                    actor.pk if actor is not None and actor.is_authenticated else None,
                    "code.issue",
                    "residents.resident",
                    row[0],
                    paths.get(row[0], ""),
                    {"code": [None, row[3]]},
                    reason,
                    now,
                )
                for row in rows
            ],
        )
        issued += len(code_ids)
    return issued


@transaction.atomic
def revoke_code(code: PersonalCode, actor, reason: str, note: str = "") -> PersonalCode:
    """Revoke a code (lost phone, wrong person). Scanners learn it at their next sync."""
    if reason not in PersonalCode.RevokeReason.values:
        raise CodeError("bad_reason")
    code = PersonalCode.objects.select_for_update().get(pk=code.pk)
    if code.revoked_at is not None:
        raise CodeError("already_revoked")
    code.revoked_at = timezone.now()
    code.revoked_reason = reason
    code.revoked_by = actor if actor is not None and actor.is_authenticated else None
    code.save(update_fields=["revoked_at", "revoked_reason", "revoked_by"])
    if code.resident_id:
        record(
            actor,
            "code.revoke",
            code.resident,
            # The reason code, not its label: an audit record must read the same in any language.
            changes={"code": [code.short_code, None], "revoked_reason": [None, reason]},
            reason=note,
            area_path=resident_area_path(code.resident),
        )
    return code


@transaction.atomic
def reissue_code(resident: Resident, actor, reason: str, note: str = "") -> PersonalCode:
    """Revoke the current code (if any) and issue a new one: for a lost phone or card."""
    current = current_code(resident)
    if current is not None:
        revoke_code(current, actor, reason, note)
    return issue_code(resident, actor, reason=note or "重新签发")


# ---------------------------------------------------------------------------------------------- checks


MESSAGES = {
    "valid": "有效",
    "malformed": "不是本系统的核酸码，或二维码已损坏",
    "short_code_typo": "短码有误（校验位不符），请核对后重新输入",
    "unknown_key": "签名密钥不明：可能是伪造的码",
    "bad_signature": "签名不符：码被篡改或伪造",
    "key_retired": "此码的签名密钥已停用，请领取新码",
    "not_issued_here": "签名有效，但本系统中没有这个码（可能来自其他系统或已被删除）",
    "out_of_area": "有效码，但此人不在您的辖区登记",
    "lost": "此码已作废（挂失），请使用新码",
    "wrong_person": "此码已作废（发错了人）",
    "reissued": "此码已作废（已换发新码）",
    "person_deleted": "此码已作废：此人已从信息库中删除",
    "other": "此码已作废",
}


@dataclass
class CheckResult:
    status: str  # valid | forged | revoked | unknown
    reason: str
    message: str
    short_code: str = ""
    person: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def _result(status: str, reason: str, **kwargs) -> CheckResult:
    return CheckResult(status=status, reason=reason, message=MESSAGES[reason], **kwargs)


def verify_token(text: str, keys: dict[int, SigningKey]) -> int | str:
    """The serial inside a genuine token, or why not: malformed / unknown_key / bad_signature /
    key_retired. The one place these rules live: check_code and the scan service both use it."""
    try:
        token = signing.parse(text)
    except signing.TokenError:
        return "malformed"
    key = keys.get(token.key_id)
    if key is None:
        return "unknown_key"
    if not signing.verify(bytes(key.public_key), token):
        return "bad_signature"
    if key.state == SigningKey.State.RETIRED:
        return "key_retired"
    return token.code_id


def _looks_short(text: str) -> bool:
    """Eight letters and digits, with or without the dash: typed, not scanned."""
    cleaned = text.strip().replace("-", "").replace(" ", "")
    return len(cleaned) == 8 and cleaned.isascii() and cleaned.isalnum()


def check_code(text: str, user=None) -> CheckResult:
    """Answer a scan: valid / forged / revoked / unknown, and who it is as far as ``user`` may see.

    ``user`` None is the command line (sees everything). A valid code of someone outside the caller's
    areas is "unknown" with masked name, sex and age only — enough to sample them anywhere, not enough
    to learn where they live.
    """
    codes = PersonalCode.objects.select_related(
        "resident__household__building__grid", "resident__registered_site__area"
    )
    verified = verify_token(text, {k.key_id: k for k in SigningKey.objects.all()})
    if verified == "malformed" and _looks_short(text):
        # A short code (JA2E-N5C7) is printed to be read aloud and typed: its check character catches
        # a typo; the lookup is by the code itself, as the scanner's typed path does.
        short = signing.normalise_short_code(text)
        if short is None:
            return _result("forged", "short_code_typo")
        code = codes.filter(short_code=short).first()
    elif isinstance(verified, str):
        return _result("revoked" if verified == "key_retired" else "forged", verified)
    else:
        code = codes.filter(serial=verified).first()
    if code is None:
        return _result("unknown", "not_issued_here")
    if code.resident is None:
        return _result("revoked", "person_deleted", short_code=code.short_code)
    if code.revoked_at is not None:
        return _result("revoked", code.revoked_reason or "other", short_code=code.short_code)
    resident = code.resident
    person = {
        "masked_name": resident.masked_name,
        "sex": resident.get_sex_display(),
        "age": resident.age,
        "is_pending": resident.is_pending,
    }
    path = resident_area_path(resident)
    if user is not None and not can(user, Action.SCAN, path):
        return _result("unknown", "out_of_area", short_code=code.short_code, person=person)
    household = resident.household
    person.update(
        resident_id=resident.pk,
        household=household.label if household else "",
        grid=household.building.grid.name if household else "",
        is_resident=household is not None,
        site=resident.registered_site.name if resident.registered_site else "",
    )
    return _result("valid", "valid", short_code=code.short_code, person=person)


def revocations_since(since: datetime.datetime | None) -> list[dict]:
    """Revoked code serials for scanners to sync (all of them, or those revoked after ``since``)."""
    qs = PersonalCode.objects.filter(revoked_at__isnull=False)
    if since is not None:
        qs = qs.filter(revoked_at__gt=since)
    return [
        {"serial": s, "key_id": k, "revoked_at": at.isoformat(), "reason": r}
        for s, k, at, r in qs.order_by("revoked_at").values_list(
            "serial", "key__key_id", "revoked_at", "revoked_reason"
        )
    ]
