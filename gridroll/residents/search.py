"""Finding residents by what staff type into one box."""

from __future__ import annotations

import re

from django.db.models import Q

from gridroll.lib import address as addresslib
from gridroll.lib import idnumber
from gridroll.lib.text import halfwidth
from gridroll.residents.models import Resident


def search_residents(user, query: str):
    """Residents in the user's scope matching a name, ID (whole or last digits), phone or address."""
    qs = Resident.objects.restrict(user).select_related("household__building__grid")
    query = halfwidth(query)
    if not query:
        return qs.none()
    digits = idnumber.normalise(query)
    if re.fullmatch(r"\d{4,}[\dX]?", digits):
        return qs.filter(
            Q(document_number=digits)
            | Q(document_number__endswith=digits)
            | Q(phone=digits)
            | Q(phone__endswith=digits)
            | Q(household__room=digits)
        )
    try:
        parsed = addresslib.parse(query)
    except addresslib.AddressError:
        parsed = None
    if parsed is not None:
        qs_addr = qs.filter(household__building__number=parsed.building, household__room=parsed.room)
        if parsed.entrance:
            qs_addr = qs_addr.filter(household__entrance=parsed.entrance)
        if parsed.compound:
            qs_addr = qs_addr.filter(
                household__building__compound_key=addresslib.compound_key(parsed.compound)
            )
        return qs_addr
    return qs.filter(Q(name__contains=query) | Q(household__building__compound__contains=query))
