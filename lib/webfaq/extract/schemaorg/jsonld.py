"""JSON-LD: find ``<script type="application/ld+json">`` blocks by a direct scan, ``json.loads`` each.

No DOM is built. The scan follows the HTML tokenizer closely enough to find the same script
contents that lxml/libxml2 (which extruct uses) finds:

* comments ``<!-- ... -->`` are skipped (a script inside a comment is not a script);
* raw-text / RCDATA elements (``style``, ``textarea``, ``title``, ``xmp``, ``iframe``,
  ``noembed``, ``noframes``; ``plaintext`` to the end) are skipped;
* every ``<script>`` (of any type) is skipped as a whole, with the HTML5 script-data escape
  rules (``<!--`` ... ``<script>`` ... ``</script>`` ... ``-->``), so JavaScript that contains
  the text of a JSON-LD tag is not mistaken for one;
* the content is preprocessed as the parser does (CR LF / CR -> LF, NUL -> U+FFFD); character
  references are NOT decoded (script content is raw text).

Attribute values may be quoted or not; the ``type`` is compared after entity decoding,
stripping and lower-casing, parameters ignored (``application/LD+JSON ; charset=utf-8`` counts).
extruct only takes the exact string ``application/ld+json`` -- a deliberate difference.

Each block is parsed on its own (``json.loads(strict=False)``, then extruct's fallback of
dropping a leading comment line and parsing with ``jstyleson``, which accepts comments and
trailing commas), then :func:`_repaired`: the block read past template wrappers (a byte order
mark, CDATA, an HTML comment, trailing semicolons), PHP's ``\\'`` escape and several objects in
a row (``blocks_repaired.json-ld``). A block that still fails is counted (``block_errors.json-ld.<reason>``) and
skipped; the page's other blocks still count. extruct instead loses every JSON-LD block of a
page when one block fails -- a deliberate difference.

Hostile input: a block nested deeper than Python's recursion limit raises RecursionError inside
``json.loads``; it is caught and counted (``too_deep``). An integer longer than Python's int
conversion limit stays its literal text (:func:`_parse_int`) instead of failing the block.
Blocks longer than :data:`MAX_BLOCK_CHARS` are skipped (``too_large``) and the slow jstyleson
fallback is only tried on blocks up to :data:`MAX_FALLBACK_CHARS`. No remote ``@context`` is ever fetched:
the JSON is read as is, with schema.org terms recognised by name.
"""

from __future__ import annotations

import html as _html
import json
import re
from typing import Any, Iterator

from webfaq.extract.schemaorg.model import RawQA, faq_pairs

SYNTAX = "json-ld"
MAX_BLOCK_CHARS = 16 * 1024 * 1024
MAX_FALLBACK_CHARS = 1024 * 1024

# Next construct of interest in normal content.
_SCAN = re.compile(
    r"<!--|<(script|style|textarea|title|xmp|iframe|noembed|noframes|plaintext)(?=[\t\n\f\r />])",
    re.I,
)
# Tokens inside script data.
_SCRIPT_TOK = re.compile(r"<!--|-->|<(/?)script(?=[\t\n\f\r />])", re.I)
_ATTR = re.compile(
    r"""[\t\n\f\r /]*(?:([^\t\n\f\r />][^\t\n\f\r /=>]*)"""
    r"""(?:[\t\n\f\r ]*=[\t\n\f\r ]*(?:"([^"]*)"|'([^']*)'|([^\t\n\f\r >]*)))?)?"""
)
_RAWTEXT_END = {
    name: re.compile(r"</" + name + r"(?=[\t\n\f\r />])", re.I)
    for name in ("style", "textarea", "title", "xmp", "iframe", "noembed", "noframes")
}
# extruct's fallback pre-processing (jsonld.py): drop one leading HTML/JS comment line.
_HTML_OR_JS_COMMENTLINE = re.compile(r"^\s*(//.*|<!--.*-->)")


def _parse_attrs(s: str, pos: int) -> tuple[dict[str, str] | None, int, bool]:
    """Attributes of a start tag whose name ends at ``pos``.

    Returns (attrs, index after '>', self_closing); attrs is None at EOF inside the tag.
    ``self_closing`` is a ``/`` right before ``>`` that is not part of an unquoted value:
    libxml2 honours it for script and raw-text elements (an empty element).
    """
    attrs: dict[str, str] = {}
    n = len(s)
    while True:
        m = _ATTR.match(s, pos)
        pos = m.end()
        if pos >= n:
            return None, n, False
        name = m.group(1)
        if name is not None:
            name = name.lower()
            if name not in attrs:  # first occurrence wins (HTML5)
                v = m.group(2)
                if v is None:
                    v = m.group(3)
                if v is None:
                    v = m.group(4)
                attrs[name] = v if v is not None else ""
        if s[pos] == ">":
            return attrs, pos + 1, name is None and m.group(0).endswith("/")
        if name is None:
            pos += 1  # cannot happen with the pattern above, but guarantees progress


def _comment_end(s: str, pos: int) -> int:
    """``pos`` is just after ``<!--``; index after the comment."""
    if s.startswith(">", pos):
        return pos + 1
    if s.startswith("->", pos):
        return pos + 2
    a = s.find("-->", pos)
    b = s.find("--!>", pos, len(s) if a < 0 else a)
    if b >= 0:
        return b + 4
    return len(s) if a < 0 else a + 3


_END_DELIMS = "\t\n\f\r />"


def _script_end(s: str, pos: int) -> tuple[int, int]:
    """``pos`` is just after a script start tag; (end of content, index after the end tag).

    Fast path: the first ``</script`` (case-insensitive, followed by a delimiter) ends the
    script unless a ``<!--`` comes before it; then the HTML5 escape states are followed.
    """
    n = len(s)
    p = pos
    while True:
        j = s.find("</", p)
        if j < 0:
            end = n
            break
        if s[j + 2:j + 8].lower() == "script" and j + 8 < n and s[j + 8] in _END_DELIMS:
            end = j
            break
        p = j + 2
    if s.find("<!--", pos, end) < 0:
        if end == n:
            return n, n
        gt = s.find(">", end + 8)
        return end, (n if gt < 0 else gt + 1)
    return _script_end_escaped(s, pos)


def _script_end_escaped(s: str, pos: int) -> tuple[int, int]:
    """Script data with ``<!--``: the HTML5 script-data (double) escape states."""
    n = len(s)
    state = 0  # 0 script data, 1 escaped, 2 double escaped
    while True:
        m = _SCRIPT_TOK.search(s, pos)
        if m is None:
            return n, n
        tok = m.group(0)
        if tok == "<!--":
            if state == 0:
                j = m.end()
                while j < n and s[j] == "-":
                    j += 1
                if j < n and s[j] == ">":
                    pos = j + 1
                    continue
                state = 1
            # let a following "-->" that overlaps the dashes be seen
            pos = m.start() + 2
            continue
        if tok == "-->":
            if state:
                state = 0
            pos = m.end()
            continue
        if m.group(1):  # </script
            if state == 2:
                state = 1
                pos = m.end()
                continue
            gt = s.find(">", m.end())
            return m.start(), (n if gt < 0 else gt + 1)
        # <script
        if state == 1:
            state = 2
        pos = m.end()


def iter_script_blocks(html: str) -> Iterator[tuple[dict[str, str], str]]:
    """(attributes, raw content) of every ``<script>`` element, in document order."""
    pos = 0
    n = len(html)
    while pos < n:
        m = _SCAN.search(html, pos)
        if m is None:
            return
        if m.group(1) is None:  # comment
            pos = _comment_end(html, m.end())
            continue
        tag = m.group(1).lower()
        attrs, after, self_closing = _parse_attrs(html, m.end())
        if attrs is None:
            return  # EOF inside a tag: no element
        if self_closing:
            pos = after
            if tag == "script":
                yield attrs, ""
            continue
        if tag == "script":
            end, pos = _script_end(html, after)
            content = html[after:end]
            if "\r" in content:
                content = content.replace("\r\n", "\n").replace("\r", "\n")
            if "\x00" in content:
                content = content.replace("\x00", "\ufffd")
            yield attrs, content
        elif tag == "plaintext":
            return
        else:
            e = _RAWTEXT_END[tag].search(html, after)
            if e is None:
                return
            pos = e.end()


def is_jsonld_type(value: str | None) -> bool:
    if not value:
        return False
    if "&" in value:
        value = _html.unescape(value)
    return value.split(";", 1)[0].strip().lower() == "application/ld+json"


def iter_jsonld_blocks(html: str) -> Iterator[str]:
    """Raw text of every JSON-LD script block of a page, in document order."""
    for attrs, content in iter_script_blocks(html):
        if is_jsonld_type(attrs.get("type")):
            yield content


def _parse_int(literal: str) -> int | str:
    """A JSON integer; one longer than Python's int conversion allows (4,300 digits by default,
    ``sys.set_int_max_str_digits``) stays its literal text. Without this, ``json.loads`` raises
    ValueError for that one number and the whole block -- every QA pair in it -- is lost; the
    text is what ``str(int)`` would have given, so a literal used as a value reads the same."""
    try:
        return int(literal)
    except ValueError:
        return literal


def parse_block(text: str, counters: Any = None) -> Any:
    """Parse one block like extruct does (json, then the jstyleson fallback), then, where both
    fail, as written by templates (:func:`_repaired`, counted ``blocks_repaired.json-ld``).
    Raises on failure. Floats and the constants ``NaN``/``Infinity`` need no hook: Python parses
    them at any length."""
    try:
        return json.loads(text, strict=False, parse_int=_parse_int)
    except ValueError:
        if len(text) > MAX_FALLBACK_CHARS:
            raise
        import jstyleson  # extruct's own dependency; only needed for broken blocks

        try:
            return jstyleson.loads(_HTML_OR_JS_COMMENTLINE.sub("", text), strict=False, parse_int=_parse_int)
        except ValueError:
            data = _repaired(text)
            if counters is not None:
                counters.add(f"blocks_repaired.{SYNTAX}")
            return data


# What templates wrap a JSON-LD block in, and what strict JSON refuses in it: a byte order mark
# (an included file saved with one), XHTML-era CDATA sections written bare or inside // or /* */
# comments, an HTML comment, trailing semicolons, PHP addslashes' \' escape, and several objects
# one after the other. Browsers' and search engines' JSON-LD readers take them; so did the
# method's source (Web Data Commons reads JSON-LD leniently). No JSON value starts or ends with
# one of these wrappers, so peeling them off the ends never cuts into the value.
_WRAP_HEADS = ("\ufeff", "<!--", "<![CDATA[", "//", "/*", "*/")
_WRAP_TAILS = ("-->", "]]>", "//", "/*", "*/", ";")
_ESCAPE_PAIR = re.compile(r"(\\\\)|\\'")
_BETWEEN_OBJECTS = re.compile(r"[\s;,]*")


def _peel(t: str) -> str:
    """``t`` without the template wrappers at its ends (linear: indexes, not slices)."""
    start, end = 0, len(t)
    changed = True
    while changed:
        changed = False
        while start < end and t[start].isspace():
            start += 1
        while end > start and t[end - 1].isspace():
            end -= 1
        for head in _WRAP_HEADS:
            if t.startswith(head, start, end):
                start += len(head)
                changed = True
        for tail in _WRAP_TAILS:
            if t.endswith(tail, start, end):
                end -= len(tail)
                changed = True
    return t[start:end]


def _repaired(text: str) -> Any:
    """A block strict JSON and jstyleson refused, read past template wrappers (:func:`_peel`),
    with ``\\'`` read as ``'``; several values one after another are a list. Raises ValueError
    when that does not parse either."""
    t = _peel(text)
    t = _ESCAPE_PAIR.sub(lambda m: m.group(1) or "'", t)
    decoder = json.JSONDecoder(strict=False, parse_int=_parse_int)
    values, pos = [], 0
    while True:
        pos = _BETWEEN_OBJECTS.match(t, pos).end()
        if pos >= len(t):
            break
        value, pos = decoder.raw_decode(t, pos)
        values.append(value)
    if not values:
        raise ValueError("no JSON value in the block")
    return values[0] if len(values) == 1 else values


def parse_items(html: str, counters: Any = None) -> list:
    """Top-level JSON-LD items of a page, as extruct lists them (a list block contributes its
    elements), skipping (and counting) blocks that do not parse."""
    items: list = []
    for text in iter_jsonld_blocks(html):
        if len(text) > MAX_BLOCK_CHARS:
            _count(counters, "too_large")
            continue
        try:
            data = parse_block(text, counters)
        except RecursionError:
            _count(counters, "too_deep")
            continue
        except Exception:  # noqa: BLE001 - any parse failure of one block
            _count(counters, "invalid_json")
            continue
        if isinstance(data, list):
            items.extend(x for x in data if x)
        elif isinstance(data, dict):
            if data:
                items.append(data)
        else:
            _count(counters, "not_an_object")
    return items


def _count(counters: Any, reason: str) -> None:
    if counters is not None:
        counters.add(f"block_errors.{SYNTAX}.{reason}")


def extract(html: str, counters: Any = None) -> list[RawQA]:
    """FAQ pairs of a page's JSON-LD."""
    return faq_pairs(parse_items(html, counters), SYNTAX, counters)
