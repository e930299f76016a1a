"""The FAQ rule, applied once to JSON-shaped schema.org data of any syntax.

Every syntax parser of this package turns a page into a list of *nodes*: plain dicts shaped like
(compact or expanded) JSON-LD, i.e. ``{"@type": ..., "@id": ..., <property>: value-or-list}``
where a value is a string/number, a value object ``{"@value": ...}``, another node, or a
reference ``{"@id": ...}``. The same rule then reads the FAQ pairs out of those nodes:

    FAQPage --mainEntity--> Question (FIRST ``name``)
                              --acceptedAnswer (FIRST)--> Answer (FIRST ``text``)

exactly as the WebFAQ v1 parser does on Web Data Commons quads (method §1.2 step 4): only
``acceptedAnswer`` counts (``suggestedAnswer`` and QAPage are ignored), a Question needs a name
and an accepted Answer with a text, types must be ``FAQPage``/``Question``/``Answer`` (compared
case-sensitively, as v1's ``KEEP_TYPES``), property names are compared case-insensitively (as
v1 does). Types and properties may be bare (``FAQPage``), prefixed (``schema:FAQPage``) or full
schema.org IRIs (http/https, with or without ``www.``).

Because the tests map extruct's output through these same functions, "our parser agrees with
extruct" means agreement on the extracted pairs, not on incidental output shape.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, NamedTuple

SYNTAXES = ("json-ld", "microdata", "rdfa")

#: Bound on how deep the walker descends into nested JSON (hostile input guard).
MAX_WALK_DEPTH = 512

_IRI_PREFIXES = (
    "http://schema.org/",
    "https://schema.org/",
    "http://www.schema.org/",
    "https://www.schema.org/",
)


class RawQA(NamedTuple):
    """One FAQ pair as found in the markup (uncleaned)."""

    question: str  # FIRST name of the Question, raw literal
    answer: str  # FIRST acceptedAnswer -> Answer -> FIRST text, raw literal
    syntax: str  # "json-ld" | "microdata" | "rdfa" | "nquads"


class LazyText:
    """A literal whose (costly) text is only computed when the FAQ rule asks for it."""

    __slots__ = ("_fn", "_arg", "_value")

    def __init__(self, fn: Callable[[Any], str], arg: Any) -> None:
        self._fn = fn
        self._arg = arg
        self._value: str | None = None

    def get(self) -> str:
        if self._value is None:
            self._value = self._fn(self._arg)
        return self._value

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"LazyText({self.get()!r})"


def local_name(term: Any) -> str | None:
    """``FAQPage`` for FAQPage / schema:FAQPage / http(s)://(www.)schema.org/FAQPage; None for
    terms of another vocabulary."""
    if not isinstance(term, str):
        return None
    if term.startswith("http"):
        for p in _IRI_PREFIXES:
            if term.startswith(p):
                return term[len(p):]
        return None
    if term.startswith("schema:"):
        return term[7:]
    if ":" in term or "/" in term:
        return None
    return term


def types_of(node: dict) -> list[str]:
    """Local schema.org type names of a node (``@type`` may be a string or a list)."""
    t = node.get("@type")
    if t is None:
        return []
    if not isinstance(t, list):
        t = [t]
    out = []
    for x in t:
        ln = local_name(x)
        if ln is not None:
            out.append(ln)
    return out


def has_type(node: Any, name: str) -> bool:
    return isinstance(node, dict) and name in types_of(node)


def _flatten(v: Any, out: list, depth: int = 0) -> None:
    if isinstance(v, list):
        if depth < 8:
            for x in v:
                _flatten(x, out, depth + 1)
    elif isinstance(v, dict) and ("@list" in v or "@set" in v) and "@value" not in v:
        _flatten(v.get("@list", v.get("@set")), out, depth + 1)
    elif v is not None:
        out.append(v)


def values(node: dict, prop_lower: str) -> list:
    """All values of a property (``prop_lower`` is the lower-cased local name), in key order."""
    out: list = []
    for k, v in node.items():
        if not isinstance(k, str) or k.startswith("@"):
            continue
        ln = local_name(k)
        if ln is not None and ln.lower() == prop_lower:
            _flatten(v, out)
    return out


def literal(v: Any) -> str | None:
    """The string of a literal value, None when the value is a node / reference / unusable."""
    if isinstance(v, str):
        return v
    if isinstance(v, LazyText):
        return v.get()
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, dict) and "@value" in v:
        x = v["@value"]
        if isinstance(x, (dict, list)):
            return None
        return literal(x)
    return None


class _Index:
    """``@id`` -> first full node with that id (references ``{"@id": x}`` resolve through it)."""

    __slots__ = ("by_id",)

    def __init__(self) -> None:
        self.by_id: dict[str, dict] = {}

    def add(self, node: dict) -> None:
        i = node.get("@id")
        if isinstance(i, str) and i not in self.by_id and _is_full(node):
            self.by_id[i] = node

    def resolve(self, v: Any) -> Any:
        if isinstance(v, dict) and not _is_full(v):
            i = v.get("@id")
            if isinstance(i, str):
                full = self.by_id.get(i)
                if full is not None:
                    return full
        return v


def _is_full(node: dict) -> bool:
    """A node that says something beyond its id/type (a pure reference is not full)."""
    for k in node:
        if not (isinstance(k, str) and k.startswith("@")):
            return True
    return False


def _walk_nodes(items: Iterable[Any]) -> Iterator[dict]:
    """Every dict node in pre-order (document order), bounded depth, no recursion."""
    stack: list[tuple[Any, int]] = [(x, 0) for x in reversed(list(items))]
    while stack:
        obj, depth = stack.pop()
        if depth > MAX_WALK_DEPTH:
            continue
        if isinstance(obj, dict):
            if "@value" in obj:
                continue
            yield obj
            children = [v for k, v in obj.items() if k != "@context" and isinstance(v, (dict, list))]
            for v in reversed(children):
                stack.append((v, depth + 1))
        elif isinstance(obj, list):
            for v in reversed(obj):
                if isinstance(v, (dict, list)):
                    stack.append((v, depth + 1))


def _index_and_find(items: list, root_type: str) -> tuple[_Index, list[dict]]:
    """Index every node by @id and collect the nodes typed ``root_type`` in document order.

    A typed pure reference (``{"@id": x, "@type": "FAQPage"}``) stands for the full node with
    that id; each full node is returned once.
    """
    index = _Index()
    typed = []
    for node in _walk_nodes(items):
        index.add(node)
        if root_type in types_of(node):
            typed.append(node)
    roots = []
    seen: set[int] = set()
    for node in typed:
        node = index.resolve(node)
        if id(node) not in seen:
            seen.add(id(node))
            roots.append(node)
    return index, roots


def _question_pair(q: dict, index: _Index) -> tuple[str, str] | None:
    names = values(q, "name")
    name = literal(names[0]) if names else None
    if name is None:
        return None
    accepted = values(q, "acceptedanswer")
    if not accepted:
        return None
    ans = index.resolve(accepted[0])
    if not has_type(ans, "Answer"):
        return None
    texts = values(ans, "text")
    text = literal(texts[0]) if texts else None
    if text is None:
        return None
    return name, text


def faq_pairs(items: list, syntax: str, counters: Any = None) -> list[RawQA]:
    """The FAQ pairs of one page's nodes (one syntax), in document order.

    ``counters`` (a :class:`webfaq.counters.Counters`, optional) gets
    ``questions_incomplete.<syntax>`` for every Question of a FAQPage that lacks a name, an
    accepted Answer or its text.
    """
    index, pages = _index_and_find(items, "FAQPage")
    out: list[RawQA] = []
    for page in pages:
        for q in values(page, "mainentity"):
            q = index.resolve(q)
            if not has_type(q, "Question"):
                continue
            pair = _question_pair(q, index)
            if pair is None:
                if counters is not None:
                    counters.add(f"questions_incomplete.{syntax}")
                continue
            out.append(RawQA(pair[0], pair[1], syntax))
    return out


def question_pairs(items: list, syntax: str) -> list[RawQA]:
    """(name, accepted answer text) of EVERY Question node, FAQPage or not.

    Not the FAQ rule: used to compare syntaxes on pages such as schema.org's QAPage example
    (eg-0186), whose Question is not the mainEntity of a FAQPage.
    """
    index, qs = _index_and_find(items, "Question")
    out = []
    for q in qs:
        pair = _question_pair(q, index)
        if pair is not None:
            out.append(RawQA(pair[0], pair[1], syntax))
    return out


def from_extruct_microdata(items: list) -> list:
    """extruct's microdata output (``{"type", "id", "properties"}``) -> this module's node shape."""

    def conv(v: Any) -> Any:
        if isinstance(v, list):
            return [conv(x) for x in v]
        if isinstance(v, dict) and ("type" in v or "properties" in v or "value" in v):
            node: dict = {}
            if "type" in v:
                node["@type"] = v["type"]
            if "id" in v:
                node["@id"] = v["id"]
            for k, x in (v.get("properties") or {}).items():
                node[k] = conv(x)
            return node
        return v

    return [conv(x) for x in items]
