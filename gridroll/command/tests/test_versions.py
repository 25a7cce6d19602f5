"""The refresh that finds nothing changed asks every panel's version in one statement, and still notices
every kind of change (the staff panel's: test_plan_and_staff.py)."""

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from gridroll.command import queries
from gridroll.rollcall.models import Entry, Exemption
from gridroll.rollcall.services import set_exemption
from gridroll.rollcall.tests.helpers import fill
from gridroll.sampling.models import Box, Tube

pytestmark = pytest.mark.django_db


def test_the_versions_are_one_query_and_move_with_scans_exemptions_and_boxes(
    roll, people, act, tree, django_assert_num_queries
):
    admin = User.objects.create_superuser("root", password="x")
    fill(admin, act, "TUBE000001", people[:2])
    district = tree["district"]
    with django_assert_num_queries(1):  # every 5 s from every open page
        before = queries.versions(roll, district)
    assert queries.versions(roll, district) == before

    set_exemption(admin, Entry.objects.get(round=roll, resident=people[5]), Exemption.HOSPITAL)
    after_exemption = queries.versions(roll, district)
    assert after_exemption["areas"] != before["areas"] and after_exemption["tubes"] == before["tubes"]

    fill(admin, act, "TUBE000002", people[2:3])
    after_scan = queries.versions(roll, district)
    assert after_scan["tubes"] != after_exemption["tubes"]

    box = Box.objects.create(code="XA-0001", round=roll, site=Tube.objects.get(barcode="TUBE000001").site)
    assert queries.versions(roll, district)["tubes"] != after_scan["tubes"]
    Box.objects.filter(pk=box.pk).update(handed_at=timezone.now())
    assert queries.versions(roll, district)["labs"] != after_scan["labs"]
