from django.core.management.base import BaseCommand, CommandError

from gridroll.areas.models import Area
from gridroll.sampling.models import Round


class Command(BaseCommand):
    help = (
        "Write a round's roll call for an area as the check sheet in Excel: one row per resident and state."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--round", required=True, help="a round id, or 'current' for the newest open round"
        )
        parser.add_argument("--area", required=True, help="the area's name (a grid, community, …)")
        parser.add_argument("out", help="the .xlsx file to write")

    def handle(self, *args, **options):
        from gridroll.rollcall.sheets import write_sheet_xlsx

        if options["round"] == "current":
            round_ = Round.objects.filter(status=Round.Status.OPEN).order_by("-starts_at").first()
        else:
            round_ = (
                Round.objects.filter(pk=int(options["round"])).first() if options["round"].isdigit() else None
            )
        if round_ is None:
            raise CommandError(f"no such round: {options['round']}")
        areas = list(Area.objects.filter(name=options["area"]))
        if not areas:
            raise CommandError(f"no area named {options['area']}")
        if len(areas) > 1:
            raise CommandError(
                f"{len(areas)} areas are named {options['area']}: " + "; ".join(a.full_name() for a in areas)
            )
        with open(options["out"], "wb") as out:
            n = write_sheet_xlsx(None, round_, areas[0], out)
        self.stdout.write(f"{n} residents of {areas[0].name} in {round_.name} written to {options['out']}")
