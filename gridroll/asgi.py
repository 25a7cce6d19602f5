"""ASGI entry point, kept for completeness. Prefer WSGI: under uvicorn Django ran 3–4× slower on our
machines and leaked connections with CONN_MAX_AGE (../shared/design/BENCH.md)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridroll.settings")
application = get_asgi_application()
