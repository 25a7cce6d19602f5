"""Resident pages and the import upload. Views parse, authorise, call a service and present."""

from __future__ import annotations

import io
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gridroll.accounts.roles import Action
from gridroll.accounts.scope import can, get_in_scope
from gridroll.areas.models import Building, Household
from gridroll.areas.views import crumbs
from gridroll.audit.labels import action_label, changes_for
from gridroll.audit.models import AuditRecord
from gridroll.codes.forms import RevokeForm
from gridroll.core import tables
from gridroll.core.uploads import refused_upload
from gridroll.lib import address as addresslib
from gridroll.residents import services
from gridroll.residents.exporting import template_workbook, write_csv, write_xlsx
from gridroll.residents.forms import ImportForm, MoveForm, ResidentForm, StatusForm
from gridroll.residents.importing import FileError, ResidentImporter, iter_reject_rows, iter_warning_rows
from gridroll.residents.models import ImportBatch, Resident
from gridroll.residents.search import search_residents

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@login_required
def search(request):
    query = request.GET.get("q", "").strip()
    results = (
        search_residents(request.user, query).order_by("name", "id") if query else Resident.objects.none()
    )
    page = Paginator(results, 50).get_page(request.GET.get("page"))
    return render(request, "residents/search.html", {"query": query, "page": page})


def _shown_history(user, records, area_path: str) -> list:
    records = list(records)
    for h in records:
        h.shown_changes = changes_for(user, h.changes, area_path)
        h.shown_action = action_label(h.action)
    return records


@login_required
def resident_detail(request, pk: int):
    resident = get_in_scope(
        Resident.objects.select_related("household__building__grid", "registered_site__area"),
        request.user,
        pk=pk,
    )
    grid = resident.household.building.grid if resident.household else None
    path = grid.path if grid else resident.registered_site.area.path
    history = AuditRecord.objects.filter(
        target_type="residents.resident", target_id=resident.pk
    ).select_related("actor")
    guardians = resident.guardianships.filter(ended_at__isnull=True).select_related("guardian")
    dependents = resident.dependent_links.filter(ended_at__isnull=True).select_related("dependent")
    return render(
        request,
        "residents/resident_detail.html",
        {
            "resident": resident,
            "household": resident.household,
            "ancestors": crumbs(request.user, grid or resident.registered_site.area),
            "history": _shown_history(request.user, history[:50], path),
            "guardians": guardians,
            "dependents": dependents,
            "can_edit": can(request.user, Action.EDIT_REGISTRY, path),
            "can_reveal": can(request.user, Action.REVEAL_ID, path),
            "revealed": request.session.pop(f"revealed-{resident.pk}", None),
            "status_form": StatusForm(initial={"status": resident.status}),
            "can_codes": can(request.user, Action.MANAGE_CODES, path),
            "codes": resident.codes.select_related("key").order_by("-issued_at")[:10],
            "revoke_form": RevokeForm(),
            "new_link": request.session.pop(f"link-{resident.pk}", None),
            # Private links to this person's page (own or claimed), for staff to end one (lost phone,
            # wrong claim); the holder's page then says so.
            "links": resident.accesses.filter(revoked_at__isnull=True).select_related("site"),
        },
    )


@login_required
@require_POST
def resident_reveal(request, pk: int):
    resident = get_in_scope(
        Resident.objects.select_related("household__building__grid"), request.user, Action.REVEAL_ID, pk=pk
    )
    # Shown once, on the next page load; the audit record says who saw it and when.
    request.session[f"revealed-{resident.pk}"] = services.reveal_document(request.user, resident)
    return redirect("residents:detail", pk=resident.pk)


@login_required
def resident_edit(request, pk: int):
    resident = get_in_scope(
        Resident.objects.select_related("household__building__grid"),
        request.user,
        Action.EDIT_REGISTRY,
        pk=pk,
    )
    form = ResidentForm(request.POST or None, instance=Resident.objects.get(pk=resident.pk))
    if request.method == "POST" and form.is_valid():
        values = {f: form.cleaned_data[f] for f in services.EDITABLE_FIELDS}
        try:
            changed = services.update_resident(request.user, resident, values, form.cleaned_data["reason"])
        except services.ResidentError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Saved.") if changed else _("Nothing changed."))
            return redirect("residents:detail", pk=resident.pk)
    return render(
        request,
        "residents/resident_form.html",
        {"form": form, "resident": resident, "household": resident.household},
    )


@login_required
def resident_create(request, household_pk: int):
    household = get_in_scope(
        Household.objects.select_related("building__grid"),
        request.user,
        Action.EDIT_REGISTRY,
        pk=household_pk,
    )
    form = ResidentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        values = {f: form.cleaned_data[f] for f in services.EDITABLE_FIELDS}
        try:
            resident = services.create_resident(request.user, household, values, form.cleaned_data["reason"])
        except services.ResidentError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Resident added."))
            return redirect("residents:detail", pk=resident.pk)
    return render(request, "residents/resident_form.html", {"form": form, "household": household})


@login_required
def resident_move(request, pk: int):
    resident = get_in_scope(
        Resident.objects.select_related("household__building__grid", "registered_site__area"),
        request.user,
        Action.EDIT_REGISTRY,
        pk=pk,
    )
    # A resident moves within their community; a visitor is placed in the community of their site.
    base = resident.household.building.grid if resident.household else resident.registered_site.area
    community_path = (
        base.path if base.level in ("community", "village") else ("/".join(base.path.split("/")[:-2]) + "/")
    )
    buildings = (
        Building.objects.restrict(request.user, Action.EDIT_REGISTRY)
        .filter(grid__path__startswith=community_path)
        .select_related("grid")
    )
    form = MoveForm(
        request.POST or None,
        buildings=buildings,
        initial={"building": resident.household.building_id if resident.household else None},
    )
    if request.method == "POST" and form.is_valid():
        building = form.cleaned_data["building"]
        household, _created = Household.objects.get_or_create(
            building=building,
            entrance=addresslib.entrance_key(form.cleaned_data["entrance"]),
            room=addresslib.room_key(form.cleaned_data["room"]),
        )
        try:
            services.move_resident(request.user, resident, household, form.cleaned_data["reason"])
        except services.ResidentError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Moved to %(household)s.") % {"household": household.label})
            return redirect("residents:detail", pk=resident.pk)
    return render(request, "residents/resident_move.html", {"form": form, "resident": resident})


@login_required
@require_POST
def resident_status(request, pk: int):
    resident = get_in_scope(
        Resident.objects.select_related("household__building__grid"),
        request.user,
        Action.EDIT_REGISTRY,
        pk=pk,
    )
    form = StatusForm(request.POST)
    if form.is_valid():
        try:
            services.set_status(
                request.user, resident, form.cleaned_data["status"], form.cleaned_data["reason"]
            )
            messages.success(request, _("Status changed."))
        except services.ResidentError as exc:
            messages.error(request, exc.message)
    else:
        messages.error(request, _("Choose a status and give a reason."))
    return redirect("residents:detail", pk=resident.pk)


# ---------------------------------------------------------------------------------------------- import


@login_required
def import_upload(request):
    if not can(request.user, Action.IMPORT):
        raise Http404
    form = ImportForm(request.POST or None, request.FILES or None)
    refused = refused_upload(request)
    if refused:
        form.is_valid()
        form.errors["file"] = form.error_class([refused])
    elif request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        batch = ImportBatch(
            user=request.user, filename=upload.name, create_areas=form.cleaned_data["create_areas"]
        )
        try:
            ResidentImporter(request.user, batch.create_areas).run(
                upload, upload.name, dry_run=True, batch=batch
            )
        except FileError as exc:
            # Refused before anything was stored: no batch, no file on disk.
            form.add_error("file", exc.message)
        else:
            # Kept for "apply" and deleted once applied; a preview never applied is purged after
            # RETENTION["uploaded_files"] (manage.py purge).
            upload.seek(0)
            batch.file.save(upload.name, upload, save=True)
            return redirect("residents:import_batch", pk=batch.pk)
    batches = ImportBatch.objects.filter(user=request.user)[:10]
    return render(
        request,
        "residents/import_upload.html",
        {"form": form, "batches": batches, "limits": tables.limits("web")},
    )


def _own_batch(request, pk: int) -> ImportBatch:
    # An import's rejects hold personal data: only the person who uploaded it sees them.
    qs = (
        ImportBatch.objects.all()
        if request.user.is_superuser
        else ImportBatch.objects.filter(user=request.user)
    )
    try:
        return qs.get(pk=pk)
    except ImportBatch.DoesNotExist:
        raise Http404 from None


@login_required
def import_batch(request, pk: int):
    batch = _own_batch(request, pk)
    # The same masking as the audit log: the changes list is read on a screen, not imported.
    changes = [
        {**c, "shown": changes_for(request.user, c.get("changes", {}), c.get("area_path", ""))}
        for c in batch.changes
    ]
    return render(
        request,
        "residents/import_batch.html",
        {
            "batch": batch,
            "changes": changes,
            "rejects": batch.rejects.all()[:200],
            "warnings": batch.warnings.all()[:200],
        },
    )


@login_required
@require_POST
def import_apply(request, pk: int):
    batch = _own_batch(request, pk)
    if batch.state != ImportBatch.State.PREVIEW or not batch.file:
        messages.error(request, _("This import has already been applied."))
        return redirect("residents:import_batch", pk=batch.pk)
    try:
        with batch.file.open("rb") as handle:
            ResidentImporter(request.user, batch.create_areas).run(handle, batch.filename, batch=batch)
    except FileError as exc:
        batch.state, batch.error = ImportBatch.State.FAILED, exc.message
        batch.save(update_fields=["state", "error"])
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Import applied."))
    finally:
        # The uploaded table holds personal data: once applied (or failed) it is not kept.
        batch.file.delete(save=True)
    return redirect("residents:import_batch", pk=batch.pk)


@login_required
def import_rejects(request, pk: int):
    batch = _own_batch(request, pk)
    return _report(request, batch, iter_reject_rows(batch), "未导入")


@login_required
def import_to_check(request, pk: int):
    """The imported rows whose phone, relation or residence type was kept unverified."""
    batch = _own_batch(request, pk)
    return _report(request, batch, iter_warning_rows(batch), "待核实")


def _report(request, batch: ImportBatch, rows, title: str) -> HttpResponse:
    header = next(rows)
    out = io.BytesIO()
    stem = batch.filename.rsplit(".", 1)[0]
    if request.GET.get("format") == "csv":
        write_csv(rows, out, header=header)
        content_type, name = "text/csv; charset=utf-8", f"{stem}-{title}.csv"
    else:
        write_xlsx(rows, out, title=title, header=header)
        content_type, name = XLSX, f"{stem}-{title}.xlsx"
    response = HttpResponse(out.getvalue(), content_type=content_type)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    return response


@login_required
def import_template(request):
    out = io.BytesIO()
    template_workbook(out)
    response = HttpResponse(out.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote('居民信息导入模板.xlsx')}"
    return response
