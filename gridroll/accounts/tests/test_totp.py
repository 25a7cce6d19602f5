"""The optional second factor for administrators: a password alone no longer gets in, a code does, once."""

from __future__ import annotations

import pyotp
import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from gridroll.accounts.models import TOTPDevice

PASSWORD = "Correct-Horse-4-Grid"


@pytest.fixture
def admin(db):
    user = User.objects.create_superuser("root", password=PASSWORD)
    TOTPDevice.objects.create(user=user, secret=pyotp.random_base32(32), confirmed_at=timezone.now())
    return user


def logged_in_with_password(user) -> Client:
    client = Client()
    assert (
        client.post(reverse("accounts:login"), {"username": user.username, "password": PASSWORD}).status_code
        == 302
    )
    return client


def test_a_password_alone_reaches_only_the_code_page(admin):
    client = logged_in_with_password(admin)
    response = client.get(reverse("core:home"))
    assert response.status_code == 302 and reverse("accounts:totp_verify") in response["Location"]
    assert client.get("/admin/").status_code == 302
    assert client.get("/api/areas").status_code == 401


def test_the_right_code_lets_in_and_works_only_once(admin):
    client = logged_in_with_password(admin)
    code = pyotp.TOTP(admin.totp.secret).now()
    assert (
        client.post(
            reverse("accounts:totp_verify"), {"code": "000000" if code != "000000" else "111111"}
        ).status_code
        == 200
    )
    response = client.post(reverse("accounts:totp_verify"), {"code": code, "next": "/admin/"})
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get(reverse("core:home")).status_code == 200
    # The same code again, from another login (someone who watched it typed): refused.
    other = logged_in_with_password(admin)
    assert other.post(reverse("accounts:totp_verify"), {"code": code}).status_code == 200
    assert other.get(reverse("core:home")).status_code == 302


def test_five_wrong_codes_end_the_session(admin):
    client = logged_in_with_password(admin)
    for _ in range(5):
        response = client.post(reverse("accounts:totp_verify"), {"code": "12345"})
    assert response.status_code == 302 and response["Location"] == reverse("accounts:login")
    assert "_auth_user_id" not in client.session


def test_enrolling_needs_a_right_code(db):
    user = User.objects.create_superuser("admin2", password=PASSWORD)
    client = logged_in_with_password(user)
    page = client.get(reverse("accounts:totp_setup"))
    assert page.status_code == 200 and "<svg" in page.content.decode()
    device = TOTPDevice.objects.get(user=user)
    assert device.confirmed_at is None
    client.post(reverse("accounts:totp_setup"), {"code": "123"})
    device.refresh_from_db()
    assert device.confirmed_at is None
    client.post(reverse("accounts:totp_setup"), {"code": pyotp.TOTP(device.secret).now()})
    device.refresh_from_db()
    assert device.confirmed_at is not None
    # The next login asks for the code.
    assert logged_in_with_password(user).get(reverse("core:home")).status_code == 302


def test_staff_without_a_device_are_not_asked(tree):
    from gridroll.conftest import make_user

    user = make_user("niushu", "grid_worker", tree["grid_a"])
    user.set_password(PASSWORD)
    user.save()
    assert logged_in_with_password(user).get(reverse("core:home")).status_code == 200


def test_superusers_can_be_required_to_enrol(db, settings):
    settings.TOTP_REQUIRED_FOR_SUPERUSERS = True
    user = User.objects.create_superuser("admin3", password=PASSWORD)
    response = logged_in_with_password(user).get(reverse("core:home"))
    assert response.status_code == 302 and response["Location"] == reverse("accounts:totp_setup")
