"""The scan fast path first came here. Its text used to be read from fastpath.sql at migration time, so
replaying this migration installed whatever the file said later; the function is now installed by the
newest migration that carries its text frozen (0010), and this one installs nothing."""

from django.db import migrations


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
    # Superseded by 0010 (the text frozen there). PostgreSQL only; SQLite takes the Python path.
    remove(apps, schema_editor)


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
