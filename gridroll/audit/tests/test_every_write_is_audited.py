"""Every service write leaves an audit record (issue 17).

The service modules' public functions are walked. One that writes (saves, creates, updates, deletes,
bulk-inserts or executes SQL, itself or through a private helper of its module) must also record an audit
row (``audit.services.record`` / ``record_many``, itself or through such a helper), or be listed below
with the reason it needs none. A new write function that records nothing fails here until it does, or
until someone writes down why not.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import gridroll

ROOT = Path(gridroll.__file__).parent
WRITES = re.compile(
    r"\.(save|create|bulk_create|bulk_update|delete|update|update_or_create|get_or_create)\(|"
    r"\binsert_rows\(|\.execute\("
)
AUDITS = re.compile(r"\brecord(_many|_event)?\(")

# Writes that need no audit record of their own, and why.
PROJECTIONS = "derived state (the roll call, retest tasks): recomputed from audited writes, never by a user"
NOT_AUDITED = {
    "rollcall.services.mark_sampled": PROJECTIONS,
    "rollcall.services.lock_entries": "takes row locks only",
    "rollcall.services.refresh": PROJECTIONS,
    "rollcall.services.sync_round": PROJECTIONS,
    "rollcall.services.recount": PROJECTIONS,
    "rollcall.services.recount_hours": PROJECTIONS,
    "rollcall.services.derive_hours": "a read (a recount of the samples, in SQL)",
    "sampling.services.derive_site_tallies": "a read (a recount of the samples, in SQL)",
    "labs.services.results_changed": PROJECTIONS,
    "labs.services.tasks_sampled": PROJECTIONS,
    "labs.services.tasks_unsampled": PROJECTIONS,
    "sampling.services.record_action": "the scan log is its own audit: each ScanAction row names its user",
    "sampling.services.record_actions": "the scan log is its own audit: each ScanAction row names its user",
    "labs.services.import_results": "the upload is its own audit: a ResultUpload row names its user and file",
    "labs.services.apply_results": "the upload is its own audit: a ResultUpload row names its user and file",
    "reconcile.services.create_feed": "the feed is its own audit: a Feed row names who uploaded it",
    "reconcile.services.rematch": "recomputes the matcher's suggestions; decisions are audited (decide)",
    "reconcile.services.run": "recomputes the matcher's suggestions; decisions are audited (decide)",
    "codes.services.check_code": "a read; it counts checks for the rate limit",
}


def _service_modules() -> list[Path]:
    return sorted(p for p in ROOT.glob("*/*.py") if re.match(r"(services|boxes|round_services)\.py$", p.name))


def _unaudited_writes(path: Path) -> list[str]:
    source = path.read_text()
    functions = {n.name: n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)}

    def called(node) -> set[str]:
        return {
            c.func.id for c in ast.walk(node) if isinstance(c, ast.Call) and isinstance(c.func, ast.Name)
        } & set(functions)

    def reaches(name: str, pattern: re.Pattern, seen: frozenset = frozenset()) -> bool:
        node = functions[name]
        if pattern.search(ast.get_source_segment(source, node) or ""):
            return True
        return any(reaches(c, pattern, seen | {name}) for c in called(node) - seen - {name})

    module = f"{path.parent.name}.{path.stem}"
    return [
        f"{module}.{name}"
        for name in functions
        if not name.startswith("_") and reaches(name, WRITES) and not reaches(name, AUDITS)
    ]


def test_every_service_write_leaves_an_audit_record():
    found = [name for path in _service_modules() for name in _unaudited_writes(path)]
    unlisted = [name for name in found if name not in NOT_AUDITED]
    assert not unlisted, f"service writes with no audit record and no written reason: {unlisted}"
    stale = sorted(set(NOT_AUDITED) - set(found))
    assert not stale, f"listed as unaudited but they audit now (or are gone): take them off the list: {stale}"


def test_the_walk_finds_a_write_that_records_nothing(tmp_path):
    """The walker itself: a write with no record is found, one through a helper that records is not."""
    app = tmp_path / "demoapp"
    app.mkdir()
    (app / "services.py").write_text(
        "def bad(x):\n    x.save()\n\n"
        "def good(u, x):\n    x.save()\n    _log(u, x)\n\n"
        "def _log(u, x):\n    record(u, 'x', x)\n\n"
        "def read(x):\n    return x.filter(a=1)\n"
    )
    assert _unaudited_writes(app / "services.py") == ["demoapp.services.bad"]


# Audit rows written by hand outside audit.services, and why (none should need to be).
HAND_WRITTEN = {
    "api/bench.py": "the bench floor (only with GRIDROLL_BENCH=1): one bare INSERT is what it measures",
}


def test_audit_rows_are_written_only_through_audit_services():
    """One place writes audit rows (record, record_event, record_many): no module creates AuditRecord rows
    itself, so every row has the same shape, actor rule and bulk path."""
    by_hand = re.compile(
        r"AuditRecord\.objects\.(create|bulk_create)\(|insert_rows\(\s*AuditRecord\b|AuditRecord\("
    )
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("audit/") or "/tests/" in rel or "/migrations/" in rel or rel in HAND_WRITTEN:
            continue
        if by_hand.search(path.read_text()):
            found.append(rel)
    assert not found, f"modules writing AuditRecord rows by hand (use audit.services): {found}"


def test_the_admin_cannot_forge_an_audit_row(client, db):
    """Found by an outside review: the admin blocked changing and deleting audit rows but not adding them,
    so a superuser could write a record with any actor, action and reason."""
    from django.contrib.auth.models import User

    from gridroll.audit.models import AuditRecord

    client.force_login(User.objects.create_superuser("root", "root@example.org", "x"))
    assert client.get("/admin/audit/auditrecord/add/").status_code == 403
    posted = client.post(
        "/admin/audit/auditrecord/add/", {"action": "forged", "target_type": "x", "reason": "x"}
    )
    assert posted.status_code == 403 and not AuditRecord.objects.filter(action="forged").exists()
    assert client.get("/admin/audit/auditrecord/").status_code == 200  # still readable
