"""`webfaq verify`: re-derive counts from the lake and compare them with the run manifests.

Two independent sources must agree: what the jobs counted while they ran (manifest counters,
which must also satisfy their own funnel) and what the lake's files hold now. For every table
and top-level partition (``crawl=…``, or ``pair=…`` for bitext) the newest complete run that
wrote it names the rows it wrote per second-level partition (``language=…``); the lake's
Parquet footers give the rows present (for Delta tables, of the files the log holds active). For file outputs (the BEIR benchmark folders) the run
names each file's lines and bytes, and the files are counted again. Any difference — a lost
file, a duplicated write, a truncated copy, a manual edit — is reported.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from webfaq.counters import reconcile
from webfaq.lake import LakeFS, delta_active_files, is_delta, join, lake_fs, read_manifests


def lake_partition_rows(fs: LakeFS, table: str, top: str) -> dict[str, int]:
    """Rows per second-level partition value under ``table/top``, from Parquet metadata."""
    import pyarrow.parquet as pq

    rows: dict[str, int] = defaultdict(int)
    for f in fs.list_files(join(table, top)):
        name = f.path.rsplit("/", 1)[-1]
        if not name.endswith(".parquet") or name.startswith(("_", ".")):
            continue
        level = f.path.split("/")[0]
        value = level.split("=", 1)[1] if "=" in level else ""
        with fs.open_input(join(table, top, f.path)) as fh:
            rows[value] += pq.ParquetFile(fh).metadata.num_rows
    return dict(rows)


def delta_partition_rows(fs: LakeFS, table: str) -> dict[str, dict[str, int]]:
    """Rows per top-level partition (``crawl=…``) and second-level value of a Delta table,
    counted in the Parquet footers of the files its log holds as active now. A file the log
    names that is missing counts as ``"<missing file>"`` rows, so the difference shows."""
    import pyarrow.parquet as pq

    rows: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for rel, values in delta_active_files(table):
        keys = list(values)
        top = f"{keys[0]}={values[keys[0]]}" if keys else ""
        sub = (values[keys[1]] or "") if len(keys) > 1 else ""
        path = join(table, rel)
        if not fs.exists(path):
            rows[top]["<missing file>"] += 1
            continue
        with fs.open_input(path) as fh:
            rows[top][sub] += pq.ParquetFile(fh).metadata.num_rows
    return {top: dict(v) for top, v in rows.items()}


def expected_partitions(lake: str, manifests: list[dict[str, Any]]) -> dict[tuple[str, str], tuple[str, dict[str, int]]]:
    """(table path, top partition) -> (run id, rows per sub-partition) of the newest complete run
    (tables are located by name under ``lake``, so a lake that was moved still verifies). A
    manifest's ``output`` names its top-level partition key (``crawl`` unless it says
    ``partition_key``, e.g. ``pair`` for bitext) and the partitions it replaced."""
    expected: dict[tuple[str, str], tuple[str, dict[str, int]]] = {}
    for out, run_id in _outputs(manifests):
        if "partition_rows" not in out:
            continue
        key = out.get("partition_key", "crawl")
        for value in out.get("partitions", out.get("crawls", [])):
            expected[(_table(lake, out), f"{key}={value}")] = (run_id, out["partition_rows"].get(value, {}))
    return expected


def expected_files(lake: str, manifests: list[dict[str, Any]]) -> dict[tuple[str, str], tuple[str, dict[str, int]]]:
    """(table path, file path in it) -> (run id, {"lines", "bytes"}) of the newest complete run,
    for outputs that are files rather than Parquet partitions (the BEIR benchmark folders)."""
    expected: dict[tuple[str, str], tuple[str, dict[str, int]]] = {}
    for out, run_id in _outputs(manifests):
        for path, want in (out.get("files") or {}).items():
            expected[(_table(lake, out), path)] = (run_id, want)
    return expected


def file_counts(fs: LakeFS, path: str) -> dict[str, int]:
    """Lines (newline-terminated, plus a last unterminated one) and bytes of a file, read in
    1 MiB blocks (a corpus file can be gigabytes)."""
    lines = size = 0
    last = b"\n"
    with fs.open_input(path) as f:
        while block := f.read(1 << 20):
            lines += block.count(b"\n")
            size += len(block)
            last = block[-1:]
    return {"lines": lines + (last != b"\n"), "bytes": size}


def _outputs(manifests: list[dict[str, Any]]):
    """(output part, run id) of complete runs, oldest first (so newer runs overwrite): the main
    ``output`` and any ``side_outputs`` (dedup's faq_dedup_dropped)."""
    for m in manifests:
        if m.get("status") != "complete":
            continue
        for out in [m.get("output"), *(m.get("side_outputs") or [])]:
            if isinstance(out, dict) and out.get("table"):
                yield out, m["run_id"]


def _table(lake: str, out: dict[str, Any]) -> str:
    return join(lake, out["table"].rstrip("/").rsplit("/", 1)[-1])


def verify(lake: str, fs: LakeFS | None = None, s3: Any = None) -> dict[str, Any]:
    """Check a lake (a directory, or an s3://, gs:// or hdfs:// URI) against its manifests."""
    fs = fs or lake_fs(lake, s3)
    manifests = read_manifests(fs, lake)
    problems: list[str] = []
    for m in manifests:
        if m.get("status") == "complete" and m.get("funnel"):
            for line in reconcile(m.get("counters", {}), [tuple(x) for x in m["funnel"]]):
                problems.append(f"run {m['run_id']}: counters do not reconcile: {line}")
    checked = []
    delta: dict[str, dict[str, dict[str, int]]] = {}  # Delta tables, read once
    for (table, top), (run_id, want) in sorted(expected_partitions(lake, manifests).items()):
        if is_delta(fs, table):
            if table not in delta:
                delta[table] = delta_partition_rows(fs, table)
            got = delta[table].get(top, {})
        else:
            got = lake_partition_rows(fs, table, top) if fs.exists(join(table, top)) else {}
        want = {k: v for k, v in want.items() if v}
        checked.append({"table": table, "partition": top, "run_id": run_id, "expected": want, "found": got})
        if got != want:
            problems.append(f"{table}/{top}: run {run_id} wrote {want}, the lake holds {got}")
    files = []
    for (table, path), (run_id, want) in sorted(expected_files(lake, manifests).items()):
        full = join(table, path)
        got = file_counts(fs, full) if fs.exists(full) else {}
        files.append({"table": table, "file": path, "run_id": run_id, "expected": want, "found": got})
        if got != want:
            problems.append(f"{full}: run {run_id} wrote {want}, the lake holds {got or 'no such file'}")
    return {"lake": lake, "runs": len(manifests), "partitions_checked": checked, "files_checked": files,
            "problems": problems, "ok": not problems}
