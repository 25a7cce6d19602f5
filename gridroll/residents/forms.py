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
        # The browser's date input takes yyyy-mm-dd only; any other rendering leaves it empty.
        widgets = {"birth_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}
        labels = {"name": _("Full name")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        instance = self.instance
        # Editing shows the document number masked, as everywhere else: the full number only through the
        # audited reveal. Leaving the masked text as it is keeps the number; typing a full one changes it.
        self._kept_number = ""
        if instance.pk and instance.document_number:
            self._kept_number = instance.document_number
            self.initial["document_number"] = instance.masked_document
            self.fields["document_number"].help_text = _(
                "Shown masked. Leave it to keep the number; type the whole new number to change it."
            )
            if instance.document_type == DocumentType.ID_CARD:
                # The birth date follows from the ID; shown in full beside a masked ID it would undo the mask.
                self.initial["birth_date"] = None
                self.fields["birth_date"].help_text = _("Taken from the ID number.")

    def clean_document_number(self):
        value = self.cleaned_data.get("document_number") or ""
        if self._kept_number and value.strip() == self.instance.masked_document:
            return self._kept_number
        return value

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
