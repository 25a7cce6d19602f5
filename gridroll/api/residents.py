import datetime

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate

from gridroll.accounts.scope import get_in_scope
from gridroll.residents.models import Resident
from gridroll.residents.search import search_residents

router = Router(tags=["residents"])


class ResidentOut(Schema):
    """A resident as staff see them in lists: document number masked (revealing is a page action, audited)."""

    id: int
    name: str
    sex: str
    document_type: str
    document_number_masked: str
    birth_date: datetime.date | None
    phone: str
    household_id: int
    household: str
    grid_id: int
    relation: str
    residence_type: str
    status: str

    @staticmethod
    def resolve_document_number_masked(obj: Resident) -> str:
        return obj.masked_document

    @staticmethod
    def resolve_household(obj: Resident) -> str:
        return obj.household.label

    @staticmethod
    def resolve_grid_id(obj: Resident) -> int:
        return obj.household.building.grid_id


@router.get("", response=list[ResidentOut], summary="Search residents in the caller's scope")
@paginate(LimitOffsetPagination)
def list_residents(request: HttpRequest, q: str = "", household: int | None = None):
    if household is not None:
        qs = Resident.objects.restrict(request.user).filter(household_id=household)
    else:
        qs = search_residents(request.user, q)
    return qs.select_related("household__building").order_by("id")


@router.get("/{resident_id}", response=ResidentOut)
def get_resident(request: HttpRequest, resident_id: int):
    return get_in_scope(Resident.objects.select_related("household__building"), request.user, pk=resident_id)
