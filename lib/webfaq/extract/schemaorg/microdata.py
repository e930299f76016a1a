"""Microdata: the W3C microdata item algorithm as extruct implements it, run lazily.

Only items whose ``itemtype`` holds the wanted root type (``FAQPage``) are built, together with
the items nested in them; the costly text of a property (extruct cleans a copy of the element
and runs ``html_text`` on it) is only computed for the values the FAQ rule reads (the first
``name`` of a Question and the first ``text`` of its accepted Answer). Property values follow
extruct/the microdata spec: ``itemscope`` -> nested item; ``meta@content``;
``audio/embed/iframe/img/source/track/video@src``, ``a/area/link@href``, ``object@data``
(resolved against the page URL); ``data/meter@value``; ``time@datetime``; any element with a
non-empty ``content`` attribute -> that; otherwise the element's text as extruct's
``html_text.etree_to_text`` renders it (whitespace collapsed, line breaks around block
elements), which is also what our differential test compares against.

Multi-valued ``itemprop="suggestedAnswer acceptedAnswer"`` gives the value to both properties,
``itemref`` is followed, an item reached twice is only built once (extruct's ``items_seen``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin

import lxml.etree
from html_text import etree_to_text  # extruct's own dependency (its microdata text renderer)

from webfaq.extract.schemaorg.model import LazyText, RawQA, faq_pairs, local_name

SYNTAX = "microdata"

_XP_ITEM = lxml.etree.XPath("descendant-or-self::*[@itemscope]")
_XP_PROP = lxml.etree.XPath(
    """set:difference(
        .//*[@itemprop],
        .//*[@itemscope]//*[@itemprop])""",
    namespaces={"set": "http://exslt.org/sets"},
)
_HTML5_WS = " \t\n\r\x0c"
_SRC_TAGS = frozenset(("audio", "embed", "iframe", "img", "source", "track", "video"))
_HREF_TAGS = frozenset(("a", "area", "link"))
_KILLED = (lxml.etree.Comment, lxml.etree.ProcessingInstruction, "script", "style", "link", "meta")

_cleaner = None


def _get_cleaner():
    """extruct's microdata Cleaner (same settings), built on first use."""
    global _cleaner
    if _cleaner is None:
        try:
            from lxml_html_clean import Cleaner
        except ImportError:  # pragma: no cover - older lxml ships it
            from lxml.html.clean import Cleaner
        _cleaner = Cleaner(
            scripts=True,
            javascript=False,
            comments=True,
            style=True,
            links=True,
            meta=True,
            page_structure=False,
            processing_instructions=True,
            embedded=False,
            frames=False,
            forms=False,
            annoying_tags=False,
            remove_unknown_tags=False,
            safe_attrs_only=False,
        )
    return _cleaner


def text_content(node: Any) -> str:
    """extruct's ``_extract_textContent``: html_text of a cleaned copy of the element.

    Fast path: when the element holds nothing the cleaner would remove (comments, processing
    instructions, script/style/link/meta), cleaning is the identity and the copy is skipped.
    """
    if next(node.iter(*_KILLED), None) is None:
        try:
            return etree_to_text(node)
        except AssertionError:  # pragma: no cover - odd node kinds: use the exact path
            pass
    return etree_to_text(_get_cleaner().clean_html(node))


def _has_type(itemtype: str | None, wanted: frozenset[str]) -> bool:
    if not itemtype:
        return False
    for t in itemtype.split():
        if local_name(t) in wanted:
            return True
    return False


class _Reader:
    def __init__(self, base_url: str | None) -> None:
        self.base_url = base_url
        self.seen: set = set()

    def item(self, node: Any) -> dict | None:
        if node in self.seen:
            return None
        self.seen.add(node)
        out: dict = {}
        types = node.get("itemtype", "").split()
        if types:
            out["@type"] = types[0] if len(types) == 1 else types
            nodeid = node.get("itemid")
            if nodeid:
                out["@id"] = nodeid.strip()
        for prop in _XP_PROP(node):
            self._add_property(out, prop)
        refs = node.get("itemref", "").split()
        for refid in refs:
            for prop in self._ref_props(node, refid):
                self._add_property(out, prop)
        return out

    def _ref_props(self, node: Any, refid: str) -> list:
        ref_node = node.xpath("id($refid)[1]", refid=refid)
        if not ref_node:
            return []
        ref_node = ref_node[0]
        if "itemprop" in ref_node.keys() and "itemscope" in ref_node.keys():
            return [ref_node]
        base_parent_scope = ref_node.xpath("ancestor-or-self::*[@itemscope][1]")
        out = []
        for prop in ref_node.xpath("descendant-or-self::*[@itemprop]"):
            if prop.xpath("ancestor::*[@itemscope][1]") == base_parent_scope:
                out.append(prop)
        return out

    def _add_property(self, out: dict, prop: Any) -> None:
        names = prop.get("itemprop").split()
        if not names:
            return
        value = self.value(prop)
        for name in names:
            lst = out.get(name)
            if lst is None:
                out[name] = [value]
            else:
                lst.append(value)

    def value(self, node: Any) -> Any:
        if node.get("itemscope") is not None:
            return self.item(node)
        tag = node.tag
        if tag == "meta":
            return node.get("content", "")
        if tag in _SRC_TAGS:
            return urljoin(self.base_url, node.get("src", "").strip(_HTML5_WS))
        if tag in _HREF_TAGS:
            return urljoin(self.base_url, node.get("href", "").strip(_HTML5_WS))
        if tag == "object":
            return urljoin(self.base_url, node.get("data", "").strip(_HTML5_WS))
        if tag in ("data", "meter"):
            return node.get("value", "")
        if tag == "time":
            return node.get("datetime", "")
        c = node.get("content")
        if c:
            return c
        itemprop = node.get("itemprop")
        if itemprop and (itemprop.endswith("-input") or itemprop.endswith("-output")):
            return {}  # schema.org action annotations: not a literal
        return LazyText(text_content, node)


def items(root: Any, base_url: str | None, root_types: frozenset[str] | None = frozenset({"FAQPage"})) -> list[dict]:
    """The microdata items of a parsed page whose type is one of ``root_types`` (with all items
    nested in them), in document order. ``root_types=None``: every top-level item, as extruct
    lists them."""
    reader = _Reader(base_url)
    out = []
    for node in _XP_ITEM(root):
        if root_types is not None and not _has_type(node.get("itemtype"), root_types):
            continue
        it = reader.item(node)
        if it:
            out.append(it)
    return out


def extract(root: Any, base_url: str | None, counters: Any = None) -> list[RawQA]:
    """FAQ pairs of a parsed page's microdata."""
    return faq_pairs(items(root, base_url), SYNTAX, counters)
