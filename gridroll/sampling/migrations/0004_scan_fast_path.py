from pathlib import Path

from django.db import migrations

SQL = (Path(__file__).resolve().parent.parent / "fastpath.sql").read_text()


# Every version of the function, whatever its arguments.
DROP = """
DO $drop$
DECLARE f regprocedure;
BEGIN
    FOR f IN SELECT oid::regprocedure FROM pg_proc WHERE proname = 'gridroll_scan_add' LOOP
        EXECUTE 'DROP FUNCTION ' || f;
    END LOOP;
END
$drop$
"""


def install(apps, schema_editor):
    # PostgreSQL only; SQLite takes the Python path (sampling.services) for every action.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)
        schema_editor.execute(SQL, params=None)


def remove(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("sampling", "0003_tube_ct_values_tube_lab_tube_received_at_and_more"),
        ("rollcall", "0001_initial"),
        ("labs", "0001_initial"),
        ("codes", "0002_initial"),
    ]

    operations = [migrations.RunPython(install, remove)]
