from django.http import HttpRequest
from ninja import Router, Schema

from gridroll.accounts.scope import get_in_scope
from gridroll.areas.models import Area

router = Router(tags=["areas"])


class AreaOut(Schema):
    id: int
    name: str
    level: str
    parent_id: int | None


@router.get("", response=list[AreaOut], summary="Areas the caller may see")
def list_areas(request: HttpRequest, parent: int | None = None):
    qs = Area.objects.restrict(request.user).order_by("path")
    if parent is not None:
        qs = qs.filter(parent_id=parent)
    return qs


@router.get("/{area_id}", response=AreaOut)
def get_area(request: HttpRequest, area_id: int):
    return get_in_scope(Area.objects.all(), request.user, pk=area_id)
