"""`webfaq verify`: a file-system check (fsck) of the lake against its run manifests.

Two independent sources must agree: what the jobs recorded while they ran and what the lake's
files hold now. For every table and top-level partition (``crawl=…``, or ``pair=…`` for bitext)
the newest complete run that wrote it names the files it left there, each with its size, row
count and footer hash (``manifest.parquet_facts``), and the rows per second-level partition
(``language=…``). The check lists the lake and reads each file's footer (three small reads, never
the data pages) and reports, one line per finding:

========  ==============================================================================
INVALID   a ``_runs/*.json`` that is not a run manifest (empty, not JSON, wrong shape)
STRAY     a file in ``_runs/`` that is not a manifest (an interrupted write's temp file)
COUNTERS  a run whose counters do not add up, or whose inputs are not ``files.total``
GARBAGE   a data file that is not readable Parquet (foreign, truncated)
CHANGED   a data file whose size, rows or footer differ from what its run wrote
MISSING   a file a run wrote that is gone (or that a Delta log names and the disk lacks)
UNKNOWN   a partition or data file no run wrote (readers would read it)
MISMATCH  rows (or a BEIR file's lines and bytes) that differ from what the run counted
ERROR     anything else that went wrong reading one item, with the item named
========  ==============================================================================

Nothing a manifest says is used as a path unless it is a plain name (a tampered manifest cannot
point the check outside the lake), and no exception stops the check: it becomes a finding that
names the file. For file outputs (the BEIR benchmark folders) the run names each file's lines
and bytes, and the files are counted again.
"""

from __future__ import annotations

import contextlib
import re
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any, BinaryIO, Iterator, NamedTuple

from webfaq.counters import check_inputs, reconcile
from webfaq.errors import describe_error
from webfaq.lake import LakeFS, delta_active_files, is_delta, join, lake_fs
from webfaq.lake.table import read_retried
from webfaq.lake.lease import read_view, reader_store, written_since
from webfaq.lake.manifest import NotParquet, output_partitions, parquet_facts, scan_manifests

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.=+-]*")  # a table, partition or file name (fullmatch)


@dataclass(frozen=True)
class Finding:
    kind: str
    path: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind:<8} {self.path}: {self.detail}"


@dataclass
class Findings:
    """The findings so far, and :meth:`guard`, which turns any exception into one."""

    items: list[Finding] = field(default_factory=list)

    def add(self, kind: str, path: str, detail: str) -> None:
        self.items.append(Finding(kind, path, detail))

    @contextlib.contextmanager
    def guard(self, path: str) -> Iterator[None]:
        try:
            yield
        except Exception as exc:  # noqa: BLE001 - verify reports, it never crashes
            self.add("ERROR", path, describe_error(exc))


class Expected(NamedTuple):
    """What the newest complete run that wrote a partition left there: rows per second-level
    value, and the facts of each data file (None for runs that predate file facts)."""

    run_id: str
    rows: dict[str, int]
    files: dict[str, dict[str, Any]] | None


def safe_rel(path: str) -> bool:
    """Whether a path taken from a manifest is a plain relative path of plain names."""
    return bool(path) and all(_NAME.fullmatch(part) for part in path.split("/"))


def complete_outputs(manifests: list[dict[str, Any]], findings: Findings) -> list[tuple[dict, str]]:
    """(output section, run id) of complete runs, oldest first (newer runs overwrite); an
    output whose table is no plain name is a finding instead."""
    return list(_complete_outputs(manifests, findings))


def _complete_outputs(manifests: list[dict[str, Any]], findings: Findings) -> Iterator[tuple[dict, str]]:
    """The main ``output`` and any ``side_outputs`` (dedup's faq_dedup_dropped) of each run."""
    for m in manifests:
        if m.get("status") != "complete":
            continue
        side = m.get("side_outputs")
        for out in [m.get("output"), *(side if isinstance(side, list) else [])]:
            if not (isinstance(out, dict) and out.get("table")):
                continue
            name = str(out["table"]).rstrip("/").rsplit("/", 1)[-1]
            if not _NAME.fullmatch(name):
                findings.add("INVALID", f"_runs/{m['run_id']}.json", f"output table {name[:80]!r} is not a plain name")
                continue
            yield out, m["run_id"]


def expected_partitions(lake: str, outputs: list[tuple[dict[str, Any], str]],
                        findings: Findings) -> dict[tuple[str, str], Expected]:
    """(table path, top partition) -> :class:`Expected` of the newest complete run (tables are
    located by name under ``lake``, so a lake that was moved still verifies). A manifest's
    ``output`` names its top-level partition key (``crawl`` unless it says ``partition_key``,
    e.g. ``pair`` for bitext), the partitions it replaced and, since file facts exist, the data
    files it left in them."""
    expected: dict[tuple[str, str], Expected] = {}
    for out, run_id in outputs:
        if "partition_rows" not in out:
            continue
        with findings.guard(f"_runs/{run_id}.json"):
            table, rows, files = _table(lake, out), out["partition_rows"], out.get("data_files")
            for top in output_partitions(out):
                if not safe_rel(top):
                    findings.add("INVALID", f"_runs/{run_id}.json", f"partition {top[:80]!r} is not a plain name")
                    continue
                mine = None if files is None else {k: v for k, v in files.items() if k.split("/", 1)[0] == top}
                expected[(table, top)] = Expected(run_id, rows.get(top.split("=", 1)[1], {}), mine)
    return expected


def expected_files(lake: str, outputs: list[tuple[dict[str, Any], str]],
                   findings: Findings) -> dict[tuple[str, str], tuple[str, dict[str, int]]]:
    """(table path, file path in it) -> (run id, {"lines", "bytes"}) of the newest complete run,
    for outputs that are files rather than Parquet partitions (the BEIR benchmark folders)."""
    expected: dict[tuple[str, str], tuple[str, dict[str, int]]] = {}
    for out, run_id in outputs:
        with findings.guard(f"_runs/{run_id}.json"):
            for path, want in (out.get("files") or {}).items():
                if safe_rel(path):
                    expected[(_table(lake, out), path)] = (run_id, want)
                else:
                    findings.add("INVALID", f"_runs/{run_id}.json", f"file {path[:80]!r} is not a plain relative path")
    return expected


def file_counts(fs: LakeFS, path: str) -> dict[str, int]:
    """Lines (newline-terminated, plus a last unterminated one) and bytes of a file, read in
    1 MiB blocks (a corpus file can be gigabytes)."""
    def count(f: BinaryIO) -> dict[str, int]:
        lines = size = 0
        last = b"\n"
        while block := f.read(1 << 20):
            lines += block.count(b"\n")
            size += len(block)
            last = block[-1:]
        return {"lines": lines + (last != b"\n"), "bytes": size}

    return read_retried(fs, path, count)


def _table(lake: str, out: dict[str, Any]) -> str:
    return join(lake, out["table"].rstrip("/").rsplit("/", 1)[-1])


def _sub_value(rel: str) -> str:
    """The second-level partition value of a file path under a table (``""`` when none)."""
    parts = rel.split("/")
    return parts[1].split("=", 1)[1] if len(parts) > 2 and "=" in parts[1] else ""


def _visible(rel: str) -> bool:
    """Whether readers read this file: Spark and Hive skip names starting with ``_`` or ``.``
    at any level, and read everything else in a table as data, whatever its extension."""
    return not any(part.startswith(("_", ".")) for part in rel.split("/"))


def table_files(fs: LakeFS, table: str) -> dict[str, list[tuple[str, str]]]:
    """Top-level partition -> [(file path under the table, second-level value)] of the files
    readers see now: a Delta table's active files (its log), else every visible file (root-level
    files under ``""``)."""
    files: dict[str, list[tuple[str, str]]] = defaultdict(list)
    if is_delta(fs, table):
        for rel, values in delta_active_files(table, s3=fs.s3):
            keys = list(values)
            top = f"{keys[0]}={values[keys[0]]}" if keys else ""
            files[top].append((rel, (values[keys[1]] or "") if len(keys) > 1 else ""))
    else:
        for f in fs.list_files(table):
            if _visible(f.path):
                top = f.path.split("/", 1)[0] if "/" in f.path else ""
                files[top].append((f.path, _sub_value(f.path)))
    return files


def check_file(fs: LakeFS, table: str, rel: str, recorded: dict[str, dict] | None, run_id: str,
               findings: Findings) -> int:
    """Rows of one data file (0 when it cannot be read), with a finding when it is missing,
    garbage, unknown to its run, or not what its run wrote."""
    path = join(table, rel)
    if recorded is not None and rel not in recorded:
        findings.add("UNKNOWN", path, f"a data file no run wrote (run {run_id} wrote this partition)")
    if not fs.exists(path):
        findings.add("MISSING", path, "the Delta log names it, the disk does not hold it")
        return 0
    try:
        facts = read_retried(fs, path, parquet_facts)
    except NotParquet as exc:
        findings.add("GARBAGE", path, str(exc))
        return 0
    want = (recorded or {}).get(rel)
    if want is not None and facts != want:
        diff = ", ".join(f"{k} {want.get(k)} -> {facts[k]}" for k in ("bytes", "rows") if want.get(k) != facts[k])
        findings.add("CHANGED", path, (diff + ", " if diff else "") + f"footer {'differs' if want.get('footer') != facts['footer'] else 'same'} "
                     f"(run {run_id} wrote it)")
    return facts["rows"]


def check_partition(fs: LakeFS, table: str, top: str, exp: Expected, present: list[tuple[str, str]],
                    findings: Findings) -> dict[str, int]:
    """Rows per second-level value found in one partition, checking each file on the way."""
    rows: dict[str, int] = defaultdict(int)
    for rel, sub in sorted(present):
        with findings.guard(join(table, rel)):
            rows[sub] += check_file(fs, table, rel, exp.files, exp.run_id, findings)
    for rel in sorted(set(exp.files or {}) - {rel for rel, _ in present}):
        findings.add("MISSING", join(table, rel), f"run {exp.run_id} wrote it")
    return {k: v for k, v in rows.items() if v}


def check_tables(fs: LakeFS, expected: dict[tuple[str, str], Expected], findings: Findings) -> list[dict[str, Any]]:
    """Every expected partition file by file, and the partitions and root files no run wrote."""
    checked = []
    for table in sorted({t for t, _ in expected}):
        with findings.guard(table):
            files = table_files(fs, table) if fs.exists(table) else {}
            tops = {top for t, top in expected if t == table}
            for top in sorted(set(files) - tops):
                if top:
                    findings.add("UNKNOWN", join(table, top), "a partition no run manifest wrote (readers would read it)")
                else:
                    for rel, _ in files[top]:
                        findings.add("UNKNOWN", join(table, rel), "a file outside every partition (readers would read it)")
            for top in sorted(tops):
                exp = expected[(table, top)]
                got = check_partition(fs, table, top, exp, files.get(top, []), findings)
                want = {k: v for k, v in exp.rows.items() if v}
                checked.append({"table": table, "partition": top, "run_id": exp.run_id, "expected": want,
                                "found": got, "files": len(files.get(top, []))})
                if got != want:
                    findings.add("MISMATCH", join(table, top), f"run {exp.run_id} wrote {want} rows, the lake holds {got}")
    return checked


def check_manifests(fs: LakeFS, lake: str, findings: Findings) -> list[dict[str, Any]]:
    """The valid manifests; every invalid one, stray file and run whose counters do not add up
    (or do not count every input) is a finding."""
    scan = scan_manifests(fs, lake)
    for path, why in scan.invalid:
        findings.add("INVALID", path, why)
    for path in scan.stray:
        findings.add("STRAY", path, "not a run manifest (a temp file of an interrupted write?)")
    for m in scan.manifests:
        with findings.guard(f"_runs/{m['run_id']}.json"):
            if m.get("status") != "complete":
                continue
            lines = reconcile(m.get("counters", {}), [tuple(x) for x in m["funnel"]]) if m.get("funnel") else []
            if isinstance(m.get("inputs"), list) and "files.total" in m.get("counters", {}):
                lines += check_inputs(len(m["inputs"]), m["counters"])
            for line in lines:
                findings.add("COUNTERS", f"_runs/{m['run_id']}.json", f"counters do not reconcile: {line}")
    return scan.manifests


def check_files(fs: LakeFS, expected: dict[tuple[str, str], tuple[str, dict[str, int]]],
                findings: Findings) -> list[dict[str, Any]]:
    """Lines and bytes of every file a files output (BEIR) recorded."""
    checked = []
    for (table, path), (run_id, want) in sorted(expected.items()):
        full = join(table, path)
        got: dict[str, int] = {}
        with findings.guard(full):
            got = file_counts(fs, full) if fs.exists(full) else {}
            if got != want:
                findings.add("MISSING" if not got else "MISMATCH", full,
                             f"run {run_id} wrote {want}, the lake holds {got or 'no such file'}")
        checked.append({"table": table, "file": path, "run_id": run_id, "expected": want, "found": got})
    return checked


def verify(lake: str, fs: LakeFS | None = None, s3: Any = None) -> dict[str, Any]:
    """Check a lake (a directory, or an s3://, gs:// or hdfs:// URI) against its manifests.
    ``problems`` holds one line per finding; ``ok`` is whether there is none."""
    findings = Findings()
    manifests: list[dict[str, Any]] = []
    partitions: list[dict[str, Any]] = []
    files: list[dict[str, Any]] = []
    store = reader_store(lake, s3)
    before = read_view(store, lake) if store else None
    with findings.guard(lake):
        fs = fs or lake_fs(lake, s3)
        manifests = check_manifests(fs, lake, findings)
        outputs = complete_outputs(manifests, findings)
        partitions = check_tables(fs, expected_partitions(lake, outputs, findings), findings)
        files = check_files(fs, expected_files(lake, outputs, findings), findings)
    writer = None
    if before is not None:
        writer = before if before.state() == "held" else written_since(store, lake, before)
    return {"lake": lake, "runs": len(manifests), "partitions_checked": partitions, "files_checked": files,
            "findings": [asdict(f) for f in findings.items], "problems": [str(f) for f in findings.items],
            "ok": not findings.items, "written_during": writer.describe() if writer else None}
