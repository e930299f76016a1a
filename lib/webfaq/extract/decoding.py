"""Bytes to text for web pages whose declared charset may be missing or a lie.

Only pages that pass the byte prefilter are decoded, so this is off the hot path. The order is
as a browser does (WHATWG Encoding Standard, "decode" and the HTML encoding sniffing): a byte
order mark wins over everything; a page in UTF-16 without one (:func:`utf16_codec`) is read as
UTF-16; then a declared charset (HTTP header, else ``<meta charset>``
in the first 2 KB), stray bad bytes becoming U+FFFD; without one, strict UTF-8, then Resiliparse's
detector. A page none of them decodes is skipped with reason ``undecodable``.

A declared label is read as browsers read it, not as Python's codec of that name: web pages say
``iso-8859-1`` or ``us-ascii`` and write windows-1252 (“quotes”, €, – and ’ live in its 0x80-0x9F,
which ISO-8859-1 makes C1 control characters), say ``gb2312`` and write GBK, ``shift_jis`` and
write Windows-31J (①, ～), ``euc-kr`` and write windows-949; the standard maps those labels to
the wider encodings (:data:`_WHATWG`), and every browser shows the page that way. A label that
names no encoding of the standard (``base64``, ``rot13``, ``utf-7``, ``cp037``: Python knows
them, browsers do not) is ignored, as browsers ignore it. A ``<meta>``
declaring UTF-16 is read as UTF-8 (the standard's rule: a page whose ``<meta>`` could be read as
ASCII is not UTF-16).
"""

from __future__ import annotations

import codecs
import re

_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]{1,40})""", re.I)
_HTTP_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_\-:.]{1,40})", re.I)

# Python codec (as codecs.lookup names it) -> the codec of the encoding the WHATWG Encoding
# Standard decodes that label with. (windows-1252's five bytes Python leaves undefined, 0x81,
# 0x8D, 0x8F, 0x90 and 0x9D, become U+FFFD instead of the standard's C1 controls.)
_WHATWG = {
    "iso8859-1": "cp1252", "ascii": "cp1252",
    "iso8859-9": "cp1254",
    "tis-620": "cp874", "iso8859-11": "cp874",
    "gb2312": "gb18030", "gbk": "gb18030",
    "big5": "big5hkscs",
    "shift_jis": "cp932",
    "euc_kr": "cp949",
}
# The encodings of the Encoding Standard, as Python codecs (after the widening above). A label
# whose codec is not one of them is no web encoding -- a byte transform such as base64 or rot13
# (decoding raises), utf-7 (it would turn "+ADw-" into "<"), EBCDIC, utf-32 -- and is ignored, as
# browsers ignore a label they do not know.
_WEB_CODECS = frozenset(codecs.lookup(name).name for name in (
    "utf-8", "utf-16-le", "utf-16-be", "utf-16", "cp866", "iso8859-2", "iso8859-3", "iso8859-4",
    "iso8859-5", "iso8859-6", "iso8859-7", "iso8859-8", "iso8859-10", "iso8859-13", "iso8859-14",
    "iso8859-15", "iso8859-16", "koi8-r", "koi8-u", "mac-roman", "mac-cyrillic", "cp874", "cp1250",
    "cp1251", "cp1252", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257", "cp1258", "gb18030",
    "big5hkscs", "euc_jp", "iso2022_jp", "cp932", "cp949"))
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


def utf16_codec(payload: bytes) -> str | None:
    """``utf-16`` (a byte order mark), ``utf-16-le``/``utf-16-be`` (no mark, but NUL bytes in at
    least a third of the odd, resp. even, positions of the first 256 bytes and few in the
    others: the markup's ASCII written in UTF-16), else None. The prefilter and the decoder ask
    the same question, so a page the prefilter passes as UTF-16 is decoded as UTF-16."""
    if payload[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return "utf-16"
    sample = payload[:256]
    if b"\x00" not in sample:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    half = len(sample) // 2
    if odd * 3 >= half and even * 4 <= odd:
        return "utf-16-le"
    if even * 3 >= half and odd * 4 <= even:
        return "utf-16-be"
    return None


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name.strip()).name
    except LookupError:
        return None


def web_codec(name: str | None) -> str | None:
    """The Python codec a browser's decoder for charset label ``name`` corresponds to; None for
    a label that names no encoding of the Encoding Standard (browsers ignore it)."""
    codec = _codec(name)
    codec = _WHATWG.get(codec, codec) if codec else None
    return codec if codec in _WEB_CODECS else None


def declared_charsets(payload: bytes, content_type: str | None) -> list[str]:
    found = []
    if content_type and (m := _HTTP_CHARSET.search(content_type)):
        found.append(web_codec(m.group(1)))
    if m := _META_CHARSET.search(payload[:2048]):
        codec = web_codec(m.group(1).decode("ascii", "replace"))
        found.append("utf-8" if codec and codec.startswith("utf-16") else codec)
    return [c for c in found if c]


def decode_html(payload: bytes, content_type: str | None) -> str | None:
    """The page as text, or None when no candidate encoding decodes it without errors."""
    for bom, codec in _BOMS:
        if payload.startswith(bom):
            return payload[len(bom):].decode(codec, "replace")
    codec = utf16_codec(payload)
    if codec is not None:  # no byte order mark, and no <meta> an ASCII scan could read
        return payload.decode(codec, "replace")
    declared = declared_charsets(payload, content_type)
    if declared:
        return payload.decode(declared[0], "replace")
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        pass
    from resiliparse.parse.encoding import detect_encoding

    detected = _codec(detect_encoding(payload))
    for codec in dict.fromkeys((_WHATWG.get(detected, detected), detected) if detected else ()):
        try:
            return payload.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
    return None
