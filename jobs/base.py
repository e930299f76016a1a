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
import os
import secrets
import sys
import time
import traceback
from typing import Any, Sequence

from webfaq import lake
from webfaq.config import Config, add_config_arguments, config_from_args
from webfaq.lake import FileInfo, recover, write_manifest
from webfaq.lake.storage import redact

try:  # run as `spark-submit jobs/x.py` (script dir on sys.path) or as a package module
    from webfaq_jobs.progress import PhaseProgress
except ImportError:  # pragma: no cover - spark-submit with only --py-files of lib
    from progress import PhaseProgress  # type: ignore[no-redef]


class JobFailed(RuntimeError):
    """The job ran but its result must not be used (e.g. failure budget exceeded). ``manifest``
    is what the job had found out by then; it goes into the failed run's manifest."""

    def __init__(self, message: str, manifest: dict[str, Any] | None = None):
        super().__init__(message)
        self.manifest = manifest or {}


def new_run_id(job: str) -> str:
    return f"{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%SZ}-{job}-{secrets.token_hex(3)}"


class HadoopFS:
    """webfaq.lake.LakeFS on Hadoop's FileSystem API: the same code path for file:, hdfs:,
    s3:/s3a: (EMRFS) and gs: lakes, with the cluster's credentials."""

    def __init__(self, spark):
        self._jvm = spark._jvm
        self._conf = spark._jsc.hadoopConfiguration()

    def _p(self, path: str):
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
        s, fs = self._p(src)
        d, _ = self._p(dst)
        fs.mkdirs(d.getParent())
        if not fs.rename(s, d):
            raise OSError(f"rename failed: {src} -> {dst}")

    def delete(self, path: str) -> None:
        p, fs = self._p(path)
        if fs.exists(p):
            fs.delete(p, True)

    def list_dirs(self, path: str) -> list[str]:
        p, fs = self._p(path)
        if not fs.exists(p):
            return []
        return sorted(s.getPath().getName() for s in fs.listStatus(p) if s.isDirectory())

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

    def write_text(self, path: str, text: str) -> None:
        tmp = f"{path}.{secrets.token_hex(4)}.tmp"
        p, fs = self._p(tmp)
        out = fs.create(p, True)
        try:
            out.write(bytearray(text.encode("utf-8")))
        finally:
            out.close()
        d, _ = self._p(path)
        if fs.exists(d):
            fs.delete(d, False)
        fs.rename(p, d)

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
    """Subclasses set ``name`` and ``config_sections``, and implement ``add_arguments`` and ``run``."""

    name = "job"
    description = ""
    config_sections: list[str] | None = None
    # phases that report their own progress (extract's files), or "*" for all (refresh, whose
    # phases are whole jobs that report theirs)
    own_progress: frozenset[str] = frozenset()

    def __init__(self, cfg: Config, args: argparse.Namespace):
        if "://" not in cfg.lake.path and not cfg.lake.path.startswith("file:"):
            # executors write into the lake through pyarrow too: a relative path would land in
            # each executor's own working directory
            cfg.lake.path = os.path.abspath(cfg.lake.path)
        self.cfg = cfg
        self.args = args
        self.run_id = cfg.job.run_id or new_run_id(self.name)
        self.phases: dict[str, float] = {}
        self._spark = None
        self._run_started = time.monotonic()

    # ----------------------------------------------------------------- CLI
    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """Job-specific positional arguments and flags."""

    @classmethod
    def build_parser(cls, parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
        parser = parser or argparse.ArgumentParser(prog=cls.name, description=cls.description)
        cls.add_arguments(parser)
        add_config_arguments(parser, cls.config_sections)
        return parser

    @classmethod
    def from_argv(cls, argv: list[str] | None = None) -> "SparkJob":
        args = cls.build_parser().parse_args(argv)
        return cls(config_from_args(args), args)

    @classmethod
    def main(cls, argv: list[str] | None = None, summary=None) -> int:
        """Run from the command line: 0 on success (printing ``summary(manifest)``), 2 when the
        job failed on purpose (budget, reconciliation), with the reason on stderr."""
        job = cls.from_argv(argv)
        try:
            manifest = job.execute()
        except JobFailed as exc:
            print(f"{cls.name} FAILED: {exc}", file=sys.stderr)
            return 2
        print(summary(manifest) if summary else f"run {manifest['run_id']}: {manifest['status']}\n"
              f"manifest: {manifest.get('manifest_path')}")
        return 0

    # ----------------------------------------------------------------- Spark
    @property
    def spark(self):
        if self._spark is None:
            self._spark = build_session(f"webfaq-{self.name}", self.cfg.job.master)
        return self._spark

    @property
    def fs(self) -> HadoopFS:
        return HadoopFS(self.spark)

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
        body = functools.partial(write_files, root=path, partition_by=list(partition_by),
                                 token=secrets.token_hex(6), fmt=fmt)
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
        read through the files its log holds active (replaced files stay on disk until
        vacuum); a Parquet table through its crawl directories."""
        reader = self.spark.read.option("basePath", path)
        if lake.is_delta(self.fs, path):
            files = lake.delta_active_files(path, {"crawl": crawls} if crawls is not None else None)
            if not files:
                raise JobFailed(f"{path}: no active files for crawls {crawls}")
            return reader.parquet(*[lake.join(path, rel) for rel, _ in files])
        if crawls is None:
            return reader.parquet(path)
        return reader.parquet(*[lake.join(path, f"crawl={c}") for c in crawls])

    def publish(self, staged: str, path: str, replace: dict[str, list[str]], partition_by: list[str]) -> list[str]:
        """Make the staged table the lake's for the partitions in ``replace`` (one column ->
        its values), as a whole: a directory swap for Parquet lakes, one Delta transaction
        (overwrite of those partitions) for ``--format delta``. Returns the partitions."""
        (column, values), = replace.items()
        parts = [f"{column}={v}" for v in values]
        if self.cfg.lake.format != "delta":
            return lake.swap_partitions(self.fs, staged, path, self.run_id, parts)
        files = [f for f in self.fs.list_files(staged) if lake.is_data_file(f.path)]
        if not files and not lake.is_delta(self.fs, path):
            return parts  # nothing to replace, nothing to write
        lake.commit_delta(self.fs, staged, path, replace, partition_by, self.staged_schema(staged, files, path, partition_by))
        return parts

    def staged_schema(self, staged: str, files: list, path: str, partition_by: list[str]):
        """The pyarrow schema of a staged table (a file's, plus the partition columns), or the
        Delta table's own when the run staged no file."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not files:
            from deltalake import DeltaTable

            return pa.schema(DeltaTable(path.replace("file://", "")).schema().to_arrow())
        filesystem, where = lake.arrow_fs(lake.join(staged, files[0].path))
        with filesystem.open_input_file(where) as fh:
            schema = pq.read_schema(fh)
        return pa.schema(list(schema) + [pa.field(c, pa.string()) for c in partition_by if c not in schema.names])

    # ----------------------------------------------------------------- run + manifest
    def run(self) -> dict[str, Any]:
        """Do the work; return the job-specific part of the manifest."""
        raise NotImplementedError

    def execute(self) -> dict[str, Any]:
        started = dt.datetime.now(dt.timezone.utc)
        manifest: dict[str, Any] = {
            "run_id": self.run_id, "job": self.name, "status": "running",
            "started": started.isoformat(), "config": self.cfg.to_dict(),
            "argv": [redact(a) for a in sys.argv[1:]],  # signed URLs carry credentials
        }
        try:
            recovered = recover(self.fs, self.cfg.lake.path, keep=[self.run_id])
            if any(recovered.values()):
                manifest["recovered"] = recovered  # what a run that died had left behind
            manifest.update(self.run())
            manifest["status"] = "complete"
        except JobFailed as exc:
            manifest.update(exc.manifest)
            manifest.update(status="failed", error=str(exc))
            raise
        except Exception as exc:
            manifest.update(status="failed", error=f"{type(exc).__name__}: {exc}",
                            traceback=traceback.format_exc(limit=20))
            raise
        finally:
            manifest["finished"] = dt.datetime.now(dt.timezone.utc).isoformat()
            manifest["durations_s"] = dict(self.phases, total=round(
                (dt.datetime.now(dt.timezone.utc) - started).total_seconds(), 3))
            if self._spark is not None:
                manifest["spark"] = {"version": self._spark.version,
                                     "master": self._spark.sparkContext.master,
                                     "default_parallelism": self._spark.sparkContext.defaultParallelism}
                manifest["manifest_path"] = write_manifest(self.fs, self.cfg.lake.path, manifest)
            self.manifest = manifest
        return manifest


def build_session(app_name: str, master: str | None = None):
    """A SparkSession configured for the lake; reuses spark-submit's master when there is one."""
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
        .config("spark.sql.sources.partitionOverwriteMode", "dynamic")
        .config("spark.ui.showConsoleProgress", "false")
    )
    # Sizing defaults for local and test runs only: under spark-submit the cluster's --conf wins.
    if "PYSPARK_GATEWAY_PORT" not in os.environ:
        builder = (builder.config("spark.sql.shuffle.partitions", os.environ.get("WEBFAQ_SHUFFLE_PARTITIONS", "64"))
                   .config("spark.task.maxFailures", "4"))
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(os.environ.get("WEBFAQ_SPARK_LOG_LEVEL", "WARN"))
    return spark
