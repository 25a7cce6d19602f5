"""Printable code cards: an A4 sheet of ten cards (QR, masked name, building and room, short code).

The PDF embeds Noto Sans SC from the justmytype-intl-cjk package, so it renders on a machine with no
Chinese fonts (ReportLab's STSong-Light is not embedded and prints empty boxes there).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from django.template.loader import render_to_string
from django.utils import timezone

from gridroll.codes.models import PersonalCode
from gridroll.codes.qr import qr_svg
from gridroll.lib.text import natural_key

CARDS_PER_PAGE = 10


def card_context(residents, title: str) -> dict:
    codes = sorted(
        PersonalCode.objects.filter(resident__in=residents, revoked_at__isnull=True).select_related(
            "resident__household__building__grid", "resident__registered_site"
        ),
        key=_walking_order,
    )
    cards = []
    for code in codes:
        r = code.resident
        cards.append(
            {
                "name": r.masked_name,
                "address": r.household.label
                if r.household
                else (r.registered_site.name if r.registered_site else ""),
                "grid": r.household.building.grid.name if r.household else "",
                "short_code": code.short_code,
                "qr": qr_svg(code.token, scale=4),
            }
        )
    pages = [cards[i : i + CARDS_PER_PAGE] for i in range(0, len(cards), CARDS_PER_PAGE)]
    return {"title": title, "pages": pages, "count": len(cards), "printed_at": timezone.localtime()}


def _walking_order(code: PersonalCode):
    """Household by household, in the order a grid worker walks the buildings."""
    h = code.resident.household
    if h is None:
        return ((1, ""), [], [], [], code.resident_id)
    b = h.building
    return (
        (0, b.compound_key),
        natural_key(b.number),
        natural_key(h.entrance),
        natural_key(h.room),
        code.resident_id,
    )


@lru_cache(maxsize=1)
def font_path() -> Path:
    try:
        import justmytype_intl_cjk
    except ImportError:
        raise RuntimeError(
            "码卡 PDF 需要字体包 justmytype-intl-cjk（pip install justmytype-intl-cjk）"
        ) from None
    base = Path(justmytype_intl_cjk.__file__).parent
    found = sorted(base.rglob("NotoSansSC*.ttf"))
    if not found:
        raise RuntimeError(f"在 {base} 中找不到 Noto Sans SC 字体")
    return found[0]


def static_font_path() -> Path:
    """Noto Sans SC at weight 400 as a static TrueType font, made once from the packaged variable font
    and kept under VAR_DIR (about 30 s, once per installation; ``load_demo`` makes it ahead). ReportLab
    reads static fonts only, and WeasyPrint otherwise instantiates the variable font on every PDF."""
    from django.conf import settings

    out = Path(settings.VAR_DIR) / "fonts" / "NotoSansSC-Regular-400.ttf"
    if out.exists():
        return out
    from fontTools.ttLib import TTFont
    from fontTools.varLib.instancer import instantiateVariableFont

    out.parent.mkdir(parents=True, exist_ok=True)
    font = instantiateVariableFont(TTFont(font_path()), {"wght": 400})
    tmp = out.with_suffix(f".{os.getpid()}.tmp")
    font.save(tmp)
    tmp.replace(out)  # atomic: a concurrent first use never reads half a font
    return out


def render_pdf(context: dict) -> bytes:
    """The card sheet as PDF bytes; RuntimeError with a clear message when WeasyPrint cannot run."""
    return pdf_from_template("codes/cards_pdf.html", context)


def pdf_from_template(template: str, context: dict) -> bytes:
    """A template rendered to PDF with the embedded Chinese font (``font_url`` in its context)."""
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as exc:
        raise RuntimeError(f"PDF 需要 WeasyPrint 和系统的 pango 库：{exc}。可先用打印页面直接打印。") from exc
    html = render_to_string(template, {**context, "font_url": static_font_path().as_uri()})
    return HTML(string=html).write_pdf()
