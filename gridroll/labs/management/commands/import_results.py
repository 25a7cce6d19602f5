from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from gridroll.core import tables
from gridroll.labs.services import import_results, write_issues


class Command(BaseCommand):
    help = (
        "Apply test results per tube from an .xlsx or .csv file "
        "(管码/tube, 结果/result, ct, 检测时间/tested_at)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--lab", default="", help="the lab's name, kept with each result")
        parser.add_argument(
            "--rejects", metavar="OUT", help="write the rows not applied, with reasons (.xlsx or .csv)"
        )

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.exists():
            raise CommandError(f"no such file: {path}")
        upload = import_results(path, path.name, lab=options["lab"], limits=tables.limits("command"))
        if upload.error:
            raise CommandError(upload.error)
        self.stdout.write(
            f"{path.name}: total {upload.total} = applied {upload.applied} + unchanged {upload.unchanged}"
            f" + conflicts {upload.conflicts} + rejected {upload.rejected}"
            + (f" (blank rows skipped: {upload.blank_rows})" if upload.blank_rows else "")
            + (f"; positive tubes: {upload.positive_tubes}" if upload.positive_tubes else "")
        )
        for issue in upload.issues.all()[:20]:
            self.stdout.write(f"  row {issue.row_number} {issue.code}: {issue.message}")
        if upload.conflicts + upload.rejected > 20:
            self.stdout.write(f"  … and {upload.conflicts + upload.rejected - 20} more")
        if options["rejects"]:
            with open(options["rejects"], "wb") as out:
                write_issues(upload, out, options["rejects"])
            self.stdout.write(f"rows not applied written to {options['rejects']}")
