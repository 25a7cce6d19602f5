"""Read-only look-ups about rounds, shared by pages, the API and the command view."""

from __future__ import annotations

from gridroll.areas.models import Area
from gridroll.sampling.models import Round, RoundArea


def rounds_for(area: Area):
    """Rounds whose areas contain this area or lie inside it, newest first."""
    ids = {
        ra.round_id
        for ra in RoundArea.objects.select_related("area")
        if area.path.startswith(ra.area.path) or ra.area.path.startswith(area.path)
    }
    return Round.objects.filter(pk__in=ids).exclude(status=Round.Status.PLANNED).order_by("-starts_at")
