"""Audit records read in the reader's language (issue 18, items 5 and 6): actions, fields and values are
stored as stable codes and shown as labels; an exemption's reason is the reason, not the round's id."""

from __future__ import annotations

import ast
import pathlib
import re

import pytest
from django.contrib.auth.models import User

from gridroll.audit import labels
from gridroll.audit.models import AuditRecord
from gridroll.rollcall.models import Entry, Exemption
from gridroll.rollcall.services import clear_exemption, set_exemption

ROOT = pathlib.Path(__file__).resolve().parents[2]
CODE = re.compile(r"^[a-z]+\.[a-z_]+$")


def _written_actions() -> dict[str, str]:
    """Every audit action the code writes: ``record(actor, "x.y", ...)``, ``action="x.y"``, the tuples
    that bulk writers insert, and ``f"round.{action}"`` (one per round transition)."""
    from gridroll.sampling.round_services import TRANSITIONS

    prefixes = {key.split(".")[0] for key in labels.ACTIONS}
    found: dict[str, str] = {}
    for path in ROOT.rglob("*.py"):
        if {"tests", "migrations"} & set(path.parts):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            candidates: list[ast.AST] = []
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name == "record" and len(node.args) >= 2:
                    candidates.append(node.args[1])
                candidates += [k.value for k in node.keywords if k.arg == "action"]
            elif isinstance(node, ast.Tuple):
                # Bulk inserts: (actor_id, "resident.import_create", "residents.resident", ...)
                candidates += [e for e in node.elts if isinstance(e, ast.Constant)]
            for c in candidates:
                for const in ast.walk(c):
                    value = getattr(const, "value", None)
                    # Model labels ("residents.resident") have prefixes no action has.
                    if isinstance(value, str) and CODE.match(value) and value.split(".")[0] in prefixes:
                        found[value] = str(path.relative_to(ROOT))
    for action in TRANSITIONS:
        found[f"round.{action}"] = "gridroll/sampling/rounds.py"
    return found


def test_every_action_the_code_writes_has_a_label():
    written = _written_actions()
    assert {"rollcall.exempt", "box.receive_all", "resident.import_create", "round.open"} <= set(written)
    missing = {a: where for a, where in written.items() if a not in labels.ACTIONS}
    assert not missing, f"add these to gridroll/audit/labels.py ACTIONS: {missing}"


@pytest.fixture
def admin(db):
    return User.objects.create_superuser("root", password="x")


def test_the_audit_log_shows_actions_fields_and_values_in_chinese(client, roll, people, admin):
    entry = Entry.objects.get(round=roll, resident=people[0])
    set_exemption(admin, entry, Exemption.HOME_SCHEDULED)
    client.force_login(admin)
    page = client.get("/audit/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert ">rollcall.exempt<" not in page  # the filter offers the label
    for code in ("rollcall.exempt", "home_scheduled", "exemption:"):
        assert code not in _visible(page), code
    assert "本轮免采" in page and "已约上门采样" in page
    # The filter keeps the stable code in the query string and shows the label.
    assert '<option value="rollcall.exempt"' in page


def test_a_residents_history_reads_in_chinese(client, roll, people, admin):
    entry = Entry.objects.get(round=roll, resident=people[1])
    set_exemption(admin, entry, Exemption.AWAY)
    clear_exemption(admin, Entry.objects.get(pk=entry.pk))
    client.force_login(admin)
    response = client.get(f"/residents/{people[1].pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    page = _visible(response.content.decode())
    for code in ("rollcall.unexempt", "rollcall.exempt", "away", "exemption"):
        assert code not in page, code
    assert "撤销免采" in page and "外出" in page


def test_an_exemptions_reason_is_the_reason_not_the_rounds_id(roll, people, admin):
    entry = Entry.objects.get(round=roll, resident=people[2])
    set_exemption(admin, entry, Exemption.HOSPITAL, "市人民医院")
    with_note = AuditRecord.objects.get(action="rollcall.exempt", target_id=people[2].pk)
    assert with_note.reason == "市人民医院"
    assert with_note.changes["round"] == [None, roll.name]
    entry = Entry.objects.get(round=roll, resident=people[3])
    set_exemption(admin, entry, Exemption.INFANT)
    without = AuditRecord.objects.get(action="rollcall.exempt", target_id=people[3].pk)
    assert without.reason not in ("", str(roll.pk)) and without.reason == "婴幼儿"


def _visible(html: str) -> str:
    from gridroll.core.tests.visible import visible_text

    return visible_text(html)
