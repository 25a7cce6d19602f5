"""Transport boxes (转运箱): the chain of custody from a site's sealed tubes to a lab.

create → pack tubes → seal (the packer's count must equal the system's) → hand over to a lab → the lab
receives (labs.services). Every step is a service that takes the user, locks the box, and leaves an
audit record naming who did it, so the chain of custody always has a "who".
"""

from __future__ import annotations

import re

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridroll.audit.services import record
from gridroll.core.errors import DomainError
from gridroll.sampling.models import Box, Round, Site, Tube

BOX_CODE_PATTERN = r"^[A-Z0-9-]{4,40}$"


class BoxError(DomainError):
    MESSAGES = {
        "bad_box_code": _("A box code is 4 to 40 letters, digits or dashes."),
        "box_code_taken": _("This box code is already in use."),
        "no_open_round": _("No open round covers this site."),
        "box_sealed": _("This box is already sealed."),
        "tube_not_here": _("This tube is not of this site and round."),
        "tube_not_sealed": _("This tube is not closed yet: close it first."),
        "tube_packed": _("This tube is already in box %(box)s."),
        "count_mismatch": _(
            "Counted %(counted)s tubes, the system has %(in_system)s: check the box before sealing it."
        ),
        "box_empty": _("An empty box cannot be sealed."),
        "box_not_sealed": _("Seal the box before handing it over."),
        "lab_required": _("Name the lab the box goes to."),
    }


def open_round_for(site: Site) -> Round | None:
    """The open round that covers the site's area (the newest, if several do)."""
    rounds = (
        Round.objects.filter(status=Round.Status.OPEN).prefetch_related("areas__area").order_by("-starts_at")
    )
    for round_ in rounds:
        if any(site.area.path.startswith(ra.area.path) for ra in round_.areas.all()):
            return round_
    return None


def _locked(box: Box, status: str, refusal: str) -> Box:
    """The box, locked, if it is still in ``status``; else ``BoxError(refusal)``."""
    box = Box.objects.select_for_update().select_related("site__area").get(pk=box.pk)
    if box.status != status:
        raise BoxError(refusal)
    return box


def _audit(user, action: str, box: Box, **changes) -> None:
    record(user, action, box, changes=changes, reason=box.code, area_path=box.site.area.path)


def create_box(user, site: Site, code: str) -> Box:
    """A new, empty box for the site's open round."""
    code = (code or "").strip().upper()
    if not re.match(BOX_CODE_PATTERN, code):
        raise BoxError("bad_box_code")
    round_ = open_round_for(site)
    if round_ is None:
        raise BoxError("no_open_round")
    try:
        with transaction.atomic():
            box = Box.objects.create(code=code, round=round_, site=site)
            _audit(user, "box.create", box, round=[None, round_.name], site=[None, site.name])
    except IntegrityError:
        # Two packers typing the same code at once: the unique constraint decides, the loser is told.
        raise BoxError("box_code_taken") from None
    return box


@transaction.atomic
def pack_tube(user, box: Box, barcode: str) -> Tube:
    """Put a sealed tube of the box's round and site into the box."""
    box = _locked(box, Box.Status.PACKING, "box_sealed")
    tube = Tube.objects.select_for_update().filter(barcode=(barcode or "").strip().upper()).first()
    if tube is None or tube.round_id != box.round_id or tube.site_id != box.site_id:
        raise BoxError("tube_not_here")
    if tube.status != Tube.Status.SEALED:
        raise BoxError("tube_not_sealed")
    if tube.box_id is not None:
        raise BoxError("tube_packed", box=Box.objects.get(pk=tube.box_id).code)
    tube.box, tube.packed_at = box, timezone.now()
    tube.save(update_fields=["box", "packed_at"])
    _audit(user, "box.pack", box, tube=[None, tube.barcode])
    return tube


@transaction.atomic
def seal_box(user, box: Box, counted: int) -> Box:
    """Close a box after the packer counted its tubes: the count must equal the system's."""
    box = _locked(box, Box.Status.PACKING, "box_sealed")
    in_system = box.tubes.count()
    if counted != in_system:
        raise BoxError("count_mismatch", counted=counted, in_system=in_system)
    if in_system == 0:
        raise BoxError("box_empty")
    box.counted, box.status, box.sealed_at = counted, Box.Status.SEALED, timezone.now()
    box.save(update_fields=["counted", "status", "sealed_at"])
    _audit(user, "box.seal", box, status=[Box.Status.PACKING, Box.Status.SEALED], counted=[None, counted])
    return box


@transaction.atomic
def hand_over_box(user, box: Box, lab: str, courier: str = "") -> Box:
    """The sealed box leaves the site for a lab, with its courier."""
    box = _locked(box, Box.Status.SEALED, "box_not_sealed")
    lab, courier = (lab or "").strip()[:100], (courier or "").strip()[:50]
    if not lab:
        raise BoxError("lab_required")
    box.status, box.handed_at, box.handed_to, box.courier = (
        Box.Status.HANDED_OVER,
        timezone.now(),
        lab,
        courier,
    )
    box.save(update_fields=["status", "handed_at", "handed_to", "courier"])
    # Its tubes are in transit from now (Tube.stage reads the time from the tube's own row).
    box.tubes.update(handed_at=box.handed_at)
    _audit(
        user,
        "box.hand_over",
        box,
        status=[Box.Status.SEALED, Box.Status.HANDED_OVER],
        lab=[None, lab],
        courier=[None, courier],
    )
    return box
