"""An HTTP body as a browser would read it: transfer and content codings removed, leniently.

Common Crawl stores bodies already decoded (its crawler renames the headers to
``X-Crawler-Transfer-Encoding`` / ``X-Crawler-Content-Encoding``), but WARCs written by other
crawlers (wget, Heritrix, browsertrix, StormCrawler) keep them as the server sent them: chunked,
gzip, deflate, br, zstd. FastWARC's own decoding fails a whole record on a coding browsers
accept (``x-gzip``, raw deflate for ``deflate``, a truncated gzip) or on a header that does not
match the body (a writer that stored the decoded body and kept the header), and its failure
stops the record iterator as if the file were damaged. Decoding here instead follows what
browsers and warcio do:

- ``Transfer-Encoding: chunked`` over a body that does not start with a chunk-size line is read
  as it is (warcio's fallback); a chunk stream that breaks off keeps the chunks before the break.
- Content codings are removed last-applied first; ``x-gzip`` is ``gzip``, ``deflate`` is zlib
  or, where the zlib header is missing, raw deflate (as every browser accepts).
- A body that does not decode from its first byte is not in that coding: it is read as it is.
- A stream cut off or broken after some output keeps that output, as a browser renders it.
- Output is capped at ``limit + 1`` bytes, so a decompression bomb costs at most the cap.

Only bodies that do not start with ``<`` are looked at (:func:`needs_decoding`), so the reader
pays nothing for Common Crawl's records: a chunked, gzip, zlib, brotli or zstd body cannot
start with ``<`` (0x3C is no gzip or zstd magic, no zlib method, and as brotli's first byte it
opens a metadata block with its reserved bit set), and a ``<`` under a coding header is a decoded
body mislabelled, read as it is either way. Raw deflate is the one coding that can: 0x3C opens a
non-final dynamic block of exactly 264 literal/length codes, which markup, repeating in long
runs, hardly ever gives; such a body (under the ``deflate`` some servers send raw) would be read
as it is and miss the prefilter.
"""

from __future__ import annotations

import re
import zlib
from typing import Callable, Protocol

# Outcome notes (counter names) of a decoded body; none is a funnel stage.
MISLABELLED = "http.body_mislabelled"  # a coding header over a body not in that coding
CUT_SHORT = "http.body_cut_short"      # a coded stream that ended or broke early: its output kept
UNSUPPORTED = "unsupported_coding"     # skip.page reason: a coding nobody can decode here

_SLICE = 64 << 10
# How a decoder's input ended: at the coded stream's end, before it, or in bytes not of that coding.
_END, _CUT, _ERROR = "end", "cut", "error"
Inflate = Callable[[bytes, int], tuple[bytes, str]]
_ZSTD_SLICE = 256
_CHUNK_LINE = re.compile(rb"[ \t]*([0-9A-Fa-f]{1,16})[ \t]*(?:;[^\r\n]*)?\r?\n")


class Headers(Protocol):
    def get(self, name: str, default=None): ...


class UnsupportedCoding(ValueError):
    """A content coding this process cannot remove (``compress``, or ``zstd`` without zstandard)."""


def needs_decoding(raw: bytes) -> bool:
    """Whether a body as stored may carry a coding: any body that does not start with ``<``."""
    return raw[:1] != b"<"


def decoded_body(raw: bytes, headers: Headers, limit: int) -> tuple[bytes, list[str]]:
    """``raw`` with the codings its HTTP ``headers`` name removed, and the notes of how (see
    the module's rules). The result may be longer than ``limit`` (by at most one byte per
    step): the caller's size cap decides. Raises UnsupportedCoding."""
    notes: list[str] = []
    body = raw
    transfer = (headers.get("Transfer-Encoding") or "").lower()
    if "chunked" in transfer:
        body, cut = dechunked(body)
        if cut:
            notes.append(CUT_SHORT)
    for coding in reversed(_codings(headers.get("Content-Encoding"))):
        if len(body) > limit:
            break
        body, note = _decode(coding, body, limit)
        if note:
            notes.append(note)
    return body, notes


def dechunked(raw: bytes) -> tuple[bytes, bool]:
    """The data of a chunked body, and whether it broke off before its last chunk. A body that
    does not start with a chunk-size line was stored dechunked: it is returned as it is."""
    out, pos = [], 0
    while True:
        line = _CHUNK_LINE.match(raw, pos)
        if line is None:
            return (b"".join(out), True) if out or pos else (raw, False)
        size, pos = int(line.group(1), 16), line.end()
        if size == 0:
            return b"".join(out), False
        out.append(raw[pos:pos + size])
        if pos + size > len(raw):
            return b"".join(out), True
        pos += size
        pos += 2 if raw.startswith(b"\r\n", pos) else 1 if raw.startswith(b"\n", pos) else 0


def _codings(value: str | None) -> list[str]:
    return [c for c in (t.strip().lower() for t in (value or "").split(",")) if c and c != "identity"]


def _decode(coding: str, body: bytes, limit: int) -> tuple[bytes, str | None]:
    """One content coding removed; the body as it is where it is not in that coding."""
    inflate = _DECODERS.get(coding)
    if inflate is None:
        raise UnsupportedCoding(coding)
    out, ending = inflate(body, limit + 1)
    if ending == _ERROR and not out:
        return body, MISLABELLED
    if len(out) > limit:  # brotli and zstd may overshoot the cap by a bounded amount
        return out[:limit + 1], None
    return out, None if ending == _END else CUT_SHORT


def _zlib(wbits: int) -> Inflate:
    def inflate(body: bytes, cap: int) -> tuple[bytes, str]:
        """Fed in slices, so a stream that breaks midway keeps what came before the break."""
        d, out, size = zlib.decompressobj(wbits), [], 0
        try:
            for start in range(0, len(body), _SLICE):
                data = body[start:start + _SLICE]
                while data and size < cap:
                    out.append(d.decompress(data, cap - size))
                    size, data = size + len(out[-1]), d.unconsumed_tail
                if size >= cap or d.eof:
                    break
        except zlib.error:
            return b"".join(out), _ERROR
        return b"".join(out), _END if d.eof else _CUT
    return inflate


_GZIP_OR_ZLIB = _zlib(47)
_ZLIB, _RAW = _zlib(15), _zlib(-15)


def _deflate(body: bytes, cap: int) -> tuple[bytes, str]:
    """``deflate`` means zlib (RFC 9110), but servers send raw deflate too; browsers take both."""
    zlib_header = len(body) > 1 and body[0] & 0x0F == 8 and (body[0] << 8 | body[1]) % 31 == 0
    return (_ZLIB if zlib_header else _RAW)(body, cap)


def _brotli(body: bytes, cap: int) -> tuple[bytes, str]:
    import brotli  # FastWARC's dependency

    d, out, size = brotli.Decompressor(), [], 0
    try:
        for start in range(0, len(body), _SLICE):
            out.append(d.process(body[start:start + _SLICE], output_buffer_limit=cap - size))
            size += len(out[-1])
            while size < cap and not d.can_accept_more_data():
                out.append(d.process(b"", output_buffer_limit=cap - size))
                size += len(out[-1])
            if size >= cap:
                break
    except brotli.error:
        return b"".join(out), _ERROR
    return b"".join(out), _END if d.is_finished() else _CUT


def _zstd(body: bytes, cap: int) -> tuple[bytes, str]:
    """Fed in small slices: zstandard's decompressobj has no output limit, and one RLE block
    of 4 bytes expands to 128 KiB, so a slice of 256 bytes yields at most ~11 MB past the cap."""
    try:
        import zstandard
    except ImportError:  # pragma: no cover - a dependency
        raise UnsupportedCoding("zstd (zstandard is not installed)") from None
    d, out, size = zstandard.ZstdDecompressor().decompressobj(), [], 0
    try:
        for start in range(0, len(body), _ZSTD_SLICE):
            out.append(d.decompress(body[start:start + _ZSTD_SLICE]))
            size += len(out[-1])
            if size >= cap or d.eof:
                break
    except zstandard.ZstdError:
        return b"".join(out), _ERROR
    return b"".join(out), _END if d.eof else _CUT


_DECODERS: dict[str, Inflate] = {
    "gzip": _GZIP_OR_ZLIB, "x-gzip": _GZIP_OR_ZLIB, "deflate": _deflate, "br": _brotli, "zstd": _zstd,
}
