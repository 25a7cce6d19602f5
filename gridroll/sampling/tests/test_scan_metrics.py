"""Scan metrics: bindings (scans/s), results by reason, the phone's backlog per upload and its sync lag."""

import datetime

from prometheus_client import REGISTRY

from gridroll.sampling.tests.conftest import code_of


def _value(name, labels=None) -> float:
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


def _duplicates() -> float:
    return sum(
        sample.value
        for metric in REGISTRY.collect()
        if metric.name == "gridroll_scan_actions"
        for sample in metric.samples
        if sample.name.endswith("_total")
        and sample.labels["duplicate"] == "true"
        and sample.labels["kind"] == "add"
    )


def test_an_upload_counts_its_bindings_once_and_its_backlog(sampler, act, people, login):
    client = login(sampler)
    late = (datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)).isoformat()
    actions = [act("open_tube", tube="TUBE000777")] + [
        dict(act("add", tube="TUBE000777", code=code_of(p), decided_offline=True), device_time=late)
        for p in people[:3]
    ]
    bindings = _value("gridroll_bindings_total")
    uploads = _value("gridroll_scan_upload_actions_count")
    lag_sum = _value("gridroll_scan_sync_lag_seconds_sum")
    big_backlogs = _value("gridroll_scan_upload_actions_bucket", {"le": "2.0"})
    client.post("/api/sampling/scans/batch", {"actions": actions}, content_type="application/json")
    assert _value("gridroll_bindings_total") == bindings + 3
    assert _value("gridroll_scan_upload_actions_count") == uploads + 1
    assert _value("gridroll_scan_upload_actions_bucket", {"le": "2.0"}) == big_backlogs  # 4 actions: above 2
    assert _value("gridroll_scan_sync_lag_seconds_sum") - lag_sum >= 3 * 290  # three actions 5 minutes late
    # The same batch again (a lost answer): no new bindings, counted as duplicates.
    dupes = _duplicates()
    client.post("/api/sampling/scans/batch", {"actions": actions}, content_type="application/json")
    assert _value("gridroll_bindings_total") == bindings + 3
    assert _duplicates() == dupes + 3
