"""Lake layout, atomic partition replacement and Delta commits (run manifests: ``manifest.py``).

Layout::

    <lake>/faq/crawl=<id>/language=<iso639-3>/part-*.parquet   (the FAQ table)
    <lake>/_runs/<run-id>.json                                 (one manifest per run)
    <lake>/_staging/<run-id>/...                               (a run's private scratch space)

Readers must never see a half-written crawl. Parquet: a run writes the whole new crawl partition
under ``_staging`` and swaps it in with directory renames (old -> ``_trash``, new -> place);
a reader sees the old crawl, then the new one, never a mix and never both. Delta: new files
are committed in one Delta transaction that also removes the crawl's old files, which gives
snapshot isolation on any object store.

The file-system operations are a small protocol so this module runs on a plain local FS in
unit tests and on Hadoop's FileSystem (HDFS, S3, GCS) inside Spark jobs.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from dataclasses import dataclass
from typing import Any, BinaryIO, Callable, Iterable, Protocol

from webfaq.faults import failpoint


@dataclass(frozen=True)
class FileInfo:
    path: str  # relative to the directory that was listed, "/"-separated
    size: int
    mtime_ms: int


class LakeFS(Protocol):
    def exists(self, path: str) -> bool: ...
    def mkdirs(self, path: str) -> None: ...
    def rename(self, src: str, dst: str) -> None: ...
    def delete(self, path: str) -> None: ...
    def list_dirs(self, path: str) -> list[str]: ...
    def list_files(self, path: str) -> list[FileInfo]: ...
    def write_text(self, path: str, text: str) -> None: ...
    def read_text(self, path: str) -> str: ...


def _local(path: str) -> str:
    return path[len("file://"):] if path.startswith("file://") else path


class LocalFS:
    """LakeFS on the local file system (tests, single-machine runs, report/verify tools)."""

    def exists(self, path: str) -> bool:
        return os.path.exists(_local(path))

    def mkdirs(self, path: str) -> None:
        os.makedirs(_local(path), exist_ok=True)

    def rename(self, src: str, dst: str) -> None:
        os.makedirs(os.path.dirname(_local(dst)) or ".", exist_ok=True)
        os.rename(_local(src), _local(dst))

    def delete(self, path: str) -> None:
        p = _local(path)
        if os.path.isdir(p):
            shutil.rmtree(p)
        elif os.path.exists(p):
            os.remove(p)

    def list_dirs(self, path: str) -> list[str]:
        p = _local(path)
        if not os.path.isdir(p):
            return []
        return sorted(n for n in os.listdir(p) if os.path.isdir(os.path.join(p, n)))

    def list_files(self, path: str) -> list[FileInfo]:
        out = []
        base = _local(path)
        for root, _, names in os.walk(base):
            for name in names:
                full = os.path.join(root, name)
                st = os.stat(full)
                rel = os.path.relpath(full, base).replace(os.sep, "/")
                out.append(FileInfo(rel, st.st_size, int(st.st_mtime * 1000)))
        return sorted(out, key=lambda f: f.path)

    def write_text(self, path: str, text: str) -> None:
        p = _local(path)
        os.makedirs(os.path.dirname(p) or ".", exist_ok=True)
        tmp = f"{p}.{uuid.uuid4().hex}.tmp"
        with removed_on_failure(lambda: os.remove(tmp) if os.path.exists(tmp) else None):
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(text)
                failpoint("local.write_text")
            os.replace(tmp, p)

    def read_text(self, path: str) -> str:
        with open(_local(path), encoding="utf-8") as fh:
            return fh.read()

    def open_input(self, path: str) -> BinaryIO:
        return open(_local(path), "rb")

    def arrow(self, path: str):
        """(pyarrow file system, path) for pyarrow readers."""
        from pyarrow import fs as pafs

        return pafs.LocalFileSystem(), os.path.abspath(_local(path))


class ArrowFS:
    """LakeFS over a pyarrow file system, for the tools that run without a JVM (``webfaq
    report``, ``webfaq verify``) on lakes in S3, GCS or HDFS. Every path is a URI under
    ``root``, the lake's URI."""

    def __init__(self, root: str, s3: Any = None):
        self.root = root.rstrip("/")
        self.fs, self.base = arrow_fs(self.root, s3)
        self.base = self.base.rstrip("/")

    def path(self, uri: str) -> str:
        uri = uri.rstrip("/")
        if uri != self.root and not uri.startswith(self.root + "/"):
            raise ValueError(f"{uri} is not under the lake {self.root}")
        return self.base + uri[len(self.root):]

    def _info(self, path: str):
        return self.fs.get_file_info(self.path(path))

    def exists(self, path: str) -> bool:
        from pyarrow import fs as pafs

        return self._info(path).type != pafs.FileType.NotFound

    def mkdirs(self, path: str) -> None:
        self.fs.create_dir(self.path(path), recursive=True)

    def rename(self, src: str, dst: str) -> None:
        self.fs.move(self.path(src), self.path(dst))

    def delete(self, path: str) -> None:
        from pyarrow import fs as pafs

        kind = self._info(path).type
        if kind == pafs.FileType.Directory:
            self.fs.delete_dir(self.path(path))
        elif kind == pafs.FileType.File:
            self.fs.delete_file(self.path(path))

    def _listing(self, path: str, recursive: bool) -> list:
        from pyarrow import fs as pafs

        selector = pafs.FileSelector(self.path(path), recursive=recursive, allow_not_found=True)
        return self.fs.get_file_info(selector)

    def list_dirs(self, path: str) -> list[str]:
        from pyarrow import fs as pafs

        return sorted(i.base_name for i in self._listing(path, False) if i.type == pafs.FileType.Directory)

    def list_files(self, path: str) -> list[FileInfo]:
        from pyarrow import fs as pafs

        base = self.path(path) + "/"
        out = [FileInfo(i.path[len(base):], i.size, int(i.mtime.timestamp() * 1000) if i.mtime else 0)
               for i in self._listing(path, True) if i.type == pafs.FileType.File]
        return sorted(out, key=lambda f: f.path)

    def write_text(self, path: str, text: str) -> None:
        """One PUT on object stores (atomic there); temp name + move elsewhere."""
        target = self.path(path)
        self.fs.create_dir(target.rsplit("/", 1)[0], recursive=True)
        tmp = target if self.fs.type_name in ("s3", "gcs") else f"{target}.{uuid.uuid4().hex}.tmp"
        with removed_on_failure(lambda: _delete_arrow_file(self.fs, tmp) if tmp != target else None):
            with self.fs.open_output_stream(tmp) as out:
                out.write(text.encode("utf-8"))
                failpoint("arrow.write_text")
            if tmp != target:
                self.fs.move(tmp, target)

    def read_text(self, path: str) -> str:
        with self.fs.open_input_stream(self.path(path)) as f:
            return f.read().decode("utf-8")

    def open_input(self, path: str) -> BinaryIO:
        return self.fs.open_input_file(self.path(path))

    def arrow(self, path: str):
        return self.fs, self.path(path)


def lake_fs(uri: str, s3: Any = None) -> "LocalFS | ArrowFS":
    """The file system of a lake for code that runs without Spark: local paths and file://
    directly, anything else (s3://, gs://, hdfs://) through pyarrow."""
    if "://" not in uri or uri.startswith("file:"):
        return LocalFS()
    return ArrowFS(uri, s3)


def join(*parts: str) -> str:
    return "/".join([parts[0].rstrip("/")] + [p.strip("/") for p in parts[1:]])


def table_path(lake: str, table: str) -> str:
    return join(lake, table)


def staging_path(lake: str, run_id: str, *parts: str) -> str:
    return join(lake, "_staging", run_id, *parts)


def crawl_dirs(fs: LakeFS, table: str) -> list[str]:
    """The crawls a table holds: its ``crawl=<id>`` partition directories, or for a Delta table
    the crawls of the files its log holds active (a replaced crawl's directory can remain)."""
    if is_delta(fs, table):
        return sorted({values.get("crawl") for _, values in delta_active_files(table)} - {None})
    return sorted(d.split("=", 1)[1] for d in fs.list_dirs(table) if d.startswith("crawl="))


def is_delta(fs: LakeFS, table: str) -> bool:
    return fs.exists(join(table, "_delta_log"))


def delta_active_files(table: str, where: dict[str, list[str]] | None = None) -> list[tuple[str, dict[str, str]]]:
    """(path under ``table``, partition values) of the files a Delta table's log holds active
    now, optionally only those whose partition values are in ``where`` (column -> values).
    Files that later commits replaced stay on disk until vacuum, so a Delta table must never be
    read by listing its directories."""
    import pyarrow as pa
    from deltalake import DeltaTable

    dt = DeltaTable(_local(table))
    keys = dt.metadata().partition_columns
    out = []
    for action in pa.table(dt.get_add_actions(flatten=True)).to_pylist():  # arro3 -> pyarrow
        values = {k: None if action[f"partition.{k}"] is None else str(action[f"partition.{k}"]) for k in keys}
        if all(values.get(col) in set(vals) for col, vals in (where or {}).items()):
            out.append((action["path"], values))
    return sorted(out)


def is_data_file(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return name.endswith(".parquet") and not name.startswith(("_", "."))


# --------------------------------------------------------------------------- parquet swap

def _trash_root(table: str, run_id: str) -> str:
    root, name = table.rstrip("/").rsplit("/", 1)
    return join(root, "_trash", run_id, name)


def swap_partitions(fs: LakeFS, staged_table: str, table: str, run_id: str, partitions: list[str]) -> list[str]:
    """Make each top-level partition in ``partitions`` (e.g. ``crawl=CC-MAIN-2024-22``) of
    ``table`` equal to the one in ``staged_table``, as a whole: a partition the run produced no
    rows for is emptied too (a re-run replaces, it never merges). Returns the names swapped.

    A driver that dies between the two renames leaves the old partition in ``_trash``; the next
    run's :func:`recover` puts it back, so a crash never loses the previous data."""
    trash = _trash_root(table, run_id)
    fs.mkdirs(table)
    for part in partitions:
        target = join(table, part)
        if fs.exists(target):
            fs.rename(target, join(trash, part))
            failpoint("swap.after_trash")
        if fs.exists(join(staged_table, part)):
            fs.rename(join(staged_table, part), target)
    failpoint("swap.after_place")
    fs.delete(join(trash.rsplit("/", 1)[0]))
    return list(partitions)


def recover(fs: LakeFS, lake: str, keep: Iterable[str] = ()) -> dict[str, list[str]]:
    """Undo what runs that died left behind: a partition moved to ``_trash`` whose replacement
    never arrived goes back in place (roll back); other trash and staging dirs are deleted.
    Call at the start of a job, before it writes (one writer per lake at a time)."""
    done: dict[str, list[str]] = {"restored": [], "removed": []}
    keep = set(keep)
    for run in fs.list_dirs(join(lake, "_trash")):
        if run in keep:
            continue
        for table in fs.list_dirs(join(lake, "_trash", run)):
            for part in fs.list_dirs(join(lake, "_trash", run, table)):
                target = join(lake, table, part)
                if not fs.exists(target):
                    fs.rename(join(lake, "_trash", run, table, part), target)
                    done["restored"].append(f"{table}/{part}")
        fs.delete(join(lake, "_trash", run))
        done["removed"].append(f"_trash/{run}")
    for run in fs.list_dirs(join(lake, "_staging")):
        if run not in keep:
            fs.delete(join(lake, "_staging", run))
            done["removed"].append(f"_staging/{run}")
    return done


# --------------------------------------------------------------------------- delta commit

def _partition_values(rel_path: str) -> dict[str, str]:
    values = {}
    for segment in rel_path.split("/")[:-1]:
        key, sep, value = segment.partition("=")
        if sep:
            from urllib.parse import unquote

            values[key] = unquote(value)
    return values


def commit_delta(fs: LakeFS, staged_table: str, table: str, replace: dict[str, list[str]],
                 partition_by: list[str], schema, storage_options: dict[str, str] | None = None) -> int:
    """Move Spark-written Parquet files from ``staged_table`` into the Delta table at ``table``
    and commit them in one transaction that replaces the partitions in ``replace``
    (column -> values, e.g. {"crawl": ["CC-MAIN-2024-22"]}). ``schema`` is the table's pyarrow
    schema including partition columns. Returns the number of files committed.

    Spark part-file names carry a per-job UUID, so moving them next to the files they replace
    never collides; the replaced files stay on disk (for time travel) until ``vacuum``."""
    from deltalake import DeltaTable, Schema
    from deltalake.transaction import AddAction, create_table_with_add_actions

    schema = Schema.from_arrow(schema)
    adds = []
    for f in fs.list_files(staged_table):
        if not is_data_file(f.path):
            continue
        fs.rename(join(staged_table, f.path), join(table, f.path))
        adds.append(AddAction(f.path, f.size, _partition_values(f.path), f.mtime_ms, True, "{}"))
    uri = _local(table)
    if DeltaTable.is_deltatable(uri, storage_options=storage_options):
        filters = [(col, "in", vals) for col, vals in replace.items()]
        DeltaTable(uri, storage_options=storage_options).create_write_transaction(
            adds, mode="overwrite", schema=schema, partition_by=partition_by, partition_filters=filters)
    else:
        create_table_with_add_actions(uri, schema, adds, mode="error", partition_by=partition_by,
                                      storage_options=storage_options)
    return len(adds)


# --------------------------------------------------------------------------- executor-side files

def arrow_fs(uri: str, s3: Any = None):
    """(pyarrow FileSystem, path) for a lake URI, usable on executors without a JVM: local
    paths, file://, s3:// (s3a:// and EMRFS s3:// alike), gs://, hdfs://. S3 uses the default
    credential chain (a lake bucket is private, unlike Common Crawl's); ``s3`` (an
    ``S3Config``) may name another endpoint and region."""
    from pyarrow import fs as pafs

    if "://" not in uri:
        return pafs.LocalFileSystem(), os.path.abspath(uri)
    if uri.startswith("s3a://") or uri.startswith("s3n://"):
        uri = "s3://" + uri.split("://", 1)[1]
    if uri.startswith("s3://") and s3 is not None and s3.endpoint_url:
        return pafs.S3FileSystem(endpoint_override=s3.endpoint_url, region=s3.region), uri[len("s3://"):]
    if uri.startswith("file:") and not uri.startswith("file://"):
        uri = "file://" + uri[len("file:"):]
    return pafs.FileSystem.from_uri(uri)


def write_parquet_atomic(uri: str, table) -> None:
    """Write one Parquet file so that readers see all of it or nothing: temp name + rename on
    file systems with rename, a single PUT on object stores (atomic there by definition)."""
    import pyarrow.parquet as pq

    filesystem, path = arrow_fs(uri)
    filesystem.create_dir(path.rsplit("/", 1)[0], recursive=True)
    if filesystem.type_name in ("s3", "gcs"):
        pq.write_table(table, path, filesystem=filesystem)
        return
    tmp = f"{path.rsplit('/', 1)[0]}/.{path.rsplit('/', 1)[1]}.{uuid.uuid4().hex}.tmp"
    with removed_on_failure(lambda: _delete_arrow_file(filesystem, tmp)):
        pq.write_table(table, tmp, filesystem=filesystem)
        failpoint("parquet.write")
        filesystem.move(tmp, path)


@contextlib.contextmanager
def removed_on_failure(remove: Callable[[], Any]):
    """Run ``remove`` (delete a temp file) when the block fails, then let the error go on: a
    full disk must not leave half-written ``*.tmp`` files behind. A failing clean-up never
    hides the error that caused it."""
    try:
        yield
    except BaseException:
        try:
            remove()
        except Exception:  # noqa: BLE001 - the original error is the one to report
            pass
        raise


def _delete_arrow_file(filesystem, path: str) -> None:
    from pyarrow import fs as pafs

    if filesystem.get_file_info(path).type == pafs.FileType.File:
        filesystem.delete_file(path)
