"""`webfaq verify`: re-derive counts from the lake and compare them with the run manifests.

Two independent sources must agree: what the jobs counted while they ran (manifest counters,
which must also satisfy their own funnel) and what the lake's files hold now. For every table
and top-level partition (``crawl=…``) the newest complete run that wrote it names the rows it
wrote per second-level partition (``language=…``); the lake's Parquet footers give the rows
present. Any difference — a lost file, a duplicated write, a manual edit — is reported.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from webfaq.counters import reconcile
from webfaq.lake import LakeFS, LocalFS, join, read_manifests


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
        rows[value] += pq.ParquetFile(join(table, top, f.path).replace("file://", "")).metadata.num_rows
    return dict(rows)


def expected_partitions(lake: str, manifests: list[dict[str, Any]]) -> dict[tuple[str, str], tuple[str, dict[str, int]]]:
    """(table path, top partition) -> (run id, rows per sub-partition) of the newest complete run
    (tables are located by name under ``lake``, so a lake that was moved still verifies)."""
    expected: dict[tuple[str, str], tuple[str, dict[str, int]]] = {}
    for m in manifests:  # oldest first, so newer runs overwrite
        out = m.get("output") or {}
        if m.get("status") != "complete" or "partition_rows" not in out or out.get("format") == "delta":
            continue
        for crawl in out.get("crawls", []):
            table = join(lake, out["table"].rstrip("/").rsplit("/", 1)[-1])
            expected[(table, f"crawl={crawl}")] = (m["run_id"], out["partition_rows"].get(crawl, {}))
    return expected


def verify(lake: str, fs: LakeFS | None = None) -> dict[str, Any]:
    fs = fs or LocalFS()
    manifests = read_manifests(fs, lake)
    problems: list[str] = []
    for m in manifests:
        if m.get("status") == "complete" and m.get("funnel"):
            for line in reconcile(m.get("counters", {}), [tuple(x) for x in m["funnel"]]):
                problems.append(f"run {m['run_id']}: counters do not reconcile: {line}")
    checked = []
    for (table, top), (run_id, want) in sorted(expected_partitions(lake, manifests).items()):
        got = lake_partition_rows(fs, table, top) if fs.exists(join(table, top)) else {}
        want = {k: v for k, v in want.items() if v}
        checked.append({"table": table, "partition": top, "run_id": run_id, "expected": want, "found": got})
        if got != want:
            problems.append(f"{table}/{top}: run {run_id} wrote {want}, the lake holds {got}")
    return {"lake": lake, "runs": len(manifests), "partitions_checked": checked, "problems": problems,
            "ok": not problems}
