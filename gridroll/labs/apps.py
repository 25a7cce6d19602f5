from django.apps import AppConfig


class LabsConfig(AppConfig):
    name = "gridroll.labs"
    verbose_name = "Labs"
