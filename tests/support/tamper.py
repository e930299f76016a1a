"""Ways a lake gets damaged, each with the finding ``webfaq verify`` must report for it
(tests/test_fsck.py and ``bench/faults.py``). Each tamper takes a copy of a lake an extract run
wrote (crawl ``C``) and returns the path the finding must name (relative to the lake)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

import pyarrow as pa
import pyarrow.parquet as pq


def data_file(lake: Path, language: str = "eng") -> Path:
    """The first data file of one language of crawl C."""
    return sorted((lake / "faq" / "crawl=C" / f"language={language}").glob("*.parquet"))[0]


def _rel(lake: Path, path: Path) -> str:
    return path.relative_to(lake).as_posix()


def garbage(lake: Path) -> str:
    victim = data_file(lake)
    victim.write_bytes(b"this is not parquet\n" * 50)
    return _rel(lake, victim)


def truncated(lake: Path) -> str:
    victim = data_file(lake)
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) // 2])
    return _rel(lake, victim)


def same_rows_changed(lake: Path) -> str:
    """One answer edited, the row count (and the schema) kept: what a row count never shows."""
    victim = data_file(lake)
    table = pq.read_table(victim)
    answers = table.column("answer").to_pylist()
    answers[0] = answers[0] + " (edited)"
    table = table.set_column(table.schema.get_field_index("answer"), "answer", pa.array(answers, pa.string()))
    pq.write_table(table, victim)
    return _rel(lake, victim)


def unknown_partition(lake: Path) -> str:
    shutil.copytree(lake / "faq" / "crawl=C", lake / "faq" / "crawl=EVIL")
    return "faq/crawl=EVIL"


def unknown_file(lake: Path) -> str:
    victim = data_file(lake)
    extra = victim.with_name("part-99999-planted.snappy.parquet")
    shutil.copyfile(victim, extra)
    return _rel(lake, extra)


def missing(lake: Path) -> str:
    victim = data_file(lake)
    victim.unlink()
    return _rel(lake, victim)


def empty_manifest(lake: Path) -> str:
    (lake / "_runs" / "20260101T000000Z-extract-000000.json").write_text("")
    return "_runs/20260101T000000Z-extract-000000.json"


def invalid_manifest(lake: Path) -> str:
    (lake / "_runs" / "20260101T000000Z-extract-111111.json").write_text('{"run_id": "20260101T0')
    return "_runs/20260101T000000Z-extract-111111.json"


def stray_temp_file(lake: Path) -> str:
    (lake / "_runs" / "20260101T000000Z-extract-222222.json.0badc0de.tmp").write_bytes(b"")
    return "_runs/20260101T000000Z-extract-222222.json.0badc0de.tmp"


# name -> (tamper, the finding kind verify must report naming the returned path)
TAMPERS: dict[str, tuple[Callable[[Path], str], str]] = {
    "garbage Parquet file": (garbage, "GARBAGE"),
    "truncated Parquet file": (truncated, "GARBAGE"),
    "rows changed, row count kept": (same_rows_changed, "CHANGED"),
    "unknown partition crawl=EVIL": (unknown_partition, "UNKNOWN"),
    "unknown file in a partition": (unknown_file, "UNKNOWN"),
    "missing data file": (missing, "MISSING"),
    "empty _runs/*.json": (empty_manifest, "INVALID"),
    "invalid _runs/*.json": (invalid_manifest, "INVALID"),
    "temp file left in _runs/": (stray_temp_file, "STRAY"),
}
