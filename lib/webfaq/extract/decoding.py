"""Bytes to text for web pages whose declared charset may be missing or a lie.

Only pages that pass the byte prefilter are decoded, so this is off the hot path. The order is
as a browser does: a declared charset (HTTP header, else ``<meta charset>`` in the first 2 KB)
wins and stray bad bytes become U+FFFD; without one, strict UTF-8, then Resiliparse's detector. A
page none of them decodes is skipped with reason ``undecodable``.
"""

from __future__ import annotations

import codecs
import re

_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]{1,40})""", re.I)
_HTTP_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_\-:.]{1,40})", re.I)


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name.strip()).name
    except LookupError:
        return None


def declared_charsets(payload: bytes, content_type: str | None) -> list[str]:
    found = []
    if content_type and (m := _HTTP_CHARSET.search(content_type)):
        found.append(m.group(1))
    if m := _META_CHARSET.search(payload[:2048]):
        found.append(m.group(1).decode("ascii", "replace"))
    return [c for c in map(_codec, found) if c]


def decode_html(payload: bytes, content_type: str | None) -> str | None:
    """The page as text, or None when no candidate encoding decodes it without errors."""
    declared = declared_charsets(payload, content_type)
    if declared:
        return payload.decode(declared[0], "replace")
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        pass
    from resiliparse.parse.encoding import detect_encoding

    detected = _codec(detect_encoding(payload))
    if detected:
        try:
            return payload.decode(detected)
        except (UnicodeDecodeError, LookupError):
            return None
    return None
