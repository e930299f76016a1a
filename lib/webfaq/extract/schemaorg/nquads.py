"""Web Data Commons FAQPage N-Quads -> FAQ pairs, as the WebFAQ v1 parser reads them.

Re-implements ``_parse_quad_line``, ``_create_entity`` and the per-page loop of
``parse_entities_file`` from padas-lab-de/webfaq ``src/webfaq/cli/extract.py`` (method §1.2
steps 1, 3, 4), streaming one page (graph) at a time:

1. A line containing ``schema.org/url``, ``embedUrl`` or ``contentUrl`` (http/https) anywhere
   is dropped (``nquads.dropped_url_lines``); then v1's regex splits subject / predicate /
   object / graph (graph followed by exactly three spaces and a dot); lines it does not match
   are skipped (``nquads.unparseable_lines``).
2. A literal object is returned as v1's regex leaves it *before* its cleaning step:
   ``match.group(1).strip()`` of ``^"(.*)"(?:\\^\\^<...>)?(?:@lang)?$`` -- no N-Triples
   unescaping. v1's cleaning (method §1.3, applied by the caller) is what turns ``\\"`` and
   literal ``\\n`` / ``\\r\\n`` / ``\\t`` escapes into characters, so they must reach it
   untouched. (v1 then also applies ``.strip("<>")`` to the *cleaned* literal; that last step
   belongs to the caller as well.) IRIs lose their angle brackets.
3. Quads are grouped by graph (the file is assumed grouped, as v1 assumes), then by subject
   -> one entity per subject; its type is the LAST ``rdf:type`` / ``schema.org/type`` object
   and only ``FAQPage``/``Question``/``Answer`` (http or https schema.org, exact case) are
   kept.
4. Per page: the ``mainEntity`` values of every FAQPage; a Question needs ``name`` and
   ``acceptedAnswer`` (first value of each; properties compared case-insensitively, the last
   matching property key wins, as in v1's loop); an Answer needs ``text`` (first value). A
   Question is emitted when it is in a mainEntity list and its accepted answer is an Answer
   with text (``questions_incomplete.nquads`` otherwise).

One deliberate difference: v1 keys questions by their cleaned text, so a page's duplicate
question strings collapse (last one wins); here every Question is emitted, in subject order,
and duplicates are left to the pipeline's deduplication. A graph URL that reappears later in
the file (v1 merges it into the earlier page) is yielded again as a separate page.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Iterator

from webfaq.extract.schemaorg.model import RawQA

SYNTAX = "nquads"

TYPE_PREDICATES = (
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#type",
    "http://schema.org/type",
)
KEEP_TYPES = (
    "http://schema.org/FAQPage",
    "https://schema.org/FAQPage",
    "http://schema.org/Question",
    "https://schema.org/Question",
    "http://schema.org/Answer",
    "https://schema.org/Answer",
)
URL_TYPES = (
    "http://schema.org/url",
    "https://schema.org/url",
    "http://schema.org/embedUrl",
    "https://schema.org/embedUrl",
    "http://schema.org/contentUrl",
    "https://schema.org/contentUrl",
)

# v1's regexes, verbatim.
_NQUAD = re.compile(
    r'^(<[^>]+>|_:[a-zA-Z0-9]+)\s'
    r'(<[^>]+>)\s'
    r'(<[^>]+>|".*"(?:\^\^<[^>]+>)?(?:\@[^\s]+(?:\sclass=)?)?|_:[a-zA-Z0-9]+)\s'
    r'(<[^>]+>)\s\s\s\.$'
)
_LITERAL = re.compile(r'^"(.*)"(?:\^\^<[^>]+>)?(?:\@[^\s]+(?:\sclass=)?)?$')

_FAQPAGE = ("http://schema.org/faqpage", "https://schema.org/faqpage")
_QUESTION = ("http://schema.org/question", "https://schema.org/question")
_ANSWER = ("http://schema.org/answer", "https://schema.org/answer")
_MAIN_ENTITY = ("http://schema.org/mainentity", "https://schema.org/mainentity")
_NAME = ("http://schema.org/name", "https://schema.org/name")
_ACCEPTED = ("http://schema.org/acceptedanswer", "https://schema.org/acceptedanswer")
_TEXT = ("http://schema.org/text", "https://schema.org/text")


def parse_quad_line(line: str, counters: Any = None) -> tuple[str, str, str, str] | None:
    """(graph, subject, predicate, object) of one line, or None when v1 skips it."""
    line = line.strip()
    if not line:
        return None
    for url_type in URL_TYPES:
        if url_type in line:
            if counters is not None:
                counters.add("nquads.dropped_url_lines")
            return None
    m = _NQUAD.match(line)
    if m is None:
        if counters is not None:
            counters.add("nquads.unparseable_lines")
        return None
    subject, predicate, obj, graph = m.groups()
    if obj.startswith('"'):
        lm = _LITERAL.match(obj)
        if lm is None:  # v1 raises here; cannot happen after the line regex matched
            if counters is not None:
                counters.add("nquads.unparseable_lines")
            return None
        obj = lm.group(1).strip()
        # v1 cleans the literal here, then applies .strip("<>") to the cleaned text.
    else:
        obj = obj.strip("<>")
    return graph.strip("<>"), subject.strip("<>"), predicate.strip("<>"), obj


def _create_entity(quads: list[tuple[str, str]]) -> tuple[str, dict[str, list[str]]] | None:
    predicate_type = None
    properties: dict[str, list[str]] = {}
    for predicate, obj in quads:
        if predicate in TYPE_PREDICATES:
            predicate_type = obj
        else:
            properties.setdefault(predicate, []).append(obj)
    if not predicate_type or predicate_type not in KEEP_TYPES:
        return None
    return predicate_type, properties


def _last_match(properties: dict[str, list[str]], keys: tuple[str, str]) -> list[str] | None:
    found = None
    for prop, vals in properties.items():
        if prop.lower() in keys:
            found = vals
    return found


def page_pairs(subjects: dict[str, list[tuple[str, str]]], counters: Any = None) -> list[RawQA]:
    """FAQ pairs of one page given its quads grouped by subject (insertion order kept)."""
    main_entities: set[str] = set()
    questions: list[tuple[str | None, str, str | None]] = []
    answers: dict[str, str] = {}
    for subject, quads in subjects.items():
        entity = _create_entity(quads)
        if entity is None:
            continue
        etype, props = entity
        t = etype.lower()
        if t in _FAQPAGE:
            for prop, vals in props.items():
                if prop.lower() in _MAIN_ENTITY:
                    main_entities.update(vals)
        elif t in _QUESTION:
            name = _last_match(props, _NAME)
            accepted = _last_match(props, _ACCEPTED)
            questions.append((name[0] if name else None, subject, accepted[0] if accepted else None))
        elif t in _ANSWER:
            text = _last_match(props, _TEXT)
            if text:
                answers[subject] = text[0]
    out = []
    for name, q_subject, a_subject in questions:
        if q_subject not in main_entities:
            continue
        answer = answers.get(a_subject) if a_subject is not None else None
        if name is None or answer is None:
            if counters is not None:
                counters.add(f"questions_incomplete.{SYNTAX}")
            continue
        out.append(RawQA(name, answer, SYNTAX))
    return out


def iter_nquads_pages(lines: Iterable[str], counters: Any) -> Iterator[tuple[str, list[RawQA]]]:
    """WDC FAQPage N-Quads (one quad per line, graph = page URL, file grouped by graph) ->
    (page_url, pairs) for every page (graph) in file order; pages without pairs are yielded
    with an empty list."""
    current: str | None = None
    subjects: dict[str, list[tuple[str, str]]] = {}
    for line in lines:
        quad = parse_quad_line(line, counters)
        if quad is None:
            continue
        graph, subject, predicate, obj = quad
        if graph != current:
            if current is not None:
                yield current, page_pairs(subjects, counters)
            current = graph
            subjects = {}
        lst = subjects.get(subject)
        if lst is None:
            subjects[subject] = [(predicate, obj)]
        else:
            lst.append((predicate, obj))
    if current is not None:
        yield current, page_pairs(subjects, counters)
