"""The second attacker's findings (issue 13 re-tested by someone who had not seen the tests), each as
the attack."""

import datetime
import re

from django.urls import reverse

from gridroll.audit.models import AuditRecord
from gridroll.codes.models import ResidentAccess
from gridroll.conftest import new_id
from gridroll.residents.models import Guardianship, Resident


def register(client, tree, name, number, phone="13600000000", room="501"):
    data = {
        "name": name,
        "document_type": "id_card",
        "document_number": number,
        "sex": "",
        "birth_date": "",
        "phone": phone,
        "building": tree["building_a"].pk,
        "entrance": "2",
        "room": room,
        "consent": "on",
    }
    return client.post(reverse("codes:register_community", args=[tree["community"].pk]), data)


def secret_of(response):
    return re.match(r"^/me/([^/]+)/$", response["Location"])[1]


def test_f1_guessing_a_full_id_from_its_mask_under_one_name_is_stopped(tree, client, resident_a):
    """The registration answer tells a claim from a new record: trying candidate numbers under the
    victim's name finds the right one. After a few numbers under one name, registration waits for staff."""
    birth = resident_a.birth_date
    wrong = [new_id(birth + datetime.timedelta(days=d), "F", 7) for d in (1, 2, 3)]
    for number in wrong:
        client.cookies.clear()
        register(client, tree, resident_a.name, number)
    client.cookies.clear()
    response = register(client, tree, resident_a.name, resident_a.document_number)
    assert response.status_code == 200 and "工作人员" in response.content.decode()
    assert not ResidentAccess.objects.filter(resident=resident_a).exists()  # no claim: no oracle
    assert AuditRecord.objects.filter(action="registration.name_probe").exists()


def _page_without_secret(client, response) -> str:
    secret = secret_of(response)
    page = client.get(reverse("codes:me", args=[secret])).content.decode()
    # The CSRF token differs per visitor and says nothing of the person.
    page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", page)
    return page.replace(secret, "SECRET")


def test_f1_a_right_guess_at_a_masked_id_answers_exactly_like_a_wrong_one(tree, client, resident_a):
    """The strong form: the neighbour tries the candidates a masked ID and a birth month leave. Every
    answer is the same page — no code, nothing shown — whether the number was right or not."""
    birth = resident_a.birth_date
    masked = resident_a.masked_document  # what the neighbour saw: first four and last four
    candidates = [new_id(birth + datetime.timedelta(days=d), "F", 7) for d in range(-12, 12) if d != 0]
    candidates = [c for c in candidates if c[:4] == masked[:4] and c[-4:] == masked[-4:]][:1]
    assert candidates, "no same-mask candidate in that month: widen the range"
    pages = []
    for number in [*candidates, resident_a.document_number]:
        client.cookies.clear()
        response = register(client, tree, resident_a.name, number)
        assert response.status_code == 302
        pages.append(_page_without_secret(client, response))
    assert pages[0] == pages[1]
    assert "<svg" not in pages[0] and "<svg" not in pages[1]
    # The grid worker sees both on 待核实; confirming the held registration gives its holder a code.
    held = Resident.objects.get(document_number=candidates[0])
    assert held.is_pending and not held.codes.exists()
    from django.contrib.auth.models import User

    from gridroll.codes import registration

    registration.confirm_resident(User.objects.create_user("gw"), held)
    assert held.codes.filter(revoked_at__isnull=True).exists()
    assert ResidentAccess.objects.get(resident=held).is_confirmed


def test_f2_an_adult_housemate_is_a_claim_even_for_a_confirmed_member(tree, client, resident_a):
    lodger = Resident.objects.create(
        name="徐立",
        sex="M",
        document_number=new_id(datetime.date(1985, 1, 1), "M", 41),
        birth_date=datetime.date(1985, 1, 1),
        phone="13911110000",
        household=tree["household_a"],
    )
    access = ResidentAccess.objects.create(resident=lodger, token_hash="l" * 64, is_confirmed=True)
    from gridroll.codes import registration

    result = registration.add_dependent(
        access,
        {"name": resident_a.name, "document_type": "id_card", "document_number": resident_a.document_number},
        None,
        "室友",
    )
    assert result.outcome == "claimed"
    assert Guardianship.objects.get(dependent=resident_a).is_confirmed is False
    # …while a parent adding their own young child in the registered household is trusted as before.
    child = Resident.objects.create(
        name="徐小",
        document_type="none",
        birth_date=datetime.date.today() - datetime.timedelta(days=900),
        household=tree["household_a"],
    )
    registration.add_dependent(
        access, {"name": "徐小", "document_type": "none", "birth_date": child.birth_date}, None, "父母", True
    )
    assert Guardianship.objects.get(dependent=child).is_confirmed is True


def test_f3_a_phone_cannot_be_recovered_digit_by_digit_above_the_community(
    tree, sub_admin, grid_worker, resident_a, login
):
    suffix5 = resident_a.phone[-5:]
    above = login(sub_admin).get("/api/residents", {"q": suffix5}).json()
    assert above["count"] == 0
    assert login(sub_admin).get("/api/residents", {"q": resident_a.phone[-4:]}).json()["count"] == 1
    assert login(grid_worker).get("/api/residents", {"q": suffix5}).json()["count"] == 1  # they call people


def test_f4_a_sampler_gets_no_address_from_a_name(tree, sampler, site, resident_a, login):
    client = login(sampler)
    by_name = client.get(f"/api/sampling/sites/{site.pk}/lookup", {"q": resident_a.name}).json()["people"]
    assert by_name and all(p["household"] == "" for p in by_name)
    assert resident_a.name not in str(by_name)


def test_f5_and_f6_one_time_codes_are_counted_per_person_and_never_go_to_a_self_typed_phone(
    tree, client, resident_a, sms_outbox
):
    secrets = []
    for _ in range(3):
        client.cookies.clear()
        secrets.append(secret_of(register(client, tree, resident_a.name, resident_a.document_number)))
    for secret in secrets:
        for _ in range(3):
            client.post(reverse("codes:me_verify", args=[secret]))
    assert len(sms_outbox) == 3  # per person, however many links claim them
    # A record that is itself a pending self-registration: the first registrant typed its phone.
    client.cookies.clear()
    squatter = register(
        client, tree, "新来者", new_id(datetime.date(2000, 2, 2), "M", 5), phone="13500000001"
    )
    client.cookies.clear()
    real = secret_of(
        register(client, tree, "新来者", new_id(datetime.date(2000, 2, 2), "M", 5), phone="13500000002")
    )
    assert squatter.status_code == 302
    sms_outbox.clear()
    page = client.post(reverse("codes:me_verify", args=[real]), follow=True).content.decode()
    assert sms_outbox == [] and "网格员" in page


def test_f9_no_answer_tells_whether_a_phone_is_on_file(tree, client, resident_a, sms_outbox):
    no_phone = Resident.objects.create(
        name="韩无机",
        sex="M",
        document_number=new_id(datetime.date(1960, 6, 6), "M", 12),
        birth_date=datetime.date(1960, 6, 6),
        household=tree["household_a"],
    )
    answers = []
    for person in (resident_a, no_phone):
        client.cookies.clear()
        secret = secret_of(register(client, tree, person.name, person.document_number))
        page = client.post(reverse("codes:me_verify", args=[secret]), follow=True).content.decode()
        answers.append(re.search(r'class="msg[^"]*">([^<]+)<', page)[1])
    assert answers[0] == answers[1]
    assert len(sms_outbox) == 1


def test_f7_paging_in_small_pages_does_not_escape_the_bulk_audit(tree, sub_admin, login):
    for i in range(120):
        Resident.objects.create(name=f"王{i}", household=tree["household_a"])
    client = login(sub_admin)
    for offset in range(0, 120, 20):
        client.get("/api/residents", {"q": "王", "limit": 20, "offset": offset})
    records = AuditRecord.objects.filter(action="resident.bulk_read")
    assert records.count() >= 3 and records.last().changes["rows_this_hour"] > 50
