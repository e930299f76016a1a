"""Run manifests: written redacted and atomically, read so that an unreadable one is a warning
(or, for ``webfaq verify``, a finding) and never a crash, and the facts of every lake file a
run wrote, which let ``verify`` check the lake file by file.

A manifest is ``<lake>/_runs/<run-id>.json``: a JSON object whose ``run_id`` is its file name.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Callable

from webfaq.errors import describe_error
from webfaq.lake.names import check_name, confine
from webfaq.lake.table import LakeFS, LocalFS, arrow_fs, delta_active_files, is_data_file, is_delta, join
from webfaq.redaction import redact_tree

RUNS = "_runs"


def manifest_path(lake: str, run_id: str) -> str:
    """Where a run's manifest lives: the run id is a path segment, so it follows the lake's
    naming rule, and the path is checked to lie under the lake root."""
    return confine(lake, join(lake, RUNS, f"{check_name('run id', run_id)}.json"))


def write_manifest(fs: LakeFS, lake: str, manifest: dict[str, Any]) -> str:
    """Write ``manifest`` as its run's file, redacted as a whole first: this is the one door
    through which every config field, input, error and traceback reaches the lake."""
    path = manifest_path(lake, manifest["run_id"])
    clean = redact_tree(manifest)
    fs.write_text(path, json.dumps(clean, indent=2, sort_keys=True, default=str) + "\n")
    return path


def fallback_dir() -> str:
    """Where a manifest goes when the lake refuses it: a local directory (``$TMPDIR``)."""
    return os.path.join(tempfile.gettempdir(), "webfaq-runs")


def save_manifest(fs: LakeFS, lake: str, manifest: dict[str, Any], scratch: list[str] = ()) -> str | None:
    """Write a run's manifest and return where it went; never raises, because it runs while a
    failed run's error is on its way out and must not replace it.

    A lake that refuses the manifest is most often a full disk, and the run's own scratch
    (``scratch``: its staging directory, useless once the run ends) may be what filled it: it
    is deleted and the write tried once more. When that fails too, the manifest, with
    ``manifest_error`` naming why, goes to :func:`fallback_dir`, and one line on stderr says
    so. None when even that fails."""
    try:
        return write_manifest(fs, lake, manifest)
    except Exception as exc:  # noqa: BLE001 - reported below, in one line
        cause = describe_error(exc)
    for path in scratch:
        try:
            fs.delete(path)
        except Exception:  # noqa: BLE001 - freeing space is best effort
            pass
    try:
        return write_manifest(fs, lake, manifest)
    except Exception as exc:  # noqa: BLE001
        cause = describe_error(exc)
    manifest["manifest_error"] = cause
    try:
        path = write_manifest(LocalFS(fallback_dir()), fallback_dir(), manifest)
    except Exception as exc:  # noqa: BLE001
        print(f"warning: run {manifest['run_id']}: no manifest written: {cause}; "
              f"fallback failed too: {describe_error(exc)}", file=sys.stderr)
        return None
    print(f"warning: run {manifest['run_id']}: manifest not written to the lake: {cause}; written to {path}",
          file=sys.stderr)
    return path


# --------------------------------------------------------------------------- reading

@dataclass
class ManifestScan:
    """What ``_runs/`` holds: the valid manifests (oldest first), the ``.json`` files that are
    not one (path, why), and other files (an interrupted write's temp file)."""

    manifests: list[dict[str, Any]] = field(default_factory=list)
    invalid: list[tuple[str, str]] = field(default_factory=list)
    stray: list[str] = field(default_factory=list)


def parse_manifest(text: str, name: str) -> dict[str, Any]:
    """The manifest in ``text`` (of the file ``name``); ValueError saying why it is not one."""
    if not text.strip():
        raise ValueError("empty file")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    if not isinstance(data, dict):
        raise ValueError(f"not a JSON object but a {type(data).__name__}")
    if data.get("run_id") != name.removesuffix(".json"):
        raise ValueError(f"its run_id {str(data.get('run_id'))[:80]!r} is not its file name")
    return data


def scan_manifests(fs: LakeFS, lake: str) -> ManifestScan:
    """Read every manifest of the lake; never raises for a bad one (it lands in ``invalid``)."""
    scan = ManifestScan()
    runs_dir = join(lake, RUNS)
    if not fs.exists(runs_dir):
        return scan
    for f in fs.list_files(runs_dir):
        if "/" in f.path:
            continue
        path = join(runs_dir, f.path)
        if not f.path.endswith(".json"):
            scan.stray.append(path)
            continue
        try:
            scan.manifests.append(redact_tree(parse_manifest(fs.read_text(path), f.path)))
        except (ValueError, OSError) as exc:  # UnicodeDecodeError is a ValueError
            scan.invalid.append((path, str(exc) or type(exc).__name__))
    scan.manifests.sort(key=lambda m: str(m.get("started", "")))
    return scan


def _warn(line: str) -> None:
    print(line, file=sys.stderr)


def read_manifests(fs: LakeFS, lake: str, warn: Callable[[str], None] = _warn) -> list[dict[str, Any]]:
    """The lake's valid manifests, oldest first; each unreadable one is skipped with one
    warning line that names it (the report and refresh carry on without it)."""
    scan = scan_manifests(fs, lake)
    for path, why in scan.invalid:
        warn(f"warning: skipped {path}: not a run manifest: {why}")
    return scan.manifests


# --------------------------------------------------------------------------- file facts

class NotParquet(ValueError):
    """A lake data file that cannot be read as Parquet (garbage, truncated, overwritten)."""


def parquet_facts(fh: BinaryIO) -> dict[str, Any]:
    """``{"bytes", "rows", "footer"}`` of an open Parquet file, from three small reads (the
    magic at both ends and the footer), never the data pages.

    Why the footer: a lake lives in an object store, where reading every file back to hash it
    costs as much as writing it. The footer is the file's table of contents: row count, every
    column chunk's offset and compressed size, and per-chunk min/max statistics. A file
    rewritten with other rows changes its sizes or statistics (the same row count does not hide
    it), a truncated or foreign file loses its ``PAR1`` end, and another writer's file differs
    in ``created_by`` and offsets. Its hash plus the byte size catch every change a person or
    program makes to a file; what they cannot catch is a byte flipped inside a data page that
    leaves its size alone (bit rot), which is the storage layer's checksums' job."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    fh.seek(0, 2)
    size = fh.tell()
    if size < 12:
        raise NotParquet(f"{size} bytes, too short for a Parquet file")
    fh.seek(0)
    head = fh.read(4)
    fh.seek(size - 8)
    tail = fh.read(8)
    if head != b"PAR1" or tail[4:] != b"PAR1":
        raise NotParquet("not a Parquet file (no PAR1 magic at its "
                         + ("start" if head != b"PAR1" else "end: truncated or overwritten") + ")")
    length = int.from_bytes(tail[:4], "little")
    if not 0 < length <= size - 12:
        raise NotParquet(f"footer length {length} does not fit in {size} bytes (truncated)")
    fh.seek(size - 8 - length)
    footer = fh.read(length)
    try:
        rows = pq.read_metadata(pa.BufferReader(b"PAR1" + footer + tail)).num_rows
    except Exception as exc:  # noqa: BLE001 - any decoding error means the same: unreadable
        raise NotParquet(f"unreadable footer ({type(exc).__name__}: {str(exc)[:200]})") from None
    return {"bytes": size, "rows": rows, "footer": hashlib.sha256(footer).hexdigest()[:32]}


def open_arrow(uri: str) -> BinaryIO:
    """Open a lake file through pyarrow (what a job's driver and executors use for files)."""
    filesystem, path = arrow_fs(uri)
    return filesystem.open_input_file(path)


def output_files(fs: LakeFS, table: str, partitions: list[str]) -> list[str]:
    """Data files (paths under ``table``) of the top-level ``partitions`` (``crawl=…``): for a
    Delta table the files its log holds active, else the files in those directories."""
    if is_delta(fs, table):
        wanted = set(partitions)
        return sorted(rel for rel, _ in delta_active_files(table, s3=fs.s3) if rel.split("/", 1)[0] in wanted)
    return sorted(f"{part}/{f.path}" for part in partitions
                  for f in fs.list_files(join(table, part)) if is_data_file(f.path))


def output_partitions(output: dict[str, Any]) -> list[str]:
    """The top-level partitions (``crawl=X``, ``pair=Y``) an output section says its run replaced."""
    key = output.get("partition_key", "crawl")
    return [f"{key}={v}" for v in output.get("partitions", output.get("crawls", []))]


def record_data_files(fs: LakeFS, manifest: dict[str, Any],
                      opener: Callable[[str], BinaryIO] = open_arrow) -> None:
    """Add ``output.data_files`` (path under the table -> ``parquet_facts``) to a run's manifest
    (and to each of its ``side_outputs``) for the partitions it published, so ``verify`` can tell each file's fate later. Call once,
    after publishing. Outputs that are not partitioned tables (the BEIR folders) record their
    files' lines and bytes themselves."""
    side = manifest.get("side_outputs")
    for out in [manifest.get("output"), *(side if isinstance(side, list) else [])]:
        if not isinstance(out, dict) or "partition_rows" not in out or not out.get("table"):
            continue
        table = out["table"]
        facts = {}
        for rel in output_files(fs, table, output_partitions(out)):
            with opener(join(table, rel)) as fh:
                facts[rel] = parquet_facts(fh)
        out["data_files"] = facts
