from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from gridroll.core import tables
from gridroll.residents.exporting import write_csv, write_xlsx
from gridroll.residents.importing import FileError, ResidentImporter, iter_reject_rows


class Command(BaseCommand):
    help = "Import residents from an .xlsx or .csv table (the template's columns or the usual variants)."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--dry-run", action="store_true", help="check and count, change nothing")
        parser.add_argument(
            "--create-areas", action="store_true", help="create areas the file names and the registry lacks"
        )
        parser.add_argument(
            "--rejects", metavar="OUT", help="write rejected rows with reasons (.xlsx or .csv)"
        )

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.exists():
            raise CommandError(f"no such file: {path}")
        try:
            batch = ResidentImporter(create_areas=options["create_areas"]).run(
                path, dry_run=options["dry_run"], limits=tables.limits("command")
            )
        except FileError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from None
        verb = "would be" if options["dry_run"] else "were"
        self.stdout.write(
            f"{path.name}: total {batch.total} = created {batch.created} + updated {batch.updated}"
            f" + unchanged {batch.unchanged} + rejected {batch.rejected}"
            + (f" (blank rows skipped: {batch.blank_rows})" if batch.blank_rows else "")
            + (" [dry run: nothing changed]" if options["dry_run"] else "")
        )
        for name in batch.areas_created:
            self.stdout.write(f"area {verb} created: {name}")
        for reject in batch.rejects.all()[:20]:
            self.stdout.write(f"  row {reject.row_number} [{reject.column}] {reject.code}: {reject.message}")
        if batch.rejected > 20:
            self.stdout.write(f"  … and {batch.rejected - 20} more rejected rows")
        if options["rejects"]:
            rows = iter_reject_rows(batch)
            header = next(rows)
            with open(options["rejects"], "wb") as out:
                if options["rejects"].lower().endswith(".csv"):
                    write_csv(rows, out, header=header)
                else:
                    write_xlsx(rows, out, title="未导入", header=header)
            self.stdout.write(f"rejected rows written to {options['rejects']}")
