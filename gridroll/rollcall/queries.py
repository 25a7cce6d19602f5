"""Read-only figures of the roll call, shared by its pages, the command view and the API."""

from __future__ import annotations

from collections import Counter

from gridroll.rollcall.models import COUNTED


def state_counts(tallies) -> dict[str, int]:
    """Sum tally rows (a queryset or dicts) into one set of counts with ``done`` and ``percent``."""
    total: Counter[str] = Counter()
    for t in tallies:
        for c in ["total", *COUNTED]:
            total[c] += t[c] if isinstance(t, dict) else getattr(t, c)
    return with_progress(dict(total))


def with_progress(counts: dict) -> dict:
    counts = {c: counts.get(c) or 0 for c in ["total", *COUNTED]} | {
        k: v for k, v in counts.items() if k not in COUNTED and k != "total"
    }
    counts["done"] = counts["total"] - counts["missing"]
    counts["percent"] = round(100 * counts["done"] / counts["total"], 1) if counts["total"] else 100.0
    return counts
