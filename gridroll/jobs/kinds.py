"""What a job can make: kind → the function that writes its file.

Each function is called as ``make(job, out, progress)``: ``job`` is the Job row (``job.owner`` whose
rights apply, ``job.params``), ``out`` a binary file to write the result to, ``progress(done, total)`` to
say how far it got (it raises ``JobLost`` when another runner has taken the job over). It raises a
``DomainError`` (its message is shown to the owner) or any exception (shown by name) to fail the job.
Functions are imported when first run, so that this table imports nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import IO, Any

KINDS: dict[str, str] = {
    "codes.cards": "gridroll.codes.cards.cards_job",
    "rollcall.sheet": "gridroll.rollcall.views.sheet_job",
    "registry.export": "gridroll.residents.exporting.export_job",
}

Maker = Callable[[Any, IO[bytes], Callable[[int, int], None]], None]


def resolve(kind: str) -> Maker:
    module, _dot, name = KINDS[kind].rpartition(".")
    return getattr(import_module(module), name)
