"""ReplicaRouter: read-heavy pages read from the replica only while it keeps up (the real replica, paused
and promoted, is driven by deploy/drill_failover.py)."""

from unittest import mock

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.test import override_settings

from gridroll.areas.models import Area
from gridroll.core import dbrouter
from gridroll.core.dbrouter import ReplicaRouter, read_heavy


@pytest.fixture
def replica():
    dbrouter.forget_verdict()
    with (
        mock.patch.dict(settings.DATABASES, {"replica": dict(settings.DATABASES["default"])}),
        override_settings(REPLICA_MAX_LAG_SECONDS=10, REPLICA_CHECK_SECONDS=0),
    ):
        yield
    dbrouter.forget_verdict()


def route(lag):
    with mock.patch.object(dbrouter, "replica_lag", return_value=lag):
        return ReplicaRouter().db_for_read(Area)


def test_read_heavy_reads_go_to_a_replica_that_keeps_up(replica):
    with read_heavy():
        assert route(0.0) == "replica"
        assert route(9.5) == "replica"


@pytest.mark.parametrize("lag", [10.5, 3600.0, None], ids=["behind", "far behind", "down or promoted"])
def test_a_lagging_or_missing_replica_sends_reads_back_to_the_primary(replica, lag):
    with read_heavy():
        assert route(lag) == "default"


def test_other_pages_and_every_write_stay_on_the_primary(replica):
    assert route(0.0) == "default"
    with read_heavy():
        assert ReplicaRouter().db_for_write(Area) == "default"
        with mock.patch.object(dbrouter, "replica_lag", return_value=0.0):
            assert ReplicaRouter().db_for_read(User) == "default"  # logins and sessions: always the primary


@pytest.mark.django_db
def test_reads_inside_a_transaction_see_its_own_writes(replica):
    with read_heavy(), transaction.atomic():
        assert route(0.0) == "default"


def test_without_a_replica_everything_is_the_primary():
    assert "replica" not in settings.DATABASES
    with read_heavy():
        assert ReplicaRouter().db_for_read(Area) == "default"


def test_the_marked_pages_are_the_read_heavy_ones(client, sub_admin):
    client.force_login(sub_admin)
    seen = []
    original = ReplicaRouter.db_for_read

    def spy(self, model, **hints):
        seen.append(dbrouter._read_heavy.get())
        return original(self, model, **hints)

    with mock.patch.object(ReplicaRouter, "db_for_read", spy):
        assert client.get("/labs/turnaround/").status_code == 200
        turnaround = list(seen)
        seen.clear()
        assert client.get("/residents/").status_code == 200
    assert turnaround and any(turnaround)
    assert seen and not any(seen)
