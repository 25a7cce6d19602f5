from django.contrib import admin

from gridroll.planning.models import Plan, SiteCapacity, StationCapacity

admin.site.register([Plan, SiteCapacity, StationCapacity])
