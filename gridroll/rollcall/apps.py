from django.apps import AppConfig
from django.db.models.signals import post_save


def _resident_saved(sender, instance, raw=False, **kwargs) -> None:
    """A resident added, moved or marked away or gone joins, moves on or leaves the roll of open rounds.
    (Bulk writes, as the import's, call ``sync_open_rounds`` themselves.)"""
    if raw:
        return
    from gridroll.rollcall.services import sync_open_rounds

    sync_open_rounds([instance.pk])


class RollcallConfig(AppConfig):
    name = "gridroll.rollcall"
    verbose_name = "Roll call"

    def ready(self) -> None:
        post_save.connect(_resident_saved, sender="residents.Resident", dispatch_uid="rollcall-resident")
