from django.apps import AppConfig


def _retests_sampled(sender, samples, **kwargs) -> None:
    from gridroll.labs.services import tasks_sampled

    tasks_sampled(samples)


def _samples_taken_back(sender, round_id, resident_ids, **kwargs) -> None:
    from gridroll.labs.services import tasks_unsampled

    tasks_unsampled(round_id, resident_ids)


class LabsConfig(AppConfig):
    name = "gridroll.labs"
    verbose_name = "Labs"

    def ready(self) -> None:
        # The scan path (sampling, a layer below) announces samples; the retest tasks are ours to mark.
        from gridroll.sampling import signals

        signals.retests_sampled.connect(_retests_sampled, dispatch_uid="labs-retests-sampled")
        signals.samples_taken_back.connect(_samples_taken_back, dispatch_uid="labs-samples-taken-back")
