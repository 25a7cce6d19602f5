from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "gridroll.core"
    label = "core"
