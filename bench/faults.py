"""Fault and hostile-input suite: inject faults, run extraction, print what survived.

    .venv/bin/python bench/faults.py [--light 1000]

Faults: S3 503 SlowDown, connection resets and stalled reads (through a loopback proxy in front
of moto's S3 server), retry budget exhaustion, a corrupt gzip member mid-WARC, a truncated WARC,
a file of the wrong format, an empty file; 1, 2 and 5 bad regions in one WARC (Content-Length
off by +-300, a 200 KB header line, garbage between records, a corrupt gzip member), gzip and
uncompressed; answers with 100,000-character white-space runs, a cleaning step that stalls (the
method's regex as written, put back), a 200,000-digit JSON-LD integer. Hostile inputs: the
generated corpus of tests/hostile_corpus.py. "Survived" means the run finished and its result is the undisturbed
one (or, where the fault is permanent, a counted failure with its reason). "Records lost"
compares kept QA pairs with the undisturbed run / the corpus's honest pairs. Executor and
driver kills need Spark and are exercised by tests/test_crash_recovery.py.

Lake faults (the extract job in Spark local mode, as `webfaq extract` processes; skip them with
--no-lake): secrets in the inputs (a credentialed --input-base-url, a presigned URL that cannot
be fetched, a presigned glob that matches nothing) survive when no manifest, report or console
line holds them; ENOSPC on the executors' writes survives when the run fails with that cause,
leaves no temp file and the lake's rows as they were; each damage of tests/support/tamper.py
survives when `webfaq verify` names it, with the right kind, in one line, without crashing.
Names from content that try to leave the lake (a WARC's isPartOf, --run-id, a long --crawl-id), two
runs racing for one lake, two Delta commits racing, a driver killed before its Delta commit:
survived means the lake of a serial order, or a refused run said so in one line.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from faultproxy import FaultProxy  # noqa: E402
from hostile_corpus import (DAMAGE_KINDS, PLAIN_DAMAGE_KINDS, corrupt_member, damage, faq_records,  # noqa: E402
                            spread_faults, whitespace_pages, with_big_int, write_corpus, write_pages)
from support.warcs import with_is_part_of  # noqa: E402
from webfaq.config import Config  # noqa: E402
from webfaq.counters import reconcile  # noqa: E402
from webfaq.extract.pipeline import process_file  # noqa: E402

SAMPLE = REPO / "sample-data" / "warc" / "sample-0001.warc.gz"
FAQ_HTML = REPO.parent / "shared" / "data" / "faq_html"  # real FAQ pages, when the shared data is there
SAMPLE_DIR = REPO / "sample-data" / "warc"
SLICE = REPO / "sample-data" / "warc" / "real-pages-slice.warc.gz"
WEBFAQ = str(Path(sys.executable).parent / "webfaq")


def keys(result) -> set[tuple[str, str]]:
    return {(r["url"], r["id"]) for r in result.records}


def s3_faults(reference) -> list[tuple[str, bool, int, str]]:
    import boto3
    from moto.server import ThreadedMotoServer

    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server._server.server_address[:2]
    endpoint = f"http://{host}:{port}"
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="bench", aws_secret_access_key="bench")
    client.create_bucket(Bucket="cc-bench")
    client.put_bucket_policy(Bucket="cc-bench", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::cc-bench/*"]}]}))
    client.upload_file(str(SAMPLE), "cc-bench", "a.warc.gz")
    proxy = FaultProxy(endpoint, stall_s=2.0)
    rows = []
    try:
        for label, faults, attempts, expect_ok in (
            ("S3 503 SlowDown x2", ["slowdown", "slowdown"], 6, True),
            ("S3 connection reset mid-body", ["reset"], 6, True),
            ("S3 stalled read", ["stall"], 6, True),
            ("S3 SlowDown past the retry budget", ["slowdown"] * 4, 3, False),
        ):
            cfg = Config()
            cfg.s3.endpoint_url = proxy.url
            cfg.retry.max_attempts, cfg.retry.base_delay_s, cfg.retry.timeout_s = attempts, 0.01, 1.0
            proxy.schedule("/cc-bench/a.warc.gz", *faults)
            result = process_file("s3://cc-bench/a.warc.gz", cfg)
            proxy.schedules.clear()
            if expect_ok:
                survived = result.status == "ok" and keys(result) == keys(reference)
                lost = len(keys(reference) - keys(result))
                note = f"attempts {result.attempts}, resumed reads {sum(v for k, v in result.counters.items() if 'resumed' in k)}"
            else:
                survived = result.status == "failed" and result.reason == "s3_error"
                lost = 0
                note = f"recorded failed: {result.reason} after {result.attempts} attempts"
            rows.append((label, survived and not reconcile(result.counters), lost, note))
    finally:
        proxy.close()
        server.stop()
    return rows


def file_faults(reference, tmp: Path) -> list[tuple[str, bool, int, str]]:
    data = (SAMPLE).read_bytes()
    bad = corrupt_member(data, 20)
    cases = {
        "corrupt gzip member mid-WARC": (bytes(bad), "ok"),
        "truncated WARC": (data[: len(data) * 2 // 3], "partial"),
        "wrong format (HTML)": (b"<html><body>not a warc</body></html>", "failed"),
        "empty file": (b"", "failed"),
    }
    rows = []
    for label, (payload, expected) in cases.items():
        path = tmp / (label.replace(" ", "_") + ".warc.gz")
        path.write_bytes(payload)
        result = process_file(str(path), Config())
        ok = result.status == expected and not reconcile(result.counters)
        lost = len(keys(reference) - keys(result)) if expected == "ok" else 0
        note = f"status {result.status}" + (f" ({result.reason})" if result.reason else "") + \
            (f", skip.record.corrupt={result.counters.get('skip.record.corrupt', 0)}" if expected == "ok" else "")
        rows.append((label, ok, lost, note))
    return rows


def region_faults(tmp: Path) -> list[tuple[str, bool, int, str]]:
    """1, 2 and 5 bad regions in one WARC, gzip and plain: every QA pair of the undamaged file
    must come out (the damage never hits a FAQ page), each region counted once."""
    pages = sorted(FAQ_HTML.glob("*.html")) if FAQ_HTML.is_dir() else []
    records, keep = faq_records(SAMPLE.read_bytes(), pages)
    rows = []
    for compress, kinds, layout in ((True, DAMAGE_KINDS, "gzip"), (False, PLAIN_DAMAGE_KINDS, "plain")):
        clean = tmp / f"clean-{layout}.warc"
        clean.write_bytes(damage(records, {}, compress))
        reference = process_file(str(clean), Config())
        for n in (1, 2, 5):
            path = tmp / f"regions-{n}-{layout}.warc"
            path.write_bytes(damage(records, spread_faults(records, n, kinds, keep), compress))
            result = process_file(str(path), Config())
            c = result.counters
            ok = result.status == "ok" and not reconcile(c) and c.get("skip.record.corrupt") == n
            rows.append((f"{n} bad region{'s' if n > 1 else ''} in one WARC ({layout})", ok,
                         len(keys(reference) - keys(result)),
                         f"status {result.status}, skip.record.corrupt={c.get('skip.record.corrupt', 0)}, "
                         f"{len(result.records)} of {len(reference.records)} pairs"))
    return rows


def page_faults(tmp: Path) -> list[tuple[str, bool, int, str]]:
    """Pages that used to stall a task or lose a block: every honest pair must come out."""
    import re

    from webfaq.extract import text_clean
    from webfaq.extract.warc_reader import file_opener, iter_html_pages
    from webfaq.counters import Counters

    rows = []
    pages = whitespace_pages()
    corpus = write_pages(tmp / "ws.warc.gz", pages)
    result = process_file(str(corpus.path), Config())
    lost = len(corpus.expected_pairs - {(r["url"], r["question"]) for r in result.records})
    rows.append((f"answers with 100k white-space runs x{len(pages) - 2}", result.status == "ok" and lost == 0
                 and "skip.parse.timeout" not in result.counters and not reconcile(result.counters), lost,
                 f"slowest page {result.slowest_page_s:.2f} s (cap {Config().extract.page_timeout_s} s)"))

    around = [pages[0], pages[-1]]
    stall = write_pages(tmp / "stall.warc.gz", [pages[0], pages[1], pages[-1]])  # pages[1]: 100k NBSP
    method_regex, text_clean._NEWLINE_RUN = text_clean._NEWLINE_RUN, re.compile(r"\s*\n+\s*")
    try:  # the method's pattern as written: minutes on 100,000 no-break spaces, were it not capped
        cfg = Config()
        result = process_file(str(stall.path), cfg)
    finally:
        text_clean._NEWLINE_RUN = method_regex
    honest_pairs = {(url, q) for _, url, _, qa in around for q, _ in qa}
    lost = len(honest_pairs - {(r["url"], r["question"]) for r in result.records})
    rows.append(("a cleaning step that stalls (100k NBSP)", result.status == "ok" and lost == 0
                 and result.counters.get("skip.parse.timeout") == 1, lost,
                 f"skip.parse.timeout={result.counters.get('skip.parse.timeout', 0)}, "
                 f"slowest page {result.slowest_page_s:.2f} s "
                 f"(cap {cfg.extract.page_timeout_s} s)"))

    faq = next(p for p in iter_html_pages(file_opener(str(SAMPLE)), Counters(), 8 << 20)
               if p.url == "https://commoncrawl.org/faq")
    path = tmp / "bigint.warc.gz"
    write_pages(path, [("big_int", faq.url, with_big_int(faq.payload), [])])
    result = process_file(str(path), Config())
    rows.append(("200,000-digit integer in JSON-LD", result.status == "ok" and len(result.records) == 14,
                 14 - len(result.records), f"{len(result.records)} of the page's 14 pairs kept"))
    return rows


SECRETS = ("webfaquser", "S3cretPw", "AKIDSECRET", "SIGSECRET")
WEBFAQ = str(Path(sys.executable).parent / "webfaq")


def webfaq(*argv: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([WEBFAQ, *argv], capture_output=True, text=True, timeout=900,
                          env=dict(os.environ, **(env or {})))


def lake_keys(lake: Path) -> set[tuple[str, str]]:
    import pyarrow.dataset as ds

    if not (lake / "faq").exists():
        return set()
    rows = ds.dataset(str(lake / "faq"), format="parquet", partitioning="hive").to_table(columns=["url", "id"])
    return set(zip(rows["url"].to_pylist(), rows["id"].to_pylist()))


def leaked(texts: list[str]) -> list[str]:
    return [s for s in SECRETS if any(s in t for t in texts)]


def lake_texts(lake: Path) -> list[str]:
    return [p.read_text(errors="replace") for p in lake.rglob("*") if p.suffix in (".json", ".html")]


def lake_faults(reference, tmp: Path) -> list[tuple[str, bool, int, str]]:
    """Secrets through a real extract run, ENOSPC on its executors, damages under verify."""
    from support.tamper import TAMPERS
    from webfaq.lake.verify import verify

    lake, listing = tmp / "lake", tmp / "warc.paths"
    listing.write_text("crawl-data/x.warc.gz\n")  # resolved against the credentialed base URL
    base = "http://webfaquser:S3cretPw@127.0.0.1:9/"
    signed = "https://127.0.0.1:9/crawl-data/y.warc.gz?X-Amz-Credential=AKIDSECRET1&X-Amz-Signature=SIGSECRET1"
    nothing = f"{tmp}/none-*.warc.gz?X-Amz-Credential=AKIDSECRET2&X-Amz-Signature=SIGSECRET2"
    good = webfaq("extract", str(SAMPLE_DIR), str(listing), signed, "--input-base-url", base, "--lake", str(lake),
                  "--crawl-id", "C", "--job-failure-budget", "1", "--retry-max-attempts", "1")
    kept = lake_keys(lake)
    bad = webfaq("extract", nothing, "--input-base-url", base, "--lake", str(lake), "--crawl-id", "C")
    report = webfaq("report", "--lake", str(lake))
    texts = lake_texts(lake) + [good.stdout, good.stderr, bad.stdout, bad.stderr, report.stdout, report.stderr]
    failed_lines = [line for line in bad.stderr.splitlines() if line.startswith("webfaq extract: ")]
    rows = [
        ("credentialed --input-base-url", good.returncode == 0 and not leaked(texts), len(keys(reference) - kept),
         "manifest, report, console: no user-info"),
        ("presigned URL, unreachable", good.returncode == 0 and not leaked(texts), 0,
         "recorded failed, query string dropped"),
        ("presigned glob matching nothing", bad.returncode == 2 and len(failed_lines) == 1 and not leaked(texts),
         len(kept - lake_keys(lake)), "one error line, signature REDACTED"),
    ]
    full = tmp / "full"
    shutil.copytree(lake, full)
    crashed = webfaq("extract", str(SAMPLE), "--lake", str(full), "--crawl-id", "C",
                     env={"WEBFAQ_FAILPOINT": "parquet.write=enospc"})
    newest = max((full / "_runs").glob("*.json"), key=lambda p: json.loads(p.read_text())["started"])
    error = json.loads(newest.read_text()).get("error", "")
    temps = [p for p in full.rglob("*") if p.name.endswith(".tmp")]
    rows.append(("ENOSPC on the executors' writes", crashed.returncode == 1 and "[Errno 28]" in error and not temps,
                 len(kept - lake_keys(full)), "manifest error: " + error.split(" (failpoint")[0].removeprefix("OSError: ")))
    for i, (label, (tamper, kind)) in enumerate(sorted(TAMPERS.items())):
        copy = tmp / f"tampered{i}"
        shutil.copytree(lake, copy)
        rel = tamper(copy)
        findings = verify(str(copy))["findings"]
        named = [f["kind"] for f in findings if f["path"].endswith(rel)]
        rows.append((f"lake: {label}", named == [kind], 0, f"verify: {', '.join(sorted({f['kind'] for f in findings}))}"))
    return rows


# --------------------------------------------------------------------------- lake faults

def spawn(*argv: str, run_id: str | None = None, env: dict | None = None) -> subprocess.Popen:
    extra = ["--run-id", run_id] if run_id else []
    return subprocess.Popen([WEBFAQ, *argv, *extra, "--master", "local[1]", "--job-progress-interval-s", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, **(env or {})))


def finish(proc: subprocess.Popen) -> tuple[int, str]:
    _, err = proc.communicate(timeout=1800)
    return proc.returncode, err


def faq_keys(lake: Path) -> list[tuple]:
    import pyarrow.dataset as ds

    if not (lake / "faq").exists():
        return []
    t = ds.dataset(str(lake / "faq"), format="parquet", partitioning="hive").to_table(columns=["crawl", "id", "url", "warc_file"])
    return sorted(zip(*(t[c].to_pylist() for c in t.column_names)))


def rows_lost(expected: list[tuple], found: list[tuple]) -> tuple[int, int]:
    """(rows of ``expected`` missing from ``found``, rows of ``found`` that are extra)."""
    from collections import Counter

    want, got = Counter(expected), Counter(found)
    return sum((want - got).values()), sum((got - want).values())


def traversal_faults(tmp: Path) -> list[tuple[str, bool, int, str]]:
    """WARCs whose isPartOf leaves the lake, a --run-id '..', a 300-character --crawl-id."""
    from webfaq.lake.verify import verify

    home = tmp / "traversal"
    lake, victim = home / "lake", home / "victim"
    victim.mkdir(parents=True)
    (victim / "keep.txt").write_text("keep")
    assert finish(spawn("extract", str(SAMPLE), "--lake", str(lake), "--crawl-id", "C"))[0] == 0
    before = faq_keys(lake)
    hostile = {"../../../faq": "WARC isPartOf ../../../faq", "../../../../victim": "WARC isPartOf ../../../../victim",
               "https://example.org/CC-MAIN-2024-22": "WARC isPartOf is a URL", "2024/22": "WARC isPartOf 2024/22"}
    inputs = [str(with_is_part_of(SAMPLE, tmp / f"hostile-{i}.warc.gz", name)) for i, name in enumerate(hostile)]
    code, err = finish(spawn("extract", *inputs, "--lake", str(lake), "--job-failure-budget", "1", run_id="hostile"))
    manifest = json.loads((lake / "_runs" / "hostile.json").read_text()) if code == 0 else {}
    claimed = {f["file_crawl"]: f["file_reason"] for f in manifest.get("files", [])}
    lost, extra = rows_lost(before, faq_keys(lake))
    intact = (victim / "keep.txt").exists() and verify(str(lake))["ok"] and sorted(p.name for p in home.iterdir()) == ["lake", "victim"]
    rows = [(label, code == 0 and intact and claimed.get(name) == "bad_crawl_name" and not extra, lost,
             f"file failed: {claimed.get(name)}, lake and its sibling intact: {intact}") for name, label in hostile.items()]
    for label, flag, value in (("--run-id ..", "--run-id", ".."), ("--run-id ../../x", "--run-id", "../../x"),
                               ("--crawl-id of 300 characters", "--crawl-id", "c" * 300)):
        code, err = finish(spawn("extract", str(SAMPLE), "--lake", str(lake), flag, value))
        lost, extra = rows_lost(before, faq_keys(lake))
        one_line = err.strip().count("\n") == 0 and "Traceback" not in err
        rows.append((label, code == 2 and one_line and not lost and (victim / "keep.txt").exists(), lost,
                     f"exit {code}, one line: {err.strip()[:48]}..."))
    return rows


def race_faults(tmp: Path) -> list[tuple[str, bool, int, str]]:
    """Two extract runs at once on one lake: refused in one line, or waiting for the lease."""
    from webfaq.lake.verify import verify

    serial = tmp / "serial"
    assert finish(spawn("extract", str(SAMPLE), str(SLICE), "--lake", str(serial), "--crawl-id", "C"))[0] == 0
    expected = faq_keys(serial)
    rows = []
    for label, argvs, wait in (
        ("two identical extracts at once", [[str(SAMPLE), str(SLICE)]] * 2, False),
        ("two batches of one crawl at once", [[str(SAMPLE)], [str(SLICE)]], True),
    ):
        lake = tmp / label.replace(" ", "-")
        extra = ["--lake-lease-wait-s", "1800"] if wait else []
        procs = [spawn("extract", *argv, "--lake", str(lake), "--crawl-id", "C", *extra, run_id=f"race-{i}")
                 for i, argv in enumerate(argvs)]
        results = [finish(p) for p in procs]
        refused = [err.strip() for code, err in results if code == 75]
        ok = sum(code == 0 for code, _ in results) + len(refused) == 2 and all(
            "\n" not in r and "REFUSED" in r and "webfaq unlock" in r for r in refused)
        if wait:
            ok = ok and not refused
        lost, extra_rows = rows_lost(expected, faq_keys(lake))
        rows.append((label, ok and not lost and not extra_rows and verify(str(lake))["ok"], lost,
                     f"completed {2 - len(refused)}, refused {len(refused)}, extra rows {extra_rows}"))
    return rows


def delta_faults(tmp: Path) -> list[tuple[str, bool, int, str]]:
    """Two Delta commits of one new crawl from the same version, and a commit killed before it
    lands: one commit wins, nothing of the other (or of the dead one) stays in the table."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from deltalake import DeltaTable

    from webfaq import lake as lk
    from webfaq.faults import ENV

    root = tmp / "delta"
    schema = pa.schema([("id", pa.string()), ("crawl", pa.string()), ("language", pa.string())])

    def stage(run: str, crawl: str, n: int) -> None:
        d = root / "_staging" / run / "faq" / f"crawl={crawl}" / "language=eng"
        d.mkdir(parents=True)
        pq.write_table(pa.table({"id": [f"{run}-{i}" for i in range(n)]}), d / f"part-{run}.parquet")

    def files_on_disk() -> int:
        return len(list((root / "faq").rglob("*.parquet")))

    stage("seed", "OLD", 1)
    lk.commit_delta(lk.LocalFS(str(root)), str(root / "_staging/seed/faq"), str(root / "faq"), {"crawl": ["OLD"]},
                    ["crawl", "language"], schema, expected_version=None)
    code = ("import sys; from webfaq import lake; import pyarrow as pa\n"
            "s = pa.schema([('id', pa.string()), ('crawl', pa.string()), ('language', pa.string())])\n"
            "r, run = sys.argv[1], sys.argv[2]\n"
            "try:\n    lake.commit_delta(lake.LocalFS(r), f'{r}/_staging/{run}/faq', f'{r}/faq', {'crawl': ['NEW']},"
            " ['crawl', 'language'], s, expected_version=0); print('committed')\n"
            "except lake.DeltaConflict: print('conflict')")
    for run in ("a", "b"):
        stage(run, "NEW", 10)
    procs = [subprocess.Popen([sys.executable, "-c", code, str(root), run], stdout=subprocess.PIPE, text=True)
             for run in ("a", "b")]
    outcomes = sorted(p.communicate(timeout=300)[0].strip() for p in procs)
    new_rows = [r for r in DeltaTable(str(root / "faq")).to_pyarrow_table().to_pylist() if r["crawl"] == "NEW"]
    active = len(DeltaTable(str(root / "faq")).file_uris())
    rows = [("two Delta commits of one crawl at once", outcomes == ["committed", "conflict"] and len(new_rows) == 10
             and files_on_disk() == active, max(0, 10 - len(new_rows)),
             f"{', '.join(outcomes)}; rows {len(new_rows)} (one run's 10), files not in the log {files_on_disk() - active}")]
    stage("dying", "NEW", 5)
    dying = subprocess.run([sys.executable, "-c", code.replace("expected_version=0", "expected_version=1"), str(root), "dying"],
                           env=dict(os.environ, **{ENV: "delta.before_commit"}), capture_output=True, text=True)
    left = files_on_disk() - active
    lk.recover(lk.LocalFS(str(root)), str(root))
    kept = len([r for r in DeltaTable(str(root / "faq")).to_pyarrow_table().to_pylist() if r["crawl"] == "NEW"])
    rows.append(("driver killed before its Delta commit", dying.returncode == 86 and files_on_disk() == active and kept == 10,
                 max(0, 10 - kept), f"orphan files after the crash {left}, after the next run's recovery {files_on_disk() - active}"))
    return rows


def hostile(tmp: Path, light: int) -> tuple[dict, dict, int]:
    corpus = write_corpus(tmp / "hostile.warc.gz", n_light=light)
    out = tmp / "hostile.jsonl"
    code = ("import sys; from webfaq.cli import main; rc = main(sys.argv[1:]);"
            "print(open('/proc/self/status').read().split('VmHWM:')[1].split()[0], file=sys.stderr); sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", code, "extract-file", str(corpus.path), "--out", str(out)],
                          capture_output=True, text=True, check=True)
    report_text, peak = proc.stderr.rsplit("\n", 2)[0], int(proc.stderr.strip().rsplit("\n", 1)[1])
    report = json.loads(report_text)
    # split at "\n" only: answers may hold U+2028, which str.splitlines() also breaks at
    kept = {(r["url"], r["question"]) for r in map(json.loads, out.read_text().split("\n")[:-1])}
    return corpus.__dict__, report, peak, len(corpus.expected_pairs - kept)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--light", type=int, default=1000, help="light hostile pages (heavy ones are fixed)")
    ap.add_argument("--no-lake", action="store_true", help="skip the lake faults (they run Spark jobs)")
    args = ap.parse_args()
    reference = process_file(str(SAMPLE), Config())
    with tempfile.TemporaryDirectory() as tmp:
        rows = s3_faults(reference) + file_faults(reference, Path(tmp)) + region_faults(Path(tmp)) \
            + page_faults(Path(tmp))
        if not args.no_lake:
            rows += lake_faults(reference, Path(tmp)) + traversal_faults(Path(tmp)) + race_faults(Path(tmp)) \
                + delta_faults(Path(tmp))
        corpus, report, peak_kb, hostile_lost = hostile(Path(tmp), args.light)
    print(f"{'fault injected':<42} {'survived':>8} {'lost':>5}  note")
    for label, ok, lost, note in rows:
        print(f"{label:<42} {'yes' if ok else 'NO':>8} {lost:>5}  {note}")
    c = report["counters"]
    print()
    print(f"faults injected: {len(rows)}, survived: {sum(ok for _, ok, _, _ in rows)}, QA pairs lost: "
          f"{sum(lost for *_, lost, _ in rows)} (target 0)")
    print(f"hostile inputs tried: {corpus['pages']} pages ({', '.join(f'{k} {v}' for k, v in corpus['kinds'].items())})")
    print(f"  status {report['status']}, counters reconcile: {not report['reconcile']}, honest pairs lost: "
          f"{hostile_lost} (target 0)")
    print("  skipped with a reason: " + ", ".join(f"{k} {v}" for k, v in sorted(c.items())
                                                 if k.startswith(("skip.", "block_errors.", "drop."))))
    print(f"  peak worker memory: {peak_kb / 1024:.0f} MiB (parent; the page sandbox is capped at "
          f"{Config().extract.page_memory_mb} MiB more), slowest page: {report['slowest_page_s']:.2f} s "
          f"(cap {Config().extract.page_timeout_s} s)")


if __name__ == "__main__":
    main()
