from django.apps import AppConfig


class ResidentsConfig(AppConfig):
    name = "gridroll.residents"
    label = "residents"
