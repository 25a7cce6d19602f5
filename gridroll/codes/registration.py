"""Self-registration on a phone, and dependents registered by their guardian.

The rules (docs/codes.md draws them):

- A registration that matches nobody creates a *pending* resident (the grid worker confirms it), a code,
  and a private link to the registrant's page.
- A registration that matches a registry record (same document, same name) never makes a duplicate: it
  links to that record and issues its code. Because typing a name and an ID number proves nothing, the
  link is *unconfirmed*: the code is shown (so the person can be sampled), results are not, until the
  grid worker confirms. If the record already has a holder, the second registration is refused.
- A guardian adds dependents the same way; a dependent may have several guardians. Under-14s need the
  guardian's consent (PIPL art. 31), recorded with its time.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from gridroll.areas.models import Household
from gridroll.audit.services import record
from gridroll.codes.models import ResidentAccess, hash_access_token
from gridroll.codes.services import issue_code, resident_area_path
from gridroll.residents.models import Guardianship, Resident

CONSENT_AGE = 14


class RegistrationError(Exception):
    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


@dataclass
class Registration:
    resident: Resident
    outcome: str  # created | linked | linked_second_guardian
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


def _new_access(resident: Resident, *, confirmed: bool, site=None) -> str:
    secret = ResidentAccess.new_secret()
    ResidentAccess.objects.create(
        resident=resident,
        token_hash=hash_access_token(secret),
        is_confirmed=confirmed,
        consent_at=timezone.now(),
        site=site,
    )
    return secret


@transaction.atomic
def register_self(
    values: dict, household: Household | None, site=None, consent: bool = False
) -> Registration:
    """Register the person holding the phone. ``values`` are validated resident fields."""
    if not consent:
        raise RegistrationError("consent_required", "请阅读并同意个人信息使用说明", "consent")
    if household is None and site is None:
        raise RegistrationError("missing_address", "请选择现居住的楼栋和房号", "building")
    existing = _find(values, household)
    if existing is not None:
        existing = Resident.objects.select_for_update().get(pk=existing.pk)
        if existing.name != values["name"]:
            raise RegistrationError(
                "duplicate_id", "该证件号码已登记为另一人，请核对姓名和证件号码", "document_number"
            )
        if existing.accesses.filter(revoked_at__isnull=True).exists():
            raise RegistrationError(
                "already_registered",
                "此证件号码已经登记过，不能重复登记。如换了手机或找不到链接，请联系网格员补发。",
                "document_number",
            )
        secret = _new_access(existing, confirmed=False, site=site)
        issue_code(existing, reason="本人登记（与信息库匹配）")
        record(
            None,
            "resident.self_link",
            existing,
            reason=f"采样点 {site}" if site else "自助登记",
            area_path=resident_area_path(existing),
        )
        return Registration(
            existing,
            "linked",
            "您已在居民信息库中，已为您生成核酸码。检测结果需网格员核实身份后才能查看。",
            secret,
        )
    resident = Resident.objects.create(
        household=household, registered_site=site if household is None else None, is_pending=True, **values
    )
    secret = _new_access(resident, confirmed=True, site=site)
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


@transaction.atomic
def add_dependent(
    access: ResidentAccess, values: dict, household: Household | None, relation: str, consent: bool = False
) -> Registration:
    """Add a dependent (a child without a phone, an elderly parent) to a guardian's page."""
    guardian = access.resident
    age = _age(values.get("birth_date"))
    if age is not None and age < CONSENT_AGE and not consent:
        raise RegistrationError("guardian_consent_required", "未满14周岁，须由监护人勾选同意", "consent")
    household = household or guardian.household
    existing = _find(values, household)
    consent_at = timezone.now() if consent else None
    if existing is not None:
        if existing.pk == guardian.pk:
            raise RegistrationError("self", "不能把自己添加为被监护人", "document_number")
        if existing.name != values["name"]:
            raise RegistrationError(
                "duplicate_id", "该证件号码已登记为另一人，请核对姓名和证件号码", "document_number"
            )
        if Guardianship.objects.filter(dependent=existing, guardian=guardian).exists():
            raise RegistrationError(
                "already_your_dependent", f"{existing.masked_name} 已在您的被监护人中", "name"
            )
        others = Guardianship.objects.filter(dependent=existing).exists()
        # Same household and a confirmed guardian: the registry already says they live together.
        confirmed = (
            access.is_confirmed
            and guardian.household_id is not None
            and (existing.household_id == guardian.household_id)
        )
        Guardianship.objects.create(
            dependent=existing,
            guardian=guardian,
            relation=relation,
            consent_at=consent_at,
            is_confirmed=confirmed,
        )
        issue_code(existing, reason="监护人添加（与信息库匹配）")
        record(
            None,
            "guardianship.link",
            existing,
            changes={"guardian": [None, guardian.masked_name]},
            reason=relation,
            area_path=resident_area_path(existing),
        )
        if others:
            message = f"{existing.masked_name} 已由其他监护人登记；已添加您为共同监护人，不会重复登记。"
        else:
            message = f"{existing.masked_name} 已在居民信息库中，已关联到您名下，不会重复登记。"
        if not confirmed:
            message += "检测结果需网格员核实后才能查看。"
        return Registration(existing, "linked_second_guardian" if others else "linked", message)
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
    access = (
        ResidentAccess.objects.filter(token_hash=hash_access_token(secret), revoked_at__isnull=True)
        .select_related("resident__household__building")
        .first()
    )
    if access is not None:
        ResidentAccess.objects.filter(pk=access.pk).update(last_used_at=timezone.now())
    return access


@transaction.atomic
def confirm_resident(user, resident: Resident) -> None:
    """The grid worker knows this person: the pending self-registered record joins the registry.
    (Links and guardianships made by typing someone's details are confirmed one by one, apart.)"""
    Resident.objects.filter(pk=resident.pk).update(is_pending=False)
    record(
        user,
        "resident.confirm",
        resident,
        changes={"is_pending": [resident.is_pending, False]},
        reason="网格员核实",
        area_path=resident_area_path(resident),
    )


@transaction.atomic
def new_access_link(user, resident: Resident) -> str:
    """A fresh private link for a resident (lost phone): old links stop working."""
    ResidentAccess.objects.filter(resident=resident, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
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


@transaction.atomic
def confirm_access(user, access: ResidentAccess) -> None:
    """The grid worker checked that the holder of this link is the person (e.g. by calling them)."""
    ResidentAccess.objects.filter(pk=access.pk).update(is_confirmed=True)
    record(
        user,
        "resident.confirm_link",
        access.resident,
        reason="网格员核实本人",
        area_path=resident_area_path(access.resident),
    )


@transaction.atomic
def confirm_guardianship(user, link: Guardianship) -> None:
    Guardianship.objects.filter(pk=link.pk).update(is_confirmed=True)
    record(
        user,
        "guardianship.confirm",
        link.dependent,
        changes={"guardian": [None, link.guardian.masked_name]},
        reason="网格员核实监护关系",
        area_path=resident_area_path(link.dependent),
    )
