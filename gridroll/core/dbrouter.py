"""Read-heavy pages read from the streaming replica, while it keeps up (docs/deployment.md).

``REPLICA_DATABASE_URL`` adds a ``replica`` database. ``ReplicaReadsMiddleware`` marks a request whose
URL pattern is in ``settings.REPLICA_VIEWS`` (exports, check sheets, the lab turnaround: pages that read
a lot and write little); ``ReplicaRouter`` sends that request's reads to the replica and everything else
(every write, every other page's reads, and any read inside a transaction on the primary, which must
see its own writes) to the primary.

The replica is used only while its lag is within ``REPLICA_MAX_LAG_SECONDS``: the lag is 0 when it has
replayed all the primary has written (its replay position equals the primary's current WAL position),
else the age of the last transaction it replayed. A replica that is down, paused, promoted (no longer
in recovery: a failover is under way) or behind sends the page back to the primary. The verdict is kept
for ``REPLICA_CHECK_SECONDS`` per process, so a busy page costs one check per few seconds, not per query.
"""

from __future__ import annotations

import contextvars
import threading
import time

from django.conf import settings
from django.db import connections

# Logins, sessions, lockouts and grants are always read from the primary: a login made a moment ago
# must be seen at once, whatever the replica has replayed.
PRIMARY_ONLY_APPS = {"auth", "sessions", "axes", "accounts", "contenttypes", "otp_totp"}
_read_heavy: contextvars.ContextVar[bool] = contextvars.ContextVar("gridroll_read_heavy", default=False)
_verdict: dict[str, float | bool] = {"at": -1e9, "usable": False, "lag": -1.0}
_lock = threading.Lock()


def replica_lag() -> float | None:
    """Seconds the replica is behind the primary; None when it cannot serve (down, or not a standby)."""
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_lsn()::text")
            primary_lsn = cursor.fetchone()[0]
        with connections["replica"].cursor() as cursor:
            cursor.execute(
                "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn() >= %s::pg_lsn,"
                " COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 1e9)",
                [primary_lsn],
            )
            in_recovery, caught_up, age = cursor.fetchone()
    except Exception:  # any failure means "not now": the primary answers instead
        connections["replica"].close()
        return None
    if not in_recovery:
        return None
    return 0.0 if caught_up else float(age)


def replica_usable() -> bool:
    now = time.monotonic()
    with _lock:
        if now - float(_verdict["at"]) < settings.REPLICA_CHECK_SECONDS:
            return bool(_verdict["usable"])
    lag = replica_lag()
    usable = lag is not None and lag <= settings.REPLICA_MAX_LAG_SECONDS
    with _lock:
        _verdict.update(at=now, usable=usable, lag=-1.0 if lag is None else lag)
    return usable


def forget_verdict() -> None:
    _verdict["at"] = -1e9


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        if not _read_heavy.get() or "replica" not in settings.DATABASES:
            return "default"
        if connections["default"].in_atomic_block or model._meta.app_label in PRIMARY_ONLY_APPS:
            return "default"
        return "replica" if replica_usable() else "default"

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the replica is a copy of the primary: the same rows

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == "default"


class ReplicaReadsMiddleware:
    """Marks the requests of ``settings.REPLICA_VIEWS`` as read-heavy for ``ReplicaRouter``."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _read_heavy.set(False)
        try:
            return self.get_response(request)
        finally:
            _read_heavy.reset(token)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.resolver_match and request.resolver_match.view_name in settings.REPLICA_VIEWS:
            _read_heavy.set(True)
        return None


class read_heavy:  # lower case: used like a function, ``with read_heavy(): ...``
    """Marks a block outside a request (a command, a test) as read-heavy."""

    def __enter__(self):
        self._token = _read_heavy.set(True)

    def __exit__(self, *exc):
        _read_heavy.reset(self._token)
