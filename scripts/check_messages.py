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


def entries(po: polib.POFile) -> dict:
    return {
        (e.msgctxt, e.msgid, e.msgid_plural): (e.msgstr, tuple(sorted(e.msgstr_plural.items())))
        for e in po
        if not e.obsolete
    }


def main() -> int:
    po = polib.pofile(str(PO))
    if len(sys.argv) == 3 and sys.argv[1] == "--same-as":
        # CI: the committed catalogue (copied aside before makemessages) must hold exactly the strings
        # the code uses now, with the same translations; line wrapping and source references aside.
        before, now = entries(polib.pofile(sys.argv[2])), entries(po)
        added, gone = sorted(set(now) - set(before)), sorted(set(before) - set(now))
        for key in added:
            print(f"not in the committed catalogue: {key[1]}")
        for key in gone:
            print(f"in the catalogue but no longer in the code: {key[1]}")
        if added or gone:
            print("run 'make messages', translate, and commit django.po", file=sys.stderr)
            return 1
        return 0
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
