"""Golden tests on the real FAQ pages in ../shared/data/faq_html/.

The expected strings below were copied by hand from each page's source (the JSON-LD script
blocks, read with a text viewer), not from this parser's output. Literals are raw: JSON string
escapes are decoded (``\\/`` -> ``/``, raw line breaks inside JSON strings stay line breaks) but
HTML markup and entities are left for the method's cleaning step.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from webfaq.counters import Counters
from webfaq.extract.prefilter import detect_syntaxes
from webfaq.extract.schemaorg import RawQA, extract_faq_pairs, extract_question_pairs

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "faq_html"
ALL = ("json-ld", "microdata", "rdfa")

# file -> (url, number of pairs, first question, first answer prefix, last question, last answer prefix)
GOLDEN = {
    "commoncrawl.org-faq.html": (
        "https://commoncrawl.org/faq",
        14,
        "What is Common Crawl?",
        "Common Crawl is a 501(c)(3) non-profit organization dedicated to providing a copy of the Internet",
        "Does the Common Crawl CCBot support nofollow?",
        "We currently honor the nofollow attribute as it applies to links embedded on your site.\nIt should be noted",
    ),
    "financescout24.de.autokredit.html": (
        "https://financescout24.de/autokredit",
        14,
        "Was ist ein Autokredit?",
        "<p>Ein Autokredit ist ein zweckgebundener Ratenkredit für die Finanzierung eines Neu- oder Gebrauchtwagens.",
        "Welcher Zins ist entscheidend beim Vergleich?",
        "<p>Mit dem Nominalzins wird angegeben, wie hoch die Zinsen sind, die Sie pro Jahr für Ihren Kredit bezahlen müssen.",
    ),
    "giromatch.com.kredit.html": (
        "https://giromatch.com/kredit",
        2,
        "Wie beantrage ich einen 1000 Euro Kredit? Was benötige ich?",
        "Den Kredit beantragen Sie am einfachsten online von zu Hause. Dazu benötigen Sie lediglich einen Internetzugang.",
        "1000 Euro Kredit ohne Schufa oder trotz negativer Schufa - was ist möglich?",
        "Klassische Banken vertrauen bei Ihrer Kreditentscheidung immer auf die Schufa bzw. den sogenannten Schufa-Score.",
    ),
}


def _page(name: str) -> tuple[bytes, str]:
    path = DATA / name
    if not path.exists():
        pytest.skip(f"{path} not available")
    raw = path.read_bytes()
    return raw, raw.decode("utf-8")


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_page(name):
    url, n, q_first, a_first, q_last, a_last = GOLDEN[name]
    raw, html = _page(name)
    counters = Counters()
    pairs = extract_faq_pairs(html, url, ALL, counters)
    assert len(pairs) == n
    assert {p.syntax for p in pairs} == {"json-ld"}
    assert pairs[0].question == q_first and pairs[0].answer.startswith(a_first)
    assert pairs[-1].question == q_last and pairs[-1].answer.startswith(a_last)
    assert all(p.question and p.answer for p in pairs)
    # the prefilter sends the page to the JSON-LD parser, and that parser alone gives the pairs
    found = detect_syntaxes(raw, ALL)
    assert "json-ld" in found
    assert extract_faq_pairs(html, url, found, Counters()) == pairs
    assert counters.as_dict() == {}


def test_commoncrawl_details():
    _, html = _page("commoncrawl.org-faq.html")
    pairs = extract_faq_pairs(html, "https://commoncrawl.org/faq", ALL, Counters())
    by_q = dict((p.question, p.answer) for p in pairs)
    # the 7th answer starts with a raw line break inside the JSON string
    slow = by_q["Will the Common Crawl CCBot make my website slow for other users?"]
    assert slow.startswith("\nThe CCBot crawler has a number of algorithms designed to prevent undue load")
    assert by_q["How can I ask for a slower crawl if the Common Crawl CCBot is taking up too much bandwidth?"].endswith(
        "User-agent: CCBot\nCrawl-Delay: 2"
    )
    assert by_q["What is the IP range of the Common Crawl CCBot?"] == (
        "Older versions used the IPs 38.107.191.66 through 38.107.191.119. "
        "The current version crawls from Amazon AWS."
    )


def test_giromatch_json_escape_decoded():
    _, html = _page("giromatch.com.kredit.html")
    pairs = extract_faq_pairs(html, "https://giromatch.com/kredit", ALL, Counters())
    # "und\/oder" in the source: a JSON escape, decoded by the JSON parser
    assert "beim Kreditantrag und/oder b) kein Eintrag in der Schufa" in pairs[1].answer
    # runs of spaces inside the JSON string are kept (cleaning happens later)
    assert "Für die Beantragung des                      Kredits" in pairs[0].answer


def _ws(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip()


EG = {
    "eg-0186.jsonld.html": "json-ld",
    "eg-0186.microdata.html": "microdata",
    "eg-0186.rdfa.html": "rdfa",
}


@pytest.mark.parametrize("name", sorted(EG) + ["eg-0186.pre-markup.html"])
def test_eg0186_is_not_an_faq(name):
    # schema.org's Question example is not the mainEntity of an FAQPage: no FAQ pairs
    raw, html = _page(name)
    assert extract_faq_pairs(html, "https://schema.org/Question", ALL, Counters()) == []
    assert detect_syntaxes(raw, ALL) == frozenset()


def test_eg0186_three_syntaxes_agree():
    """The same Question in JSON-LD, microdata (two-valued itemprop="suggestedAnswer
    acceptedAnswer") and RDFa (Question -> Answer through a blank node): same name and accepted
    answer text after whitespace normalisation (the microdata/RDFa texts carry the markup's
    indentation; the upstream JSON-LD differs in other fields, which are not compared)."""
    got = {}
    for name, syntax in EG.items():
        _, html = _page(name)
        pairs = extract_question_pairs(html, "https://schema.org/Question", ALL)
        assert [p.syntax for p in pairs] == [syntax]
        got[syntax] = (_ws(pairs[0].question), _ws(pairs[0].answer))
    expected = ("What is attr_accessor in Ruby?", "(The text of the accepted answer goes here...).")
    assert got == {"json-ld": expected, "microdata": expected, "rdfa": expected}
    _, html = _page("eg-0186.pre-markup.html")
    assert extract_question_pairs(html, "https://schema.org/Question", ALL) == []


def test_eg0186_raw_forms():
    # RDFa keeps the element's raw text; microdata text is rendered (stripped) like extruct does
    _, html = _page("eg-0186.rdfa.html")
    (qa,) = extract_question_pairs(html, None, ["rdfa"])
    assert qa == RawQA("What is attr_accessor in Ruby?", "\n    (The text of the accepted answer goes here...).\n    ", "rdfa")
    _, html = _page("eg-0186.microdata.html")
    (qa,) = extract_question_pairs(html, None, ["microdata"])
    assert qa == RawQA("What is attr_accessor in Ruby?", "(The text of the accepted answer goes here...).", "microdata")
