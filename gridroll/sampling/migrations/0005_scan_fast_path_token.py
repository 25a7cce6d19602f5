"""The fast path takes the scanned text and trusts it only when it is a stored token (fastpath.sql)."""

import importlib

from django.db import migrations

fast_path = importlib.import_module("gridroll.sampling.migrations.0004_scan_fast_path")


class Migration(migrations.Migration):
    dependencies = [("sampling", "0004_scan_fast_path")]

    # Backwards, the function is dropped: every scan then takes the general way, which decides alike.
    operations = [migrations.RunPython(fast_path.install, fast_path.remove)]
