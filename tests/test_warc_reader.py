import pytest

from webfaq.counters import Counters
from webfaq.extract.warc_reader import WarcFormatError, clean_uri, file_opener, iter_html_pages
from conftest import SAMPLE, shared_path


def pages(path, max_bytes=8 << 20):
    counters, info = Counters(), {}
    got = list(iter_html_pages(file_opener(str(path)), counters, max_bytes, info))
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
    with pytest.raises(WarcFormatError):
        for page in iter_html_pages(file_opener(str(shared_path("warc", "example-trunc.warc"))), counters, 1 << 20, {}):
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


def test_a_corrupt_gzip_member_costs_one_record_and_reading_goes_on(tmp_path):
    from webfaq.counters import EXTRACT_FUNNEL, reconcile

    from hostile_corpus import corrupt_member, gzip_member_offsets

    data = (SAMPLE / "sample-0001.warc.gz").read_bytes()
    members = gzip_member_offsets(data)
    good, good_counters, _ = pages(SAMPLE / "sample-0001.warc.gz")
    for k in (10, 11, len(members) - 3):  # a request record, a response record, one near the end
        path = tmp_path / f"corrupt-{k}.warc.gz"
        path.write_bytes(corrupt_member(data, k))
        got, counters, _ = pages(path)
        assert counters["skip.record.corrupt"] == 1
        assert counters["warc.records"] == good_counters["warc.records"]
        assert reconcile(counters, EXTRACT_FUNNEL[:2]) == []  # the record-level lines
        from webfaq.config import Config
        from webfaq.extract.pipeline import process_file

        result = process_file(str(path), Config())
        assert result.status == "ok" and reconcile(result.counters) == []
        lost = {p.url for p in good} - {p.url for p in got}
        assert len(lost) <= 1 and len(got) >= len(good) - 1
    assert "https://commoncrawl.org/faq" in {p.url for p in got}


def test_a_cut_off_gzip_member_at_the_end_is_counted_not_silently_dropped(tmp_path):
    data = (SAMPLE / "sample-0001.warc.gz").read_bytes()
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(data[: len(data) * 2 // 3])
    counters = Counters()
    with pytest.raises(WarcFormatError, match="truncated"):
        list(iter_html_pages(file_opener(str(cut)), counters, 1 << 20, {}))
    assert counters["skip.record.truncated"] == 1
    full = Counters()
    list(iter_html_pages(file_opener(str(SAMPLE / "sample-0001.warc.gz")), full, 1 << 20, {}))
    assert full["skip.record.truncated"] == 0
