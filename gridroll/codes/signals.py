from django.db.models.signals import pre_delete
from django.dispatch import receiver
from django.utils import timezone

from gridroll.codes.models import PersonalCode
from gridroll.residents.models import Resident


@receiver(pre_delete, sender=Resident)
def revoke_codes_of_deleted_person(sender, instance: Resident, **kwargs) -> None:
    # The code row stays (resident set to NULL) so that a scan says "revoked: person deleted" and
    # scanners learn the revocation at their next sync, instead of the code looking forged.
    PersonalCode.objects.filter(resident=instance, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_reason=PersonalCode.RevokeReason.PERSON_DELETED
    )
