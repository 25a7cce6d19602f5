from django.contrib import admin

from gridroll.areas.models import Area, Building, Household


@admin.register(Area)
class AreaAdmin(admin.ModelAdmin):
    list_display = ("name", "level", "parent")
    list_filter = ("level",)
    search_fields = ("name",)
    raw_id_fields = ("parent",)

    def get_readonly_fields(self, request, obj=None):
        # Moving an area rewrites every path below it: areas.services.move_area (or `manage.py move_area`).
        return ("parent",) if obj is not None else ()


@admin.register(Building)
class BuildingAdmin(admin.ModelAdmin):
    list_display = ("label", "grid")
    search_fields = ("compound", "number")
    raw_id_fields = ("grid",)


@admin.register(Household)
class HouseholdAdmin(admin.ModelAdmin):
    list_display = ("label", "building")
    raw_id_fields = ("building",)
