from django.contrib import admin

from gridroll.accounts.models import Grant


@admin.register(Grant)
class GrantAdmin(admin.ModelAdmin):
    list_display = ("user", "role", "area")
    list_filter = ("role",)
    raw_id_fields = ("area", "user")
