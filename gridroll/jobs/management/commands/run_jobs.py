"""Run background jobs (card sheets, check sheets, registry exports) in a process of its own.

Production runs one or more of these beside the web servers (docs/deployment.md) and sets
GRIDROLL_JOBS_IN_PROCESS=0; several may run at once, on one machine or many: each job is claimed by one.
"""

import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections, connection

from gridroll.jobs import runner


class Command(BaseCommand):
    help = "Run queued background jobs: loop (the service), or --once to run what is queued and stop."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="run the queued jobs, then stop")
        parser.add_argument("--sleep", type=float, default=2.0, help="seconds to wait when nothing is queued")

    def handle(self, *args, **options):
        worker = runner.worker_name()
        self.stdout.write(f"run_jobs {worker}: waiting for jobs")
        while True:
            if not connection.in_atomic_block:  # (a test's transaction is kept)
                close_old_connections()  # a connection the database dropped is opened again
            job = runner.run_next(worker)
            if job is not None:
                self.stdout.write(f"job {job.pk} ({job.kind}): {job.status} {job.error}".rstrip())
                continue
            if options["once"]:
                return
            time.sleep(options["sleep"])
