"""Byte-level prefilter: which schema.org syntaxes of a raw HTML payload could hold an FAQPage.

A few substring searches on the undecoded payload; no decoding and no whole-page regex:

1. ``FAQPage`` must occur. In every syntax the FAQ rule needs a node typed ``FAQPage`` (bare,
   ``schema:FAQPage`` or a schema.org IRI; types are case-sensitive, as in the method), and the
   type is written literally in the markup: the JSON-LD ``@type`` value, the microdata
   ``itemtype`` value, the RDFa ``typeof`` value (or an ``rdf:type`` object). This is the only
   test most pages see, a pass over every byte of every HTML page, so it runs StringZilla's
   SIMD substring search: 14-17 GB/s on one core here against 4-5 GB/s for the best pure-Python
   search (memchr on the rare byte ``Q``; CPython's ``bytes.find`` alone: 2 GB/s), which takes
   the prefilter from about 13% of the cost of reading a Common Crawl WARC to 4%
   (bench/extract.py).
2. Only on a hit, each enabled syntax is checked for what its parser needs (the DOM parsers
   cost milliseconds, so they should not run on every JSON-LD FAQ page that happens to contain
   some ``itemtype`` or JavaScript's ``typeof``):

   * JSON-LD: the key ``"@type"`` occurs, and some ``FAQPage`` is directly followed by ``"``
     (the type string must end right after the local name);
   * microdata: some ``FAQPage`` lies inside an ``itemtype`` attribute: ``itemtype`` (any
     case) occurs in the 512 bytes before it with no ``>`` in between;
   * RDFa: likewise inside a ``typeof`` attribute, or the page mentions ``rdf:type`` /
     ``rdf-syntax-ns#`` (a type given as an ``rdf:type`` triple).

Payloads in UTF-16 (BOM, or NUL bytes in every other one of their first bytes; the decoder's
own test, so a page passed as UTF-16 is decoded as UTF-16) are transcoded to UTF-8 first, so
an ASCII-incompatible encoding does not hide a page. Blind spots, by construction: markup that
spells a marker with escapes (``"FAQ\\u0050age"`` or ``"\\u0040type"`` in JSON,
``FAQ&#80;age`` in an attribute), a type attribute value with more than ~500 bytes before the
FAQPage token, EBCDIC/UTF-32 pages. The parsers would read those; the prefilter would not.

Recall against full parsing is tested on every HTML page of ``real-pages.warc.gz``
(tests/test_prefilter.py).
"""

from __future__ import annotations

from typing import Iterable

from stringzilla import find as _simd_find

from webfaq.extract.decoding import utf16_codec

_FAQ = b"FAQPage"
_EMPTY: frozenset[str] = frozenset()


def _utf16_to_utf8(payload: bytes) -> bytes | None:
    """UTF-16 payload (:func:`webfaq.extract.decoding.utf16_codec`) -> UTF-8; None if it is not UTF-16."""
    codec = utf16_codec(payload)
    if codec is None:
        return None
    return payload.decode(codec, "replace").encode("utf-8", "replace")


def _find_faqpage(payload: bytes) -> int:
    """Index of the first ``FAQPage`` or -1."""
    return _simd_find(payload, _FAQ)


_WINDOW = 512
_MAX_OCCURRENCES = 256


def _in_attribute(payload: bytes, pos: int, attr: bytes) -> bool:
    """Could the ``FAQPage`` at ``pos`` sit in the value of attribute ``attr`` (lower case)?"""
    seg = payload[max(0, pos - _WINDOW):pos].lower()
    j = seg.rfind(attr)
    return j >= 0 and b">" not in seg[j:]


def detect_syntaxes(payload: bytes, enabled: Iterable[str]) -> frozenset[str]:
    """Cheap byte-level test on the raw (undecoded) HTML payload: which enabled syntaxes could
    hold an FAQPage. Empty set == prefilter miss (page is not parsed)."""
    first = _find_faqpage(payload)
    if first < 0:
        if payload[:2] not in (b"\xff\xfe", b"\xfe\xff") and b"\x00" not in payload[:256]:
            return _EMPTY
        converted = _utf16_to_utf8(payload)
        if converted is None:
            return _EMPTY
        payload = converted
        first = payload.find(_FAQ)
        if first < 0:
            return _EMPTY
    positions = [first]
    while len(positions) < _MAX_OCCURRENCES:
        nxt = payload.find(_FAQ, positions[-1] + 1)
        if nxt < 0:
            break
        positions.append(nxt)
    capped = len(positions) >= _MAX_OCCURRENCES  # then judge by page-wide markers only
    found = []
    for syntax in enabled:
        if syntax == "json-ld":
            if b'"@type"' in payload and (capped or any(payload[p + 7:p + 8] == b'"' for p in positions)):
                found.append(syntax)
        elif syntax == "microdata":
            if capped:
                if b"itemtype" in payload.lower():
                    found.append(syntax)
            elif any(_in_attribute(payload, p, b"itemtype") for p in positions):
                found.append(syntax)
        elif syntax == "rdfa":
            if capped:
                local = b"typeof" in payload.lower()
            else:
                local = any(_in_attribute(payload, p, b"typeof") for p in positions)
            if local:
                found.append(syntax)
            else:
                low = payload.lower()
                if b"rdf:type" in low or b"rdf-syntax-ns#" in low:
                    found.append(syntax)
    return frozenset(found)
