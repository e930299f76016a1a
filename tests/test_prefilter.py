"""The byte prefilter: unit cases, and 100% recall against full parsing on real pages.

Recall test: every HTML response of ../shared/data/warc/real-pages.warc.gz (1,026 pages) and
sample-0001.warc.gz is fully parsed, and every (page, syntax) that yields FAQ pairs must be
reported by ``detect_syntaxes`` on the raw payload. "Full parsing" is the union of

* extruct (the reference) for JSON-LD and microdata on EVERY page;
* extruct RDFa only on pages whose payload contains b"FAQPage". extruct's RDFa costs ~45 s for
  the whole corpus; it was run once on all 1,026 pages (no RDFa FAQ pairs anywhere). The
  restriction is sound, not just fast: the FAQ rule needs a node typed FAQPage, and in RDFa
  a type is written in ``typeof`` (or as an rdf:type object) as a term, CURIE or IRI that
  ends in the literal characters ``FAQPage`` -- a page without those bytes (in an
  ASCII-compatible encoding) cannot have an RDFa FAQPage;
* our own parsers for all three syntaxes on EVERY page, without the prefilter (this also
  covers pages where extruct drops all JSON-LD because one block is broken).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from webfaq.counters import Counters
from webfaq.extract.prefilter import detect_syntaxes
from webfaq.extract.schemaorg import extract_faq_pairs, model

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
ALL = ("json-ld", "microdata", "rdfa")

JSONLD_FAQ = (
    b'<html><head><script type="application/ld+json">{"@context":"https://schema.org","@type":"FAQPage",'
    b'"mainEntity":[{"@type":"Question","name":"Q?","acceptedAnswer":{"@type":"Answer","text":"A."}}]}'
    b"</script></head><body></body></html>"
)
MICRODATA_FAQ = (
    b'<html><body><DIV ITEMSCOPE ITEMTYPE="https://schema.org/FAQPage"><div itemprop="mainEntity" itemscope '
    b'itemtype="https://schema.org/Question"><span itemprop="name">Q?</span><div itemprop="acceptedAnswer" '
    b'itemscope itemtype="https://schema.org/Answer"><span itemprop="text">A.</span></div></div></DIV></body></html>'
)
RDFA_FAQ = (
    b'<html><body><div Vocab="https://schema.org/" TypeOf="FAQPage"><div property="mainEntity" typeof="Question">'
    b'<span property="name">Q?</span><div property="acceptedAnswer" typeof="Answer"><span property="text">A.</span>'
    b"</div></div></div></body></html>"
)


def test_miss_without_faqpage():
    assert detect_syntaxes(b"<html><script type='application/ld+json'>{}</script></html>", ALL) == frozenset()
    assert detect_syntaxes(b"", ALL) == frozenset()
    # types are case-sensitive (as in the method): a lower-case faqpage is no FAQPage
    assert detect_syntaxes(b'<script type="application/ld+json">{"@type":"faqpage"}</script>', ALL) == frozenset()


def test_each_syntax_detected():
    assert detect_syntaxes(JSONLD_FAQ, ALL) == frozenset({"json-ld"})
    assert detect_syntaxes(MICRODATA_FAQ, ALL) == frozenset({"microdata"})  # upper-case attributes
    assert detect_syntaxes(RDFA_FAQ, ALL) == frozenset({"rdfa"})
    both = JSONLD_FAQ + MICRODATA_FAQ
    assert detect_syntaxes(both, ALL) == frozenset({"json-ld", "microdata"})


def test_enabled_subset_respected():
    both = JSONLD_FAQ + MICRODATA_FAQ + RDFA_FAQ
    assert detect_syntaxes(both, ["microdata"]) == frozenset({"microdata"})
    assert detect_syntaxes(both, []) == frozenset()
    assert detect_syntaxes(both, iter(["rdfa", "json-ld"])) == frozenset({"rdfa", "json-ld"})


def test_jsonld_markers():
    # entity-encoded script type (seen on a real site): still a JSON-LD candidate via "@type"
    page = JSONLD_FAQ.replace(b"application/ld+json", b"application&#x2F;ld&#x2B;json")
    assert detect_syntaxes(page, ALL) == frozenset({"json-ld"})
    page = JSONLD_FAQ.replace(b"application/ld+json", b"Application/LD+JSON")
    assert detect_syntaxes(page, ALL) == frozenset({"json-ld"})


def test_rdfa_rdf_type_marker():
    page = (
        b'<div vocab="https://schema.org/"><link property="rdf:type" href="https://schema.org/FAQPage">'
        b"</div>"
    )
    assert detect_syntaxes(page, ALL) == frozenset({"rdfa"})


def test_dom_syntaxes_only_when_faqpage_sits_in_their_attribute():
    # a JSON-LD FAQ page with JavaScript `typeof` and unrelated microdata elsewhere: only JSON-LD
    js = b"<script>if (typeof window !== 'undefined') { x = 1; }</script>"
    crumbs = b'<ol itemscope itemtype="https://schema.org/BreadcrumbList"><li>Home</li></ol>'
    page = js + crumbs + b"<p>" + b"filler " * 200 + b"</p>" + JSONLD_FAQ
    assert detect_syntaxes(page, ALL) == frozenset({"json-ld"})
    # ... but an itemtype / typeof holding FAQPage is found in any letter case and value form
    assert detect_syntaxes(b'<div ItemType="http://schema.org/WebPage https://schema.org/FAQPage" itemscope>', ALL) == frozenset({"microdata"})
    assert detect_syntaxes(b'<div TYPEOF="schema:FAQPage">', ALL) == frozenset({"rdfa"})
    # FAQPage in running text is no candidate at all
    assert detect_syntaxes(b'<p>"@type" and FAQPage are schema.org words</p>', ALL) == frozenset()


def test_many_q_bytes_before_faqpage():
    # base64-like content full of 'Q' exercises the bounded memchr loop and its fallback
    page = b"<img src='data:image/png;base64," + b"QQQQ" * 5000 + b"'>" + JSONLD_FAQ
    assert detect_syntaxes(page, ALL) == frozenset({"json-ld"})
    assert detect_syntaxes(b"Q" * 100 + b"AQPage", ALL) == frozenset()


def test_many_occurrences_fall_back_to_page_markers():
    page = JSONLD_FAQ + b"<i>FAQPage</i>" * 300 + RDFA_FAQ
    assert detect_syntaxes(page, ALL) == frozenset({"json-ld", "rdfa"})


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_payload(codec):
    payload = JSONLD_FAQ.decode("ascii").encode(codec)
    assert b"FAQPage" not in payload
    assert detect_syntaxes(payload, ALL) == frozenset({"json-ld"})


def test_recall_on_small_pages():
    for page, syntax in [(JSONLD_FAQ, "json-ld"), (MICRODATA_FAQ, "microdata"), (RDFA_FAQ, "rdfa")]:
        html = page.decode("utf-8")
        pairs = extract_faq_pairs(html, "https://example.org/", ALL, Counters())
        assert [(p.question, p.answer, p.syntax) for p in pairs] == [("Q?", "A.", syntax)]
        assert syntax in detect_syntaxes(page, ALL)


def _responses(path: Path):
    """(url, status, content type, payload) of every response record (fastwarc parses HTTP)."""
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    with open(path, "rb") as f:
        for rec in ArchiveIterator(f, record_types=WarcRecordType.response):
            headers = rec.http_headers
            status = headers.status_code if headers is not None else None
            ctype = (headers.get("Content-Type") or "") if headers is not None else ""
            url = (rec.headers.get("WARC-Target-URI") or "").strip("<>")
            yield url, status, ctype, rec.reader.read()


def _extruct_pairs(payload: bytes, url: str, syntax: str) -> list:
    import extruct

    items = extruct.extract(payload, base_url=url, syntaxes=[syntax], errors="ignore").get(syntax, [])
    if syntax == "microdata":
        items = model.from_extruct_microdata(items)
    return model.faq_pairs(items, syntax)


def _full_parse_hits(path: Path) -> tuple[dict[str, set[str]], dict[str, frozenset[str]], int]:
    truth: dict[str, set[str]] = {}
    detected: dict[str, frozenset[str]] = {}
    n_html = 0
    for url, status, ctype, payload in _responses(path):
        if "html" not in ctype.lower():
            continue
        n_html += 1
        found = detect_syntaxes(payload, ALL)
        detected[url] = found
        html = payload.decode("utf-8", "replace")
        syntaxes = {p.syntax for p in extract_faq_pairs(html, url, ALL, Counters())}
        for syntax in ("json-ld", "microdata"):
            if _extruct_pairs(payload, url, syntax):
                syntaxes.add(syntax)
        if b"FAQPage" in payload and _extruct_pairs(payload, url, "rdfa"):
            syntaxes.add("rdfa")
        if syntaxes:
            truth[url] = syntaxes
    return truth, detected, n_html


def test_recall_real_pages():
    path = SHARED / "warc" / "real-pages.warc.gz"
    if not path.exists():
        pytest.skip(f"{path} not available")
    truth, detected, n_html = _full_parse_hits(path)
    assert n_html == 1026 + 25  # 1,026 pages + 25 redirects served as text/html
    for url, syntaxes in truth.items():
        assert syntaxes <= detected[url], (url, syntaxes, detected[url])
    # the corpus holds exactly two JSON-LD FAQ pages (data README)
    assert truth == {
        "https://financescout24.de/autokredit": {"json-ld"},
        "https://giromatch.com/kredit": {"json-ld"},
    }
    hits = {u for u, s in detected.items() if s}
    assert hits == set(truth)  # and the prefilter lets nothing else through on this corpus


def test_recall_sample_warc():
    path = SHARED / "warc" / "sample-0001.warc.gz"
    if not path.exists():
        pytest.skip(f"{path} not available")
    truth, detected, _ = _full_parse_hits(path)
    for url, syntaxes in truth.items():
        assert syntaxes <= detected[url], (url, syntaxes, detected[url])
    assert truth == {"https://commoncrawl.org/faq": {"json-ld"}}
