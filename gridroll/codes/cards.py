"""Printable code cards: an A4 sheet of ten cards (QR, masked name, building and room, short code).

The print view is HTML (a grid at most); the PDF is drawn with ReportLab (``cards_pdf``) with Noto Sans SC
from the justmytype-intl-cjk package embedded as a subset, so it prints on a machine with no Chinese
fonts (ReportLab's STSong-Light is not embedded and prints empty boxes there). WeasyPrint took about
9 s per 100 cards (styles, layout and an SVG per QR); ReportLab draws each QR as one path of filled
runs (bench: ``cards``). Above a grid the PDF is a background job (``cards_job``).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from django.template.loader import render_to_string
from django.utils import timezone

from gridroll.codes.models import PersonalCode
from gridroll.lib.text import natural_key

CARDS_PER_PAGE = 10


def card_context(residents, title: str, qr: bool = True) -> dict:
    """The cards of ``residents`` in walking order, ten to a page; ``qr`` adds each card's SVG (for
    HTML) where the PDF draws the QR from ``token``."""
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
                "token": code.token,
                "qr": card_qr_svg(code.token) if qr else "",
            }
        )
    pages = [cards[i : i + CARDS_PER_PAGE] for i in range(0, len(cards), CARDS_PER_PAGE)]
    return {"title": title, "pages": pages, "count": len(cards), "printed_at": timezone.localtime()}


def card_qr_svg(token: str) -> str:
    """The card's QR for the print view: as ``qr_matrix`` (fixed mask), as SVG."""
    import segno

    return segno.make(token, error="m", micro=False, boost_error=False, mask=2).svg_inline(
        scale=4, border=2, light="white", omitsize=True
    )


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
    """The card sheet as PDF bytes (``card_context(..., qr=False)`` is enough)."""
    import io

    out = io.BytesIO()
    cards_pdf(context, out)
    return out.getvalue()


FONT = "GridrollCJK"


@lru_cache(maxsize=1)
def _register_font() -> str:
    from reportlab import rl_config
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    pdfmetrics.registerFont(TTFont(FONT, str(static_font_path())))
    # Binary streams: ASCII85 (for 7-bit channels) took a tenth of the time in pure Python.
    rl_config.useA85 = 0
    return FONT


def qr_matrix(token: str) -> tuple:
    """The QR's modules (rows of 0/1, no border) as on the resident's page: version 5, level M.

    The mask is fixed (pattern 2) rather than chosen by segno's penalty search: the search is four
    fifths of segno's time (about 20 ms a code here), and any of the eight masks makes a valid symbol
    that every reader decodes (codes/tests: the PDF's QR decodes to the token)."""
    import segno

    return segno.make(token, error="m", micro=False, boost_error=False, mask=2).matrix


def _draw_qr(canvas, token: str, x: float, y: float, size: float) -> None:
    """The QR in a ``size`` square with (x, y) its lower left corner, quiet zone of two modules
    included: its dark runs as rectangles in module units (integers, written as they are: ReportLab's
    pure-Python number formatting was most of the time), filled once."""
    matrix = qr_matrix(token)
    n = len(matrix)
    module = size / (n + 4)
    ops = []
    for i, row in enumerate(matrix):
        j = 0
        while j < n:
            if row[j]:
                start = j
                while j < n and row[j]:
                    j += 1
                ops.append(f"{start} {i} {j - start} 1 re")
            else:
                j += 1
    canvas.saveState()
    # Module units, rows downwards from the QR's top left corner inside the quiet zone.
    canvas.transform(module, 0, 0, -module, x + 2 * module, y + size - 2 * module)
    canvas.addLiteral("\n".join(ops) + "\nf")
    canvas.restoreState()


def _fit(text: str, size: float, width: float) -> float:
    """The largest font size up to ``size`` (not below 6 pt) at which ``text`` fits in ``width``."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    wide = stringWidth(text, FONT, size)
    return size if wide <= width else max(6.0, size * width / wide)


def cards_pdf(context: dict, out, progress=None) -> int:
    """Draw the sheet of ``card_context`` into ``out`` (a binary file): A4, ten cards a page in two
    columns, dashed cutting lines, as the print view. ``progress(done, total)`` after each page.
    Returns the number of pages."""
    from django.utils.translation import gettext as _
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas

    font = _register_font()
    canvas = Canvas(out, pagesize=A4, pageCompression=1, initialFontName=font, initialFontSize=8)
    canvas.setTitle(f"{context['title']} · {_('personal code cards')}")
    height = A4[1]
    margin, gap, card_w, card_h = 8 * mm, 2 * mm, 95 * mm, 53 * mm
    pages = context["pages"]
    hint = _("Show this card at the sampling point")
    printed = context["printed_at"].strftime("%Y-%m-%d %H:%M")
    total = context["count"]
    done = 0
    for number, page in enumerate(pages, start=1):
        canvas.setFont(font, 8)
        canvas.setFillColor(colors.HexColor("#555555"))
        head = f"{context['title']} · {_('personal code cards')} · {printed} · {number}/{len(pages)}"
        canvas.drawString(margin, height - margin - 8, head)
        for k, card in enumerate(page):
            col, row = k % 2, k // 2
            x = margin + col * (card_w + gap)
            y = height - margin - 5 * mm - (row + 1) * card_h - row * gap
            canvas.setStrokeColor(colors.HexColor("#888888"))
            canvas.setLineWidth(0.3 * mm)
            canvas.setDash(3, 2)
            canvas.rect(x, y, card_w, card_h, stroke=1, fill=0)
            canvas.setFillColor(colors.black)
            qr = 38 * mm
            _draw_qr(canvas, card["token"], x + 3 * mm, y + (card_h - qr) / 2, qr)
            tx, text_w = x + 44 * mm, card_w - 47 * mm
            lines = [  # text, size, colour, distance from the line above
                (card["name"], 16, colors.black, 22),
                (card["address"], 10, colors.black, 17),
                (card["grid"], 9, colors.HexColor("#444444"), 13),
                (card["short_code"], 15, colors.black, 24),
                (hint, 7, colors.HexColor("#666666"), 14),
            ]
            ty = y + card_h - 5 * mm
            for text, size, color, leading in lines:
                ty -= leading
                if text:
                    canvas.setFillColor(color)
                    canvas.setFont(font, _fit(text, size, text_w))
                    canvas.drawString(tx, ty, text)
            canvas.setDash()
        canvas.showPage()
        done += len(page)
        if progress is not None:
            progress(done, total)
    if not pages:
        canvas.setFont(font, 12)
        canvas.drawString(margin, height - margin - 12, _("Nobody to print here."))
        canvas.showPage()
    canvas.save()
    return max(len(pages), 1)


def card_residents(user, query):
    """Residents for a card sheet: ``household``, ``building`` or ``area`` (any level) in ``query``,
    within ``user``'s scope (Http404 otherwise); the sheet's title; the area (None for a household or
    a building); the path of the area or of the building's grid (for the audit)."""
    from gridroll.accounts.roles import Action
    from gridroll.accounts.scope import get_in_scope
    from gridroll.areas.models import Area, Building, Household
    from gridroll.residents.models import Resident

    qs = Resident.objects.restrict(user, Action.MANAGE_CODES).exclude(status__in=["moved_out", "deceased"])
    if "household" in query:
        household = get_in_scope(
            Household.objects.select_related("building__grid"),
            user,
            Action.MANAGE_CODES,
            pk=query["household"],
        )
        return qs.filter(household=household), household.label, None, household.building.grid.path
    if "building" in query:
        building = get_in_scope(
            Building.objects.select_related("grid"), user, Action.MANAGE_CODES, pk=query["building"]
        )
        return qs.filter(household__building=building), building.label, None, building.grid.path
    area = get_in_scope(Area.objects.all(), user, Action.MANAGE_CODES, pk=query.get("area"))
    return qs.filter(household__building__grid__path__startswith=area.path), area.name, area, area.path


def cards_job(job, out, progress) -> None:
    """The background job (gridroll/jobs): the card sheet of ``job.params`` as its owner may see it."""
    residents, title, _area, _path = card_residents(job.owner, job.params)
    context = card_context(residents, title, qr=False)
    progress(0, context["count"])
    cards_pdf(context, out, progress)


def pdf_from_template(template: str, context: dict) -> bytes:
    """A template rendered to PDF with the embedded Chinese font (``font_url`` in its context)."""
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as exc:
        raise RuntimeError(f"PDF 需要 WeasyPrint 和系统的 pango 库：{exc}。可先用打印页面直接打印。") from exc
    html = render_to_string(template, {**context, "font_url": static_font_path().as_uri()})
    return HTML(string=html).write_pdf()
