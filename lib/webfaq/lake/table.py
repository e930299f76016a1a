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
unit tests and on Hadoop's FileSystem (HDFS, S3, GCS) inside Spark jobs. Every adapter is made
for one lake root and refuses to create, rename, delete or write anything outside it
(:func:`webfaq.lake.names.confine`), so a name that slipped past validation still cannot move
or delete a sibling of the lake.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from typing import Any, BinaryIO, Callable, Iterable, Protocol, TypeVar

from webfaq.faults import failpoint
from webfaq.lake.names import check_name, check_partition, confine


@dataclass(frozen=True)
class FileInfo:
    path: str  # relative to the directory that was listed, "/"-separated
    size: int
    mtime_ms: int


class LakeFS(Protocol):
    root: str
    s3: Any  # the lake's S3 settings (an S3Config), or None

    def exists(self, path: str) -> bool: ...
    def mkdirs(self, path: str) -> None: ...
    def rename(self, src: str, dst: str) -> None: ...
    def delete(self, path: str) -> None: ...
    def list_dirs(self, path: str) -> list[str]: ...
    def list_files(self, path: str) -> list[FileInfo]: ...
    def list_names(self, path: str) -> list[str]: ...
    def write_text(self, path: str, text: str) -> None: ...
    def read_text(self, path: str) -> str: ...
    def create_exclusive(self, path: str, text: str) -> bool: ...


def _local(path: str) -> str:
    return path[len("file://"):] if path.startswith("file://") else path


class Confined:
    """The root check every adapter applies: :meth:`_w` for what changes the lake (strictly
    under the root), :meth:`_r` for reads (the root itself allowed)."""

    root: str

    def _w(self, path: str) -> str:
        return confine(self.root, path)

    def _r(self, path: str) -> str:
        return confine(self.root, path, allow_root=True)


class LocalFS(Confined):
    """LakeFS on the local file system (tests, single-machine runs, report/verify tools), for
    the lake at ``root``."""

    s3: Any = None  # no S3 settings: a local lake

    def __init__(self, root: str):
        self.root = str(root)

    def exists(self, path: str) -> bool:
        return os.path.exists(_local(self._r(path)))

    def mkdirs(self, path: str) -> None:
        os.makedirs(_local(confine(self.root, path, allow_root=True)), exist_ok=True)

    def rename(self, src: str, dst: str) -> None:
        src, dst = _local(self._w(src)), _local(self._w(dst))
        os.makedirs(os.path.dirname(dst) or ".", exist_ok=True)
        os.rename(src, dst)

    def delete(self, path: str) -> None:
        p = _local(self._w(path))
        if os.path.isdir(p) and not os.path.islink(p):
            shutil.rmtree(p)
        elif os.path.lexists(p):
            os.remove(p)

    def list_dirs(self, path: str) -> list[str]:
        p = _local(self._r(path))
        if not os.path.isdir(p):
            return []
        return sorted(n for n in os.listdir(p) if os.path.isdir(os.path.join(p, n)))

    def list_names(self, path: str) -> list[str]:
        """Names of the plain files directly in ``path``."""
        p = _local(self._r(path))
        if not os.path.isdir(p):
            return []
        return sorted(n for n in os.listdir(p) if os.path.isfile(os.path.join(p, n)))

    def list_files(self, path: str) -> list[FileInfo]:
        out = []
        base = _local(self._r(path))
        for root, _, names in os.walk(base):
            for name in names:
                full = os.path.join(root, name)
                st = os.stat(full)
                rel = os.path.relpath(full, base).replace(os.sep, "/")
                out.append(FileInfo(rel, st.st_size, int(st.st_mtime * 1000)))
        return sorted(out, key=lambda f: f.path)

    def write_text(self, path: str, text: str) -> None:
        p = _local(self._w(path))
        os.makedirs(os.path.dirname(p) or ".", exist_ok=True)
        tmp = f"{p}.{uuid.uuid4().hex}.tmp"
        with removed_on_failure(lambda: os.remove(tmp) if os.path.exists(tmp) else None):
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(text)
                failpoint("local.write_text")
            os.replace(tmp, p)

    def create_exclusive(self, path: str, text: str) -> bool:
        """Create ``path`` holding ``text`` unless it exists; atomic: the whole file is written
        under a temporary name and then hard-linked into place (``link()`` fails when the name
        exists), so no reader ever sees it half-written. False when it existed."""
        p = _local(self._w(path))
        os.makedirs(os.path.dirname(p) or ".", exist_ok=True)
        tmp = f"{os.path.dirname(p) or '.'}/.{os.path.basename(p)}.{uuid.uuid4().hex}.tmp"
        try:  # the temp file goes whatever happens: a full disk must not leave it behind
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.link(tmp, p)
            return True
        except FileExistsError:
            return False
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)

    def read_text(self, path: str) -> str:
        with open(_local(self._r(path)), encoding="utf-8") as fh:
            return fh.read()

    def open_input(self, path: str) -> BinaryIO:
        return open(_local(self._r(path)), "rb")

    def arrow(self, path: str):
        """(pyarrow file system, path) for pyarrow readers."""
        from pyarrow import fs as pafs

        return pafs.LocalFileSystem(), os.path.abspath(_local(self._r(path)))


class ArrowFS(Confined):
    """LakeFS over a pyarrow file system, for the tools that run without a JVM (``webfaq
    report``, ``webfaq verify``, ``webfaq unlock``) on lakes in S3, GCS or HDFS. Every path is a
    URI under ``root``, the lake's URI."""

    def __init__(self, root: str, s3: Any = None):
        self.root = root.rstrip("/")
        self.s3 = s3  # the lake's S3 settings: its Delta tables are opened with them too
        self.fs, self.base = arrow_fs(self.root, s3)
        self.base = self.base.rstrip("/")

    def path(self, uri: str) -> str:
        uri = self._r(uri).rstrip("/")
        return self.base + uri[len(self.root):]

    def _info(self, path: str):
        return self.fs.get_file_info(self.path(path))

    def exists(self, path: str) -> bool:
        from pyarrow import fs as pafs

        return self._info(path).type != pafs.FileType.NotFound

    def mkdirs(self, path: str) -> None:
        self.fs.create_dir(self.path(path), recursive=True)

    def rename(self, src: str, dst: str) -> None:
        self.fs.move(self.path(self._w(src)), self.path(self._w(dst)))

    def delete(self, path: str) -> None:
        from pyarrow import fs as pafs

        kind = self._info(self._w(path)).type
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

    def list_names(self, path: str) -> list[str]:
        from pyarrow import fs as pafs

        return sorted(i.base_name for i in self._listing(path, False) if i.type == pafs.FileType.File)

    def list_files(self, path: str) -> list[FileInfo]:
        from pyarrow import fs as pafs

        base = self.path(path) + "/"
        out = [FileInfo(i.path[len(base):], i.size, int(i.mtime.timestamp() * 1000) if i.mtime else 0)
               for i in self._listing(path, True) if i.type == pafs.FileType.File]
        return sorted(out, key=lambda f: f.path)

    def write_text(self, path: str, text: str) -> None:
        """One PUT on object stores (atomic there); temp name + move elsewhere."""
        target = self.path(self._w(path))
        self.fs.create_dir(target.rsplit("/", 1)[0], recursive=True)
        tmp = target if self.fs.type_name in ("s3", "gcs") else f"{target}.{uuid.uuid4().hex}.tmp"
        with removed_on_failure(lambda: _delete_arrow_file(self.fs, tmp) if tmp != target else None):
            with self.fs.open_output_stream(tmp) as out:
                out.write(text.encode("utf-8"))
                failpoint("arrow.write_text")
            if tmp != target:
                self.fs.move(tmp, target)

    def create_exclusive(self, path: str, text: str) -> bool:
        """Only what ``webfaq unlock`` needs (a release marker): pyarrow has no conditional
        create, so this checks, then writes; the lease itself is taken through
        :func:`webfaq.lake.lease.lease_store`, which uses S3's conditional PUT or Hadoop."""
        if self.exists(path):
            return False
        self.write_text(path, text)
        return True

    def read_text(self, path: str) -> str:
        with self.fs.open_input_stream(self.path(path)) as f:
            return f.read().decode("utf-8")

    def open_input(self, path: str) -> BinaryIO:
        return self.fs.open_input_file(self.path(path))

    def arrow(self, path: str):
        return self.fs, self.path(path)


T = TypeVar("T")


def read_retried(fs: LakeFS, path: str, read: Callable[[BinaryIO], T], retry: Any = None) -> T:
    """``read(file)`` of the lake file at ``path``; on an object store the file is opened and
    read again when a read fails (with the ``[retry]`` settings' backoff). pyarrow's S3 client
    does not retry a throttled range read (503 SlowDown becomes "INTERNAL_FAILURE ... Failed to
    flush response stream"), so one busy moment of S3 made ``webfaq verify`` call a sound file
    unreadable and its partition short of rows. Local files are read once."""
    if isinstance(fs, LocalFS):
        with fs.open_input(path) as fh:
            return read(fh)
    from webfaq.config import RetryConfig
    from webfaq.lake.storage import FetchError, with_retries

    def attempt() -> T:
        try:
            with fs.open_input(path) as fh:
                return read(fh)
        except OSError as exc:  # pyarrow's object-store errors; what ``read`` finds in the bytes is no OSError
            raise FetchError("read_error", f"{type(exc).__name__}: {exc}", transient=True) from exc

    return with_retries(attempt, retry or RetryConfig())


def lake_fs(uri: str, s3: Any = None) -> "LocalFS | ArrowFS":
    """The file system of the lake at ``uri`` for code that runs without Spark: local paths
    and file:// directly, anything else (s3://, gs://, hdfs://) through pyarrow."""
    if "://" not in uri or uri.startswith("file:"):
        return LocalFS(uri)
    return ArrowFS(uri, s3)


def join(*parts: str) -> str:
    return "/".join([parts[0].rstrip("/")] + [p.strip("/") for p in parts[1:]])


def table_path(lake: str, table: str) -> str:
    return confine(lake, join(lake, check_name("table name", table)))


def staging_path(lake: str, run_id: str, *parts: str) -> str:
    return confine(lake, join(lake, "_staging", check_name("run id", run_id), *parts))


def crawl_dirs(fs: LakeFS, table: str) -> list[str]:
    """The crawls a table holds: its ``crawl=<id>`` partition directories, or for a Delta table
    the crawls of the files its log holds active (a replaced crawl's directory can remain)."""
    if is_delta(fs, table):
        return sorted({values.get("crawl") for _, values in delta_active_files(table, s3=fs.s3)} - {None})
    return sorted(d.split("=", 1)[1] for d in fs.list_dirs(table) if d.startswith("crawl="))


def is_delta(fs: LakeFS, table: str) -> bool:
    return fs.exists(join(table, "_delta_log"))


def s3_access(s3: Any = None) -> dict[str, str]:
    """How the lake's S3 is reached, from the ``[s3]`` settings: ``endpoint`` and ``region``
    when an endpoint is given (MinIO, a test server), and the keys of ``--s3-profile`` when one
    is named. Empty: the default credential chain and AWS. boto3 (the lease, the inputs), pyarrow
    and deltalake each have their own client; all three must reach the same store, or the lease
    is taken in one place while the data is read (or written) in another."""
    access: dict[str, str] = {}
    if s3 is None:
        return access
    if getattr(s3, "endpoint_url", None):
        access.update(endpoint=s3.endpoint_url, region=s3.region)
    if getattr(s3, "profile", None):
        from webfaq.lake.storage import boto_session

        creds = boto_session(s3.profile).get_credentials()
        if creds is not None:
            frozen = creds.get_frozen_credentials()
            access.update(key=frozen.access_key, secret=frozen.secret_key)
            if frozen.token:
                access["token"] = frozen.token
    return access


def is_s3_uri(uri: str) -> bool:
    return uri.startswith(("s3://", "s3a://", "s3n://"))


def delta_storage_options(table: str, s3: Any = None) -> dict[str, str] | None:
    """deltalake's storage options for the table at ``table``: on S3 the endpoint, region and
    profile keys of :func:`s3_access` (deltalake reads none of the ``[s3]`` settings itself
    and would go to AWS whatever ``--s3-endpoint`` says). None: deltalake's defaults."""
    if not is_s3_uri(table):
        return None
    access = s3_access(s3)
    names = {"endpoint": "AWS_ENDPOINT_URL", "region": "AWS_REGION", "key": "AWS_ACCESS_KEY_ID",
             "secret": "AWS_SECRET_ACCESS_KEY", "token": "AWS_SESSION_TOKEN"}
    options = {names[k]: v for k, v in access.items()}
    if access.get("endpoint", "").startswith("http://"):
        options["AWS_ALLOW_HTTP"] = "true"
    return options or None


def delta_table(table: str, s3: Any = None, version: int | None = None):
    """The Delta table at ``table`` (a local path, file:// or s3://), opened with the lake's S3
    settings (:func:`delta_storage_options`)."""
    from deltalake import DeltaTable

    return DeltaTable(_local(table), version=version, storage_options=delta_storage_options(table, s3))


def delta_active_files(table: str, where: dict[str, list[str]] | None = None,
                       version: int | None = None, s3: Any = None) -> list[tuple[str, dict[str, str]]]:
    """(path under ``table``, partition values) of the files a Delta table's log holds active
    now (or at ``version``), optionally only those whose partition values are in ``where``
    (column -> values). Files that later commits replaced stay on disk until vacuum, so a Delta
    table must never be read by listing its directories. ``s3``: the lake's S3 settings."""
    import pyarrow as pa

    dt = delta_table(table, s3, version)
    keys = dt.metadata().partition_columns
    out = []
    for action in pa.table(dt.get_add_actions(flatten=True)).to_pylist():  # arro3 -> pyarrow
        values = {k: None if action[f"partition.{k}"] is None else str(action[f"partition.{k}"]) for k in keys}
        if all(values.get(col) in set(vals) for col, vals in (where or {}).items()):
            out.append((action["path"], values))
    return sorted(out)


def delta_version(table: str, s3: Any = None) -> int | None:
    """The Delta table's current version, None when there is no table yet."""
    from deltalake import DeltaTable

    options = delta_storage_options(table, s3)
    return delta_table(table, s3).version() if DeltaTable.is_deltatable(_local(table), options) else None


def is_data_file(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return name.endswith(".parquet") and not name.startswith(("_", "."))


def check_staged_tree(fs: LakeFS, staged: str, kind: str) -> list[FileInfo]:
    """The files under ``staged``, after checking that every directory level is a valid
    partition name: a value Spark had to escape (``crawl=a%2Fb``) or that is not a plain name
    is refused here, before anything moves, instead of being lost by the swap."""
    files = fs.list_files(staged)
    for f in files:
        for segment in f.path.split("/")[:-1]:
            check_partition(kind, segment)
    return files


# --------------------------------------------------------------------------- parquet swap

def _relative(root: str, path: str) -> str:
    return confine(root, path)[len(root.rstrip("/")) + 1:].rstrip("/")


def swap_partitions(fs: LakeFS, staged_table: str, table: str, run_id: str, partitions: list[str],
                    last: bool = True) -> list[str]:
    """Make each top-level partition in ``partitions`` (e.g. ``crawl=CC-MAIN-2024-22``) of
    ``table`` equal to the one in ``staged_table``, as a whole: a partition the run staged no
    rows for is emptied too. What a run stages for a partition is its job's business (extract
    stages the crawl's old rows it keeps plus the new ones). Returns the names swapped.

    Before any rename, the swap is appended to the run's journal ``_trash/<run>/_swap.json``
    (one entry per table: its path, its partitions, which of them had an old and a staged
    partition), and the old partitions go to the run's trash. With ``last`` false the trash and
    journal stay after the swap, so a run that publishes several tables keeps them until
    :func:`end_swaps` after its last one: a driver that dies anywhere in between is rolled back
    by the next run's :func:`recover`, every table of the run to its previous state (a crash
    never loses the previous data, nor leaves some tables new and others old), for any table
    path (``embeddings/model=X`` too)."""
    check_name("run id", run_id)
    for part in partitions:
        check_partition(table.rsplit("/", 1)[-1], part)
    check_staged_tree(fs, staged_table, table.rsplit("/", 1)[-1])
    rel = _relative(fs.root, table)
    trash_run = join(fs.root, "_trash", run_id)
    entries = _journal(fs, fs.root, run_id) or []
    # a table swapped twice by one run keeps each old version apart
    trash = join(trash_run, f"_again{len(entries)}") if any(e["table"] == rel for e in entries) else trash_run
    entries.append({"table": rel, "parts": list(partitions), "staging": _relative(fs.root, staged_table),
                    "trash": _relative(fs.root, trash),
                    "existing": [p for p in partitions if fs.exists(join(table, p))],
                    "staged": [p for p in partitions if fs.exists(join(staged_table, p))]})
    _write_journal(fs, run_id, entries)
    fs.mkdirs(table)
    for part in partitions:
        target = join(table, part)
        if fs.exists(target):
            fs.rename(target, join(trash, rel, part))
            failpoint("swap.after_trash")
        if fs.exists(join(staged_table, part)):
            fs.rename(join(staged_table, part), target)
    failpoint("swap.after_place")
    if last:
        end_swaps(fs, run_id)
    return list(partitions)


def end_swaps(fs: LakeFS, run_id: str) -> None:
    """The run's swaps are all done: its old partitions and journal go, and the new ones stay
    whatever happens next (the run's publish is complete)."""
    fs.delete(join(fs.root, "_trash", check_name("run id", run_id)))


def _write_journal(fs: LakeFS, run_id: str, entries: list[dict]) -> None:
    fs.write_text(join(fs.root, "_trash", check_name("run id", run_id), "_swap.json"), json.dumps(entries))


def journal_delta_commit(fs: LakeFS, table: str, run_id: str, version: int | None) -> None:
    """Append to the run's journal, before its Delta commit to ``table``, the version the commit
    goes on top of (None: the commit creates the table), so that :func:`roll_back_run` can
    restore the table to it should the run fail or die before it ends its publish: a run's Delta
    tables then change together or not at all, like its Parquet ones."""
    entries = _journal(fs, fs.root, run_id) or []
    _write_journal(fs, run_id, entries + [{"table": _relative(fs.root, table), "delta": True, "version": version}])


def replace_side_file(fs: LakeFS, table: str, rel: str, text: str, run_id: str) -> None:
    """Write ``rel`` (e.g. ``crawl=C/_params.json``) in the Delta table ``table``, a file its log
    does not hold (dedup's band parameters), as part of the run's publish: its old content goes to
    the run's trash and the journal first, so a roll-back puts it back along with the table's
    version (a restored table with the failed run's parameters would mislead the next run)."""
    for segment in rel.split("/")[:-1]:
        check_partition(table.rsplit("/", 1)[-1], segment)
    check_name("file name", rel.rsplit("/", 1)[-1].lstrip("_"))  # "_": hidden from table readers
    entries, target = _journal(fs, fs.root, run_id) or [], join(table, rel)
    old = join("_trash", run_id, "_files", str(len(entries))) if fs.exists(target) else None
    if old is not None:
        fs.write_text(join(fs.root, old), fs.read_text(target))
    _write_journal(fs, run_id, entries + [{"table": _relative(fs.root, table), "file": rel, "old": old}])
    fs.write_text(target, text)


def _restore_side_file(fs: LakeFS, lake: str, entry: dict, done: list[str]) -> None:
    """Undo :func:`replace_side_file` (repeatable: the trashed copy stays until the journal goes)."""
    target = join(lake, entry["table"], entry["file"])
    if entry["old"] is None:
        fs.delete(target)
    else:
        fs.write_text(target, fs.read_text(join(lake, entry["old"])))
    done.append(f"{entry['table']}/{entry['file']}")


def _journal(fs: LakeFS, lake: str, run: str) -> list[dict] | None:
    """The run's swap journal: one entry per table swap, oldest first; a journal written before
    runs journalled several tables (one dict) is one entry. None when there is none."""
    journal = join(lake, "_trash", run, "_swap.json")
    if not fs.exists(journal):
        return None
    entry = json.loads(fs.read_text(journal))
    return [entry] if isinstance(entry, dict) else list(entry)


def _roll_back(fs: LakeFS, lake: str, run: str, entry: dict, complete: bool, done: list[str]) -> None:
    """Undo one journalled table swap of a dead run, part by part; safe to repeat after a
    recovery that itself was interrupted. ``complete``: a later entry exists, so every rename
    of this one was made (the journal grows only after a table's swap ends)."""
    table, staging = entry["table"], entry["staging"]
    trash = entry.get("trash", f"_trash/{run}")
    existing = set(entry["existing"])
    for part in entry["parts"]:
        target, old = join(lake, table, part), join(lake, trash, table, part)
        placed = part in entry["staged"] and (complete or not fs.exists(join(lake, staging, part)))
        if placed and (part not in existing or fs.exists(old)):
            fs.delete(target)  # the run's new partition (with an old one still in the trash: not restored yet)
        _put_back(fs, old, target, f"{table}/{part}", done)


RUN_KEY = "webfaq_run"  # commitInfo field naming the run that made a Delta commit


class RollBackRefused(RuntimeError):
    """A dead or failed run's Delta commit cannot be undone: another commit came after it. Nothing
    of the run is rolled back, and its journal stays (one line says which table and why)."""


def _delta_restore(lake: str, run: str, entry: dict, s3: Any = None) -> bool:
    """Whether the journalled Delta commit of ``run`` landed and is to be undone. Raises
    :class:`RollBackRefused` when the table's newest commit is not the run's (a restore would
    drop someone else's commit), before anything of the run is rolled back. ``s3``: the lake's
    S3 settings."""
    from deltalake import DeltaTable

    path, before = join(lake, entry["table"]), entry["version"]
    if not DeltaTable.is_deltatable(_local(path), delta_storage_options(path, s3)):
        return False  # the commit that was to create it never landed
    table = delta_table(path, s3)
    since = table.history(table.version() - (-1 if before is None else before))  # newest first
    if not any(c.get(RUN_KEY) == run for c in since):
        return False  # its commit never landed (a conflict, or it died before): nothing to undo
    last = since[0]
    if last.get(RUN_KEY) != run:
        raise RollBackRefused(f"{entry['table']}: not restored to version {before} for run {run}: its newest "
                              f"commit (version {table.version()}, {last.get('operation')}) is not that run's; "
                              f"nothing of the run was rolled back (_trash/{run} stays)")
    restored_to = (last.get("operationParameters") or {}).get("version")
    return not (last.get("operation") == "RESTORE" and restored_to == str(before))  # restored already


def _restore_delta(fs: LakeFS, lake: str, run: str, entry: dict, landed: bool, done: list[str]) -> None:
    """Undo one journalled Delta commit of a run: restore the table to the version before it, as
    one commit of its own (tagged with the run, so a repeated roll-back sees it done); a table
    the commit created loses the files it added, then its log (in that order, so an interrupted
    removal is finished by the next one), and is as absent as before."""
    from deltalake import CommitProperties

    if not landed:
        return
    table = join(lake, entry["table"])
    if entry["version"] is None:
        for rel, _ in delta_active_files(table, s3=fs.s3):
            fs.delete(join(table, rel))
        fs.delete(join(table, "_delta_log"))
    else:
        delta_table(table, fs.s3).restore(entry["version"], commit_properties=CommitProperties(
            custom_metadata={RUN_KEY: run}, max_commit_retries=0))
    done.append(f"{entry['table']}@{entry['version'] if entry['version'] is not None else 'none'}")


def _put_back(fs: LakeFS, old: str, target: str, name: str, done: list[str]) -> None:
    """Rename a trashed partition back into place, unless a partition is there already."""
    if fs.exists(old) and not fs.exists(target):
        fs.rename(old, target)
        done.append(name)


def _restore_trashed(fs: LakeFS, lake: str, run: str, done: list[str]) -> None:
    """Trash written before the journal existed, ``<table>/<partition>``: put back what has no
    replacement in place."""
    for table in fs.list_dirs(join(lake, "_trash", run)):
        for part in fs.list_dirs(join(lake, "_trash", run, table)):
            _put_back(fs, join(lake, "_trash", run, table, part), join(lake, table, part), f"{table}/{part}", done)


def roll_back_run(fs: LakeFS, lake: str, run: str) -> dict[str, list[str]]:
    """Undo every table swap ``run`` journalled, newest first, then delete its trash and journal:
    the tables it swapped are as the run found them. The next writer's :func:`recover` calls it
    for a run that died, and a run that fails before it ends its publish calls it for itself
    (``SparkJob.roll_back_publish``), so the lake does not stay half-published until the next
    writer. A Delta commit of the run is undone by restoring its table to the journalled version
    before it, and only when the table's newest commit is the run's own: otherwise
    :class:`RollBackRefused` is raised before anything changes. Repeatable: the journal goes
    last, so an interrupted roll-back is finished by the next call. Returns the journalled tables
    (newest first) and what was put back (``table/partition``; ``table@version`` for Delta)."""
    restored: list[str] = []
    entries = _journal(fs, lake, run)
    if entries is None:
        _restore_trashed(fs, lake, run, restored)
    restores = {i: _delta_restore(lake, run, e, fs.s3) for i, e in enumerate(entries or []) if e.get("delta")}
    for i, entry in reversed(list(enumerate(entries or []))):
        if entry.get("delta"):
            _restore_delta(fs, lake, run, entry, restores[i], restored)
            continue
        if "file" in entry:
            _restore_side_file(fs, lake, entry, restored)
            continue
        if "staged" not in entry:  # the single-table journal: roll back what never arrived
            for part in entry["parts"]:
                _put_back(fs, join(lake, "_trash", run, entry["table"], part), join(lake, entry["table"], part),
                          f"{entry['table']}/{part}", restored)
            continue
        _roll_back(fs, lake, run, entry, i < len(entries) - 1, restored)
    fs.delete(join(lake, "_trash", run))
    return {"tables": [e["table"] for e in reversed(entries or [])], "restored": restored}


def recover(fs: LakeFS, lake: str, keep: Iterable[str] = ()) -> dict[str, list[str]]:
    """Undo what runs that died left behind: every table swap a dead run journalled is rolled
    back, newest first (its new partitions removed, the old ones put back from ``_trash``), so
    a run that died while publishing several tables leaves each of them as it was; files a
    Delta commit had moved into a table but never committed are removed; other trash and
    staging dirs are deleted. A journal of one table (a dict, the format before runs published
    several tables as one) or trash without a journal only get the partitions whose
    replacement never arrived put back. A run whose Delta commit has a newer commit on top is
    not rolled back: ``refused`` says so in one line per run, and its trash stays.

    Only for the holder of the lake's writer lease (``lease.py``), at the start of a job: then
    every run not in ``keep`` (the runs under that lease) is dead, and its leftovers are safe
    to touch."""
    done: dict[str, list[str]] = {"restored": [], "removed": []}
    keep = set(keep)
    for run in fs.list_dirs(join(lake, "_trash")):
        if run in keep:
            continue
        try:
            done["restored"] += roll_back_run(fs, lake, run)["restored"]
        except RollBackRefused as exc:
            done.setdefault("refused", []).append(str(exc))
            continue
        done["removed"].append(f"_trash/{run}")
    for run in fs.list_dirs(join(lake, "_staging")):
        if run not in keep:
            done["removed"] += remove_uncommitted(fs, join(lake, "_staging", run))
            fs.delete(join(lake, "_staging", run))
            done["removed"].append(f"_staging/{run}")
    return done


# --------------------------------------------------------------------------- delta commit

class DeltaConflict(RuntimeError):
    """Another writer committed to the Delta table since this run read it; nothing of this run
    is left in the table."""


CURRENT = object()  # commit_delta's expected_version: "whatever the table is at now"


def _partition_values(rel_path: str) -> dict[str, str]:
    values = {}
    for segment in rel_path.split("/")[:-1]:
        key, sep, value = segment.partition("=")
        if sep:
            values[key] = value
    return values


def _moves_journal(staged_table: str) -> str:
    return staged_table.rstrip("/") + ".delta-moves.json"


def remove_uncommitted(fs: LakeFS, staging_run: str) -> list[str]:
    """Files a dead run moved into a Delta table for a commit that never happened (listed in
    its ``<table>.delta-moves.json``, written before the first move) and that the table's log
    does not hold: deleted, so a crash leaves no orphans. Returns what was removed."""
    removed = []
    for name in fs.list_names(staging_run):
        if not name.endswith(".delta-moves.json"):
            continue
        entry = json.loads(fs.read_text(join(staging_run, name)))
        table = entry["table"]
        active = {rel for rel, _ in delta_active_files(table, s3=fs.s3)} if is_delta(fs, table) else set()
        for rel in entry["files"]:
            if rel not in active and fs.exists(join(table, rel)):
                fs.delete(join(table, rel))
                removed.append(f"{_relative(fs.root, table)}/{rel}")
    return removed


def commit_delta(fs: LakeFS, staged_table: str, table: str, replace: dict[str, list[str]],
                 partition_by: list[str], schema, storage_options: dict[str, str] | None = None,
                 expected_version: Any = CURRENT, run_id: str | None = None) -> int:
    """Move Spark-written Parquet files from ``staged_table`` into the Delta table at ``table``
    and commit them in one transaction that replaces the partitions in ``replace``
    (column -> values, e.g. {"crawl": ["CC-MAIN-2024-22"]}). ``schema`` is the table's pyarrow
    schema including partition columns. Returns the number of files committed.

    The commit is made on top of ``expected_version`` (the version the run read; None: the
    table must not exist yet) and is never retried on top of a newer one: an overwrite through
    ``deltalake`` records no read predicate, so a rebased commit would pass conflict checking
    and two overwrites of one crawl would both land. A refused commit raises
    :class:`DeltaConflict` after deleting the files it had moved in.

    Spark part-file names carry a per-job UUID, so moving them next to the files they replace
    never collides; the replaced files stay on disk (for time travel) until ``vacuum``. With
    ``run_id`` the commit names the run in its commitInfo (``webfaq_run``): a roll-back restores
    only a table whose newest commit is the run's own."""
    from deltalake import CommitProperties, DeltaTable, Schema
    from deltalake.transaction import AddAction, create_table_with_add_actions

    name = table.rsplit("/", 1)[-1]
    if not any(replace.values()):
        raise ValueError(f"{table}: a commit must name the partitions it replaces")
    for column, values in replace.items():
        check_name(f"{name} partition column", column)
        for value in values:
            check_name(f"{name} partition value", value)
    uri = _local(table)
    storage_options = storage_options or delta_storage_options(table, fs.s3)
    exists = DeltaTable.is_deltatable(uri, storage_options=storage_options)
    if expected_version is CURRENT:
        expected_version = DeltaTable(uri, storage_options=storage_options).version() if exists else None
    files = [f for f in check_staged_tree(fs, staged_table, name) if is_data_file(f.path)]
    fs.write_text(_moves_journal(staged_table), json.dumps({"table": table, "files": [f.path for f in files]}))
    moved = []
    try:
        if (expected_version is None) == exists:
            raise DeltaConflict(f"{table}: expected {'no table' if expected_version is None else f'version {expected_version}'}"
                                f", found {'a table' if exists else 'none'}")
        adds = []
        for f in files:
            fs.rename(join(staged_table, f.path), join(table, f.path))
            moved.append(f.path)
            adds.append(AddAction(f.path, f.size, _partition_values(f.path), f.mtime_ms, True, "{}"))
        failpoint("delta.before_commit")
        no_retry = CommitProperties(max_commit_retries=0, custom_metadata={RUN_KEY: run_id} if run_id else None)
        if expected_version is None:
            create_table_with_add_actions(uri, Schema.from_arrow(schema), adds, mode="error", partition_by=partition_by,
                                          storage_options=storage_options, commit_properties=no_retry)
        else:
            filters = [(col, "in", vals) for col, vals in replace.items()]
            DeltaTable(uri, version=expected_version, storage_options=storage_options).create_write_transaction(
                adds, mode="overwrite", schema=Schema.from_arrow(schema), partition_by=partition_by,
                partition_filters=filters, commit_properties=no_retry)
    except Exception as exc:
        for rel in moved:
            fs.delete(join(table, rel))
        fs.delete(_moves_journal(staged_table))
        if isinstance(exc, DeltaConflict):
            raise
        now = delta_version(table, fs.s3)
        if now != expected_version:
            raise DeltaConflict(f"{table}: another writer committed (version {now}, this run read {expected_version}); "
                                f"nothing of this run was kept") from exc
        raise
    fs.delete(_moves_journal(staged_table))
    return len(files)


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
    if uri.startswith("s3://") and (access := s3_access(s3)):
        names = {"endpoint": "endpoint_override", "region": "region", "key": "access_key",
                 "secret": "secret_key", "token": "session_token"}
        options = {names[k]: v for k, v in access.items()}
        if "region" not in options:  # AWS with a profile's keys: the bucket's region, as from_uri finds it
            options["region"] = pafs.resolve_s3_region(uri[len("s3://"):].split("/", 1)[0])
        return pafs.S3FileSystem(**options), uri[len("s3://"):]
    if uri.startswith("file:") and not uri.startswith("file://"):
        uri = "file://" + uri[len("file:"):]
    return pafs.FileSystem.from_uri(uri)


def write_parquet_atomic(uri: str, table, root: str) -> None:
    """Write one Parquet file so that readers see all of it or nothing: temp name + rename on
    file systems with rename, a single PUT on object stores (atomic there by definition).
    ``uri`` must lie under the lake ``root`` (executors write into the lake too)."""
    import pyarrow.parquet as pq

    filesystem, path = arrow_fs(confine(root, uri))
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
