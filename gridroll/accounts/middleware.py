"""Staff sessions end by themselves: after a while without a request (idle) and some hours after logging
in (absolute), both configurable (docs/deployment.md). A grid worker's phone stays signed in through a
working day; an administrator's session, which can do more, is shorter."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

STARTED = "gridroll_started_at"
SEEN = "gridroll_seen_at"
# The last-seen time is written at most this often (a write per request would save the session on every
# scan from the scanner page).
SEEN_RESOLUTION = 60


def timeouts(user) -> tuple[int, int]:
    """(idle, absolute) seconds for this user's sessions."""
    if user.is_superuser:
        return settings.ADMIN_SESSION_IDLE_TIMEOUT, settings.ADMIN_SESSION_ABSOLUTE_TIMEOUT
    return settings.SESSION_IDLE_TIMEOUT, settings.SESSION_ABSOLUTE_TIMEOUT


@receiver(user_logged_in)
def _started(sender, request, user, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        now = int(time.time())
        request.session[STARTED] = now
        request.session[SEEN] = now


class SessionTimeoutMiddleware:
    """After AuthenticationMiddleware: an expired session is logged out before the view runs, so pages
    send the user to the login page and the API answers 401 (the scanner keeps its queue and retries)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = int(time.time())
            session = request.session
            idle, absolute = timeouts(user)
            started = session.get(STARTED)
            seen = session.get(SEEN)
            if started is None:
                session[STARTED] = now  # a session from before timeouts existed starts counting now
            elif now - started > absolute or (seen is not None and now - seen > idle):
                logout(request)
                return self.get_response(request)
            if seen is None or now - seen >= SEEN_RESOLUTION:
                session[SEEN] = now
        return self.get_response(request)
