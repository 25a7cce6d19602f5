import datetime
import itertools

import pytest
from django.utils import timezone

from gridroll.areas.models import Household
from gridroll.codes.services import issue_code
from gridroll.conftest import new_id
from gridroll.residents.models import Resident
from gridroll.sampling.models import Round, RoundArea, Site, Station

_nonce = itertools.count(1)


@pytest.fixture
def round_(tree):
    now = timezone.now()
    r = Round.objects.create(
        name="第3轮",
        starts_at=now - datetime.timedelta(hours=1),
        ends_at=now + datetime.timedelta(hours=5),
        status=Round.Status.OPEN,
    )
    RoundArea.objects.create(round=r, area=tree["district"], pool_mode="pool10")
    return r


@pytest.fixture
def site(tree):
    s = Site.objects.create(area=tree["grid_a"], name="北门采样点")
    Station.objects.create(site=s, name="1号台")
    return s


@pytest.fixture
def people(tree):
    """Twelve residents of grid A in six households, each with a code."""
    out = []
    for i in range(12):
        household, _ = Household.objects.get_or_create(
            building=tree["building_a"], entrance="1", room=f"{i // 2 + 1}01"
        )
        resident = Resident.objects.create(
            name=f"居民{i:02d}号",
            sex="M",
            household=household,
            document_number=new_id(datetime.date(1970 + i, 1, 1), "M", i),
            birth_date=datetime.date(1970 + i, 1, 1),
        )
        issue_code(resident)
        out.append(resident)
    return out


@pytest.fixture
def act(round_, site):
    """Build an action as a scanner would send it."""

    def _act(kind, tube="TUBE000001", **extra):
        data = {
            "nonce": f"n-{next(_nonce)}",
            "device_id": "phone-1",
            "device_time": timezone.now().isoformat(),
            "kind": kind,
            "round_id": round_.pk,
            "site_id": site.pk,
            "station_id": site.stations.first().pk,
            "tube": tube,
        }
        data.update(extra)
        return data

    return _act


def code_of(resident):
    from gridroll.codes.services import current_code

    return current_code(resident).token
