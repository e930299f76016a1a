"""Regenerate lib/webfaq/resources/iso639_1_to_3.json from python-iso639.

The table is shipped because importing python-iso639 costs ~0.4 s per process (it parses its
TSV data), which is more than extracting a whole 30 MB WARC; tests/test_langid_table.py checks
the shipped table still equals python-iso639's mapping.
"""
import json
from pathlib import Path

from iso639 import ALL_LANGUAGES

table = {lang.part1: lang.part3 for lang in ALL_LANGUAGES if lang.part1}
out = Path(__file__).resolve().parent.parent / "lib" / "webfaq" / "resources" / "iso639_1_to_3.json"
out.write_text(json.dumps(dict(sorted(table.items())), indent=0) + "\n")
print(f"{len(table)} codes -> {out}")
