"""The ``webfaq`` command. Spark jobs are imported lazily: ``extract-file`` needs no JVM."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import Callable

from webfaq.config import add_config_arguments, config_from_args

EXTRACT_SECTIONS = ["input", "s3", "retry", "extract", "filters", "langid", "job"]


def _json_default(value):
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def cmd_extract_file(args: argparse.Namespace) -> int:
    """One WARC (or N-Quads file) in one process: records as JSON lines, counters to stderr."""
    from webfaq.counters import reconcile
    from webfaq.extract.pipeline import process_file

    cfg = config_from_args(args)
    result = process_file(args.path, cfg)
    out = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout
    try:
        for rec in result.records:
            out.write(json.dumps(rec, ensure_ascii=False, default=_json_default) + "\n")
    finally:
        if args.out:
            out.close()
    report = {"file": result.uri, "status": result.status, "reason": result.reason, "crawl": result.crawl,
              "attempts": result.attempts, "seconds": result.seconds, "slowest_page_s": result.slowest_page_s,
              "counters": result.counters,
              "reconcile": reconcile(result.counters)}
    print(json.dumps(report, indent=1, sort_keys=True), file=sys.stderr)
    return 0 if result.status != "failed" else 1


def cmd_evaluate(args: argparse.Namespace) -> int:
    """BM25 nDCG@10 / MRR@10 / Recall@100 of a produced BEIR split (a sanity check, no Spark)."""
    from webfaq.benchmark.bm25 import BM25Params
    from webfaq.benchmark.evaluate import evaluate_benchmark

    bm = config_from_args(args).benchmark
    result = evaluate_benchmark(args.path, args.split, BM25Params(bm.k1, bm.b, bm.analyzer), args.languages or ())
    for row in result["languages"]:
        print(f"{row['language']:<8} queries {row['queries']:>6}  corpus {row['corpus']:>8}  nDCG@10 {row['ndcg@10']:.4f}  "
              f"MRR@10 {row['mrr@10']:.4f}  R@100 {row['recall@100']:.4f}", file=sys.stderr)
    print(json.dumps(result, indent=1, sort_keys=True))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Write the lake's HTML run report and print where it is."""
    from webfaq.report.html import write_report

    path = write_report(args.lake, args.out, s3=config_from_args(args).s3)
    print(f"report: {path}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    """Compare what the manifests say was written with what the lake holds."""
    from webfaq.lake.verify import verify

    report = verify(args.lake, s3=config_from_args(args).s3)
    for part in report["partitions_checked"]:
        status = "ok" if part["expected"] == part["found"] else "MISMATCH"
        print(f"{status:8} {part['table']}/{part['partition']}: {sum(part['found'].values())} rows "
              f"(run {part['run_id']})")
    for f in report["files_checked"]:
        status = "ok" if f["expected"] == f["found"] else "MISMATCH"
        print(f"{status:8} {f['table']}/{f['file']}: {f['found'].get('lines', 0)} lines (run {f['run_id']})")
    for problem in report["problems"]:
        print(f"PROBLEM  {problem}")
    print(f"{report['runs']} runs, {len(report['partitions_checked'])} partitions and "
          f"{len(report['files_checked'])} files checked: "
          + ("all consistent" if report["ok"] else f"{len(report['problems'])} problems"))
    return 0 if report["ok"] else 1


def cmd_export(args: argparse.Namespace) -> int:
    """Write the lake as a folder ready to upload as a Hugging Face dataset (no Spark)."""
    from webfaq.lake.export import ExportError, export

    try:
        result = export(args.lake, args.out, overwrite=args.overwrite, s3=config_from_args(args).s3,
                        rows_per_file=args.rows_per_file, license=args.license)
    except ExportError as exc:
        print(f"export REFUSED: {exc}", file=sys.stderr)
        return 2
    for c in result.configs:
        print(f"{c.name:<16} {c.kind:<8} {c.rows:>10,} rows  {', '.join(c.splits)}")
    print(f"export: {args.out} ({len(result.configs)} configs, {result.rows:,} rows; card README.md)")
    return 0


def _spark_job(module: str, cls: str) -> Callable[[list[str]], int]:
    def run(argv: list[str]) -> int:
        import importlib

        return importlib.import_module(module).main(argv)
    return run


SPARK_COMMANDS = {
    "extract": ("Extract FAQ pairs from WARC files into the lake (Spark).", _spark_job("webfaq_jobs.extract", "ExtractJob")),
    "dedup": ("Flag exact and MinHash-LSH near-duplicate FAQ records: faq -> faq_dedup (Spark).", _spark_job("webfaq_jobs.dedup", "DedupJob")),
    "benchmark": ("Build per-language retrieval benchmarks (BEIR) and BM25 hard negatives from the lake (Spark).", _spark_job("webfaq_jobs.benchmark", "BenchmarkJob")),
    "align": ("Align QAs across languages within each website: faq_dedup -> bitext (Spark).", _spark_job("webfaq_jobs.align", "AlignJob")),
    "refresh": ("Run the newest Common Crawl crawl through every stage; skips crawls already complete (Spark).",
                _spark_job("webfaq_jobs.refresh", "RefreshJob")),
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in SPARK_COMMANDS:
        return SPARK_COMMANDS[argv[0]][1](argv[1:])
    parser = argparse.ArgumentParser(prog="webfaq", description="WebFAQ Lake: Common Crawl -> multilingual FAQ data.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help_text, _) in SPARK_COMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    p = sub.add_parser("extract-file", help="Extract one WARC in this process (no Spark); JSON lines out.")
    p.add_argument("path", help="WARC file (local, s3:// or https://), or N-Quads with --input-format nquads")
    p.add_argument("--out", help="write JSON lines here instead of stdout")
    add_config_arguments(p, EXTRACT_SECTIONS)
    p.set_defaults(func=cmd_extract_file)
    v = sub.add_parser("verify", help="Re-derive counts from the lake and compare them with the run manifests.")
    v.add_argument("--lake", required=True, help="lake directory or URI (s3://, gs://, hdfs://)")
    add_config_arguments(v, ["s3"])
    v.set_defaults(func=cmd_verify)
    r = sub.add_parser("report", help="Write one self-contained HTML report of the lake's runs (no Spark).")
    r.add_argument("--lake", required=True, help="lake directory or URI (s3://, gs://, hdfs://)")
    r.add_argument("--out", help="HTML file to write (default: <lake>/_reports/report-<newest run>.html "
                   "and a copy at <lake>/report.html)")
    add_config_arguments(r, ["s3"])
    r.set_defaults(func=cmd_report)
    e = sub.add_parser("export", help="Write the lake as a folder ready to upload as a Hugging Face dataset (no Spark).")
    e.add_argument("--lake", required=True, help="lake directory or URI (s3://, gs://, hdfs://)")
    e.add_argument("--out", required=True, help="local folder to write (refused when it exists and is not empty)")
    e.add_argument("--overwrite", action="store_true", help="replace a non-empty --out (swapped in when complete)")
    e.add_argument("--rows-per-file", type=int, default=1_000_000, help="most rows per Parquet file (default: 1000000)")
    e.add_argument("--license", default="other", help="the card's licence field for the compilation (default: other)")
    add_config_arguments(e, ["s3"])
    e.set_defaults(func=cmd_export)
    p = sub.add_parser("evaluate", help="BM25 nDCG@10/MRR@10/Recall@100 on a produced benchmark split (no Spark).")
    p.add_argument("path", help="a benchmark folder (<lake>/benchmark) or one language's BEIR folder")
    p.add_argument("--split", default="test", choices=["test", "train"], help="qrels split to evaluate (default: test)")
    p.add_argument("--languages", type=lambda s: [x for x in s.split(",") if x], help="only these language folders")
    add_config_arguments(p, ["benchmark"])
    p.set_defaults(func=cmd_evaluate)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except BrokenPipeError:  # `webfaq extract-file X | head`: the reader left, not an error
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
