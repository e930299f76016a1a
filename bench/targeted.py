"""Targeted refresh benchmark (issue 16): what reading only the planned captures costs and misses.

    .venv/bin/python bench/targeted.py [--pages 1051] [--months 3] [--files 24] [--seeds 3]
                                       [--discovery 0,0.05,0.1,0.25] [--gaps 0,4096,65536,1048576]

Simulated crawls from real pages (tests/support/cccrawl.py: the 1,051 real HTML pages of
../shared/data/warc/real-pages.warc.gz grouped into websites, real FAQ text injected as JSON-LD
on some; each month websites disappear and appear, FAQ pages move and new ones appear), written
as Common Crawl lays them out: per-record gzip WARC files, the columnar URL index (Parquet,
cc-index-table schema) with offsets from the writer, the listings. Everything is served by a
loopback HTTP server with Range support that counts requests and body bytes: the bytes and
requests below are what the server sent, not estimates.

Month 0 goes into the lake by a full pass. For each later month: a full pass (the reference),
and a targeted pass (plan with DuckDB, fetch by range, the same extraction) for each discovery
fraction and seed, each chain of months feeding its own lake (what a targeted month finds is
what the next month knows). Recall is over (url, record id) pairs of the full pass; a targeted
pass never finds a pair the full pass does not (checked). Misses are broken down by what
happened to the page; "unknown host" is a FAQ host the lake did not know when the month was
planned (new this month, or never sampled yet). Seconds are wall time of this process on this
machine (one core, shared): read the bytes and requests, not the seconds.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))  # support.* data builders

from support.cccrawl import evolve, first_world, write_crawl  # noqa: E402
from support.faqsynth import write_lake  # noqa: E402
from support.rangeserver import RangeServer  # noqa: E402
from webfaq.config import Config  # noqa: E402
from webfaq.extract.ccindex import DuckDBEngine, make_plan  # noqa: E402
from webfaq.extract.pipeline import QAProcessor, process_unit  # noqa: E402

SHARED = REPO.parent / "shared" / "data"


def crawl_id(month: int) -> str:
    return f"CC-MAIN-2099-{month + 1:02d}"


def config(server: RangeServer, crawl: str, discovery: float = 0.0, seed: int = 1, gap: int | None = None) -> Config:
    cfg = Config()
    cfg.input.base_url, cfg.input.crawl = server.url, crawl
    cfg.targeted.index_url = server.url + "cc-index/table/cc-main/warc/"
    cfg.targeted.discovery_sample, cfg.targeted.discovery_seed = discovery, seed
    if gap is not None:
        cfg.targeted.max_gap = gap
    return cfg


def run_units(units, cfg: Config, processor: QAProcessor, server: RangeServer) -> dict:
    """Fetch and extract ``units``; what the server sent and what the pipeline counted."""
    server.reset()
    started = time.perf_counter()
    records, counters = [], Counter()
    for unit in units:
        result = process_unit(unit, cfg, processor)
        records += result.records
        counters.update(result.counters)
    requests, sent = server.total("crawl-data/")
    return {"records": records, "pairs": {(r["url"], r["id"]) for r in records}, "bytes": sent,
            "requests": requests, "warc_records": counters["warc.records"], "seconds": time.perf_counter() - started}


def plan_month(lake: Path, cfg: Config, server: RangeServer):
    server.reset()
    plan = make_plan(cfg.input.crawl, cfg, DuckDBEngine(cfg, str(lake), cfg.input.crawl), str(lake / "_work" / "plan"))
    return plan, server.total()  # listings and the index scan


def miss_kind(url: str, known_hosts: set[str], known_urls: set[str], labels: dict[str, str]) -> str:
    """Why a full-pass FAQ page was missed: its host unknown to the lake, or what happened to
    the page this month (``faq``: unchanged, but at a URL the lake never held: missed before)."""
    if urlsplit(url).hostname not in known_hosts:
        return "unknown host"
    label = labels.get(url, "?")
    return "faq, URL never in the lake" if label == "faq" and url not in known_urls else label


def hosts_of(records: list[dict]) -> set[str]:
    return {urlsplit(r["url"]).hostname for r in records}


def fmt_bytes(n: float) -> str:
    return f"{n / 1e6:,.2f} MB"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=1051, help="real pages to build websites from")
    ap.add_argument("--months", type=int, default=3, help="crawls (month 0 seeds the lake)")
    ap.add_argument("--files", type=int, default=24, help="WARC files per crawl")
    ap.add_argument("--seeds", type=int, default=3, help="discovery seeds per fraction")
    ap.add_argument("--world-seed", type=int, default=11)
    ap.add_argument("--discovery", default="0,0.05,0.1,0.25", help="discovery fractions")
    ap.add_argument("--gaps", default="0,4096,65536,1048576", help="--targeted-max-gap values for the gap table")
    args = ap.parse_args()
    if not SHARED.exists():
        print(f"shared data not found: {SHARED}", file=sys.stderr)
        return 2
    fractions = [float(x) for x in args.discovery.split(",")]
    work = Path(tempfile.mkdtemp(prefix="bench-targeted-"))
    try:
        return run(args, fractions, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(args, fractions: list[float], work: Path) -> int:
    world = first_world(SHARED, args.pages, seed=args.world_seed)
    crawls = {}
    for month in range(args.months):
        if month:
            world = evolve(world)
        crawls[month] = write_crawl(work / "cc", crawl_id(month), world, args.files)
    server = RangeServer(work / "cc")
    processor = QAProcessor(Config())
    try:
        full = {m: run_units([server.url + n for n in crawls[m].warcs], config(server, crawl_id(m)), processor, server)
                for m in crawls}
        crawl_bytes = {m: sum((work / "cc" / n).stat().st_size for n in crawls[m].warcs) for m in crawls}
        print(f"# Targeted refresh benchmark\n\n{args.months} simulated crawls from {args.pages} real pages, "
              f"{args.files} WARC files each; captures per crawl: "
              + ", ".join(f"{crawl_id(m)} {crawls[m].captures}" for m in crawls)
              + ".\nCommand: `.venv/bin/python bench/targeted.py " + " ".join(sys.argv[1:]) + "`\n")
        rows, misses = [], defaultdict(Counter)
        for fraction in fractions:
            for seed in range(1, (args.seeds if fraction > 0 else 1) + 1):
                lake = work / f"lake-{fraction}-{seed}"
                write_lake(full[0]["records"], lake)
                known_records = list(full[0]["records"])
                for month in range(1, args.months):
                    cfg = config(server, crawl_id(month), fraction, seed)
                    plan, (index_requests, index_bytes) = plan_month(lake, cfg, server)
                    got = run_units(plan.units(), cfg, processor, server)
                    ref = full[month]
                    assert got["pairs"] <= ref["pairs"], "a targeted pass found a pair the full pass did not"
                    known, known_urls = hosts_of(known_records), {r["url"] for r in known_records}
                    for url, _ in ref["pairs"] - got["pairs"]:
                        misses[fraction][miss_kind(url, known, known_urls, crawls[month].labels)] += 1
                    rows.append({"month": month, "fraction": fraction, "seed": seed, "plan": plan.summary(),
                                 "index_bytes": index_bytes, "index_requests": index_requests, **got,
                                 "recall": len(got["pairs"]) / len(ref["pairs"]) if ref["pairs"] else 1.0})
                    write_lake(got["records"], lake)
                    known_records += got["records"]
        print_tables(args, fractions, full, crawl_bytes, rows, misses)
        print_gaps(args, work, server, full, processor)
    finally:
        processor.close()
        server.close()
    return 0


def print_tables(args, fractions, full, crawl_bytes, rows, misses) -> None:
    print("| month | pass | bytes read | share of crawl | requests | records fetched | FAQ QAs found | recall vs full | "
          "bytes per QA | requests per QA | s per QA |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for month in range(1, args.months):
        f = full[month]
        n = max(1, len(f["pairs"]))
        print(f"| {crawl_id(month)} | full pass | {fmt_bytes(f['bytes'])} | 100% | {f['requests']} | {f['warc_records']} | "
              f"{len(f['pairs'])} | 1.000 | {f['bytes'] / n:,.0f} | {f['requests'] / n:.2f} | {f['seconds'] / n:.4f} |")
        for fraction in fractions:
            sel = [r for r in rows if r["month"] == month and r["fraction"] == fraction]
            mean = lambda k: statistics.mean(r[k] for r in sel)  # noqa: E731
            found = statistics.mean(len(r["pairs"]) for r in sel)
            recalls = [r["recall"] for r in sel]
            spread = f" ({min(recalls):.3f}-{max(recalls):.3f})" if len(recalls) > 1 else ""
            q = max(found, 1)
            print(f"| {crawl_id(month)} | targeted, discovery {fraction:.0%} ({len(sel)} seeds) | {fmt_bytes(mean('bytes'))} "
                  f"+ index {fmt_bytes(mean('index_bytes'))} | {(mean('bytes') + mean('index_bytes')) / crawl_bytes[month]:.1%} | "
                  f"{mean('requests'):.0f} + {mean('index_requests'):.0f} | {mean('warc_records'):.0f} | {found:.1f} | "
                  f"{statistics.mean(recalls):.3f}{spread} | {(mean('bytes') + mean('index_bytes')) / q:,.0f} | "
                  f"{(mean('requests') + mean('index_requests')) / q:.2f} | {mean('seconds') / q:.4f} |")
    print("\nShare of crawl = (WARC bytes + index bytes read) / the crawl's WARC bytes; index = the plan's scan of the "
          "URL index (footers and the 8 columns it reads).\n")
    print("Full-pass QAs the targeted passes missed, summed over the months, mean over seeds, by what happened "
          "to the page:\n")
    labels = sorted({k for c in misses.values() for k in c})
    print("| discovery | " + " | ".join(labels) + " |")
    print("|---|" + "---|" * len(labels))
    for fraction in fractions:
        seeds = len({r["seed"] for r in rows if r["fraction"] == fraction})
        print(f"| {fraction:.0%} | " + " | ".join(f"{misses[fraction][k] / seeds:.1f}" for k in labels) + " |")
    for fraction in fractions:
        sel = [r for r in rows if r["fraction"] == fraction and r["month"] == 1]
        reasons = Counter()
        for r in sel:
            reasons.update({k: v["captures"] for k, v in r["plan"]["reasons"].items()})
        if sel:
            print(f"\nplan of {crawl_id(1)}, discovery {fraction:.0%} (per seed): "
                  + ", ".join(f"{k} {v / len(sel):.0f}" for k, v in sorted(reasons.items()))
                  + f" captures; discovery files {statistics.mean(r['plan']['discovery_files'] for r in sel):.1f}")


def print_gaps(args, work: Path, server: RangeServer, full, processor: QAProcessor) -> None:
    """Bytes against requests as --targeted-max-gap grows (month 1, no discovery)."""
    print(f"\n--targeted-max-gap on {crawl_id(1)} (lake: the full pass of {crawl_id(0)}, no discovery):\n")
    print("| max gap | ranged reads (requests) | bytes read | records fetched | FAQ QAs found |")
    print("|---|---|---|---|---|")
    lake = work / "lake-gaps"
    write_lake(full[0]["records"], lake)
    for gap in [int(g) for g in args.gaps.split(",")]:
        cfg = config(server, crawl_id(1), 0.0, 1, gap)
        plan, _ = plan_month(lake, cfg, server)
        got = run_units(plan.units(), cfg, processor, server)
        print(f"| {gap:,} | {got['requests']} | {fmt_bytes(got['bytes'])} | {got['warc_records']} | {len(got['pairs'])} |")


if __name__ == "__main__":
    sys.exit(main())
