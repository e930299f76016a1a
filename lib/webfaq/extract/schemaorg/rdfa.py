"""RDFa 1.1: a small direct processor over the lxml tree, following pyRdfa as extruct runs it.

extruct's RDFa path (pyRdfa + rdflib + a JSON-LD serialisation) costs well over 100 ms on a
large page. This module re-implements the part of RDFa 1.1 Core processing that decides which
triples exist -- the ``_parse_1_1`` step of pyRdfa with extruct's options (host language
"RDFa core", no vocabulary expansion, whitespace preserved) -- and emits them as flat expanded
JSON-LD nodes, the same shape extruct returns, for :func:`webfaq.extract.schemaorg.model.faq_pairs`:

* ``vocab`` / ``prefix`` / ``xmlns:*`` / the RDFa initial context (``schema:`` is
  ``http://schema.org/``), terms, CURIEs, safe CURIEs, absolute IRIs, ``_:`` blank nodes;
* ``about`` / ``resource`` / ``href`` / ``src`` / ``typeof`` / ``property`` / ``rel`` / ``rev``
  with chaining, typed resources (``property`` + ``typeof`` -> a new blank node that is the
  property's object: the usual Question -> acceptedAnswer -> Answer link) and hanging
  ``rel``/``rev`` completed by descendants;
* literals: ``content``, else (``datatype`` aside) the element's full text exactly as pyRdfa
  builds it over extruct's DOM adapter (all descendant text, comment text included,
  whitespace preserved).

Simplifications (documented differences, none of which matter for FAQ pairs in practice):
``inlist`` values become ordinary values (pyRdfa builds ``rdf:List`` structures);
``rdf:XMLLiteral``/``rdf:HTML`` literals are serialised by lxml rather than pyRdfa's own
serialiser; RDFa 1.0 documents (``version="... RDFa 1.0"``) are processed with the 1.1 rules;
``@role`` triples and the processor graph are not produced. Triples are de-duplicated like an
RDF graph (extruct's graph is a set), and values are kept in document order (extruct's order is
the arbitrary order of rdflib's serialiser).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

from webfaq.extract.schemaorg.model import RawQA, faq_pairs

SYNTAX = "rdfa"

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
_XMLLITERAL = "http://www.w3.org/1999/02/22-rdf-syntax-ns#XMLLiteral"
_HTMLLITERAL = "http://www.w3.org/1999/02/22-rdf-syntax-ns#HTML"
_XHTML_URI = "http://www.w3.org/1999/xhtml/vocab#"

_TERMNAME = re.compile(r"^[A-Za-z]([A-Za-z0-9._-]|/)*$")
_NCNAME = re.compile(r"^[A-Za-z][A-Za-z0-9._-]*$")
_UNQUOTED = r":/\?=#~"

# pyRdfa's RDFa 1.1 initial context, with the prefixes extruct adds to it.
_INITIAL_PREFIXES = {
    "as": "https://www.w3.org/ns/activitystreams#", "csvw": "http://www.w3.org/ns/csvw#",
    "dcat": "http://www.w3.org/ns/dcat#", "dqv": "http://www.w3.org/ns/dqv#",
    "duv": "https://www.w3.org/ns/duv#", "qb": "http://purl.org/linked-data/cube#",
    "org": "http://www.w3.org/ns/org#", "owl": "http://www.w3.org/2002/07/owl#",
    "gr": "http://purl.org/goodrelations/v1#", "ctag": "http://commontag.org/ns#",
    "cc": "http://creativecommons.org/ns#", "grddl": "http://www.w3.org/2003/g/data-view#",
    "jsonld": "http://www.w3.org/ns/json-ld#", "ldp": "http://www.w3.org/ns/ldp#",
    "oa": "http://www.w3.org/ns/oa#", "rif": "http://www.w3.org/2007/rif#",
    "sioc": "http://rdfs.org/sioc/ns#", "skos": "http://www.w3.org/2004/02/skos/core#",
    "xml": "http://www.w3.org/XML/1998/namespace", "rr": "http://www.w3.org/ns/r2rml#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#", "rev": "http://purl.org/stuff/rev#",
    "rdfa": "http://www.w3.org/ns/rdfa#", "dc": "http://purl.org/dc/terms/",
    "dcterms": "http://purl.org/dc/terms/", "dc11": "http://purl.org/dc/elements/1.1/",
    "foaf": "http://xmlns.com/foaf/0.1/", "void": "http://rdfs.org/ns/void#",
    "ical": "http://www.w3.org/2002/12/cal/icaltzd#", "vcard": "http://www.w3.org/2006/vcard/ns#",
    "wdrs": "http://www.w3.org/2007/05/powder-s#", "og": "http://ogp.me/ns#",
    "wdr": "http://www.w3.org/2007/05/powder#", "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "xhv": "http://www.w3.org/1999/xhtml/vocab#", "xsd": "http://www.w3.org/2001/XMLSchema#",
    "v": "http://rdf.data-vocabulary.org/#", "skosxl": "http://www.w3.org/2008/05/skos-xl#",
    "schema": "http://schema.org/", "ssn": "http://www.w3.org/ns/ssn/",
    "sosa": "http://www.w3.org/ns/sosa/", "time": "http://www.w3.org/2006/time#",
    "ma": "http://www.w3.org/ns/ma-ont#", "sd": "http://www.w3.org/ns/sparql-service-description#",
    "prov": "http://www.w3.org/ns/prov#", "odrl": "http://www.w3.org/ns/odrl/2/",
    "twitter": "https://dev.twitter.com/cards#", "fb": "http://ogp.me/ns/fb#",
    "music": "http://ogp.me/ns/music#", "video": "http://ogp.me/ns/video#",
    "article": "http://ogp.me/ns/article#", "book": "http://ogp.me/ns/book#",
    "profile": "http://ogp.me/ns/profile#",
}
_INITIAL_TERMS = {
    "describedby": "http://www.w3.org/2007/05/powder-s#describedby",
    "role": "http://www.w3.org/1999/xhtml/vocab#role",
    "license": "http://www.w3.org/1999/xhtml/vocab#license",
}
_INITIAL_TERMS_LOWER = {k.lower(): v for k, v in _INITIAL_TERMS.items()}

# Attributes that make an element take part in RDFa processing (pyRdfa's skip test).
_RDFA_ATTRS = frozenset(("href", "resource", "about", "property", "rel", "rev", "typeof", "src", "vocab", "prefix"))
# Attributes that can create triples or change the state of descendants.
_ACTIVE_XPATH = "//*[@property or @rel or @rev or @typeof or @about or @resource or @vocab or @prefix]"


def _is_bnode(x: str) -> bool:
    return x.startswith("_:")


def _split(url: str):
    try:
        return urlsplit(url)
    except ValueError:
        return None


class _State:
    """Inherited evaluation context (base, vocabulary, prefix mappings)."""

    __slots__ = ("base", "scheme", "vocab", "ns", "default_curie")

    def __init__(self, base: str, vocab: str | None, ns: dict, default_curie: str) -> None:
        self.base = base
        sp = _split(base)
        self.scheme = sp.scheme if sp is not None else ""
        self.vocab = vocab
        self.ns = ns
        self.default_curie = default_curie

    # -- IRI / CURIE resolution (pyRdfa state.py / termorcurie.py) --------------------------
    def join(self, v: str) -> str:
        try:
            joined = urljoin(self.base, v)
        except ValueError:
            return v.strip()
        if v and v[-1] != joined[-1:] and v[-1] in "#?":
            joined = joined + v[-1]
        return joined.strip()

    def uri(self, val: str) -> str:
        if val == "":
            return self.base
        if self.scheme == "":
            sp = _split(val)
            if sp is not None and sp.scheme == "":
                return self.join(val)
            return val.strip()
        return self.join(val)

    def _check_reference(self, ref: str) -> bool:
        sp = _split("http:" + ref)
        if sp is None:
            return False
        if sp.netloc != "":
            return False
        for c in "#[]":
            if c in sp.query or c in sp.fragment:
                return False
        return True

    def curie(self, val: str) -> str | None:
        if val == "":
            return None
        if val == ":":
            return self.default_curie or None
        parts = val.split(":", 1)
        if len(parts) == 1:
            return None
        prefix = parts[0].lower()
        ref = parts[1]
        if prefix == "":
            if self.default_curie and self._check_reference(ref):
                return self.default_curie + ref
            return None
        if prefix == "_":
            return "_:u" + ref
        if not _NCNAME.match(prefix):
            return None
        ns = self.ns.get(prefix)
        if ns is None:
            ns = _INITIAL_PREFIXES.get(prefix)
        if ns is not None and self._check_reference(ref):
            return ns + ref
        return None

    def curie_or_uri(self, val: str) -> str | None:
        if val == "":
            return self.base
        safe = False
        if val[0] == "[":
            if val[-1] != "]":
                return None
            val = val[1:-1]
            safe = True
        r = self.curie(val)
        if r is None:
            return None if safe else self.uri(val)
        if not _is_bnode(r):
            sp = _split(r)
            if sp is not None and sp.scheme == "":
                return self.base + r
        return r

    def term_curie_abs(self, val: str) -> str | None:
        if val == "":
            return None
        if _TERMNAME.match(val):
            if self.vocab is not None:
                return self.vocab + val
            t = _INITIAL_TERMS.get(val) or _INITIAL_TERMS_LOWER.get(val.lower())
            return t
        r = self.curie(val)
        if r:
            return r
        sp = _split(val)
        if sp is None or sp.scheme == "":
            return None
        return val


def _quote_uri(uri: str) -> str:
    return quote(uri.strip(), _UNQUOTED)


def _remove_frag(uri: str) -> str:
    sp = _split(uri)
    if sp is None:
        return uri
    return urlunsplit((sp.scheme, sp.netloc, sp.path, sp.query, ""))


def _child_state(attrib: Any, keys: list, st: _State) -> _State:
    """pyRdfa's ExecutionContext/TermOrCurie for one element (only rebuilt when it changes)."""
    base = st.base
    vocab = st.vocab
    ns = st.ns
    default_curie = st.default_curie
    changed = False
    if "xml:base" in attrib:
        base = _remove_frag(attrib["xml:base"])
        changed = True
    ns_new: dict = {}
    for k in keys:
        if k.startswith("xmlns:"):
            prefix = k.split(":", 1)[-1]
            if prefix != "" and prefix != "_" and ":" not in prefix:
                ns_new[prefix.lower()] = _quote_uri(attrib[k])
    if "prefix" in attrib:
        pr_list = attrib["prefix"].strip().split()
        for i in range(len(pr_list) - 2, -1, -2):
            prefix = pr_list[i]
            value = pr_list[i + 1]
            if prefix[-1] != ":" or prefix == ":":
                continue
            prefix = prefix[:-1]
            if prefix == "":
                default_curie = _quote_uri(value)
                changed = True
            elif prefix != "_" and _NCNAME.match(prefix):
                ns_new[prefix.lower()] = _quote_uri(value)
    if ns_new:
        ns = dict(ns)
        ns.update(ns_new)
        changed = True
    if changed:
        st = _State(base, vocab, ns, default_curie)
    if "vocab" in attrib:
        v = attrib["vocab"]
        if v == "":
            vocab = None  # reset to the (empty) default vocabulary
        else:
            resolved = st.uri(v.strip())
            if resolved:  # an unusable value leaves the inherited vocabulary in place
                vocab = resolved
        if vocab != st.vocab:
            st = _State(st.base, vocab, st.ns, st.default_curie)
    return st


def _text(node: Any) -> str:
    """pyRdfa ``_get_literal`` over extruct's DOM adapter: every text, tail and comment text."""
    parts: list[str] = []
    stack = [(node, False)]
    while stack:
        n, after = stack.pop()
        if after:
            if n.tail:
                parts.append(n.tail)
            continue
        if n.text:
            parts.append(n.text)
        children = list(n)
        for c in reversed(children):
            stack.append((c, True))
            stack.append((c, False))
    return "".join(parts)


def _xml_literal(node: Any) -> str:
    import lxml.etree

    out = []
    if node.text:
        out.append(node.text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))
    for c in node:
        out.append(lxml.etree.tostring(c, encoding="unicode", with_tail=False))
        if c.tail:
            out.append(c.tail.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))
    return "".join(out)


class _Graph:
    def __init__(self) -> None:
        self.nodes: dict[str, dict] = {}
        self.seen: set = set()
        self.n_bnodes = 0

    def bnode(self) -> str:
        self.n_bnodes += 1
        return f"_:g{self.n_bnodes}"

    def add(self, s: str, p: str, o: Any) -> None:
        """``o`` is an IRI/bnode string or a dict value object (``{"@value": ...}``)."""
        key = (s, p, o if isinstance(o, str) else ("@value", o["@value"], o.get("@type")))
        if key in self.seen:
            return
        self.seen.add(key)
        node = self.nodes.get(s)
        if node is None:
            node = self.nodes[s] = {"@id": s}
        if p == RDF_TYPE and isinstance(o, str):
            node.setdefault("@type", []).append(o)
        else:
            node.setdefault(p, []).append({"@id": o} if isinstance(o, str) else o)


class _Processor:
    def __init__(self, root: Any, base: str) -> None:
        self.g = _Graph()
        self.root = root
        self.base = base
        # Elements that can produce triples, and their ancestors: other subtrees are skipped
        # unless a hanging rel/rev waits for a subject.
        active = set()
        for el in root.xpath(_ACTIVE_XPATH):
            while el is not None and el not in active:
                active.add(el)
                el = el.getparent()
        self.active = active

    def run(self) -> list[dict]:
        st = _State(self.base, None, {}, _XHTML_URI)
        self.parse(self.root, None, st, [], top=True)
        return list(self.g.nodes.values())

    def parse(self, node: Any, parent_object: str | None, st: _State, parent_incomplete: list, top: bool = False) -> None:
        if not isinstance(node.tag, str):
            return
        if not parent_incomplete and node not in self.active and not top:
            return
        attrib = dict(node.attrib)
        keys = list(attrib)
        # empty safe CURIEs are removed (pyRdfa's empty_safe_curie transformer)
        about_pruned = False
        if attrib.get("about") == "[]":
            del attrib["about"]
            about_pruned = True
        if attrib.get("resource") == "[]":
            del attrib["resource"]
        if top and "about" not in attrib:  # pyRdfa's top_about transformer
            if any(a in attrib for a in ("resource", "href", "src")):
                if any(a in attrib for a in ("rel", "rev", "property")):
                    attrib["about"] = ""
            else:
                attrib["about"] = ""
        if keys or top:
            st = _child_state(attrib, keys, st)

        if not any(a in attrib for a in _RDFA_ATTRS):
            for child in node:
                self.parse(child, parent_object, st, parent_incomplete)
            return

        g = self.g
        has = attrib.__contains__
        current_subject = None
        current_object = None
        typed_resource = None
        has_typeof = has("typeof")
        if has("rel") or has("rev"):
            if has("about"):
                current_subject = st.curie_or_uri(attrib["about"].strip())
                if has_typeof:
                    typed_resource = current_subject
            if current_subject is None:
                current_subject = parent_object
            current_object = self._resource(attrib, st, ("resource", "href", "src"))
            if has_typeof and not has("about"):
                if current_object is None:
                    current_object = g.bnode()
                typed_resource = current_object
        elif has("property") and not (has("content") or has("datatype")):
            if has("about"):
                current_subject = st.curie_or_uri(attrib["about"].strip())
                if has_typeof:
                    typed_resource = current_subject
            if current_subject is None:
                current_subject = parent_object
            if typed_resource is None and has_typeof:
                typed_resource = self._resource(attrib, st, ("resource", "href", "src"))
                if typed_resource is None:
                    typed_resource = g.bnode()
                current_object = typed_resource
            else:
                current_object = current_subject
        else:
            current_subject = self._resource(attrib, st, ("about", "resource", "href", "src"))
            if current_subject is None:
                current_subject = g.bnode() if has_typeof else parent_object
            current_object = current_subject
            if has_typeof:
                typed_resource = current_subject

        if has_typeof and typed_resource:
            for t in self._list(attrib["typeof"], st):
                g.add(typed_resource, RDF_TYPE, t)

        incomplete: list = []
        if has("rel"):
            for p in self._list(attrib["rel"], st):
                if _is_bnode(p):
                    continue
                if current_object is not None:
                    if current_subject is not None:
                        g.add(current_subject, p, current_object)
                else:
                    incomplete.append((current_subject, p, None))
        if has("rev"):
            for p in self._list(attrib["rev"], st):
                if _is_bnode(p):
                    continue
                if current_object is not None:
                    if current_subject is not None:
                        g.add(current_object, p, current_subject)
                else:
                    incomplete.append((None, p, current_subject))

        if has("property") and current_subject is not None:
            self._property(node, attrib, st, current_subject, typed_resource, about_pruned)

        object_to_children = current_object if current_object is not None else g.bnode()
        for child in node:
            self.parse(child, object_to_children, st, incomplete)

        for s, p, o in parent_incomplete:
            if s is None:
                s = current_subject
            if o is None:
                o = current_subject
            if s is not None and o is not None:
                g.add(s, p, o)

    def _resource(self, attrib: dict, st: _State, names: tuple) -> str | None:
        for a in names:
            if a in attrib:
                v = attrib[a].strip()
                r = st.curie_or_uri(v) if a in ("about", "resource") else st.uri(v)
                if r is not None:
                    return r
        return None

    def _list(self, val: str, st: _State) -> list[str]:
        out = []
        for v in val.strip().split():
            r = st.term_curie_abs(v.strip())
            if r is not None:
                out.append(r)
        return out

    def _property(self, node: Any, attrib: dict, st: _State, subject: str, typed_resource: str | None, about_pruned: bool) -> None:
        has = attrib.__contains__
        obj: Any = None
        if any(has(a) for a in ("resource", "href", "src")) and not any(
            has(a) for a in ("content", "datatype", "rel", "rev")
        ):
            obj = self._resource(attrib, st, ("resource", "href", "src"))
        elif (
            has("typeof")
            and not any(has(a) for a in ("content", "datatype", "rel", "rev", "about"))
            and not about_pruned
            and typed_resource is not None
        ):
            obj = typed_resource
        else:
            datatype = None
            if has("datatype") and attrib["datatype"] != "":
                datatype = st.term_curie_abs(attrib["datatype"].strip())
            if has("content"):
                val = attrib["content"]
            elif datatype == _XMLLITERAL or datatype == _HTMLLITERAL:
                val = _xml_literal(node)
            else:
                val = _text(node)
            obj = {"@value": val}
            if datatype:
                obj["@type"] = datatype
        if obj is None:
            return
        for p in self._list(attrib["property"], st):
            if not _is_bnode(p):
                self.g.add(subject, p, obj)


def graph(root: Any, base_url: str | None) -> list[dict]:
    """All RDFa triples of a parsed page as flat expanded JSON-LD nodes (extruct's shape)."""
    top = root.getroottree().getroot()
    return _Processor(top, base_url or "").run()


def extract(root: Any, base_url: str | None, counters: Any = None) -> list[RawQA]:
    """FAQ pairs of a parsed page's RDFa."""
    return faq_pairs(graph(root, base_url), SYNTAX, counters)
