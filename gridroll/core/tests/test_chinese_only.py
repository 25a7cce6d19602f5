"""Issue 18: the Chinese interface shows no English. Each role walks every page its navigation reaches
(links followed from the home page, so a new page is walked as soon as something links to it) in zh-Hans,
and a visible English word outside the allow-list fails the test with the page and the word."""

from __future__ import annotations

import pathlib
import re
from collections import deque
from urllib.parse import urlsplit

import pytest

from gridroll.conftest import make_user
from gridroll.core.tests.visible import visible_with_attrs

pytestmark = pytest.mark.django_db

# Words meant to stay as they are: the brand, formats and units, and codes meant to be typed.
ALLOWED = {
    "gridroll",
    "excel",
    "pdf",
    "csv",
    "xlsx",
    "xls",
    "ods",
    "api",
    "json",
    "openapi",
    "id",
    "url",
    "qr",
    "sms",
    "https",
    "http",
    "wifi",
    "totp",
    "ct",
    "orf",
    "ab",
    "utf",
    "gbk",
    "kb",
    "mb",
    "english",
}
# Management commands are typed as they are (python manage.py reconcile …).
COMMANDS = {"python"} | {
    p.stem for p in pathlib.Path(__file__).resolve().parents[2].glob("*/management/commands/*.py")
}
FILE = re.compile(r"\.(py|md|xlsx|xls|csv|ods|pdf|json)\b")
WORD = re.compile(r"[A-Za-z]{2,}")
SKIP = ("/accounts/logout", "/admin/", "/api/", "/static/", "/i18n/", "/media/")
LIMIT = 60  # pages per role: enough to reach every kind of page, few enough for make test


def _english(text: str) -> set[str]:
    words = set()
    for token in re.split(r"[\s·：,，;；。()（）“”「」]+", text):
        # Codes to type or read mix letters and digits (tube barcodes) or come in groups (JA2E-N5C7);
        # commands to type have underscores and dots (python manage.py import_results).
        if any(c.isdigit() for c in token) or re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", token):
            continue
        # Paths, addresses and file names to type (http://…/register/, docs/import.md, 结果.xlsx) and
        # command-line options (--out).
        if "_" in token or "/" in token or FILE.search(token) or token.startswith("--") or token in COMMANDS:
            continue
        for w in WORD.findall(token):
            if w.lower() not in ALLOWED:
                words.add(w)
    return words


def _walk(client) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    seen: set[str] = set()
    queue = deque(["/"])
    while queue and len(seen) < LIMIT:
        url = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans")
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        html = response.content.decode()
        text, attrs = visible_with_attrs(html)
        words = _english(text) | _english(" ".join(attrs))
        title = re.search(r"<title>(.*?)</title>", html, re.S)
        if title:
            words |= _english(title.group(1))
        if words:
            found[url] = words
        for href in re.findall(r'href="(/[^"#]*)"', html):
            parts = urlsplit(href)
            if href.startswith(SKIP) or "format=" in parts.query or "download" in parts.query:
                continue
            if parts.path.endswith((".xlsx", ".pdf", ".csv", ".png", ".svg")):
                continue
            queue.append(href.replace("&amp;", "&"))
    return found


@pytest.fixture
def everyone(tree, roll, people, resident_a, site):
    users = {
        "grid_worker": make_user("u1", "grid_worker", tree["grid_a"]),
        "community": make_user("u2", "community_staff", tree["community"]),
        "subdistrict": make_user("u3", "subdistrict_admin", tree["sub"]),
        "sampler": make_user("u4", "sampler", tree["grid_a"]),
        "lab": make_user("u5", "lab_staff", tree["district"]),
    }
    from gridroll.rollcall.models import Entry, Exemption
    from gridroll.rollcall.services import set_exemption

    # Something in every kind of history: an exemption (its action, field and value are codes).
    set_exemption(users["grid_worker"], Entry.objects.get(round=roll, resident=people[0]), Exemption.AWAY)
    for role, user in users.items():  # people are shown by their names, as in the demo
        user.first_name = {"grid_worker": "牛绪俭", "sampler": "采样员"}.get(role, "工作人员")
        user.save()
    return users


def test_every_page_a_role_reaches_reads_in_chinese(client, everyone):
    offenders = {}
    for role, user in everyone.items():
        client.force_login(user)
        for url, words in _walk(client).items():
            offenders[f"{role} {url}"] = sorted(words)
    assert not offenders, "English on Chinese pages:\n" + "\n".join(f"{k}: {v}" for k, v in offenders.items())
