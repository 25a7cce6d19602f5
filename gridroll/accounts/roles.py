"""Roles and what each may do. A grant of a role on an area covers that area and everything below it."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    DISTRICT_ADMIN = "district_admin", _("District admin")
    SUBDISTRICT_ADMIN = "subdistrict_admin", _("Subdistrict admin")
    COMMUNITY_STAFF = "community_staff", _("Community staff")
    GRID_WORKER = "grid_worker", _("Grid worker")
    SAMPLER = "sampler", _("Sampler")
    LAB_STAFF = "lab_staff", _("Lab staff")


class Action(models.TextChoices):
    VIEW_REGISTRY = "view_registry", _("see residents")
    EDIT_REGISTRY = "edit_registry", _("edit residents")
    REVEAL_ID = "reveal_id", _("reveal document numbers")
    IMPORT = "import", _("import and export the registry")
    VIEW_AUDIT = "view_audit", _("read the audit log")
    SCAN = "scan", _("scan and check personal codes")
    MANAGE_CODES = "manage_codes", _("issue, print and revoke codes; manage sites")
    PLAN_ROUNDS = "plan_rounds", _("plan, open and close rounds")
    CALL_RESIDENTS = "call_residents", _("see residents' full phone numbers in roll calls and retest lists")
    REPORT_RESULTS = "report_results", _("receive boxes and report test results")


_REGISTRY = {Action.VIEW_REGISTRY, Action.EDIT_REGISTRY, Action.REVEAL_ID, Action.SCAN, Action.MANAGE_CODES}
# Above the community, phone numbers are masked in roll calls and retest lists: the grid worker and the
# community are the ones who call.
ROLE_ACTIONS: dict[str, set[str]] = {
    Role.DISTRICT_ADMIN: {*_REGISTRY, Action.IMPORT, Action.VIEW_AUDIT, Action.PLAN_ROUNDS},
    Role.SUBDISTRICT_ADMIN: {*_REGISTRY, Action.IMPORT, Action.VIEW_AUDIT, Action.PLAN_ROUNDS},
    Role.COMMUNITY_STAFF: {
        *_REGISTRY,
        Action.IMPORT,
        Action.VIEW_AUDIT,
        Action.PLAN_ROUNDS,
        Action.CALL_RESIDENTS,
    },
    # The grid worker knows their residents and corrects the registry every round (the seed's 牛叔).
    Role.GRID_WORKER: {*_REGISTRY, Action.CALL_RESIDENTS},
    # Samplers and labs see people only through the scanner and results, masked: never the registry.
    Role.SAMPLER: {Action.SCAN},
    # Labs see tubes, boxes and results by barcode; never a name.
    Role.LAB_STAFF: {Action.REPORT_RESULTS},
}
