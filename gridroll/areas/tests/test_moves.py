"""Moving an area moves its scope with it (issue 13, 6)."""

import pytest

from gridroll.areas.models import Area, AreaError, Level
from gridroll.areas.services import move_area
from gridroll.audit.models import AuditRecord
from gridroll.conftest import make_user
from gridroll.residents.models import Resident


@pytest.fixture
def other_sub(tree):
    sub2 = Area.objects.create(name="另一街道", level=Level.SUBDISTRICT, parent=tree["district"])
    community2 = Area.objects.create(name="另一社区", level=Level.COMMUNITY, parent=sub2)
    return sub2, community2


def test_moving_a_community_moves_its_grids_scope(tree, other_sub, sub_admin, resident_a):
    sub2, _ = other_sub
    admin2 = make_user("sub2_admin", "subdistrict_admin", sub2)
    assert resident_a in Resident.objects.restrict(sub_admin)
    move_area(sub_admin, tree["community"], sub2, "区划调整")
    grid = Area.objects.get(pk=tree["grid_a"].pk)
    assert grid.path == f"{sub2.path}{tree['community'].pk}/{grid.pk}/"
    assert resident_a in Resident.objects.restrict(admin2)  # the new subdistrict sees them
    assert resident_a not in Resident.objects.restrict(sub_admin)  # the old one no longer does
    record = AuditRecord.objects.get(action="area.move")
    assert record.reason == "区划调整" and record.changes["areas"][1] == 3  # community and two grids


def test_a_grid_moves_to_another_community(tree, other_sub, grid_worker, resident_a):
    _, community2 = other_sub
    move_area(None, tree["grid_a"], community2, "网格调整")
    assert Area.objects.get(pk=tree["grid_a"].pk).path.startswith(community2.path)
    assert resident_a in Resident.objects.restrict(grid_worker)  # granted on the grid itself


def test_a_district_under_a_grid_is_refused(tree):
    with pytest.raises(AreaError) as exc:
        move_area(None, tree["district"], tree["grid_a"], "x")
    assert exc.value.code in ("area_level", "area_cycle")
    with pytest.raises(AreaError) as exc:
        move_area(None, tree["community"], tree["community"], "x")
    assert exc.value.code == "area_cycle"
    other = Area.objects.create(name="外区", level=Level.DISTRICT)
    with pytest.raises(AreaError) as exc:
        move_area(None, other, tree["grid_b"], "x")
    assert exc.value.code == "area_level"
    with pytest.raises(AreaError):
        Area.objects.create(name="坏网格下的区", level=Level.DISTRICT, parent=tree["grid_a"])


def test_saving_a_new_parent_directly_is_refused(tree, other_sub):
    community = Area.objects.get(pk=tree["community"].pk)
    community.parent = other_sub[0]
    with pytest.raises(AreaError) as exc:
        community.save()
    assert exc.value.code == "area_move"
    assert Area.objects.get(pk=tree["grid_a"].pk).path.startswith(tree["sub"].path)


def test_the_admin_cannot_edit_an_areas_parent(tree, client):
    from django.contrib.auth.models import User

    admin = User.objects.create_superuser("root", password="pw-root")
    client.force_login(admin)
    page = client.get(f"/admin/areas/area/{tree['community'].pk}/change/").content.decode()
    assert 'name="parent"' not in page
