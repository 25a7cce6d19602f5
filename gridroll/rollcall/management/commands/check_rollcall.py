"""Check (and repair) roll calls against a recount: the operator's tool after any incident."""

from django.core.management.base import BaseCommand, CommandError

from gridroll.rollcall.services import check_round
from gridroll.sampling.models import Round
from gridroll.sampling.services import check_scan_minutes, check_site_tallies


class Command(BaseCommand):
    help = (
        "Compare every entry of a round's roll call with its samples, results, tasks and exemptions, and "
        "its tallies with its entries. Exits non-zero when something disagrees (unless --repair fixed it)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--round", type=int, help="a round id (default: every open round)")
        parser.add_argument(
            "--repair", action="store_true", help="derive wrong entries again and recount (audited)"
        )

    def handle(self, *args, **options):
        if options["round"]:
            rounds = list(Round.objects.filter(pk=options["round"]))
            if not rounds:
                raise CommandError(f"no round {options['round']}")
        else:
            rounds = list(Round.objects.filter(status=Round.Status.OPEN))
        wrong = 0
        for round_ in rounds:
            result = check_round(round_, repair=options["repair"])
            # The command view's per-site counts (sampling.SiteTally) are checked here too.
            sites = check_site_tallies(round_, repair=options["repair"])
            minutes = check_scan_minutes(round_, repair=options["repair"])
            n_entries, n_tallies = len(result["entries"]), len(result["tallies"])
            n_hours, n_sites = len(result["hours"]), len(sites)
            self.stdout.write(
                f"round {round_.pk} {round_.name}: {n_entries} entries, {n_tallies} tallies, "
                f"{n_hours} hourly tallies and {n_sites} site tallies disagree, "
                f"and {len(minutes)} minutes of scans per site"
            )
            for resident_id, stored, derived in result["entries"][:50]:
                self.stdout.write(f"  resident {resident_id}: stored {stored}, derived {derived}")
            for building_id, stored, derived in result["tallies"][:50]:
                diff = {k: (stored[k], derived[k]) for k in stored if stored[k] != derived[k]}
                self.stdout.write(f"  building {building_id}: {diff}")
            for (grid_id, hour), stored, derived in result["hours"][:50]:
                self.stdout.write(
                    f"  grid {grid_id} {hour:%Y-%m-%d %H}:00 UTC: {stored} stored, {derived} counted"
                )
            for site_id, stored, derived in sites[:50]:
                self.stdout.write(f"  site {site_id}: {stored} samples stored, {derived} counted")
            for (site_id, minute), stored, derived in minutes[:50]:
                self.stdout.write(
                    f"  site {site_id} {minute:%Y-%m-%d %H:%M} UTC: {stored} scans stored, {derived} counted"
                )
            if result["repaired"]:
                self.stdout.write("  repaired (audited as rollcall.repair)")
            elif n_entries or n_tallies or n_hours:
                wrong += n_entries + n_tallies + n_hours
            if n_sites and options["repair"]:
                self.stdout.write("  site tallies counted again")
            elif n_sites:
                wrong += n_sites
            if minutes and options["repair"]:
                self.stdout.write("  scans per site and minute counted again")
            elif minutes:
                wrong += len(minutes)
        if wrong:
            raise CommandError(f"{wrong} disagreements; run again with --repair to fix them")
        self.stdout.write("consistent" if not options["repair"] else "done")
