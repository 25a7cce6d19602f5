from django import forms
from django.utils.translation import gettext_lazy as _

from gridroll.areas.models import Building, Household
from gridroll.lib import address as addresslib
from gridroll.lib import phone as phonelib
from gridroll.lib.text import halfwidth, starts_like_formula
from gridroll.residents.forms import clean_identity
from gridroll.residents.models import DocumentType, Sex
from gridroll.residents.services import FORMULA_NAME_MESSAGE

CONSENT_TEXT = _(
    "I agree that the information above is used only to organise nucleic-acid testing and to tell me and "
    "my guardians the results, is seen only by the staff of my community and the testing services, and is "
    "deleted when the testing task ends (Personal Information Protection Law, arts. 28, 31 and 47)."
)


class IdentityForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=50)
    document_type = forms.ChoiceField(
        label=_("Document type"), choices=DocumentType.choices, initial=DocumentType.ID_CARD
    )
    document_number = forms.CharField(label=_("Document number"), max_length=40, required=False)
    sex = forms.ChoiceField(label=_("Sex"), choices=[("", "—"), *Sex.choices], required=False)
    birth_date = forms.DateField(
        label=_("Birth date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Not needed with a resident ID card"),
    )

    def clean_name(self):
        name = halfwidth(self.cleaned_data["name"])
        if starts_like_formula(name):
            # It would be a live formula in every export that lists the person (issue 14).
            raise forms.ValidationError(FORMULA_NAME_MESSAGE)
        return name.replace(" ", "") if any("\u4e00" <= c <= "\u9fff" for c in name) else name

    def clean(self):
        return clean_identity(self, super().clean())

    def identity(self) -> dict:
        data = self.cleaned_data
        return {k: data[k] for k in ("name", "document_type", "document_number", "sex", "birth_date")}


class AddressMixin(forms.Form):
    building = forms.ModelChoiceField(queryset=Building.objects.none(), label=_("Building"), required=False)
    entrance = forms.CharField(label=_("Entrance"), max_length=20, required=False)
    room = forms.CharField(label=_("Room"), max_length=30, required=False)

    def household(self, required: bool) -> Household | None:
        building = self.cleaned_data.get("building")
        room = self.cleaned_data.get("room")
        if not building or not room:
            if required:
                self.add_error("building", _("Choose the building and type the room where you live now."))
            return None
        household = Household.objects.filter(
            building=building,
            entrance=addresslib.entrance_key(self.cleaned_data.get("entrance") or ""),
            room=addresslib.room_key(room),
        ).first()
        if household is None:
            self.add_error("room", _("This building has no such room. Check the entrance and room number."))
        return household


IDENTITY_ORDER = ["name", "document_type", "document_number", "sex", "birth_date"]


class RegisterForm(IdentityForm, AddressMixin):
    field_order = [*IDENTITY_ORDER, "phone", "building", "entrance", "room", "lives_elsewhere", "consent"]
    phone = forms.CharField(label=_("Mobile phone"), max_length=20)
    lives_elsewhere = forms.BooleanField(label=_("I do not live in this community (visitor)"), required=False)
    consent = forms.BooleanField(label=CONSENT_TEXT, required=True)

    def __init__(self, *args, buildings=None, allow_visitor=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["building"].queryset = buildings if buildings is not None else Building.objects.none()
        if not allow_visitor:
            del self.fields["lives_elsewhere"]

    def clean_phone(self):
        try:
            value = phonelib.normalise(self.cleaned_data["phone"])
        except phonelib.PhoneError as exc:
            raise forms.ValidationError(exc.message) from None
        if not value:
            raise forms.ValidationError(_("Enter your mobile phone number."))
        return value


class DependentForm(IdentityForm, AddressMixin):
    field_order = [*IDENTITY_ORDER, "relation", "lives_with_me", "building", "entrance", "room", "consent"]
    relation = forms.ChoiceField(
        label=_("Your relation to them"),
        choices=[
            ("父母", _("Parent")),
            ("子女", _("Son or daughter")),
            ("祖父母", _("Grandparent")),
            ("孙子女", _("Grandchild")),
            ("配偶", _("Spouse")),
            ("其他亲属", _("Other relative")),
        ],
    )
    lives_with_me = forms.BooleanField(label=_("Lives with me"), required=False, initial=True)
    consent = forms.BooleanField(
        label=_("As their guardian I agree to the use of their information for testing (required under 14)."),
        required=False,
    )

    def __init__(self, *args, buildings=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["building"].queryset = buildings if buildings is not None else Building.objects.none()


class RevokeForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("Why"),
        choices=[
            ("lost", _("Lost or stolen phone or card")),
            ("wrong_person", _("Issued to the wrong person")),
            ("other", _("Other")),
        ],
    )
    note = forms.CharField(label=_("Note"), max_length=200, required=False)
