from django.contrib import admin

from gridroll.residents.models import Guardianship, ImportBatch, Resident


@admin.register(Resident)
class ResidentAdmin(admin.ModelAdmin):
    list_display = ("masked_name", "sex", "birth_date", "household", "status")
    list_filter = ("status", "residence_type")
    raw_id_fields = ("household",)


@admin.register(Guardianship)
class GuardianshipAdmin(admin.ModelAdmin):
    raw_id_fields = ("dependent", "guardian")


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    list_display = ("filename", "user", "state", "total", "created", "updated", "unchanged", "rejected")
