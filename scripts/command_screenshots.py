"""The README's command-view screenshots, taken of the demo district in Debian's chromium.

    make demo            # or: manage.py migrate && manage.py load_demo && manage.py runserver
    .venv/bin/python scripts/command_screenshots.py [--base http://127.0.0.1:8000] [--out docs]

Logs in as the demo's district commander and writes ``command-phone.png`` (390×844, the whole page) and
``command-wall.png`` (1920×1080, ``?wall=1``) of the open round's command view for the district. Needs
``apt-get install chromium fonts-noto-cjk`` and pip playwright (never ``playwright install``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--out", default="docs")
    parser.add_argument("--user", default="district")
    parser.add_argument("--password", default="gridroll2022")
    args = parser.parse_args()
    out = Path(args.out)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(base_url=args.base)
        page = context.new_page()
        page.goto("/accounts/login/")
        page.fill("#id_username", args.user)
        page.fill("#id_password", args.password)
        page.click("main button")
        page.goto("/command/")
        board = page.url
        for name, size, suffix, full in (
            ("command-phone.png", {"width": 390, "height": 844}, "", True),
            ("command-wall.png", {"width": 1920, "height": 1080}, "?wall=1", False),
        ):
            page.set_viewport_size(size)
            page.goto(board + suffix)
            page.wait_for_selector('[data-panel="progress"] svg')
            page.wait_for_timeout(800)  # ECharts' entry animation
            page.screenshot(path=str(out / name), full_page=full)
            print(out / name)
        browser.close()


if __name__ == "__main__":
    main()
