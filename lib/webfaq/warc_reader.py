"""Streaming WARC reading: HTML pages out of a (possibly remote, possibly broken) WARC stream.

FastWARC parses a stream record by record with a fixed buffer, so a 1 GB WARC never sits in
memory; payloads are read with a size cap so one huge page cannot blow up a worker either.
Everything that is not an HTTP 200 HTML response is counted under a named reason, never
silently passed over.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO, Iterator

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


def iter_html_pages(
    stream: BinaryIO, counters: Counters, max_page_bytes: int, warcinfo: dict[str, str] | None = None
) -> Iterator[HtmlPage]:
    """Yield each HTTP 200 HTML response of ``stream``; count everything else.

    ``warcinfo`` (if given) is filled with the fields of the first warcinfo record, so callers
    learn the crawl (``isPartOf``) without a second pass. Raises WarcFormatError when the stream
    stops being a readable WARC; pages yielded before that point stay valid.
    """
    iterator = ArchiveIterator(
        stream, record_types=WarcRecordType.any_type, parse_http=True, auto_decode="all", fsspec_args=False
    )
    seen = 0
    try:
        for record in iterator:
            seen += 1
            counters.add("warc.records")
            page = _page_from_record(record, counters, max_page_bytes, warcinfo)
            if page is not None:
                yield page
    except OSError as exc:  # FastWARC reports truncation/garbage as OSError
        raise WarcFormatError(f"{exc} (after {seen} records)") from exc
    if seen == 0:
        raise WarcFormatError("no WARC records (empty file or not a WARC)")


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
    try:
        payload = record.reader.read(max_page_bytes + 1)
    except OSError:
        counters.skip("page", "unreadable_payload")
        return None
    if len(payload) > max_page_bytes:
        counters.skip("page", "page_too_large")
        return None
    return HtmlPage(
        url=clean_uri(record.headers.get("WARC-Target-URI")),
        fetch_time=record.headers.get("WARC-Date"),
        payload=payload,
        content_type=record.http_headers.get("Content-Type"),
    )
