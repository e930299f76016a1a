"""Hostile input: a generated WARC of >1,000 pages that attack the parsers. Extraction must
finish, account for every page, keep every honest pair, and stay within its caps."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hostile_corpus import (WHITESPACE_RUNS, deep_microdata, honest, megabyte_attribute, whitespace_pages,
                            with_big_int, write_corpus, write_pages)
from webfaq.config import Config
from webfaq.counters import reconcile
from webfaq.extract.pipeline import process_file
from webfaq.extract.warc_reader import HtmlPage

WEBFAQ = str(Path(sys.executable).parent / "webfaq")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_corpus(tmp_path_factory.mktemp("hostile") / "hostile.warc.gz")


def test_hostile_corpus_is_survived_with_nothing_lost(corpus, tmp_path):
    assert corpus.pages >= 1000 and len(corpus.kinds) == 12
    out = tmp_path / "out.jsonl"
    code = ("import sys; sys.argv = ['webfaq'] + sys.argv[1:];"
            "from webfaq.cli import main; rc = main(sys.argv[1:]);"
            "print(open('/proc/self/status').read().split('VmHWM:')[1].split()[0], file=sys.stderr); sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", code, "extract-file", str(corpus.path), "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    report_text, peak_kb = proc.stderr.rsplit("\n", 2)[0], int(proc.stderr.strip().rsplit("\n", 1)[1])
    report = json.loads(report_text)
    c = report["counters"]
    assert proc.returncode == 0 and report["status"] == "ok" and report["reconcile"] == []
    assert c["warc.records"] == corpus.pages
    # split at "\n" only: answers may hold U+2028, which str.splitlines() also breaks at
    kept = {(r["url"], r["question"]) for r in map(json.loads, out.read_text().split("\n")[:-1])}
    assert corpus.expected_pairs <= kept                        # no honest pair lost
    assert c["skip.page.page_too_large"] == 1                   # the 100 MB page
    assert c["block_errors.json-ld.too_deep"] == corpus.kinds["deep_jsonld"]
    assert report["slowest_page_s"] < Config().extract.page_timeout_s
    assert peak_kb < 256 * 1024, f"peak RSS {peak_kb} kB"      # bounded: no page expanded in memory (VmHWM, not ru_maxrss: that is inherited across fork+exec)


def page(payload: bytes) -> HtmlPage:
    return HtmlPage("https://hostile.example/x", None, payload, "text/html")


def test_the_time_cap_drops_a_slow_page_with_a_reason():
    from webfaq.counters import Counters
    from webfaq.extract.pipeline import QAProcessor

    cfg = Config()
    cfg.extract.page_timeout_s = 0.01
    proc = QAProcessor(cfg)
    counters = Counters()
    try:
        assert proc.page_records(page(deep_microdata(0, depth=200_000)), "C", "f", counters) == []
        assert counters["skip.parse.timeout"] == 1
        # the next page gets a fresh child and works
        cfg.extract.page_timeout_s = 10
        proc.sandbox.timeout_s = 10
        assert len(proc.page_records(page(honest(1)[0]), "C", "f", counters)) == 1
    finally:
        proc.close()


def test_the_memory_cap_drops_a_page_with_a_reason():
    from webfaq.counters import Counters
    from webfaq.extract.pipeline import QAProcessor

    cfg = Config()
    cfg.extract.page_memory_mb = 8
    proc = QAProcessor(cfg)
    counters = Counters()
    try:
        # RLIMIT_AS caps growth of the child's address space: the page must need far more than
        # whatever free heap the (possibly long-running) parent had when it forked
        proc.page_records(page(megabyte_attribute(0) * 48), "C", "f", counters)
        assert counters["skip.parse.memory_cap"] + counters["skip.parse.crash"] == 1
    finally:
        proc.close()


def test_a_worker_under_a_lower_hard_memory_limit_still_parses_its_pages(tmp_path):
    """A worker started under a hard address-space limit below its size + the page budget (a
    container's ``ulimit -v``): the sandbox child caps itself at that limit instead of failing
    to set its own, which made every FAQ page a ``skip.parse.crash`` in a file reported ok."""
    import resource

    pages = [("honest", f"https://shop.example/faq/{i}", *honest(i)) for i in range(3)]
    corpus = write_pages(tmp_path / "honest.warc.gz", pages)
    out = tmp_path / "out.jsonl"

    def hard_limit() -> None:  # far below the worker's size + the 512 MiB page budget
        limit = 450 * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    proc = subprocess.run([WEBFAQ, "extract-file", str(corpus.path), "--out", str(out)], capture_output=True,
                          text=True, timeout=120, preexec_fn=hard_limit)
    report = json.loads(proc.stdout or proc.stderr)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert "skip.parse.crash" not in report["counters"]
    assert {(r["url"], r["question"]) for r in map(json.loads, out.read_text().split("\n")[:-1])} \
        == corpus.expected_pairs


def test_white_space_bombs_are_cleaned_and_kept_within_the_page_cap(tmp_path):
    """Answers with 100,000-character white-space runs (no-break spaces: minutes per page with
    the method's regex as written) are cleaned, language-tagged and kept: no page reaches the
    cap, in the sandbox or in process, and both give the same records."""
    corpus = write_pages(tmp_path / "ws.warc.gz", whitespace_pages())
    results = []
    for sandbox in (True, False):
        cfg = Config()
        cfg.extract.sandbox = sandbox
        result = process_file(str(corpus.path), cfg)
        c = result.counters
        assert result.status == "ok" and reconcile(c) == [] and "skip.parse.timeout" not in c
        assert {(r["url"], r["question"]) for r in result.records} == corpus.expected_pairs
        assert 0 < result.slowest_page_s < cfg.extract.page_timeout_s  # in process too: the whole page is timed
        results.append(sorted((r["id"], r["answer"]) for r in result.records))
    assert results[0] == results[1]
    assert len(corpus.expected_pairs) == len(WHITESPACE_RUNS) + 2


def test_a_stalling_cleaning_step_is_cut_at_the_page_cap(tmp_path, monkeypatch):
    """Fault injection: the method's newline regex as written (quadratic on a run of 100,000
    no-break spaces) put back into the cleaning step. Cleaning runs inside the capped page work,
    so that page is cut at the cap (skip.parse.timeout) instead of stalling the task, the honest
    pages around it keep their pairs, and slowest_page_s reports the stall."""
    import re
    import time

    from webfaq.extract import text_clean

    path = tmp_path / "stall.warc.gz"
    pages = whitespace_pages()
    write_pages(path, [pages[0], pages[1], pages[-1]])  # honest, 100,000 no-break spaces, honest
    monkeypatch.setattr(text_clean, "_NEWLINE_RUN", re.compile(r"\s*\n+\s*"))
    cfg = Config()
    cfg.extract.page_timeout_s = 1.0
    started = time.monotonic()
    result = process_file(str(path), cfg)
    assert time.monotonic() - started < 60  # hang guard only: unbounded, this page alone takes minutes
    assert result.status == "ok" and reconcile(result.counters) == []
    assert result.counters["skip.parse.timeout"] == 1 and result.counters["qa.kept"] == 2
    assert {r["url"] for r in result.records} == {"https://shop.example/faq/a", "https://shop.example/faq/b"}
    assert result.slowest_page_s >= cfg.extract.page_timeout_s  # the worker waited the whole cap for it


def faq_page(payload: bytes) -> HtmlPage:
    return HtmlPage("https://commoncrawl.org/faq", None, payload, "text/html")


def test_a_200000_digit_integer_costs_that_value_not_the_json_ld_block():
    """The real commoncrawl.org FAQ page (14 pairs in one JSON-LD block) with a 200,000-digit
    integer added to its FAQPage: Python's int conversion refuses it, the block still parses."""
    from webfaq.counters import Counters
    from webfaq.extract.pipeline import QAProcessor
    from webfaq.extract.schemaorg.jsonld import parse_block

    from conftest import shared_path

    html = shared_path("faq_html", "commoncrawl.org-faq.html").read_bytes()
    proc, counters = QAProcessor(Config()), Counters()
    try:
        records = proc.page_records(faq_page(with_big_int(html)), "C", "f", counters)
        reference = proc.page_records(faq_page(html), "C", "f", Counters())
    finally:
        proc.close()
    assert len(records) == 14 and records == reference
    assert not any(k.startswith("block_errors.") for k in counters)
    big = "7" * 200_000
    assert parse_block('{"n": %s, "m": 12}' % big) == {"n": big, "m": 12}
