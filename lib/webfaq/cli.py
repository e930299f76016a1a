"""The ``webfaq`` command. Spark jobs are imported lazily: ``extract-file`` needs no JVM.

Commands are listed in pipeline order. The Spark jobs (extract, dedup, align, benchmark, refresh)
own their parsers (jobs/base.py); the other commands are defined here (``plan`` starts Spark only
for its default planner engine, and writes no run). Every
command shares the conventions of :mod:`webfaq.console`: one-line errors, exit 2 for usage errors.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shlex
import sys
from collections import defaultdict
from datetime import datetime
from typing import Any, Callable

from webfaq import preflight
from webfaq.config import add_config_arguments, config_from_args, section_classes
from webfaq.console import (EXIT_FAILED, EXIT_OK, EXIT_REFUSED, EXIT_USAGE, Parser, add_general_arguments, example_epilog,
                            guarded)
from webfaq.errors import UsageError
from webfaq.redaction import redacted_output

# name -> (module, class) of the Spark jobs, in pipeline order
JOBS = {"run": ("webfaq_jobs.run", "RunJob"), "extract": ("webfaq_jobs.extract", "ExtractJob"), "dedup": ("webfaq_jobs.dedup", "DedupJob"),
        "align": ("webfaq_jobs.align", "AlignJob"), "benchmark": ("webfaq_jobs.benchmark", "BenchmarkJob"),
        "refresh": ("webfaq_jobs.refresh", "RefreshJob")}
ORDER = ["run", "extract", "dedup", "align", "benchmark", "evaluate", "report", "verify", "export", "plan",
         "refresh", "unlock", "extract-file", "config-reference"]

# the settings each command without Spark takes: section -> its fields (None: all of them)
SECTIONS: dict[str, dict[str, list[str] | None]] = {
    "extract-file": {"input": ["format", "crawl", "read_ahead_mb"], "s3": None, "retry": None, "extract": None, "filters": None,
                     "langid": None, "job": ["crawl_id"]},
    "evaluate": {"benchmark": ["k1", "b", "analyzer"]},
    "report": {"s3": None},
    "verify": {"s3": None},
    "export": {"s3": None},
    "plan": {"input": ["crawl", "base_url"], "lake": ["path", "format"], "s3": None, "retry": None,
             "targeted": ["index_url", "discovery_sample", "discovery_seed", "max_gap", "faq_path_pattern",
                          "path_templates", "mime_types", "engine"],
             "job": ["master", "spark_log_level"]},
    "unlock": {"s3": None},
    "config-reference": {},
}


def _json_default(value):
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


# --------------------------------------------------------------------------- commands without Spark

def cmd_extract_file(args: argparse.Namespace) -> int:
    """One WARC (or N-Quads file) in one process: records as JSON lines, counters to stderr."""
    from webfaq.counters import reconcile
    from webfaq.extract.pipeline import process_file

    cfg = config_from_args(args)
    preflight.check_input(args.path, cfg.input.format)
    path = args.path if preflight.is_remote(args.path) else preflight.canonical_path(preflight.input_path(args.path))
    result = process_file(path, cfg)
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
    return EXIT_OK if result.status != "failed" else EXIT_FAILED


def cmd_evaluate(args: argparse.Namespace) -> int:
    """BM25 nDCG@10 / MRR@10 / Recall@100 of a produced BEIR split (a sanity check, no Spark)."""
    from webfaq.benchmark import beir
    from webfaq.benchmark.bm25 import BM25Params
    from webfaq.benchmark.evaluate import evaluate_benchmark

    bm = config_from_args(args).benchmark
    if not os.path.isdir(args.path):
        raise UsageError(f"benchmark folder {args.path}: "
                         + ("not a directory" if os.path.exists(args.path) else "no such directory"))
    if not beir.language_folders(args.path):
        raise UsageError(f"benchmark folder {args.path}: no BEIR language folder (with {beir.CORPUS}) in it")
    result = evaluate_benchmark(args.path, args.split, BM25Params(bm.k1, bm.b, bm.analyzer), args.languages or ())
    if args.json:
        print(json.dumps(result, indent=1, sort_keys=True))
        return EXIT_OK
    for row in result["languages"]:
        scores = (f"nDCG@10 {row['ndcg@10']:.4f}  MRR@10 {row['mrr@10']:.4f}  R@100 {row['recall@100']:.4f}"
                  if row["queries"] else f"no {args.split} queries: not in the mean")
        print(f"{row['language']:<8} queries {row['queries']:>6}  docs {row['docs']:>8}  {scores}")
    mean = result["mean"]
    print(f"{'mean':<8} over the {len(result['mean_over'])} languages with {args.split} queries  "
          f"nDCG@10 {mean['ndcg@10']:.4f}  MRR@10 {mean['mrr@10']:.4f}  R@100 {mean['recall@100']:.4f}")
    return EXIT_OK


def _existing_lake(args: argparse.Namespace):
    """The lake a read-only command was pointed at, checked to exist (nothing is created)."""
    from webfaq.lake import lake_fs

    s3 = config_from_args(args).s3
    preflight.check_lake_path(args.lake)  # before anything is opened with it (it may hold credentials)
    preflight.check_existing_lake(args.lake, exists=None if preflight.is_local(args.lake)
                                  else lake_fs(args.lake, s3).exists)
    return s3


def cmd_report(args: argparse.Namespace) -> int:
    """Write the lake's HTML run report and print where it is."""
    from webfaq.report.html import write_report

    path = write_report(args.lake, args.out, s3=_existing_lake(args))
    print(json.dumps({"report": path}) if args.json else f"report: {path}")
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    """Check the lake file by file against what the manifests say was written: one line per
    partition and BEIR file checked, then one line per finding (``webfaq.lake.verify``)."""
    from webfaq.lake.verify import verify

    report = verify(args.lake, s3=_existing_lake(args))
    checked = report["partitions_checked"] + report["files_checked"]
    if args.json:
        print(json.dumps(report, indent=1, sort_keys=True, default=str))
    else:
        print_verify(report, verbose=args.verbose, quiet=args.quiet)
        if report["written_during"]:  # verify takes no lease: a run's swap in progress shows as findings
            print(f"note: {report['written_during']} was writing the lake during the check; a partition "
                  "it was swapping shows as MISSING or UNKNOWN: verify again when it has finished", file=sys.stderr)
    if not checked and report["ok"]:
        if not args.json:
            print(f"nothing checked: {args.lake} holds no complete run that wrote a table", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK if report["ok"] else EXIT_FAILED


def print_verify(report: dict[str, Any], verbose: bool, quiet: bool) -> None:
    """One line per finding always (its kind first: GARBAGE, CHANGED, MISSING, UNKNOWN, MISMATCH,
    INVALID, ...); each consistent partition and file only with -v; the summary line unless -q."""
    if verbose:
        for entry in report["partitions_checked"] + report["files_checked"]:
            if entry["expected"] == entry["found"]:
                where = f"{entry['table']}/{entry.get('partition') or entry.get('file')}"
                found = entry["found"]
                count = f"{sum(found.values())} rows" if "partition" in entry else f"{found.get('lines', 0)} lines"
                print(f"ok       {where}: {count} (run {entry['run_id']})")
    for problem in report["problems"]:
        print(problem)
    if not quiet:
        checked = report["partitions_checked"] or report["files_checked"]
        verdict = f"{len(report['problems'])} problems" if not report["ok"] else \
            "all consistent" if checked else "nothing to compare"  # not "consistent": see cmd_verify
        print(f"{report['runs']} runs, {len(report['partitions_checked'])} partitions and "
              f"{len(report['files_checked'])} files checked: {verdict}")


def cmd_plan(args: argparse.Namespace) -> int:
    """What ``refresh --targeted`` would read of ``--crawl``: the plan from the URL index and the
    lake's FAQ pages of earlier crawls. Only index files and listings are fetched; the index scan
    is kept in the lake's work area for the run that follows."""
    from webfaq_jobs.base import JobFailed
    from webfaq_jobs.targeted import TargetedExtractJob

    cfg = config_from_args(args)
    if not cfg.input.crawl:
        raise UsageError("plan needs --crawl CC-MAIN-YYYY-WW, the crawl to plan")
    preflight.check_writable_lake(cfg.lake.path)
    try:
        plan = TargetedExtractJob(cfg, argparse.Namespace(inputs=[])).build_plan()
    except JobFailed as exc:  # a failed fetch of the index or a listing: no usage error, no traceback
        print(f"webfaq plan: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(json.dumps(plan.summary(), indent=1, sort_keys=True) if args.json else plan.describe())
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    """Write the lake as a folder ready to upload as a Hugging Face dataset (no Spark). A refusal
    (non-empty --out without --overwrite, nothing to export) is one line and exit 2."""
    from webfaq.lake.export import ExportError, export
    from webfaq.lake.lease import LakeBusy

    s3 = _existing_lake(args)
    try:
        result = export(args.lake, args.out, overwrite=args.overwrite, s3=s3,
                        rows_per_file=args.rows_per_file, license=args.license)
    except ExportError as exc:
        print(f"webfaq export REFUSED: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except LakeBusy as exc:  # a run is writing the lake, or wrote it during the export
        print(f"webfaq export REFUSED: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    if args.json:
        print(json.dumps({"out": str(args.out), "rows": result.rows,
                          "configs": [{"name": c.name, "kind": c.kind, "rows": c.rows, "splits": list(c.splits)}
                                      for c in result.configs]}, indent=1, sort_keys=True))
        return EXIT_OK
    for c in result.configs:
        print(f"{c.name:<16} {c.kind:<8} {c.rows:>10,} rows  {', '.join(c.splits)}")
    print(f"export: {args.out} ({len(result.configs)} configs, {result.rows:,} rows; card README.md)")
    return EXIT_OK


def cmd_unlock(args: argparse.Namespace) -> int:
    """Free the lake's writer lease of a run that died (a live holder only with --force)."""
    from webfaq.lake import lake_fs
    from webfaq.lake.lease import LakeBusy, lease_store, unlock

    s3 = config_from_args(args).s3
    preflight.check_lake_path(args.lake)
    try:
        print(unlock(lease_store(args.lake, s3, hadoop=lambda: lake_fs(args.lake, s3)), args.lake, force=args.force))
    except LakeBusy as exc:
        print(f"webfaq unlock: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def cmd_config_reference(args: argparse.Namespace) -> int:
    """Print the settings reference (Markdown), or write it into / check it against a README."""
    from webfaq import reference

    text = reference.reference_markdown(commands_by_section())
    if args.write:
        changed = reference.write_into(args.write, text)
        print(f"{args.write}: settings reference {'updated' if changed else 'already up to date'}")
        return EXIT_OK
    if args.check:
        if reference.section_in(args.check) != text:
            print(f"{args.check}: settings reference is out of date "
                  f"(run: webfaq config-reference --write {shlex.quote(args.check)})", file=sys.stderr)
            return EXIT_FAILED
        return EXIT_OK
    sys.stdout.write(text)
    return EXIT_OK


# --------------------------------------------------------------------------- the parser

def job_class(name: str):
    module, cls = JOBS[name]
    return getattr(importlib.import_module(module), cls)


def command_sections(name: str) -> list[str]:
    """The config sections whose flags ``name`` takes (a job's shown and passed-on ones)."""
    if name in JOBS:
        job = job_class(name)
        return list(job.config_sections or section_classes()) + list(job.hidden_sections)
    return list(SECTIONS[name])


def commands_by_section() -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for name in ORDER:
        for section in command_sections(name):
            out[section].append(name)
    return dict(out)


def _command(sub, name: str, help: str, func: Callable[[argparse.Namespace], int], examples: list[str],
             usage_args: str = "", json_help: str | None = None) -> argparse.ArgumentParser:
    p = sub.add_parser(name, prog=f"webfaq {name}", help=help, description=help, epilog=example_epilog(*examples),
                       usage=f"%(prog)s {usage_args + ' ' if usage_args else ''}[options]")
    add_general_arguments(p, json_help)
    p.set_defaults(func=func)
    return p


def _settings(p: argparse.ArgumentParser, name: str) -> None:
    spec = SECTIONS[name]
    add_config_arguments(p, list(spec), fields={k: v for k, v in spec.items() if v is not None})


def build_parser() -> Parser:
    parser = Parser(prog="webfaq", usage="%(prog)s COMMAND [options]  ('webfaq COMMAND --help' for its settings)",
                    description="WebFAQ Lake: Common Crawl -> multilingual FAQ data.",
                    epilog=example_epilog("webfaq extract sample-data/warc --lake ./lake --crawl-id CC-MAIN-2024-22",
                                          "webfaq dedup --lake ./lake && webfaq align --lake ./lake",
                                          "webfaq report --lake ./lake"))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands (in pipeline order)")
    local = {"evaluate": _evaluate_parser, "report": _report_parser, "verify": _verify_parser,
             "plan": _plan_parser, "extract-file": _extract_file_parser, "config-reference": _reference_parser,
             "unlock": _unlock_parser, "export": _export_parser}
    for name in ORDER:
        if name in JOBS:
            sub.add_parser(name, help=SPARK_COMMANDS[name][0], add_help=False)
        else:
            local[name](sub)
    return parser


def _extract_file_parser(sub) -> None:
    p = _command(sub, "extract-file", "Extract one WARC in this process (no Spark); JSON lines out.",
                 cmd_extract_file, ["webfaq extract-file sample-data/warc/sample-0001.warc.gz | head -2"], "PATH")
    p.add_argument("path", metavar="PATH", help="WARC file (local, s3:// or https://), or N-Quads with "
                   "--input-format nquads")
    p.add_argument("--out", metavar="FILE", help="write JSON lines here instead of stdout")
    _settings(p, "extract-file")


def _evaluate_parser(sub) -> None:
    p = _command(sub, "evaluate", "BM25 nDCG@10/MRR@10/Recall@100 on a produced benchmark split (no Spark).",
                 cmd_evaluate, ["webfaq evaluate ./lake/benchmark --split test"], "FOLDER",
                 json_help="print the metrics as JSON")
    p.add_argument("path", metavar="FOLDER", help="a benchmark folder (<lake>/benchmark) or one language's BEIR folder")
    p.add_argument("--split", default="test", choices=["test", "train"], help="qrels split to evaluate [test]")
    p.add_argument("--languages", metavar="LANG,...", type=lambda s: [x for x in s.split(",") if x],
                   help="only these language folders")
    _settings(p, "evaluate")


def _report_parser(sub) -> None:
    p = _command(sub, "report", "Write one self-contained HTML report of the lake's runs (no Spark).", cmd_report,
                 ["webfaq report --lake ./lake", "webfaq report --lake s3://my-bucket/lake --out report.html"],
                 json_help='print {"report": path} as JSON')
    p.add_argument("--lake", required=True, metavar="PATH", help="lake directory or URI (s3://, gs://, hdfs://)")
    p.add_argument("--out", metavar="FILE", help="HTML file to write (default: <lake>/_reports/report-<newest run>"
                   ".html and a copy at <lake>/report.html)")
    _settings(p, "report")


def _verify_parser(sub) -> None:
    p = _command(sub, "verify", "Re-derive counts from the lake and compare them with the run manifests.",
                 cmd_verify, ["webfaq verify --lake ./lake", "webfaq verify --lake ./lake -q || echo inconsistent"],
                 json_help="print the whole check as JSON")
    p.add_argument("--lake", required=True, metavar="PATH", help="lake directory or URI (s3://, gs://, hdfs://)")
    loud = p.add_mutually_exclusive_group()
    loud.add_argument("-q", "--quiet", action="store_true", help="print problems only (the exit code says the rest)")
    loud.add_argument("-v", "--verbose", action="store_true", help="print every partition and file checked")
    _settings(p, "verify")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def _export_parser(sub) -> None:
    p = _command(sub, "export", "Write the lake as a folder ready to upload as a Hugging Face dataset (no Spark).",
                 cmd_export, ["webfaq export --lake ./lake --out ./webfaq-hub",
                              "webfaq export --lake s3://my-bucket/lake --out ./webfaq-hub --overwrite"],
                 json_help="print the configs and their row counts as JSON")
    p.add_argument("--lake", required=True, metavar="PATH", help="lake directory or URI (s3://, gs://, hdfs://)")
    p.add_argument("--out", required=True, metavar="FOLDER",
                   help="local folder to write (refused when it exists and is not empty)")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier export at --out (swapped in when complete; never anything else)")
    p.add_argument("--rows-per-file", type=_positive_int, default=1_000_000, metavar="N",
                   help="most rows per Parquet file [1000000]")
    p.add_argument("--license", default="other", metavar="ID", help="the card's licence field for the compilation [other]")
    _settings(p, "export")


def _plan_parser(sub) -> None:
    p = _command(sub, "plan", "Show what refresh --targeted would read of a crawl: captures, WARC files, bytes.",
                 cmd_plan, ["webfaq plan --crawl CC-MAIN-2024-22 --lake s3://my-bucket/lake",
                            "webfaq plan --crawl CC-MAIN-2024-22 --lake ./lake --targeted-engine duckdb --json"],
                 json_help="print the plan's numbers as JSON")
    p.description = (p.description + " Only the URL index and listings are fetched, no WARC data; the index "
                     "scan is kept in the lake's work area for the refresh that follows.")
    _settings(p, "plan")


def _unlock_parser(sub) -> None:
    p = _command(sub, "unlock", "Free the writer lease of a run that died (the line that refused a run names it).",
                 cmd_unlock, ["webfaq unlock --lake ./lake", "webfaq unlock --lake ./lake --force"])
    p.add_argument("--lake", required=True, metavar="PATH", help="lake directory or URI (s3://, gs://, hdfs://)")
    p.add_argument("--force", action="store_true", help="also free a lease whose holder looks alive")
    _settings(p, "unlock")


def _reference_parser(sub) -> None:
    p = _command(sub, "config-reference", "Print every setting as the README's Markdown reference.",
                 cmd_config_reference, ["webfaq config-reference --write README.md"])
    what = p.add_mutually_exclusive_group()
    what.add_argument("--write", metavar="README", help="replace the reference section of this file")
    what.add_argument("--check", metavar="README", help="exit 1 when this file's reference section is out of date")


def _spark_job(name: str) -> Callable[[list[str]], int]:
    def run(argv: list[str]) -> int:
        return importlib.import_module(JOBS[name][0]).main(argv)
    return run


SPARK_COMMANDS = {
    "run": ("The whole pipeline over WARC inputs: extract, dedup, align, benchmark, evaluate, report (Spark).",
            _spark_job("run")),
    "extract": ("Extract FAQ pairs from WARC files into the lake (Spark).", _spark_job("extract")),
    "dedup": ("Flag exact and MinHash-LSH near-duplicate FAQ records: faq -> faq_dedup (Spark).", _spark_job("dedup")),
    "align": ("Align QAs across languages within each website: faq_dedup -> bitext (Spark).", _spark_job("align")),
    "benchmark": ("Build per-language retrieval benchmarks (BEIR) and BM25 hard negatives (Spark).",
                  _spark_job("benchmark")),
    "refresh": ("The newest Common Crawl crawl, then `run` over it; skips crawls already complete (Spark).",
                _spark_job("refresh")),
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in SPARK_COMMANDS:
        return SPARK_COMMANDS[argv[0]][1](argv[1:])
    parser = build_parser()
    if not argv:
        parser.print_help()
        return EXIT_USAGE
    prog = f"webfaq {argv[0]}" if argv[0] in ORDER else "webfaq"

    def body() -> int:
        args = parser.parse_args(argv)
        if args.command == "extract-file":  # stdout is data: URLs in records stay as they are
            return args.func(args)
        with redacted_output():
            return args.func(args)

    return guarded(prog, argv, body)


if __name__ == "__main__":
    sys.exit(main())
