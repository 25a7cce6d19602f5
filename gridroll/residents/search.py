"""Finding residents by what staff type into one box."""

from __future__ import annotations

import re

from django.db.models import Q

from gridroll.accounts.roles import Action
from gridroll.lib import address as addresslib
from gridroll.lib import idnumber
from gridroll.lib.text import halfwidth
from gridroll.residents.models import Resident


def _record_search_reveals(user, resident_ids: list[int]) -> None:
    """A document-number search that found people confirmed their numbers: audited like a reveal."""
    from gridroll.audit.services import record
    from gridroll.residents.models import resident_area_path

    for resident in Resident.objects.filter(pk__in=resident_ids):
        record(user, "resident.search_document", resident, area_path=resident_area_path(resident))


# A masked document number shows its last four characters: a search on more of them confirms digits the
# mask hides, so it is a reveal (issue 13).
SHOWN_DIGITS = 4


def search_residents(user, query: str):
    """Residents in the user's scope matching a name, ID (whole or last digits), phone or address.

    A search on more of a document number than the mask shows finds only people whose numbers the user
    may reveal, and each one found is recorded as a reveal (``resident.search_document``)."""
    qs = Resident.objects.restrict(user).select_related("household__building__grid")
    query = halfwidth(query)
    if not query:
        return qs.none()
    digits = idnumber.normalise(query)
    if re.fullmatch(r"\d{4,}[\dX]?", digits):
        # Phones follow the same rule as IDs: above the community a phone is masked to its last four
        # digits, so matching more of it than that is only for those who may see it in full (issue 13:
        # a district account recovered a phone digit by digit from the suffix search).
        by_phone = Q(phone=digits) | Q(phone__endswith=digits)
        if len(digits) > SHOWN_DIGITS:
            by_phone &= Q(pk__in=Resident.objects.restrict(user, Action.CALL_RESIDENTS).values("pk"))
        by_phone_or_room = by_phone | Q(household__room=digits)
        if len(digits) <= SHOWN_DIGITS:
            return qs.filter(by_phone_or_room | Q(document_number__endswith=digits))
        revealable = Resident.objects.restrict(user, Action.REVEAL_ID).values("pk")
        by_document = (Q(document_number=digits) | Q(document_number__endswith=digits)) & Q(pk__in=revealable)
        found = list(qs.filter(by_document).values_list("pk", flat=True)[:50])
        if found:
            _record_search_reveals(user, found)
        return qs.filter(by_phone_or_room | Q(pk__in=found))
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
