from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import translation

from gridroll.codes.cards import card_context, render_pdf
from gridroll.codes.services import issue_codes
from gridroll.residents.management.commands.export_residents import find_area
from gridroll.residents.models import Resident


class Command(BaseCommand):
    help = "Issue codes to everyone in an area who has none, and optionally write their card sheet as PDF."

    def add_arguments(self, parser):
        parser.add_argument("--area", required=True, help="any area, e.g. 盛世佳苑网格 or 嘉明社区/第一网格")
        parser.add_argument("--pdf", metavar="OUT.pdf", help="write the A4 card sheet")

    def handle(self, *args, **options):
        translation.activate(settings.LANGUAGE_CODE)  # the cards are printed in Chinese
        area = find_area(options["area"])
        residents = Resident.objects.filter(household__building__grid__path__startswith=area.path).exclude(
            status__in=["moved_out", "deceased"]
        )
        issued = issue_codes(residents, reason=f"issue_codes --area {options['area']}")
        self.stdout.write(
            f"{area.full_name()}: {issued} codes issued, {residents.count()} residents in the area"
        )
        if options["pdf"]:
            context = card_context(residents, area.name)
            with open(options["pdf"], "wb") as out:
                out.write(render_pdf(context))
            pages = len(context["pages"])
            self.stdout.write(f"{context['count']} cards on {pages} pages written to {options['pdf']}")
