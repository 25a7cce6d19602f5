"""WSGI entry point. Serve with gunicorn (sync or gthread): see docs/deployment.md."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridroll.settings")
application = get_wsgi_application()
