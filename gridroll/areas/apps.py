from django.apps import AppConfig


class AreasConfig(AppConfig):
    name = "gridroll.areas"
    label = "areas"
