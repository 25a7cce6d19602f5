"""Roll-call pages: a grid worker's grid by building, household and person; completion per grid and
building above it; the printed check sheet (HTML, PDF, Excel); people who keep missing.

Everything is narrowed to the user's areas (``view_registry``); phone numbers are whole only for those who
call residents (``call_residents``: grid workers and community staff), masked for everyone else.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass
from types import SimpleNamespace

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Max
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gridroll.accounts.roles import Action
from gridroll.accounts.scope import allowed_paths, get_in_scope
from gridroll.areas.models import Area, Building, Level
from gridroll.areas.views import crumbs
from gridroll.core.exports import XLSX
from gridroll.core.http import download, safe_next
from gridroll.labs.models import RetestTask
from gridroll.lib.address import building_label
from gridroll.lib.phone import mask as mask_phone
from gridroll.lib.text import natural_key
from gridroll.residents.masking import may_call, phone_for
from gridroll.residents.models import Resident, Sex, age_of
from gridroll.rollcall.models import COUNTED, STATE_ORDER, Entry, Exemption, State, Tally
from gridroll.rollcall.queries import with_progress
from gridroll.rollcall.services import ExemptionError, clear_exemption, set_exemption
from gridroll.rollcall.sheets import SHEET_HEADER, group_rows, sheet_rows, sheet_table, write_sheet_xlsx
from gridroll.sampling.models import Round, Sample
from gridroll.sampling.queries import rounds_for


def round_and_area(request, round_pk: int, area_pk: int, action: str) -> tuple[Round, Area]:
    """The area in the user's scope for ``action`` and a round over it, or 404 (the roll call's pages and
    the command view's)."""
    area = get_in_scope(Area.objects.all(), request.user, action, pk=area_pk)
    round_ = rounds_for(area).filter(pk=round_pk).first()
    if round_ is None:
        raise Http404
    return round_, area


def _context(request, round_pk: int, area_pk: int) -> tuple[Round, Area]:
    return round_and_area(request, round_pk, area_pk, Action.VIEW_REGISTRY)


@login_required
def start(request):
    """The roll call of the newest round over the user's first area."""
    paths = allowed_paths(request.user, Action.VIEW_REGISTRY)
    areas = Area.objects.filter(path__in=paths) if paths is not None else Area.objects.filter(parent=None)
    area = areas.order_by("path").first()
    if area is None:
        raise Http404
    round_ = rounds_for(area).first()
    if round_ is None:
        return render(request, "rollcall/no_round.html", {"area": area})
    return redirect("rollcall:area", round_pk=round_.pk, area_pk=area.pk)


@dataclass
class Person:
    """What the grid page shows of one resident: read as plain values (one query, no model instances),
    which keeps a grid's missing list within 2× of a hand-written anti-join (bench/rollcall_bench.py)."""

    pk: int
    state: str
    exemption: str
    exemption_note: str
    resident_id: int
    name: str
    sex: str
    birth_date: datetime.date | None
    phone: str
    is_bedridden: bool
    relation: str
    phone_shown: str = ""

    def get_state_display(self) -> str:
        return STATE_LABELS[self.state]

    def get_exemption_display(self) -> str:
        return EXEMPTION_LABELS.get(self.exemption, "")

    def get_sex_display(self) -> str:
        return SEX_LABELS.get(self.sex, "")

    @property
    def resident(self) -> Person:  # the templates read e.resident.name, as for an Entry
        return self

    @property
    def age(self) -> int | None:
        return age_of(self.birth_date)


STATE_LABELS = dict(State.choices)
EXEMPTION_LABELS = dict(Exemption.choices)
SEX_LABELS = dict(Sex.choices)
PERSON_FIELDS = (
    "pk",
    "state",
    "exemption",
    "exemption_note",
    "resident_id",
    "resident__name",
    "resident__sex",
    "resident__birth_date",
    "resident__phone",
    "resident__is_bedridden",
    "resident__relation",
    "household_id",
    "household__entrance",
    "household__room",
    "building_id",
)


def _grid_people(
    request, round_: Round, area: Area, only: str = "", building_pk: int | None = None
) -> list[dict]:
    """The grid's buildings, each with its households in order and their people and states (one
    building's only with ``building_pk``: what the page loads when the building is opened)."""
    entries = Entry.objects.filter(round=round_, grid=area)
    if only:
        entries = entries.filter(state=only)
    if building_pk is not None:
        entries = entries.filter(building_id=building_pk)
    calls = may_call(request.user, area.path)  # once for the grid: the rule of residents.masking
    # The grid's buildings in a query of their own (a dozen rows) rather than joined to every person.
    known = {
        pk: SimpleNamespace(
            pk=pk,
            label=" ".join(p for p in (compound, building_label(number)) if p),
            compound_key=compound_key,
            number=number,
        )
        for pk, compound, compound_key, number in Building.objects.filter(grid=area).values_list(
            "pk", "compound", "compound_key", "number"
        )
    }
    buildings: dict = {}
    for row in entries.values_list(*PERSON_FIELDS):
        person = Person(*row[:11])
        person.phone_shown = person.phone if calls else mask_phone(person.phone)
        household_id, entrance, room, building_id = row[11:]
        b = buildings.get(building_id)
        if b is None:
            if building_id not in known:  # a building moved to another grid since the round opened
                bl = Building.objects.get(pk=building_id)
                known[building_id] = SimpleNamespace(
                    pk=bl.pk, label=bl.label, compound_key=bl.compound_key, number=bl.number
                )
            b = buildings[building_id] = {"building": known[building_id], "households": {}}
        h = b["households"].get(household_id)
        if h is None:
            h = b["households"][household_id] = {
                "household": SimpleNamespace(pk=household_id, entrance=entrance, room=room),
                "people": [],
            }
        h["people"].append(person)
    tallies = {t.building_id: t for t in Tally.objects.filter(round=round_, grid=area)}
    out = []
    for b in buildings.values():
        t = tallies.get(b["building"].pk)
        b["counts"] = with_progress({c: getattr(t, c) for c in ["total", *COUNTED]}) if t else {}
        b["households"] = sorted(
            b["households"].values(),
            key=lambda h: (natural_key(h["household"].entrance), natural_key(h["household"].room)),
        )
        for h in b["households"]:
            h["people"].sort(key=lambda e: (e.relation != "户主", e.resident_id))
        out.append(b)
    return sorted(out, key=lambda b: (b["building"].compound_key, natural_key(b["building"].number)))


def _grid_buildings(round_: Round, area: Area, only: str = "") -> list[dict]:
    """The grid page's buildings with their counts, read from the tallies alone (a dozen rows): the
    people of a building are loaded when it is opened (``building``), so the page stays light."""
    out = []
    for t in Tally.objects.filter(round=round_, grid=area).select_related("building"):
        counts = {c: getattr(t, c) for c in ["total", *COUNTED]}
        if not t.total or (only and not counts[only]):
            continue
        b = t.building
        out.append(
            {
                "building": SimpleNamespace(
                    pk=b.pk,
                    label=" ".join(p for p in (b.compound, building_label(b.number)) if p),
                    compound_key=b.compound_key,
                    number=b.number,
                ),
                "counts": with_progress(counts),
                "shown": counts[only] if only else t.total,
            }
        )
    return sorted(out, key=lambda b: (b["building"].compound_key, natural_key(b["building"].number)))


def _children_completion(round_: Round, area: Area) -> tuple[list[dict], list[dict]]:
    """Completion per child area and per building under ``area``, worst first."""
    tallies = list(
        Tally.objects.filter(round=round_, grid__path__startswith=area.path).select_related(
            "grid__parent", "building"
        )
    )
    children = {c.path: c for c in Area.objects.filter(parent=area)}
    per_child: dict = {}
    for t in tallies:
        child_path = next((p for p in children if t.grid.path.startswith(p)), None)
        if child_path is None:
            continue
        sums = per_child.setdefault(child_path, dict.fromkeys(["total", *COUNTED], 0))
        for c in ["total", *COUNTED]:
            sums[c] += getattr(t, c)
    rows = [{"area": children[p], **with_progress(s)} for p, s in per_child.items()]
    rows.sort(key=lambda r: (r["percent"], -r["missing"]))
    buildings = [
        {
            "building": t.building,
            "grid": t.grid,
            **with_progress({c: getattr(t, c) for c in ["total", *COUNTED]}),
        }
        for t in tallies
        if t.total
    ]
    buildings.sort(key=lambda r: (r["percent"], -r["missing"]))
    return rows, buildings[:30]


def _version(round_: Round, area: Area) -> str:
    at = Tally.objects.filter(round=round_, grid__path__startswith=area.path).aggregate(m=Max("updated_at"))[
        "m"
    ]
    entry_at = (
        Entry.objects.filter(round=round_, grid=area).aggregate(m=Max("updated_at"))["m"]
        if area.is_grid
        else None
    )
    return "-".join(str(x.timestamp()) if x else "0" for x in (at, entry_at))


def _roll_context(request, round_: Round, area: Area) -> dict:
    only = request.GET.get("state", "")
    if only not in State.values:
        only = ""
    tallies = Tally.objects.filter(round=round_, grid__path__startswith=area.path).values("total", *COUNTED)
    from gridroll.rollcall.queries import state_counts

    ctx = {
        "round": round_,
        "area": area,
        "counts": state_counts(tallies),
        "only": only,
        "states": [(s, State(s).label) for s in STATE_ORDER],
        "version": _version(round_, area),
        "now": timezone.now(),
    }
    if area.is_grid:
        ctx["buildings"] = _grid_buildings(round_, area, only)
        ctx["exemptions"] = Exemption.choices
    else:
        ctx["children"], ctx["worst_buildings"] = _children_completion(round_, area)
    return ctx


@login_required
def area_roll(request, round_pk: int, area_pk: int):
    round_, area = _context(request, round_pk, area_pk)
    ctx = _roll_context(request, round_, area)
    ctx.update(
        {
            "ancestors": crumbs(request.user, area)[:-1] if hasattr(area, "path") else [],
            "rounds": rounds_for(area)[:10],
            "retests": _retests(request.user, round_, area)[:200],
            "visitors": _visitors(round_, area),
            "pending": _pending(request.user, area),
            "home": home_rows(request.user, round_, area, limit=100) if area.is_grid else [],
        }
    )
    return render(request, "rollcall/area.html", ctx)


@login_required
def live(request, round_pk: int, area_pk: int):
    """The roll fragment when something changed since ``since``; 204 (nothing to do) otherwise."""
    round_, area = _context(request, round_pk, area_pk)
    if request.GET.get("since") == _version(round_, area):
        return HttpResponse(status=204)
    return render(request, "rollcall/_roll.html", _roll_context(request, round_, area))


@login_required
def building(request, round_pk: int, area_pk: int, building_pk: int):
    """One building's households and people on the grid page, loaded when the building is opened."""
    round_, area = _context(request, round_pk, area_pk)
    if not area.is_grid:
        raise Http404
    only = request.GET.get("state", "")
    if only not in State.values:
        only = ""
    found = _grid_people(request, round_, area, only, building_pk=building_pk)
    return render(
        request,
        "rollcall/_building.html",
        {"b": found[0] if found else {"households": []}, "round": round_, "area": area, "only": only},
    )


@login_required
def flat_map(request, round_pk: int, area_pk: int, building_pk: int):
    """A building's 户图: one cell per flat, coloured by its household's state in the round; a tapped
    flat (``?h=``) shows its people above the map, read and masked as on the grid page."""
    from gridroll.rollcall import flatmap

    round_, area = _context(request, round_pk, area_pk)
    if not area.is_grid:
        raise Http404
    building_ = Building.objects.filter(pk=building_pk, grid=area).first()
    if building_ is None:
        raise Http404
    found = flatmap.flats(round_, building_)
    chosen = None
    wanted = request.GET.get("h", "")
    if wanted.isdigit():
        chosen = next((f for f in found if f.pk == int(wanted)), None)
        if chosen is None:
            raise Http404
    people: list[Person] = []
    if chosen is not None:
        calls = may_call(request.user, area.path)
        rows = Entry.objects.filter(round=round_, building=building_, household_id=chosen.pk)
        for row in rows.values_list(*PERSON_FIELDS):
            person = Person(*row[:11])
            person.phone_shown = person.phone if calls else mask_phone(person.phone)
            people.append(person)
        people.sort(key=lambda e: (e.relation != "户主", e.resident_id))
    return render(
        request,
        "rollcall/flat_map.html",
        {
            "round": round_,
            "area": area,
            "building": building_,
            "blocks": flatmap.blocks(found),
            "summary": flatmap.summary(found),
            "chosen": chosen,
            "people": people,
            "now": timezone.now(),
            "ancestors": crumbs(request.user, area),
        },
    )


def _person(request, entry: Entry) -> Person:
    """One row of the grid page, read exactly as ``_grid_people`` reads it (same fields, same masking)."""
    row = Entry.objects.filter(pk=entry.pk).values_list(*PERSON_FIELDS).get()
    person = Person(*row[:11])
    calls = may_call(request.user, entry.grid.path)
    person.phone_shown = person.phone if calls else mask_phone(person.phone)
    return person


def _retests(user, round_: Round, area: Area) -> list:
    tasks = list(
        RetestTask.objects.restrict(user)
        .filter(round=round_, resident__household__building__grid__path__startswith=area.path)
        .exclude(status=RetestTask.Status.CLOSED)
        .select_related("resident__household__building__grid", "tube")
        .order_by("resident__household__building__grid__path", "resident__household_id")[:500]
    )
    tasks.sort(key=lambda t: (t.resident.household.building.grid.path, t.resident.household.sort_key))
    for t in tasks:
        t.phone_shown = phone_for(user, t.resident.phone, t.resident.household.building.grid.path)
    return tasks


def _pending(user, area: Area):
    """Self-registrations in this area that no grid worker has placed yet: listed apart, counted nowhere."""
    return (
        Resident.objects.restrict(user, Action.VIEW_REGISTRY)
        .filter(
            is_pending=True,
            rejected_at__isnull=True,
            household__building__grid__path__startswith=area.path,
        )
        .select_related("household__building")
        .order_by("household__building_id", "household_id")[:200]
    )


def _visitors(round_: Round, area: Area):
    """People sampled at this area's sites who are not on its roll (non-residents), listed apart."""
    on_roll = Entry.objects.filter(round=round_).values("resident_id")
    return (
        Sample.objects.filter(round=round_, is_removed=False, tube__site__area__path__startswith=area.path)
        .exclude(resident_id__in=on_roll)
        .select_related("resident", "tube__site")
        .order_by("-scanned_at")[:200]
    )


@login_required
@require_POST
def exempt(request, pk: int):
    """Set or take back an exemption. From the page's script (``X-Requested-With: fetch``) the answer is
    the person's new row, swapped in place (no reload, the worker keeps their place); otherwise a
    redirect back with a message."""
    entry = get_in_scope(Entry.objects.select_related("grid"), request.user, Action.EDIT_REGISTRY, pk=pk)
    in_place = request.headers.get("X-Requested-With") == "fetch"
    try:
        if request.POST.get("clear"):
            clear_exemption(request.user, entry)
            done = _("Exemption taken back.")
        else:
            set_exemption(request.user, entry, request.POST.get("reason", ""), request.POST.get("note", ""))
            done = _("Marked exempt.")
    except ExemptionError as exc:
        error = exc.message
        if in_place:
            return HttpResponse(error, status=400, content_type="text/plain; charset=utf-8")
        messages.error(request, error)
    else:
        if in_place:
            return render(request, "rollcall/_person.html", {"e": _person(request, entry)})
        messages.success(request, done)
    return redirect(safe_next(request, reverse("rollcall:start")))


# ------------------------------------------------------------------------------- the home sampling list

HOME_EXEMPTIONS = [Exemption.HOME_SCHEDULED, Exemption.HOME_DONE]


def home_rows(user, round_: Round, area: Area, limit: int | None = None) -> list[Entry]:
    """The people of ``area`` who are sampled at home (bedridden, or exempt as home sampling scheduled or
    done), in walking order, each with a phone to call before the visit: their own, else a guardian's,
    else someone's of their household (the head first); ``phone_shown`` masked as ``phone_for`` says
    (whole for the grid worker and the community, masked above), ``phone_whose`` saying whose it is."""
    from django.db.models import Q

    from gridroll.residents.models import Guardianship

    entries = list(
        Entry.objects.restrict(user)
        .filter(round=round_, grid__path__startswith=area.path)
        .filter(Q(resident__is_bedridden=True) | Q(exemption__in=HOME_EXEMPTIONS))
        .select_related("resident", "household__building", "grid")
    )
    entries.sort(key=lambda e: (e.grid.path, e.household.sort_key, e.resident_id))
    if limit is not None:
        entries = entries[:limit]
    ids = [e.resident_id for e in entries]
    guardians: dict[int, tuple[str, str, str]] = {}
    links = (
        Guardianship.objects.filter(dependent_id__in=ids, ended_at__isnull=True, is_confirmed=True)
        .exclude(guardian__phone="")
        .order_by("pk")
        .values_list("dependent_id", "guardian__name", "relation", "guardian__phone")
    )
    for dependent_id, name, relation, phone in links:
        guardians.setdefault(dependent_id, (name, relation, phone))
    housemates: dict[int, list[tuple[int, str, str, str]]] = defaultdict(list)
    others = (
        Resident.objects.filter(household_id__in={e.household_id for e in entries}, is_pending=False)
        .exclude(phone="")
        .exclude(status__in=["moved_out", "deceased"])
        .values_list("household_id", "pk", "name", "relation", "phone")
    )
    for household_id, pk, name, relation, phone in others:
        housemates[household_id].append((pk, name, relation, phone))
    for e in entries:
        phone, whose = e.resident.phone, ""
        if not phone and e.resident_id in guardians:
            name, relation, phone = guardians[e.resident_id]
            whose = _("guardian %(name)s") % {"name": name} + (f"（{relation}）" if relation else "")
        if not phone:
            mates = sorted(
                (m for m in housemates[e.household_id] if m[0] != e.resident_id),
                key=lambda m: (m[2] != "户主", m[0]),
            )
            if mates:
                _pk, name, relation, phone = mates[0]
                whose = _("household: %(name)s") % {"name": name} + (f"（{relation}）" if relation else "")
        e.phone_full = phone
        e.phone_shown = phone_for(user, phone, e.grid.path)
        e.phone_whose = whose
    return entries


def home_table(entries) -> list[list]:
    return [
        [
            e.grid.name,
            e.household.label,
            e.resident.name,
            e.resident.age if e.resident.age is not None else "",
            _("bedridden") if e.resident.is_bedridden else "",
            e.get_state_display(),
            e.get_exemption_display() if e.exemption else "",
            e.exemption_note,
            e.phone_shown,
            e.phone_whose,
        ]
        for e in entries
    ]


@login_required
def home_list(request, round_pk: int, area_pk: int):
    """The home sampling list as Excel: who, where, their state and a phone to call before the visit."""
    import io

    from gridroll.core.exports import write_xlsx

    round_, area = _context(request, round_pk, area_pk)
    header = [
        _("Grid"),
        _("Address"),
        _("Name"),
        _("Age"),
        _("Bedridden"),
        _("State"),
        _("Exemption"),
        _("Note"),
        _("Phone"),
        _("Whose phone"),
    ]
    out = io.BytesIO()
    write_xlsx(
        home_table(home_rows(request.user, round_, area)), out, title=_("Home sampling"), header=header
    )
    return download(out.getvalue(), f"{area.name}-{round_.name}-{_('Home sampling')}.xlsx")


# ------------------------------------------------------------------------------------- the check sheet


SHEET_FORMATS = {"pdf": "application/pdf", "xlsx": XLSX}


@login_required
def sheet(request, round_pk: int, area_pk: int, fmt: str = "html"):
    round_, area = _context(request, round_pk, area_pk)
    filename = f"{area.name}-{round_.name}-点名表"
    if area.level != Level.GRID:
        # Above a grid the sheet is too big for a request (a community's PDF took 92 s, the district's
        # HTML is a million pixels tall): it is prepared in the background (issue 18).
        return _sheet_job(request, round_, area, filename)
    entries = sheet_rows(request.user, round_, area)
    if fmt == "xlsx":
        import io

        from gridroll.core.exports import write_xlsx

        out = io.BytesIO()
        write_xlsx(sheet_table(entries), out, title="核酸检测点名表", header=SHEET_HEADER)
        return download(out.getvalue(), f"{filename}.xlsx")
    groups = group_rows(entries)
    ctx = {
        "round": round_,
        "area": area,
        "groups": groups,
        "total": len(entries),
        "printed_at": timezone.now(),
    }
    if fmt == "pdf":
        from gridroll.rollcall.sheet_pdf import sheet_pdf

        pdf = sheet_pdf(round_, area, groups, timezone.localtime(ctx["printed_at"]))
        return download(pdf, f"{filename}.pdf", "application/pdf", inline=True)
    return render(request, "rollcall/sheet.html", ctx)


def _sheet_job(request, round_: Round, area: Area, filename: str):
    from gridroll.jobs.services import submit

    if request.method == "POST":
        fmt = request.POST.get("format")
        if fmt not in SHEET_FORMATS:
            messages.error(request, _("Choose PDF or Excel."))
            return redirect("rollcall:sheet", round_pk=round_.pk, area_pk=area.pk)
        job = submit(
            request.user,
            "rollcall.sheet",
            {"round": round_.pk, "area": area.pk, "format": fmt},
            title=_("Check sheet · %(area)s · %(round)s") % {"area": area.name, "round": round_.name},
            filename=f"{filename}.{fmt}",
            content_type=SHEET_FORMATS[fmt],
            area_path=area.path,
        )
        return redirect("jobs:detail", pk=job.pk)
    grids = (
        Area.objects.restrict(request.user, Action.VIEW_REGISTRY)
        .filter(path__startswith=area.path, level=Level.GRID)
        .select_related("parent")
        .order_by("path")
    )
    people = Entry.objects.restrict(request.user).filter(round=round_, grid__path__startswith=area.path)
    return render(
        request,
        "jobs/prepare.html",
        {
            "title": _("Check sheet · %(area)s · %(round)s") % {"area": area.name, "round": round_.name},
            "count": people.count(),
            "formats": [("pdf", _("Prepare the PDF")), ("xlsx", _("Prepare the Excel file"))],
            "parts": [
                (
                    f"{g.parent.name} · {g.name}" if g.parent else g.name,
                    reverse("rollcall:sheet", args=[round_.pk, g.pk]),
                )
                for g in grids
            ],
            "parts_title": _("Or print one grid at a time"),
            "back": reverse("rollcall:area", args=[round_.pk, area.pk]),
            "ancestors": crumbs(request.user, area),
        },
    )


@login_required
def repeat_missing(request, round_pk: int, area_pk: int):
    """People missing in this round who were also missing in earlier rounds: the ones to visit."""
    round_, area = _context(request, round_pk, area_pk)
    missing_now = Entry.objects.restrict(request.user).filter(
        round=round_, grid__path__startswith=area.path, state=State.MISSING
    )
    earlier = (
        Entry.objects.filter(
            resident_id__in=missing_now.values("resident_id"),
            round__starts_at__lt=round_.starts_at,
            state=State.MISSING,
        )
        .values_list("resident_id", "round__name")
        .order_by("-round__starts_at")
    )
    missed: dict[int, list[str]] = defaultdict(list)
    for resident_id, name in earlier:
        missed[resident_id].append(name)
    rows = []
    for e in missing_now.filter(resident_id__in=list(missed)).select_related(
        "resident", "household__building", "grid"
    ):
        e.phone_shown = phone_for(request.user, e.resident.phone, e.grid.path)
        rows.append({"entry": e, "rounds": missed[e.resident_id]})
    rows.sort(key=lambda r: (-len(r["rounds"]), r["entry"].household.sort_key))
    return render(
        request,
        "rollcall/repeat.html",
        {"round": round_, "area": area, "rows": rows, "ancestors": crumbs(request.user, area)[:-1]},
    )


def sheet_job(job, out, progress) -> None:
    """The background job (gridroll/jobs, kind ``rollcall.sheet``): an area's check sheet, PDF or Excel, as
    its owner may see it. A deferred download, so it lives with the views."""
    from gridroll.rollcall.sheet_pdf import sheet_pdf

    area = Area.objects.restrict(job.owner, Action.VIEW_REGISTRY).get(pk=job.params["area"])
    round_ = Round.objects.get(pk=job.params["round"])
    if job.params["format"] == "xlsx":
        progress(0, 1)
        write_sheet_xlsx(job.owner, round_, area, out)
        progress(1, 1)
        return
    groups = group_rows(sheet_rows(job.owner, round_, area))
    sheet_pdf(round_, area, groups, timezone.localtime(), out=out, progress=progress)
