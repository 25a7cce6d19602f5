"""Code cards: seconds per 1,000 cards as PDF (ReportLab), beside a floor, and the old renderer.

Per round, interleaved (A B A B): the floor, the same 1,000 cards as the HTML print view (card rows, a
QR as SVG each, the template rendered: what a browser would be sent), then the PDF as the job and the
grid's download make it (card rows, QR matrices, ReportLab drawing with the embedded font subset). Once,
for reference, 100 of the cards through WeasyPrint as the PDF was made before issue 18 (the same HTML
and stylesheet with the font as @font-face). Checks the PDF has one page per ten cards.
Run by bench/run.py against a fresh database.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridroll.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.template import engines  # noqa: E402
from django.template.loader import render_to_string  # noqa: E402
from django.utils import translation  # noqa: E402

from gridroll.codes.cards import card_context, cards_pdf, static_font_path  # noqa: E402
from gridroll.codes.services import issue_codes  # noqa: E402
from gridroll.residents.models import Resident  # noqa: E402

N = 1000
# The card sheet's PDF template before issue 18 (WeasyPrint), for the reference figure.
OLD_TEMPLATE = """<!doctype html><html lang="zh-hans"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>
@font-face { font-family: "GridrollCJK"; src: url("{{ font_url }}"); }
body { font-family: "GridrollCJK"; margin: 0; }
{% include "codes/cards_style.css" %}
</style></head><body>{% include "codes/cards_body.html" %}</body></html>"""


def residents():
    ids = list(
        Resident.objects.order_by("household__building__grid__path", "pk").values_list("pk", flat=True)[:N]
    )
    return Resident.objects.filter(pk__in=ids)


def floor_html() -> tuple[float, int]:
    started = time.perf_counter()
    context = card_context(residents(), "基准网格")
    html = render_to_string("codes/cards_body.html", context)
    return time.perf_counter() - started, len(html)


def real_pdf() -> tuple[float, bytes]:
    started = time.perf_counter()
    context = card_context(residents(), "基准网格", qr=False)
    out = io.BytesIO()
    cards_pdf(context, out)
    return time.perf_counter() - started, out.getvalue()


def old_weasyprint(n: int) -> float:
    from weasyprint import HTML

    started = time.perf_counter()
    context = card_context(residents(), "基准网格")
    context["pages"] = context["pages"][: n // 10]
    html = (
        engines["django"]
        .from_string(OLD_TEMPLATE)
        .render({**context, "font_url": static_font_path().as_uri()})
    )
    HTML(string=html).write_pdf()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--old", type=int, default=100, help="cards through WeasyPrint once (0: skip)")
    args = parser.parse_args()
    translation.activate("zh-hans")
    call_command("migrate", verbosity=0)
    if not Resident.objects.exists():
        from generate_district import generate

        generate(residents=N + 500, quiet=True)
        issue_codes(Resident.objects.all(), reason="bench")
    static_font_path()
    real_pdf()  # the font registered and subset tables read once, as in a running server
    floors, reals = [], []
    pdf = b""
    for _ in range(args.rounds):
        floors.append(floor_html()[0])
        seconds, pdf = real_pdf()
        reals.append(seconds)
    pages = len(re.findall(rb"/Type /Page(?!s)", pdf))
    assert pages == N // 10, pages  # correctness: ten cards a page, every card drawn
    results = [
        ("cards.pdf_s_per_1000", statistics.median(reals), "s", reals),
        ("cards.floor_html_s_per_1000", statistics.median(floors), "s", floors),
        (
            "cards.pdf_over_html",
            statistics.median(r / f for r, f in zip(reals, floors, strict=True)),
            "ratio",
            [],
        ),
        ("cards.pdf_bytes_per_1000", len(pdf), "bytes", []),
    ]
    if args.old:
        old = old_weasyprint(args.old)
        results.append(("cards.weasyprint_s_per_1000", old * 1000 / args.old, "s", [old]))
    for name, value, unit, runs in results:
        print(
            json.dumps(
                {"name": name, "value": round(value, 3), "unit": unit, "runs": [round(r, 3) for r in runs]}
            )
        )


if __name__ == "__main__":
    main()
