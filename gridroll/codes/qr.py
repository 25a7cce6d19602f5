"""QR images for personal codes and site codes (segno), as inline SVG for pages and print."""

import segno


def qr_svg(text: str, scale: int = 6) -> str:
    # Error correction M: a personal code stays at version 5 (docs/codes.md); border 2 is enough on
    # a white card and saves space on the A4 sheet.
    return segno.make(text, error="m", micro=False, boost_error=False).svg_inline(
        scale=scale, border=2, light="white", omitsize=True
    )


def qr_info(text: str) -> dict:
    qr = segno.make(text, error="m", micro=False, boost_error=False)
    return {"version": qr.version, "error": qr.error, "modules": qr.symbol_size(border=0)[0], "mode": qr.mode}
