from django.contrib import admin
from django.urls import include, path

from gridroll.api import api

urlpatterns = [
    path("", include("gridroll.core.urls")),
    path("", include("gridroll.areas.urls")),
    path("", include("gridroll.residents.urls")),
    path("", include("gridroll.audit.urls")),
    path("", include("gridroll.codes.urls")),
    path("", include("gridroll.sampling.urls")),
    path("", include("gridroll.rollcall.urls")),
    path("", include("gridroll.labs.urls")),
    path("", include("gridroll.reconcile.urls")),
    path("", include("gridroll.command.urls")),
    path("", include("gridroll.planning.urls")),
    path("", include("gridroll.jobs.urls")),
    path("", include("gridroll.staff.urls")),
    path("accounts/", include("gridroll.accounts.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/", api.urls),
    # The Django admin is for superusers only; staff work in gridroll's own pages.
    path("admin/", admin.site.urls),
]
