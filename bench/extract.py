"""Extraction benchmark: `webfaq extract-file` against the FastWARC floor, on Common-Crawl-shaped WARCs.

    .venv/bin/python bench/extract.py [--size-mb 300] [--repeat 5] [--network] [--spark]

Input: two WARCs of about --size-mb MB built from the real pages in ../shared/data
(``tests/support/ccwarc.py``: CC's request/response/metadata captures, one gzip member per record,
~3 records per HTML page), one with FAQPage on 0.5% of its HTML pages (a crawl's rate) and one
with 3%. Every figure is CPU seconds (user + sys of the process and the children it reaped, such
as the page sandbox) of a process pinned to one core, median of --repeat runs; the ratios are
the medians of the per-run ratios, each against the floor measured right before it, so load from
other work on the machine cancels out. Bytecode is cached (PYTHONPYCACHEPREFIX in a temporary
directory, after a warm-up run), as in an installed wheel.

Rows:
  floor           FastWARC reading every record and every payload (parse_http, auto_decode): the
                  cost of getting the bytes out of the file, below which no extractor can go
  floor, ISA-L    the same with python-isal inflating and FastWARC parsing its output, as extract-file's
                  reader does for a sound gzipped WARC (a damaged one is read by FastWARC alone)
  extract-file    `webfaq extract-file FILE --out /dev/null`: reader, prefilter, sandboxed parse,
                  cleaning, filters, language ID, output (whole process, start-up included)
  reading path    the same process up to the prefilter (imports, reader, prefilter; no FAQ work)
  start-up        `webfaq extract-file` on a 4-record WARC (interpreter, imports, lid.176 load)
  careful job     warcio + a b"FAQPage" substring prefilter + extruct on the hits (what a careful
                  cc-pyspark job does)
  naive job       warcio + extruct on every page (scaled from --naive-pages pages)
  warm worker     the second and later passes over the file in one process (a reused Spark worker)
--network: the 0.5% WARC read over HTTP from a loopback server that sends at 20 and 50 MB/s per
connection (``tests/support/throttled.py``, its own process), without and with read-ahead:
wall and CPU seconds of the task and the share of its wall time its core works.
--baseline-rev REV: also `extract-file` of the library as it was at git revision REV, on the
0.5% WARC in the same repetitions (before/after a change).
--spark: the local-mode Spark job on --copies copies of the 0.5% WARC on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data"
PY = sys.executable
WEBFAQ = str(Path(PY).parent / "webfaq")
sys.path.insert(0, str(REPO / "tests"))

FLOOR = r"""
import sys
from fastwarc.warc import ArchiveIterator, WarcRecordType
with open(sys.argv[1], "rb") as fh:
    for rec in ArchiveIterator(fh, record_types=WarcRecordType.any_type, parse_http=True, auto_decode="all", fsspec_args=False):
        rec.reader.read()
"""

# The floor's reading with ISA-L doing the inflate (FastWARC parsing what python-isal's gzip
# reader gives it): what extract-file's reader builds on for a sound gzipped WARC.
FLOOR_ISAL = r"""
import io, sys
from fastwarc.warc import ArchiveIterator, WarcRecordType
from isal.igzip import READ_BUFFER_SIZE, _IGzipReader
with open(sys.argv[1], "rb") as fh:
    stream = io.BufferedReader(_IGzipReader(fh, READ_BUFFER_SIZE), 128 << 10)
    for rec in ArchiveIterator(stream, record_types=WarcRecordType.any_type, parse_http=True, auto_decode="all", fsspec_args=False):
        rec.reader.read()
"""

READING_PATH = r"""
import sys
from webfaq.config import Config
from webfaq.counters import Counters
from webfaq.extract.pipeline import QAProcessor
from webfaq.extract.prefilter import detect_syntaxes
from webfaq.extract.warc_reader import file_opener, iter_html_pages, steady_heap
cfg = Config()
steady_heap()  # as read_warc does
for page in iter_html_pages(file_opener(sys.argv[1]), Counters(), cfg.extract.max_page_bytes, {}):
    detect_syntaxes(page.payload, cfg.extract.syntaxes)
"""

# The peers' way: warcio + extruct. argv[2] "prefilter": every page holding b"FAQPage" (a careful
# cc-pyspark job); a number N: the first N HTML pages, every one parsed (the naive job).
WARCIO_EXTRUCT = r"""
import sys, extruct
from warcio.archiveiterator import ArchiveIterator
prefilter = sys.argv[2] == "prefilter"
limit, pages = None if prefilter else int(sys.argv[2]), 0
with open(sys.argv[1], "rb") as fh:
    for rec in ArchiveIterator(fh):
        if rec.rec_type != "response" or rec.http_headers.get_statuscode() != "200":
            continue
        if "html" not in (rec.http_headers.get_header("Content-Type") or ""):
            continue
        html = rec.content_stream().read()
        if prefilter and b"FAQPage" not in html:
            continue
        try:
            extruct.extract(html, base_url=rec.rec_headers.get_header("WARC-Target-URI"),
                            syntaxes=["json-ld", "microdata", "rdfa"], errors="ignore")
        except Exception:
            pass
        pages += 1
        if limit is not None and pages >= limit:
            break
"""

WARM = r"""
import json, os, resource, statistics, sys
from fastwarc.warc import ArchiveIterator, WarcRecordType
from webfaq.config import Config
from webfaq.extract.pipeline import QAProcessor, process_file

def cpu(proc):
    # this process, plus the page sandbox child's time so far (it lives across files)
    own = resource.getrusage(resource.RUSAGE_SELF)
    child = 0.0
    if proc.sandbox is not None and proc.sandbox._proc is not None:
        fields = open(f"/proc/{proc.sandbox._proc.pid}/stat").read().rsplit(")", 1)[1].split()
        child = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own.ru_utime + own.ru_stime + child

cfg = Config(); proc = QAProcessor(cfg); ratios = []
for i in range(int(sys.argv[2]) + 1):
    t0 = cpu(proc); process_file(sys.argv[1], cfg, proc); t1 = cpu(proc)
    with open(sys.argv[1], "rb") as fh:
        for rec in ArchiveIterator(fh, record_types=WarcRecordType.any_type, parse_http=True, auto_decode="all", fsspec_args=False):
            rec.reader.read()
    if i:
        ratios.append((t1 - t0) / (cpu(proc) - t1))
print(json.dumps(statistics.median(ratios)))
"""


def one_core() -> None:
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def bench_env(pycache: str) -> dict[str, str]:
    """Bytecode written to and read from ``pycache``: an installed wheel has its .pyc files."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = pycache
    return env


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(CPU seconds, wall seconds, stdout) of one run of ``cmd`` on one core."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, preexec_fn=one_core, check=True, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall, proc.stdout


def measure(commands: dict[str, list[str]], repeat: int, env: dict[str, str]) -> dict[str, list[float]]:
    """CPU seconds of each command, ``repeat`` times, interleaved (after one warm-up round)."""
    for cmd in commands.values():
        run(cmd, env)
    cpu: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, cmd in commands.items():
            cpu[name].append(run(cmd, env)[0])
    return cpu


def build(tmp: Path, size_mb: float, prevalence: float):
    from support.ccwarc import write_cc_warc

    path = tmp / f"cc-{prevalence:.3f}.warc.gz"
    with open(path, "wb") as out:
        stats = write_cc_warc(out, DATA / "warc" / "real-pages.warc.gz", DATA / "faq_html", size_mb, prevalence)
    return path, stats


def ratio(num: list[float], den: list[float]) -> float:
    return statistics.median(a / b for a, b in zip(num, den))


def row(name: str, cpu: float, mb: float, floor: float | None, note: str = "") -> None:
    times = f"{cpu / floor:6.2f}x" if floor else "       "
    print(f"  {name:<58} {cpu:8.2f} {mb / cpu:9.1f} {times}  {note}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mb", type=float, default=300)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--naive-pages", type=int, default=100, help="pages the naive job is timed on (scaled to the file)")
    ap.add_argument("--network", action="store_true", help="also read over a throttled loopback server")
    ap.add_argument("--rates", default="20,50", help="MB/s per connection for --network")
    ap.add_argument("--spark", action="store_true", help="also run the Spark local-mode throughput comparison")
    ap.add_argument("--copies", type=int, default=4)
    ap.add_argument("--baseline-rev", help="also time the library of this git revision (before/after)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="webfaq-bench-extract-"))
    try:
        bench(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def bench(args: argparse.Namespace, tmp: Path) -> None:
    env = bench_env(str(tmp / "pycache"))
    low, low_stats = build(tmp, args.size_mb, 0.005)
    high, high_stats = build(tmp, args.size_mb, 0.03)
    mb = low_stats.bytes / 1e6
    print(f"input: CC-shaped WARCs of {mb:.0f} MB ({low_stats.records:,} records, {low_stats.html_pages:,} HTML pages, "
          f"one gzip member per record), FAQPage on {low_stats.prevalence:.2%} ({low_stats.faq_pages}) and "
          f"{high_stats.prevalence:.2%} ({high_stats.faq_pages}) of the pages")
    print(f"one core per process; CPU seconds (user+sys), median of {args.repeat}; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    extract = lambda path: [WEBFAQ, "extract-file", str(path), "--out", os.devnull]  # noqa: E731
    tiny = DATA / "warc" / "whirlwind.warc.gz"
    commands = {"floor": [PY, "-c", FLOOR, str(low)], "floor_isal": [PY, "-c", FLOOR_ISAL, str(low)],
                "ours": extract(low),
                "floor3": [PY, "-c", FLOOR, str(high)], "ours3": extract(high),
                "reading": [PY, "-c", READING_PATH, str(low)], "startup": extract(tiny),
                "python": [PY, "-c", "pass"]}
    if args.baseline_rev:
        commands["baseline"] = baseline_command(args.baseline_rev, tmp, low)
    cpu = measure(commands, args.repeat, env)
    med = {k: statistics.median(v) for k, v in cpu.items()}
    careful = run([PY, "-c", WARCIO_EXTRUCT, str(low), "prefilter"], env)[0]
    naive_pages = min(args.naive_pages, low_stats.html_pages)
    naive = run([PY, "-c", WARCIO_EXTRUCT, str(low), str(naive_pages)], env)[0] * low_stats.html_pages / naive_pages
    warm = float(run([PY, "-c", WARM, str(low), str(max(2, args.repeat // 2))], env)[2])

    print(f"\n  {'':<58} {'CPU s':>8} {'MB/s/core':>9} {'x floor':>7}")
    row("FastWARC reading every payload (the floor)", med["floor"], mb, med["floor"])
    row("  the same, ISA-L inflating (extract-file's reader)", med["floor_isal"], mb, med["floor"],
        f"pairwise {ratio(cpu['floor_isal'], cpu['floor']):.2f}x")
    row(f"webfaq extract-file, FAQPage on {low_stats.prevalence:.1%}", med["ours"], mb, med["floor"],
        f"pairwise {ratio(cpu['ours'], cpu['floor']):.2f}x")
    row(f"webfaq extract-file, FAQPage on {high_stats.prevalence:.1%}", med["ours3"], mb, med["floor3"],
        f"pairwise {ratio(cpu['ours3'], cpu['floor3']):.2f}x (its own floor {med['floor3']:.2f} s)")
    row("  reading path only (imports, reader, prefilter)", med["reading"], mb, med["floor"],
        f"pairwise {ratio(cpu['reading'], cpu['floor']):.2f}x")
    print(f"  {'  start-up (extract-file on a 4-record WARC; bare python: %.2f s)' % med['python']:<58} "
          f"{med['startup']:8.2f}")
    row("warcio + FAQPage prefilter + extruct (careful job), 1 run", careful, mb, med["floor"])
    row(f"warcio + extruct on every page (naive), scaled from {naive_pages}", naive, mb, med["floor"])
    print(f"\nextract-file / floor, whole processes: {ratio(cpu['ours'], cpu['floor']):.2f}x at "
          f"{low_stats.prevalence:.1%} FAQPage, {ratio(cpu['ours3'], cpu['floor3']):.2f}x at "
          f"{high_stats.prevalence:.1%}   (target <= 1.2 at 0.5%)")
    faq_work = med["ours"] - med["reading"]
    print(f"above the floor at {low_stats.prevalence:.1%}: {med['ours'] - med['floor']:.2f} s = start-up beyond bare "
          f"python {med['startup'] - med['python']:.2f} s + reader and prefilter "
          f"{med['reading'] - med['floor'] - (med['startup'] - med['python']):.2f} s + the FAQ pages' work "
          f"(sandbox, parse, clean, language ID, output) {faq_work:.2f} s "
          f"= {1000 * faq_work / max(low_stats.faq_pages, 1):.1f} ms per FAQ page")
    print(f"in one warm process (a reused worker, no start-up): {warm:.2f}x the floor")
    if args.baseline_rev:
        print(f"revision {args.baseline_rev} (before): {med['baseline']:.2f} s, pairwise "
              f"{ratio(cpu['baseline'], cpu['floor']):.2f}x the floor at {low_stats.prevalence:.1%} "
              f"(this tree: {ratio(cpu['ours'], cpu['floor']):.2f}x)")
    print(f"careful job / extract-file: {careful / med['ours']:.1f}x; naive / extract-file: {naive / med['ours']:.0f}x")
    if args.network:
        network(low, mb, [float(r) for r in args.rates.split(",")], env, tmp)
    if args.spark:
        spark_throughput(low, args.copies, med["ours"], mb, env)


def baseline_command(rev: str, tmp: Path, warc: Path) -> list[str]:
    """`extract-file` with the library of git revision ``rev`` (its lib/ exported to ``tmp``,
    first on the module path; the same interpreter and dependencies)."""
    lib = tmp / f"rev-{rev}"
    lib.mkdir()
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev, "lib"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(lib)], input=archive, check=True)
    code = (f"import sys; sys.path.insert(0, {str(lib / 'lib')!r}); from webfaq.cli import main; "
            "sys.exit(main(sys.argv[1:]))")
    return [PY, "-c", code, "extract-file", str(warc), "--out", os.devnull]


def network(warc: Path, mb: float, rates: list[float], env: dict[str, str], tmp: Path) -> None:
    """extract-file over HTTP from a throttled loopback server, without and with read-ahead."""
    print("\nReading over the network (loopback server sending at a fixed rate per connection):")
    print(f"  {'rate':>9} {'read-ahead':>10} {'wall s':>8} {'CPU s':>7} {'core busy':>9}  {'ideal wall':>10}")
    for rate in rates:
        server = subprocess.Popen([PY, "-m", "support.throttled", str(warc.parent), str(rate)],
                                  cwd=str(REPO / "tests"), stdout=subprocess.PIPE, text=True, env=env)
        try:
            url = f"{server.stdout.readline().strip()}/{warc.name}"
            for ahead in (0, 16):
                cpu, wall, _ = run([WEBFAQ, "extract-file", url, "--out", os.devnull,
                                    "--input-read-ahead-mb", str(ahead)], env)
                ideal = max(mb / rate, cpu)
                print(f"  {rate:6.0f} MB/s {ahead:7d} MiB {wall:8.1f} {cpu:7.2f} {cpu / wall:9.0%}  {ideal:10.1f}")
        finally:
            server.terminate()
            server.wait()
    print("  (core busy = CPU / wall of the task; ideal wall = max(bytes / rate, CPU): the network and the\n"
          "   core fully overlapped. Tasks per core to keep it busy = 1 / core busy.)")


def spark_throughput(warc: Path, copies: int, t_single: float, mb: float, env: dict[str, str]) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="webfaq-bench-"))
    try:
        inputs = tmp / "in"
        inputs.mkdir()
        for i in range(copies):
            os.symlink(os.path.abspath(warc), inputs / f"copy-{i:02d}.warc.gz")
        cmd = [WEBFAQ, "extract", str(inputs), "--lake", str(tmp / "lake"), "--master", "local[2]", "--crawl-id", "BENCH"]
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env=env)
        t_job = time.perf_counter() - start
        manifest = json.loads(next((tmp / "lake" / "_runs").glob("*.json")).read_text())
        t_stage = manifest["durations_s"]["extract"]
        single_rate = mb / t_single
        for label, t in (("whole command, incl. JVM start and lake write", t_job), ("extract stage", t_stage)):
            rate = copies * mb / t
            print(f"Spark local[2], {copies} copies, {label}: {t:.1f} s wall, {rate:.1f} MB/s vs single-core "
                  f"extract-file {single_rate:.1f} MB/s per CPU-second -> {rate / single_rate:.2f}x (ideal 2.0)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
