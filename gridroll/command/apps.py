from django.apps import AppConfig


class CommandConfig(AppConfig):
    name = "gridroll.command"
    verbose_name = "Command view"
