from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "gridroll.demo"
    label = "demo"
