#!/usr/bin/env python
"""Django's command-line utility for gridroll."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridroll.settings")
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except Exception as exc:
        # A database never migrated: say what to run instead of a raw OperationalError.
        from gridroll.core.unmigrated import unmigrated_message

        message = unmigrated_message(exc)
        if message is None:
            raise
        sys.stderr.write(message + "\n")
        sys.exit(1)


if __name__ == "__main__":
    main()
