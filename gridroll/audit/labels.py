"""What people read for an audit record's stable codes: its action, the fields it changed and their values.

Records keep the codes (``rollcall.exempt``, ``exemption: home_scheduled``) so that they mean the same in
any language and can be searched; pages show these labels in the reader's language. A new action written
anywhere in the code needs a label here: ``audit/tests/test_labels.py`` finds every action the code writes
and fails on one without a label.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from gridroll.residents.masking import may_call, shown_value

ACTIONS = {
    "area.move": _("Area moved"),
    "bench.floor": _("Benchmark floor"),
    "box.create": _("Box created"),
    "box.pack": _("Tube packed into a box"),
    "box.seal": _("Box sealed"),
    "box.hand_over": _("Box handed over to a lab"),
    "box.receive": _("Box received"),
    "round.area_remove": _("Area removed from the round"),
    "round.opening": _("Site opening added"),
    "round.opening_remove": _("Site opening removed"),
    "site.station_add": _("Station added"),
    "site.station_remove": _("Station removed"),
    "box.receive_all": _("Box counted, all tubes received"),
    "box.receive_tube": _("Tube received at the lab"),
    "code.issue": _("Code issued"),
    "code.revoke": _("Code revoked"),
    "code.rotate_key": _("Signing key rotated"),
    "code.create_key": _("First signing key created"),
    "code.retire_key": _("Signing key retired"),
    "guardianship.claim": _("Guardian claimed, to confirm"),
    "guardianship.confirm": _("Guardian confirmed"),
    "guardianship.end": _("Guardianship ended"),
    "guardianship.link": _("Guardian linked"),
    "job.submit": _("File asked for (prepared in the background)"),
    "login.totp_enrolled": _("Two-step login set up"),
    "login.totp_failed": _("Two-step login failed"),
    "login.totp_removed": _("Two-step login removed"),
    "reconcile.add": _("List line added as a new resident"),
    "reconcile.bulk_confirm": _("List lines confirmed in bulk"),
    "reconcile.decide": _("List line decided"),
    "reconcile.delete": _("List deleted"),
    "reconcile.export": _("List exported"),
    "reconcile.rematch": _("List matched again"),
    "reconcile.undo": _("List decision undone"),
    "reconcile.upload": _("List uploaded"),
    "registration.name_probe": _("Registration refused: name guessing"),
    "registry.export": _("Registry exported"),
    "resident.bulk_read": _("Residents read through the API"),
    "resident.challenge_not_sent": _("Check code not sent"),
    "resident.challenge_sent": _("Check code sent"),
    "resident.claim": _("Registration claims an existing person"),
    "resident.confirm": _("Self-registration confirmed"),
    "resident.confirm_link": _("Access link confirmed"),
    "resident.create": _("Resident added"),
    "resident.end_link": _("Access link ended"),
    "resident.import_create": _("Resident imported"),
    "resident.import_update": _("Resident updated by import"),
    "resident.move": _("Resident moved"),
    "resident.new_access_link": _("New access link"),
    "resident.reject": _("Self-registration rejected"),
    "resident.reveal_document": _("ID number revealed"),
    "resident.search_document": _("Searched by full ID number"),
    "resident.self_register": _("Self-registered"),
    "resident.self_register_held": _("Self-registration held for the grid worker"),
    "resident.update": _("Resident edited"),
    "result.keep": _("Result kept (conflicting upload)"),
    "result.replace": _("Result replaced"),
    "retention.purge": _("Expired data deleted"),
    "rollcall.exempt": _("Exempted from this round"),
    "rollcall.repair": _("Roll call rebuilt"),
    "rollcall.repair_sites": _("Per-site sample counts rebuilt"),
    "rollcall.repair_scan_minutes": _("Scans per site and minute rebuilt"),
    "rollcall.unexempt": _("Exemption withdrawn"),
    "round.area": _("Area added to the round"),
    "round.close": _("Round closed"),
    "round.create": _("Round created"),
    "round.open": _("Round opened"),
    "staff.activate": _("Staff member made active again"),
    "staff.callup": _("Team called up"),
    "staff.callup_ack": _("Call-up acknowledged"),
    "staff.checkin": _("Checked in at the site"),
    "staff.create": _("Staff member added"),
    "staff.deactivate": _("Staff member deactivated"),
    "staff.delete": _("Staff member removed"),
    "staff.deploy": _("Shifts made and staff assigned"),
    "staff.export": _("Staff register exported"),
    "staff.import": _("Staff table imported"),
    "staff.import_preview": _("Staff table previewed"),
    "staff.link_account": _("Staff member's account linked"),
    "staff.create_account": _("Staff member's account made"),
    "staff.team": _("Team made"),
    "staff.team_members": _("Team members added"),
    "staff.update": _("Staff member changed"),
}

FIELDS = {
    "area": _("area"),
    "areas": _("areas"),
    "code": _("code"),
    "confirmed": _("confirmed"),
    "conclusion": _("conclusion"),
    "decision": _("decision"),
    "entries": _("roll-call lines"),
    "exemption": _("exemption"),
    "guardian": _("guardian"),
    "household_id": _("household"),
    "key_id": _("key"),
    "lines": _("lines"),
    "note": _("note"),
    "offset": _("from row"),
    "parent": _("parent area"),
    "path": _("area path"),
    "pool_mode": _("pool mode"),
    "rejected": _("registration rejected"),
    "replaced": _("codes replaced"),
    "resident": _("resident"),
    "result": _("result"),
    "revoked_reason": _("reason for revoking"),
    "round": _("round"),
    "rows": _("rows"),
    "rows_this_hour": _("rows this hour"),
    "status": _("state"),
    "tallies": _("building tallies"),
    "tubes": _("tubes"),
    "acknowledged": _("acknowledged by"),
    "account": _("account"),
    "by_phone": _("replied by phone or SMS"),
    "assigned": _("places filled"),
    "destination": _("sent to"),
    "freed_places": _("places freed"),
    "home_area": _("home area"),
    "home_unit": _("home unit"),
    "needed": _("places needed"),
    "place": _("where"),
    "sent": _("messages sent"),
    "shifts": _("shifts"),
    "short": _("places left empty"),
    "short_places": _("places left empty per shift"),
    "skills": _("skills"),
    "solver": _("solver"),
    "team": _("team"),
    "members": _("members"),
    "created": _("added"),
    "updated": _("updated"),
    "rejects": _("rows not usable"),
    "site": _("site"),
    "role": _("role"),
    "is_active": _("active"),
    "name": _("name"),
    "phone": _("phone"),
}


def _value_labels() -> dict[str, dict[str, Any]]:
    from gridroll.labs.models import Result
    from gridroll.reconcile.models import Conclusion, Decision
    from gridroll.residents.models import DocumentType, ResidenceType, ResidentStatus, Sex
    from gridroll.rollcall.models import Exemption
    from gridroll.sampling.models import Box, PoolMode, Round

    status = {**dict(Box.Status.choices), **dict(Round.Status.choices), **dict(ResidentStatus.choices)}
    return {
        "conclusion": dict(Conclusion.choices),
        "decision": dict(Decision.choices),
        "document_type": dict(DocumentType.choices),
        "exemption": dict(Exemption.choices),
        "pool_mode": dict(PoolMode.choices),
        "residence_type": dict(ResidenceType.choices),
        "result": dict(Result.choices),
        "sex": dict(Sex.choices),
        "status": status,
    }


def action_label(action: str) -> str:
    return str(ACTIONS.get(action, action))


def field_label(field: str) -> str:
    if field in FIELDS:
        return str(FIELDS[field])
    from django.core.exceptions import FieldDoesNotExist

    from gridroll.residents.models import Resident

    try:
        return str(Resident._meta.get_field(field.removesuffix("_id")).verbose_name)  # type: ignore[union-attr]
    except FieldDoesNotExist:
        return field


def value_label(field: str, value):
    """``value`` of ``field`` as a reader says it: a choice's label, 是/否 for a flag, else unchanged."""
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if isinstance(value, str):
        label = _value_labels().get(field, {}).get(value)
        if label is not None:
            return str(label)
    return value


def labelled(rows: list[tuple[str, object, object]]) -> list[tuple[str, object, object]]:
    """(field, old, new) rows, already masked for the reader, with field names and values labelled."""
    return [(field_label(f), value_label(f, old), value_label(f, new)) for f, old, new in rows]


def changes_for(user, changes: dict, area_path: str) -> list[tuple[str, object, object]]:
    """An audit record's ``{field: [old, new]}`` as (field, old, new) rows fit for ``user``'s eyes: masked,
    then with the field's name and the values' codes in the reader's language."""
    calls = may_call(user, area_path)
    rows = []
    for field, pair in (changes or {}).items():
        old, new = [*pair, None, None][:2] if isinstance(pair, list) else (None, pair)
        rows.append((field, shown_value(field, old, calls), shown_value(field, new, calls)))
    return labelled(rows)
