from django.apps import AppConfig


class SamplingConfig(AppConfig):
    name = "gridroll.sampling"
    label = "sampling"
