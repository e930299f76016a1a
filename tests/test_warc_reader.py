import platform
import subprocess
import sys
from collections import Counter

import pytest

from webfaq.counters import EXTRACT_FUNNEL, Counters, reconcile
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


def test_a_record_shorter_than_its_content_length_costs_that_record_only():
    """warcio's example-trunc.warc: the response body ends 8 bytes before its Content-Length; the
    request record after it is intact and is read."""
    got, counters, _ = pages(shared_path("warc", "example-trunc.warc"))
    assert got == [] and counters["skip.record.corrupt"] == 1
    assert counters["warc.records.other"] == 3  # two warcinfo records before, the request after
    assert counters["warc.records"] == 4 and reconcile(counters, EXTRACT_FUNNEL[:1]) == []


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


def test_a_cut_off_uncompressed_warc_counts_its_last_record_as_truncated(tmp_path):
    from hostile_corpus import record_bytes

    records = record_bytes((SAMPLE / "sample-0001.warc.gz").read_bytes())
    cut = tmp_path / "cut.warc"
    cut.write_bytes(b"".join(records[:20]) + records[20][: len(records[20]) // 2])
    counters = Counters()
    with pytest.raises(WarcFormatError, match="truncated"):
        list(iter_html_pages(file_opener(str(cut)), counters, 1 << 20, {}))
    assert counters["skip.record.truncated"] == 1 and counters["warc.records"] == 21
    assert reconcile(counters, EXTRACT_FUNNEL[:2]) == []


# ------------------------------------------------------------------ bad regions, resynced
def _faq_build():
    """sample-0001's 34 records (its 14-QA commoncrawl.org FAQ page among them) with the shared
    FAQ pages (faq_html/) as response records between them."""
    from hostile_corpus import faq_records

    return faq_records((SAMPLE / "sample-0001.warc.gz").read_bytes(), sorted(shared_path("faq_html").glob("*.html")))


def _response_uris(records: list[bytes], indexes: set[int]) -> Counter:
    """Target URIs of the response records among ``records[i] for i in indexes`` (a multiset:
    the sample holds some URLs more than once)."""
    from webfaq.extract.warc_reader import clean_uri, parse_warcinfo

    headers = (parse_warcinfo(records[i].split(b"\r\n\r\n", 1)[0]) for i in indexes)
    return Counter(clean_uri(h["WARC-Target-URI"]) for h in headers if h.get("WARC-Type") == "response")


@pytest.mark.parametrize("compress", [True, False], ids=["gzip", "plain"])
@pytest.mark.parametrize("n_regions", [1, 2, 5])
def test_bad_regions_cost_only_their_own_records(tmp_path, compress, n_regions):
    """Content-Length off by +-300, a 200 KB header line, garbage between records and (gzip) a
    corrupt member, 1, 2 and 5 of them in one file: every other record is read, every pair of
    the FAQ pages is kept, each region counts once, the funnel adds up, the file is ok."""
    from hostile_corpus import DAMAGE_KINDS, PLAIN_DAMAGE_KINDS, damage, destroyed, spread_faults
    from webfaq.config import Config
    from webfaq.extract.pipeline import process_file

    records, keep = _faq_build()
    faults = spread_faults(records, n_regions, DAMAGE_KINDS if compress else PLAIN_DAMAGE_KINDS, keep)
    suffix = ".warc.gz" if compress else ".warc"
    clean, bad = tmp_path / ("clean" + suffix), tmp_path / ("bad" + suffix)
    clean.write_bytes(damage(records, {}, compress))
    bad.write_bytes(damage(records, faults, compress))

    clean_pages, clean_counters, _ = pages(clean)
    got, counters, info = pages(bad)
    lost = _response_uris(records, destroyed(faults))
    assert sum(lost.values()) == n_regions - list(faults.values()).count("garbage_between")
    assert Counter(p.url for p in got) == Counter(p.url for p in clean_pages) - lost
    assert counters["skip.record.corrupt"] == n_regions and counters["skip.record.truncated"] == 0
    assert counters["warc.records"] == clean_counters["warc.records"] - len(destroyed(faults)) + n_regions
    assert reconcile(counters, EXTRACT_FUNNEL[:2]) == [] and info  # warcinfo (record 0) read

    reference, result = process_file(str(clean), Config()), process_file(str(bad), Config())
    assert result.status == "ok" and reconcile(result.counters) == []
    assert {r["id"] for r in result.records} == {r["id"] for r in reference.records}
    assert len(reference.records) >= 40  # commoncrawl.org 14, financescout24 14, giromatch 2, ...


def test_a_corrupt_first_record_costs_only_itself(tmp_path):
    from hostile_corpus import damage, record_bytes

    records = record_bytes((SAMPLE / "sample-0001.warc.gz").read_bytes())
    bad = tmp_path / "first.warc.gz"
    bad.write_bytes(damage(records, {0: "corrupt_member"}, compress=True))
    got, counters, info = pages(bad)
    good, good_counters, _ = pages(SAMPLE / "sample-0001.warc.gz")
    assert [p.url for p in got] == [p.url for p in good]
    assert counters["skip.record.corrupt"] == 1 and counters["warc.records"] == good_counters["warc.records"]
    assert info == {}  # the warcinfo record was the one destroyed


def test_a_bad_region_longer_than_a_scan_chunk_with_a_record_across_the_chunk_edge(tmp_path):
    """Garbage of a megabyte (the scan's chunk) minus 3 bytes: the next record's ``WARC/1.0``
    line straddles the chunk boundary of the resync scan."""
    from hostile_corpus import record_bytes
    from webfaq.extract.warc_reader import _CHUNK

    records = record_bytes((SAMPLE / "sample-0001.warc.gz").read_bytes())
    path = tmp_path / "gap.warc"
    path.write_bytes(b"".join(records[:10]) + b"\xff" * (_CHUNK - 3) + b"".join(records[10:]))
    got, counters, _ = pages(path)
    good, good_counters, _ = pages(SAMPLE / "sample-0001.warc.gz")
    assert [p.url for p in got] == [p.url for p in good]
    assert counters["skip.record.corrupt"] == 1 and counters["warc.records"] == good_counters["warc.records"] + 1


def test_pages_pickle_as_plain_html_pages():
    """Header fields are looked up only when asked; a page crossing to the sandbox is plain."""
    import pickle

    from webfaq.extract.warc_reader import HtmlPage

    got, _, _ = pages(shared_path("warc", "whirlwind.warc.gz"))
    plain = pickle.loads(pickle.dumps(got[0]))
    assert isinstance(plain, HtmlPage) and plain == got[0].resolved()
    assert (plain.url, plain.fetch_time) == ("https://an.wikipedia.org/wiki/Escopete", "2024-05-18T01:58:10Z")
    assert plain.content_type.startswith("text/html") and plain.payload == got[0].payload


def test_counts_reach_the_caller_when_it_stops_early():
    """The reader tallies outcomes per file and adds them to the caller's counters when reading
    ends, however it ends: here the caller stops after the first page."""
    counters = Counters()
    reader = iter_html_pages(file_opener(str(SAMPLE / "sample-0001.warc.gz")), counters, 1 << 20, {})
    next(reader)
    assert counters["warc.records"] == 0  # nothing added while the file is being read
    reader.close()
    assert counters["warc.records"] >= 2 and counters["responses.html"] >= 1
    assert reconcile(counters, EXTRACT_FUNNEL[:2]) == []


# ------------------------------------------------------------------ the two reading paths
def _careful_pages(monkeypatch, path, max_bytes=8 << 20):
    """What the careful path alone (FastWARC inflating) makes of ``path``."""
    import webfaq.extract.warc_reader as reader

    with monkeypatch.context() as patch:
        patch.setattr(reader, "_IGzipReader", None)
        try:
            return pages(path, max_bytes), None
        except WarcFormatError as exc:
            return None, str(exc)


def _fast_pages(monkeypatch, path, max_bytes=8 << 20):
    """What ``iter_html_pages`` makes of ``path`` (fast path first), and how many records the
    fast path had accepted when the careful path took over (None: it never did)."""
    import webfaq.extract.warc_reader as reader

    handed_over = []
    careful = reader._read_records

    def spy(*args):
        handed_over.append(args[-1])
        return careful(*args)

    with monkeypatch.context() as patch:
        patch.setattr(reader, "_read_records", spy)
        try:
            got = pages(path, max_bytes)
        except WarcFormatError as exc:
            got = str(exc)
    return got, handed_over[0] if handed_over else None


def _same(a, b) -> bool:
    (pa, ca, ia), (pb, cb, ib) = a, b
    return [(p.url, p.payload) for p in pa] == [(p.url, p.payload) for p in pb] and ca == cb and ia == ib


def test_a_sound_gzipped_warc_is_read_in_one_pass(monkeypatch):
    """Common Crawl's layout read through ISA-L: the careful path is never needed, and what is
    read is exactly what the careful path reads."""
    for name in ("whirlwind.warc.gz", "real-pages.warc.gz", "sample-0000.warc.gz", "sample-0001.warc.gz",
                 "example.warc.gz"):
        got, handed_over = _fast_pages(monkeypatch, shared_path("warc", name))
        assert handed_over is None, name
        careful, _ = _careful_pages(monkeypatch, shared_path("warc", name))
        assert _same(got, careful), name


@pytest.mark.parametrize("kind", ["content_length+300", "content_length-300", "header_200kb", "garbage_between",
                                  "corrupt_member"])
@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_damage_hands_over_to_the_careful_path_without_losing_or_repeating_a_record(tmp_path, monkeypatch, kind, where):
    """Each kind of damage, at the first, a middle and the last record: the fast path stops at
    it, having yielded only records before it, and the careful path reads the rest; pages,
    counters and warcinfo are exactly the careful path's alone."""
    from hostile_corpus import damage

    records, _ = _faq_build()
    index = {"first": 0, "middle": len(records) // 2, "last": len(records) - 1}[where]
    path = tmp_path / "bad.warc.gz"
    path.write_bytes(damage(records, {index: kind}, compress=True))
    got, handed_over = _fast_pages(monkeypatch, path)
    careful, error = _careful_pages(monkeypatch, path)
    assert handed_over is not None and handed_over <= index
    if error is not None:
        assert got == error
    else:
        assert _same(got, careful)
        assert reconcile(got[1], EXTRACT_FUNNEL[:2]) == []


def test_a_cut_off_last_member_and_trailing_junk_go_to_the_careful_path(tmp_path, monkeypatch):
    data = (SAMPLE / "sample-0001.warc.gz").read_bytes()
    cut, junk = tmp_path / "cut.warc.gz", tmp_path / "junk.warc.gz"
    cut.write_bytes(data[:-100])
    junk.write_bytes(data + b"not a record\r\n")
    for path in (cut, junk):
        got, handed_over = _fast_pages(monkeypatch, path)
        careful, error = _careful_pages(monkeypatch, path)
        assert handed_over is not None
        assert got == error if error is not None else _same(got, careful)


def test_a_large_last_record_is_found_from_the_end_of_the_file(tmp_path, monkeypatch):
    """The last record's gzip member is located from the end of the file in a window that
    grows: a last record of 3 MB that does not compress needs the second window."""
    import gzip
    import os

    from hostile_corpus import page_record, record_bytes

    records = record_bytes((SAMPLE / "sample-0001.warc.gz").read_bytes())
    big = page_record("https://big.example/", b"<html>" + os.urandom(3 << 20).hex().encode()[: 3 << 20] + b"</html>")
    path = tmp_path / "big-last.warc.gz"
    path.write_bytes(b"".join(gzip.compress(r) for r in records + [big]))
    got, handed_over = _fast_pages(monkeypatch, path)
    assert handed_over is None and got[0][-1].url == "https://big.example/"
    assert _same(got, _careful_pages(monkeypatch, path)[0])


def test_a_member_only_isal_reads_then_damage_later_neither_loses_nor_repeats_a_record(tmp_path, monkeypatch):
    """ISA-L ignores reserved gzip header flag bits, which FastWARC rejects: the fast path reads
    the record in such a member. When damage further on hands the file to the careful path, that
    member is the careful path's bad region, skipped as the record already counted: pages and
    counters are those of the same file with the member's flag bits clear."""
    from hostile_corpus import damage, gzip_member_offsets

    records, _ = _faq_build()
    clean_flags = damage(records, {len(records) // 2: "corrupt_member"}, compress=True)
    member = gzip_member_offsets(damage(records, {}, compress=True))[2]  # the same bytes up to the damage
    odd = bytearray(clean_flags)
    odd[member + 3] |= 0x20  # FLG: a reserved bit
    ref, path = tmp_path / "ref.warc.gz", tmp_path / "odd.warc.gz"
    ref.write_bytes(clean_flags)
    path.write_bytes(bytes(odd))
    got, handed_over = _fast_pages(monkeypatch, path)
    assert handed_over is not None and handed_over > 2
    assert _same(got, pages(ref))
    assert got[1]["skip.record.corrupt"] == 1 and reconcile(got[1], EXTRACT_FUNNEL[:2]) == []
    careful, _ = _careful_pages(monkeypatch, path)
    assert careful[1]["skip.record.corrupt"] == 2  # FastWARC alone: the odd member is a bad region too


# In a fresh interpreter: is a 24 MiB allocation (what a reader's payload buffers are like, above
# glibc's default mmap threshold) served from the brk heap, where freed memory is kept for the
# next record, or by a fresh mmap of its own? argv[1] "extract": process a WARC first, as a
# worker does; "bare": nothing.
_HEAP_PROBE = r"""
import sys
if sys.argv[1] == "extract":
    from webfaq.config import Config
    from webfaq.extract.pipeline import process_file
    cfg = Config()
    cfg.extract.sandbox = False
    assert process_file(sys.argv[2], cfg).status == "ok"
block = bytes(24 << 20)
start, end = next(tuple(int(x, 16) for x in line.split()[0].split("-"))
                  for line in open("/proc/self/maps") if line.rstrip().endswith("[heap]"))
print("heap" if start <= id(block) < end else "mmap")
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc thresholds")
def test_a_worker_that_reads_a_warc_keeps_payload_sized_blocks_on_its_heap():
    """steady_heap (called when a WARC is read) sets both glibc thresholds, so payload buffers
    are reused from the heap instead of being mapped, faulted in and trimmed per record; a bare
    interpreter maps such a block (the probe tells the two apart)."""
    def probe(*args):
        out = subprocess.run([sys.executable, "-c", _HEAP_PROBE, *args], capture_output=True, text=True, check=True)
        return out.stdout.strip()

    assert probe("bare") == "mmap"
    assert probe("extract", str(SAMPLE / "sample-0001.warc.gz")) == "heap"
