"""spark-submit entry point: Common Crawl WARC files in, FAQ lake out.

    spark-submit jobs/extract.py --lake s3://bucket/lake --crawl CC-MAIN-2024-22 --limit 100

One WARC file is one Spark task (streamed on the executor, retried there with backoff), so a
slow or broken file never holds back others and a lost executor redoes only its own files.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import sys
from collections import defaultdict
from typing import Any

try:  # run as `spark-submit jobs/extract.py` (script dir on sys.path) or as a package module
    from webfaq_jobs.base import JobFailed, SparkJob
    from webfaq_jobs.progress import TRACKED, Progress
except ImportError:  # pragma: no cover - spark-submit with only --py-files of lib
    from base import JobFailed, SparkJob  # type: ignore[no-redef]
    from progress import TRACKED, Progress  # type: ignore[no-redef]

from webfaq import lake, preflight
from webfaq.counters import EXTRACT_FUNNEL, check_inputs, merge, reconcile
from webfaq.errors import UsageError
from webfaq.extract.pipeline import extract_to_work, result_file_name, staging_fields, unit_uri
from webfaq.extract.records import FAQ_COLUMNS, FAQ_FIELDS, PARTITION_COLUMNS, arrow_schema
from webfaq.faults import failpoint
from webfaq.lake.inputs import listed_inputs, resolve_inputs, selected_inputs
from webfaq.redaction import redact


def ddl(fields: list[tuple[str, str]]) -> str:
    return ", ".join(f"`{name}` {tp}" for name, tp in fields)


class ExtractJob(SparkJob):
    name = "extract"
    description = "Extract schema.org FAQPage QA pairs from WARC files into the lake's faq table (Spark)."
    example = ("webfaq extract sample-data/warc --lake ./lake --crawl-id CC-MAIN-2024-22\n"
               "webfaq extract --crawl CC-MAIN-2024-22 --limit 100 --lake s3a://my-bucket/lake")
    usage_args = "[INPUT ...]"
    config_sections = ["input", "s3", "retry", "extract", "filters", "langid", "lake", "job", "targeted"]
    resolved_inputs: list[str] | None = None  # set by preflight (the command line), else resolved in run
    input_notes: list[str] = []  # what the inputs' folders and patterns left out (preflight's notes)
    output = "faq"
    own_progress = frozenset({"extract"})  # files, records and QAs (progress.Progress)

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("inputs", nargs="*", metavar="INPUT", help="WARC paths, directories, globs, s3:// or "
                            "https:// URLs, or warc.paths[.gz] manifests")

    def preflight(self) -> None:
        """The lake, then the inputs (see :func:`checked_inputs`)."""
        super().preflight()
        self.input_notes = []
        self.resolved_inputs = checked_inputs(self.args.inputs, self.cfg, self.input_notes)

    def run(self) -> dict[str, Any]:
        cfg = self.cfg
        with self.phase("resolve_inputs"):
            uris = self.resolve_units()
        if not uris:
            raise JobFailed("no input files matched " + " ".join(self.args.inputs or [cfg.input.crawl or ""]))
        out: dict[str, Any] = {"inputs": [redact(unit_uri(u)) for u in uris]}
        if self.input_notes:
            out["input_notes"] = self.input_notes
        work = self.work_dir(uris)
        adopted = self.adopt_work(work)
        done = {f.path for f in self.fs.list_files(work)}
        todo = [u for u in uris if result_file_name(unit_uri(u), "ok") not in done]
        for u in uris:  # a failed file is retried by a resumed run (or an adopted attempt redid it)
            if result_file_name(unit_uri(u), "failed") in done:
                self.fs.delete(lake.join(work, result_file_name(unit_uri(u), "failed")))
        out["resumed"] = {"work_dir": work, "files_already_done": len(uris) - len(todo), "files_to_do": len(todo),
                          "adopted_from": adopted}

        with self.phase("extract"):
            if todo:
                progress = Progress(self.spark.sparkContext, f"{self.name} {self.run_id}", len(uris),
                                    interval_s=cfg.job.progress_interval_s, done_before=len(uris) - len(todo))
                with progress:
                    self.spark.sparkContext.parallelize(todo, len(todo)).mapPartitions(functools.partial(
                        extract_with_progress, cfg.to_dict(), work, progress.counters.accumulators())).count()
        failpoint("extract.after_stage")

        rows = self.spark.read.schema(ddl(staging_fields())).parquet(work)
        files = [r.asDict() for r in rows.where("kind = 'file'").select(
            "file_uri", "file_status", "file_reason", "file_crawl", "file_counters",
            "file_attempts", "file_seconds").collect()]  # one small row per input file
        for f in files:
            f["file_counters"] = json.loads(f["file_counters"])
        counters = merge(f["file_counters"] for f in files)
        out.update(counters=counters.as_dict(), files=files, funnel=EXTRACT_FUNNEL,
                   reconcile=reconcile(counters) + check_inputs(len(uris), counters))
        failed = sum(1 for f in files if f["file_status"] == "failed")
        out["failure_budget"] = {"failed": failed, "total": len(files), "allowed": cfg.job.failure_budget}
        if out["reconcile"]:
            raise JobFailed(f"counters do not reconcile: {out['reconcile']}", out)
        if len(files) != len(uris):
            raise JobFailed(f"{len(files)} results for {len(uris)} input files in {work}", out)
        if failed > cfg.job.failure_budget * len(files):
            reasons = sorted({f["file_reason"] for f in files if f["file_status"] == "failed"})
            raise JobFailed(f"{failed} of {len(files)} WARC files failed ({', '.join(reasons)}), "
                          f"over the budget of {cfg.job.failure_budget:.2%}", out)

        with self.phase("write_lake"):
            qa = rows.where("kind = 'qa'").select(*FAQ_COLUMNS)
            out["output"] = self.write_table(qa, [f for f in files if f["file_status"] != "failed"])
        self.fs.delete(work.rsplit("/", 1)[0])  # this command's work, all attempts (adopted above)
        out["output"]["languages"] = {k.split(".", 2)[2]: v for k, v in counters.items()
                                      if k.startswith("kept.lang.")}
        out["output"]["run_rows"] = partition_rows(files)
        return out

    @classmethod
    def for_config(cls, cfg, args: argparse.Namespace) -> "ExtractJob":
        """The extract job for ``cfg``: its targeted form with ``--targeted`` (issue 16)."""
        if cfg.targeted.enabled and cls is ExtractJob:
            try:
                from webfaq_jobs.targeted import TargetedExtractJob
            except ImportError:  # pragma: no cover - spark-submit with only --py-files of lib
                from targeted import TargetedExtractJob  # type: ignore[no-redef]
            return TargetedExtractJob(cfg, args)
        return cls(cfg, args)

    @classmethod
    def from_argv(cls, argv: list[str] | None = None) -> "ExtractJob":
        job = super().from_argv(argv)
        return cls.for_config(job.cfg, job.args)

    def resolve_units(self) -> list[Any]:
        """The run's units of work: input file URIs here (resolved by preflight when the command
        line ran it); a targeted run has ranged reads too (``webfaq_jobs.targeted``). Each unit is
        one task and one result file."""
        if self.resolved_inputs is not None:
            return self.resolved_inputs
        return resolve_inputs(self.args.inputs, self.cfg)

    def work_dir(self, uris: list[Any]) -> str:
        """Where this run attempt's per-file results accumulate until the lake commit:
        ``_work/extract/<digest of the command>/<run id>``. The digest names this exact job
        (same inputs, same extraction settings), so a re-run of the same command finds the
        results of attempts that died (:meth:`adopt_work`); the run id keeps two attempts from
        ever writing into one folder."""
        cfg = self.cfg
        identity = {"inputs": uris, "input_format": cfg.input.format, "crawl": cfg.input.crawl,
                    "crawl_id": cfg.job.crawl_id, "extract": cfg.extract.__dict__,
                    "filters": cfg.filters.__dict__, "langid": cfg.langid.__dict__}
        digest = hashlib.sha1(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:16]
        return lake.join(cfg.lake.path, "_work", self.name, digest, self.run_id)

    def adopt_work(self, work: str) -> list[str]:
        """Move the results of earlier attempts of this command into ``work`` (resume). Only
        under the lake's writer lease, so those attempts are dead: a live one would hold the
        lease. Returns the attempts adopted."""
        parent = work.rsplit("/", 1)[0]
        adopted = []
        for attempt in self.fs.list_dirs(parent):
            if attempt == self.run_id:
                continue
            mine = {f.path for f in self.fs.list_files(work)}
            for f in self.fs.list_files(lake.join(parent, attempt)):
                if "/" not in f.path and f.path.endswith(".parquet") and f.path not in mine:
                    self.fs.rename(lake.join(parent, attempt, f.path), lake.join(work, f.path))
            self.fs.delete(lake.join(parent, attempt))
            adopted.append(attempt)
        for name in self.fs.list_names(parent):  # results of the layout before per-attempt folders
            if name.endswith(".parquet") and not self.fs.exists(lake.join(work, name)):
                self.fs.rename(lake.join(parent, name), lake.join(work, name))
        return adopted

    def write_table(self, qa, files: list[dict[str, Any]]) -> dict[str, Any]:
        """Commit this run's rows into the FAQ table, replacing exactly what the run redid.

        For each crawl of the run's (not failed) files: the crawl's rows whose ``warc_file`` is
        not one of those files stay, the run's rows are added; so re-running WARC files replaces
        their rows (never duplicates them), and a crawl can be built in several batches. With
        ``--replace-crawl`` the crawl is replaced as a whole. The crawl's new content is staged
        and swapped in (or committed to Delta) as one unit."""
        cfg = self.cfg
        table = self.table(self.output)
        crawls = sorted({f["file_crawl"] for f in files})
        uris = sorted({f["file_uri"] for f in files})
        info: dict[str, Any] = {"table": table, "format": cfg.lake.format, "crawls": crawls,
                                "replaced": "crawls" if cfg.lake.replace_crawl else "files", "files_replaced": len(uris)}
        if not crawls:
            info.update(partition_rows={}, partitions_replaced=[])
            return info
        self.table_version(table)  # a Delta commit goes on top of the version the content is made from
        content = self.crawl_content(table, qa, crawls, uris)
        k = max(1, cfg.lake.files_per_partition)
        from pyspark.sql import functions as F

        if cfg.lake.format == "delta" and self.has_delta_spark():
            keys = [F.col(c) for c in PARTITION_COLUMNS] + ([F.abs(F.hash("id")) % k] if k > 1 else [])
            ordered = content.repartition(*keys).sortWithinPartitions("url", "id")
            self.commit_guard()
            replace = " OR ".join(f"crawl = '{c}'" for c in crawls)  # validated names: no quotes
            info["partition_rows"] = _counts(content)
            (ordered.write.format("delta").mode("overwrite").option("replaceWhere", replace)
             .partitionBy(*PARTITION_COLUMNS).save(table))
            info["delta_writer"] = "delta-spark"
            return info
        staged = self.stage(self.output)
        # the crawl's whole new content (kept rows of other files + this run's), files keeping
        # their partition columns, staged and then swapped/committed as one unit
        written = self.write_partitioned(content, self.output, PARTITION_COLUMNS, files=k, sort=["url", "id"])
        info["partition_rows"] = _dir_counts(written)
        if cfg.lake.format == "delta":
            info["files_committed"] = self.commit_delta(staged, table, {"crawl": crawls}, PARTITION_COLUMNS,
                                                        arrow_schema(FAQ_FIELDS))
            info["delta_writer"] = "deltalake"
        else:
            info["partitions_replaced"] = self.swap_staged(staged, table, [f"crawl={c}" for c in crawls])
            self.finish_publish()
        return info

    def crawl_content(self, table: str, qa, crawls: list[str], uris: list[str]):
        """The new content of ``crawls``: the run's rows plus the rows already there that came
        from other WARC files (none with ``--replace-crawl``)."""
        existing = sorted(set(crawls) & set(lake.crawl_dirs(self.fs, table))) if self.fs.exists(table) else []
        if self.cfg.lake.replace_crawl or not existing:
            return qa
        from pyspark.sql import functions as F

        redone = F.broadcast(self.spark.createDataFrame([(u,) for u in uris], "warc_file string"))
        kept = self.read_table(table, existing).select(*FAQ_COLUMNS).join(redone, "warc_file", "left_anti")
        return kept.select(*FAQ_COLUMNS).unionByName(qa)

    def has_delta_spark(self) -> bool:
        try:
            self.spark._jvm.java.lang.Class.forName("io.delta.tables.DeltaTable")
            return True
        except Exception:  # noqa: BLE001 - py4j raises a generic error when the class is missing
            return False


def checked_inputs(inputs: list[str], cfg, notes: list[str] | None = None) -> list[str]:
    """Every input as typed, then the resolved list (a --crawl listing or a manifest is read
    here, before Spark starts, and a failure names its URL). What folders and patterns left out
    is printed, one warning line each (and appended to ``notes``). Raises UsageError."""
    if not inputs and not cfg.input.crawl:
        raise UsageError("no inputs: give WARC paths, a warc.paths manifest, or --crawl CC-MAIN-YYYY-WW")
    for path in inputs:
        preflight.check_input(path, cfg.input.format)
    notes = [] if notes is None else notes
    listed = listed_inputs(inputs, cfg, notes)
    for line in notes:
        print(f"warning: {line}", file=sys.stderr)
    resolved = selected_inputs(listed, cfg)
    if not resolved:  # every input held files (listed_inputs says so otherwise): the sample took none
        n = len(listed)
        raise UsageError(f"no input files: {n} file{'s' * (n != 1)} listed by " + " ".join(inputs or [cfg.input.crawl or ""])
                         + f", none left after --sample {cfg.input.sample} (--seed {cfg.input.seed})")
    return resolved


def _dir_counts(written: dict[str, int]) -> dict[str, dict[str, int]]:
    """:func:`_counts` from ``write_partitioned``'s rows per directory
    (``crawl=<c>/language=<l>``)."""
    out: dict[str, dict[str, int]] = {}
    for folder, rows in written.items():
        parts = dict(seg.split("=", 1) for seg in folder.split("/"))
        by_lang = out.setdefault(parts["crawl"], {})
        by_lang[parts["language"]] = by_lang.get(parts["language"], 0) + rows
    return out


def _counts(df) -> dict[str, dict[str, int]]:
    """Rows per crawl and language: what the lake must hold for each crawl the run replaced
    (``webfaq verify`` compares)."""
    out: dict[str, dict[str, int]] = {}
    for r in df.groupBy("crawl", "language").count().collect():
        out.setdefault(r["crawl"], {})[r["language"]] = r["count"]
    return out


def extract_with_progress(cfg_dict: dict, work_dir: str, accumulators: dict, uris):
    """Executor side: ``extract_to_work``, adding each finished file's records and QAs to the
    progress accumulators (read back from the file's result; progress only, never the manifest)."""
    for uri, status in extract_to_work(cfg_dict, work_dir, uris):
        accumulators["files"].add(1)
        try:
            counters = _file_counters(lake.join(work_dir, result_file_name(uri, status)))
            for name, counter in TRACKED.items():
                accumulators[name].add(int(counters.get(counter, 0)))
        except Exception:  # noqa: BLE001 - progress must never fail a file
            pass
        yield uri, status


def _file_counters(result_uri: str) -> dict[str, int]:
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    filesystem, path = lake.arrow_fs(result_uri)
    t = pq.read_table(path, columns=["kind", "file_counters"], filesystem=filesystem)
    t = t.filter(pc.equal(t["kind"], "file"))
    return json.loads(t["file_counters"][0].as_py()) if t.num_rows else {}


def partition_rows(files: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Rows this run extracted per crawl and language, from the per-file counters (the crawl's
    content after the run, ``output.partition_rows``, also holds the rows it kept)."""
    rows: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for f in files:
        if f["file_status"] == "failed":
            continue
        for key, n in f["file_counters"].items():
            if key.startswith("kept.lang."):
                rows[f["file_crawl"]][key[len("kept.lang."):]] += n
    return {crawl: dict(langs) for crawl, langs in rows.items()}



def summary(manifest: dict[str, Any]) -> str:
    """What a person wants to see after a run: where the lake is and what it holds."""
    out = manifest.get("output", {})
    c = manifest.get("counters", {})
    lines = [
        f"run {manifest['run_id']}: {manifest['status']}",
        f"lake table: {out.get('table')} ({out.get('format')}), crawls {', '.join(out.get('crawls', []))}",
        f"files: {c.get('files.ok', 0)} ok, {sum(v for k, v in c.items() if k.startswith('files.partial.'))} partial, "
        f"{sum(v for k, v in c.items() if k.startswith('files.failed.'))} failed of {c.get('files.total', 0)}",
        f"records {c.get('warc.records', 0)}, HTML pages {c.get('responses.html', 0)}, prefilter hits "
        f"{c.get('prefilter.hit', 0)}, QA extracted {c.get('qa.extracted', 0)}, kept {c.get('qa.kept', 0)}",
    ]
    skipped = {k.split(".", 2)[2]: v for k, v in c.items() if k.startswith(("skip.parse.", "skip.page.")) and v}
    if skipped:  # their pairs were never counted as extracted: the "dropped:" line cannot show them
        lines.append("pages skipped: " + ", ".join(f"{k} {v}" for k, v in sorted(skipped.items(), key=lambda x: -x[1])))
    drops = {k[5:]: v for k, v in c.items() if k.startswith("drop.")}
    if drops:
        lines.append("dropped: " + ", ".join(f"{k} {v}" for k, v in sorted(drops.items(), key=lambda x: -x[1])))
    langs = out.get("languages", {})
    if langs:
        lines.append("kept by language: " + ", ".join(f"{k} {v}" for k, v in sorted(langs.items(), key=lambda x: -x[1])))
    lines.append(f"manifest: {manifest.get('manifest_path')}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return ExtractJob.main(argv, summary)


if __name__ == "__main__":
    sys.exit(main())
