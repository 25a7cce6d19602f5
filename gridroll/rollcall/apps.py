from django.apps import AppConfig


class RollcallConfig(AppConfig):
    name = "gridroll.rollcall"
    verbose_name = "Roll call"
