from django.apps import AppConfig
from django.utils.translation import pgettext_lazy


class AreasConfig(AppConfig):
    name = "gridroll.areas"
    label = "areas"
    verbose_name = pgettext_lazy("admin", "Areas")
