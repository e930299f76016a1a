"""spark-submit entry point: the monthly refresh — the newest Common Crawl crawl, then `run`.

    spark-submit jobs/refresh.py --lake s3://bucket/lake --input-base-url s3://commoncrawl/

Finds the newest crawl in Common Crawl's collection list, skips it when the lake already holds
it as complete (its ``_refresh/<crawl>.json``, or a complete refresh run manifest in ``_runs/``),
and runs the pipeline's stages for it in one Spark session with the stage loop of ``webfaq run``
(jobs/run.py): stages already finished for the crawl are skipped by a re-run, and inside extract
every WARC whose result is already in the work directory is not read again, so a re-run after a
crash redoes only what was missing and the lake equals an uninterrupted run's.
"""

from __future__ import annotations

import json
import sys

try:  # run as `spark-submit jobs/refresh.py` (script dir on sys.path) or as a package module
    from webfaq_jobs.base import JobFailed
    from webfaq_jobs.run import PipelineJob, summary
except ImportError:  # pragma: no cover
    from base import JobFailed  # type: ignore[no-redef]
    from run import PipelineJob, summary  # type: ignore[no-redef]

from webfaq.lake.inputs import is_crawl_id
from webfaq.lake.storage import read_bytes
from webfaq.redaction import redact


def newest_crawl(collinfo: bytes, where: str = "the collection list") -> str:
    """The newest CC-MAIN-YYYY-WW id in collinfo.json (ids sort by year and week); JobFailed in
    one line naming ``where`` when it is no JSON list of crawls. Entries that are no crawl id
    (other collections, an id with anything around it) are passed over: only a whole id is one."""
    try:
        listing = json.loads(collinfo)
    except ValueError as exc:
        raise JobFailed(f"{where} is not JSON ({exc})") from None
    if not isinstance(listing, list):
        raise JobFailed(f"{where} is a JSON {type(listing).__name__}, expected a list of crawls "
                        '([{"id": "CC-MAIN-YYYY-WW", ...}, ...])')
    crawls = sorted(c["id"] for c in listing if isinstance(c, dict) and is_crawl_id(c.get("id")))
    if not crawls:
        raise JobFailed(f"{where} names no CC-MAIN-YYYY-WW crawl")
    return crawls[-1]


class RefreshJob(PipelineJob):
    name = "refresh"
    description = "The newest Common Crawl crawl, then `run` over it; skips crawls already complete (Spark)."
    example = ("webfaq refresh --lake s3://my-bucket/lake --input-base-url s3://commoncrawl/\n"
               "webfaq refresh --targeted --lake s3://my-bucket/lake --input-base-url s3://commoncrawl/")
    config_sections = ["refresh", "targeted", "input", "s3", "retry", "lake", "job"]
    state_dir = "_refresh"

    def plan(self) -> tuple[str, list[str], str | None]:
        """The crawl is the key: a month's refresh is about one crawl, read from its listing."""
        cfg = self.cfg
        url = cfg.refresh.collinfo_url
        crawl = cfg.input.crawl or newest_crawl(read_bytes(url, cfg.s3, cfg.retry),
                                                f"the collection list {redact(url)}")
        return crawl, [], crawl

    def settings(self) -> tuple[list[str], bool, bool]:
        return list(self.cfg.refresh.stages), self.cfg.refresh.force, self.cfg.refresh.report


def main(argv: list[str] | None = None) -> int:
    return RefreshJob.main(argv, summary)


if __name__ == "__main__":
    sys.exit(main())
