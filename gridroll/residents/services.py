"""Every write to a resident: edit, move, status change, reveal. Each one is audited.

Pages, the API and commands call these functions; none writes a resident by itself.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext_lazy

from gridroll.accounts.roles import Action
from gridroll.accounts.scope import can
from gridroll.areas.models import Household
from gridroll.audit.services import diff, record
from gridroll.core.errors import DomainError
from gridroll.lib.text import starts_like_formula
from gridroll.residents.models import Resident, ResidentStatus

# A name a spreadsheet would run as a formula (refused at registration, edit and import alike).
FORMULA_NAME_MESSAGE = gettext_lazy(
    "A name cannot begin with = + - @ or a tab (a spreadsheet would run it as a formula): check it and "
    "write it again."
)


class ResidentError(DomainError):
    """A refused change. ``code`` is stable; ``message`` is for people."""

    MESSAGES = {
        "reason_required": gettext_lazy("Give the reason for the change."),
        "forbidden": gettext_lazy("You may not do this."),
        "duplicate_id": gettext_lazy("This ID number is already registered for another person."),
        "duplicate_id_new": gettext_lazy(
            "This ID number is already registered: find the person and move them into this household "
            "instead of registering them again."
        ),
        "same_household": gettext_lazy("Already in this household: nothing to move."),
        "bad_value": gettext_lazy("Unknown resident status."),
        "formula_name": FORMULA_NAME_MESSAGE,
    }


EDITABLE_FIELDS = (
    "name",
    "sex",
    "document_type",
    "document_number",
    "birth_date",
    "phone",
    "relation",
    "residence_type",
    "status",
    "is_bedridden",
    "is_living_alone",
    "has_disability",
    "note",
)


def _area_path(resident: Resident) -> str:
    if resident.household_id is None:
        # A visitor who registered at a site: in scope of the site's area until placed in a household.
        return resident.registered_site.area.path if resident.registered_site_id else ""
    return resident.household.building.grid.path


def _locked(resident: Resident) -> Resident:
    """The resident's row, locked for the change, with what its scope path needs."""
    return (
        Resident.objects.select_for_update(of=("self",))
        .select_related("household__building__grid", "registered_site__area")
        .get(pk=resident.pk)
    )


def _require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ResidentError("reason_required")
    return reason


# Said the same wherever a name is typed or imported.


def _check_name(name: str) -> None:
    if starts_like_formula(name):
        raise ResidentError("formula_name")


def _check(user, action: str, path: str) -> None:
    if not can(user, action, path):
        raise ResidentError("forbidden")


@transaction.atomic
def update_resident(user, resident: Resident, changes: dict, reason: str) -> dict:
    """Apply field changes (validated by the form) and audit them. Returns {field: [old, new]}."""
    reason = _require_reason(reason)
    resident = _locked(resident)
    _check(user, Action.EDIT_REGISTRY, _area_path(resident))
    before = {f: getattr(resident, f) for f in EDITABLE_FIELDS}
    after = {f: changes.get(f, before[f]) for f in EDITABLE_FIELDS}
    changed = diff(before, after)
    if not changed:
        return {}
    if "name" in changed:
        _check_name(after["name"])
    if after["document_number"] and (
        Resident.objects.filter(
            document_type=after["document_type"], document_number=after["document_number"]
        )
        .exclude(pk=resident.pk)
        .exists()
    ):
        raise ResidentError("duplicate_id")
    for field, value in after.items():
        setattr(resident, field, value)
    # A value an import kept unverified is verified once staff set it through the form (validated).
    for field, flag in (
        ("phone", "phone_verified"),
        ("relation", "relation_verified"),
        ("residence_type", "residence_type_verified"),
    ):
        if field in changed:
            setattr(resident, flag, True)
    resident.save()
    record(user, "resident.update", resident, changes=changed, reason=reason, area_path=_area_path(resident))
    return changed


@transaction.atomic
def move_resident(user, resident: Resident, household: Household, reason: str) -> None:
    """Move a resident to another household. The user must be allowed to edit both places."""
    reason = _require_reason(reason)
    resident = _locked(resident)
    old_path = _area_path(resident)
    new_path = household.building.grid.path
    _check(user, Action.EDIT_REGISTRY, old_path)
    _check(user, Action.EDIT_REGISTRY, new_path)
    if household.pk == resident.household_id:
        raise ResidentError("same_household")
    changes = {"household": [resident.household.label if resident.household else "", household.label]}
    resident.household = household
    resident.save(update_fields=["household", "updated_at"])
    # Recorded under both areas, so that each side's staff see it in their audit view.
    record(user, "resident.move", resident, changes=changes, reason=reason, area_path=old_path)
    if not new_path.startswith(old_path):
        record(user, "resident.move", resident, changes=changes, reason=reason, area_path=new_path)


def set_status(user, resident: Resident, status: str, reason: str) -> dict:
    """Mark present / away / moved out / deceased."""
    if status not in ResidentStatus.values:
        raise ResidentError("bad_value")
    return update_resident(user, resident, {"status": status}, reason)


def reveal_document(user, resident: Resident) -> str:
    """The full document number, for someone allowed to see it; every reveal is audited."""
    path = _area_path(resident)
    _check(user, Action.REVEAL_ID, path)
    record(user, "resident.reveal_document", resident, area_path=path)
    return resident.document_number


@transaction.atomic
def create_resident(user, household: Household, values: dict, reason: str) -> Resident:
    """Add a resident to a household (a newborn, a new tenant)."""
    reason = _require_reason(reason)
    path = household.building.grid.path
    _check(user, Action.EDIT_REGISTRY, path)
    _check_name(values.get("name", ""))
    if (
        values.get("document_number")
        and Resident.objects.filter(
            document_type=values["document_type"], document_number=values["document_number"]
        ).exists()
    ):
        raise ResidentError("duplicate_id_new")
    resident = Resident.objects.create(household=household, **values)
    record(
        user,
        "resident.create",
        resident,
        changes={f: [None, str(values[f])] for f in values if values[f] not in ("", None, False)},
        reason=reason,
        area_path=path,
    )
    return resident
