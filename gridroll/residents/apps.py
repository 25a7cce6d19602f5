from django.apps import AppConfig
from django.utils.translation import pgettext_lazy


class ResidentsConfig(AppConfig):
    name = "gridroll.residents"
    label = "residents"
    verbose_name = pgettext_lazy("admin", "Residents")
