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

from webfaq import lake
from webfaq.counters import EXTRACT_FUNNEL, merge, reconcile
from webfaq.extract.pipeline import extract_to_work, result_file_name, staging_fields
from webfaq.extract.records import FAQ_COLUMNS, FAQ_FIELDS, PARTITION_COLUMNS, arrow_schema
from webfaq.faults import failpoint
from webfaq.lake.inputs import resolve_inputs
from webfaq.lake.storage import redact


def ddl(fields: list[tuple[str, str]]) -> str:
    return ", ".join(f"`{name}` {tp}" for name, tp in fields)


class ExtractJob(SparkJob):
    name = "extract"
    description = "Extract schema.org FAQPage QA pairs from WARC files into the FAQ lake."
    output = "faq"
    own_progress = frozenset({"extract"})  # files, records and QAs (progress.Progress)

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("inputs", nargs="*", help="WARC paths, globs, s3:// or https:// URLs, "
                            "or warc.paths[.gz] manifests (relative entries use --input-base-url)")

    def run(self) -> dict[str, Any]:
        cfg = self.cfg
        with self.phase("resolve_inputs"):
            uris = resolve_inputs(self.args.inputs, cfg)
        if not uris:
            raise JobFailed("no input files matched " + " ".join(self.args.inputs or [cfg.input.crawl or ""]))
        out: dict[str, Any] = {"inputs": [redact(u) for u in uris]}
        work = self.work_dir(uris)
        done = {f.path for f in self.fs.list_files(work)}
        todo = [u for u in uris if result_file_name(u, "ok") not in done]
        for u in todo:  # a failed file is retried by a resumed run
            if result_file_name(u, "failed") in done:
                self.fs.delete(lake.join(work, result_file_name(u, "failed")))
        out["resumed"] = {"work_dir": work, "files_already_done": len(uris) - len(todo), "files_to_do": len(todo)}

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
        out.update(counters=counters.as_dict(), files=files, reconcile=reconcile(counters),
                   funnel=EXTRACT_FUNNEL)
        failed = sum(1 for f in files if f["file_status"] == "failed")
        out["failure_budget"] = {"failed": failed, "total": len(files), "allowed": cfg.job.failure_budget}
        if out["reconcile"]:
            raise JobFailed(f"counters do not reconcile: {out['reconcile']}", out)
        if failed > cfg.job.failure_budget * len(files):
            reasons = sorted({f["file_reason"] for f in files if f["file_status"] == "failed"})
            raise JobFailed(f"{failed} of {len(files)} WARC files failed ({', '.join(reasons)}), "
                          f"over the budget of {cfg.job.failure_budget:.2%}", out)

        crawls = sorted({f["file_crawl"] for f in files if f["file_status"] != "failed"})
        with self.phase("write_lake"):
            qa = rows.where("kind = 'qa'").select(*FAQ_COLUMNS)
            out["output"] = self.write_table(qa, crawls)
        self.fs.delete(lake.staging_path(cfg.lake.path, self.run_id))
        self.fs.delete(work)
        out["output"]["languages"] = {k.split(".", 2)[2]: v for k, v in counters.items()
                                      if k.startswith("kept.lang.")}
        out["output"]["partition_rows"] = partition_rows(files)
        return out

    def work_dir(self, uris: list[str]) -> str:
        """Where per-file results of this exact job (same inputs, same extraction settings)
        accumulate until the lake commit; a re-run of the same command resumes from it."""
        cfg = self.cfg
        identity = {"inputs": uris, "input_format": cfg.input.format, "crawl": cfg.input.crawl,
                    "crawl_id": cfg.job.crawl_id, "extract": cfg.extract.__dict__,
                    "filters": cfg.filters.__dict__, "langid": cfg.langid.__dict__}
        digest = hashlib.sha1(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:16]
        return lake.join(cfg.lake.path, "_work", self.name, digest)

    def write_table(self, qa, crawls: list[str]) -> dict[str, Any]:
        """Replace the run's crawl partitions of the FAQ table as a whole."""
        cfg = self.cfg
        table = self.table(self.output)
        k = max(1, cfg.lake.files_per_partition)
        from pyspark.sql import functions as F

        info = {"table": table, "format": cfg.lake.format, "crawls": crawls}
        if cfg.lake.format == "delta" and self.has_delta_spark():
            keys = [F.col(c) for c in PARTITION_COLUMNS] + ([F.abs(F.hash("id")) % k] if k > 1 else [])
            ordered = qa.repartition(*keys).sortWithinPartitions("url", "id")
            replace = " OR ".join(f"crawl = '{c}'" for c in crawls) or "false"
            (ordered.write.format("delta").mode("overwrite").option("replaceWhere", replace)
             .partitionBy(*PARTITION_COLUMNS).save(table))
            info["delta_writer"] = "delta-spark"
            return info
        staged = self.stage(self.output)
        self.write_partitioned(qa, self.output, PARTITION_COLUMNS, files=k, sort=["url", "id"])
        if cfg.lake.format == "delta":
            info["files_committed"] = lake.commit_delta(
                self.fs, staged, table, {"crawl": crawls}, PARTITION_COLUMNS, arrow_schema(FAQ_FIELDS))
            info["delta_writer"] = "deltalake"
        else:
            info["partitions_replaced"] = lake.swap_partitions(
                self.fs, staged, table, self.run_id, [f"crawl={c}" for c in crawls])
        return info

    def has_delta_spark(self) -> bool:
        try:
            self.spark._jvm.java.lang.Class.forName("io.delta.tables.DeltaTable")
            return True
        except Exception:  # noqa: BLE001 - py4j raises a generic error when the class is missing
            return False


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
    """Rows the run wrote per crawl and language, from the per-file counters (not from the lake:
    `webfaq verify` compares the two)."""
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
