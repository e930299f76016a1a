"""Extraction benchmark: `webfaq extract-file` against its floor and the naive approach.

    .venv/bin/python bench/extract.py [--warc ../shared/data/warc/real-pages.warc.gz] [--repeat 3]

All figures come from one run on one machine, so read the ratios, not the seconds:
  floor  = FastWARC reading every record payload of the file (decompression + WARC parsing only)
  naive  = warcio + extruct (all syntaxes) on every HTML page: what a first attempt would do
  ours   = `webfaq extract-file` (prefilter, parse, clean, filter, language ID), all syntaxes on
Every command runs as its own process pinned to one core; the median of --repeat runs is used.
Fixed costs (interpreter start, imports, loading the language-ID model: ~0.13 s) weigh on a
30 MB file but not on a 1 GB Common Crawl WARC, and a Spark worker pays them once for many
files; so the same comparison is also printed on --concat copies of the file joined into one
WARC (per-record gzip members concatenate into a valid WARC), and "in-process" (the second pass
over the file in one warm process: the per-file cost on a reused executor).
With --spark, also the local-mode Spark job on --copies copies of the file on 2 cores against
single-core extract-file (throughput ratio; the ideal is 2.0).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PY = sys.executable

FLOOR = r"""
import sys
from fastwarc.warc import ArchiveIterator, WarcRecordType
n = b = 0
with open(sys.argv[1], "rb") as fh:
    for rec in ArchiveIterator(fh, record_types=WarcRecordType.any_type, parse_http=True, auto_decode="all", fsspec_args=False):
        b += len(rec.reader.read()); n += 1
print(n, b)
"""

NAIVE = r"""
import sys, extruct
from warcio.archiveiterator import ArchiveIterator
limit = int(sys.argv[2]); pages = 0
with open(sys.argv[1], "rb") as fh:
    for rec in ArchiveIterator(fh):
        if rec.rec_type != "response" or not rec.http_headers or rec.http_headers.get_statuscode() != "200":
            continue
        if "html" not in (rec.http_headers.get_header("Content-Type") or ""):
            continue
        html = rec.content_stream().read()
        try:
            extruct.extract(html, base_url=rec.rec_headers.get_header("WARC-Target-URI"),
                            syntaxes=["json-ld", "microdata", "rdfa"], errors="ignore")
        except Exception:
            pass
        pages += 1
        if pages >= limit:
            break
print(pages)
"""


WARM = r"""
import statistics, sys, time
from fastwarc.warc import ArchiveIterator, WarcRecordType
from webfaq.config import Config
from webfaq.extract.pipeline import QAProcessor, process_file
cfg = Config(); proc = QAProcessor(cfg); ratios = []
for _ in range(int(sys.argv[2]) + 1):
    t0 = time.perf_counter(); process_file(sys.argv[1], cfg, proc); t1 = time.perf_counter()
    with open(sys.argv[1], "rb") as fh:
        for rec in ArchiveIterator(fh, record_types=WarcRecordType.any_type, parse_http=True, auto_decode="all", fsspec_args=False):
            rec.reader.read()
    ratios.append((t1 - t0) / (time.perf_counter() - t1))
print(statistics.median(ratios[1:]))
"""


def one_core() -> None:
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def timed(cmd: list[str], repeat: int, pin: bool = True) -> tuple[float, str]:
    """Median wall seconds of ``repeat`` runs (after one warm-up) and the last stdout."""
    times, out = [], ""
    for i in range(repeat + 1):
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, preexec_fn=one_core if pin else None, check=True)
        if i:
            times.append(time.perf_counter() - start)
        out = proc.stdout
    return statistics.median(times), out


def count_html_pages(warc: str) -> int:
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    n = 0
    with open(warc, "rb") as fh:
        for rec in ArchiveIterator(fh, record_types=WarcRecordType.response, parse_http=True, fsspec_args=False):
            ctype = rec.http_headers.get("Content-Type") or ""
            n += rec.http_headers.status_code == 200 and "html" in ctype
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--warc", default=str(REPO.parent / "shared" / "data" / "warc" / "real-pages.warc.gz"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--naive-pages", type=int, default=0,
                    help="time the naive approach on the first N HTML pages only and scale per page (0: all)")
    ap.add_argument("--concat", type=int, default=8, help="also compare on N copies joined into one WARC")
    ap.add_argument("--spark", action="store_true", help="also run the Spark local-mode throughput comparison")
    ap.add_argument("--copies", type=int, default=8)
    args = ap.parse_args()
    warc = args.warc
    webfaq = str(Path(PY).parent / "webfaq")
    pages = count_html_pages(warc)
    mb = os.path.getsize(warc) / 1e6
    print(f"input: {warc} ({mb:.1f} MB compressed, {pages} HTML pages); one core per process; median of {args.repeat}")

    t_floor, _ = timed([PY, "-c", FLOOR, warc], args.repeat)
    t_ours, _ = timed([webfaq, "extract-file", warc, "--out", os.devnull], args.repeat)
    naive_n = args.naive_pages or pages
    t_naive, out = timed([PY, "-c", NAIVE, warc, str(naive_n)], 1)
    t_naive_full = t_naive * pages / max(1, int(out.strip() or naive_n))

    rows = [("fastwarc read (floor)", t_floor), ("webfaq extract-file", t_ours),
            ("warcio + extruct (naive)" + ("" if not args.naive_pages else f", scaled from {naive_n} pages"), t_naive_full)]
    for name, t in rows:
        print(f"  {name:<48} {t:8.2f} s  {pages / t:9.1f} pages/s  {mb / t:6.2f} MB/s")
    print(f"ratio extract-file / floor : {t_ours / t_floor:6.2f}x   (target <= 1.5; whole processes)")
    print(f"speed-up over naive        : {t_naive_full / t_ours:6.1f}x   (target >= 50)")
    _, out = timed([PY, "-c", WARM, warc, str(args.repeat)], 1)
    print(f"ratio in one warm process  : {float(out):6.2f}x   (per-file cost on a reused worker)")
    if args.concat > 1:
        with tempfile.TemporaryDirectory() as tmp:
            big = os.path.join(tmp, "concat.warc.gz")
            with open(big, "wb") as dst, open(warc, "rb") as src:
                data = src.read()
                for _ in range(args.concat):
                    dst.write(data)
            f_big, _ = timed([PY, "-c", FLOOR, big], args.repeat)
            o_big, _ = timed([webfaq, "extract-file", big, "--out", os.devnull], args.repeat)
            print(f"ratio on {args.concat} copies in one WARC ({args.concat * mb:.0f} MB): "
                  f"{o_big / f_big:6.2f}x   (floor {f_big:.2f} s, extract-file {o_big:.2f} s; whole processes)")

    if args.spark:
        spark_throughput(warc, args.copies, t_ours, mb)


def spark_throughput(warc: str, copies: int, t_single: float, mb: float) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="webfaq-bench-"))
    try:
        inputs = tmp / "in"
        inputs.mkdir()
        for i in range(copies):
            os.symlink(os.path.abspath(warc), inputs / f"copy-{i:02d}.warc.gz")
        cmd = [str(Path(PY).parent / "webfaq"), "extract", str(inputs), "--lake", str(tmp / "lake"),
               "--master", "local[2]", "--crawl-id", "BENCH"]
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        t_job = time.perf_counter() - start
        import json

        manifest = json.loads(next((tmp / "lake" / "_runs").glob("*.json")).read_text())
        t_stage = manifest["durations_s"]["extract"]
        single_rate = mb / t_single
        for label, t in (("whole command, incl. JVM start and lake write", t_job), ("extract stage", t_stage)):
            rate = copies * mb / t
            print(f"Spark local[2], {copies} copies, {label}: {t:.1f} s, {rate:.1f} MB/s vs single-core "
                  f"extract-file {single_rate:.1f} MB/s -> {rate / single_rate:.2f}x (ideal 2.0)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
