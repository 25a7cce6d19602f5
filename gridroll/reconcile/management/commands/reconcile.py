from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from gridroll.areas.models import Area
from gridroll.sampling.models import Round


class Command(BaseCommand):
    help = (
        "Check a feed (名单: .xlsx or .csv with names, ID numbers, phones, addresses) against the "
        "registry and write the result: the feed's rows in their order with 结论, 匹配证件号码, 置信度, "
        "说明 and 候选. The feed is also kept for the grid workers' worklist unless --check-only. "
        "ID numbers are masked as on the page's export unless --full-ids."
    )

    def add_arguments(self, parser):
        parser.add_argument("feed", help="the list to check (.xlsx, .xls, .ods or .csv)")
        parser.add_argument("--round", help="a round id, or 'current' for the newest open round")
        parser.add_argument("--area", help="the area the list is about (default: the whole registry's root)")
        parser.add_argument("--out", required=True, help="the .xlsx file to write")
        parser.add_argument("--source", default="", help="who sent the list (shown on the worklist)")
        parser.add_argument(
            "--check-only",
            action="store_true",
            help="write the result and keep nothing: the list does not reach the grid workers' worklists",
        )
        parser.add_argument(
            "--full-ids",
            action="store_true",
            help="write whole ID numbers (default: masked, 3715**********1234, like the page's export)",
        )
        parser.add_argument(
            "--engine",
            choices=("duckdb", "spark"),
            default="duckdb",
            help="where the model runs: DuckDB in this process, or Spark (pip install -e '.[spark]')",
        )

    def handle(self, *args, **options):
        from gridroll.core import tables
        from gridroll.reconcile.model import MatcherMissing
        from gridroll.reconcile.services import conclusion_counts, create_feed, write_result
        from gridroll.residents.importing import FileError

        path = Path(options["feed"])
        if not path.exists():
            raise CommandError(f"no such file: {path}")
        round_ = None
        if options["round"] == "current":
            round_ = Round.objects.filter(status=Round.Status.OPEN).order_by("-starts_at").first()
            if round_ is None:
                raise CommandError("no round is open: give --round ID, or leave it out")
        elif options["round"]:
            if not options["round"].isdigit() or not Round.objects.filter(pk=int(options["round"])).exists():
                raise CommandError(f"no such round: {options['round']}")
            round_ = Round.objects.get(pk=int(options["round"]))
        area = self._area(options["area"])
        db_api = None
        if options["engine"] == "spark":
            try:
                from gridroll.reconcile.model import spark_api

                db_api = spark_api()
            except ImportError:
                raise CommandError(
                    "--engine spark needs pyspark: pip install -e '.[spark]' (and Java 17)"
                ) from None
        try:
            feed = create_feed(
                None,
                area,
                path,
                path.name,
                round_=round_,
                source=options["source"],
                db_api=db_api,
                limits=tables.limits("command"),
            )
        except FileError as exc:
            raise CommandError(f"{path.name}: {exc.message}") from None
        except MatcherMissing as exc:
            raise CommandError(exc.message) from None
        with open(options["out"], "wb") as out:
            n = write_result(feed, out, masked=not options["full_ids"])
        counts = {k: v for k, v in conclusion_counts(feed.lines.all()).items() if v}
        if options["check_only"]:
            feed.delete()
        self.stdout.write(
            f"{n} lines of {path.name} checked against {feed.registry_size} residents of {area.name} "
            f"in {feed.seconds:.1f} s; written to {options['out']}"
            + (" (not kept)" if options["check_only"] else f" (feed {feed.pk})")
        )
        self.stdout.write("  " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        if feed.blank_rows:
            self.stdout.write(f"  {feed.blank_rows} blank rows skipped")

    def _area(self, name):
        if name:
            areas = list(Area.objects.filter(name=name))
            if not areas:
                raise CommandError(f"no area named {name}")
            if len(areas) > 1:
                raise CommandError(
                    f"{len(areas)} areas are named {name}: " + "; ".join(a.full_name() for a in areas)
                )
            return areas[0]
        roots = list(Area.objects.filter(parent__isnull=True))
        if len(roots) != 1:
            raise CommandError("give --area: the registry has no single root area")
        return roots[0]
