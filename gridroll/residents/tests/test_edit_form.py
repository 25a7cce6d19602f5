"""The edit form shows what the detail page shows (issue 18, 3): a masked ID, no full birth date beside
it, a date input that holds its value, the name labelled as a person's name."""

import datetime

from gridroll.audit.models import AuditRecord
from gridroll.residents.models import Resident


def test_the_edit_form_shows_the_id_masked_and_keeps_it_when_left_alone(tree, grid_worker, resident_a, login):
    client = login(grid_worker)
    page = client.get(f"/residents/{resident_a.pk}/edit/").content.decode()
    assert resident_a.document_number not in page and resident_a.masked_document in page
    assert "1990-03-02" not in page  # the birth date of an ID holder follows from the ID
    assert "姓名" in page
    response = client.post(
        f"/residents/{resident_a.pk}/edit/",
        {
            "name": "韩馨怡",
            "sex": "F",
            "document_type": "id_card",
            "document_number": resident_a.masked_document,
            "birth_date": "",
            "phone": "13812345679",
            "relation": "户主",
            "residence_type": "permanent",
            "status": "present",
            "note": "",
            "reason": "换了手机号",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    resident = Resident.objects.get(pk=resident_a.pk)
    assert resident.document_number == resident_a.document_number and resident.phone == "13812345679"
    assert resident.birth_date == datetime.date(1990, 3, 2)
    assert AuditRecord.objects.filter(action="resident.update").exists()


def test_a_birth_date_without_an_id_shows_in_the_date_input(tree, grid_worker, login):
    infant = Resident.objects.create(
        name="韩小满",
        document_type="none",
        birth_date=datetime.date(2024, 1, 5),
        household=tree["household_a"],
    )
    page = login(grid_worker).get(f"/residents/{infant.pk}/edit/").content.decode()
    assert 'value="2024-01-05"' in page
