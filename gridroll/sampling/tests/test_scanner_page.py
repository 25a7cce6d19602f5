"""The scanner page and its service worker agree on what to cache; the logout page clears the phone."""

import json
import re

from gridroll.sampling import views


def test_the_service_worker_precaches_exactly_the_files_the_page_loads(sampler, login, round_, site):
    client = login(sampler)
    page = client.get("/scan/").content.decode()
    worker = client.get("/scan/sw.js")
    assert "no-cache" in worker["Cache-Control"]  # (no-store too: every page is, by the middleware)
    cached = json.loads(re.search(r"const URLS = (\[.*?\]);", worker.content.decode())[1])
    loaded = set(re.findall(r'<(?:script|link rel="stylesheet") (?:src|href)="([^"]+)"', page))
    loaded |= set(re.findall(r'data-wasm="([^"]+)"', page))  # fetched by the decoder, not by a tag
    loaded |= {icon["src"] for icon in client.get("/scan/manifest.webmanifest").json()["icons"]}
    version = views.scanner_version()
    assert loaded and all(url.endswith(f"?v={version}") for url in loaded)
    assert set(cached) == loaded | {"/scan/"}
    assert f'"gridroll-scanner-{version}"' in worker.content.decode()


def test_a_change_to_a_scanner_file_is_a_new_release(monkeypatch):
    before = views.scanner_version()
    views.scanner_version.cache_clear()
    monkeypatch.setitem(views.SCANNER_FILES, "extra", "sampling/forget.js")  # another file's bytes
    try:
        assert views.scanner_version() != before
    finally:
        monkeypatch.undo()
        views.scanner_version.cache_clear()
    assert views.scanner_version() == before


def test_logging_out_clears_the_phone_and_is_a_post(sampler, login):
    client = login(sampler)
    assert client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/logout/")
    assert response.status_code == 200
    assert response["Clear-Site-Data"] == '"cache"'
    # The page runs the clearing from a file (the CSP allows no inline script).
    assert "/static/sampling/logged_out.js" in response.content.decode()
    from pathlib import Path

    script = Path(views.__file__).parent / "static" / "sampling" / "logged_out.js"
    assert "gridrollForget.forget()" in script.read_text()
    assert client.get("/scan/").status_code == 302  # logged out
