from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "gridroll.audit"
    label = "audit"
