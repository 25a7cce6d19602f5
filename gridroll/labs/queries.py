"""Read-only figures about tubes at the labs, shared by the labs' turnaround page and the command view."""

from __future__ import annotations

import statistics

from django.utils.translation import gettext as _


def hours(pairs) -> dict:
    """Median and 90th percentile, in hours, of the (start, end) pairs that have both ends in order."""
    values = sorted((b - a).total_seconds() / 3600 for a, b in pairs if a and b and b >= a)
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "median": round(statistics.median(values), 1),
        "p90": round(values[min(len(values) - 1, int(len(values) * 0.9))], 1),
    }


def turnaround_by_lab(tubes) -> list[dict]:
    """Sampled → packed → received → reported per lab (a queryset of tubes, already scoped), in hours."""
    rows: dict[str, list] = {}
    for t in tubes.values_list("lab", "sealed_at", "packed_at", "received_at", "reported_at").iterator(
        chunk_size=5000
    ):
        unnamed = _("(received, lab not named)") if t[3] else _("(not received yet)")
        rows.setdefault(t[0] or unnamed, []).append(t)
    labs = []
    for lab, ts in sorted(rows.items()):
        labs.append(
            {
                "lab": lab,
                "tubes": len(ts),
                "reported": sum(1 for t in ts if t[4]),
                "packing": hours((t[1], t[2]) for t in ts),
                "transport": hours((t[2], t[3]) for t in ts),
                "testing": hours((t[3], t[4]) for t in ts),
                "total": hours((t[1], t[4]) for t in ts),
            }
        )
    return labs
