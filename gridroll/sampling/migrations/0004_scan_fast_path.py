from pathlib import Path

from django.db import migrations

SQL = (Path(__file__).resolve().parent.parent / "fastpath.sql").read_text()


def install(apps, schema_editor):
    # PostgreSQL only; SQLite takes the Python path (sampling.services) for every action.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(SQL, params=None)


def remove(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "DROP FUNCTION IF EXISTS gridroll_scan_add(text, text, int, int, int, text, bigint, int, jsonb, "
            "timestamptz, boolean, timestamptz, date, jsonb, jsonb)"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("sampling", "0003_tube_ct_values_tube_lab_tube_received_at_and_more"),
        ("rollcall", "0001_initial"),
        ("labs", "0001_initial"),
        ("codes", "0002_initial"),
    ]

    operations = [migrations.RunPython(install, remove)]
