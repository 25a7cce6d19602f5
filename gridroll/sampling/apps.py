from django.apps import AppConfig
from django.db.models.signals import post_save


def _resident_saved(sender, instance, raw=False, **kwargs) -> None:
    """A resident added, moved or marked away or gone joins, moves on or leaves the roll of open rounds.
    (Bulk writes, as the import's, send ``residents.signals.registry_changed``.)"""
    if raw:
        return
    from gridroll.sampling.round_services import sync_open_rounds

    sync_open_rounds([instance.pk])


def _registry_changed(sender, resident_ids=None, **kwargs) -> None:
    from gridroll.sampling.round_services import sync_open_rounds

    sync_open_rounds(resident_ids)


class SamplingConfig(AppConfig):
    name = "gridroll.sampling"
    label = "sampling"

    def ready(self) -> None:
        from gridroll.residents.signals import registry_changed

        post_save.connect(_resident_saved, sender="residents.Resident", dispatch_uid="sampling-resident")
        registry_changed.connect(_registry_changed, dispatch_uid="sampling-registry-changed")
