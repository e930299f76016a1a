"""Hostile input: a generated WARC of >1,000 pages that attack the parsers. Extraction must
finish, account for every page, keep every honest pair, and stay within its caps."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hostile_corpus import deep_microdata, megabyte_attribute, write_corpus
from webfaq.config import Config
from webfaq.counters import reconcile
from webfaq.extract.pipeline import process_file
from webfaq.extract.warc_reader import HtmlPage

WEBFAQ = str(Path(sys.executable).parent / "webfaq")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_corpus(tmp_path_factory.mktemp("hostile") / "hostile.warc.gz")


def test_hostile_corpus_is_survived_with_nothing_lost(corpus, tmp_path):
    assert corpus.pages >= 1000 and len(corpus.kinds) == 10
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
    kept = {(r["url"], r["question"]) for r in map(json.loads, out.read_text().splitlines())}
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
        from hostile_corpus import honest

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
