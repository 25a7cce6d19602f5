"""Scope: an outsider sees no resident of another grid through any page, export or endpoint."""

import json

import pytest
from django.urls import reverse

from gridroll.accounts.scope import allowed_paths
from gridroll.audit.models import AuditRecord
from gridroll.residents.models import Resident


def pages_of(tree, resident):
    return [
        reverse("areas:area", args=[tree["grid_a"].pk]),
        reverse("areas:building", args=[tree["building_a"].pk]),
        reverse("areas:household", args=[tree["household_a"].pk]),
        reverse("residents:detail", args=[resident.pk]),
        reverse("residents:edit", args=[resident.pk]),
        reverse("residents:move", args=[resident.pk]),
        reverse("residents:create", args=[tree["household_a"].pk]),
        f"/api/residents/{resident.pk}",
        f"/api/areas/{tree['grid_a'].pk}",
    ]


def test_the_grid_worker_sees_their_grid(tree, grid_worker, resident_a, login):
    client = login(grid_worker)
    for url in pages_of(tree, resident_a):
        assert client.get(url).status_code == 200, url


def test_an_outsider_gets_not_found_for_everything_in_another_grid(tree, outsider, resident_a, login):
    client = login(outsider)
    for url in pages_of(tree, resident_a):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "韩馨怡".encode() not in response.content


def test_not_found_looks_the_same_for_missing_and_out_of_scope(tree, outsider, resident_a, login):
    client = login(outsider)
    hidden = client.get(reverse("residents:detail", args=[resident_a.pk]))
    missing = client.get(reverse("residents:detail", args=[999999]))
    assert hidden.status_code == missing.status_code == 404
    assert hidden.content == missing.content


def test_search_finds_only_in_scope(tree, grid_worker, outsider, resident_a, resident_b, login):
    client = login(outsider)
    for q in (
        "韩馨怡",
        resident_a.document_number,
        resident_a.document_number[-6:],
        resident_a.phone,
        "3号楼2单元501",
    ):
        response = client.get(reverse("residents:search"), {"q": q})
        assert response.context["page"].paginator.count == 0, q
        assert resident_a.household.label not in response.content.decode(), q
        api = json.loads(client.get("/api/residents", {"q": q}).content)
        assert api["count"] == 0, q
    client = login(grid_worker)
    for q in ("韩馨", resident_a.document_number[-6:], resident_a.phone, "盛世佳苑3号楼2单元501"):
        assert "韩馨怡" in client.get(reverse("residents:search"), {"q": q}).content.decode(), q


def test_the_api_masks_document_numbers_and_writes_chinese(tree, grid_worker, resident_a, login):
    response = login(grid_worker).get("/api/residents", {"q": "韩"})
    text = response.content.decode()
    assert "韩馨怡" in text  # not \u97e9
    assert resident_a.document_number not in text
    assert resident_a.masked_document in text


def test_area_lists_are_scoped(tree, outsider, login):
    data = json.loads(login(outsider).get("/api/areas").content)
    assert {a["name"] for a in data} == {"第二网格"}


def test_export_is_scoped_and_audited(tree, sub_admin, outsider, resident_a, resident_b, login):
    from io import BytesIO

    from openpyxl import load_workbook

    from gridroll.jobs.runner import run_pending

    # A community's export is prepared in the background (issue 18), then downloaded by its owner.
    client = login(sub_admin)
    job_page = client.post(reverse("areas:area_export", args=[tree["community"].pk]), {"format": "xlsx"})
    run_pending()
    response = client.get(job_page.url + "download/")
    rows = list(load_workbook(BytesIO(b"".join(response.streaming_content))).active.values)
    assert {r[8] for r in rows[1:]} == {"韩馨怡", "徐志强"}
    assert AuditRecord.objects.filter(action="registry.export", actor=sub_admin).count() == 1
    # A grid worker may not export; an outsider may not export another grid.
    assert login(outsider).get(reverse("areas:area_export", args=[tree["grid_a"].pk])).status_code == 404
    assert login(outsider).get(reverse("areas:area_export", args=[tree["grid_b"].pk])).status_code == 404


def test_a_sampler_sees_no_registry(tree, sampler, resident_a, login):
    client = login(sampler)
    for url in pages_of(tree, resident_a):
        assert client.get(url).status_code == 404, url
    assert allowed_paths(sampler, "view_registry") == []


def test_anonymous_users_are_sent_to_log_in(tree, resident_a, client):
    response = client.get(reverse("residents:detail", args=[resident_a.pk]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.get("/api/residents").status_code == 401


def test_a_subdistrict_grant_covers_everything_below(tree, sub_admin, resident_a, resident_b):
    assert set(Resident.objects.restrict(sub_admin)) == {resident_a, resident_b}


def test_import_batches_are_seen_only_by_their_uploader(tree, sub_admin, login):
    from gridroll.conftest import make_user
    from gridroll.residents.models import ImportBatch

    batch = ImportBatch.objects.create(user=sub_admin, filename="a.xlsx")
    other = make_user("other_admin", "subdistrict_admin", tree["sub"])
    client = login(other)
    for name in ("residents:import_batch", "residents:import_rejects"):
        assert client.get(reverse(name, args=[batch.pk])).status_code == 404


@pytest.mark.parametrize("page", ["areas:building", "api"])
def test_list_pages_have_a_query_budget(tree, grid_worker, login, django_assert_max_num_queries, page):
    from gridroll.areas.models import Household

    for i in range(30):
        h = Household.objects.create(building=tree["building_a"], entrance="1", room=f"{i + 1}01")
        Resident.objects.create(name=f"居民{i}", household=h, document_type="none", birth_date="2000-01-01")
    client = login(grid_worker)
    with django_assert_max_num_queries(10):
        if page == "api":
            assert client.get("/api/residents", {"q": "居民", "limit": 100}).status_code == 200
        else:
            assert client.get(reverse(page, args=[tree["building_a"].pk])).status_code == 200
