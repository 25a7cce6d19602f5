from django.core.management.base import BaseCommand, CommandError

from gridroll.codes.models import SigningKey
from gridroll.codes.services import CodeError, retire_key, rotate_key


class Command(BaseCommand):
    help = "Start signing with a new key (old codes still scan), or retire a key (its codes are re-issued)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--retire", type=int, metavar="KEY_ID", help="retire this key instead of rotating"
        )

    def handle(self, *args, **options):
        if options["retire"]:
            key = SigningKey.objects.filter(key_id=options["retire"]).first()
            if key is None:
                raise CommandError(f"no key {options['retire']}")
            try:
                replaced = retire_key(key, reason="rotate_keys --retire")
            except CodeError as exc:
                raise CommandError(exc.message) from None
            self.stdout.write(f"key {key.key_id} retired; {replaced} codes re-issued with the active key")
        else:
            key = rotate_key()
            self.stdout.write(f"key {key.key_id} now signs new codes; older keys still verify")
        for k in SigningKey.objects.all():
            self.stdout.write(f"  key {k.key_id}: {k.state}")
