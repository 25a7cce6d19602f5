from django.core.management.base import BaseCommand, CommandError

from gridroll.areas.models import Area
from gridroll.residents.exporting import export_residents
from gridroll.residents.models import Resident


class Command(BaseCommand):
    help = "Export residents in the import template's format (.xlsx or .csv), optionally for one area."

    def add_arguments(self, parser):
        parser.add_argument("out")
        parser.add_argument(
            "--area", help="area name (any level); a name used twice needs its parent: 嘉明社区/第一网格"
        )

    def handle(self, *args, **options):
        queryset = Resident.objects.all()
        if options["area"]:
            area = find_area(options["area"])
            queryset = queryset.filter(household__building__grid__path__startswith=area.path)
        count = export_residents(queryset, options["out"])
        self.stdout.write(f"{count} residents written to {options['out']}")


def find_area(spec: str) -> Area:
    """'第一网格' or '嘉明社区/第一网格': the last name, under the earlier ones."""
    names = [n.strip() for n in spec.replace("／", "/").split("/") if n.strip()]
    candidates = list(Area.objects.filter(name=names[-1]))
    for parent_name in names[:-1]:
        parents = list(Area.objects.filter(name=parent_name))
        candidates = [a for a in candidates if any(a.path.startswith(p.path) for p in parents)]
    if not candidates:
        raise CommandError(f"no area named {spec}")
    if len(candidates) > 1:
        options = "; ".join(a.full_name() for a in candidates[:5])
        raise CommandError(f"{spec} is ambiguous ({options}); name its parent too, e.g. 嘉明社区/{names[-1]}")
    return candidates[0]
