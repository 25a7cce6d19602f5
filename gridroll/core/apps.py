from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _create_cache_table(sender, using="default", **kwargs) -> None:
    """The shared cache's table (settings.CACHES, when it is the database) comes with `migrate`."""
    from django.conf import settings
    from django.core.management import call_command

    if sender.label != "auth":  # once per migrate (core has no models, so it sends no signal itself)
        return
    if any(c["BACKEND"].endswith("DatabaseCache") for c in settings.CACHES.values()):
        call_command("createcachetable", database=using, verbosity=0)


class CoreConfig(AppConfig):
    name = "gridroll.core"
    label = "core"

    def ready(self) -> None:
        post_migrate.connect(_create_cache_table, dispatch_uid="gridroll.core.cache_table")
