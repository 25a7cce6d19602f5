"""Results by possession, never by knowledge: each test is an attack from issue 13, written as the
attacker would run it against the public pages (anonymous registration, then the private page)."""

import datetime
import re

import pytest
from django.urls import reverse

from gridroll.audit.models import AuditRecord
from gridroll.codes import services
from gridroll.codes.models import ResidentAccess
from gridroll.conftest import new_id
from gridroll.residents.models import Guardianship, Resident
from gridroll.rollcall.models import Entry

MADE_UP_ID = new_id(datetime.date(1992, 7, 7), "M", 88)


def register(client, tree, **overrides):
    data = {
        "name": "陌生人",
        "document_type": "id_card",
        "document_number": MADE_UP_ID,
        "sex": "",
        "birth_date": "",
        "phone": "13600000000",
        "building": tree["building_a"].pk,
        "entrance": "2",
        "room": "501",
        "consent": "on",
    }
    data.update(overrides)
    response = client.post(reverse("codes:register_community", args=[tree["community"].pk]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    return re.match(r"^/me/([^/]+)/$", response["Location"])[1]


def add_dependent(client, secret, **data):
    data = {"relation": "子女", "lives_with_me": "on", "consent": "on", "sex": "", **data}
    return client.post(reverse("codes:me_add", args=[secret]), data)


@pytest.fixture
def negative_neighbour(tree, round_, resident_a):
    """韩馨怡 of flat 2-501 tested negative in the open round, and holds a code."""
    from gridroll.rollcall.services import sync_round

    services.issue_code(resident_a)
    sync_round(round_)
    Entry.objects.filter(resident=resident_a).update(state="negative")
    return resident_a


def _shows_nothing_of(page: str, person: Resident, own_address: bool = False) -> None:
    """No result, code or address of ``person`` (the attacker's own typed flat may show once)."""
    code = services.current_code(person)
    assert "阴性" not in page and "本轮" not in page  # no result of any kind
    assert code is None or (code.short_code not in page and code.token not in page)
    assert page.count("2单元 501") == (1 if own_address else 0)


def test_adding_a_neighbour_as_a_dependent_by_name_and_id_shows_nothing(
    tree, client, negative_neighbour, grid_worker, login
):
    secret = register(client, tree)  # a made-up person in the neighbour's flat
    add_dependent(
        client,
        secret,
        name=negative_neighbour.name,
        document_type="id_card",
        document_number=negative_neighbour.document_number,
        birth_date="",
    )
    link = Guardianship.objects.get(dependent=negative_neighbour)
    assert link.is_confirmed is False
    page = client.get(reverse("codes:me", args=[secret])).content.decode()
    _shows_nothing_of(page, negative_neighbour, own_address=True)
    assert "验证码" in page  # the page says how to confirm
    # …and it waits on the grid worker's 待核实 page.
    pending = login(grid_worker).get(reverse("codes:pending"))
    assert [g.dependent for g in pending.context["guardians"]] == [negative_neighbour]


def test_an_infant_claimed_by_name_birth_date_and_flat_shows_nothing(tree, client, round_):
    from gridroll.rollcall.services import sync_round

    infant = Resident.objects.create(
        name="韩小满",
        document_type="none",
        birth_date=datetime.date(2024, 1, 5),
        household=tree["household_a"],
    )
    services.issue_code(infant)
    sync_round(round_)
    Entry.objects.filter(resident=infant).update(state="negative")
    secret = register(client, tree)
    add_dependent(
        client, secret, name="韩小满", document_type="none", document_number="", birth_date="2024-01-05"
    )
    assert Guardianship.objects.get(dependent=infant).is_confirmed is False
    _shows_nothing_of(
        client.get(reverse("codes:me", args=[secret])).content.decode(), infant, own_address=True
    )


def test_registering_as_a_confirmed_person_shows_nothing_and_the_person_keeps_their_code(
    tree, client, negative_neighbour
):
    real = ResidentAccess.objects.create(resident=negative_neighbour, token_hash="x" * 64, is_confirmed=True)
    code = services.current_code(negative_neighbour)
    secret = register(
        client, tree, name=negative_neighbour.name, document_number=negative_neighbour.document_number
    )
    _shows_nothing_of(client.get(reverse("codes:me", args=[secret])).content.decode(), negative_neighbour)
    # The real holder is neither refused nor cut off, and the code is the same one.
    real.refresh_from_db()
    assert real.revoked_at is None and services.current_code(negative_neighbour) == code
    # The impostor cannot add the real person's family either.
    response = add_dependent(client, secret, name="某某", document_type="none", birth_date="2020-01-01")
    assert response.status_code == 302 and not Resident.objects.filter(name="某某").exists()


def test_a_claimant_never_sees_the_claimed_persons_dependents(tree, client, negative_neighbour):
    child = Resident.objects.create(
        name="韩小宝",
        document_type="none",
        birth_date=datetime.date(2019, 2, 2),
        household=tree["household_a"],
    )
    services.issue_code(child)
    Guardianship.objects.create(dependent=child, guardian=negative_neighbour, relation="父母")
    secret = register(
        client, tree, name=negative_neighbour.name, document_number=negative_neighbour.document_number
    )
    page = client.get(reverse("codes:me", args=[secret])).content.decode()
    assert services.current_code(child).short_code not in page and "韩*宝" not in page


def test_a_one_time_code_to_the_phone_on_file_confirms_a_claim(tree, client, negative_neighbour, sms_outbox):
    secret = register(
        client, tree, name=negative_neighbour.name, document_number=negative_neighbour.document_number
    )
    client.post(reverse("codes:me_verify", args=[secret]))
    assert [m.phone for m in sms_outbox] == [negative_neighbour.phone]  # never to the phone typed
    code = re.search(r"\d{6}", sms_outbox[0].text)[0]
    wrong = "000000" if code != "000000" else "111111"
    client.post(reverse("codes:me_verify", args=[secret]), {"code": wrong})
    assert not ResidentAccess.objects.get(resident=negative_neighbour).is_confirmed
    client.post(reverse("codes:me_verify", args=[secret]), {"code": code})
    page = client.get(reverse("codes:me", args=[secret])).content.decode()
    assert "阴性" in page and services.current_code(negative_neighbour).short_code in page
    assert AuditRecord.objects.filter(action="resident.confirm_link", reason="短信验证码核实").exists()


def test_guessing_the_one_time_code_stops_after_a_few_tries(
    tree, client, negative_neighbour, sms_outbox, settings
):
    secret = register(
        client, tree, name=negative_neighbour.name, document_number=negative_neighbour.document_number
    )
    client.post(reverse("codes:me_verify", args=[secret]))
    code = re.search(r"\d{6}", sms_outbox[0].text)[0]
    guesses = [f"{i:06d}" for i in range(settings.PHONE_CHALLENGE_ATTEMPTS + 1) if f"{i:06d}" != code]
    for guess in guesses[: settings.PHONE_CHALLENGE_ATTEMPTS]:
        client.post(reverse("codes:me_verify", args=[secret]), {"code": guess})
    client.post(reverse("codes:me_verify", args=[secret]), {"code": code})  # too late: spent
    assert not ResidentAccess.objects.get(resident=negative_neighbour).is_confirmed


def test_self_registrations_are_not_on_the_roll_until_placed(tree, client, round_, grid_worker, login):
    from gridroll.rollcall.models import Tally
    from gridroll.rollcall.services import sync_round

    sync_round(round_)
    for i in range(20):
        client.cookies.clear()
        register(
            client, tree, name=f"虚构{i}", document_number=new_id(datetime.date(1990, 1, 1), "M", 200 + i)
        )
    assert not Entry.objects.filter(resident__is_pending=True).exists()
    assert sum(t.total for t in Tally.objects.filter(round=round_)) == 0
    staff = login(grid_worker)
    page = staff.get(reverse("rollcall:area", args=[round_.pk, tree["grid_a"].pk]))
    assert len(page.context["pending"]) == 20  # listed apart as 待核实
    # The grid worker rejects one (nobody of that name lives there) and confirms another.
    fake = Resident.objects.get(name="虚构0")
    staff.post(reverse("codes:reject", args=["resident", fake.pk]), {"reason": "查无此人"})
    fake.refresh_from_db()
    assert fake.rejected_at is not None and services.current_code(fake) is None
    assert fake not in staff.get(reverse("codes:pending")).context["pending"]
    real = Resident.objects.get(name="虚构1")
    staff.post(reverse("codes:confirm", args=["resident", real.pk]))
    assert Entry.objects.filter(resident=real, round=round_).exists()
    assert AuditRecord.objects.filter(action="resident.reject", reason="查无此人").exists()


def test_staff_end_a_guardianship_and_the_guardians_page_says_so(tree, client, grid_worker, outsider, login):
    secret = register(client, tree)
    add_dependent(client, secret, name="王小宝", document_type="none", birth_date="2021-06-01")
    link = Guardianship.objects.get()
    assert (
        login(outsider).post(reverse("codes:reject", args=["guardian", link.pk]), {"reason": "x"}).status_code
        == 404
    )
    login(grid_worker).post(reverse("codes:reject", args=["guardian", link.pk]), {"reason": "监护关系有误"})
    page = client.get(reverse("codes:me", args=[secret])).content.decode()
    assert "监护关系有误" in page and services.current_code(link.dependent).short_code not in page
    assert AuditRecord.objects.filter(action="guardianship.end").exists()


def test_an_ended_link_says_so_and_shows_nothing_else(tree, client, grid_worker, login):
    secret = register(client, tree)
    access = ResidentAccess.objects.get()
    login(grid_worker).post(reverse("codes:reject", args=["link", access.pk]), {"reason": "手机丢失"})
    response = client.get(reverse("codes:me", args=[secret]))
    page = response.content.decode()
    assert response.status_code == 410 and "手机丢失" in page and "陌*人" not in page and "<svg" not in page
    assert client.get(reverse("codes:me_add", args=[secret])).status_code == 404


def test_staff_end_a_link_from_the_residents_page(tree, client, grid_worker, login):
    secret = register(client, tree)
    resident = Resident.objects.get(name="陌生人")
    staff = login(grid_worker)
    page = staff.get(reverse("residents:detail", args=[resident.pk])).content.decode()
    assert "停用此链接" in page
    access = ResidentAccess.objects.get(resident=resident)
    response = staff.post(
        reverse("codes:reject", args=["link", access.pk]), {"reason": "换手机", "back": "resident"}
    )
    assert response["Location"] == reverse("residents:detail", args=[resident.pk])
    assert client.get(reverse("codes:me", args=[secret])).status_code == 410
