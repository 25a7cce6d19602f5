"""A second factor for administrators: a code from an authenticator app (TOTP), optional.

Any user may enrol (``/accounts/totp/``); superusers must when ``GRIDROLL_TOTP_REQUIRED=1``. A user with a
confirmed device who logged in with a password can reach nothing but the code page until the code is
right (pages redirect there, the API answers 401). Five wrong codes end the session.
"""

from __future__ import annotations

import time

import pyotp
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from gridroll.accounts.models import TOTPDevice
from gridroll.audit.services import record
from gridroll.core.http import safe_next

VERIFIED = "gridroll_totp_ok"
FAILURES = "gridroll_totp_failures"
MAX_FAILURES = 5
ISSUER = "gridroll"


def device_of(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed_at__isnull=False).first()


def accept(device: TOTPDevice, code: str) -> bool:
    """True for the device's code of this time step or a neighbouring one (clock drift), each only once."""
    code = "".join(ch for ch in code if ch.isdigit())
    if len(code) != 6:
        return False
    totp = pyotp.TOTP(device.secret)
    now = time.time()
    for drift in (0, -1, 1):
        step = int(now // totp.interval) + drift
        if step > device.last_step and totp.at(step * totp.interval) == code:
            updated = TOTPDevice.objects.filter(pk=device.pk, last_step__lt=step).update(last_step=step)
            return updated == 1  # another request used this code first
    return False


def needs_code(user) -> bool:
    return device_of(user) is not None or (user.is_superuser and settings.TOTP_REQUIRED_FOR_SUPERUSERS)


@receiver(user_logged_in)
def _needs_code(sender, request, user, **kwargs) -> None:
    # Decided once at login, so that the middleware reads the session only (the scanner's API calls
    # must not pay a query each for a feature their users do not have).
    if request is not None and hasattr(request, "session"):
        request.session[VERIFIED] = not needs_code(user)
        request.session[FAILURES] = 0


class TOTPMiddleware:
    """After AuthenticationMiddleware: a user with a confirmed device, or a superuser who must have one,
    reaches only the code pages (and logging out) until the code is given in this session."""

    OPEN = ("/accounts/totp/", "/accounts/logout/", "/static/", "/i18n/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and request.session.get(VERIFIED) is False
            and not request.path.startswith(self.OPEN)
        ):
            if device_of(user) is not None:
                if request.path.startswith("/api/"):
                    return JsonResponse({"detail": "second factor required"}, status=401)
                return redirect(f"{reverse('accounts:totp_verify')}?next={request.get_full_path()}")
            if user.is_superuser and settings.TOTP_REQUIRED_FOR_SUPERUSERS:
                if request.path.startswith("/api/"):
                    return JsonResponse({"detail": "second factor required"}, status=401)
                return redirect("accounts:totp_setup")
        return self.get_response(request)


@never_cache
@login_required
def verify(request):
    device = device_of(request.user)
    if device is None:
        return redirect(safe_next(request, reverse("core:home")))
    error = None
    if request.method == "POST":
        if accept(device, request.POST.get("code", "")):
            request.session[VERIFIED] = True
            request.session.cycle_key()
            return redirect(safe_next(request, reverse("core:home")))
        request.session[FAILURES] = request.session.get(FAILURES, 0) + 1
        if request.session[FAILURES] >= MAX_FAILURES:
            record(request.user, "login.totp_failed", request.user, reason=f"{MAX_FAILURES} wrong codes")
            logout(request)
            messages.error(request, _("Too many wrong codes: log in again."))
            return redirect("accounts:login")
        error = _("That code is not right (or was already used). Enter the code your app shows now.")
    return render(request, "accounts/totp_verify.html", {"error": error, "next": request.GET.get("next", "")})


@never_cache
@login_required
def setup(request):
    """Enrol an authenticator app: scan the QR, enter a code to confirm. Removing one needs a code too."""
    from gridroll.codes.qr import qr_svg

    device, _created = TOTPDevice.objects.get_or_create(
        user=request.user, defaults={"secret": pyotp.random_base32(32)}
    )
    error = None
    if request.method == "POST":
        if accept(device, request.POST.get("code", "")):
            if request.POST.get("remove") and device.confirmed_at:
                device.delete()
                record(request.user, "login.totp_removed", request.user)
                messages.success(request, _("The authenticator app is removed."))
                return redirect("core:home")
            device.confirmed_at = timezone.now()
            device.save(update_fields=["confirmed_at"])
            request.session[VERIFIED] = True
            record(request.user, "login.totp_enrolled", request.user)
            messages.success(request, _("The authenticator app is set: logging in now asks for its code."))
            return redirect("core:home")
        error = _("That code is not right. Enter the code your app shows now.")
    uri = pyotp.TOTP(device.secret).provisioning_uri(name=request.user.get_username(), issuer_name=ISSUER)
    return render(
        request,
        "accounts/totp_setup.html",
        {
            "device": device,
            "qr": "" if device.confirmed_at else qr_svg(uri, scale=4),
            "error": error,
            "secret": "" if device.confirmed_at else device.secret,
        },
    )
