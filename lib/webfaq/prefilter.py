"""Byte-level prefilter: which schema.org syntaxes of a raw HTML payload could hold an FAQPage.

The test is a handful of substring searches on the undecoded payload, no regex and no decoding
in the common case:

1. ``b"FAQPage"`` must occur. In every syntax the FAQ rule needs a node typed ``FAQPage`` (bare,
   ``schema:FAQPage`` or a schema.org IRI; types are case-sensitive, as in the method), and the
   type is written literally in the markup: the JSON-LD ``@type`` value, the microdata
   ``itemtype`` attribute, the RDFa ``typeof`` (or ``rdf:type`` object). This is the only test
   most pages see (one memchr-speed scan).
2. Only on a hit, the payload is lower-cased once (HTML tag and attribute names are
   case-insensitive) and each enabled syntax is checked for a marker its parser needs:
   JSON-LD ``ld+json`` (the script type) or ``"@type"``; microdata ``itemscope`` and
   ``itemtype``; RDFa ``typeof`` or an ``rdf:type`` (``rdf:type`` / ``rdf-syntax-ns#``).

Payloads in UTF-16 (BOM, or NUL bytes in the first bytes) are transcoded to UTF-8 before the
test, so an ASCII-incompatible encoding does not hide a page. Blind spots, by construction
(markup that spells the type with escapes): ``"FAQ\\u0050age"`` inside JSON, ``FAQ&#80;age``
inside an attribute, or EBCDIC/UTF-32 pages. The parser would see those, the prefilter would not.

Soundness against full parsing is tested on every HTML page of ``real-pages.warc.gz``
(tests/test_prefilter.py).
"""

from __future__ import annotations

from typing import Iterable

_FAQ = b"FAQPage"
_EMPTY: frozenset[str] = frozenset()


def _utf16_to_utf8(payload: bytes) -> bytes | None:
    """UTF-16 payload (BOM, or NULs in its first bytes) -> UTF-8; None if it is not UTF-16."""
    head = payload[:2]
    if head == b"\xff\xfe" or head == b"\xfe\xff":
        codec = "utf-16"
    else:
        sample = payload[:256]
        if b"\x00" not in sample:
            return None
        even = sample[0::2].count(0)
        odd = sample[1::2].count(0)
        if odd > even:
            codec = "utf-16-le"
        elif even > odd:
            codec = "utf-16-be"
        else:
            return None
    try:
        return payload.decode(codec, "replace").encode("utf-8", "replace")
    except Exception:  # noqa: BLE001
        return None


def detect_syntaxes(payload: bytes, enabled: Iterable[str]) -> frozenset[str]:
    """Cheap byte-level test on the raw (undecoded) HTML payload: which enabled syntaxes could
    hold an FAQPage. Empty set == prefilter miss (page is not parsed)."""
    if _FAQ not in payload:
        if payload[:2] not in (b"\xff\xfe", b"\xfe\xff") and b"\x00" not in payload[:256]:
            return _EMPTY
        converted = _utf16_to_utf8(payload)
        if converted is None or _FAQ not in converted:
            return _EMPTY
        payload = converted
    low = payload.lower()
    found = []
    for syntax in enabled:
        if syntax == "json-ld":
            if b"ld+json" in low or b'"@type"' in payload:
                found.append(syntax)
        elif syntax == "microdata":
            if b"itemscope" in low and b"itemtype" in low:
                found.append(syntax)
        elif syntax == "rdfa":
            if b"typeof" in low or b"rdf:type" in low or b"rdf-syntax-ns#" in low:
                found.append(syntax)
    return frozenset(found)
