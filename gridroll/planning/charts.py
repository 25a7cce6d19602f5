"""Server-side SVG for the planning page: batches on a timeline and the simulated load per site.
Drawn here rather than in a chart library so the page needs no script (and the CSP stays as it is)."""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

KIND_COLOURS = {
    "general": "#4a7bd0",
    "elderly": "#d08a2a",
    "school": "#3a9a5b",
    "factory": "#7a5bb0",
    "home": "#999",
}


def timeline(plan, batches) -> SafeString:
    """One row per site, one bar per batch, from the round's start to its end."""
    start, end = plan.round.starts_at, plan.round.ends_at
    span = max((end - start).total_seconds(), 1)
    sites = sorted({b.site.name for b in batches if b.site_id})
    row, left, width = 18, 150, 600
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" '
        f'viewBox="0 0 {left + width + 10} {row * len(sites) + 24}" role="img" aria-label="timeline">'
    ]
    for h in range(0, int(span // 3600) + 1):
        x = left + width * h * 3600 / span
        parts.append(f'<line x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{row * len(sites)}" stroke="#ddd"/>')
        label = start.astimezone().strftime("%H:%M")
        parts.append(
            f'<text x="{x:.1f}" y="{row * len(sites) + 16}" font-size="10">{f"+{h}h" if h else label}</text>'
        )
    for i, name in enumerate(sites):
        parts.append(f'<text x="0" y="{i * row + 13}" font-size="11">{escape(name[:14])}</text>')
    index = {n: i for i, n in enumerate(sites)}
    for b in batches:
        if not b.site_id:
            continue
        x0 = left + width * max(0, (b.starts_at - start).total_seconds()) / span
        x1 = left + width * min(span, (b.ends_at - start).total_seconds()) / span
        y = index[b.site.name] * row + 2
        when = f"{b.starts_at.astimezone():%H:%M}-{b.ends_at.astimezone():%H:%M}"
        title = escape(f"{when} {b.people}")
        parts.append(
            f'<rect x="{x0:.1f}" y="{y}" width="{max(1.0, x1 - x0 - 1):.1f}" height="{row - 4}" '
            f'fill="{KIND_COLOURS.get(b.kind, "#4a7bd0")}" opacity="0.8"><title>{title}</title></rect>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))


def load_chart(rows) -> SafeString:
    """Bars of each site's simulated worst wait, with the 20-minute line of the guideline."""
    h, bar = 120, 22
    worst = max([20.0] + [r["sim"].get("max_wait", 0) for r in rows])
    width = bar * max(len(rows), 1) + 40
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="loadchart" height="160" '
        f'viewBox="0 0 {width} {h + 20}" '
        'role="img" aria-label="waits">'
    ]
    y20 = h - h * 20 / worst
    for i, r in enumerate(rows):
        w = r["sim"].get("max_wait", 0)
        bh = h * w / worst
        colour = "#c0392b" if w > 20 else "#4a7bd0"
        parts.append(
            f'<rect x="{30 + i * bar}" y="{h - bh:.1f}" width="{bar - 4}" height="{bh:.1f}" fill="{colour}">'
            f"<title>{escape(r['site'].name)} {w} min</title></rect>"
        )
    parts.append(
        f'<line x1="28" x2="{width}" y1="{y20:.1f}" y2="{y20:.1f}" stroke="#c0392b" stroke-dasharray="4 2"/>'
    )
    parts.append(f'<text x="0" y="{y20 + 4:.1f}" font-size="10">20</text></svg>')
    return mark_safe("".join(parts))
