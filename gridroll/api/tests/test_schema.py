"""The API against its own OpenAPI schema, with generated requests (schemathesis), as each role.

Every operation in /api/openapi.json is called with a bounded number of generated examples by a grid
worker, a sampler, a subdistrict admin, lab staff and someone with no grant. No answer may be a server
error, and every answer whose status the schema documents must match its schema.
"""

from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from gridroll.conftest import make_user

CSRF = "A" * 32
SEEN: dict[str, Counter] = {}
ROLES = ["grid_worker", "sampler", "subdistrict_admin", "lab_staff", None]
# Examples per operation (each sent once per role): the whole test stays well under a minute.
EXAMPLES = 8


@pytest.fixture
def api_schema(db):
    from django.core.signals import request_finished, request_started
    from django.core.wsgi import get_wsgi_application
    from django.db import close_old_connections

    # Requests go through the real WSGI handler, inside the test's transaction: like Django's test
    # client, keep the handler from closing that connection at the end of each request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def sessions(tree, roll, people, site):
    """A logged-in session cookie for each role (made once per test, reused by every example)."""
    from django.test import Client

    areas = {"grid_worker": tree["grid_a"], "sampler": tree["grid_a"], "lab_staff": tree["district"]}
    out = {}
    for role in ROLES:
        user = make_user(f"user_{role}", role, areas.get(role, tree["sub"]) if role else None)
        client = Client()
        client.force_login(user)
        out[role] = client.cookies["sessionid"].value
    return out


def examples_of(operation, sessions):
    """A hypothesis test of one operation: each generated request sent once per role."""

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def each_example(case):
        for role, session in sessions.items():
            response = case.call(
                cookies={"sessionid": session, "csrftoken": CSRF},
                headers={"X-CSRFToken": CSRF},
            )
            SEEN.setdefault(operation.label, Counter())[response.status_code] += 1
            try:
                case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
            except Exception as exc:
                raise AssertionError(f"{operation.label} as {role}: {exc}") from exc

    return each_example


def test_the_api_answers_within_its_schema(api_schema, sessions):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations:
        examples_of(operation, sessions)()
    # The examples reached the endpoints as logged-in users: some answers are successes, not only 401/403.
    assert sum(c[200] for c in SEEN.values()) > 0, SEEN
