"""Self-registration on a phone, and dependents registered by their guardian.

The rules (docs/codes.md draws them; docs/threat-model.md lists the attacks they answer):

- A registration that matches nobody creates a *pending* resident (on no roll call until the grid
  worker places them), a code, and a private link to the registrant's page.
- A registration that matches a registry record (same document and name; for people without a document,
  same flat, name and birth date) never makes a duplicate and never reveals anything of that person:
  typing a name and an ID number proves nothing. It makes a *claim*: the page says what is pending and
  why, and shows no code, address, household or result until the claim is confirmed by the grid worker
  (待核实) or by a one-time code sent to the phone already on file for that person. A person who already
  has a confirmed holder keeps their code; the holder sees the new claim on their page.
- A guardian adds dependents the same way; a dependent may have several guardians. Under-14s need the
  guardian's consent (PIPL art. 31), recorded with its time.
- Staff confirm or reject each pending thing, and can end a link or a guardianship; all audited.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from gridroll.areas.models import Household
from gridroll.audit.services import record, record_event
from gridroll.codes.models import PersonalCode, PhoneChallenge, ResidentAccess, hash_access_token
from gridroll.codes.services import issue_code
from gridroll.core.errors import DomainError
from gridroll.core.sms import send_sms
from gridroll.lib.names import mask_name
from gridroll.residents.models import Guardianship, Resident, resident_area_path
from gridroll.residents.signals import registry_changed

CONSENT_AGE = 14
ADULT_AGE = 18


class RegistrationError(DomainError):
    """A refused registration, claim or one-time code: a stable code, a message in the reader's language,
    and the form ``field`` it belongs to. A wrong guess and a right one get the same answer, whatever the
    language (docs/threat-model.md)."""

    MESSAGES = {
        "name_probe": gettext_lazy(
            "This name has been registered several times in the last hour with different ID numbers. To "
            "prevent misuse, register at a sampling point or with community staff."
        ),
        "consent_required": gettext_lazy("Read and accept how your personal information is used."),
        "missing_address": gettext_lazy("Choose the building and flat where you live now."),
        "duplicate_id": gettext_lazy(
            "This ID number is registered for another person: check the name and the ID number."
        ),
        "guardian_consent_required": gettext_lazy("Under 14: a guardian must tick the consent."),
        "self": gettext_lazy("You cannot add yourself as your own dependent."),
        "already_your_dependent": gettext_lazy("%(name)s is already among your dependents."),
        "reason_required": gettext_lazy("Give a reason."),
        "too_many": gettext_lazy("Too many codes sent: try again in an hour, or ask your grid worker."),
        "no_challenge": gettext_lazy("Ask for a code first."),
        "expired": gettext_lazy("The code has expired: ask for a new one."),
        "too_many_attempts": gettext_lazy("Too many wrong tries: ask for a new code."),
        "wrong_code": gettext_lazy("The code is not right."),
    }

    def __init__(self, code: str, field: str | None = None, **params) -> None:
        super().__init__(code, **params)
        self.field = field


@dataclass
class Registration:
    resident: Resident
    outcome: str  # created | linked | claimed
    message: str
    secret: str | None = None  # the private link's secret, shown once


def _age(birth: datetime.date | None) -> int | None:
    if birth is None:
        return None
    today = timezone.localdate()
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def _find(values: dict, household: Household | None) -> Resident | None:
    if values.get("document_number"):
        return Resident.objects.filter(
            document_type=values["document_type"], document_number=values["document_number"]
        ).first()
    if household is not None and values.get("birth_date"):
        return Resident.objects.filter(
            household=household, document_number="", name=values["name"], birth_date=values["birth_date"]
        ).first()
    return None


# How many registrations under one name with different document numbers (new records or claims) an hour
# may bring, from anywhere: guessing a neighbour's full ID from its masked form (the answer tells a claim
# from a new record) needs several tries under the same name (issue 13, found by an attacker).
NAME_PROBE_LIMIT = 3


def check_name_probing(values: dict) -> None:
    """Refuse (``name_probe``, audited) a registration under a name already registered with other numbers
    NAME_PROBE_LIMIT times within the hour. Pages call it before ``register_self`` (outside its
    transaction, so that the audit record stays); ``register_self`` checks again."""
    number = values.get("document_number") or ""
    if not number:
        return
    since = timezone.now() - datetime.timedelta(hours=1)
    new_records = (
        Resident.objects.filter(name=values["name"], is_pending=True, created_at__gte=since)
        .exclude(document_number=number)
        .count()
    )
    claims = (
        ResidentAccess.objects.filter(
            resident__name=values["name"], is_confirmed=False, created_at__gte=since
        )
        .exclude(resident__document_number=number)
        .count()
    )
    if new_records + claims >= NAME_PROBE_LIMIT:
        record_event(None, "registration.name_probe", "residents.resident", reason=mask_name(values["name"]))
        raise RegistrationError("name_probe", "document_number")


def _near_miss(values: dict) -> bool:
    """A registry person (not a self-registration) with this name whose number agrees with this one where a
    mask shows it and in the birth year, and differs elsewhere."""
    number = values.get("document_number") or ""
    if len(number) != 18:
        return False
    return (
        Resident.objects.filter(
            name=values["name"],
            is_pending=False,
            document_number__startswith=number[:4],
            document_number__endswith=number[-4:],
        )
        .exclude(document_number=number)
        .filter(document_number__regex=rf"^.{{6}}{number[6:10]}")
        .exists()
    )


def _new_access(
    resident: Resident, *, confirmed: bool, site=None, claim_phone: str = "", registrant: bool = False
) -> str:
    secret = ResidentAccess.new_secret()
    ResidentAccess.objects.create(
        resident=resident,
        token_hash=hash_access_token(secret),
        is_confirmed=confirmed,
        consent_at=timezone.now(),
        site=site,
        claim_phone=claim_phone,
        is_registrant=registrant,
    )
    return secret


@transaction.atomic
def register_self(
    values: dict, household: Household | None, site=None, consent: bool = False
) -> Registration:
    """Register the person holding the phone. ``values`` are validated resident fields.

    Fails with ``consent_required``, ``missing_address`` or ``duplicate_id`` (the document is registered
    under another name). A match with a registry record makes an unconfirmed claim (outcome ``claimed``).
    """
    if not consent:
        raise RegistrationError("consent_required", "consent")
    if household is None and site is None:
        raise RegistrationError("missing_address", "building")
    check_name_probing(values)
    existing = _find(values, household)
    if existing is not None:
        existing = Resident.objects.select_for_update().get(pk=existing.pk)
        if existing.name != values["name"]:
            raise RegistrationError("duplicate_id", "document_number")
        secret = _new_access(existing, confirmed=False, site=site, claim_phone=values.get("phone", ""))
        record(
            None,
            "resident.claim",
            existing,
            reason=f"采样点 {site}" if site else "自助登记",
            area_path=resident_area_path(existing),
        )
        return Registration(existing, "claimed", CLAIM_MESSAGE, secret)
    resident = Resident.objects.create(
        household=household, registered_site=site if household is None else None, is_pending=True, **values
    )
    if _near_miss(values):
        # Someone registered under the name of a registry person with a number that differs only where
        # a masked ID hides it (same region prefix, same birth year): it may be a guess at that person's
        # number. It gets exactly the answer a claim gets — no code, nothing shown — so that a right
        # guess cannot be told from a wrong one (issue 13, second attacker). The grid worker confirms it.
        secret = _new_access(resident, confirmed=False, site=site, registrant=True)
        record(
            None,
            "resident.self_register_held",
            resident,
            changes={"name": [None, resident.masked_name]},
            reason="与信息库中同名人员的证件号码相近，待网格员核实",
            area_path=resident_area_path(resident),
        )
        return Registration(resident, "claimed", CLAIM_MESSAGE, secret)
    secret = _new_access(resident, confirmed=True, site=site, registrant=True)
    issue_code(resident, reason="自助登记")
    record(
        None,
        "resident.self_register",
        resident,
        changes={"name": [None, resident.masked_name]},
        reason=f"采样点 {site}" if site else "自助登记",
        area_path=resident_area_path(resident),
    )
    message = (
        "登记成功，已生成核酸码。网格员核实后即正式入库。"
        if household
        else "登记成功（非本辖区居民），已生成核酸码。"
    )
    return Registration(resident, "created", message, secret)


# The same words for a claim on a registry person and for a registration held back as a possible guess at
# someone's number: the answer must not tell them apart.
CLAIM_MESSAGE = (
    "登记已收到，需要核实身份。为保护个人信息，核实之前本页不显示核酸码、住址和检测结果。"
    "请用信息库中登记的手机号接收验证码完成核实，或等待网格员联系核实。"
)


@transaction.atomic
def add_dependent(
    access: ResidentAccess, values: dict, household: Household | None, relation: str, consent: bool = False
) -> Registration:
    """Add a dependent (a child without a phone, an elderly parent) to a guardian's page.

    A new person is created (pending) and held at once. A person already in the registry is linked as an
    unconfirmed guardianship that shows nothing of them, unless the guardian is a confirmed member of the
    registry living in the same household (the registry already says they live together). Fails with
    ``guardian_consent_required``, ``self``, ``duplicate_id`` or ``already_your_dependent``.
    """
    guardian = access.resident
    age = _age(values.get("birth_date"))
    if age is not None and age < CONSENT_AGE and not consent:
        raise RegistrationError("guardian_consent_required", "consent")
    household = household or guardian.household
    existing = _find(values, household)
    consent_at = timezone.now() if consent else None
    if existing is not None:
        if existing.pk == guardian.pk:
            raise RegistrationError("self", "document_number")
        if existing.name != values["name"]:
            raise RegistrationError("duplicate_id", "document_number")
        if Guardianship.objects.filter(dependent=existing, guardian=guardian, ended_at__isnull=True).exists():
            raise RegistrationError("already_your_dependent", "name", name=existing.masked_name)
        # Only a child of the household, added by an adult whose own identity is confirmed and whom the
        # registry (not a self-registration) places in the same household, is held without a check. An
        # adult housemate (a lodger, a flatmate) is a claim like any other: knowing their name and ID
        # number must not show their results to whoever shares the flat.
        dependent_age = _age(existing.birth_date)
        guardian_age = _age(guardian.birth_date)
        confirmed = (
            access.is_confirmed
            and not guardian.is_pending
            and guardian.household_id is not None
            and existing.household_id == guardian.household_id
            and dependent_age is not None
            and dependent_age < CONSENT_AGE
            and guardian_age is not None
            and guardian_age >= ADULT_AGE
        )
        Guardianship.objects.create(
            dependent=existing,
            guardian=guardian,
            relation=relation,
            consent_at=consent_at,
            is_confirmed=confirmed,
        )
        if confirmed:
            issue_code(existing, reason="监护人添加（与信息库匹配）")
        record(
            None,
            "guardianship.link" if confirmed else "guardianship.claim",
            existing,
            changes={"guardian": [None, guardian.masked_name]},
            reason=relation,
            area_path=resident_area_path(existing),
        )
        if confirmed:
            return Registration(
                existing, "linked", f"{existing.masked_name} 已在居民信息库中，已关联到您名下，不会重复登记。"
            )
        return Registration(
            existing,
            "claimed",
            "您填写的信息与居民信息库中的一条记录相符，不会重复登记。为保护个人信息，核实之前本页不显示其"
            "核酸码、住址和检测结果：可用其登记手机号接收验证码核实，或等待网格员核实。",
        )
    dependent = Resident.objects.create(
        household=household,
        registered_site=guardian.registered_site if household is None else None,
        is_pending=True,
        relation=relation,
        **values,
    )
    Guardianship.objects.create(
        dependent=dependent, guardian=guardian, relation=relation, consent_at=consent_at, is_confirmed=True
    )
    issue_code(dependent, reason="监护人添加")
    record(
        None,
        "resident.self_register",
        dependent,
        changes={"guardian": [None, guardian.masked_name]},
        reason=relation,
        area_path=resident_area_path(dependent),
    )
    return Registration(dependent, "created", f"已为 {dependent.masked_name} 生成核酸码。")


def access_for(secret: str) -> ResidentAccess | None:
    """The link with this secret, ended or not (an ended link's page says it was ended, and nothing
    else); None when no link has it."""
    access = (
        ResidentAccess.objects.filter(token_hash=hash_access_token(secret))
        .select_related("resident__household__building")
        .first()
    )
    if access is not None and access.revoked_at is None:
        ResidentAccess.objects.filter(pk=access.pk).update(last_used_at=timezone.now())
    return access


@transaction.atomic
def confirm_resident(user, resident: Resident) -> None:
    """The grid worker knows this person: the pending self-registered record joins the registry and the
    roll call of open rounds. (Claims on registered people are confirmed one by one, apart.)"""
    Resident.objects.filter(pk=resident.pk).update(is_pending=False, rejected_at=None)
    # The registrant's own link, held back when the registration looked like a guess at someone's number.
    if ResidentAccess.objects.filter(
        resident=resident, is_registrant=True, is_confirmed=False, revoked_at__isnull=True
    ).update(is_confirmed=True):
        issue_code(resident, reason="网格员核实后签发")
    record(
        user,
        "resident.confirm",
        resident,
        changes={"is_pending": [resident.is_pending, False]},
        reason="网格员核实",
        area_path=resident_area_path(resident),
    )
    _sync_roll([resident.pk])


@transaction.atomic
def reject_resident(user, resident: Resident, reason: str) -> None:
    """Nobody of this description lives here: the self-registration leaves every list, its code stops
    scanning and its links end. The record is kept (audited) until purged with other unconfirmed ones."""
    now = timezone.now()
    Resident.objects.filter(pk=resident.pk).update(rejected_at=now)
    for code in resident.codes.filter(revoked_at__isnull=True):
        PersonalCode.objects.filter(pk=code.pk).update(
            revoked_at=now, revoked_reason=PersonalCode.RevokeReason.WRONG_PERSON, revoked_by=user
        )
    ResidentAccess.objects.filter(resident=resident, revoked_at__isnull=True).update(
        revoked_at=now, ended_by=user, end_reason=reason
    )
    record(
        user,
        "resident.reject",
        resident,
        changes={"rejected": [False, True]},
        reason=reason,
        area_path=resident_area_path(resident),
    )
    _sync_roll([resident.pk])


def _sync_roll(resident_ids: list[int]) -> None:
    """Open rounds' rolls follow (sampling listens to ``registry_changed``)."""
    registry_changed.send(sender=Resident, resident_ids=resident_ids)


@transaction.atomic
def new_access_link(user, resident: Resident) -> str:
    """A fresh private link for a resident (lost phone): old links stop working."""
    ResidentAccess.objects.filter(resident=resident, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), ended_by=user, end_reason="补发个人链接"
    )
    secret = _new_access(resident, confirmed=True)
    record(
        user,
        "resident.new_access_link",
        resident,
        reason="补发个人链接",
        area_path=resident_area_path(resident),
    )
    return secret


def _audit_person(user, action: str, person: Resident, reason: str, **changes) -> None:
    record(user, action, person, changes=changes, reason=reason, area_path=resident_area_path(person))


def _end_reason(reason: str) -> str:
    if not reason.strip():
        raise RegistrationError("reason_required", "reason")
    return reason.strip()


@transaction.atomic
def confirm_access(user, access: ResidentAccess, how: str = "网格员核实本人") -> None:
    """The holder of this link is the person: checked by the grid worker (a call to the phone on file)
    or by a one-time code sent to that phone (``user`` is then None)."""
    ResidentAccess.objects.filter(pk=access.pk).update(is_confirmed=True)
    issue_code(access.resident, reason="核实本人后签发")
    _audit_person(user, "resident.confirm_link", access.resident, how)


@transaction.atomic
def end_access(user, access: ResidentAccess, reason: str) -> None:
    """End a private link (a rejected claim, a lost phone): the page then says it was ended, and why."""
    reason = _end_reason(reason)
    ResidentAccess.objects.filter(pk=access.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), ended_by=user, end_reason=reason
    )
    _audit_person(user, "resident.end_link", access.resident, reason, confirmed=[access.is_confirmed, None])


@transaction.atomic
def confirm_guardianship(user, link: Guardianship, how: str = "网格员核实监护关系") -> None:
    Guardianship.objects.filter(pk=link.pk).update(is_confirmed=True)
    issue_code(link.dependent, reason="核实监护关系后签发")
    _audit_person(
        user, "guardianship.confirm", link.dependent, how, guardian=[None, link.guardian.masked_name]
    )


@transaction.atomic
def end_guardianship(user, link: Guardianship, reason: str) -> None:
    """End a guardianship (wrong, or no longer needed): the guardian's page says it was ended."""
    reason = _end_reason(reason)
    Guardianship.objects.filter(pk=link.pk, ended_at__isnull=True).update(
        ended_at=timezone.now(), ended_by=user, end_reason=reason
    )
    _audit_person(
        user, "guardianship.end", link.dependent, reason, guardian=[link.guardian.masked_name, None]
    )


# ------------------------------------------------------------------------ one-time code to the phone


def _code_hash(access: ResidentAccess, code: str) -> str:
    return hashlib.sha256(f"{access.pk}:{code}:{settings.SECRET_KEY}".encode()).hexdigest()


CHALLENGES_PER_HOUR = 3


@transaction.atomic
def send_phone_challenge(access: ResidentAccess, link: Guardianship | None = None) -> str:
    """Send a one-time code to the phone on file for the claimed person (the link's own person, or the
    dependent of ``link``). Returns ``sent`` — also when nothing could be sent, so that the answer does
    not tell whether the person has a phone on file (the claim then waits for the grid worker, audited).
    Fails with ``too_many``: at most CHALLENGES_PER_HOUR codes an hour per claimed *person*, whatever the
    number of links claiming them (each registration makes a link of its own).

    A record that is itself an unconfirmed self-registration has no trustworthy phone on file (whoever
    registered first typed it): its claims are confirmed by the grid worker only."""
    person = link.dependent if link is not None else access.resident
    hour_ago = timezone.now() - datetime.timedelta(hours=1)
    sent = PhoneChallenge.objects.filter(created_at__gte=hour_ago).filter(
        models.Q(guardianship__dependent=person)
        | models.Q(guardianship__isnull=True, access__resident=person)
    )
    if sent.count() >= CHALLENGES_PER_HOUR:
        raise RegistrationError("too_many")
    code = f"{secrets.randbelow(10**6):06d}"
    PhoneChallenge.objects.create(
        access=access,
        guardianship=link,
        code_hash=_code_hash(access, code),
        expires_at=timezone.now() + datetime.timedelta(minutes=settings.PHONE_CHALLENGE_MINUTES),
    )
    trusted = bool(person.phone) and not person.is_pending
    if trusted:
        send_sms(
            person.phone,
            f"【gridroll】您的核实验证码为 {code}，{settings.PHONE_CHALLENGE_MINUTES} 分钟内有效。"
            f"有人正在申请查看 {person.masked_name} 的核酸码和检测结果；如非本人或家人操作，请勿告知他人。",
        )
    record(
        None,
        "resident.challenge_sent" if trusted else "resident.challenge_not_sent",
        person,
        reason="验证码发送到登记手机号" if trusted else "无可信的登记手机号：等待网格员核实",
        area_path=resident_area_path(person),
    )
    return "sent"


def answer_phone_challenge(access: ResidentAccess, code: str, link: Guardianship | None = None) -> None:
    """Check a one-time code; the right one confirms the claim. Fails with ``no_challenge``, ``expired``,
    ``too_many_attempts`` or ``wrong_code`` (a wrong try is counted even though it fails)."""
    with transaction.atomic():
        challenge = (
            PhoneChallenge.objects.select_for_update()
            .filter(access=access, guardianship=link, used_at__isnull=True)
            .order_by("-created_at")
            .first()
        )
        if challenge is None:
            raise RegistrationError("no_challenge", "code")
        if challenge.expires_at < timezone.now():
            raise RegistrationError("expired", "code")
        if challenge.attempts >= settings.PHONE_CHALLENGE_ATTEMPTS:
            raise RegistrationError("too_many_attempts", "code")
        right = hmac.compare_digest(challenge.code_hash, _code_hash(access, code.strip()))
        PhoneChallenge.objects.filter(pk=challenge.pk).update(
            attempts=challenge.attempts + 1, used_at=timezone.now() if right else None
        )
    if not right:
        raise RegistrationError("wrong_code", "code")
    if link is not None:
        confirm_guardianship(None, link, how="短信验证码核实")
    else:
        confirm_access(None, access, how="短信验证码核实")
