"""Hand-written expectations for the synthetic schema.org pages in tests/fixtures/schemaorg/.

Each expectation was written from reading the fixture, applying the FAQ rule (FAQPage ->
mainEntity -> Question FIRST name -> FIRST acceptedAnswer -> Answer FIRST text) and the value
rules of each syntax: JSON-LD strings are JSON-decoded only; microdata text is rendered like
extruct's html_text (whitespace collapsed, blank line around <p>/<ul>, line break around
<li>/<br>/<div>; entities decoded; comments/scripts/styles removed); RDFa text is the raw text
content (whitespace kept, comment text included, as pyRdfa does over extruct's DOM).
Agreement with extruct itself is tested in test_schemaorg_differential.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from webfaq.counters import Counters
from webfaq.extract.prefilter import detect_syntaxes
from webfaq.extract.schemaorg import RawQA, extract_faq_pairs

FIXTURES = Path(__file__).parent / "fixtures" / "schemaorg"
URL = "https://example.org/faq/page.html"
ALL = ("json-ld", "microdata", "rdfa")

J, M, R = "json-ld", "microdata", "rdfa"

EXPECTED: dict[str, list[tuple[str, str, str]]] = {
    "jsonld_graph.html": [
        ("How do graphs work?", "Nodes sit side by side in @graph.", J),
        ("Is the order kept?", "Yes, document order is kept.", J),
    ],
    "jsonld_type_list.html": [("Can @type be a list?", "Yes, any listed type counts.", J)],
    "jsonld_mainentity_object.html": [("Only one question?", "mainEntity may be a single object.", J)],
    "jsonld_contexts.html": [
        ("Does an http context work?", "Yes, and full or prefixed type IRIs too.", J),
        ("Is expanded JSON-LD read?", "Yes, value objects included.", J),
    ],
    "jsonld_multiple_blocks.html": [
        ("First block, first question?", "Answer one.", J),
        ("First block, second question?", "Answer two.", J),
        ("Second block question?", "Answer three.", J),
    ],
    # the broken middle block and the empty self-closed block are skipped, the others kept
    "jsonld_malformed_block.html": [
        ("Is the good block before kept?", "Yes, it is kept.", J),
        ("Is the good block after kept?", "Yes, that one too.", J),
    ],
    "jsonld_idref.html": [
        ("Are @id references followed?", "Yes, inside the page.", J),
        ("Also for inline answers?", "Inline answers work as well.", J),
    ],
    "jsonld_first_values.html": [("Which name counts?", "The first text of the first answer.", J)],
    "jsonld_qapage.html": [],
    "jsonld_incomplete.html": [("The only complete one?", "Yes.", J)],
    "jsonld_lenient.html": [
        # JSON escapes decoded (\/ -> /), HTML and entities left raw for the method's cleaning
        ("Trailing commas and comments?", "<p>Tolerated, like extruct &amp; jstyleson do.</p>", J),
        ("Raw line breaks in strings?", "Line one\nline two, café &eacute; <b>kept raw</b>", J),
    ],
    "jsonld_hidden.html": [("The real one?", "Found after the decoys.", J)],
    "jsonld_type_variants.html": [
        ("Upper-case type?", "Read by us, not by extruct.", J),
        ("Padded type?", "Read by us, not by extruct.", J),
        ("Type with a parameter?", "Read by us, not by extruct.", J),
        ("Entity-encoded type?", "Read by both (a real site does this).", J),
    ],
    "microdata_nested.html": [
        (
            "How is nested markup handled?",
            "First paragraph with bold text.\n\none\ntwo\n\nTail line\nafter break",
            M,
        ),
        ("Are entities decoded?", "Fish & chips <b> été", M),
    ],
    "microdata_multivalued.html": [
        ("Is a meta content used as the name?", "The content attribute wins over the text.", M),
        # the removed comment joins "Before" and "after" (extruct cleans, then renders)
        ("Are scripts and comments dropped from the text?", "Beforeafter the end.", M),
        # an <a itemprop="name"> has its resolved href as value
        (
            "https://example.org/relative/link",
            "The name of this question is a URL, so the question is emitted with it.",
            M,
        ),
    ],
    "microdata_itemref.html": [("Does itemref work?", "Yes, properties can be referenced by id.", M)],
    "microdata_negative.html": [],
    "rdfa_vocab.html": [
        ("How does RDFa express a question?", "With vocab, typeof\n        and property.", R),
        ("Is a content attribute used?", "Yes; otherwise the text even comment text  is used.", R),
    ],
    "rdfa_prefixed.html": [
        ("Does the default schema: prefix work?", "Yes, it maps to http://schema.org/.", R),
        ("And a declared prefix?", "Also fine.", R),
        ("Full IRIs?", "Work too.", R),
    ],
    "rdfa_hanging_rel.html": [
        ("Is a hanging rel completed by a child?", "Yes, by the typed child.", R),
        ("A question with its own IRI?", "Linked by IRI.", R),
    ],
    "rdfa_negative.html": [],
    "mixed_syntaxes.html": [("From JSON-LD?", "Yes.", J), ("From microdata?", "Also yes.", M)],
}

EXPECTED_COUNTERS = {
    "jsonld_malformed_block.html": {"block_errors.json-ld.invalid_json": 2},
    # suggested-only, untyped answer, no name, answer without text (the WebPage is not a Question)
    "jsonld_incomplete.html": {"questions_incomplete.json-ld": 4},
    "microdata_negative.html": {"questions_incomplete.microdata": 1},
    "rdfa_negative.html": {"questions_incomplete.rdfa": 1},
}


def _read(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def test_every_fixture_has_an_expectation():
    assert sorted(p.name for p in FIXTURES.glob("*.html")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_pairs(name):
    counters = Counters()
    got = extract_faq_pairs(_read(name), URL, ALL, counters)
    assert got == [RawQA(*t) for t in EXPECTED[name]]
    assert all(isinstance(x, RawQA) for x in got)
    assert counters.as_dict() == EXPECTED_COUNTERS.get(name, {})


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_prefilter_covers_fixture(name):
    """Every syntax that yields pairs is among the syntaxes the prefilter reports, and parsing
    only the reported syntaxes gives the same pairs."""
    raw = (FIXTURES / name).read_bytes()
    found = detect_syntaxes(raw, ALL)
    assert {s for _, _, s in EXPECTED[name]} <= found
    assert extract_faq_pairs(_read(name), URL, found, Counters()) == [RawQA(*t) for t in EXPECTED[name]]


def test_syntax_selection():
    html = _read("mixed_syntaxes.html")
    assert extract_faq_pairs(html, URL, ["microdata"], Counters()) == [RawQA("From microdata?", "Also yes.", M)]
    assert extract_faq_pairs(html, URL, ["json-ld"], Counters()) == [RawQA("From JSON-LD?", "Yes.", J)]
    assert extract_faq_pairs(html, URL, [], Counters()) == []


def test_crlf_in_json_strings_is_normalised_like_the_html_parser():
    html = (
        '<script type="application/ld+json">{"@type": "FAQPage", "mainEntity": {"@type": "Question", '
        '"name": "CR LF?", "acceptedAnswer": {"@type": "Answer", "text": "a\r\nb\rc"}}}</script>'
    )
    assert extract_faq_pairs(html, URL, ALL, Counters()) == [RawQA("CR LF?", "a\nb\nc", J)]


FAQ_BLOCK = (
    '<script type="application/ld+json">{"@type": "FAQPage", "mainEntity": {"@type": "Question", '
    '"name": "Still here?", "acceptedAnswer": {"@type": "Answer", "text": "Yes."}}}</script>'
)


def test_hostile_deep_json_does_not_crash():
    deep = "[" * 100_000 + "]" * 100_000
    deep_obj = '{"a":' * 50_000 + "1" + "}" * 50_000
    html = (
        f'<script type="application/ld+json">{deep}</script>'
        f'<script type="application/ld+json">{deep_obj}</script>' + FAQ_BLOCK
    )
    counters = Counters()
    assert extract_faq_pairs(html, URL, ALL, counters) == [RawQA("Still here?", "Yes.", J)]
    assert counters["block_errors.json-ld.too_deep"] == 2


def test_deep_but_parseable_json_is_walked_safely():
    # json parses these (below the recursion limit); the walker is iterative and bounded
    inner = json.dumps({"@type": "FAQPage", "mainEntity": {"@type": "Question", "name": "Deep?",
                                                           "acceptedAnswer": {"@type": "Answer", "text": "Found."}}})

    def page(levels: int) -> str:
        doc = '{"x":' * levels + inner + "}" * levels
        return '<script type="application/ld+json">' + doc + "</script>"

    assert extract_faq_pairs(page(300), URL, ALL, Counters()) == [RawQA("Deep?", "Found.", J)]
    # beyond the walker's depth bound (512) the node is not visited: no crash, no pair
    assert extract_faq_pairs(page(700), URL, ALL, Counters()) == []


def test_hostile_deep_html_does_not_crash():
    # (libxml2 caps the tree depth at about 256, so the DOM walkers never recurse deeper)
    html = "<div>" * 20_000 + '<div itemscope itemtype="https://schema.org/FAQPage" vocab="https://schema.org/" typeof="FAQPage">' + "</div>" * 20_001 + FAQ_BLOCK
    counters = Counters()
    got = extract_faq_pairs(html, URL, ALL, counters)
    assert RawQA("Still here?", "Yes.", J) in got


def test_garbage_never_raises():
    counters = Counters()
    for html in ["", "   ", "<", "<script", '<script type="application/ld+json">', "<!--", "\x00\x01<div",
                 '<script type="application/ld+json">null</script>', '<script type="application/ld+json">"s"</script>',
                 '<?xml version="1.0" encoding="iso-8859-1"?><html><body itemscope itemtype="https://schema.org/FAQPage"></body></html>']:
        assert extract_faq_pairs(html, URL, ALL, counters) == []


def test_xml_declaration_page_is_parsed():
    # lxml refuses str input with an encoding declaration (extruct then fails on the page); we
    # parse its UTF-8 bytes instead.
    html = (
        '<?xml version="1.0" encoding="utf-8"?>\n<html><body>'
        '<div itemscope itemtype="https://schema.org/FAQPage"><div itemprop="mainEntity" itemscope '
        'itemtype="https://schema.org/Question"><span itemprop="name">XHTML page?</span>'
        '<div itemprop="acceptedAnswer" itemscope itemtype="https://schema.org/Answer">'
        '<span itemprop="text">Parsed.</span></div></div></div></body></html>'
    )
    assert extract_faq_pairs(html, URL, ALL, Counters()) == [RawQA("XHTML page?", "Parsed.", M)]
