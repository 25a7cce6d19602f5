"""Codes: public registration, the resident's own page (possession only), and staff code actions."""

from __future__ import annotations

from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from gridroll.accounts.roles import Action
from gridroll.accounts.scope import can, get_in_scope
from gridroll.areas.models import Area, Building, Level
from gridroll.codes import registration, services
from gridroll.codes.forms import DependentForm, RegisterForm, RevokeForm
from gridroll.codes.models import PersonalCode, ResidentAccess
from gridroll.codes.qr import qr_svg
from gridroll.core import throttle
from gridroll.residents.models import Guardianship, Resident
from gridroll.sampling.models import Site

COMMUNITY_LEVELS = (Level.COMMUNITY, Level.VILLAGE)


def _community_of(area: Area) -> Area | None:
    for a in [area, *reversed(area.ancestors())]:
        if a.level in COMMUNITY_LEVELS:
            return a
    return None


# ------------------------------------------------------------------------------------------- public

# Registration answers "already registered" and "registered under another name", which would let a
# script test ID numbers against the registry. Only those answers are counted, per device and per client
# address, in the cache all workers share (gridroll/core/throttle.py): a queue of people registering
# over one site's Wi-Fi is never slowed down. (A claim on a registered person is no refusal: registering
# under one name with many numbers is stopped apart, registration.check_name_probing.)
PROBE_LIMIT = settings.REGISTRATION_THROTTLE["DEVICE_LIMIT"]
PROBE_ANSWERS = {"duplicate_id", "name_probe"}


def _probing(request) -> bool:
    return throttle.is_blocked("register", request)


def _refused(request, form, exc) -> None:
    """A registration refused: the reason on its field, and a probing answer counted against the device."""
    if exc.code in PROBE_ANSWERS:
        _count_probe(request)
    form.add_error(exc.field, exc.message)


def _count_probe(request) -> None:
    throttle.count("register", request)


def register_start(request):
    """Choose the community you live in (the information-collection code 信息采集码 leads here too)."""
    communities = Area.objects.filter(level__in=COMMUNITY_LEVELS).select_related("parent").order_by("path")
    return render(request, "codes/register_start.html", {"communities": communities})


def _register(request, community: Area, site: Site | None):
    buildings = Building.objects.filter(grid__path__startswith=community.path).order_by(
        "compound_key", "number"
    )
    form = RegisterForm(request.POST or None, buildings=buildings, allow_visitor=site is not None)
    if request.method == "POST" and _probing(request):
        form.add_error(
            None, _("Too many attempts from this device. Wait ten minutes, or ask the staff at the site.")
        )
    elif request.method == "POST" and form.is_valid():
        visitor = form.cleaned_data.get("lives_elsewhere", False)
        household = None if visitor else form.household(required=True)
        if form.is_valid():
            values = {**form.identity(), "phone": form.cleaned_data["phone"]}
            try:
                registration.check_name_probing(values)
                result = registration.register_self(values, household, site=site, consent=True)
            except registration.RegistrationError as exc:
                _refused(request, form, exc)
            else:
                messages.success(request, result.message)
                # The private link is the resident's key: shown in the address bar to bookmark.
                return redirect("codes:me", secret=result.secret)
    return render(request, "codes/register.html", {"form": form, "community": community, "site": site})


def register_community(request, area_pk: int):
    community = get_object_or_404(Area, pk=area_pk, level__in=COMMUNITY_LEVELS)
    return _register(request, community, None)


def register_site(request, token: str):
    """Where a site code (场所码) leads: register on the spot, as a resident or as a visitor."""
    site = get_object_or_404(Site.objects.select_related("area"), token=token, is_active=True)
    if request.method == "GET" and not request.GET.get("resident") and _is_staff_member(request.user):
        # A staff member logged in scans the site code to check in at the site (gridroll.staff).
        return redirect("staff:checkin", token=token)
    community = _community_of(site.area) or site.area
    return _register(request, community, site)


def _is_staff_member(user) -> bool:
    from gridroll.staff.models import StaffMember

    return user.is_authenticated and StaffMember.objects.filter(user=user, is_active=True).exists()


def _access_or_404(secret: str) -> ResidentAccess:
    access = registration.access_for(secret)
    if access is None or access.revoked_at is not None:
        raise Http404
    return access


def _person(resident, relation, confirmed: bool, link=None) -> dict:
    """What the page may show of one person: everything once confirmed, nothing of them before."""
    from gridroll.labs.services import person_results

    p = {"relation": relation, "confirmed": confirmed, "link": link, "masked_name": resident.masked_name}
    if confirmed:
        code = services.current_code(resident)
        p.update(
            resident=resident,
            results=person_results(resident),
            code=code,
            qr=qr_svg(code.token, scale=4) if code else "",
            household=resident.household.label if resident.household_id else "",
        )
    else:
        p.update(resident=None, results=[], code=None, qr="", household="")
    return p


def _held_people(access: ResidentAccess) -> list[dict]:
    """The holder and their dependents. A claim not yet confirmed shows nothing of the claimed person,
    and none of their dependents (those are the real person's)."""
    people = [_person(access.resident, _("Me"), access.is_confirmed)]
    if not access.is_confirmed:
        return people
    links = Guardianship.objects.filter(guardian=access.resident, ended_at__isnull=True).select_related(
        "dependent__household__building"
    )
    for g in links:
        # The link's relation is what the guardian is to them: "you are their 父母", never "父母" alone
        # under the child's name, which read as if the infant were the parent (issue 18, item 8).
        relation = (
            _("Dependent · you are their %(relation)s") % {"relation": g.relation}
            if g.relation
            else _("Dependent")
        )
        people.append(_person(g.dependent, relation, g.is_confirmed, link=g))
    return people


def _me_context(access: ResidentAccess, secret: str) -> dict:
    context = {"access": access, "people": _held_people(access), "secret": secret}
    if access.is_confirmed:
        # Someone else typed this person's details: the holder should know (and tell the grid worker).
        context["claims"] = ResidentAccess.objects.filter(
            resident=access.resident, is_confirmed=False, revoked_at__isnull=True
        ).exclude(pk=access.pk)
        context["ended_links"] = Guardianship.objects.filter(
            guardian=access.resident, ended_at__isnull=False
        ).select_related("dependent")
    return context


def _private(response):
    response["Referrer-Policy"] = "no-referrer"
    return response


@never_cache
def me(request, secret: str):
    """The resident's page: own and dependents' codes. Possession of the link is the only way in."""
    access = registration.access_for(secret)
    if access is None:
        raise Http404
    if access.revoked_at is not None:
        # An ended link says so (and why), and nothing else.
        return _private(render(request, "codes/me_ended.html", {"access": access}, status=410))
    return _private(render(request, "codes/me.html", _me_context(access, secret)))


@never_cache
@require_POST
def me_verify(request, secret: str):
    """A claim proves itself with a one-time code sent to the phone on file for the claimed person."""
    access = _access_or_404(secret)
    link = None
    if request.POST.get("link"):
        link = get_object_or_404(
            Guardianship, pk=request.POST["link"], guardian=access.resident, ended_at__isnull=True
        )
        if not access.is_confirmed:
            raise Http404
    elif access.is_confirmed:
        return redirect("codes:me", secret=secret)
    try:
        if request.POST.get("code"):
            registration.answer_phone_challenge(access, request.POST["code"], link)
            messages.success(request, _("Confirmed. The codes and results now show on this page."))
        else:
            registration.send_phone_challenge(access, link)
            messages.info(
                request,
                _(
                    "If the registry holds a phone number for this person, a code was sent to it: type it "
                    "below. If none arrives, your grid worker will confirm."
                ),
            )
    except registration.RegistrationError as exc:
        messages.error(request, exc.message)
    return redirect("codes:me", secret=secret)


@never_cache
def me_code(request, secret: str, short_code: str):
    """One code full screen, bright, for the sampler's scanner."""
    access = _access_or_404(secret)
    people = {p["code"].short_code: p for p in _held_people(access) if p["code"]}
    person = people.get(short_code)
    if person is None:
        raise Http404
    return _private(
        render(
            request,
            "codes/me_code.html",
            {"person": person, "secret": secret, "qr": qr_svg(person["code"].token, scale=10)},
        )
    )


@never_cache
def me_add(request, secret: str):
    access = _access_or_404(secret)
    if not access.is_confirmed:
        # A claimant acts for nobody until they are confirmed as the person.
        messages.error(request, _("Family members can be added once your identity is confirmed."))
        return redirect("codes:me", secret=secret)
    guardian = access.resident
    if guardian.household_id:
        community = _community_of(guardian.household.building.grid)
        buildings = Building.objects.filter(grid__path__startswith=community.path) if community else None
    else:
        buildings = None
    form = DependentForm(request.POST or None, buildings=buildings or Building.objects.none())
    if request.method == "POST" and _probing(request):
        form.add_error(
            None, _("Too many attempts from this device. Wait ten minutes, or ask the staff at the site.")
        )
    elif request.method == "POST" and form.is_valid():
        household = None if form.cleaned_data["lives_with_me"] else form.household(required=False)
        if form.is_valid():
            try:
                result = registration.add_dependent(
                    access,
                    form.identity(),
                    household,
                    form.cleaned_data["relation"],
                    form.cleaned_data["consent"],
                )
            except registration.RegistrationError as exc:
                _refused(request, form, exc)
            else:
                messages.success(request, result.message)
                return redirect("codes:me", secret=secret)
    return render(request, "codes/me_add.html", {"form": form, "secret": secret, "access": access})


# -------------------------------------------------------------------------------------------- staff


@login_required
@require_POST
def reissue(request, pk: int):
    resident = get_in_scope(Resident.objects.all(), request.user, Action.MANAGE_CODES, pk=pk)
    form = RevokeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose why the old code is revoked."))
    else:
        code = services.reissue_code(
            resident, request.user, form.cleaned_data["reason"], form.cleaned_data["note"]
        )
        messages.success(
            request, _("New code %(code)s issued; the old one no longer scans.") % {"code": code.short_code}
        )
    return redirect("residents:detail", pk=resident.pk)


@login_required
@require_POST
def issue(request, pk: int):
    resident = get_in_scope(Resident.objects.all(), request.user, Action.MANAGE_CODES, pk=pk)
    services.issue_code(resident, request.user, reason="工作人员签发")
    return redirect("residents:detail", pk=resident.pk)


@login_required
@require_POST
def new_link(request, pk: int):
    """A new private link for a resident who lost their phone; shown once to the staff member."""
    resident = get_in_scope(Resident.objects.all(), request.user, Action.MANAGE_CODES, pk=pk)
    secret = registration.new_access_link(request.user, resident)
    request.session[f"link-{resident.pk}"] = request.build_absolute_uri(reverse("codes:me", args=[secret]))
    return redirect("residents:detail", pk=resident.pk)


@login_required
def pending(request):
    """Self-registrations and claims that wait for the grid worker: confirm or reject each."""
    if not can(request.user, Action.EDIT_REGISTRY):
        raise Http404
    residents = Resident.objects.restrict(request.user, Action.EDIT_REGISTRY)
    context = {
        "pending": residents.filter(is_pending=True, rejected_at__isnull=True).select_related(
            "household__building", "registered_site"
        ),
        "links": ResidentAccess.objects.filter(
            resident__in=residents, is_confirmed=False, revoked_at__isnull=True
        ).select_related("resident__household__building", "site"),
        "guardians": Guardianship.objects.filter(
            dependent__in=residents, is_confirmed=False, ended_at__isnull=True
        ).select_related("dependent", "guardian"),
    }
    return render(request, "codes/pending.html", context)


def _pending_target(request, kind: str, pk: int):
    residents = Resident.objects.restrict(request.user, Action.EDIT_REGISTRY)
    if kind == "resident":
        return get_in_scope(Resident.objects.all(), request.user, Action.EDIT_REGISTRY, pk=pk)
    if kind == "link":
        return get_object_or_404(ResidentAccess, pk=pk, resident__in=residents, revoked_at__isnull=True)
    if kind == "guardian":
        return get_object_or_404(Guardianship, pk=pk, dependent__in=residents, ended_at__isnull=True)
    raise Http404


def _back(request, target):
    if request.POST.get("back") == "resident":
        resident = target if isinstance(target, Resident) else getattr(target, "dependent", None)
        resident = resident or target.resident
        return redirect("residents:detail", pk=resident.pk)
    return redirect("codes:pending")


@login_required
@require_POST
def confirm(request, kind: str, pk: int):
    target = _pending_target(request, kind, pk)
    if kind == "resident":
        registration.confirm_resident(request.user, target)
    elif kind == "link":
        registration.confirm_access(request.user, target)
    else:
        registration.confirm_guardianship(request.user, target)
    messages.success(request, _("Confirmed."))
    return _back(request, target)


@login_required
@require_POST
def reject(request, kind: str, pk: int):
    """Reject a self-registration, or end a link or a guardianship (pending or not), with a reason."""
    target = _pending_target(request, kind, pk)
    reason = request.POST.get("reason", "").strip()
    if not reason:
        messages.error(request, _("Say why (the holder's page shows it)."))
        return _back(request, target)
    if kind == "resident":
        registration.reject_resident(request.user, target, reason)
    elif kind == "link":
        registration.end_access(request.user, target, reason)
    else:
        registration.end_guardianship(request.user, target, reason)
    messages.success(request, _("Ended."))
    return _back(request, target)


# More cards than this are a background job even for a grid or a building: the seed grid's 2,256 cards
# took 20 s as HTML and 15 s as PDF on the demo machine (bench/README.md, "downloads").
CARDS_DIRECT = 500


@login_required
def cards(request):
    """An A4 sheet of code cards for people without phones: print view, or PDF with ?format=pdf.

    Above a grid (a community has thousands of cards; the district's HTML was 102 MB), or past
    CARDS_DIRECT cards, there is no print view: the PDF is prepared in the background (issue 18)."""
    from gridroll.codes.cards import card_context, card_residents, render_pdf

    residents, title, area, path = card_residents(request.user, request.GET)
    count = PersonalCode.objects.filter(resident__in=residents, revoked_at__isnull=True).count()
    big = (area is not None and area.level != Level.GRID) or count > CARDS_DIRECT
    if request.method == "POST" and big and request.POST.get("format") == "pdf":
        from gridroll.jobs.services import submit

        scope = {k: int(request.GET[k]) for k in ("household", "building", "area") if k in request.GET}
        job = submit(
            request.user,
            "codes.cards",
            dict(list(scope.items())[:1]),
            title=_("Code cards · %(area)s") % {"area": title},
            filename=f"{title}-码卡.pdf",
            content_type="application/pdf",
            area_path=path,
        )
        return redirect("jobs:detail", pk=job.pk)
    if request.method == "POST":
        # Issuing is a write: only a POST issues codes (a GET, a prefetch or a crawler never does).
        issued = services.issue_codes(residents, request.user, reason=f"打印码卡：{title}")
        messages.success(request, _("Codes issued: %(n)s.") % {"n": issued})
        return redirect(f"{reverse('codes:cards')}?{request.GET.urlencode()}")
    holders = PersonalCode.objects.filter(revoked_at__isnull=True, resident__isnull=False).values(
        "resident_id"
    )
    if big:
        context = {"title": title, "big": True, "count": count}
    else:
        context = card_context(residents, title, qr=request.GET.get("format") != "pdf")
    context["without_code"] = residents.exclude(pk__in=holders).count()
    if request.GET.get("format") == "pdf" and not big:
        try:
            pdf = render_pdf(context)
        except RuntimeError as exc:
            return HttpResponse(str(exc), status=503, content_type="text/plain; charset=utf-8")
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(title + '-码卡.pdf')}"
        return response
    return render(request, "codes/cards.html", context)


@login_required
def site_list(request):
    sites = Site.objects.restrict(request.user, Action.MANAGE_CODES).select_related("area")
    areas = Area.objects.restrict(request.user, Action.MANAGE_CODES).filter(
        level__in=[*COMMUNITY_LEVELS, Level.GRID]
    )
    if request.method == "POST":
        area = get_in_scope(
            Area.objects.all(), request.user, Action.MANAGE_CODES, pk=request.POST.get("area")
        )
        name = request.POST.get("name", "").strip()
        if not name:
            messages.error(request, _("Give the site a name."))
        elif Site.objects.filter(area=area, name=name).exists():
            messages.error(request, _("This area already has a site with that name."))
        else:
            Site.objects.create(area=area, name=name, address=request.POST.get("address", "").strip())
            messages.success(request, _("Site added."))
        return redirect("codes:sites")
    return render(request, "codes/sites.html", {"sites": sites, "areas": areas})


@login_required
def site_edit(request, pk: int):
    site = get_in_scope(Site.objects.all(), request.user, Action.MANAGE_CODES, pk=pk)
    if request.method == "POST":
        site.name = request.POST.get("name", site.name).strip() or site.name
        site.address = request.POST.get("address", "").strip()
        site.is_active = request.POST.get("is_active") == "on"
        site.save()
        messages.success(request, _("Saved."))
        return redirect("codes:sites")
    return render(request, "codes/site_edit.html", {"site": site})


@login_required
def site_poster(request, pk: int):
    """The printable site code: a QR of the site's registration link."""
    site = get_in_scope(Site.objects.select_related("area"), request.user, Action.MANAGE_CODES, pk=pk)
    url = request.build_absolute_uri(reverse("codes:register_site", args=[site.token]))
    return render(request, "codes/site_poster.html", {"site": site, "url": url, "qr": qr_svg(url, scale=10)})
