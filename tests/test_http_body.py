"""HTTP bodies stored as the server sent them (WARCs from wget, Heritrix, browsertrix): chunked,
gzip, deflate, br, zstd, mislabelled, cut short, bombs. A real FAQ page (financescout24.de, 14
JSON-LD pairs) under each coding must give the records it gives stored plain, and every record
of the WARC must be counted once, with no loss counted that did not happen."""

from __future__ import annotations

import gzip
import zlib

import brotli
import pytest
import zstandard

from hostile_corpus import write_pages
from webfaq.config import Config
from webfaq.counters import reconcile
from webfaq.extract import http_body
from webfaq.extract.pipeline import process_file
from conftest import shared_path

PAGE = shared_path("faq_html", "financescout24.de.autokredit.html").read_bytes()
PAGES = b"".join(p.read_bytes() for p in sorted(shared_path("faq_html").iterdir()))  # ~400 KB, 7 pages
LIMIT = 8 << 20


def chunked(body: bytes, size: int = 4000) -> bytes:
    parts = [b"%x\r\n%s\r\n" % (len(body[i:i + size]), body[i:i + size]) for i in range(0, len(body), size)]
    return b"".join(parts) + b"0\r\n\r\n"


def raw_deflate(body: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(body) + c.flush()


# name -> (headers, body as stored)
CODED = {
    "gzip": ([("Content-Encoding", "gzip")], gzip.compress(PAGE)),
    "x-gzip": ([("Content-Encoding", "x-gzip")], gzip.compress(PAGE)),
    "upper-case": ([("Content-Encoding", "GZIP")], gzip.compress(PAGE)),
    "deflate-zlib": ([("Content-Encoding", "deflate")], zlib.compress(PAGE)),
    "deflate-raw": ([("Content-Encoding", "deflate")], raw_deflate(PAGE)),
    "br": ([("Content-Encoding", "br")], brotli.compress(PAGE)),
    "zstd": ([("Content-Encoding", "zstd")], zstandard.ZstdCompressor().compress(PAGE)),
    "stacked": ([("Content-Encoding", "gzip, br")], brotli.compress(gzip.compress(PAGE))),
    "identity": ([("Content-Encoding", "identity, gzip")], gzip.compress(PAGE)),
    "chunked": ([("Transfer-Encoding", "chunked")], chunked(PAGE)),
    "chunked-gzip": ([("Transfer-Encoding", "chunked"), ("Content-Encoding", "gzip")], chunked(gzip.compress(PAGE))),
    "chunk-extension": ([("Transfer-Encoding", "chunked")], chunked(PAGE).replace(b"\r\n", b";ext=1\r\n", 1)),
}


class Map(dict):
    """Case-insensitive header look-up, as FastWARC's header map does it."""

    def get(self, name, default=None):
        return next((v for k, v in self.items() if k.lower() == name.lower()), default)


@pytest.mark.parametrize("name", sorted(CODED))
def test_each_coding_gives_the_page_back(name):
    headers, body = CODED[name]
    assert http_body.needs_decoding(body)
    assert http_body.decoded_body(body, Map(headers), LIMIT) == (PAGE, [])


def test_a_coding_header_over_a_body_not_in_that_coding_is_read_as_it_is():
    """A writer that stored the decoded body and kept the header (warcio reads it so too)."""
    body = b"\n\n" + PAGE
    for coding in ("gzip", "deflate", "br", "zstd"):
        got = http_body.decoded_body(body, Map({"Content-Encoding": coding}), LIMIT)
        assert got == (body, [http_body.MISLABELLED])
    assert http_body.decoded_body(body, Map({"Transfer-Encoding": "chunked"}), LIMIT) == (body, [])


@pytest.mark.parametrize("coding,encode", [("gzip", gzip.compress), ("br", brotli.compress),
                                           ("zstd", zstandard.ZstdCompressor().compress)])
def test_a_stream_cut_off_keeps_what_it_decoded(coding, encode):
    stored = encode(PAGES)  # several blocks: zstd gives nothing back before a block is whole
    got, notes = http_body.decoded_body(stored[:len(stored) // 2], Map({"Content-Encoding": coding}), LIMIT)
    assert notes == [http_body.CUT_SHORT] and 0 < len(got) < len(PAGES) and PAGES.startswith(got)


def test_a_stream_cut_before_its_first_output_is_cut_short_not_mislabelled():
    stored = zstandard.ZstdCompressor().compress(PAGE)  # one block
    assert http_body.decoded_body(stored[:100], Map({"Content-Encoding": "zstd"}), LIMIT) == (b"", [http_body.CUT_SHORT])


def test_a_gzip_stream_broken_midway_keeps_what_came_before_the_break():
    """Inflate may turn some of the garbage after the break into bytes before it fails, as a
    browser's would: what came before the break is kept whole."""
    stored = gzip.compress(PAGE)
    before = zlib.decompressobj(31).decompress(stored[:len(stored) // 2])
    broken = stored[:len(stored) // 2] + bytes(range(256)) * 64
    got, notes = http_body.decoded_body(broken, Map({"Content-Encoding": "gzip"}), LIMIT)
    assert notes == [http_body.CUT_SHORT] and len(before) > 10_000 and got.startswith(before)


def test_a_chunk_stream_broken_midway_keeps_its_whole_chunks():
    body = chunked(PAGE)
    cut = body[:10000]
    got, notes = http_body.decoded_body(cut, Map({"Transfer-Encoding": "chunked"}), LIMIT)
    assert notes == [http_body.CUT_SHORT] and PAGE.startswith(got) and len(got) >= 8000


@pytest.mark.parametrize("coding,encode", [("gzip", lambda b: gzip.compress(b, 9)), ("br", brotli.compress),
                                           ("zstd", zstandard.ZstdCompressor().compress)])
def test_a_decompression_bomb_stops_at_the_cap(coding, encode):
    """256 MiB of spaces in a few hundred KiB: decoding stops one byte past the cap."""
    bomb = encode(b" " * (256 << 20))
    assert len(bomb) < 1 << 20
    got, _ = http_body.decoded_body(bomb, Map({"Content-Encoding": coding}), 1 << 20)
    assert len(got) == (1 << 20) + 1


def test_a_coding_nobody_decodes_is_refused():
    with pytest.raises(http_body.UnsupportedCoding):
        http_body.decoded_body(b"\x1f\x9d\x90", Map({"Content-Encoding": "compress"}), LIMIT)


def test_a_warc_of_coded_pages_from_another_crawler_is_read_like_its_plain_twin(tmp_path):
    """Every coded copy of the page yields the plain copy's records (FastWARC's own decoding lost
    x-gzip, raw deflate, mislabelled and broken-chunked pages); a bomb, an unsupported coding and
    unreadable HTTP headers each cost their page or record only, counted once, and the file
    stays ``ok`` with exactly as many records counted as it holds (FastWARC's failures used to
    stop its reader and count a corrupt region that was not there)."""
    pages, headers = [("plain", "https://plain.example/faq", PAGE, [])], {}
    for name, (hdrs, body) in CODED.items():
        url = f"https://{name}.example/faq"
        pages.append((name, url, body, []))
        headers[url] = hdrs
    extra = {
        "mislabelled": ([("Content-Encoding", "gzip")], b"\r\n" + PAGE),
        "bad-chunked": ([("Transfer-Encoding", "chunked")], b"\n" + PAGE),
        "bomb": ([("Content-Encoding", "gzip")], gzip.compress(b" " * (64 << 20), 9)),
        "compress": ([("Content-Encoding", "compress")], b"\x1f\x9d\x90" + PAGE),
    }
    for name, (hdrs, body) in extra.items():
        pages.append((name, f"https://{name}.example/faq", body, []))
        headers[f"https://{name}.example/faq"] = hdrs
    binary_headers = b"HTTP/1.1 200 OK\r\n\x00\xff" + bytes(range(256)) * 200 + b"\r\n\r\n" + PAGE
    huge_header = b"HTTP/1.1 200 OK\r\nX-A: " + b"a" * 200_000 + b"\r\nContent-Type: text/html\r\n\r\n" + PAGE
    raw = {"https://binary-headers.example/faq": binary_headers, "https://huge-header.example/faq": huge_header}
    middle = len(pages) // 2
    pages[middle:middle] = [("raw", "https://binary-headers.example/faq", binary_headers, [])]
    pages.append(("raw", "https://huge-header.example/faq", huge_header, []))  # the file's last record

    cfg = Config()
    path = tmp_path / "other-crawler.warc.gz"
    write_pages(path, pages, http_headers=headers, raw_http=frozenset(raw))
    result = process_file(str(path), cfg)
    c = result.counters
    assert result.status == "ok" and reconcile(c) == []
    assert c["warc.records"] == c["warc.records.response"] == len(pages)
    assert not [k for k in c if k.startswith("skip.record.")]
    assert c["skip.response.unreadable_http"] == 2
    assert c["skip.page.unsupported_coding"] == 1 and c["skip.page.page_too_large"] == 1
    assert c[http_body.MISLABELLED] == 1

    by_site: dict[str, set] = {}
    for r in result.records:
        by_site.setdefault(r["url"].split("//")[1].split(".")[0], set()).add((r["question"], r["answer"]))
    plain = by_site.pop("plain")
    assert len(plain) == 14
    readable = set(CODED) | {"mislabelled", "bad-chunked"}
    assert by_site == {name: plain for name in readable}
