import json

from django.core.management.base import BaseCommand

from gridroll.codes.services import check_code


class Command(BaseCommand):
    help = (
        'Check scanned code text; print {"status": "valid" | "forged" | "revoked" | "unknown", ...} as JSON.'
    )

    def add_arguments(self, parser):
        parser.add_argument("text")

    def handle(self, *args, **options):
        self.stdout.write(json.dumps(check_code(options["text"]).as_dict(), ensure_ascii=False))
