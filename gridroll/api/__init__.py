"""The JSON API (django-ninja). One module per resource: parse, authorise, call a service, serialise.

OpenAPI is served at /api/openapi.json and the docs at /api/docs (ninja's bundled Swagger, no CDN).
"""

import json
import os
from typing import Any

from django.db import DataError
from django.http import HttpRequest
from ninja import NinjaAPI
from ninja.renderers import JSONRenderer
from ninja.responses import NinjaJSONEncoder
from ninja.security import django_auth


class ChineseJSONRenderer(JSONRenderer):
    """Chinese as Chinese (王), not \\u738b: readable in logs and half the bytes."""

    def render(self, request: HttpRequest, data: Any, *, response_status: int) -> Any:
        return json.dumps(data, cls=NinjaJSONEncoder, ensure_ascii=False)


api = NinjaAPI(title="gridroll API", version="1", renderer=ChineseJSONRenderer(), auth=django_auth)


def _out_of_range(exc: BaseException) -> bool:
    """A number from the request too large for the database (SQLite: OverflowError; PostgreSQL: a
    DataError caused by NumericValueOutOfRange), e.g. ``round_id: 2**70``: the client's error, not ours."""
    if isinstance(exc, OverflowError):
        return True
    cause = exc.__cause__
    return isinstance(exc, DataError) and type(cause).__name__ == "NumericValueOutOfRange"


@api.exception_handler(OverflowError)
@api.exception_handler(DataError)
def _number_out_of_range(request: HttpRequest, exc: Exception):
    if not _out_of_range(exc):
        raise exc
    return api.create_response(request, {"detail": "number out of range"}, status=400)


from gridroll.api import areas, codes, labs, residents, scans  # noqa: E402

api.add_router("/areas", areas.router)
api.add_router("/codes", codes.router)
api.add_router("/residents", residents.router)
api.add_router("/sampling", scans.router)
api.add_router("/labs", labs.router)

if os.environ.get("GRIDROLL_BENCH") == "1":
    from gridroll.api import bench

    api.add_router("/bench", bench.router)
