from django.core.management.base import BaseCommand, CommandError

from gridroll.areas.models import Area, AreaError
from gridroll.areas.services import move_area


class Command(BaseCommand):
    help = "Move an area (and everything under it) under another parent; audited."

    def add_arguments(self, parser):
        parser.add_argument("area", type=int, help="id of the area to move")
        parser.add_argument("parent", type=int, help="id of the new parent")
        parser.add_argument("--reason", required=True)

    def handle(self, *args, **options):
        try:
            area = Area.objects.get(pk=options["area"])
            parent = Area.objects.get(pk=options["parent"])
        except Area.DoesNotExist as exc:
            raise CommandError("no such area") from exc
        try:
            count = move_area(None, area, parent, options["reason"])
        except AreaError as exc:
            raise CommandError(str(exc.message)) from exc
        self.stdout.write(f"moved {area.full_name()}: {count} area(s) now under {parent.full_name()}")
