"""spark-submit entry point: the monthly refresh — newest Common Crawl crawl into the lake.

    spark-submit jobs/refresh.py --lake s3://bucket/lake --input-base-url s3://commoncrawl/

Finds the newest crawl in Common Crawl's collection list, skips it when the lake already holds
it as complete (its ``_refresh/<crawl>.json``, or a complete refresh run manifest in ``_runs/``),
and runs extract -> dedup (incremental) -> align -> benchmark for it in one
Spark session. Every stage is idempotent (it replaces its crawl partitions as a whole) and the
refresh is resumable at two levels: stages already finished for the crawl are recorded in
``<lake>/_refresh/<crawl>.json`` and skipped by a re-run, and inside extract every WARC whose
result is already in the work directory is not read again. A re-run after a crash therefore
redoes only what was missing, and the lake equals an uninterrupted run's.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from typing import Any

try:  # run as `spark-submit jobs/refresh.py` (script dir on sys.path) or as a package module
    from webfaq_jobs.base import JobFailed, SparkJob
except ImportError:  # pragma: no cover
    from base import JobFailed, SparkJob  # type: ignore[no-redef]

from webfaq import lake
from webfaq.config import Config
from webfaq.lake.inputs import CRAWL_RE
from webfaq.lake.storage import read_bytes


def newest_crawl(collinfo: bytes) -> str:
    """The newest CC-MAIN-YYYY-WW id in collinfo.json (ids sort by year and week)."""
    ids = [c.get("id", "") for c in json.loads(collinfo)]
    crawls = sorted(i for i in ids if CRAWL_RE.match(i))
    if not crawls:
        raise JobFailed("the collection list names no CC-MAIN-YYYY-WW crawl")
    return crawls[-1]


def stage_jobs() -> dict[str, type]:
    from webfaq_jobs.align import AlignJob
    from webfaq_jobs.benchmark import BenchmarkJob
    from webfaq_jobs.dedup import DedupJob
    from webfaq_jobs.extract import ExtractJob

    return {"extract": ExtractJob, "dedup": DedupJob, "align": AlignJob, "benchmark": BenchmarkJob}


class RefreshJob(SparkJob):
    name = "refresh"
    description = "Run the newest Common Crawl crawl through every stage (skips crawls already complete)."
    own_progress = frozenset({"*"})  # each stage is a job that reports its own progress

    def run(self) -> dict[str, Any]:
        cfg = self.cfg
        crawl = cfg.input.crawl or newest_crawl(read_bytes(cfg.refresh.collinfo_url, cfg.s3, cfg.retry))
        state_path = lake.join(cfg.lake.path, "_refresh", f"{crawl}.json")
        state = json.loads(self.fs.read_text(state_path)) if self.fs.exists(state_path) else {}
        if state.get("status") != "complete":
            state = self.complete_in_manifests(crawl) or state
        if state.get("status") == "complete" and not cfg.refresh.force:
            print(f"refresh: {crawl} is already complete in {cfg.lake.path} (runs {state['stages']}); nothing to do")
            return {"crawl": crawl, "skipped": "already complete", "stages": state["stages"]}
        if cfg.refresh.force:
            state = {}
        stages = dict(state.get("stages", {}))
        jobs = stage_jobs()
        for stage in cfg.refresh.stages:
            if stage in stages:
                print(f"refresh: {crawl} {stage} already done (run {stages[stage]}), skipped")
                continue
            with self.phase(stage):
                job = jobs[stage](self.stage_config(stage, crawl, bool(stages)), argparse.Namespace(inputs=[]))
                job.join_lease(self.lease)  # one writer: the refresh and its stages, in this process
                manifest = job.execute()
            stages[stage] = manifest["run_id"]
            self.fs.write_text(state_path, json.dumps({"crawl": crawl, "status": "running", "stages": stages}))
            print(f"refresh: {crawl} {stage} complete (run {manifest['run_id']})")
        self.fs.write_text(state_path, json.dumps({"crawl": crawl, "status": "complete", "stages": stages}))
        out: dict[str, Any] = {"crawl": crawl, "stages": stages}
        if cfg.refresh.report:
            with self.phase("report"):
                out["report"] = self.write_report()
        return out

    def write_report(self) -> dict[str, str]:
        """The HTML report of the lake, written into it (a failure is recorded, never fatal:
        the crawl is in the lake either way)."""
        from webfaq.report.html import write_report

        try:
            path = write_report(self.cfg.lake.path)
        except Exception as exc:  # noqa: BLE001 - the report must not fail a complete refresh
            print(f"refresh: report not written: {type(exc).__name__}: {exc}", file=sys.stderr)
            return {"error": f"{type(exc).__name__}: {exc}"}
        print(f"refresh: report {path}")
        return {"path": path}

    def complete_in_manifests(self, crawl: str) -> dict[str, Any] | None:
        """The state of ``crawl`` from the lake's run manifests: a complete refresh run of it
        (so a lost or deleted ``_refresh/`` file does not make the crawl run again)."""
        for m in reversed(lake.read_manifests(self.fs, self.cfg.lake.path)):
            if (m.get("job") == self.name and m.get("status") == "complete" and m.get("crawl") == crawl
                    and m.get("stages") and not m.get("skipped")):
                return {"crawl": crawl, "status": "complete", "stages": m["stages"]}
        return None

    def stage_config(self, stage: str, crawl: str, resumed: bool) -> Config:
        """The stage's config: the refresh's own, pointed at ``crawl``."""
        cfg = copy.deepcopy(self.cfg)
        cfg.job.run_id = None
        cfg.input.crawl = crawl
        if stage == "dedup":
            cfg.dedup.crawls = [crawl]
            cfg.dedup.incremental = self.has_other_crawls("faq_dedup", crawl)
        # align and benchmark cover every crawl of the lake (the bitext and benchmark tables are
        # rebuilt whole; stored embeddings make the old crawls cheap), so a refresh never narrows
        # them to the newest crawl
        return cfg

    def has_other_crawls(self, table: str, crawl: str) -> bool:
        return any(c != crawl for c in lake.crawl_dirs(self.fs, lake.table_path(self.cfg.lake.path, table)))


def main(argv: list[str] | None = None) -> int:
    return RefreshJob.main(argv)


if __name__ == "__main__":
    sys.exit(main())
