"""Prometheus metrics (prometheus-client): requests per route, scans, sync lag and the phones' backlogs.

Labels carry no personal data: a request is labelled by its URL pattern's name (``rollcall:sheet``, never
the path, which can hold a private link's secret or an ID number), its method and its status; a scan by
its kind, its result and its reason code. Under gunicorn every worker writes its figures to
``PROMETHEUS_MULTIPROC_DIR`` (deploy/gunicorn.conf.py makes one per instance) and ``/metrics`` adds them
up, so one scrape of an instance sees all its workers.

``/metrics`` is not public (docs/deployment.md): it answers a request that carries
``Authorization: Bearer $GRIDROLL_METRICS_TOKEN``, or, without a token configured, one made on the
machine itself straight to gunicorn (loopback, no ``X-Forwarded-For``: nginx always sets it, and nginx
also refuses /metrics). Anyone else gets the same 404 as an unknown page.
"""

from __future__ import annotations

import datetime
import hmac
import ipaddress
import os
import time

from django.conf import settings
from django.http import Http404, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

# Fine around the 500 ms p99 target (docs/scale.md).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2, 5, 10, 30, 120)

REQUESTS = Histogram(
    "gridroll_http_request_duration_seconds",
    "Time to answer a request, by URL pattern name, method and status class",
    ["view", "method", "status"],
    buckets=LATENCY_BUCKETS,
)
SCANS = Counter(
    "gridroll_scan_actions",
    "Scanner actions recorded, by kind, result and reason (a replayed nonce counts as duplicate)",
    ["kind", "result", "reason", "duplicate"],
)
BINDINGS = Counter("gridroll_bindings", "People added to tubes (first time, not a replay): scans per second")
SYNC_LAG = Histogram(
    "gridroll_scan_sync_lag_seconds",
    "Server time minus the phone's time of the action when it arrives (includes the phone's clock error)",
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600),
)
BATCH = Histogram(
    "gridroll_scan_upload_actions",
    "Actions in one upload: the phone's queue then (the scanner sends its whole queue, 200 at most)",
    buckets=(1, 2, 5, 10, 20, 50, 100, 150, 200),
)


def observe_scans(actions: list[dict], results: list) -> None:
    """Count a scan upload's results and how far behind the phone it arrived."""
    BATCH.observe(len(actions))
    now = datetime.datetime.now(datetime.UTC)
    bindings = 0
    for action, result in zip(actions, results, strict=False):
        SCANS.labels(
            action.get("kind", ""), result.result, result.reason or "", str(result.duplicate).lower()
        ).inc()
        if action.get("kind") == "add" and result.result != "refused" and not result.duplicate:
            bindings += 1
        try:
            at = datetime.datetime.fromisoformat(str(action.get("device_time", "")))
        except ValueError:
            continue
        if at.tzinfo is not None:
            SYNC_LAG.observe(max(0.0, (now - at).total_seconds()))
    if bindings:
        BINDINGS.inc(bindings)


class MetricsMiddleware:
    """Times every request, labelled by the name of the URL pattern it matched (never its path)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        view = (match.view_name if match else "") or "unmatched"
        REQUESTS.labels(view, request.method, f"{response.status_code // 100}xx").observe(
            time.perf_counter() - started
        )
        return response


def _allowed(request) -> bool:
    token = getattr(settings, "METRICS_TOKEN", "")
    if token:
        given = request.META.get("HTTP_AUTHORIZATION", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
    if "HTTP_X_FORWARDED_FOR" in request.META or "HTTP_X_REAL_IP" in request.META:
        return False  # came through a proxy: not the machine's own scraper
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


def metrics_view(request):
    if not _allowed(request):
        raise Http404
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        from prometheus_client import REGISTRY

        body = generate_latest(REGISTRY)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
