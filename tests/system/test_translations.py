"""Every string the code marks for translation has a German translation in the catalog."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "backoffice" / "translations" / "de" / "LC_MESSAGES" / "messages.po"


def _translated(message) -> bool:
    if message is None or message.fuzzy:
        return False
    strings = message.string if isinstance(message.string, tuple) else (message.string,)
    return all(strings)


def test_every_marked_string_has_a_german_translation(tmp_path):
    template = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
                    "-k", "_l", "-k", "lazy_gettext",
                    "--ignore-dirs=.* _* tests migrations benchmarks instance",
                    "-o", str(template), "."], cwd=ROOT, check=True, capture_output=True)
    with template.open("rb") as handle:
        wanted = [m for m in read_po(handle) if m.id]
    with CATALOG.open("rb") as handle:
        catalog = read_po(handle)
    assert len(wanted) > 300  # the extraction found the code's strings
    missing = [m.id for m in wanted if not _translated(catalog.get(m.id))]
    assert missing == []
