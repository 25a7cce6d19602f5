from django.apps import AppConfig


class PlanningConfig(AppConfig):
    name = "gridroll.planning"
    label = "planning"
