import pytest

from webfaq.counters import Counters
from webfaq.warc_reader import WarcFormatError, clean_uri, iter_html_pages
from conftest import shared_path


def pages(path, max_bytes=8 << 20):
    counters, info = Counters(), {}
    with open(path, "rb") as fh:
        got = list(iter_html_pages(fh, counters, max_bytes, info))
    return got, counters, info


def test_common_crawl_excerpt_yields_its_html_response_and_crawl_id():
    got, counters, info = pages(shared_path("warc", "whirlwind.warc.gz"))
    assert [p.url for p in got] == ["https://an.wikipedia.org/wiki/Escopete"]
    assert info["isPartOf"] == "CC-MAIN-2024-22"
    assert counters["warc.records"] == 4 and counters["warc.records.response"] == 1
    assert counters["warc.records.other"] == 3 and got[0].fetch_time == "2024-05-18T01:58:10Z"


def test_wget_warcs_have_bracketed_uris_cleaned():
    got, _, _ = pages(shared_path("warc", "sample-0001.warc.gz"))
    assert "https://commoncrawl.org/faq" in [p.url for p in got]
    assert clean_uri("<https://a.example/>") == "https://a.example/"


def test_chunked_transfer_encoding_is_decoded():
    got, _, _ = pages(shared_path("warc", "example-iana.org-chunked.warc"))
    assert got[0].payload.startswith(b"<!doctype html>")


def test_truncated_warc_keeps_earlier_records_and_raises_a_format_error():
    counters, seen = Counters(), []
    with open(shared_path("warc", "example-trunc.warc"), "rb") as fh:
        with pytest.raises(WarcFormatError):
            for page in iter_html_pages(fh, counters, 1 << 20, {}):
                seen.append(page)
    assert counters["warc.records"] == 3


def test_single_gzip_member_file_is_read_completely():
    _, counters, _ = pages(shared_path("warc", "example-bad-non-chunked.warc.gz"))
    assert counters["warc.records"] == 6


def test_pages_over_the_size_cap_are_skipped_and_counted():
    got, counters, _ = pages(shared_path("warc", "whirlwind.warc.gz"), max_bytes=1000)
    assert got == [] and counters["skip.page.page_too_large"] == 1


def test_a_file_that_is_not_a_warc_raises(tmp_path):
    bad = tmp_path / "page.html"
    bad.write_bytes(b"<html>not a warc</html>")
    with pytest.raises(WarcFormatError):
        pages(bad)
    empty = tmp_path / "empty.warc.gz"
    empty.write_bytes(b"")
    with pytest.raises(WarcFormatError):
        pages(empty)
