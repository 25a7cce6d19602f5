"""The Content-Security-Policy as a browser enforces it: the pages staff and residents use run with no
violation (no inline script or handler left, the scanner's worker allowed), and an injected inline
script is refused."""

from __future__ import annotations

import pytest

from gridroll.conftest import make_user

pytestmark = pytest.mark.browser


def _violations(page) -> list[str]:
    return page.evaluate("window.__csp || []")


WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""


def test_the_pages_run_under_the_policy(
    browser, live_server, tree, roll, people, site, resident_a, transactional_db
):
    grid_worker = make_user("csp_worker", "grid_worker", tree["grid_a"])
    grid_worker.set_password("a-long-pass-phrase-4-tests")
    grid_worker.save()
    sub = make_user("csp_sub", "subdistrict_admin", tree["sub"])
    sub.set_password("a-long-pass-phrase-4-tests")
    sub.save()
    context = browser.new_context(bypass_csp=False, base_url=live_server.url)
    context.add_init_script(WATCH)
    page = context.new_page()
    console = []
    page.on("console", lambda m: console.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto("/accounts/login/")
    page.fill("input[name=username]", "csp_sub")
    page.fill("input[name=password]", "a-long-pass-phrase-4-tests")
    page.press("input[name=password]", "Enter")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    for url in (
        "/",
        f"/rollcall/{roll.pk}/{tree['grid_a'].pk}/",
        f"/rollcall/{roll.pk}/{tree['grid_a'].pk}/sheet/",
        f"/residents/{resident_a.pk}/",
        "/retests/",
        f"/sites/{site.pk}/poster/",
        "/audit/",
        "/api/docs",
    ):
        response = page.goto(url)
        page.wait_for_load_state("networkidle")
        assert response.status == 200 and "/accounts/login/" not in page.url, url
        assert _violations(page) == [], url
    # The behaviour moved out of inline handlers still works: the round picker submits by itself.
    page.goto("/retests/")
    page.select_option("select[name=round]", str(roll.pk))
    page.wait_for_url(f"**/retests/?round={roll.pk}")
    # And something injected inline is refused, which is the point.
    page.evaluate("document.body.insertAdjacentHTML('beforeend', '<img src=x onerror=\"window.__pwned=1\">')")
    page.wait_for_timeout(300)
    assert page.evaluate("window.__pwned === undefined")
    assert any("script-src" in v for v in _violations(page))
    assert console == [] or all("onerror" in c or "inline" in c for c in console)
    context.close()
