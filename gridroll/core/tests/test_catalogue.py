"""The zh_Hans catalogue is complete, and the compiled .mo is the .po (issue 17: django.po is the source
of truth, edited with ordinary PO tools; nothing regenerates its translations)."""

import importlib.util
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parents[3]
PO = ROOT / "gridroll/locale/zh_Hans/LC_MESSAGES/django.po"


def _check_messages():
    spec = importlib.util.spec_from_file_location("check_messages", ROOT / "scripts/check_messages.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_no_entry_is_untranslated_or_fuzzy():
    assert _check_messages().problems(polib.pofile(str(PO))) == []


def test_the_check_finds_an_untranslated_and_a_fuzzy_entry(tmp_path):
    po = polib.POFile()
    po.append(polib.POEntry(msgid="Done", msgstr="完成"))
    po.append(polib.POEntry(msgid="New", msgstr=""))
    po.append(polib.POEntry(msgid="Changed", msgstr="旧的", flags=["fuzzy"]))
    po.append(polib.POEntry(msgid="%(n)s tube", msgid_plural="%(n)s tubes", msgstr_plural={0: "%(n)s 管"}))
    assert _check_messages().problems(po) == ["untranslated: New", "fuzzy: Changed"]


def test_the_compiled_catalogue_is_the_source():
    po = polib.pofile(str(PO))
    mo = polib.mofile(str(PO.with_suffix(".mo")))
    source = {(e.msgctxt, e.msgid): e.msgstr or e.msgstr_plural.get(0, "") for e in po if not e.obsolete}
    compiled = {(e.msgctxt, e.msgid): e.msgstr or e.msgstr_plural.get(0, "") for e in mo if e.msgid}
    assert compiled == source, "run `make messages` (it compiles the .po into the .mo)"
