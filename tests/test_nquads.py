"""WDC FAQPage N-Quads -> FAQ pairs, checked against the real sample file and small synthetic cases.

Expectations for ``FAQPage_sample.txt.gz`` were derived by reading the file (grep/awk over the
1,000 lines, see the comments), not from this parser's output.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from webfaq.counters import Counters
from webfaq.extract.schemaorg import RawQA
from webfaq.extract.schemaorg.nquads import iter_nquads_pages, parse_quad_line

SAMPLE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "wdc" / "FAQPage_sample.txt.gz"

# Per graph: number of Question subjects that are the mainEntity of the page's FAQPage and whose
# acceptedAnswer is an Answer with a text (counted by hand with grep: rdf:type Question /
# mainEntity / acceptedAnswer / rdf:type Answer lines agree for every page).
# abcelektrik.org is cut off by the 1,000-line sample: its FAQPage has two mainEntity links
# but the Question/Answer quads are not in the file -> no pairs.
EXPECTED_COUNTS = {
    "http://anyquestions.info/index-137.html": 2,
    "http://bruilofttelefoon.nl/bruilofttelefoon-wit-als-een-trouwjurk/": 3,
    "http://caveartproject.org/ultrabet": 5,
    "http://rgfisc.6679shop.com/adobe-experience-manager": 12,
    "http://safepassword.co/index-478.html": 4,
    "http://static.bodog.com/es/ayuda/ayuda-sports/cuotas-americanas": 1,
    "http://swelteringcelt.com/experience-love-on-the-go-with-tryst-link-the-revolutionary-dating-app/": 3,
    "http://tashrifat-majales.com/faq-items/vivamus-ullamcorper-nim-sit-amet-consequat-laoreet-tortor-tortor-dictum-egestas-urna/": 1,
    "http://usenet-start.info/tui.html": 6,
    "https://8kvartal.by/fundamenty/czokolnyj-fundament/": 3,
    "https://91diploma.com/article/5014.html": 5,
    "https://aachristmas.com/collections/wreath-garland-bows/products/48-oregon": 11,
    "https://abcelektrik.org/beykoz-elektrikci/": 0,
}


@pytest.fixture(scope="module")
def sample():
    if not SAMPLE.exists():
        pytest.skip(f"{SAMPLE} not available")
    counters = Counters()
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as f:
        pages = list(iter_nquads_pages(f, counters))
    return pages, counters


def test_sample_pages_and_counts(sample):
    pages, counters = sample
    assert [url for url, _ in pages] == list(EXPECTED_COUNTS)  # 13 graphs, file order
    assert {url: len(p) for url, p in pages} == EXPECTED_COUNTS
    assert sum(1 for _, p in pages if p) == 12
    assert sum(len(p) for _, p in pages) == 56
    assert all(qa.syntax == "nquads" for _, p in pages for qa in p)
    # 90 lines mention schema.org/url, /embedUrl or /contentUrl (grep -cE); every other line parses
    assert counters["nquads.dropped_url_lines"] == 90
    assert counters["nquads.unparseable_lines"] == 0


def test_sample_first_pair_raw_literals(sample):
    pages, _ = sample
    url, pairs = pages[0]
    assert url == "http://anyquestions.info/index-137.html"
    q, a, syntax = pairs[0]
    assert q == "What are the Components of Cloud Workload Security?"
    # the N-Triples escape "\n" is left for the method's cleaning (two characters here)
    assert a.startswith("1. Access Control \\n2. Encryption \\n3. Intrusion Detection and Prevention \\n")
    assert pairs[1].question == "What are the Best Practices for Cloud Workload Security?"
    assert pairs[1].answer.startswith("Effective cloud workload security means focusing on multiple elements")


def test_sample_escaped_quotes_and_html_left_raw(sample):
    pages, _ = sample
    pairs = dict(pages)["http://bruilofttelefoon.nl/bruilofttelefoon-wit-als-een-trouwjurk/"]
    mail = [qa for qa in pairs if "mailto" in qa.answer]
    assert len(mail) == 1
    assert mail[0].answer.startswith("<p>Reserveringen kunnen geplaatst worden via het aanmeldformulier")
    assert '<a href=\\"mailto:info@bruilofttelefoon.nl\\">' in mail[0].answer


def test_sample_single_pair_page(sample):
    pages, _ = sample
    (qa,) = dict(pages)["http://static.bodog.com/es/ayuda/ayuda-sports/cuotas-americanas"]
    # the page has other `name` quads (breadcrumb items, organisation); only the Question's counts
    assert qa.question == "¿Qué son las cuotas / odds americanas?"
    assert qa.answer.startswith("Las cuotas de resultados son las preferidas entre los jugadores americanos")


def test_sample_last_pairs(sample):
    pages, _ = sample
    pairs = dict(pages)["https://aachristmas.com/collections/wreath-garland-bows/products/48-oregon"]
    # subjects are emitted in file order, and WDC sorts blank-node labels as strings
    # (...xb1, ...xb10, ...xb11, ..., ...xb9): the last Question is xb9 -> answer xb10
    assert pairs[0].question == "Are your lights made in America?"
    assert pairs[-1].question == "If I call your office, can I talk to a real person?"
    assert pairs[-1].answer.startswith("Yes! We are a family owned and operated company")
    returns = [qa for qa in pairs if qa.question == "Can I return items that I ordered?"]
    assert [qa.answer for qa in returns] == ["Of course. Just be sure to check our warranty and returns info."]


G = "<http://example.org/p>"


def _q(s: str, p: str, o: str, g: str = G) -> str:
    return f"{s} <{p}> {o} {g}   .\n"


RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
S = "http://schema.org/"
SS = "https://schema.org/"


def _run(lines):
    c = Counters()
    return list(iter_nquads_pages(lines, c)), c


def test_v1_rules_on_synthetic_quads():
    lines = [
        _q("_:f", RDF_TYPE, f"<{S}FAQPage>"),
        _q("_:f", S + "mainEntity", "_:q1"),
        _q("_:f", SS + "mainEntity", "_:q2"),
        _q("_:f", S + "mainEntity", "_:q3"),
        _q("_:f", S + "mainEntity", "_:q4"),
        # q1: complete, https types, extra suggestedAnswer ignored, first name counts
        _q("_:q1", RDF_TYPE, f"<{SS}Question>"),
        _q("_:q1", SS + "name", '"First name"'),
        _q("_:q1", SS + "name", '"Second name"'),
        _q("_:q1", SS + "suggestedAnswer", "_:a9"),
        _q("_:q1", SS + "acceptedAnswer", "_:a1"),
        _q("_:a1", RDF_TYPE, f"<{SS}Answer>"),
        _q("_:a1", SS + "text", '"Say \\"hi\\"\\nnow"@en'),
        # q2: property name in another case (v1 compares lower-cased)
        _q("_:q2", RDF_TYPE, f"<{S}Question>"),
        _q("_:q2", S + "NAME", '"Upper-case property"'),
        _q("_:q2", S + "acceptedanswer", "_:a2"),
        _q("_:a2", RDF_TYPE, f"<{S}Answer>"),
        _q("_:a2", S + "text", '"42"^^<http://www.w3.org/2001/XMLSchema#string>'),
        # q3: accepted answer is not typed Answer -> dropped
        _q("_:q3", RDF_TYPE, f"<{S}Question>"),
        _q("_:q3", S + "name", '"Untyped answer"'),
        _q("_:q3", S + "acceptedAnswer", "_:a3"),
        _q("_:a3", S + "text", '"orphan text"'),
        # q4: only a suggestedAnswer -> dropped
        _q("_:q4", RDF_TYPE, f"<{S}Question>"),
        _q("_:q4", S + "name", '"Suggested only"'),
        _q("_:q4", S + "suggestedAnswer", "_:a1"),
        # q5: complete but not a mainEntity of the FAQPage -> not emitted
        _q("_:q5", RDF_TYPE, f"<{S}Question>"),
        _q("_:q5", S + "name", '"Not linked"'),
        _q("_:q5", S + "acceptedAnswer", "_:a1"),
        # dropped / unparseable lines
        _q("_:q1", S + "url", "<http://example.org/x>"),
        "_:q1 <http://schema.org/name> \"two spaces\" <http://example.org/p>  .\n",
        "garbage\n",
    ]
    pages, c = _run(lines)
    assert pages == [
        (
            "http://example.org/p",
            [
                RawQA("First name", 'Say \\"hi\\"\\nnow', "nquads"),
                RawQA("Upper-case property", "42", "nquads"),
            ],
        )
    ]
    assert c["nquads.dropped_url_lines"] == 1
    assert c["nquads.unparseable_lines"] == 2
    assert c["questions_incomplete.nquads"] == 2  # q3, q4 (q5 is not in a FAQPage)


def test_last_type_wins_and_pages_split_by_graph():
    g2 = "<http://example.org/other>"
    lines = [
        _q("_:f", RDF_TYPE, f"<{S}FAQPage>"),
        _q("_:f", S + "mainEntity", "_:q"),
        _q("_:q", RDF_TYPE, f"<{S}Question>"),
        _q("_:q", RDF_TYPE, f"<{S}Thing>"),  # v1 keeps the LAST type: not a Question any more
        _q("_:q", S + "name", '"Q"'),
        _q("_:q", S + "acceptedAnswer", "_:a"),
        _q("_:a", RDF_TYPE, f"<{S}Answer>"),
        _q("_:a", S + "text", '"A"'),
        _q("_:f", RDF_TYPE, f"<{S}FAQPage>", g2),
        _q("_:f", S + "mainEntity", "<http://example.org/other#q>", g2),
        _q("<http://example.org/other#q>", RDF_TYPE, f"<{S}Question>", g2),
        _q("<http://example.org/other#q>", S + "name", '"IRI subject"', g2),
        _q("<http://example.org/other#q>", S + "acceptedAnswer", "_:a", g2),
        _q("_:a", RDF_TYPE, f"<{S}Answer>", g2),
        _q("_:a", S + "text", '"  padded  "', g2),
    ]
    pages, _ = _run(lines)
    assert pages == [
        ("http://example.org/p", []),
        ("http://example.org/other", [RawQA("IRI subject", "padded", "nquads")]),
    ]


def test_parse_quad_line_shapes():
    assert parse_quad_line(_q("_:b1", S + "name", '"x"@de-DE')) == ("http://example.org/p", "_:b1", S + "name", "x")
    assert parse_quad_line(_q("<http://e/s>", S + "mainEntity", "<http://e/o>")) == (
        "http://example.org/p",
        "http://e/s",
        S + "mainEntity",
        "http://e/o",
    )
    assert parse_quad_line("") is None
