from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "gridroll.jobs"
    verbose_name = "Background jobs"
