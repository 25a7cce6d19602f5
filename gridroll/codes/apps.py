from django.apps import AppConfig


class CodesConfig(AppConfig):
    name = "gridroll.codes"
    label = "codes"

    def ready(self) -> None:
        from gridroll.codes import signals  # noqa: F401
