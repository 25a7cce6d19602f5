"""What of a person's identifiers a user is shown. One rule, used by pages, the API and exports.

- Phones: in full where the user may call residents (``CALL_RESIDENTS``: the grid worker and the
  community), masked (``138****5678``) above them.
- Document numbers: masked everywhere; the full number only through the resident page's reveal, which
  is audited (``residents.services.reveal_document``).
- Birth dates: never beside a masked document number in full (the two together leave a handful of
  candidates): the age, or the year in histories.
"""

from __future__ import annotations

from gridroll.accounts.roles import Action
from gridroll.accounts.scope import can
from gridroll.lib import idnumber
from gridroll.lib import phone as phonelib

# Fields of audit ``changes`` that hold identifiers, and how each is shown.
ID_FIELDS = {"document_number", "document", "id_number"}
PHONE_FIELDS = {"phone", "claim_phone"}
DATE_FIELDS = {"birth_date"}


def may_call(user, area_path: str) -> bool:
    """Full phones for this area's residents? (None: a system job, e.g. the command line.)"""
    return user is None or can(user, Action.CALL_RESIDENTS, area_path)


def phone_for(user, phone: str, area_path: str) -> str:
    """``phone`` as ``user`` may see it for a resident living under ``area_path``."""
    return phone if may_call(user, area_path) else phonelib.mask(phone)


def shown_value(field: str, value, calls: bool):
    if value in (None, ""):
        return value
    text = str(value)
    if field in ID_FIELDS:
        return idnumber.mask(text)
    if field in PHONE_FIELDS:
        return text if calls else phonelib.mask(text)
    if field in DATE_FIELDS:
        return text[:4]  # the year: the full date and a masked ID would narrow the ID to a few
    return value
