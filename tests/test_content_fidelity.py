"""Real, messy page content through the product: every QA a page holds is either kept with its
text intact (up to the method's cleaning) or dropped under a named reason -- never lost to a
crash, never written in a form a reader cannot load (tests/support/messy.py builds the pages)."""

from __future__ import annotations

import json

from hostile_corpus import write_pages
from support.messy import (ALEMANNIC, SOFT_HYPHEN_ANSWER, SOFT_HYPHENATED, bogus_charset_pages, charset_pages,
                           jsonld_page, jsonld_wrapped_blocks,
                           utf16_pages)

from webfaq.config import Config
from webfaq.counters import reconcile
from webfaq.extract.pipeline import process_file


def _one_page_warc(tmp_path, url: str, html: bytes):
    path = tmp_path / "page.warc.gz"
    write_pages(path, [("page", url, html, [])])
    return str(path)


def test_a_lone_surrogate_from_a_json_escape_costs_one_character_not_the_page(tmp_path):
    # JSON allows "\ud800" (an unpaired UTF-16 half); json.loads turns it into a lone surrogate,
    # which no UTF-8 writer (md5 id, Parquet, JSON lines) can encode. A paired escape is one
    # astral character and must stay one.
    block = json.dumps({"@context": "https://schema.org", "@type": "FAQPage", "mainEntity": [
        {"@type": "Question", "name": "How do I track my parcel LONE after ordering it online?",
         "acceptedAnswer": {"@type": "Answer", "text": "Use the tracking link in your confirmation e-mail; "
                            "it shows where the parcel is at every step of the delivery PAIR."}},
        {"@type": "Question", "name": "Which carriers deliver the parcels of this shop?",
         "acceptedAnswer": {"@type": "Answer", "text": "We ship with the national postal service and "
                            "with two private carriers, depending on the weight of the parcel."}}]})
    block = block.replace("LONE", "\\ud800").replace("PAIR", "\\ud83d\\ude9a")
    warc = _one_page_warc(tmp_path, "https://shop.example/faq", jsonld_page([], raw_json=block))
    result = process_file(warc, Config())
    assert result.counters.get("skip.parse.crash", 0) == 0, result.counters
    assert reconcile(result.counters) == []
    assert result.counters["qa.extracted"] == 2 and result.counters["qa.kept"] == 2
    by_q = {r["question"]: r for r in result.records}
    assert "How do I track my parcel \ufffd after ordering it online?" in by_q
    for rec in result.records:
        for value in rec.values():
            if isinstance(value, str):
                value.encode("utf-8")  # every text is well-formed: no lone surrogate left


def test_alemannic_is_not_labelled_tosk_albanian(tmp_path):
    # fastText lid.176 labels are Wikipedia codes: its "als" is Alemannic, whose ISO 639-3 code
    # is gsw; ISO 639-3 "als" is Tosk Albanian, another language. The lake's language column and
    # partition are ISO 639-3, so the label must be mapped, not copied.
    warc = _one_page_warc(tmp_path, "https://basel.example/faq", jsonld_page([ALEMANNIC]))
    result = process_file(warc, Config())
    assert [r["language"] for r in result.records] == ["gsw"]
    assert result.counters.get("kept.lang.gsw") == 1 and "kept.lang.als" not in result.counters


def test_declared_charsets_are_read_as_browsers_read_them(tmp_path):
    # Web pages declare "iso-8859-1", "us-ascii", "gb2312", "shift_jis", "euc-kr" and mean the
    # wider encodings browsers decode those labels with (WHATWG Encoding Standard: windows-1252,
    # gb18030, windows-31j, windows-949); a byte order mark overrides any declared charset.
    # Decoded by the narrow codec, “quotes”, €, 镕, ① and 똠 became C1 controls or U+FFFD.
    _assert_questions(tmp_path, charset_pages())


def test_a_charset_no_browser_knows_is_ignored_not_obeyed(tmp_path):
    # Python's codec registry answers to names no web page means as an encoding: byte
    # transforms (base64) made the decode raise and the page was lost as skip.parse.crash;
    # utf-7 rewrote "+ADw-b+AD4-" into a <b> tag, cp037 made the page EBCDIC garbage. A label
    # outside the Encoding Standard's list is ignored, as browsers ignore it.
    _assert_questions(tmp_path, bogus_charset_pages())


def test_a_utf16_page_without_byte_order_mark_is_read(tmp_path):
    # The prefilter reads UTF-16 pages (NUL bytes in every other position) so they pass it; the
    # decoder then read them as UTF-8, where NULs are valid, and the parsers found nothing: the
    # page counted as parsed, its pairs lost without a counter.
    _assert_questions(tmp_path, utf16_pages())


def _assert_questions(tmp_path, pages):
    """Each ``(kind, content type, payload, question)`` page, in one WARC: its question is
    extracted exactly, and no page crashed."""
    from io import BytesIO

    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    path = tmp_path / "charsets.warc.gz"
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for kind, content_type, payload, _ in pages:
            headers = StatusAndHeaders("200 OK", [("Content-Type", content_type)], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(f"https://{kind.replace('_', '-')}.example/faq", "response",
                                                          payload=BytesIO(payload), http_headers=headers))
    result = process_file(str(path), Config())
    got = {r["url"].split("//")[1].split(".")[0].replace("-", "_"): r["question"] for r in result.records}
    assert got == {kind: question for kind, _, _, question in pages}
    assert result.counters.get("skip.parse.crash", 0) == 0


def test_the_extract_summary_names_pages_lost_before_their_pairs_were_counted():
    # A page cut by the sandbox (crash, time or memory cap) or skipped whole (too large,
    # unreadable, undecodable) loses its pairs before they are counted as extracted, so the
    # "dropped:" line cannot show them; the summary must, or a run that lost pages reads clean.
    from webfaq_jobs.extract import summary

    manifest = {"run_id": "r", "status": "complete", "manifest_path": "m", "output": {},
                "counters": {"files.ok": 1, "files.total": 1, "prefilter.hit": 4, "pages.parsed": 1,
                             "skip.parse.crash": 1, "skip.parse.timeout": 2, "skip.page.page_too_large": 1}}
    assert "pages skipped: timeout 2, crash 1, page_too_large 1" in summary(manifest).splitlines()


def test_json_ld_blocks_written_the_way_templates_write_them_are_read(tmp_path):
    # A leading byte order mark, CDATA or HTML-comment wrappers, a trailing semicolon, PHP's \'
    # escape and two objects in one block: strict JSON refuses all of them and the page's pairs
    # were lost (block_errors.json-ld.invalid_json). Each is read now, and counted as repaired.
    blocks = jsonld_wrapped_blocks()
    pages = [(kind, f"https://{kind.replace('_', '-')}.example/faq", jsonld_page([], raw_json=text), [])
             for kind, text, _ in blocks if text]
    path = tmp_path / "wrapped.warc.gz"
    write_pages(path, pages)
    result = process_file(str(path), Config())
    assert sorted(r["question"] for r in result.records) == sorted(q for _, _, q in blocks)
    assert result.counters.get("block_errors.json-ld.invalid_json", 0) == 0
    assert result.counters["blocks_repaired.json-ld"] == len(pages)
    assert reconcile(result.counters) == []


def test_invisible_format_characters_do_not_split_words_for_near_duplicates():
    # Soft hyphens (&shy;), zero-width spaces and joiners, bidi marks: format characters (Cf)
    # that do not show. MinHash treated each as a word break, so a copy of an answer with
    # hyphenation hints shared almost no 5-word shingle with the original (Jaccard 0.16) and
    # was never found as a near duplicate. They are removed before shingling.
    from webfaq.dedup.minhash import jaccard, shingle_hashes

    def similarity(a: str, b: str) -> float:
        hashes, counts = shingle_hashes([a, b], [False, False], 5)  # dedup's word 5-grams
        return jaccard(hashes[:counts[0]], hashes[counts[0]:])

    assert similarity(SOFT_HYPHEN_ANSWER, SOFT_HYPHENATED) == 1.0
    zw = SOFT_HYPHEN_ANSWER.replace("Schweiz", "Sch\u200bweiz").replace("Uhr", "\u200eUhr\u2060")
    assert similarity(SOFT_HYPHEN_ANSWER, zw) == 1.0
