from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from gridroll.core import tables
from gridroll.residents.exporting import write_csv, write_xlsx
from gridroll.residents.importing import FileError, ResidentImporter, iter_reject_rows, iter_warning_rows


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
        parser.add_argument(
            "--to-check",
            metavar="OUT",
            help="write imported rows with a phone, relation or residence type kept unverified (.xlsx/.csv)",
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
        if batch.warned:
            self.stdout.write(
                f"{batch.warned} imported rows to check: a phone, relation or residence type kept as written"
                " and marked unverified (--to-check OUT writes them)"
            )
        if batch.not_imported:
            self.stdout.write("columns not imported: " + "、".join(batch.not_imported))
        for name in batch.areas_created:
            self.stdout.write(f"area {verb} created: {name}")
        for reject in batch.rejects.all()[:20]:
            self.stdout.write(f"  row {reject.row_number} [{reject.column}] {reject.code}: {reject.message}")
        if batch.rejected > 20:
            self.stdout.write(f"  … and {batch.rejected - 20} more rejected rows")
        for warning in batch.warnings.all()[:20]:
            for p in warning.problems:
                self.stdout.write(f"  row {warning.row_number} [{p['column']}] {p['code']}: {p['message']}")
        if batch.warned > 20:
            self.stdout.write(f"  … and {batch.warned - 20} more rows to check")
        if options["rejects"]:
            _write(iter_reject_rows(batch), options["rejects"], "未导入")
            self.stdout.write(f"rejected rows written to {options['rejects']}")
        if options["to_check"]:
            _write(iter_warning_rows(batch), options["to_check"], "待核实")
            self.stdout.write(f"rows to check written to {options['to_check']}")


def _write(rows, path: str, title: str) -> None:
    header = next(rows)
    with open(path, "wb") as out:
        if path.lower().endswith(".csv"):
            write_csv(rows, out, header=header)
        else:
            write_xlsx(rows, out, title=title, header=header)
