"""The load balancer's probes: liveness without the database, readiness with it."""

from unittest import mock

import pytest


def test_healthz_answers_without_the_database(client):
    with mock.patch("django.db.backends.base.base.BaseDatabaseWrapper.cursor", side_effect=RuntimeError):
        response = client.get("/healthz")
    assert response.status_code == 200 and response.content == b"ok\n"


@pytest.mark.django_db
def test_readyz_is_ready_when_the_database_and_cache_answer(client):
    response = client.get("/readyz")
    assert response.status_code == 200 and response.json() == {"ready": True, "problems": []}


@pytest.mark.django_db
def test_readyz_says_why_it_is_not_ready(client):
    from gridroll.core import views

    views._migrations_checked.clear()
    with mock.patch("django.db.backends.utils.CursorWrapper.execute", side_effect=ConnectionError("down")):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["problems"] == ["database: ConnectionError"]
    assert "no-store" in response["Cache-Control"]
