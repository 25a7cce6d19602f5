"""Check the zh_Hans catalogue and compile it; run by `make messages` after makemessages.

`gridroll/locale/zh_Hans/LC_MESSAGES/django.po` is the source of truth: translators edit it with any PO
editor (Poedit, Weblate, a text editor), with contexts (msgctxt) and plurals as gettext has them. This
script never changes a translation. It fails, listing them, on entries that are untranslated or fuzzy
(makemessages marks a changed msgid fuzzy: look at it, fix the Chinese, drop the flag), and otherwise
writes the compiled `.mo` beside the `.po`. `core/tests/test_catalogue.py` checks the same in CI.
"""

import sys
from pathlib import Path

import polib

PO = Path(__file__).resolve().parent.parent / "gridroll/locale/zh_Hans/LC_MESSAGES/django.po"


def problems(po: polib.POFile) -> list[str]:
    out = []
    for entry in po:
        if entry.obsolete:
            continue
        if "fuzzy" in entry.flags:
            out.append(f"fuzzy: {entry.msgid}")
        elif not (entry.msgstr or any(entry.msgstr_plural.values())):
            out.append(f"untranslated: {entry.msgid}")
    return out


def main() -> int:
    po = polib.pofile(str(PO))
    found = problems(po)
    for line in found:
        print(line)
    if found:
        print(f"{len(found)} entries need a translator ({PO.relative_to(PO.parents[4])})", file=sys.stderr)
        return 1
    po.save_as_mofile(str(PO.with_suffix(".mo")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
