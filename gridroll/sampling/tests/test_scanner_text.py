"""The scanner page's texts come from the gettext catalogue, keyed by English msgid or reason code."""

import re
from pathlib import Path

from django.utils import translation

from gridroll.sampling import reasons, scanner_text

SCRIPT = Path(scanner_text.__file__).parent / "static" / "sampling" / "scanner.js"


def test_every_text_the_script_looks_up_is_in_the_table():
    script = SCRIPT.read_text()
    used = set(re.findall(r'\b(?:tr|fmt)\("((?:[^"\\]|\\.)*)"', script))
    assert used, "the script looks nothing up: the pattern above is out of date"
    assert used <= set(scanner_text.TEXT), sorted(used - set(scanner_text.TEXT))
    literals = set(re.findall(r'"((?:[^"\\]|\\.)*)"', script))  # also looked up later (tr(why))
    unused = set(scanner_text.TEXT) - literals
    assert not unused, f"texts nobody uses: {sorted(unused)}"


def test_the_table_is_translated_for_every_reason_and_text():
    with translation.override("zh-hans"):
        table = scanner_text.scanner_text()
    untranslated = sorted(k for k in scanner_text.TEXT if table[k] == k)
    assert not untranslated, f"no Chinese in the catalogue for {untranslated}"
    assert {f"reason:{code}" for code in reasons.MESSAGES} <= set(table)
    assert table["Scan a tube first"] == "请先扫管码"
    with translation.override("en"):
        assert scanner_text.scanner_text()["Scan a tube first"] == "Scan a tube first"
