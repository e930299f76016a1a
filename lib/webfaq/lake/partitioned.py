"""Partitioned tables whose files keep their partition columns, written on the executors.

Spark's ``partitionBy`` moves the partition columns (``crawl``, ``language``, ``pair``) out of
the data files into directory names. Readers that do hive discovery (Spark, pyarrow with
``partitioning="hive"``, DuckDB with ``hive_partitioning``) put them back; readers that take a
glob of files (``datasets.load_dataset("parquet", data_files=...)``, polars, a copied file)
get rows without a language. So every job writes its partition directories itself:
``SparkJob.write_partitioned`` shuffles rows to tasks exactly as the Spark writer would
(same file count per directory), sorts each task by the partition columns, and runs
:func:`write_files` on the task's Arrow batches (``mapInArrow``). Each run of equal partition
values becomes one file holding *all* columns, the partition columns included; the directory
layout stays ``col=value/...``, so hive readers still prune by directory.

A partition value becomes a folder name, and values come from data (a WARC's ``isPartOf``, a
language code), so each is checked with the lake's one name rule (``webfaq.lake.names``)
before it touches a path, and every file path is confined under the lake root
(``webfaq.lake.names.confine``) on the executor that writes it.

Files appear whole or not at all: written under a dot-prefixed temp name that every reader
skips, then renamed (on S3/GCS the upload itself is atomic and goes to the final name). A task
attempt that is retried rewrites the same names (the partition id and the write's token are
fixed), so a retry never leaves a second copy behind.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

from webfaq.lake.names import NAME_RE, check_name, confine
from webfaq.lake.table import arrow_fs

# What may become a directory name: the lake's one name rule (letters, digits, '.', '_' and
# '-', starting with a letter or digit). Covers crawl ids (CC-MAIN-2024-22), ISO 639-3 codes
# (deu), language pairs (deu-eng) and model names.
PARTITION_VALUE = NAME_RE
FORMATS = ("parquet", "jsonl")
# One row per file written: what the driver collects (a few rows per task, never data).
WRITTEN_SCHEMA = "dir string, file string, rows long"
# Rows a Parquet row group collects before it is written: Spark hands batches of 10,000 rows,
# and a row group per batch would make footers large and scans slow.
ROW_GROUP_ROWS = 262_144
ROW_GROUP_BYTES = 64 << 20


def safe_value(column: str, value: Any) -> str:
    """``value`` as a directory name for ``column``; ``BadName`` (a ValueError) when it is not
    a valid lake name."""
    check_name("partition column", column)
    return check_name(f"partition value {column}=", "" if value is None else str(value))


def partition_dir(columns: Sequence[str], values: Sequence[Any]) -> str:
    """``crawl=CC-MAIN-2024-22/language=deu`` for the columns and their values."""
    return "/".join(f"{c}={safe_value(c, v)}" for c, v in zip(columns, values))


def file_name(fmt: str, task: int, token: str, values: Sequence[str]) -> str:
    """Parquet: ``part-<task>-<token>.parquet`` (unique per write, so files moved next to
    older ones, as a Delta commit does, never collide). JSON lines: ``<last value>.jsonl``,
    one file per partition (the caller gives each partition to one task)."""
    if fmt == "jsonl":
        return f"{values[-1]}.jsonl"
    return f"part-{task:05d}-{token}.parquet"


@dataclass
class _Output:
    """One file being written: a temp name until :meth:`commit` renames it into place."""

    filesystem: Any
    final: str
    tmp: str
    stream: Any
    writer: Any = None
    rows: int = 0
    pending: list = None  # batches of the row group being collected
    pending_bytes: int = 0

    @classmethod
    def open(cls, root: str, rel: str, lake_root: str) -> "_Output":
        confine(lake_root, f"{root.rstrip('/')}/{rel}")
        filesystem, base = arrow_fs(root)
        final = f"{base.rstrip('/')}/{rel}"
        folder, name = final.rsplit("/", 1)
        filesystem.create_dir(folder, recursive=True)
        # object stores publish an upload only when it completes: no temp name needed there
        tmp = final if filesystem.type_name in ("s3", "gcs") else f"{folder}/.{name}.{uuid.uuid4().hex}.tmp"
        return cls(filesystem, final, tmp, filesystem.open_output_stream(tmp), pending=[])

    def write(self, batch, fmt: str) -> None:
        self.rows += batch.num_rows
        if fmt == "jsonl":
            lines = batch.column("value").to_pylist()
            self.stream.write("".join(line + "\n" for line in lines).encode("utf-8"))
            return
        self.pending.append(batch)
        self.pending_bytes += batch.nbytes
        if sum(b.num_rows for b in self.pending) >= ROW_GROUP_ROWS or self.pending_bytes >= ROW_GROUP_BYTES:
            self.flush()

    def flush(self) -> None:
        """Write the collected batches as one row group."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not self.pending:
            return
        table = pa.Table.from_batches(self.pending)
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.stream, table.schema)
        self.writer.write_table(table, row_group_size=table.num_rows)
        self.pending, self.pending_bytes = [], 0

    def commit(self) -> None:
        self.flush()
        if self.writer is not None:
            self.writer.close()
        self.stream.close()
        if self.tmp != self.final:
            self.filesystem.move(self.tmp, self.final)


def runs(batch, columns: Sequence[str]) -> Iterator[tuple[tuple, Any]]:
    """(partition values, slice) for each run of equal values of ``columns`` in ``batch``."""
    import numpy as np
    import pyarrow.compute as pc

    n = batch.num_rows
    if n == 0:
        return
    keys = [batch.column(c) for c in columns]
    for c, k in zip(columns, keys):
        if k.null_count:
            raise ValueError(f"partition column {c} is null in {k.null_count} rows")
    change = np.zeros(n - 1, dtype=bool)
    for k in keys:
        if n > 1:
            change |= pc.not_equal(k.slice(1), k.slice(0, n - 1)).to_numpy(zero_copy_only=False)
    starts = [0, *(np.flatnonzero(change) + 1).tolist()]
    for start, end in zip(starts, [*starts[1:], n]):
        yield tuple(k[start].as_py() for k in keys), batch.slice(start, end - start)


def write_files(batches, root: str, partition_by: Sequence[str], token: str, fmt: str = "parquet", *,
                lake_root: str):
    """``mapInArrow`` body: the task's batches, sorted by ``partition_by``, written as one file
    per partition directory under ``root``, which must lie under ``lake_root`` (Parquet with every column, or the ``value``
    column as JSON lines). Yields one (dir, file, rows) row per file."""
    import pyarrow as pa
    from pyspark import TaskContext

    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r} is not one of {FORMATS}")
    confine(lake_root, root)
    check_name("token", token)
    task = TaskContext.get().partitionId()
    done: list[tuple[str, str, int]] = []
    finished: set[str] = set()
    current: tuple | None = None
    out: _Output | None = None
    try:
        for batch in batches:
            for values, piece in runs(batch, partition_by):
                if values != current:
                    if out is not None:
                        out.commit()
                        done.append((partition_dir(partition_by, current), out.final.rsplit("/", 1)[1], out.rows))
                        finished.add(done[-1][0])
                    folder = partition_dir(partition_by, values)
                    if folder in finished:  # would overwrite a finished file
                        raise ValueError(f"task {task}: rows of {folder} are not contiguous (unsorted input)")
                    current = values
                    out = _Output.open(root, f"{folder}/{file_name(fmt, task, token, [str(v) for v in values])}",
                                       lake_root)
                out.write(piece, fmt)
        if out is not None:
            out.commit()
            done.append((partition_dir(partition_by, current), out.final.rsplit("/", 1)[1], out.rows))
            out = None
    finally:
        if out is not None and out.tmp != out.final:  # a failed task leaves no temp file behind
            try:
                out.stream.close()
                out.filesystem.delete_file(out.tmp)
            except Exception:  # noqa: BLE001 - the original error matters more
                pass
    if done:
        dirs, files, rows = zip(*done)
        yield pa.RecordBatch.from_pydict({"dir": list(dirs), "file": list(files), "rows": list(rows)},
                                         schema=pa.schema([("dir", pa.string()), ("file", pa.string()),
                                                           ("rows", pa.int64())]))
