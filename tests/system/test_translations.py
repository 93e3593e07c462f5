"""Every string the code marks for translation has a German translation in the catalog:
the project's own (extracted with babel.cfg, as docs/translations.md does) and FAB's, whose
pages, menus and messages the Desk shows (FAB's German catalog, or ours where it lacks one)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import flask_appbuilder
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "backoffice" / "translations" / "de" / "LC_MESSAGES" / "messages.po"
FAB = Path(flask_appbuilder.__file__).parent
FAB_CATALOG = FAB / "translations" / "de" / "LC_MESSAGES" / "messages.po"

# FAB marks its strings with these besides Babel's defaults (`_`, `gettext`, `ngettext` …).
FAB_KEYWORDS = ("lazy_gettext", "__", "lazy_formatter_gettext")
FAB_CONFIG = """
[python: **.py]
[jinja2: **/templates/**.html]
extensions = jinja2.ext.i18n,jinja2.ext.do,jinja2.ext.loopcontrols
"""

# msgids that may stay without German, each with the reason: only technical texts no person
# reads in the UI language. Empty: every marked string is translated.
UNTRANSLATED_ON_PURPOSE: dict[str, str] = {}


def _translated(message) -> bool:
    if message is None or message.fuzzy:
        return False
    strings = message.string if isinstance(message.string, tuple) else (message.string,)
    return all(strings)


def _extract(tmp_path: Path, name: str, source: Path, *args: str) -> list:
    """pybabel's extraction of `source` into a template in `tmp_path` (run from the project
    root: from inside FAB's package, `babel` would be FAB's own subpackage)."""
    template = tmp_path / f"{name}.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", *args,
                    "-o", str(template), str(source)], cwd=ROOT, check=True, capture_output=True)
    with template.open("rb") as handle:
        return [m for m in read_po(handle) if m.id]


def _catalog(path: Path):
    with path.open("rb") as handle:
        return read_po(handle)


def _missing(wanted: list, *catalogs) -> list[str]:
    """Each msgid without German in any of the catalogs, with where the code uses it."""
    return [f"{m.id!r} ({', '.join(f'{file}:{line}' for file, line in m.locations[:2])})"
            for m in wanted
            if m.id not in UNTRANSLATED_ON_PURPOSE and not any(_translated(c.get(m.id)) for c in catalogs)]


def test_every_marked_string_has_a_german_translation(tmp_path):
    wanted = _extract(tmp_path, "project", Path("."), "-F", "babel.cfg", "-k", "_l", "-k", "lazy_gettext",
                      "--ignore-dirs=.* _* tests migrations benchmarks instance")
    assert len(wanted) > 300  # the extraction found the code's strings
    missing = _missing(wanted, _catalog(CATALOG))
    assert not missing, "msgids without German in messages.po:\n" + "\n".join(missing)


def test_every_string_fab_marks_has_a_german_translation(tmp_path):
    config = tmp_path / "fab.cfg"
    config.write_text(FAB_CONFIG)
    keywords = [arg for keyword in FAB_KEYWORDS for arg in ("-k", keyword)]
    wanted = _extract(tmp_path, "fab", FAB, "-F", str(config), *keywords)
    assert len(wanted) > 100  # FAB's templates and code were read
    missing = _missing(wanted, _catalog(FAB_CATALOG), _catalog(CATALOG))
    assert not missing, "FAB's msgids without German (add them to messages.po):\n" + "\n".join(missing)

