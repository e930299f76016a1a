"""Streaming WARC reading: HTML pages out of a (possibly remote, possibly broken) WARC stream.

FastWARC parses a stream record by record with a fixed buffer, so a 1 GB WARC never sits in
memory; payloads are read with a size cap so one huge page cannot blow up a worker either.
Everything that is not an HTTP 200 HTML response is counted under a named reason, never
silently passed over.
"""

from __future__ import annotations

from dataclasses import dataclass
import zlib
from typing import BinaryIO, Callable, Iterator

from fastwarc.warc import ArchiveIterator, WarcRecordType

from webfaq.counters import Counters

_HTML_TYPES = ("text/html", "application/xhtml+xml")


@dataclass(frozen=True)
class HtmlPage:
    url: str
    fetch_time: str | None   # WARC-Date, ISO 8601
    payload: bytes           # HTTP body, transfer/content encodings removed
    content_type: str | None  # HTTP Content-Type header value


class WarcFormatError(Exception):
    """The WARC stream is malformed past some point (truncated, not a WARC, bad gzip)."""


def clean_uri(uri: str | None) -> str:
    """WARC/1.0 writers (wget) wrap WARC-Target-URI in angle brackets."""
    uri = (uri or "").strip()
    return uri[1:-1] if uri.startswith("<") and uri.endswith(">") else uri


def parse_warcinfo(block: bytes) -> dict[str, str]:
    """``key: value`` lines of a warcinfo record (application/warc-fields)."""
    fields: dict[str, str] = {}
    for line in block.decode("utf-8", "replace").splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() and key.strip() not in fields:
            fields[key.strip()] = value.strip()
    return fields


def _is_html(record) -> bool:
    ctype = (record.http_content_type or "").lower()
    if ctype in _HTML_TYPES:
        return True
    identified = (record.headers.get("WARC-Identified-Payload-Type") or "").lower()
    return any(t in identified for t in _HTML_TYPES)


Opener = Callable[[int], BinaryIO]
GZIP_MAGIC = b"\x1f\x8b\x08"


def file_opener(path: str) -> Opener:
    """An opener for a local file (tests, tools): ``opener(offset)`` -> stream at that offset."""
    def open_at(offset: int) -> BinaryIO:
        fh = open(path, "rb")
        fh.seek(offset)
        return fh
    return open_at


def iter_html_pages(open_at: Opener, counters: Counters, max_page_bytes: int,
                    warcinfo: dict[str, str] | None = None, resync_window: int = 16 << 20) -> Iterator[HtmlPage]:
    """Yield each HTTP 200 HTML response of the WARC that ``open_at(offset)`` streams; count
    everything else.

    ``warcinfo`` (if given) is filled with the fields of the first warcinfo record, so callers
    learn the crawl (``isPartOf``) without a second pass. A corrupt gzip member in a
    per-record-gzipped WARC (Common Crawl's layout) costs only that record: reading resumes at
    the next intact member (found within ``resync_window`` bytes) and the lost record is counted
    as ``skip.record.corrupt``. Raises WarcFormatError when the stream stops being a readable
    WARC and cannot be resumed (truncated, uncompressed garbage, not a WARC); pages yielded
    before that point stay valid.
    """
    offset, seen, last_start = 0, 0, None
    stream = open_at(0)
    while True:
        try:
            iterator = ArchiveIterator(stream, record_types=WarcRecordType.any_type, parse_http=True,
                                       auto_decode="all", fsspec_args=False)
            for record in iterator:
                record_counters = Counters()  # merged only once the record is fully read
                page = _page_from_record(record, record_counters, max_page_bytes, warcinfo)
                record_counters.add("warc.records")
                counters.update(record_counters)
                seen += 1
                last_start = offset + record.stream_pos
                if page is not None:
                    yield page
            stream.close()
            if last_start is not None and _truncated_after(open_at, last_start):
                # FastWARC ends quietly at a cut-off gzip member: count that record, don't lose it silently
                counters.add("warc.records")
                counters.skip("record", "truncated")
                raise WarcFormatError(f"truncated final record (after {seen} records)")
            break
        except OSError as exc:  # FastWARC reports bad gzip, truncation and garbage as OSError
            stream.close()
            failed_from = last_start if last_start is not None else offset
            resume = _next_intact_member(open_at, failed_from + 1, resync_window) if seen or offset else None
            if resume is None:
                if seen == 0:
                    raise WarcFormatError(f"not a readable WARC: {exc}") from exc
                raise WarcFormatError(f"{exc} (after {seen} records)") from exc
            counters.add("warc.records")
            counters.skip("record", "corrupt")
            offset, last_start = resume, None
            stream = open_at(resume)
    if seen == 0:
        raise WarcFormatError("no WARC records (empty file or not a WARC)")


def _truncated_after(open_at: Opener, last_start: int, chunk: int = 1 << 20) -> bool:
    """True when bytes follow the gzip member of the last record read that are not a complete
    member themselves (a cut-off download). Reads only the last member: one ranged GET."""
    stream = open_at(last_start)
    try:
        data = stream.read(chunk)
        if not data.startswith(GZIP_MAGIC):
            return False  # uncompressed WARC: FastWARC itself raises on truncation
        member = zlib.decompressobj(wbits=31)
        while True:
            try:
                member.decompress(data, 1 << 16)
                while member.unconsumed_tail and not member.eof:
                    member.decompress(member.unconsumed_tail, 1 << 16)
            except zlib.error:
                return True
            if member.eof:
                return bool(member.unused_data or stream.read(1))
            data = stream.read(chunk)
            if not data:
                return True  # the last record's own member is incomplete
    finally:
        stream.close()


def _next_intact_member(open_at: Opener, start: int, window: int) -> int | None:
    """Offset of the first gzip member at or after ``start`` that decompresses completely and
    holds a WARC record, or None. Only runs after corruption, so it may be simple and slow."""
    stream = open_at(start)
    try:
        data = stream.read(window)
    finally:
        stream.close()
    pos = data.find(GZIP_MAGIC)
    while pos >= 0:
        member = zlib.decompressobj(wbits=31)
        try:
            head = member.decompress(data[pos:], 16)
            if head.startswith(b"WARC/"):
                while member.unconsumed_tail and not member.eof:
                    member.decompress(member.unconsumed_tail, 1 << 20)
                if member.eof:
                    return start + pos
        except zlib.error:
            pass
        pos = data.find(GZIP_MAGIC, pos + 1)
    return None


def _page_from_record(record, counters: Counters, max_page_bytes: int, warcinfo: dict | None) -> HtmlPage | None:
    rtype = record.record_type
    if rtype != WarcRecordType.response:
        counters.add("warc.records.other")
        if rtype == WarcRecordType.warcinfo and warcinfo is not None and not warcinfo:
            warcinfo.update(parse_warcinfo(record.reader.read(1 << 20)))
        return None
    counters.add("warc.records.response")
    if not record.is_http or record.http_headers is None:
        counters.skip("response", "not_http")
        return None
    if record.http_headers.status_code != 200:
        counters.skip("response", "not_200")
        return None
    if not _is_html(record):
        counters.skip("response", "not_html")
        return None
    counters.add("responses.html")
    payload = record.reader.read(max_page_bytes + 1)  # an OSError here is a corrupt record: caller resyncs
    if len(payload) > max_page_bytes:
        counters.skip("page", "page_too_large")
        return None
    return HtmlPage(
        url=clean_uri(record.headers.get("WARC-Target-URI")),
        fetch_time=record.headers.get("WARC-Date"),
        payload=payload,
        content_type=record.http_headers.get("Content-Type"),
    )
