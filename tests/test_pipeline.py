"""One input file in, records and exact counters out: the unit both extract-file and Spark run."""

from __future__ import annotations

import gzip
import http.server
import json
import subprocess
import sys
import threading
from functools import partial
from pathlib import Path

import pytest

from conftest import SAMPLE, shared_path
from webfaq.config import Config
from webfaq.counters import reconcile
from webfaq.extract.pipeline import process_file
from webfaq.extract.records import host_matches, origin_of, record_id

WEBFAQ = str(Path(sys.executable).parent / "webfaq")


def test_commoncrawl_faq_page_gives_its_14_pairs_in_page_order():
    result = process_file(str(SAMPLE / "sample-0001.warc.gz"), Config())
    faq = [r for r in result.records if r["url"] == "https://commoncrawl.org/faq"]
    assert len(faq) == 14
    assert faq[0]["question"] == "What is Common Crawl?"
    assert faq[0]["answer"].startswith("Common Crawl is a 501(c)(3) non-profit organization")
    assert {r["language"] for r in faq} == {"eng"} and {r["syntax"] for r in faq} == {"json-ld"}
    assert faq[0]["id"] == record_id(faq[0]["question"], faq[0]["answer"])
    assert result.status == "ok" and reconcile(result.counters) == []


@pytest.mark.parametrize("name", ["real-pages.warc.gz", "whirlwind.warc.gz", "sample-0000.warc.gz",
                                  "example.warc.gz", "example-iana.org-chunked.warc",
                                  "example-bad-non-chunked.warc.gz", "example-trunc.warc"])
def test_every_shared_warc_is_accounted_for_exactly(name):
    result = process_file(str(shared_path("warc", name)), Config())
    assert reconcile(result.counters) == []
    assert result.counters["files.total"] == 1
    assert result.status == "ok"
    # example-trunc's response ends 8 bytes before its Content-Length: that record only is lost
    assert result.counters.get("skip.record.corrupt", 0) == (name == "example-trunc.warc")


def test_real_pages_keep_the_two_german_faq_pages():
    result = process_file(str(shared_path("warc", "real-pages.warc.gz")), Config())
    c = result.counters
    assert c["responses.html"] == 1026 and c["warc.records"] == 3229
    assert c["prefilter.hit"] == 2 and c["pages.with_faq"] == 2
    assert {r["origin"] for r in result.records} == {"https://giromatch.com", "https://financescout24.de"}
    assert {r["language"] for r in result.records} == {"deu"}


def test_not_a_warc_and_missing_files_fail_with_reasons(tmp_path):
    page = tmp_path / "page.html"
    page.write_text("<html><body>hello</body></html>")
    bad = process_file(str(page), Config())
    assert bad.status == "failed" and bad.reason == "not_a_warc" and bad.records == []
    missing = process_file(str(tmp_path / "nope.warc.gz"), Config())
    assert missing.status == "failed" and missing.reason == "not_found" and missing.attempts == 1
    assert missing.counters == {"files.total": 1, "files.failed.not_found": 1}


def test_host_check_and_origin():
    assert origin_of("https://Example.com:443/a?b") == "https://example.com"
    assert origin_of("http://example.com:8080/x") == "http://example.com:8080"
    assert host_matches("https://example.com/faq")
    assert not host_matches("https://user@example.com/faq")   # raw host does not start with hostname
    assert not host_matches("https://EXAMPLE.com/faq")        # as the method's raw-substring check


def test_one_website_written_two_ways_is_one_origin():
    """An internationalised host in Unicode and in punycode (Common Crawl's form), or with the
    trailing dot of a fully qualified name, is one website: alignment, near-duplicates and the
    benchmark's website-disjoint split all go by origin."""
    assert origin_of("https://bücher.de/faq") == origin_of("https://xn--bcher-kva.de/x") == "https://xn--bcher-kva.de"
    assert origin_of("https://straße.de/") == "https://xn--strae-oqa.de"  # as browsers map it (UTS #46)
    assert origin_of("https://пример.рф/faq") == "https://xn--e1afmkfd.xn--p1ai"
    assert origin_of("https://example.com./faq") == origin_of("https://example.com/") == "https://example.com"
    assert origin_of("http://[::1]:8080/x") == "http://[::1]:8080"
    long_label = "https://" + "ä" * 70 + ".de/"  # over 63 characters: IDNA refuses it, kept as it is
    assert origin_of(long_label) == long_label.rstrip("/")


def test_pages_of_an_idn_website_under_both_spellings_share_one_origin(tmp_path):
    from hostile_corpus import write_pages

    page = shared_path("faq_html", "giromatch.com.kredit.html").read_bytes()
    path = tmp_path / "idn.warc.gz"
    write_pages(path, [("u", "https://bücher-kredit.de/faq", page, []),
                       ("p", "https://xn--bcher-kredit-dlb.de/hilfe", page, [])])
    result = process_file(str(path), Config())
    assert result.status == "ok" and len(result.records) == 4
    assert {r["origin"] for r in result.records} == {"https://xn--bcher-kredit-dlb.de"}


def test_nquads_input_gives_cleaned_records():
    path = shared_path("wdc", "FAQPage_sample.txt.gz")
    cfg = Config()
    cfg.input.format = "nquads"
    result = process_file(str(path), cfg)
    c = result.counters
    assert c["nquads.pages"] == 13 and c["qa.extracted"] == 56
    assert c["qa.extracted"] == c["qa.kept"] + sum(v for k, v in c.items() if k.startswith("drop."))
    assert result.records and all(r["syntax"] == "nquads" for r in result.records)
    assert not any("\\n" in r["answer"] or '\\"' in r["answer"] for r in result.records)
    q = [r for r in result.records if r["question"] == "What are the Components of Cloud Workload Security?"]
    assert len(q) == 1 and q[0]["url"] == "http://anyquestions.info/index-137.html"


def test_http_inputs_and_crawl_listing_from_a_local_server(tmp_path):
    """`--crawl` and https:// inputs go through the same code as Common Crawl's HTTPS endpoint;
    here a loopback HTTP server plays data.commoncrawl.org."""
    root = tmp_path / "www"
    listing_dir = root / "crawl-data" / "CC-MAIN-2099-01"
    listing_dir.mkdir(parents=True)
    (root / "w").mkdir()
    (root / "w" / "a.warc.gz").write_bytes((SAMPLE / "sample-0001.warc.gz").read_bytes())
    (listing_dir / "warc.paths.gz").write_bytes(gzip.compress(b"w/a.warc.gz\nw/missing.warc.gz\n"))
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        from webfaq.lake.inputs import resolve_inputs

        cfg = Config()
        cfg.input.crawl = "CC-MAIN-2099-01"
        cfg.input.base_url = f"http://127.0.0.1:{server.server_port}/"
        uris = resolve_inputs([], cfg)
        assert uris == [cfg.input.base_url + "w/a.warc.gz", cfg.input.base_url + "w/missing.warc.gz"]
        ok, missing = (process_file(u, cfg) for u in uris)
        assert ok.status == "ok" and len(ok.records) == 14 and ok.crawl == "CC-MAIN-2099-01"
        assert missing.status == "failed" and missing.reason == "not_found"
    finally:
        server.shutdown()


def test_worker_memory_does_not_grow_with_file_size(tmp_path):
    """Streaming: a WARC 8x larger must not need more memory (records kept are tiny)."""
    src = shared_path("warc", "real-pages.warc.gz").read_bytes()
    big = tmp_path / "big.warc.gz"
    big.write_bytes(src * 8)

    def peak_rss_kb(path: Path) -> int:
        code = ("import sys; from webfaq.config import Config; from webfaq.extract.pipeline import process_file;"
                "r = process_file(sys.argv[1], Config()); assert r.status == 'ok';"
                "print(open('/proc/self/status').read().split('VmHWM:')[1].split()[0], len(r.records))")
        out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True)
        rss, n = map(int, out.stdout.split())
        return rss, n

    small_rss, small_n = peak_rss_kb(shared_path("warc", "real-pages.warc.gz"))
    big_rss, big_n = peak_rss_kb(big)
    assert big_n == 8 * small_n
    assert big_rss < small_rss * 1.25, (small_rss, big_rss)


def test_extract_file_reports_counters_on_stderr(tmp_path):
    data = (SAMPLE / "sample-0001.warc.gz").read_bytes()
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(data[: len(data) * 2 // 3])
    proc = subprocess.run([WEBFAQ, "extract-file", str(cut)], capture_output=True, text=True)
    report = json.loads(proc.stderr)
    assert proc.returncode == 0 and report["status"] == "partial" and report["reconcile"] == []
    assert report["counters"]["skip.record.truncated"] == 1
