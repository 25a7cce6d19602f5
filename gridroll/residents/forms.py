from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from gridroll.lib import idnumber
from gridroll.lib import phone as phonelib
from gridroll.lib.text import halfwidth, starts_like_formula
from gridroll.residents.models import DocumentType, Resident, ResidentStatus
from gridroll.residents.services import EDITABLE_FIELDS, FORMULA_NAME_MESSAGE


class ResidentForm(forms.ModelForm):
    """Create or edit a resident; the same document rules as the import."""

    reason = forms.CharField(label=_("Reason for the change"), max_length=200)

    class Meta:
        model = Resident
        fields = EDITABLE_FIELDS
        widgets = {"birth_date": forms.DateInput(attrs={"type": "date"})}

    def clean_name(self):
        name = halfwidth(self.cleaned_data["name"])
        if not name:
            raise forms.ValidationError(_("Name is required."))
        if starts_like_formula(name):
            raise forms.ValidationError(FORMULA_NAME_MESSAGE)
        return name

    def clean_phone(self):
        try:
            return phonelib.normalise(self.cleaned_data.get("phone", ""))
        except phonelib.PhoneError as exc:
            raise forms.ValidationError(exc.message) from None

    def clean(self):
        return clean_identity(self, super().clean())


def clean_identity(form: forms.Form, data: dict) -> dict:
    """The document rules shared by staff edits, self-registration and dependents (same as the import)."""
    doc_type = data.get("document_type")
    number = idnumber.normalise(data.get("document_number") or "")
    if doc_type == DocumentType.NONE:
        if number:
            form.add_error("document_number", _("Leave the number empty when there is no document."))
        if not data.get("birth_date"):
            form.add_error("birth_date", _("A birth date is needed for someone without a document."))
    elif not number:
        form.add_error("document_number", _("Enter the document number, or choose 'None' as the type."))
    elif doc_type == DocumentType.ID_CARD:
        try:
            info = idnumber.parse(number)
        except idnumber.IDNumberError as exc:
            form.add_error("document_number", exc.message)
        else:
            number = info.number
            if data.get("sex") and data["sex"] != info.sex:
                form.add_error("sex", _("The sex does not match the ID number."))
            if data.get("birth_date") and data["birth_date"] != info.birth_date:
                form.add_error("birth_date", _("The birth date does not match the ID number."))
            data["sex"], data["birth_date"] = info.sex, info.birth_date
    data["document_number"] = number
    return data


class MoveForm(forms.Form):
    """Move to another household: pick the building, then type entrance and room (created if new)."""

    building = forms.ModelChoiceField(queryset=None, label=_("Building"))
    entrance = forms.CharField(label=_("Entrance"), required=False, max_length=20)
    room = forms.CharField(label=_("Room"), max_length=30)
    reason = forms.CharField(label=_("Reason for the change"), max_length=200)

    def __init__(self, *args, buildings=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["building"].queryset = buildings


class StatusForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=ResidentStatus.choices)
    reason = forms.CharField(label=_("Reason for the change"), max_length=200)


class ImportForm(forms.Form):
    file = forms.FileField(label=_("Registry table (.xlsx, .xls or .csv)"))
    create_areas = forms.BooleanField(
        label=_("Create the areas the file names and the registry lacks"), required=False
    )
