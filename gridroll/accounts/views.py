"""Logging out, and what a logout must take off the phone."""

from __future__ import annotations

from django.contrib import auth
from django.shortcuts import render
from django.views.decorators.http import require_POST


@require_POST
def logout(request):
    """Log out and show a page that clears the scanner's data from this browser (issue 13): the roster,
    signing keys, revocations and cached files go; scans not yet synced stay queued for their user, and
    the page says how many wait. ``Clear-Site-Data: "cache"`` empties the HTTP cache as well."""
    auth.logout(request)
    response = render(request, "accounts/logged_out.html")
    response["Clear-Site-Data"] = '"cache"'
    return response
