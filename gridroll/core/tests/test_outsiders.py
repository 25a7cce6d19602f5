"""Every route that names an object, tried by everyone who should not see it (issue 13).

The route table below classifies every URL of the project. A new route fails
``test_every_route_is_classified`` until it is added here, with the object it names. Each object route
is then requested, by GET and by POST, as every persona that must not see the object: the answer for the
real object must be the same as for one that does not exist (404, or 405 where the method is wrong
before anything is looked up), so that an outsider cannot even learn that it exists.
"""

from __future__ import annotations

import datetime
from types import SimpleNamespace

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from gridroll.accounts.models import Grant
from gridroll.areas.models import Area, Level
from gridroll.codes.models import ResidentAccess
from gridroll.conftest import make_user
from gridroll.jobs.models import Job
from gridroll.labs.models import ResultIssue, ResultUpload
from gridroll.planning.models import Plan
from gridroll.reconcile.models import Feed, FeedLine
from gridroll.residents.models import Guardianship, ImportBatch, Resident
from gridroll.rollcall.models import Entry
from gridroll.sampling.models import Box

MISSING = 987_654_321

# Routes that name no object: public pages, lists scoped by their own tests, the API's own pages.
NO_OBJECT = {
    "core:home",
    "core:healthz",
    "core:readyz",
    "core:metrics",
    "residents:search",
    "residents:import",
    "residents:template",
    "audit:log",
    "codes:register",
    "codes:pending",
    "codes:cards",
    "codes:sites",
    "sampling:scanner",
    "sampling:service_worker",
    "sampling:manifest",
    "sampling:rounds",
    "rollcall:start",
    "command:start",
    "labs:home",
    "labs:conflicts",
    "labs:turnaround",
    "labs:retests",
    "reconcile:feeds",
    "jobs:list",
    "staff:register",
    "staff:export",
    "staff:import",
    "staff:teams",
    "staff:me",
    "accounts:login",
    "accounts:logout",
    "accounts:totp_setup",
    "accounts:password_change",
    "accounts:password_changed",
    "accounts:totp_verify",
    "set_language",
    "api-1:openapi-json",
    "api-1:openapi-view",
    "api-1:list_areas",
    "api-1:check",
    "api-1:keys",
    "api-1:revocations",
    "api-1:list_residents",
    "api-1:scan",
    "api-1:scan_batch",
    "api-1:rounds",
    "api-1:post_results",
    "api-1:get_retests",
    "api-1:api-root",
}
# Reached by possession of a secret in the URL (a private link, a site code): a wrong secret is 404
# (codes/tests/test_registration.py, test_possession.py).
BY_SECRET = {
    "codes:register_community",
    "codes:register_site",
    "codes:me",
    "codes:me_add",
    "codes:me_verify",
    "codes:me_code",
    "staff:checkin",
}

# route → (the kwargs naming grid A's object, the personas who must not see it)
REGISTRY = ("outsider", "far_admin", "sampler", "lab")
OBJECTS = {
    "areas:area": (lambda w: {"pk": w.grid_a.pk}, REGISTRY),
    "areas:area_export": (lambda w: {"pk": w.grid_a.pk}, REGISTRY),
    "areas:building": (lambda w: {"pk": w.building_a.pk}, REGISTRY),
    "areas:household": (lambda w: {"pk": w.household_a.pk}, REGISTRY),
    "residents:detail": (lambda w: {"pk": w.resident.pk}, REGISTRY),
    "residents:edit": (lambda w: {"pk": w.resident.pk}, REGISTRY),
    "residents:move": (lambda w: {"pk": w.resident.pk}, REGISTRY),
    "residents:status": (lambda w: {"pk": w.resident.pk}, REGISTRY),
    "residents:reveal": (lambda w: {"pk": w.resident.pk}, REGISTRY),
    "residents:create": (lambda w: {"household_pk": w.household_a.pk}, REGISTRY),
    "residents:import_batch": (lambda w: {"pk": w.batch.pk}, REGISTRY),
    "residents:import_apply": (lambda w: {"pk": w.batch.pk}, REGISTRY),
    "residents:import_rejects": (lambda w: {"pk": w.batch.pk}, REGISTRY),
    "residents:import_to_check": (lambda w: {"pk": w.batch.pk}, REGISTRY),
    "codes:issue": (lambda w: {"pk": w.resident.pk}, REGISTRY),
    "codes:reissue": (lambda w: {"pk": w.resident.pk}, REGISTRY),
    "codes:new_link": (lambda w: {"pk": w.resident.pk}, REGISTRY),
    "codes:confirm": (lambda w: {"kind": "link", "pk": w.access.pk}, REGISTRY),
    "codes:reject": (lambda w: {"kind": "guardian", "pk": w.guardianship.pk}, REGISTRY),
    "codes:site_edit": (lambda w: {"pk": w.site.pk}, REGISTRY),
    "codes:site_poster": (lambda w: {"pk": w.site.pk}, REGISTRY),
    "sampling:board": (lambda w: {"pk": w.site.pk}, REGISTRY),
    "sampling:box_create": (lambda w: {"pk": w.site.pk}, ("outsider", "far_admin", "lab")),
    "sampling:box": (lambda w: {"pk": w.box.pk}, ("outsider", "far_admin", "lab")),
    "sampling:round": (lambda w: {"pk": w.round.pk}, REGISTRY),
    "sampling:round_status": (lambda w: {"pk": w.round.pk}, REGISTRY),
    "sampling:stations": (lambda w: {"pk": w.site.pk}, REGISTRY),
    "rollcall:area": (lambda w: {"round_pk": w.round.pk, "area_pk": w.grid_a.pk}, REGISTRY),
    "rollcall:live": (lambda w: {"round_pk": w.round.pk, "area_pk": w.grid_a.pk}, REGISTRY),
    "rollcall:building": (
        lambda w: {"round_pk": w.round.pk, "area_pk": w.grid_a.pk, "building_pk": w.building_a.pk},
        REGISTRY,
    ),
    "rollcall:flat_map": (
        lambda w: {"round_pk": w.round.pk, "area_pk": w.grid_a.pk, "building_pk": w.building_a.pk},
        REGISTRY,
    ),
    "rollcall:sheet": (lambda w: {"round_pk": w.round.pk, "area_pk": w.grid_a.pk}, REGISTRY),
    "rollcall:sheet_pdf": (lambda w: {"round_pk": w.round.pk, "area_pk": w.grid_a.pk}, REGISTRY),
    "rollcall:sheet_xlsx": (lambda w: {"round_pk": w.round.pk, "area_pk": w.grid_a.pk}, REGISTRY),
    "rollcall:home_xlsx": (lambda w: {"round_pk": w.round.pk, "area_pk": w.grid_a.pk}, REGISTRY),
    "rollcall:repeat": (lambda w: {"round_pk": w.round.pk, "area_pk": w.grid_a.pk}, REGISTRY),
    "rollcall:exempt": (lambda w: {"pk": w.entry.pk}, REGISTRY),
    "labs:box": (lambda w: {"pk": w.box.pk}, ("outsider", "far_admin", "sampler", "far_lab")),
    "labs:upload": (lambda w: {"pk": w.upload.pk}, ("outsider", "far_admin", "sampler", "far_lab")),
    "labs:resolve": (lambda w: {"pk": w.issue.pk}, ("outsider", "far_admin", "sampler", "far_lab")),
    "reconcile:feed": (lambda w: {"pk": w.feed.pk}, REGISTRY),
    "reconcile:worklist": (lambda w: {"pk": w.feed.pk}, REGISTRY),
    "reconcile:export": (lambda w: {"pk": w.feed.pk}, REGISTRY),
    "reconcile:rematch": (lambda w: {"pk": w.feed.pk}, REGISTRY),
    "reconcile:delete": (lambda w: {"pk": w.feed.pk}, REGISTRY),
    "reconcile:decide": (lambda w: {"pk": w.line.pk}, REGISTRY),
    "reconcile:undo": (lambda w: {"pk": w.line.pk}, REGISTRY),
    "reconcile:confirm_many": (lambda w: {"pk": w.feed.pk}, REGISTRY),
    "reconcile:add": (lambda w: {"pk": w.line.pk}, REGISTRY),
    "api-1:get_area": (lambda w: {"area_id": w.grid_a.pk}, REGISTRY),
    "api-1:get_resident": (lambda w: {"resident_id": w.resident.pk}, REGISTRY),
    "api-1:roster": (lambda w: {"site_id": w.site.pk}, ("outsider", "far_admin", "lab")),
    "api-1:lookup": (lambda w: {"site_id": w.site.pk}, ("outsider", "far_admin", "lab")),
    "api-1:get_counts": (lambda w: {"round_id": w.round.pk, "area_id": w.grid_a.pk}, REGISTRY),
    "command:board": (lambda w: {"round_pk": w.round.pk, "area_pk": w.grid_a.pk}, REGISTRY),
    "command:data": (lambda w: {"round_pk": w.round.pk, "area_pk": w.grid_a.pk}, REGISTRY),
    "command:report_xlsx": (lambda w: {"round_pk": w.round.pk, "area_pk": w.grid_a.pk}, REGISTRY),
    "command:report_pdf": (lambda w: {"round_pk": w.round.pk, "area_pk": w.grid_a.pk}, REGISTRY),
    # Planning (issue 19): a plan is its area's planners' only.
    "planning:round": (lambda w: {"round_pk": w.round.pk}, REGISTRY),
    "planning:plan": (lambda w: {"pk": w.plan.pk}, REGISTRY),
    "planning:replan": (lambda w: {"pk": w.plan.pk}, REGISTRY),
    "planning:accept": (lambda w: {"pk": w.plan.pk}, REGISTRY),
    "planning:site_capacity": (lambda w: {"pk": w.site.pk}, REGISTRY),
    "planning:notice": (lambda w: {"round_pk": w.round.pk, "building_pk": w.building_a.pk}, REGISTRY),
    "planning:notice_pdf": (lambda w: {"round_pk": w.round.pk, "building_pk": w.building_a.pk}, REGISTRY),
    "planning:notice_text": (lambda w: {"round_pk": w.round.pk, "building_pk": w.building_a.pk}, REGISTRY),
    "planning:grid_slots": (lambda w: {"round_pk": w.round.pk, "grid_pk": w.grid_a.pk}, REGISTRY),
    # Background jobs (issue 18): a job is its owner's only; the sub-admin's job, tried by everyone else
    # (gridroll/jobs/tests/test_jobs.py tries a colleague with the same rights too).
    "jobs:detail": (lambda w: {"pk": w.job.pk}, (*REGISTRY, "far_lab")),
    "jobs:status": (lambda w: {"pk": w.job.pk}, (*REGISTRY, "far_lab")),
    "jobs:download": (lambda w: {"pk": w.job.pk}, (*REGISTRY, "far_lab")),
    "staff:member": (lambda w: {"pk": w.staff.pk}, REGISTRY),
    "staff:import_preview": (lambda w: {"pk": w.staff_import.pk}, REGISTRY),
    "staff:team": (lambda w: {"pk": w.team.pk}, REGISTRY),
    "staff:board": (lambda w: {"round_pk": w.round.pk}, REGISTRY),
    # Only the staff member the call-up was sent to may acknowledge it.
    "staff:ack": (lambda w: {"pk": w.callup_reply.pk}, (*REGISTRY, "far_lab")),
}


def _routes(patterns=None, ns=""):
    for p in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(p, URLResolver):
            yield from _routes(p.url_patterns, f"{ns}{p.namespace}:" if p.namespace else ns)
        elif isinstance(p, URLPattern):
            yield f"{ns}{p.name or ''}", str(p.pattern)


def test_every_route_is_classified():
    unclassified = [
        (name, pattern)
        for name, pattern in _routes()
        # The Django admin is for superusers only (is_staff is never granted to area staff).
        if not name.startswith("admin:") and name not in NO_OBJECT | BY_SECRET | set(OBJECTS)
    ]
    assert unclassified == [], "classify these routes in core/tests/test_outsiders.py"


def test_no_route_is_classified_twice_or_stale():
    names = {name for name, _p in _routes()}
    classified = [*NO_OBJECT, *BY_SECRET, *OBJECTS]
    assert len(classified) == len(set(classified))
    assert set(classified) <= names


@pytest.fixture
def world(tree, round_, site, resident_a, sub_admin):
    from gridroll.rollcall.services import sync_round

    sync_round(round_)
    guardian = Resident.objects.create(name="韩父", household=tree["household_a"])
    lab_user = make_user("lab_a", "lab_staff", tree["district"])
    upload = ResultUpload.objects.create(user=lab_user, filename="r.csv")
    feed = Feed.objects.create(name="名单", area=tree["grid_a"], round=round_, user=sub_admin)
    return SimpleNamespace(
        **tree,
        round=round_,
        site=site,
        resident=resident_a,
        entry=Entry.objects.get(resident=resident_a),
        batch=ImportBatch.objects.create(user=sub_admin, filename="名单.xlsx"),
        access=ResidentAccess.objects.create(resident=resident_a, token_hash="h" * 64, is_confirmed=False),
        guardianship=Guardianship.objects.create(dependent=resident_a, guardian=guardian, is_confirmed=False),
        box=Box.objects.create(code="XA-0001", round=round_, site=site),
        upload=upload,
        issue=ResultIssue.objects.create(upload=upload, row_number=2, code="conflict", message="x"),
        feed=feed,
        line=FeedLine.objects.create(feed=feed, line=1, row_number=2, name="韩馨怡"),
        plan=Plan.objects.create(round=round_, area=tree["community"], status=Plan.Status.PROPOSED),
        job=Job.objects.create(owner=sub_admin, kind="codes.cards", params={}, title="码卡", status="done"),
        **_staff_world(tree, sub_admin),
    )


def _staff_world(tree, sub_admin) -> dict:
    from gridroll.staff.models import CallUp, CallUpReply, StaffImport, StaffMember, Team

    team = Team.objects.create(name="测试队", home_area=tree["sub"], destination=tree["community"])
    staff = StaffMember.objects.create(
        name="赵医生",
        phone="13900000001",
        home_unit="镇卫生院",
        home_area=tree["community"],
        skills=["sampler"],
        team=team,
    )
    staff.user = make_user("staff_a", None, None)
    staff.save()
    callup = CallUp.objects.create(
        team=team,
        text="集合",
        place="社区",
        gather_at=datetime.datetime.now(datetime.UTC),
        created_by=sub_admin,
    )
    return {
        "staff": staff,
        "team": team,
        "staff_import": StaffImport.objects.create(area=tree["sub"], user=sub_admin, filename="名册.xlsx"),
        "callup_reply": CallUpReply.objects.create(callup=callup, member=staff),
    }


@pytest.fixture
def personas(tree):
    far = Area.objects.create(name="远方区", level=Level.DISTRICT)
    return {
        "outsider": make_user("outsider_b", "grid_worker", tree["grid_b"]),
        "far_admin": make_user("far_admin", "district_admin", far),
        "sampler": make_user("sampler_b", "sampler", tree["grid_b"]),
        "lab": make_user("lab_b", "lab_staff", tree["district"]),
        "far_lab": make_user("far_lab", "lab_staff", far),
    }


def _missing(kwargs: dict) -> dict:
    return {k: (v if k == "kind" else MISSING) for k, v in kwargs.items()}


@pytest.mark.parametrize("name", sorted(OBJECTS))
def test_an_outsider_gets_the_same_answer_for_a_hidden_object_as_for_a_missing_one(
    name, world, personas, client
):
    kwargs_of, who = OBJECTS[name]
    kwargs = kwargs_of(world)
    hidden_url, missing_url = reverse(name, kwargs=kwargs), reverse(name, kwargs=_missing(kwargs))
    for persona in who:
        client.force_login(personas[persona])
        for method in ("get", "post"):
            hidden = getattr(client, method)(hidden_url)
            missing = getattr(client, method)(missing_url)
            label = f"{persona} {method.upper()} {hidden_url}"
            assert hidden.status_code in (404, 405), (label, hidden.status_code)
            assert hidden.status_code == missing.status_code, label
            if hidden.status_code == 404 and not hidden.streaming:
                assert hidden.content == missing.content, label


def test_the_owner_does_see_them(world, grid_worker, client):
    """The table is not vacuous: the grid worker of grid A gets through where outsiders do not."""
    client.force_login(grid_worker)
    for name in ("areas:area", "residents:detail", "rollcall:area", "api-1:get_resident"):
        kwargs = OBJECTS[name][0](world)
        assert client.get(reverse(name, kwargs=kwargs)).status_code == 200, name
    assert Grant.objects.filter(user=grid_worker).exists()
    assert world.round.starts_at < datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)
