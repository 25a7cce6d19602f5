from django.conf import settings
from django.core.management.base import BaseCommand

from gridroll.operations.retention import purge


class Command(BaseCommand):
    help = (
        "Delete or anonymise personal data past its retention time (settings.RETENTION_DAYS, one per kind) "
        "and print a report by kind; the audit keeps that a purge happened. Run it daily (cron)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="report what would go, change nothing")

    def handle(self, *args, **options):
        dry = options["dry_run"]
        reports = purge(dry_run=dry)
        verb = "would be" if dry else "were"
        self.stdout.write(
            f"{'kind':<16}{'kept for':>10}  {'older than':<18}{'deleted':>9}{'anonymised':>12}  detail"
        )
        for r in reports:
            days = settings.RETENTION_DAYS[r.kind]
            detail = ", ".join(f"{k} {v}" for k, v in r.detail.items())
            when = f"{r.cutoff:%Y-%m-%d %H:%M}"
            self.stdout.write(
                f"{r.kind:<16}{days:>6} days  {when:<18}{r.deleted:>9}{r.anonymised:>12}  {detail}"
            )
        total = sum(r.deleted + r.anonymised for r in reports)
        self.stdout.write(
            f"{total} records {verb} deleted or anonymised"
            + (" [dry run: nothing changed]" if dry else "; the purge is in the audit log (retention.purge)")
        )
