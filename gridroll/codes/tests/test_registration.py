"""Self-registration, dependents, the resident's own page, and what an outsider can never do."""

import datetime
import re

import pytest
from django.urls import reverse

from gridroll.audit.models import AuditRecord
from gridroll.codes import services
from gridroll.codes.models import ResidentAccess, hash_access_token
from gridroll.conftest import new_id
from gridroll.residents.models import Guardianship, Resident
from gridroll.sampling.models import Site

PARENT_ID = new_id(datetime.date(1988, 4, 12), "F", 21)


def register(client, tree, **overrides):
    data = {
        "name": "王秀英",
        "document_type": "id_card",
        "document_number": PARENT_ID,
        "sex": "",
        "birth_date": "",
        "phone": "13911112222",
        "building": tree["building_a"].pk,
        "entrance": "2",
        "room": "501",
        "consent": "on",
    }
    data.update(overrides)
    return client.post(reverse("codes:register_community", args=[tree["community"].pk]), data)


def secret_of(response) -> str:
    match = re.match(r"^/me/([^/]+)/$", response["Location"])
    assert match, response["Location"]
    return match[1]


def add_child(client, secret, **overrides):
    data = {
        "name": "王小宝",
        "document_type": "none",
        "document_number": "",
        "sex": "M",
        "birth_date": "2021-06-01",
        "relation": "父母",
        "lives_with_me": "on",
        "consent": "on",
    }
    data.update(overrides)
    return client.post(reverse("codes:me_add", args=[secret]), data)


def test_a_new_person_registers_and_gets_a_code_and_a_private_page(tree, client):
    response = register(client, tree)
    assert response.status_code == 302
    resident = Resident.objects.get(document_number=PARENT_ID)
    assert resident.is_pending and resident.household == tree["household_a"]
    assert resident.birth_date == datetime.date(1988, 4, 12) and resident.sex == "F"  # from the ID
    page = client.get(response["Location"]).content.decode()
    code = services.current_code(resident)
    assert code.short_code in page and "王*英" in page and "<svg" in page
    assert ResidentAccess.objects.get(resident=resident).consent_at is not None


def test_registration_needs_consent_and_a_valid_id(tree, client):
    response = register(client, tree, consent="")
    assert response.status_code == 200 and not Resident.objects.exists()
    bad = PARENT_ID[:-1] + ("0" if PARENT_ID[-1] != "0" else "1")
    response = register(client, tree, document_number=bad)
    assert "校验位" in response.content.decode() and not Resident.objects.exists()


def test_a_room_that_does_not_exist_is_refused(tree, client):
    response = register(client, tree, room="9999")
    assert response.status_code == 200 and not Resident.objects.exists()


def test_registering_a_registered_person_makes_a_claim_that_shows_nothing(tree, client, resident_a):
    code = services.issue_code(resident_a)
    response = register(client, tree, name=resident_a.name, document_number=resident_a.document_number)
    assert Resident.objects.count() == 1  # never a duplicate
    access = ResidentAccess.objects.get(resident=resident_a)
    assert access.is_confirmed is False
    page = client.get(response["Location"]).content.decode()
    assert code.short_code not in page and code.token not in page and "<svg" not in page
    assert tree["household_a"].label not in page and "501" not in page
    assert "核实" in page  # the page says what is pending and why
    assert resident_a.document_number not in page and resident_a.phone not in page


def test_a_second_registration_with_the_same_id_is_a_claim_the_first_holder_sees(tree, client):
    first = secret_of(register(client, tree))
    client.cookies.clear()
    second = secret_of(register(client, tree))
    assert Resident.objects.count() == 1 and ResidentAccess.objects.count() == 2
    assert ResidentAccess.objects.get(token_hash=hash_access_token(second)).is_confirmed is False
    holder_page = client.get(reverse("codes:me", args=[first])).content.decode()
    assert "有人" in holder_page and "网格员" in holder_page  # the holder is told of the claim
    # The first holder keeps their code; the claimant sees none.
    code = services.current_code(Resident.objects.get())
    assert code.short_code in holder_page
    assert code.short_code not in client.get(reverse("codes:me", args=[second])).content.decode()


def test_the_same_id_under_another_name_is_refused(tree, client, resident_a):
    response = register(client, tree, name="韩馨一", document_number=resident_a.document_number)
    assert "另一人" in response.content.decode()
    assert not ResidentAccess.objects.exists()


def test_a_visitor_registers_at_a_site_as_a_non_resident(tree, client, grid_worker, outsider, login):
    site = Site.objects.create(area=tree["grid_a"], name="盛世佳苑北门采样点")
    data = {
        "name": "徐志强",
        "document_type": "id_card",
        "document_number": new_id(seq=44),
        "phone": "13700001111",
        "lives_elsewhere": "on",
        "consent": "on",
    }
    response = client.post(reverse("codes:register_site", args=[site.token]), data)
    assert response.status_code == 302
    visitor = Resident.objects.get(name="徐志强")
    assert visitor.household is None and visitor.registered_site == site
    assert visitor in Resident.objects.restrict(grid_worker)  # the site's grid worker sees them
    assert visitor not in Resident.objects.restrict(outsider)
    result = services.check_code(services.current_code(visitor).token, grid_worker)
    assert result.status == "valid" and result.person["is_resident"] is False


def test_a_parent_adds_a_child_without_an_id(tree, client):
    secret = secret_of(register(client, tree))
    response = add_child(client, secret)
    assert response.status_code == 302
    child = Resident.objects.get(name="王小宝")
    assert child.document_type == "none" and child.household == tree["household_a"]
    link = Guardianship.objects.get(dependent=child)
    assert link.guardian.document_number == PARENT_ID and link.consent_at is not None
    page = client.get(reverse("codes:me", args=[secret])).content.decode()
    assert services.current_code(child).short_code in page
    # The parent is the child's 父母, not the other way round (issue 18, item 8).
    assert "被监护人 · 您是其父母" in page


def test_an_under_14_needs_the_guardians_consent(tree, client):
    secret = secret_of(register(client, tree))
    response = add_child(client, secret, consent="")
    assert "14" in response.content.decode()
    assert not Resident.objects.filter(name="王小宝").exists()


def test_adding_the_same_child_twice_is_refused(tree, client):
    secret = secret_of(register(client, tree))
    add_child(client, secret)
    response = add_child(client, secret)
    assert "已在您的被监护人中" in response.content.decode()
    assert Resident.objects.filter(name="王小宝").count() == 1


def test_a_second_guardian_links_never_duplicates(tree, client):
    mother = secret_of(register(client, tree))
    add_child(client, mother)
    father_id = new_id(datetime.date(1986, 2, 2), "M", 31)
    client.cookies.clear()
    father = secret_of(register(client, tree, name="牛建国", document_number=father_id))
    response = add_child(client, father)
    assert response.status_code == 302
    child = Resident.objects.get(name="王小宝")
    assert Guardianship.objects.filter(dependent=child).count() == 2
    page = client.get(response["Location"]).content.decode()
    assert "不会重复登记" in page
    assert Resident.objects.filter(name="王小宝").count() == 1
    # The father is a self-registration himself: the child's code waits for a check.
    assert services.current_code(child).short_code not in page
    assert Guardianship.objects.get(dependent=child, guardian__name="牛建国").is_confirmed is False


def test_a_wrong_link_is_not_found(tree, client):
    register(client, tree)
    assert client.get(reverse("codes:me", args=["not-the-secret"])).status_code == 404


def test_there_is_no_lookup_by_name_and_id(tree, client, resident_a):
    # Nothing in the public URL space takes a name or an ID and answers with a person.
    services.issue_code(resident_a)
    for url in ("/register/", f"/register/c/{tree['community'].pk}/"):
        page = client.get(url, {"name": resident_a.name, "document_number": resident_a.document_number})
        assert resident_a.name not in page.content.decode()
    assert client.get("/api/residents", {"q": resident_a.document_number}).status_code == 401


def test_the_resident_page_is_not_cached(tree, client):
    response = client.get(register(client, tree)["Location"])
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    assert response["Referrer-Policy"] == "no-referrer"


def test_the_grid_worker_confirms_pending_people_and_links(
    tree, client, grid_worker, outsider, resident_a, login
):
    register(client, tree)
    register(client, tree, name=resident_a.name, document_number=resident_a.document_number)
    staff = login(grid_worker)
    page = staff.get(reverse("codes:pending"))
    assert [r.name for r in page.context["pending"]] == ["王秀英"]
    assert [a.resident for a in page.context["links"]] == [resident_a]
    outsider_page = login(outsider).get(reverse("codes:pending"))
    assert not outsider_page.context["pending"] and not outsider_page.context["links"]
    access = ResidentAccess.objects.get(resident=resident_a)
    assert login(outsider).post(reverse("codes:confirm", args=["link", access.pk])).status_code == 404
    staff = login(grid_worker)
    staff.post(reverse("codes:confirm", args=["link", access.pk]))
    staff.post(reverse("codes:confirm", args=["resident", Resident.objects.get(name="王秀英").pk]))
    assert ResidentAccess.objects.get(resident=resident_a).is_confirmed
    assert not Resident.objects.get(name="王秀英").is_pending
    assert AuditRecord.objects.filter(action__in=["resident.confirm", "resident.confirm_link"]).count() == 2


def test_staff_reissue_and_new_link_are_scoped(tree, grid_worker, outsider, resident_a, login):
    services.issue_code(resident_a)
    assert (
        login(outsider).post(reverse("codes:reissue", args=[resident_a.pk]), {"reason": "lost"}).status_code
        == 404
    )
    assert login(outsider).post(reverse("codes:new_link", args=[resident_a.pk])).status_code == 404
    client = login(grid_worker)
    client.post(reverse("codes:reissue", args=[resident_a.pk]), {"reason": "lost", "note": "手机丢失"})
    assert resident_a.codes.count() == 2
    client.post(reverse("codes:new_link", args=[resident_a.pk]))
    page = client.get(reverse("residents:detail", args=[resident_a.pk])).content.decode()
    assert "/me/" in page


@pytest.mark.parametrize("param", ["household", "building", "area"])
def test_card_sheets_are_scoped(tree, grid_worker, outsider, resident_a, login, param):
    target = {"household": tree["household_a"], "building": tree["building_a"], "area": tree["grid_a"]}[param]
    url = f"{reverse('codes:cards')}?{param}={target.pk}"
    assert login(outsider).get(url).status_code == 404
    assert login(outsider).post(url).status_code == 404
    assert not resident_a.codes.exists()
    client = login(grid_worker)
    assert client.post(url).status_code == 302
    page = client.get(url)
    assert page.context["count"] == 1 and "韩*怡" in page.content.decode()


@pytest.mark.parametrize("fmt", ["", "pdf"])
def test_a_get_of_the_card_sheet_never_issues_codes(tree, grid_worker, resident_a, login, fmt):
    """Attack: a prefetch, a crawler or a reload of 打印码卡 must not issue codes (nor audit them)."""
    client = login(grid_worker)
    params = {"area": tree["grid_a"].pk, **({"format": fmt} if fmt else {})}
    page = client.get(reverse("codes:cards"), params)
    assert page.status_code in (200, 503)  # 503: PDF renderer missing on this machine
    assert not resident_a.codes.exists()
    if not fmt:
        assert page.context["count"] == 0 and page.context["without_code"] == 1
        assert 'method="post"' in page.content.decode()
    client.post(f"{reverse('codes:cards')}?area={tree['grid_a'].pk}")
    assert resident_a.codes.filter(revoked_at__isnull=True).count() == 1
    assert client.get(reverse("codes:cards"), {"area": tree["grid_a"].pk}).context["without_code"] == 0


def test_sites_are_managed_within_scope(tree, grid_worker, outsider, login):
    client = login(grid_worker)
    client.post(reverse("codes:sites"), {"area": tree["grid_a"].pk, "name": "北门采样点", "address": "北门"})
    site = Site.objects.get()
    assert login(outsider).get(reverse("codes:site_poster", args=[site.pk])).status_code == 404
    assert (
        login(outsider).post(reverse("codes:sites"), {"area": tree["grid_a"].pk, "name": "x"}).status_code
        == 404
    )
    poster = login(grid_worker).get(reverse("codes:site_poster", args=[site.pk])).content.decode()
    assert f"/register/s/{site.token}/" in poster and "<svg" in poster
    login(grid_worker).post(reverse("codes:site_edit", args=[site.pk]), {"name": "北门采样点", "address": ""})
    assert not Site.objects.get().is_active
    assert login(grid_worker).get(reverse("codes:register_site", args=[site.token])).status_code == 404


def test_a_grid_worker_places_a_visitor_in_a_household(tree, client, grid_worker, login):
    site = Site.objects.create(area=tree["grid_a"], name="北门采样点")
    client.post(
        reverse("codes:register_site", args=[site.token]),
        {
            "name": "徐志强",
            "document_type": "id_card",
            "document_number": new_id(seq=44),
            "phone": "13700001111",
            "lives_elsewhere": "on",
            "consent": "on",
        },
    )
    visitor = Resident.objects.get(name="徐志强")
    staff = login(grid_worker)
    assert "徐志强" in staff.get(reverse("residents:detail", args=[visitor.pk])).content.decode()
    response = staff.post(
        reverse("residents:move", args=[visitor.pk]),
        {"building": tree["building_a"].pk, "entrance": "2", "room": "601", "reason": "新租户"},
    )
    assert response.status_code == 302
    visitor.refresh_from_db()
    assert visitor.household.label == "盛世佳苑 3号楼 2单元 601"
    assert (
        services.check_code(services.current_code(visitor).token, grid_worker).person["is_resident"] is True
    )


def test_probing_ids_through_registration_is_throttled(tree, client, resident_a):
    from gridroll.codes.views import PROBE_LIMIT

    for i in range(PROBE_LIMIT):
        register(client, tree, name=f"某{i}", document_number=resident_a.document_number)  # wrong names
    response = register(client, tree)  # even an honest attempt from this client now waits
    assert "尝试次数过多" in response.content.decode()
    assert not Resident.objects.filter(document_number=PARENT_ID).exists()


def test_a_queue_registering_from_one_address_is_not_throttled(tree, client):
    from gridroll.codes.views import PROBE_LIMIT

    for i in range(PROBE_LIMIT + 5):
        client.cookies.clear()
        response = register(client, tree, name=f"王{i}", document_number=new_id(seq=100 + i))
        assert response.status_code == 302, i
