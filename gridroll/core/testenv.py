"""Loaded by pytest before Django's settings (``-p gridroll.core.testenv`` in pyproject.toml): tests run
with the demo's settings, which production refuses (gridroll/settings.py)."""

import os

os.environ.setdefault("GRIDROLL_DEMO", "1")
