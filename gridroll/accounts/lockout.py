"""What a locked-out login sees (django-axes' AXES_LOCKOUT_CALLABLE): a page in the user's language with
what to do, status 429."""

from django.conf import settings
from django.shortcuts import render


def locked_out(request, response=None, credentials=None):
    minutes = max(1, int(settings.AXES_COOLOFF_TIME.total_seconds() // 60))
    return render(request, "accounts/locked.html", {"cooloff_minutes": minutes}, status=429)
