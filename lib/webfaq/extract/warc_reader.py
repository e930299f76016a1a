"""Streaming WARC reading: HTML pages out of a (possibly remote, possibly broken) WARC stream.

FastWARC parses a stream record by record with a fixed buffer, so a 1 GB WARC never sits in
memory; payloads are read with a size cap so one huge page cannot blow up a worker either.
Everything that is not an HTTP 200 HTML response is counted under a named reason, never
silently passed over.
"""

from __future__ import annotations

import io
import re
import zlib
from dataclasses import dataclass
from typing import BinaryIO, Callable, Iterator

from fastwarc.warc import ArchiveIterator, WarcRecordType

from webfaq.counters import Counters
from webfaq.extract import http_body

try:  # ISA-L's inflate (python-isal): FastWARC parsing its output reads a CC WARC in ~10% fewer
    from isal.igzip import READ_BUFFER_SIZE, _IGzipReader  # CPU seconds than FastWARC inflating it
    from isal.isal_zlib import error as _IsalError
except ImportError:  # pragma: no cover - a dependency; without it every file takes the careful path
    _IGzipReader, _IsalError = None, OSError


# glibc's mallopt parameters (malloc.h); see steady_heap.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_HEAP_MMAP_THRESHOLD = 32 << 20  # glibc's largest: payload buffers up to this come from the heap
_HEAP_TRIM_THRESHOLD = 64 << 20
_heap_steady: bool | None = None


def steady_heap() -> bool:
    """Have glibc's malloc keep freed payload buffers for reuse instead of giving them back to
    the kernel and faulting them in again, page by page, for the next record; once per process.

    Each page is read with a cap (``read(max_page_bytes + 1)``), and FastWARC reserves a buffer
    of the cap's size before it copies the payload out, so every HTML record allocates and frees
    8 MiB. glibc's default thresholds adapt to that, but whether the freed block lies at the top
    of the heap, and is trimmed back to the kernel after each record, depends on where small,
    longer-lived objects happened to land: the same script measured 5,000 or 61,000 page faults
    on a 301 MB WARC (0.15-0.2 s of CPU, 7% of the read), depending only on which modules it
    had imported. Both thresholds are set, because setting one turns off glibc's adaptation of
    the other: the trim threshold alone gave 474,000 faults, the mmap threshold alone 289,000.
    A worker keeps at most 64 MiB of free heap. Returns whether the allocator took the settings
    (False off glibc, where nothing changes)."""
    global _heap_steady
    if _heap_steady is None:
        _heap_steady = False
        try:
            import ctypes

            mallopt = ctypes.CDLL(None).mallopt
        except (OSError, AttributeError):  # not glibc (macOS, musl without the symbol)
            return False
        mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
        _heap_steady = bool(mallopt(_M_MMAP_THRESHOLD, _HEAP_MMAP_THRESHOLD)
                            and mallopt(_M_TRIM_THRESHOLD, _HEAP_TRIM_THRESHOLD))
    return _heap_steady


def _inflated(stream: BinaryIO) -> BinaryIO:
    """The decompressed bytes of a gzip ``stream`` (its members one after another), as a
    forward-only stream. ISA-L's raw reader, buffered: its ``seek(0, SEEK_CUR)`` answers the
    position, which FastWARC asks for, where a ``GzipFile`` would try to rewind the stream."""
    return io.BufferedReader(_IGzipReader(stream, READ_BUFFER_SIZE), 128 << 10)

_HTML_TYPES = ("text/html", "application/xhtml+xml")


@dataclass(frozen=True)
class HtmlPage:
    url: str
    fetch_time: str | None   # WARC-Date, ISO 8601
    payload: bytes           # HTTP body, transfer/content encodings removed
    content_type: str | None  # HTTP Content-Type header value


class RecordPage:
    """An :class:`HtmlPage` as the reader yields it: the payload, with the header fields looked
    up in the record's header maps only when asked. Over 99% of pages end at the prefilter and
    never need them, and a header look-up costs about as much as the prefilter's scan of a small
    page. Pickles (to the page sandbox) as a plain HtmlPage."""

    __slots__ = ("payload", "_headers", "_http")

    def __init__(self, payload: bytes, headers, http_headers):
        self.payload, self._headers, self._http = payload, headers, http_headers

    @property
    def url(self) -> str:
        return clean_uri(self._headers.get("WARC-Target-URI"))

    @property
    def fetch_time(self) -> str | None:
        return self._headers.get("WARC-Date")

    @property
    def content_type(self) -> str | None:
        return self._http.get("Content-Type")

    def resolved(self) -> HtmlPage:
        return HtmlPage(self.url, self.fetch_time, self.payload, self.content_type)

    def __reduce__(self):
        return HtmlPage, (self.url, self.fetch_time, self.payload, self.content_type)


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
MAX_HEADER_BYTES = 32 * 1024  # FastWARC's cap on a record's header block: it raises past it
_CHUNK = 1 << 20
_VERSION_LINE = re.compile(rb"WARC/1\.[01](\r?\n)")
_CONTENT_LENGTH = re.compile(rb"^content-length:[ \t]*(\d{1,18})[ \t]*\r?$", re.I | re.M)
_CANDIDATE = re.compile(re.escape(GZIP_MAGIC) + rb"|WARC/1\.[01]\r?\n")


def file_opener(path: str) -> Opener:
    """An opener for a local file (tests, tools): ``opener(offset)`` -> stream at that offset."""
    def open_at(offset: int) -> BinaryIO:
        fh = open(path, "rb")
        fh.seek(offset)
        return fh
    return open_at


def bytes_opener(data: bytes, base: int = 0) -> Opener:
    """An opener over bytes in memory: ``data`` is the file's bytes from offset ``base`` on (a
    range fetched whole, or the window of a file's end already read)."""
    def open_at(offset: int) -> BinaryIO:
        stream = io.BytesIO(data)
        stream.seek(offset - base)
        return stream
    return open_at


# What one record adds to the funnel, as a tuple of counter names: the reader tallies these
# tuples per file (one dict increment per record) and adds them to the caller's Counters once,
# when the file ends, instead of building and merging a Counters per record.
_OTHER = ("warc.records", "warc.records.other")
_RESPONSE = ("warc.records", "warc.records.response")
_NOT_HTTP = _RESPONSE + ("skip.response.not_http",)
_NOT_200 = _RESPONSE + ("skip.response.not_200",)
_NOT_HTML = _RESPONSE + ("skip.response.not_html",)
_HTML = _RESPONSE + ("responses.html",)
_TOO_LARGE = _HTML + ("skip.page.page_too_large",)
# A record whose bytes are framed right but whose HTTP part or payload cannot be decoded (FastWARC
# raised while reading it): counted at the step that failed.
_UNREADABLE_RECORD = ("warc.records", "skip.record.corrupt")
_UNREADABLE_RESPONSE = _RESPONSE + ("skip.response.unreadable_http",)
_UNREADABLE_PAGE = _HTML + ("skip.page.unreadable_payload",)
_UNSUPPORTED_CODING = _HTML + (f"skip.page.{http_body.UNSUPPORTED}",)


class _Pending:
    """A record read but not yet known to be whole: where it starts, its funnel outcome, its page
    and (for the first warcinfo) its fields. Its outcome counts and its page is yielded only
    once the reader has parsed the next record's header (so this one ended where its
    Content-Length said) or :func:`_framing` has checked its bytes."""

    __slots__ = ("start", "outcome", "page", "warcinfo")

    def __init__(self, start: int):
        self.start, self.outcome, self.page, self.warcinfo = start, _UNREADABLE_RECORD, None, None


def iter_html_pages(open_at: Opener, counters: Counters, max_page_bytes: int,
                    warcinfo: dict[str, str] | None = None) -> Iterator[HtmlPage]:
    """Yield each HTTP 200 HTML response of the WARC that ``open_at(offset)`` streams from
    ``offset`` (empty at or past the end, as a file is); count everything else. The stream's
    ``tell()`` may count from the object's start or from ``offset`` (FastWARC's ``stream_pos``
    follows it; both are accounted for).

    ``warcinfo`` (if given) is filled with the fields of the first warcinfo record, so callers
    learn the crawl (``isPartOf``) without a second pass.

    A bad region costs only the record(s) in it, any number of times per file, gzip (one member
    per record, Common Crawl's layout) or uncompressed: when FastWARC stops at a corrupt gzip
    member, a wrong Content-Length, an oversized header or garbage, the last record read is kept
    if its own bytes check out (:func:`_framing`) and dropped if not, and reading resumes at the
    next gzip member or ``WARC/1.x`` line that starts a valid record (:func:`_next_record_start`).
    Each bad region counts once, as ``skip.record.corrupt`` (the reader cannot know how many
    records unreadable bytes held). A region that runs to the end of the file counts as
    ``skip.record.truncated`` and raises WarcFormatError (pages yielded before stay valid); so
    does a file that never yields a record (not a WARC, empty).

    Reading goes two ways with the same outcome. A gzipped file is first read through ISA-L's
    inflate (:func:`_read_inflated`, the fast path): it either ends at a verified end of file
    or gives up at the first anomaly, having yielded only records proven whole. The careful
    path (:func:`_read_records`, FastWARC inflating, byte offsets known for every record) then
    reads the file again from the start, skipping the records already yielded, and deals with
    the damage. Only damaged or uncompressed files pay for a second read. ISA-L is laxer than
    FastWARC's inflate in one way found so far: it ignores reserved gzip header flag bits, which
    FastWARC rejects. A member like that is read as the record it holds (the careful path alone
    would count it corrupt), and where the careful path takes over after it, the bad region it
    finds there is that record, already counted, so it is skipped as one.
    """
    tally: dict[tuple[str, ...], int] = {}
    try:
        done = 0
        if _IGzipReader is not None:
            done = yield from _read_inflated(open_at, tally, max_page_bytes, warcinfo)
            if done is None:
                return
        yield from _read_records(open_at, tally, counters, max_page_bytes, warcinfo, done)
    finally:  # also when the caller stops early or a WarcFormatError ends the file
        for outcome, n in tally.items():
            for name in outcome:
                counters[name] += n


def _read_inflated(open_at: Opener, tally: dict[tuple[str, ...], int], max_page_bytes: int,
                   warcinfo: dict[str, str] | None) -> Iterator[RecordPage]:
    """The fast path of :func:`iter_html_pages`: FastWARC parsing what ISA-L inflates. Its
    offsets count decompressed bytes, so the careful path's checks cannot run on its records
    as they come; it stops at the first sign of trouble instead (a gzip or WARC error, no gzip
    at all, no record) and returns how many records it accepted (and yielded), for the careful
    path to skip. At the end of the file it finds the last record's gzip member from the file's
    end (:func:`_last_member`) and runs the careful path's end checks on it; it returns None when
    they pass: the file is done."""
    stream, accepted, pending = open_at(0), 0, None
    try:
        inflated = _inflated(stream)
        for record in ArchiveIterator(inflated, record_types=WarcRecordType.any_type, parse_http=False,
                                      fsspec_args=False):
            if pending is not None:
                page = _accept(pending, tally, warcinfo)
                accepted += 1
                if page is not None:
                    yield page
            pending = _Pending(record.stream_pos)
            _outcome(record, pending, max_page_bytes, warcinfo is not None and not warcinfo)
        if pending is None or inflated.read(1):
            return accepted
        size, inflated_size = stream.tell(), inflated.tell()
    except (OSError, EOFError, _IsalError):  # bad or cut-off gzip, bad WARC (FetchError is not caught)
        return accepted
    finally:
        stream.close()
    found = _last_member(open_at, size, inflated_size - pending.start)
    if found is None:
        return accepted
    pending.start, window = found
    keep, search_from = _after_stop(window, pending, 0, True)
    if not keep or search_from is not None:
        return accepted
    if (page := _accept(pending, tally, warcinfo)) is not None:
        yield page
    return None


_TAIL = 1 << 20  # the first window searched for the last gzip member; it grows x8 up to _MAX_TAIL
_MAX_TAIL = 64 << 20


def _last_member(open_at: Opener, size: int, length: int) -> tuple[int, Opener] | None:
    """Offset of the gzip member that ends the ``size``-byte file and inflates to exactly
    ``length`` bytes starting with a WARC header -- the last record the fast path read, located
    from the end of the file -- and an opener over the window of the file's end read to find it,
    for the end checks to run on without fetching those bytes again. None when there is none (a
    member holding several records, a file that does not end with the member, a record too large
    for the search)."""
    window = _TAIL
    while True:
        base = max(0, size - window)
        stream, tail = open_at(base), b""
        try:  # a network stream may return fewer bytes than asked for
            while len(tail) < size - base and (chunk := stream.read(size - base - len(tail))):
                tail += chunk
        finally:
            stream.close()
        pos = len(tail)
        while (pos := tail.rfind(GZIP_MAGIC, 0, pos)) >= 0:
            if _member_inflates_to(tail, pos, length):
                return base + pos, bytes_opener(tail, base)
        if base == 0 or window >= _MAX_TAIL:
            return None
        window *= 8


def _member_inflates_to(data: bytes, pos: int, length: int) -> bool:
    """Whether one gzip member starts at ``data[pos]``, ends at the end of ``data`` and inflates
    to ``length`` bytes that begin with a WARC header (inflated in chunks, not kept)."""
    chunks, inflated, head = _member_chunks(io.BytesIO(), memoryview(data)[pos:]), 0, b""
    try:
        while True:
            out = next(chunks)
            head += out[:16 - len(head)]
            inflated += len(out)
            if inflated > length:
                return False
    except StopIteration as stop:
        member_len = stop.value
    except (zlib.error, EOFError):
        return False
    return member_len == len(data) - pos and inflated == length and _VERSION_LINE.match(head) is not None


def _read_records(open_at: Opener, tally: dict[tuple[str, ...], int], counters: Counters, max_page_bytes: int,
                  warcinfo: dict[str, str] | None, done: int = 0) -> Iterator[RecordPage]:
    """The careful path of :func:`iter_html_pages`: FastWARC from ``start`` until it stops,
    then the checks of :func:`_after_stop` and, after a bad region, the next record start. The
    first ``done`` records it accepts were already counted and yielded by the fast path."""
    start, records_read, in_bad_region = 0, 0, False

    def take(pending: _Pending) -> RecordPage | None:
        nonlocal done
        if done:
            done -= 1
            return None
        return _accept(pending, tally, warcinfo)
    while True:
        stream = open_at(start)
        base, pending, error = start - stream.tell(), None, None
        try:
            # HTTP headers are parsed for responses only (_outcome): requests and metadata are
            # counted by their WARC type and never need theirs.
            for record in ArchiveIterator(stream, record_types=WarcRecordType.any_type, parse_http=False,
                                          fsspec_args=False):
                if in_bad_region:  # reading resumed: the region before this record costs one record
                    if done:  # unless the fast path read through it: then it was one of its records
                        done -= 1
                    else:
                        _count_lost(counters, "corrupt")
                    in_bad_region = False
                if pending is not None and (page := take(pending)) is not None:
                    yield page
                pending = _Pending(base + record.stream_pos)  # set first: a payload error implicates it
                records_read += 1
                _outcome(record, pending, max_page_bytes, warcinfo is not None and not warcinfo)
        except OSError as exc:  # FastWARC reports bad gzip, bad headers and truncation as OSError
            error = exc
        finally:
            stream.close()
        keep, search_from = _after_stop(open_at, pending, start, error is None)
        if keep and (page := take(pending)) is not None:
            yield page
        if search_from is None and not in_bad_region:
            break
        resume = None if search_from is None else _next_record_start(open_at, search_from)
        if resume is None:
            if records_read == 0:
                raise WarcFormatError(f"not a readable WARC: {error}" if error else
                                      "no WARC records (empty file or not a WARC)")
            _count_lost(counters, "truncated")
            raise WarcFormatError(f"truncated final record (after {records_read} records)")
        # A record FastWARC failed inside (HTTP headers it cannot parse) but whose own bytes check
        # out ends where the next one starts: nothing between them was lost.
        in_bad_region, start = not (keep and resume == search_from), resume
    if records_read == 0:
        raise WarcFormatError("no WARC records (empty file or not a WARC)")


def _accept(pending: _Pending, tally: dict[tuple[str, ...], int], warcinfo: dict[str, str] | None) -> RecordPage | None:
    """Count a record proven whole; its page (if any) for the caller to yield."""
    tally[pending.outcome] = tally.get(pending.outcome, 0) + 1
    if pending.warcinfo is not None and warcinfo is not None and not warcinfo:
        warcinfo.update(pending.warcinfo)
    return pending.page


def _count_lost(counters: Counters, reason: str) -> None:
    counters.add("warc.records")
    counters.skip("record", reason)


def _after_stop(open_at: Opener, pending: _Pending | None, start: int, clean: bool) -> tuple[bool, int | None]:
    """FastWARC stopped (``clean``: at what it took for the end). Returns (keep the pending
    record?, offset to look for the next record from, or None when the file is done)."""
    if pending is None:
        return False, None if clean else start + 1
    framed, end = _framing(open_at, pending.start)
    if not framed:
        return False, pending.start + 1  # its Content-Length is wrong: the next record may start inside
    if end is None:  # not checkable (a multi-record gzip member): trust FastWARC
        return True, None if clean else pending.start + 1
    if not _junk_after(open_at, end):  # also where FastWARC failed inside a sound last record
        return True, None
    return True, end


class _RecordBytes:
    """The bytes of the record stored at ``start``: the gzip member there, decompressed, up to
    the member's end; or the file's bytes from there. For the checks after FastWARC stops (once
    per file, or after corruption), so plain and simple; it holds at most a chunk or two.
    ``read`` raises zlib.error or EOFError for a corrupt or cut-off member."""

    def __init__(self, open_at: Opener, start: int):
        self._stream = open_at(start)
        first = self._stream.read(len(GZIP_MAGIC))
        self.gzip = first == GZIP_MAGIC
        self._chunks = _member_chunks(self._stream, first) if self.gzip else _plain_chunks(self._stream, first)
        self._buf, self._done = b"", False
        self.member_len: int | None = None  # gzip: compressed length, once the member has ended

    def peek(self, n: int) -> bytes:
        while len(self._buf) < n and not self._done:
            try:
                self._buf += next(self._chunks)
            except StopIteration as stop:
                self._done, self.member_len = True, stop.value
        return self._buf[:n]

    def read(self, n: int) -> bytes:
        out = self.peek(n)
        self._buf = self._buf[len(out):]
        return out

    def skip(self, n: int) -> int:
        skipped = 0
        while skipped < n and (got := len(self.read(min(n - skipped, _CHUNK)))):
            skipped += got
        return skipped

    def close(self) -> None:
        self._stream.close()


def _plain_chunks(stream: BinaryIO, first: bytes) -> Iterator[bytes]:
    yield first + stream.read(MAX_HEADER_BYTES)  # enough for a header check, which is often all
    while chunk := stream.read(_CHUNK):
        yield chunk


def _member_chunks(stream: BinaryIO, first: bytes) -> Iterator[bytes]:
    """Decompressed bytes of the one gzip member at the start of ``first`` + ``stream``; returns
    the member's compressed length."""
    member, data, fed = zlib.decompressobj(wbits=31), first, len(first)
    read_size = MAX_HEADER_BYTES  # small first: most candidate members fail in their first bytes
    while not member.eof:
        if not data:
            data, read_size = stream.read(read_size), _CHUNK
            if not data:
                raise EOFError("gzip member cut off")
            fed += len(data)
        out = member.decompress(data, _CHUNK)
        data = member.unconsumed_tail
        if out:
            yield out
    return fed - len(member.unused_data) - len(data)


def _parse_head(data: bytes) -> tuple[int, int, bytes] | None:
    """(header block length, Content-Length, record trailer) when ``data`` starts with a WARC/1.x
    record header that FastWARC reads (it ends within MAX_HEADER_BYTES); else None."""
    version = _VERSION_LINE.match(data)
    if version is None:
        return None
    blank = version.group(1) * 2
    end = data.find(blank, 0, MAX_HEADER_BYTES)
    length = _CONTENT_LENGTH.search(data, 0, end) if end >= 0 else None
    if length is None:
        return None
    return end + len(blank), int(length.group(1)), blank


def _framing(open_at: Opener, start: int) -> tuple[bool, int | None]:
    """Do the record's bytes at ``start`` end where its Content-Length says, with the blank-line
    trailer (and, gzipped, with its member)? Returns (framed, end offset); ``(True, None)`` when
    it cannot be checked (no record header at ``start``: FastWARC's positions inside a gzip
    member that holds several records) or ends inside a multi-record member."""
    data = _RecordBytes(open_at, start)
    try:
        start_bytes = data.peek(MAX_HEADER_BYTES)
        if not _VERSION_LINE.match(start_bytes):
            return True, None
        head = _parse_head(start_bytes)
        if head is None:  # a header FastWARC took but we cannot frame (no or negative Content-Length)
            return False, None
        header_len, content_length, trailer = head
        data.skip(header_len + content_length)
        if data.read(len(trailer)) != trailer:
            return False, None
        if not data.gzip:
            return True, start + header_len + content_length + len(trailer)
        if data.read(1):
            return True, None
        return True, start + data.member_len
    except (zlib.error, EOFError):
        return False, None
    finally:
        data.close()
def _junk_after(open_at: Opener, offset: int) -> bool:
    """Whether anything but blank lines follows ``offset`` (FastWARC passes over those)."""
    stream = open_at(offset)
    try:
        while chunk := stream.read(_CHUNK):
            if chunk.strip(b"\r\n"):
                return True
        return False
    finally:
        stream.close()


def _is_record_start(open_at: Opener, offset: int) -> bool:
    """A gzip member or plain bytes at ``offset`` that begin with a record header FastWARC reads."""
    data = _RecordBytes(open_at, offset)
    try:
        return _parse_head(data.peek(MAX_HEADER_BYTES)) is not None
    except (zlib.error, EOFError):
        return False
    finally:
        data.close()


def _next_record_start(open_at: Opener, offset: int) -> int | None:
    """Offset of the first record start at or after ``offset`` -- a gzip member or a ``WARC/1.x``
    line that begins a readable record header -- or None at the end of the file. Scans chunk by
    chunk (memory stays bounded however large the bad region); a plain candidate is checked in
    the chunk when its header fits, others by opening the file there. Runs only after
    corruption. (A payload that holds a whole WARC record header could pass for a record; it is
    only searched when the record around it is already broken.)"""
    stream = open_at(offset)
    carry = b""
    try:
        while chunk := stream.read(_CHUNK):
            data, data_start = carry + chunk, offset - len(carry)
            for match in _CANDIDATE.finditer(data):
                pos = match.start()
                if match.end() <= len(carry):
                    continue  # seen in the previous chunk
                if data[pos] != GZIP_MAGIC[0] and pos + MAX_HEADER_BYTES <= len(data):
                    found = _parse_head(data[pos:pos + MAX_HEADER_BYTES]) is not None
                else:
                    found = _is_record_start(open_at, data_start + pos)
                if found:
                    return data_start + pos
            carry, offset = data[-16:], offset + len(chunk)
        return None
    finally:
        stream.close()


def _outcome(record, pending: _Pending, max_page_bytes: int, want_info: bool) -> None:
    """Classify one record into ``pending``: its funnel outcome, its page if it is an HTTP 200
    HTML response within the size cap, the fields of a warcinfo record if ``want_info``. Each
    step that may raise (FastWARC's OSError for bytes it cannot decode) runs with the outcome
    of its failure already set, so a record that fails there still counts once."""
    rtype = record.record_type
    if rtype != WarcRecordType.response:
        pending.outcome = _OTHER
        if rtype == WarcRecordType.warcinfo and want_info:
            pending.warcinfo = parse_warcinfo(record.reader.read(1 << 20))
        return
    if not record.is_http:
        pending.outcome = _NOT_HTTP
        return
    pending.outcome = _UNREADABLE_RESPONSE
    record.parse_http(auto_decode="none")  # codings are removed by http_body, leniently
    if record.http_headers is None:
        pending.outcome = _NOT_HTTP
    elif record.http_headers.status_code != 200:
        pending.outcome = _NOT_200
    elif not _is_html(record):
        pending.outcome = _NOT_HTML
    else:
        pending.outcome = _UNREADABLE_PAGE
        payload = record.reader.read(max_page_bytes + 1)
        outcome = _HTML
        if len(payload) <= max_page_bytes and http_body.needs_decoding(payload):
            try:
                payload, notes = http_body.decoded_body(payload, record.http_headers, max_page_bytes)
            except http_body.UnsupportedCoding:
                pending.outcome = _UNSUPPORTED_CODING
                return
            outcome += tuple(notes)
        if len(payload) > max_page_bytes:
            pending.outcome = _TOO_LARGE
        else:
            pending.outcome, pending.page = outcome, RecordPage(payload, record.headers, record.http_headers)
