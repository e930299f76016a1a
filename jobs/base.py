"""The one small base class every Spark job extends (in the spirit of cc-pyspark's CCSparkJob).

A job declares its name and CLI arguments and implements :meth:`SparkJob.run`; the base class
parses flags + config file into one :class:`webfaq.config.Config`, builds the SparkSession,
gives the job a lake file system, and always writes the run manifest — also when the job fails,
so a failed run leaves a record of why.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import functools
import json
import os
import secrets
import shlex
import sys
import time
import traceback
from typing import Any, Sequence

from webfaq import lake, preflight
from webfaq.config import Config, add_config_arguments, config_from_args
from webfaq.console import (EXIT_FAILED, EXIT_OK, EXIT_REFUSED, Parser, add_general_arguments, debug_enabled,
                            example_epilog, guarded)
from webfaq.errors import UsageError, describe_error, free_space_note
from webfaq.faults import failpoint
from webfaq.lake import FileInfo, recover
from webfaq.lake.manifest import record_data_files, save_manifest
from webfaq.lake.storage import FetchError
from webfaq.redaction import redact, redact_text, redacted_output
from webfaq.lake.lease import LakeBusy, Lease, LeaseLost, acquire, is_s3, lease_store, refuse_if_held
from webfaq.lake.names import check_name, confine, validate_config_names

try:  # run as `spark-submit jobs/x.py` (script dir on sys.path) or as a package module
    from webfaq_jobs.progress import PhaseProgress
except ImportError:  # pragma: no cover - spark-submit with only --py-files of lib
    from progress import PhaseProgress  # type: ignore[no-redef]


class JobFailed(RuntimeError):
    """The job ran but its result must not be used (e.g. failure budget exceeded). ``manifest``
    is what the job had found out by then; it goes into the failed run's manifest."""

    plain_message = True  # the message is the sentence a person reads

    def __init__(self, message: str, manifest: dict[str, Any] | None = None):
        super().__init__(redact_text(message))  # messages quote inputs, and inputs may be signed URLs
        self.manifest = manifest or {}


class RunRefused(JobFailed, UsageError):
    """The run refuses to commit what it computed (e.g. align would empty a bitext that holds
    rows): nothing in the lake changes, the manifest says failed, and the command exits 2 with
    one line naming the flag that allows it."""


def new_run_id(job: str) -> str:
    return f"{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%SZ}-{job}-{secrets.token_hex(3)}"


NEXT = {
    "extract": "webfaq dedup --lake {lake}",
    "dedup": "webfaq align --lake {lake}",
    "align": "webfaq benchmark --lake {lake}",
    "benchmark": "webfaq evaluate {benchmark}",
    "run": "webfaq verify --lake {lake}  (then open the report)",
    "refresh": "webfaq verify --lake {lake}  (then open the report)",
}


def next_command(manifest: dict[str, Any]) -> str:
    """The command worth running after this job's run, as one line ('' when there is none):
    every summary ends with it, so a newcomer always knows what comes next. Paths are quoted for
    the shell: the line is meant to be pasted, and a lake may be ``/data/my lake``."""
    lake_path = (manifest.get("config") or {}).get("lake", {}).get("path")
    template = NEXT.get(manifest.get("job", ""))
    if not template or not lake_path:
        return ""
    return "next: " + template.format(lake=shlex.quote(lake_path),
                                      benchmark=shlex.quote(lake.join(lake_path, "benchmark")))


class HadoopFS:
    """webfaq.lake.LakeFS on Hadoop's FileSystem API: the same code path for file:, hdfs:,
    s3:/s3a: (EMRFS) and gs: lakes, with the cluster's credentials. Made for one lake ``root``:
    nothing outside it is read, created, renamed or deleted (``webfaq.lake.names.confine``)."""

    def __init__(self, spark, root: str, s3: Any = None):
        self._jvm = spark._jvm
        self._conf = spark._jsc.hadoopConfiguration()
        self.root = root
        self.s3 = s3  # the lake's S3 settings, for what deltalake opens (webfaq.lake.delta_table)

    def _p(self, path: str, write: bool = False):
        confine(self.root, path, allow_root=not write)
        p = self._jvm.org.apache.hadoop.fs.Path(path)
        fs = p.getFileSystem(self._conf)
        fs.setWriteChecksum(False)  # no .crc side files next to manifests on local lakes
        return p, fs

    def exists(self, path: str) -> bool:
        p, fs = self._p(path)
        return fs.exists(p)

    def mkdirs(self, path: str) -> None:
        p, fs = self._p(path)
        fs.mkdirs(p)

    def rename(self, src: str, dst: str) -> None:
        s, fs = self._p(src, write=True)
        d, _ = self._p(dst, write=True)
        fs.mkdirs(d.getParent())
        if not fs.rename(s, d):
            raise OSError(f"rename failed: {src} -> {dst}")

    def delete(self, path: str) -> None:
        p, fs = self._p(path, write=True)
        if fs.exists(p):
            fs.delete(p, True)

    def list_dirs(self, path: str) -> list[str]:
        p, fs = self._p(path)
        if not fs.exists(p):
            return []
        return sorted(s.getPath().getName() for s in fs.listStatus(p) if s.isDirectory())

    def list_names(self, path: str) -> list[str]:
        p, fs = self._p(path)
        if not fs.exists(p):
            return []
        return sorted(s.getPath().getName() for s in fs.listStatus(p) if not s.isDirectory())

    def list_files(self, path: str) -> list[FileInfo]:
        p, fs = self._p(path)
        if not fs.exists(p):
            return []
        base = fs.makeQualified(p).toString().rstrip("/") + "/"
        out, it = [], fs.listFiles(p, True)
        while it.hasNext():
            st = it.next()
            full = st.getPath().toString()
            out.append(FileInfo(full[len(base):], st.getLen(), st.getModificationTime()))
        return sorted(out, key=lambda f: f.path)

    def _write(self, fs, p, text: str, overwrite: bool) -> None:
        out = fs.create(p, overwrite)
        try:
            out.write(bytearray(text.encode("utf-8")))
            failpoint("hadoop.write_text")
        finally:
            out.close()  # a full disk often fails only here, when the buffer is flushed

    def write_text(self, path: str, text: str) -> None:
        tmp = f"{path}.{secrets.token_hex(4)}.tmp"
        p, fs = self._p(tmp, write=True)
        with lake.removed_on_failure(lambda: fs.delete(p, False)):
            self._write(fs, p, text, True)
            d, _ = self._p(path, write=True)
            if fs.exists(d):
                fs.delete(d, False)
            fs.rename(p, d)

    def create_exclusive(self, path: str, text: str) -> bool:
        """``create(overwrite=false)``: atomic on HDFS (the NameNode refuses an existing name);
        used for the writer lease of lakes that are neither local nor on S3."""
        p, fs = self._p(path, write=True)
        try:
            self._write(fs, p, text, False)
            return True
        except Exception as exc:  # noqa: BLE001 - py4j wraps the Java exception
            if "FileAlreadyExists" in str(exc):
                return False
            raise

    def read_text(self, path: str) -> str:
        p, fs = self._p(path)
        stream = fs.open(p)
        try:
            reader = self._jvm.java.io.BufferedReader(self._jvm.java.io.InputStreamReader(stream, "UTF-8"))
            lines = []
            line = reader.readLine()
            while line is not None:
                lines.append(line)
                line = reader.readLine()
            return "\n".join(lines)
        finally:
            stream.close()


class SparkJob:
    """Subclasses set ``name``, ``description``, ``example`` and ``config_sections``, and
    implement ``add_arguments`` and ``run`` (and ``source_tables`` when they read the lake)."""

    name = "job"
    description = ""
    example = ""
    usage_args = ""  # positional arguments in the usage line
    config_sections: list[str] | None = None
    hidden_sections: list[str] = []  # accepted but documented elsewhere (refresh: every stage's)
    source_section: str | None = None  # config section whose ``source`` picks the table read
    # phases that report their own progress (extract's files), or "*" for all (refresh, whose
    # phases are whole jobs that report theirs)
    own_progress: frozenset[str] = frozenset()

    def __init__(self, cfg: Config, args: argparse.Namespace):
        preflight.check_lake_path(cfg.lake.path)  # before an empty path becomes the working directory
        if "://" not in cfg.lake.path and not cfg.lake.path.startswith("file:"):
            # executors write into the lake through pyarrow too: a relative path would land in
            # each executor's own working directory
            cfg.lake.path = os.path.abspath(cfg.lake.path)
        self.cfg = cfg
        self.args = args
        validate_config_names(cfg)  # before any work: every name that becomes a path segment
        self.run_id = check_name("--run-id", cfg.job.run_id or new_run_id(self.name))
        self.lease: Lease | None = None  # the lake's writer lease, taken by execute() (or a parent's)
        self.delta_versions: dict[str, int | None] = {}  # Delta table -> the version this run read
        self.phases: dict[str, float] = {}
        self._spark = None
        self._run_started = time.monotonic()

    # ----------------------------------------------------------------- CLI
    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """Job-specific positional arguments and flags."""

    @classmethod
    def prog(cls) -> str:
        return f"webfaq {cls.name}"

    @classmethod
    def build_parser(cls, parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
        epilog = example_epilog(*cls.example.splitlines()) if cls.example else None
        if cls.hidden_sections:
            epilog = (f"Every {', '.join(cls.hidden_sections)} setting is accepted too and passed to its stage "
                      f"(see 'webfaq <stage> --help').\n\n" + (epilog or ""))
        parser = parser or Parser(prog=cls.prog(), description=cls.description, epilog=epilog,
                                  usage=f"%(prog)s {cls.usage_args + ' ' if cls.usage_args else ''}[options]")
        cls.add_arguments(parser)
        add_general_arguments(parser, json_help="print the run's manifest as JSON instead of the summary")
        add_config_arguments(parser, cls.config_sections)
        if cls.hidden_sections:
            add_config_arguments(parser, cls.hidden_sections, hidden=True)
        return parser

    @classmethod
    def from_argv(cls, argv: list[str] | None = None) -> "SparkJob":
        args = cls.build_parser().parse_args(argv)
        return cls(config_from_args(args), args)

    @classmethod
    def main(cls, argv: list[str] | None = None, summary=None) -> int:
        """Run from the command line: 0 on success (printing ``summary(manifest)``), 1 when the
        run failed (the cause in one line, and where its manifest is), 2 for a usage error found
        before the run started (nothing was started or written), 75 when another run holds the
        lake (one line naming the holder and how to break a dead one's lease)."""
        argv = list(sys.argv[1:] if argv is None else argv)
        with redacted_output():  # whatever the job prints, no credential reaches the console
            return guarded(cls.prog(), argv, lambda: cls._main(argv, summary), expected=(JobFailed, FetchError))

    @classmethod
    def _main(cls, argv: list[str], summary) -> int:
        job = cls.from_argv(argv)
        try:
            job.refuse_if_busy()
            job.preflight()  # usage errors (exit 2) go up to guarded()
            manifest = job.execute()
        except LakeBusy as exc:  # refused at start: no manifest, nothing touched
            print(f"{cls.name} REFUSED: {exc}", file=sys.stderr)
            return EXIT_REFUSED
        except (UsageError, FetchError):  # said before the run started: guarded() tells them
            raise
        except Exception as exc:  # noqa: BLE001 - the run's failure, told in one line (+ its manifest)
            if debug_enabled(argv):
                traceback.print_exc()
            recorded = getattr(job, "manifest", {})
            error = recorded.get("error") or describe_error(exc)
            print(f"{cls.prog()}: run failed: {error}{free_space_note(error, job.write_places())}", file=sys.stderr)
            if recorded.get("manifest_path"):
                print(f"manifest: {recorded['manifest_path']}", file=sys.stderr)
            return EXIT_FAILED
        if getattr(job.args, "json", False):
            print(json.dumps(manifest, indent=1, sort_keys=True, default=str))
        else:
            text = (summary(manifest) if summary else f"run {manifest['run_id']}: {manifest['status']}\n"
                    f"manifest: {manifest.get('manifest_path')}")
            follow = next_command(manifest)
            print(text if not follow or follow in text else f"{text}\n{follow}")
        return EXIT_OK

    def write_places(self) -> dict[str, str]:
        """The local directories a run writes to, by what they hold (for a full disk's note):
        the lake, where it is local, and Spark's scratch space (SPARK_LOCAL_DIRS, else the
        system's temporary directory, Spark's default)."""
        import tempfile

        places = {}
        if preflight.is_local(self.cfg.lake.path):
            places["lake"] = os.path.abspath(preflight.local_path(self.cfg.lake.path))
        scratch = [d for d in os.environ.get("SPARK_LOCAL_DIRS", "").split(",") if d.strip()]
        for n, directory in enumerate(scratch or [tempfile.gettempdir()]):
            places["Spark's local dir" + (f" {n + 1}" if len(scratch) > 1 else "")] = directory.strip()
        return places

    # ----------------------------------------------------------------- checks before the run
    def source_tables(self) -> list[str]:
        """Lake tables the job reads, any one of them will do (in order of preference): for
        ``source = auto``, faq_dedup's kept records when there, else faq."""
        if self.source_section is None:
            return []
        source = getattr(self.cfg, self.source_section).source
        return ["faq_dedup", "faq"] if source == "auto" else [source]

    def refuse_if_busy(self) -> None:
        """Another live run holds the lake: say so first, before the checks of tables that run
        may be writing (local and S3 lakes, looked at without Spark; with --lake-lease-wait-s the
        run waits in execute() instead)."""
        cfg = self.cfg
        if cfg.lake.lease_wait_s or not (preflight.is_local(cfg.lake.path) or is_s3(cfg.lake.path)):
            return
        if preflight.is_local(cfg.lake.path) and not os.path.isdir(cfg.lake.path):
            return  # no lake yet, so no holder (and nothing is created by looking)
        try:
            refuse_if_held(lease_store(cfg.lake.path, cfg.s3), cfg.lake.path)
        except FetchError as exc:
            if exc.transient:
                raise
            raise UsageError(f"lake {redact(cfg.lake.path)}: cannot be reached: {exc.args[0]}") from None

    def preflight(self) -> None:
        """What can be known before the run starts: the lake can be written and holds the table
        the job reads. Local lakes are checked without Spark; remote ones through the cluster's
        file system (Spark starts, nothing is written). Raises UsageError."""
        shuffle_partitions()  # read when Spark starts: a bad value is refused before that
        path = self.cfg.lake.path
        preflight.check_writable_lake(path)
        if not preflight.is_local(path):
            self.check_lake_file_system()
        tables = self.source_tables()
        if tables:
            exists = lake.LocalFS(path).exists if preflight.is_local(path) else self.fs.exists
            preflight.check_source_table(path, tables, self.name, exists)

    def check_lake_file_system(self) -> None:
        """A remote lake is read and written by Spark through Hadoop's FileSystem of its scheme.
        Spark from pip has none for s3:// or s3a:// (EMR's EMRFS and hadoop-aws are the
        cluster's); found out only at the first write, the run had taken the lease, started
        and failed with a Java exception name. Raises UsageError with what to do instead."""
        path = self.cfg.lake.path
        try:
            self.fs.exists(path)
        except Exception as exc:  # noqa: BLE001 - py4j wraps the Java exception
            if "UnsupportedFileSystemException" not in str(exc) and "No FileSystem for scheme" not in str(exc):
                raise
            scheme = path.split("://", 1)[0]
            hint = ("on EMR s3:// is EMRFS; elsewhere put hadoop-aws on Spark's classpath (spark.jars.packages "
                    "org.apache.hadoop:hadoop-aws:<Spark's Hadoop version>) and use s3a://"
                    if scheme in ("s3", "s3a", "s3n") else f"configure Hadoop's file system for {scheme}://")
            raise UsageError(f"lake {redact(path)}: this Spark has no Hadoop file system for {scheme}:// ({hint}); "
                             "webfaq verify, report and export read such a lake without Spark") from None

    # ----------------------------------------------------------------- Spark
    @property
    def spark(self):
        if self._spark is None:
            self._spark = build_session(f"webfaq-{self.name}", self.cfg.job.master, self.cfg.job.spark_log_level)
        return self._spark

    @property
    def fs(self) -> HadoopFS:
        return HadoopFS(self.spark, self.cfg.lake.path, self.cfg.s3)

    @contextlib.contextmanager
    def phase(self, name: str):
        """Time a phase of the run (into the manifest) and, when it outlasts the progress
        interval, report its Spark tasks while it runs (see ``progress.PhaseProgress``)."""
        started = time.monotonic()
        progress = self.phase_progress(name)
        ok = False
        if progress is not None:
            progress.start()
        try:
            yield
            ok = True
        finally:
            if progress is not None:
                progress.stop(ok=ok)
            self.phases[name] = round(time.monotonic() - started, 3)

    def phase_progress(self, name: str):
        """A progress reporter for phase ``name``, or None: progress off, or a phase that
        reports its own (``own_progress``)."""
        interval = getattr(getattr(self.cfg, "job", None), "progress_interval_s", 0)
        if not interval or {name, "*"} & self.own_progress:
            return None
        return PhaseProgress(self.spark.sparkContext, f"{self.name} {self.run_id}", name,
                             interval_s=interval, run_started=self._run_started)

    # ----------------------------------------------------------------- lake tables
    def table(self, name: str) -> str:
        """The path of the lake's table ``name``."""
        return lake.table_path(self.cfg.lake.path, name)

    def stage(self, *parts: str) -> str:
        """A path in this run's staging area (swapped or committed into the lake at the end)."""
        return lake.staging_path(self.cfg.lake.path, self.run_id, *parts)

    def staged(self, df, name: str):
        """Write an intermediate result once and read it back: later phases (and counters)
        reuse it instead of recomputing it (embeddings, k-NN), and non-deterministic
        expressions (generated ids) are fixed."""
        path = self.stage("work", name)
        df.write.parquet(path)
        return self.spark.read.parquet(path)

    def write_partitioned(self, df, table: str, partition_by: list[str], files: int | None = None,
                          sort: Sequence[Any] = (), append: bool = False, fmt: str = "parquet") -> dict[str, int]:
        """Stage ``table`` (``self.stage(table)``) partitioned by ``partition_by``, every file
        carrying the partition columns too (``webfaq.lake.partitioned`` says why). Sizing as
        Spark's writer: ``files`` files per partition directory (a shuffle by the partition
        columns, and by a hash of ``id`` when more than one), or, without ``files``, one file per
        task and directory (no shuffle: for index tables nobody browses). Rows are ordered by
        ``sort`` within each file. ``fmt="jsonl"`` writes the ``value`` column as one
        ``<value>.jsonl`` per directory (give it ``files=1``). Returns rows per directory."""
        from pyspark.sql import functions as F

        from webfaq.lake.partitioned import WRITTEN_SCHEMA, write_files

        path = self.stage(table)
        if not append and any(lake.is_data_file(f.path) or f.path.endswith(".jsonl") for f in self.fs.list_files(path)):
            raise FileExistsError(f"{path} already holds files")
        if files:
            keys = [F.col(c) for c in partition_by] + ([F.abs(F.hash("id")) % files] if files > 1 else [])
            df = df.repartition(*keys)
        for column in partition_by:
            check_name("partition column", column)
        body = functools.partial(write_files, root=confine(self.cfg.lake.path, path),
                                 partition_by=list(partition_by), token=secrets.token_hex(6), fmt=fmt,
                                 lake_root=self.cfg.lake.path)
        written = df.sortWithinPartitions(*partition_by, *sort).mapInArrow(body, WRITTEN_SCHEMA).collect()
        self.fs.mkdirs(path)  # an empty result is an empty table, not a missing one
        if fmt == "jsonl" and len({r["dir"] for r in written}) != len(written):
            raise JobFailed(f"{path}: a JSON-lines partition was split over several tasks")
        rows: dict[str, int] = {}
        for r in written:
            rows[r["dir"]] = rows.get(r["dir"], 0) + r["rows"]
        return rows

    def read_table(self, path: str, crawls: list[str] | None = None):
        """Rows of the lake table at ``path`` (every crawl, or ``crawls``). A Delta table is
        read through the files its log holds active at the version this run first saw (replaced
        files stay on disk until vacuum; :meth:`publish` commits on top of that version); a
        Parquet table through its crawl directories."""
        reader = self.spark.read.option("basePath", path)
        if lake.is_delta(self.fs, path):
            where = {"crawl": crawls} if crawls is not None else None
            files = lake.delta_active_files(path, where, version=self.table_version(path), s3=self.cfg.s3)
            if not files:
                raise JobFailed(f"{path}: no active files for crawls {crawls}")
            return reader.parquet(*[lake.join(path, rel) for rel, _ in files])
        if crawls is None:
            return reader.parquet(path)
        return reader.parquet(*[lake.join(path, f"crawl={c}") for c in crawls])

    def table_version(self, path: str) -> int | None:
        """The version of the Delta table at ``path`` this run works from: the one it saw
        first (None: no table). The lease keeps other writers out; the version check in
        ``lake.commit_delta`` is what makes a commit over someone else's refuse, lease or not."""
        if path not in self.delta_versions:
            self.delta_versions[path] = lake.delta_version(path, self.cfg.s3) if lake.is_delta(self.fs, path) else None
        return self.delta_versions[path]

    def commit_guard(self) -> None:
        """Right before a commit: this run must still hold the lake's writer lease."""
        if self.lease is None:
            raise JobFailed(f"run {self.run_id} holds no lease on {self.cfg.lake.path}; it must not commit")
        try:
            self.lease.check()
        except LeaseLost as exc:
            raise JobFailed(str(exc)) from exc

    def swap_staged(self, staged: str, path: str, parts: list[str]) -> list[str]:
        """``lake.swap_partitions`` of this run, after the lease check. The run's trash and swap
        journal stay until :meth:`finish_publish`: a run that dies before it is rolled back by
        the next writer, every table it had swapped included."""
        self.commit_guard()
        done = lake.swap_partitions(self.fs, staged, path, self.run_id, parts, last=False)
        self.published(path)
        return done

    @staticmethod
    def published(path: str) -> None:
        """A table of the run's publish is swapped or committed: the crash points between tables."""
        failpoint("swap.after_table")
        failpoint(f"swap.after_table.{path.rstrip('/').rsplit('/', 1)[-1]}")

    def finish_publish(self) -> None:
        """The end of this run's publish: every table it swapped stays as it is now (its trash and
        journal go). Each job calls it after its last table; until then a crash rolls all of
        them back, so the tables a run writes change together or not at all."""
        lake.end_swaps(self.fs, self.run_id)

    def roll_back_publish(self, manifest: dict[str, Any]) -> None:
        """A run that failed before :meth:`finish_publish` puts back every table it had swapped
        (``lake.roll_back_run``, newest first), so the lake is not left half-published until
        the next writer; what it did goes into ``manifest["rolled_back"]``, with one line on
        stderr. Only while this run still holds the lease: a run that lost it leaves its
        journal, because the new holder rolls it back at its start (``recover``) and may have
        swapped its own tables since, which a late roll-back here would race or undo. A
        roll-back that fails (a full disk) leaves the journal too; the next writer finishes it."""
        if self._spark is None or not self.fs.exists(lake.join(self.cfg.lake.path, "_trash", self.run_id)):
            return  # nothing swapped, or the publish had ended
        try:
            self.lease.check()
        except Exception as exc:  # noqa: BLE001 - LeaseLost, or a store that cannot tell: do not touch the lake
            self.leave_publish(manifest, f"this run no longer holds the lake ({describe_error(exc)})")
            return
        try:
            manifest["rolled_back"] = lake.roll_back_run(self.fs, self.cfg.lake.path, self.run_id)
        except Exception as exc:  # noqa: BLE001 - the run's own error is the one to report
            self.leave_publish(manifest, f"its roll-back failed: {describe_error(exc)}")
            return
        print(f"{self.name}: run {self.run_id} rolled back its publish "
              f"({', '.join(manifest['rolled_back']['tables'])}): those tables are as before the run",
              file=sys.stderr)

    def leave_publish(self, manifest: dict[str, Any], why: str) -> None:
        """Leave this failed run's swap journal to the next writer's ``recover``, and say so."""
        note = f"{why}; its swap journal _trash/{self.run_id} stays, and the next writer rolls its publish back"
        manifest["rolled_back"] = {"left": note}
        print(f"{self.name}: run {self.run_id} did not roll back its publish: {note}", file=sys.stderr)

    def commit_delta(self, staged: str, path: str, replace: dict[str, list[str]], partition_by: list[str], schema) -> int:
        """``lake.commit_delta`` of this run on top of the version it read, after the lease
        check; a conflict is a failed run (nothing of it stays in the table). The version it
        commits on is journalled first, as a swap is: until :meth:`finish_publish`, a run that
        fails or dies has the table restored to it (``lake.roll_back_run``)."""
        self.commit_guard()
        expected = self.table_version(path)
        lake.journal_delta_commit(self.fs, path, self.run_id, expected)
        try:
            n = lake.commit_delta(self.fs, staged, path, replace, partition_by, schema, expected_version=expected,
                                  run_id=self.run_id)
        except lake.DeltaConflict as exc:
            raise JobFailed(str(exc)) from exc
        self.delta_versions[path] = 0 if expected is None else expected + 1
        self.published(path)
        return n

    def publish(self, staged: str, path: str, replace: dict[str, list[str]], partition_by: list[str]) -> list[str]:
        """Make the staged table the lake's for the partitions in ``replace`` (one column ->
        its values), as a whole: a directory swap for Parquet lakes, one Delta transaction
        (overwrite of those partitions) for ``--format delta``. Returns the partitions."""
        (column, values), = replace.items()
        parts = [f"{column}={v}" for v in values]
        if not parts:
            return []  # nothing replaced (an overwrite without partitions would replace the whole table)
        if self.cfg.lake.format != "delta":
            return self.swap_staged(staged, path, parts)
        files = [f for f in self.fs.list_files(staged) if lake.is_data_file(f.path)]
        if not files and not lake.is_delta(self.fs, path):
            return parts  # nothing to replace, nothing to write
        self.commit_delta(staged, path, replace, partition_by, self.staged_schema(staged, files, path, partition_by))
        return parts

    def staged_schema(self, staged: str, files: list, path: str, partition_by: list[str]):
        """The pyarrow schema of a staged table (a file's, plus the partition columns), or the
        Delta table's own when the run staged no file."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not files:
            return pa.schema(lake.delta_table(path, self.cfg.s3).schema().to_arrow())
        filesystem, where = lake.arrow_fs(lake.join(staged, files[0].path))
        with filesystem.open_input_file(where) as fh:
            schema = pq.read_schema(fh)
        return pa.schema(list(schema) + [pa.field(c, pa.string()) for c in partition_by if c not in schema.names])

    # ----------------------------------------------------------------- run + manifest
    def run(self) -> dict[str, Any]:
        """Do the work; return the job-specific part of the manifest."""
        raise NotImplementedError

    def join_lease(self, lease: Lease) -> None:
        """Run under a parent's lease (the refresh runs its stage jobs in its own process)."""
        self.lease = lease
        lease.runs.add(self.run_id)

    def take_lease(self) -> Lease:
        """The lake's writer lease for this run, or LakeBusy naming the holder. Local and S3
        lakes take it before Spark starts, so a refused run costs nothing."""
        cfg = self.cfg
        store = lease_store(cfg.lake.path, cfg.s3, hadoop=lambda: self.fs)
        return acquire(store, cfg.lake.path, self.run_id, self.name, ttl_s=cfg.lake.lease_ttl_s,
                       wait_s=cfg.lake.lease_wait_s)

    def execute(self) -> dict[str, Any]:
        own_lease = self.lease is None
        if own_lease:
            self.lease = self.take_lease()  # refused: no manifest, nothing touched
        try:
            return self._execute()
        finally:
            if own_lease:
                self.release_lease()

    def release_lease(self) -> None:
        """Let go of the lake (a failure to say so only delays the next writer until the
        lease expires, or not at all on this machine: it must not hide the run's own result)."""
        lease, self.lease = self.lease, None
        try:
            lease.release()
        except Exception as exc:  # noqa: BLE001
            print(f"{self.name}: could not release the lake lease ({type(exc).__name__}: {exc}); "
                  "it expires by itself", file=sys.stderr)

    def _execute(self) -> dict[str, Any]:
        started = dt.datetime.now(dt.timezone.utc)
        manifest: dict[str, Any] = {
            "run_id": self.run_id, "job": self.name, "status": "running",
            "started": started.isoformat(), "config": self.cfg.to_dict(),
            "argv": [redact(a) for a in sys.argv[1:]],  # signed URLs carry credentials
            "lease": {"generation": self.lease.holder.generation, "holder_run_id": self.lease.holder.run_id},
        }
        if self.lease.broke:
            manifest["lease"]["broke"] = self.lease.broke  # a dead run's lease this run took over
        try:
            recovered = recover(self.fs, self.cfg.lake.path, keep=self.lease.runs)
            if any(recovered.values()):
                manifest["recovered"] = recovered  # what a run that died had left behind
            for line in recovered.get("refused", []):
                print(f"{self.name}: did not roll back a dead run: {line}", file=sys.stderr)
            manifest.update(self.run())
            self.finish_publish()  # a job that swapped without ending its publish ends it here
            self.fs.delete(self.stage())  # a complete run's staging is scratch (a failed one's: recover())
            record_data_files(self.fs, manifest)  # after publishing: what verify checks file by file
            manifest["status"] = "complete"
        except JobFailed as exc:
            manifest.update(exc.manifest)
            manifest.update(status="failed", error=str(exc))
            raise
        except Exception as exc:
            manifest.update(status="failed", error=describe_error(exc),  # the cause, in one sentence
                            traceback=traceback.format_exc(limit=20))
            raise
        finally:
            if manifest["status"] != "complete":
                self.roll_back_publish(manifest)  # before its manifest, and while it holds the lease
            manifest["finished"] = dt.datetime.now(dt.timezone.utc).isoformat()
            manifest["durations_s"] = dict(self.phases, total=round(
                (dt.datetime.now(dt.timezone.utc) - started).total_seconds(), 3))
            if self._spark is not None:
                manifest["spark"] = {"version": self._spark.version,
                                     "master": self._spark.sparkContext.master,
                                     "default_parallelism": self._spark.sparkContext.defaultParallelism}
                manifest["manifest_path"] = save_manifest(
                    self.fs, self.cfg.lake.path, manifest, scratch=[self.stage()])
            self.manifest = manifest
        if manifest.get("manifest_error"):
            raise JobFailed(f"the lake holds no manifest of this run: {manifest['manifest_error']} "
                            f"(written to {manifest.get('manifest_path')})", manifest)
        return manifest


def build_session(app_name: str, master: str | None = None, log_level: str = "off"):
    """A SparkSession configured for the lake; reuses spark-submit's master when there is one.
    Started here (not by spark-submit), Spark's console logging goes through the package's
    log4j2 file at ``log_level``: no startup WARN lines or port messages on every command."""
    from pyspark.sql import SparkSession

    # Local and standalone workers on this machine must run this interpreter (it has the deps);
    # on clusters spark-submit's spark.pyspark.python / the image decides.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    if (master or "local").startswith("local") and "PYSPARK_GATEWAY_PORT" not in os.environ:
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # local mode needs no network interface
    builder = SparkSession.builder.appName(app_name)
    if master:
        builder = builder.master(master)
    elif "PYSPARK_GATEWAY_PORT" not in os.environ:  # not launched by spark-submit
        builder = builder.master("local[*]")
    # Settings the lake's correctness depends on: always.
    builder = (
        builder.config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        .config("spark.sql.session.timeZone", "UTC")
        # partition values are names, never numbers: crawl=2024 must come back as "2024"
        .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
        .config("spark.sql.sources.partitionOverwriteMode", "dynamic")
        .config("spark.ui.showConsoleProgress", "false")
    )
    # Sizing defaults and console logging for local and test runs only: under spark-submit the
    # cluster's --conf and log4j2 settings win.
    if "PYSPARK_GATEWAY_PORT" not in os.environ:
        builder = (builder.config("spark.sql.shuffle.partitions", str(shuffle_partitions()))
                   .config("spark.task.maxFailures", "4")
                   .config("spark.driver.extraJavaOptions", driver_log_options(log_level)))
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(log_level.upper())
    return spark


def shuffle_partitions() -> int:
    """``WEBFAQ_SHUFFLE_PARTITIONS`` (default 64), Spark's shuffle partitions of local and test
    runs. Raises UsageError for anything but a whole number >= 1: Spark itself would take the
    text and fail only at the first shuffle, minutes into a run."""
    text = os.environ.get("WEBFAQ_SHUFFLE_PARTITIONS", "64")
    try:
        value = int(text.strip())
    except ValueError:
        value = 0
    if value < 1:
        raise UsageError(f"WEBFAQ_SHUFFLE_PARTITIONS={text!r}: expected a whole number >= 1")
    return value


def driver_log_options(log_level: str) -> str:
    """JVM options pointing the driver's log4j2 at the package's console configuration."""
    from importlib import resources

    config = resources.files("webfaq") / "resources" / "log4j2-console.properties"
    return f"-Dlog4j2.configurationFile=file:{config} -Dwebfaq.spark.log.level={log_level.upper()}"
