"""A Common-Crawl-shaped WARC of realistic size and FAQ prevalence, built from real pages.

``bench/extract.py`` measures extraction against its floor on a file like the WARCs of a crawl:
hundreds of MB, one gzip member per record, request/response/metadata per capture, and FAQ
pages at the rate a crawl has them (about 0.5% of HTML pages). The captures come from
``../shared/data/warc/real-pages.warc.gz`` (1,026 real pages, two of them with a JSON-LD
FAQPage), repeated until the file has the size asked for; their gzip members are copied byte for
byte (no recompression, so building 300 MB takes seconds). To reach the prevalence asked for,
some HTML responses are replaced by responses carrying the real FAQ pages of
``../shared/data/faq_html`` (the three real JSON-LD FAQPage pages there), spread evenly over the file.
"""

from __future__ import annotations

import io
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

FAQ_PAGES = ("commoncrawl.org-faq.html", "financescout24.de.autokredit.html", "giromatch.com.kredit.html")


@dataclass(frozen=True)
class Member:
    """One gzip member of the source WARC: its compressed bytes and what its record is."""

    raw: bytes
    html_response: bool  # an HTTP 200 HTML response (a page the extractor looks at)
    faq: bool            # that page holds the FAQPage marker
    url: str


def members(data: bytes) -> list[Member]:
    """The gzip members of a per-record-gzipped WARC, classified by their record's headers."""
    out, pos, view = [], 0, memoryview(data)
    while pos < len(data):
        end, record = _member_at(view, pos)
        out.append(_classify(data[pos:end], record))
        pos = end
    return out


def _member_at(view: memoryview, pos: int, step: int = 1 << 16) -> tuple[int, bytes]:
    """(end offset, decompressed bytes) of the gzip member at ``pos``, fed in small steps so
    that no copy of the rest of the file is made per member."""
    member, parts, fed = zlib.decompressobj(31), [], pos
    while not member.eof and fed < len(view):
        parts.append(member.decompress(view[fed:fed + step]))
        fed = min(fed + step, len(view))
    return fed - len(member.unused_data), b"".join(parts)


def _classify(raw: bytes, record: bytes) -> Member:
    warc_head, _, rest = record.partition(b"\r\n\r\n")
    http_head, _, payload = rest.partition(b"\r\n\r\n")
    url = next((line.split(b":", 1)[1].strip().decode() for line in warc_head.split(b"\r\n")
                if line.lower().startswith(b"warc-target-uri:")), "")
    is_response = b"\r\nWARC-Type: response" in warc_head
    html = is_response and http_head.split(b"\r\n", 1)[0].endswith(b" 200 OK") and b"text/html" in http_head.lower()
    return Member(raw, html, html and b"FAQPage" in payload, url)


def faq_member(url: str, html: bytes) -> bytes:
    """A gzip member holding a CC-style HTTP 200 response record for ``html``."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    out = io.BytesIO()
    writer = WARCWriter(out, gzip=True)
    headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                          ("Content-Length", str(len(html)))], protocol="HTTP/1.1")
    record = writer.create_warc_record(url, "response", payload=io.BytesIO(html), http_headers=headers,
                                       warc_headers_dict={"WARC-Identified-Payload-Type": "text/html"})
    writer.write_record(record)
    return out.getvalue()


@dataclass
class BuildStats:
    bytes: int = 0
    records: int = 0
    html_pages: int = 0
    faq_pages: int = 0

    @property
    def prevalence(self) -> float:
        return self.faq_pages / max(self.html_pages, 1)


def write_cc_warc(out: BinaryIO, source: Path, faq_dir: Path, size_mb: float, prevalence: float) -> BuildStats:
    """Write a WARC of about ``size_mb`` MB whose HTML pages hold an FAQPage at ``prevalence``
    (the source's own FAQ pages count towards it). Returns what was written."""
    parts = members(source.read_bytes())
    head, captures = parts[0], parts[1:]  # the warcinfo record, then the captures
    copies = max(1, round(size_mb * 1e6 / sum(len(m.raw) for m in parts)))
    faq_raw = [faq_member(f"https://faq-{i}.example/{name}", (faq_dir / name).read_bytes())
               for i, name in enumerate(FAQ_PAGES)]
    stats = BuildStats()
    out.write(head.raw)
    stats.bytes, stats.records = len(head.raw), 1
    html_total = copies * sum(m.html_response for m in captures)
    for raw, html, faq in _schedule(captures, copies, html_total, prevalence, faq_raw):
        out.write(raw)
        stats.bytes += len(raw)
        stats.records += 1
        stats.html_pages += html
        stats.faq_pages += faq
    return stats


def _schedule(captures: list[Member], copies: int, html_total: int, prevalence: float,
              faq_raw: list[bytes]) -> Iterator[tuple[bytes, bool, bool]]:
    """The members to write: ``copies`` passes over the captures, with evenly spaced non-FAQ
    HTML responses swapped for FAQ pages until ``prevalence`` of all HTML pages hold one."""
    own = copies * sum(m.faq for m in captures)
    extra = max(0, round(prevalence * html_total) - own)
    plain = html_total - own
    step = plain / extra if extra else 0.0
    seen = swapped = 0
    for _ in range(copies):
        for m in captures:
            if m.html_response and not m.faq:
                if swapped < extra and seen >= int(swapped * step + step / 2):
                    yield faq_raw[swapped % len(faq_raw)], True, True
                    swapped += 1
                    seen += 1
                    continue
                seen += 1
            yield m.raw, m.html_response, m.faq
