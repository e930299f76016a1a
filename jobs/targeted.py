"""The targeted refresh's extract stage: read the FAQ pages of a crawl, not the whole crawl.

    webfaq refresh --targeted --lake s3://bucket/lake                      # newest crawl, every stage
    webfaq plan --crawl CC-MAIN-2024-22 --lake s3://bucket/lake            # the plan only, nothing fetched

:class:`TargetedExtractJob` is the extract job with other units of work: instead of the crawl's
WARC listing it plans, from Common Crawl's URL index and the lake's FAQ pages of earlier crawls
(``webfaq.extract.ccindex``), one ranged task per WARC file holding planned captures plus the
discovery sample's whole files. Everything after that is the extract job's own: one Spark task
per unit, the per-unit result file as resume marker, the counters and their reconciliation,
the failure budget, the atomic replacement of the crawl's partitions. Its runs are extract runs
(same name, same table), so dedup, align and benchmark run on them unchanged.
"""

from __future__ import annotations

import sys
from typing import Any

try:  # run as `spark-submit jobs/targeted.py` (script dir on sys.path) or as a package module
    from webfaq_jobs.base import JobFailed, SparkJob
    from webfaq_jobs.extract import ExtractJob, ddl
except ImportError:  # pragma: no cover - spark-submit with only --py-files of lib
    from base import JobFailed, SparkJob  # type: ignore[no-redef]
    from extract import ExtractJob, ddl  # type: ignore[no-redef]

from webfaq import lake
from webfaq.errors import UsageError
from webfaq.extract.ccindex import (DuckDBEngine, IndexProblem, Plan, candidate_schema, index_problem, make_plan,
                                    scan_key, scan_to_work)
from webfaq.lake.storage import FetchError

# fetch failures that say the crawl (or its index) is not where the settings point: usage errors
NOT_THERE = ("not_found", "access_denied", "bad_url")


def candidate_fields() -> list[tuple[str, str]]:
    """The scan's candidate columns (``ccindex.candidate_schema``) as Spark SQL types."""
    spark_type = {"string": "string", "int64": "long"}
    return [(f.name, spark_type[str(f.type)]) for f in candidate_schema()]


class SparkPlanEngine:
    """Planning on the cluster: the index scan as one Spark task per index file (the known
    hosts broadcast), the selection in Spark SQL over the lake's FAQ table."""

    dialect = "spark"

    def __init__(self, job: ExtractJob, crawl: str):
        self.job, self.crawl = job, crawl
        self.spark = job.spark

    def register_known(self) -> None:
        table = self.job.table("faq")
        crawls = [c for c in lake.crawl_dirs(self.job.fs, table) if c != self.crawl]
        known = self.job.read_table(table, crawls).select("url") if crawls else \
            self.spark.createDataFrame([], "url string")
        known.createOrReplaceTempView("known")

    def scan(self, files: list[str], work_dir: str, hosts: frozenset[str], discovery: frozenset[str]) -> list[dict]:
        sc = self.spark.sparkContext
        hosts_b = sc.broadcast(hosts)
        cfg_dict = self.job.cfg.to_dict()
        try:
            stats = sc.parallelize(files, len(files)).map(
                lambda uri: scan_to_work(cfg_dict, work_dir, hosts_b.value, discovery, uri)).collect()
        finally:
            hosts_b.destroy()
        index_problem(stats)
        (self.spark.read.schema(ddl(candidate_fields())).parquet(*[lake.join(work_dir, scan_key(f)) for f in files])
         .createOrReplaceTempView("candidates"))
        return stats

    def view(self, name: str, sql: str) -> None:
        self.spark.sql(sql).createOrReplaceTempView(name)

    def rows(self, sql: str) -> list[tuple]:
        return [tuple(row) for row in self.spark.sql(sql).collect()]


class TargetedExtractJob(ExtractJob):
    name = "extract"  # its runs are the lake's extract runs: same table, manifests and refresh stage
    description = "Extract the planned captures of a crawl (URL index + ranged reads) into the FAQ lake."
    plan: Plan | None = None

    def preflight(self) -> None:
        """The lake (as every job), and a crawl to plan instead of input files (no inputs are
        resolved here: the plan is the run's resolve_inputs phase)."""
        SparkJob.preflight(self)
        self.check_target()

    def check_target(self) -> str:
        """The crawl to plan; UsageError without --crawl or with input files."""
        if getattr(self.args, "inputs", None):
            raise UsageError("--targeted plans its inputs from the URL index: give --crawl, not input files")
        if not self.cfg.input.crawl:
            raise UsageError("--targeted needs --crawl CC-MAIN-YYYY-WW, the crawl to plan (refresh finds the newest)")
        return self.cfg.input.crawl

    def resolve_units(self) -> list[Any]:
        """The plan's units (its time is the run's resolve_inputs phase)."""
        self.plan = self.build_plan()
        print(self.plan.describe())
        return self.plan.units()

    def build_plan(self) -> Plan:
        """The plan for ``--crawl`` (no fetching of WARC data; the index scan is kept in the
        lake's work area for the run that follows). A crawl or index that is not there is a
        UsageError, any other failed fetch a JobFailed; an index file that is no usable index
        file (not Parquet, a column missing or of the wrong type) a UsageError naming it."""
        cfg = self.cfg
        crawl = self.check_target()
        engine = SparkPlanEngine(self, crawl) if cfg.targeted.engine == "spark" else \
            DuckDBEngine(cfg, cfg.lake.path, crawl)
        try:
            return make_plan(crawl, cfg, engine, lake.join(cfg.lake.path, "_work", "plan"))
        except FetchError as exc:
            error = UsageError if exc.reason in NOT_THERE else JobFailed
            raise error(f"cannot plan {crawl}: {exc}") from exc
        except IndexProblem as exc:
            raise IndexProblem(f"cannot plan {crawl}: {exc}") from exc

    def run(self) -> dict[str, Any]:
        try:
            out = super().run()
        except JobFailed as exc:
            if self.plan is not None:
                self.add_plan(exc.manifest)
            raise
        self.add_plan(out)
        self.fs.delete(self.plan.scan_dir)
        return out

    def add_plan(self, manifest: dict[str, Any]) -> None:
        """The plan's numbers into the run's manifest, and the index rows it skipped into the
        run's counters (``targeted.skipped.<reason>``): rows never fetched are accounted for too."""
        manifest["targeted"] = self.plan.summary()
        if "counters" in manifest:
            manifest["counters"] = dict(manifest["counters"], **self.plan.skip_counters())


def main(argv: list[str] | None = None) -> int:
    from webfaq_jobs.extract import summary

    return TargetedExtractJob.main(argv, summary)


if __name__ == "__main__":
    sys.exit(main())
