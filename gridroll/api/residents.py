from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from ninja import Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate

from gridroll.accounts.scope import get_in_scope
from gridroll.audit.services import record_event
from gridroll.residents.masking import phone_for
from gridroll.residents.models import Resident
from gridroll.residents.search import search_residents

router = Router(tags=["residents"])


class ResidentOut(Schema):
    """A resident as staff see them in lists: document number masked (revealing is a page action,
    audited), the age instead of the birth date (the two together would undo the mask), the phone by
    the calling rule of ``residents.masking``."""

    id: int
    name: str
    sex: str
    document_type: str
    document_number_masked: str
    age: int | None
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
    def resolve_phone(obj: Resident, context) -> str:
        return phone_for(context["request"].user, obj.phone, obj.household.building.grid.path)

    @staticmethod
    def resolve_household(obj: Resident) -> str:
        return obj.household.label

    @staticmethod
    def resolve_grid_id(obj: Resident) -> int:
        return obj.household.building.grid_id


class AuditedPagination(LimitOffsetPagination):
    """Pages of at most NINJA_PAGINATION_MAX_LIMIT rows; once a user has read more than API_BULK_AUDIT_ROWS
    people within an hour, every further page is recorded in the audit log (who, how many, what query)."""

    def paginate_queryset(self, queryset, pagination, request, **params):
        page = super().paginate_queryset(queryset, pagination, request, **params)
        items = list(page[self.items_attribute])
        page[self.items_attribute] = items
        # Counted per user over an hour in the shared cache, so that paging in small pages is no way
        # around it: every page after the threshold is recorded.
        key = f"api-bulk:{request.user.pk}"
        cache.add(key, 0, 3600)
        try:
            total = cache.incr(key, len(items))
        except ValueError:
            cache.set(key, len(items), 3600)
            total = len(items)
        if items and total > settings.API_BULK_AUDIT_ROWS:
            record_event(
                request.user,
                "resident.bulk_read",
                "api",
                changes={"rows": len(items), "offset": pagination.offset, "rows_this_hour": total},
                reason=request.get_full_path()[:200],
            )
        return page


@router.get("", response=list[ResidentOut], summary="Search residents in the caller's scope (paged)")
@paginate(AuditedPagination)
def list_residents(request: HttpRequest, q: str = "", household: int | None = None):
    if household is not None:
        qs = Resident.objects.restrict(request.user).filter(household_id=household)
    else:
        qs = search_residents(request.user, q)
    return qs.filter(household__isnull=False).select_related("household__building__grid").order_by("id")


@router.get("/{resident_id}", response=ResidentOut)
def get_resident(request: HttpRequest, resident_id: int):
    return get_in_scope(
        Resident.objects.select_related("household__building__grid").filter(household__isnull=False),
        request.user,
        pk=resident_id,
    )
