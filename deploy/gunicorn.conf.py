"""gunicorn for gridroll behind nginx: ``gunicorn -c deploy/gunicorn.conf.py gridroll.wsgi``.

Every setting can be overridden from the environment (GUNICORN_BIND, GUNICORN_WORKERS, GUNICORN_ACCESSLOG).
docs/deployment.md explains each choice.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Sync workers: Django under ASGI was 3-4x slower here (shared/design/LIBS.md).
workers = int(os.environ.get("GUNICORN_WORKERS", str(multiprocessing.cpu_count() * 2 + 1)))
worker_class = "sync"
# An import of the web's largest table (50,000 rows) takes well under a minute; larger ones go through
# the command line (docs/import.md).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = 30
# nginx is the only client: trust its X-Forwarded-* headers, nobody else's.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
limit_request_line = 4094
limit_request_fields = 100

# The access log: the path without its query string (%(U)s, not %(r)s), no referer, and the path itself
# scrubbed of private link secrets and ID and phone numbers by GunicornLogger (gridroll/core/logs.py).
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-")
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s"'
logger_class = "gridroll.core.logs.GunicornLogger"
errorlog = os.environ.get("GUNICORN_ERRORLOG", "-")

# Prometheus (gridroll/core/metrics.py): the workers of this instance write their figures to one directory,
# made empty at start, which /metrics adds up; a dead worker's gauges are dropped. Removed on a clean stop
# (an instance killed -9 leaves it in the temporary directory).
_made_metrics_dir = ""
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    import tempfile

    _made_metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="gridroll-metrics-")


def on_exit(server):
    if _made_metrics_dir:
        import shutil

        shutil.rmtree(_made_metrics_dir, ignore_errors=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
