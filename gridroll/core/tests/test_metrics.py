"""/metrics: not public, labelled by route names (never paths or queries), requests timed per route."""

import re

import pytest
from django.test import override_settings
from prometheus_client import REGISTRY


def _count(view: str, method: str = "GET", status: str = "2xx") -> float:
    labels = {"view": view, "method": method, "status": status}
    return REGISTRY.get_sample_value("gridroll_http_request_duration_seconds_count", labels) or 0.0


def test_metrics_answer_the_machines_own_scraper(client):
    response = client.get("/metrics")  # the test client comes from 127.0.0.1, straight, like a scraper
    assert response.status_code == 200
    assert b"gridroll_http_request_duration_seconds" in response.content


@pytest.mark.parametrize(
    "extra",
    [
        {"HTTP_X_FORWARDED_FOR": "203.0.113.9"},  # through nginx (which also refuses /metrics)
        {"HTTP_X_FORWARDED_FOR": "127.0.0.1"},  # a forged "I am local" through the proxy
        {"REMOTE_ADDR": "10.1.2.3"},  # another machine on the LAN
    ],
)
def test_metrics_are_hidden_from_everyone_else(client, extra):
    response = client.get("/metrics", **extra)
    assert response.status_code == 404 and b"gridroll_" not in response.content


@override_settings(METRICS_TOKEN="s3cret-scrape-token-0123456789")
def test_with_a_token_only_the_token_opens_them(client):
    assert client.get("/metrics").status_code == 404  # loopback alone is no longer enough
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 404
    ok = client.get(
        "/metrics", HTTP_AUTHORIZATION="Bearer s3cret-scrape-token-0123456789", REMOTE_ADDR="10.1.2.3"
    )
    assert ok.status_code == 200


@pytest.mark.django_db
def test_requests_are_timed_by_route_name_without_the_path(client):
    before = _count("core:healthz")
    client.get("/healthz")
    assert _count("core:healthz") == before + 1
    secret = "Zq8xPrivateLinkSecret0123456789abcdef"
    id_number = "110101199003074477"
    client.get(f"/me/{secret}/")
    client.get(f"/residents/?q={id_number}")
    client.get("/no-such-page/110101199003074477/")
    text = client.get("/metrics").content.decode()
    assert secret not in text and id_number not in text and "/me/" not in text
    views = set(re.findall(r'gridroll_http_request_duration_seconds_count\{[^}]*view="([^"]+)"', text))
    assert {"core:healthz", "residents:search", "unmatched"} <= views
