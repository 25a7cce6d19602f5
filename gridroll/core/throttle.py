"""Counting attempts in the shared cache, per device and per client address, for every worker at once.

Registration answers "already registered" and "registered under another name", which would let a script
test ID numbers against the registry. Those answers (only those: an honest queue never produces them in
numbers) are counted twice, in the cache that all gunicorn workers share (Redis in production, the
database otherwise; never one process's memory, and a restart does not reset them):

- per device: a random cookie (``gridroll_device``) the registration pages give each phone; one phone is
  stopped after ``REGISTRATION_THROTTLE["DEVICE_LIMIT"]`` such answers in the window;
- per client address: a script that drops its cookie is stopped after ``CLIENT_LIMIT`` answers from its
  address. That limit is ten times the device's, so the people registering over one sampling site's
  Wi-Fi (one address) are never stopped by honest use.

Fixed windows of ``WINDOW`` seconds: the first counted answer starts the window.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.cache import caches

DEVICE_COOKIE = "gridroll_device"


def client_ip(request) -> str:
    """The client's address: the first X-Forwarded-For hop behind our own proxy (docs/deployment.md),
    REMOTE_ADDR otherwise (a forged header is then ignored)."""
    if settings.USE_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[0].strip()
        if forwarded:
            return forwarded
    return request.META.get("REMOTE_ADDR", "")


def device_id(request) -> str:
    """The phone's device cookie, or the one it is being given with this very answer."""
    value = request.COOKIES.get(DEVICE_COOKIE, "")
    if value.isalnum() and len(value) <= 64:
        return value
    return getattr(request, "new_device_id", "")


def _keys(scope: str, request) -> list[tuple[str, int]]:
    conf = settings.REGISTRATION_THROTTLE
    keys = [(f"throttle:{scope}:client:{client_ip(request)}", conf["CLIENT_LIMIT"])]
    device = device_id(request)
    if device:
        keys.append((f"throttle:{scope}:device:{device}", conf["DEVICE_LIMIT"]))
    return keys


def _cache():
    return caches[settings.THROTTLE_CACHE]


def is_blocked(scope: str, request) -> bool:
    """True once this device, or this client address, has had its limit of counted answers."""
    values = _cache().get_many([key for key, _limit in _keys(scope, request)])
    return any((values.get(key) or 0) >= limit for key, limit in _keys(scope, request))


def count(scope: str, request) -> None:
    """Count one answer for this device and this client address."""
    cache = _cache()
    window = settings.REGISTRATION_THROTTLE["WINDOW"]
    for key, _limit in _keys(scope, request):
        # add() starts the window once; incr() is atomic on Redis and one UPDATE on the database.
        cache.add(key, 0, window)
        try:
            cache.incr(key)
        except ValueError:  # expired between add() and incr()
            cache.set(key, 1, window)


class DeviceCookieMiddleware:
    """Gives each phone that opens a public registration page a device cookie (random, nothing in it)."""

    PREFIXES = ("/register/", "/me/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(self.PREFIXES) or device_id(request):
            return self.get_response(request)
        # Counted under its new id from this first request on.
        request.new_device_id = secrets.token_hex(16)
        response = self.get_response(request)
        response.set_cookie(
            DEVICE_COOKIE,
            request.new_device_id,
            max_age=365 * 24 * 3600,
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=True,
            samesite="Lax",
        )
        return response
