"""A generated WARC of hostile pages, every one of which passes the prefilter.

Kinds (each page also carries the ``FAQPage`` marker, so it reaches the parsers):
billion laughs (XHTML + RDFa), JSON-LD nested 100,000 deep, a 100 MB page, invalid UTF-8,
lying charsets, NUL bytes, megabyte attribute values, regex-backtracking bait, 100,000-deep
microdata nesting; honest FAQ pages between them whose pairs must all survive, and honest pages
made hostile (answers with 100,000-character white-space runs, a 200,000-digit JSON-LD integer)
whose pairs must survive too. Below the corpus: builders of damaged WARCs (bad regions written
into real WARCs).
Used by tests/test_hostile.py and bench/faults.py.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter


def _faq_jsonld(questions: list[tuple[str, str]]) -> str:
    return json.dumps({"@context": "https://schema.org", "@type": "FAQPage", "mainEntity": [
        {"@type": "Question", "name": q, "acceptedAnswer": {"@type": "Answer", "text": a}} for q, a in questions]})


def honest(i: int) -> tuple[bytes, list[tuple[str, str]]]:
    qa = [(f"How does shipping work for order type {i}?",
           f"Orders of type {i} ship within two business days from our warehouse in Hamburg.")]
    html = f"<html><head><script type='application/ld+json'>{_faq_jsonld(qa)}</script></head><body>ok</body></html>"
    return html.encode(), qa


def billion_laughs(i: int) -> bytes:
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{k} "{("&lol%s;" % (k - 1 if k > 1 else "")) * 10}">' for k in range(1, 10))
    return (f'<?xml version="1.0"?><!DOCTYPE html [{entities}]>'
            '<html xmlns="http://www.w3.org/1999/xhtml" vocab="https://schema.org/">'
            '<body typeof="FAQPage"><div property="mainEntity" typeof="Question">'
            '<span property="name">&lol9;</span><div property="acceptedAnswer" typeof="Answer">'
            f'<span property="text">&lol9; {i}</span></div></div></body></html>').encode()


def deep_jsonld(i: int, depth: int = 100_000) -> bytes:
    return (b"<html><script type='application/ld+json'>{\"@type\":\"FAQPage\",\"x\":" + b"[" * depth
            + b"]" * depth + b"}</script></html>")


def huge_page(i: int, mb: int = 100) -> bytes:
    body = b"<p>" + b"FAQPage filler " * (mb * 1024 * 1024 // 15) + b"</p>"
    return b"<html><body>" + body + b"</body></html>"


def invalid_utf8(i: int) -> bytes:
    qa = [(f"Broken bytes question {i} \xff\xfe here?", "An answer with \xc3\x28 invalid sequences that is long enough.")]
    return (f"<html><head><meta charset='utf-8'><script type='application/ld+json'>"
            f"{_faq_jsonld(qa)}</script></head></html>").encode("latin-1", "replace")


def lying_charset(i: int) -> bytes:
    qa = [(f"Welche Größe hat Paket {i}?", "Pakete sind höchstens 120 cm lang und wiegen unter 31,5 kg.")]
    charset = ("utf-16", "iso-2022-jp", "shift_jis", "x-no-such-charset")[i % 4]
    return (f"<html><head><meta charset='{charset}'><script type='application/ld+json'>"
            f"{_faq_jsonld(qa)}</script></head></html>").encode("utf-8")


def nul_bytes(i: int) -> bytes:
    html = honest(i)[0]
    return html.replace(b"<body>", b"<body>\x00\x00\x00").replace(b"ship", b"sh\x00ip")


def megabyte_attribute(i: int) -> bytes:
    big = "A" * (1 << 20)
    return (f'<html><body itemscope itemtype="https://schema.org/FAQPage" data-x="{big}">'
            f'<div itemprop="mainEntity" itemscope itemtype="https://schema.org/Question" title="{big}">'
            f'<span itemprop="name" content="{big}">Q{i}</span>'
            '<div itemprop="acceptedAnswer" itemscope itemtype="https://schema.org/Answer">'
            f'<span itemprop="text">{big}</span></div></div></body></html>').encode()


def regex_bait(i: int) -> bytes:
    """Inputs that make naive regexes backtrack: unclosed tags/attributes/comments, long runs."""
    parts = [
        b"<script type=" + b" " * 200_000,
        b"<meta charset=" + b"=" * 100_000,
        b"<!--" + b"-" * 100_000,
        b'<script type="application/ld+json">' + b'{"@type":"FAQPage","a":"' + b"\\" * 200_001,
        b"<div itemscope itemtype='" + b"https://schema.org/FAQPage " * 20_000,
    ]
    return b"<html>" + parts[i % len(parts)] + b"</html>"


def deep_microdata(i: int, depth: int = 100_000) -> bytes:
    return (b"<html><body itemscope itemtype='https://schema.org/FAQPage'>"
            + b"<div itemprop='mainEntity' itemscope itemtype='https://schema.org/Question'>" * depth
            + b"</div>" * depth + b"</body></html>")


@dataclass
class Corpus:
    path: Path
    pages: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    expected_pairs: set[tuple[str, str]] = field(default_factory=set)  # (url, question)


LIGHT: list[tuple[str, Callable[[int], bytes]]] = [
    ("invalid_utf8", invalid_utf8), ("lying_charset", lying_charset), ("nul_bytes", nul_bytes),
    ("regex_bait", regex_bait),
]
HEAVY: list[tuple[str, Callable[[int], bytes], int]] = [
    ("billion_laughs", billion_laughs, 5), ("deep_jsonld", deep_jsonld, 5),
    ("megabyte_attribute", megabyte_attribute, 5), ("deep_microdata", deep_microdata, 3),
    ("huge_page_100mb", huge_page, 1),
]


def _pages(n_light: int) -> Iterator[tuple[str, str, bytes, list]]:
    for kind, make, count in HEAVY:
        for i in range(count):
            yield kind, f"https://hostile.example/{kind}/{i}", make(i), []
    for kind, make_with_pairs, count in HOSTILE_WITH_PAIRS:
        for i in range(count):
            yield kind, f"https://shop.example/{kind}/{i}", *make_with_pairs(i)
    for i in range(n_light):
        kind, make = LIGHT[i % len(LIGHT)]
        yield kind, f"https://hostile.example/{kind}/{i}", make(i), []
        if i % 4 == 0:
            html, qa = honest(i)
            yield "honest", f"https://shop.example/faq/{i}", html, qa


def write_corpus(path: Path, n_light: int = 1000) -> Corpus:
    """Write the hostile WARC (per-record gzip, Common Crawl layout) and what must survive."""
    return write_pages(path, _pages(n_light))


def write_pages(path: Path, pages: Iterable[tuple[str, str, bytes, list]],
                content_types: dict[str, str] | None = None,
                http_headers: dict[str, list[tuple[str, str]]] | None = None,
                raw_http: frozenset[str] = frozenset()) -> Corpus:
    """Write ``(kind, url, html, honest pairs)`` pages as a per-record-gzip WARC of responses,
    each with Content-Type ``text/html`` unless ``content_types`` (url -> header) says otherwise,
    plus the HTTP headers ``http_headers`` lists for its url (a Content-Encoding over a payload
    stored encoded, say). A url in ``raw_http`` has a whole HTTP message (status line, headers,
    body) as its payload, written as it is."""
    corpus = Corpus(path)
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for kind, url, payload, qa in pages:
            if url in raw_http:
                record = writer.create_warc_record(url, "response", payload=io.BytesIO(payload), length=len(payload),
                                                   warc_headers_dict={"Content-Type": "application/http; msgtype=response"})
            else:
                content_type = (content_types or {}).get(url, "text/html")
                headers = StatusAndHeaders("200 OK", [("Content-Type", content_type),
                                                      ("Content-Length", str(len(payload))),
                                                      *(http_headers or {}).get(url, [])], protocol="HTTP/1.1")
                record = writer.create_warc_record(url, "response", payload=io.BytesIO(payload), http_headers=headers)
            writer.write_record(record)
            corpus.pages += 1
            corpus.kinds[kind] = corpus.kinds.get(kind, 0) + 1
            corpus.expected_pairs.update((url, q) for q, _ in qa)
    return corpus


def gzip_member_offsets(data: bytes) -> list[int]:
    """Start offsets of the gzip members of a per-record-gzipped WARC."""
    import zlib

    offsets, pos = [], 0
    while pos < len(data):
        member = zlib.decompressobj(31)
        member.decompress(data[pos:])
        offsets.append(pos)
        pos = len(data) - len(member.unused_data)
    return offsets


def corrupt_member(data: bytes, k: int) -> bytes:
    """``data`` with 32 zero bytes in the middle of gzip member ``k`` (one record destroyed)."""
    offsets = gzip_member_offsets(data)
    bad = bytearray(data)
    mid = (offsets[k] + offsets[k + 1]) // 2
    bad[mid:mid + 32] = bytes(32)
    return bytes(bad)


# ----------------------------------------------------------------------------- damaged WARCs
# Bad regions written into real WARCs, for tests/test_warc_reader.py and bench/faults.py. Each
# damage kind makes one bad region; all but ``garbage_between`` destroy the record they hit.
DAMAGE_KINDS = ("content_length+300", "content_length-300", "header_200kb", "garbage_between", "corrupt_member")
PLAIN_DAMAGE_KINDS = DAMAGE_KINDS[:4]  # a zeroed stretch inside an uncompressed body is not a framing fault


def record_bytes(data: bytes) -> list[bytes]:
    """Each record of a per-record-gzip WARC, decompressed (header, block, trailer)."""
    import zlib

    offsets = gzip_member_offsets(data) + [len(data)]
    return [zlib.decompress(data[a:b], 31) for a, b in zip(offsets, offsets[1:])]


def page_record(url: str, html: bytes) -> bytes:
    """One uncompressed HTTP 200 text/html response record for ``html``, written by warcio."""
    out = io.BytesIO()
    headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                          ("Content-Length", str(len(html)))], protocol="HTTP/1.1")
    writer = WARCWriter(out, gzip=False)
    writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(html), http_headers=headers))
    return out.getvalue()


def faq_records(sample: bytes, faq_pages: list[Path]) -> tuple[list[bytes], set[int]]:
    """A real per-record-gzip WARC's records (``sample``) with real FAQ pages written as response
    records after every fifth one. Returns the records and the indexes never to damage: the FAQ
    pages and the sample's own FAQ page (https://commoncrawl.org/faq in sample-0001)."""
    pages = list(faq_pages)
    records: list[bytes] = []
    keep: set[int] = set()
    for i, record in enumerate(record_bytes(sample)):
        if b"WARC-Target-URI: <https://commoncrawl.org/faq>" in record.split(b"\r\n\r\n", 1)[0]:
            keep.add(len(records))
        records.append(record)
        if i % 5 == 4 and pages:
            page = pages.pop(0)
            keep.add(len(records))
            records.append(page_record(f"https://faq.example/{page.stem}", page.read_bytes()))
    return records, keep


def _damaged(record: bytes, kind: str) -> bytes:
    import re

    if kind.startswith("content_length"):
        delta = int(kind[len("content_length"):])
        def shift(m: re.Match) -> bytes:
            return m.group(1) + str(int(m.group(2)) + delta).encode()

        return re.sub(rb"(?im)^(Content-Length: )(\d+)", shift, record, count=1)
    if kind == "header_200kb":
        return record.replace(b"\r\n", b"\r\nX-Padding: " + b"a" * 200_000 + b"\r\n", 1)
    return record


def damage(records: list[bytes], faults: dict[int, str], compress: bool) -> bytes:
    """``records`` written as one WARC (a gzip member per record, or plain) with ``faults``
    (record index -> one of DAMAGE_KINDS) applied."""
    import gzip as _gzip

    out = bytearray()
    for i, record in enumerate(records):
        kind = faults.get(i)
        if kind == "garbage_between":
            out += b"\x00garbage\xff not a record \r\n" * 40
        body = _damaged(record, kind) if kind else record
        member = _gzip.compress(body, mtime=0) if compress else body
        if kind == "corrupt_member":
            member = bytearray(member)
            member[len(member) // 2: len(member) // 2 + 32] = bytes(32)
        out += member
    return bytes(out)


def spread_faults(records: list[bytes], n_faults: int, kinds: tuple[str, ...], keep: set[int]) -> dict[int, str]:
    """``n_faults`` response records spread over the file (never two adjacent, never the first or
    last record, never one in ``keep``), each with the next kind of ``kinds`` in turn. Responses:
    their pages are what a fault can cost, and their bodies are longer than 300 bytes."""
    free = [i for i in range(1, len(records) - 1)
            if i not in keep and b"\r\nWARC-Type: response\r\n" in records[i].split(b"\r\n\r\n", 1)[0]]
    step = len(free) / n_faults
    chosen = [free[int(j * step + step / 2)] for j in range(n_faults)]
    assert all(b - a > 1 for a, b in zip(chosen, chosen[1:])), "too many faults for this file"
    return {i: kinds[j % len(kinds)] for j, i in enumerate(chosen)}


def destroyed(faults: dict[int, str]) -> set[int]:
    """Indexes of the records a set of faults destroys."""
    return {i for i, kind in faults.items() if kind != "garbage_between"}


# ------------------------------------------------------------------ pathological white space
# Answers that made the method's ``\s*\n+\s*`` quadratic (100,000 no-break spaces: minutes).
WHITESPACE_RUNS = {
    "nbsp": "\u00a0" * 100_000,
    "nbsp_entity": "&nbsp;" * 100_000,
    "ideographic": "\u3000" * 100_000,
    "mixed": "\t\u00a0\u2028\u2009 " * 20_000,
    "space_newline": " \n" * 50_000,
}


def whitespace_bomb(i: int) -> tuple[bytes, list[tuple[str, str]]]:
    """An honest FAQ page whose answer carries one of WHITESPACE_RUNS; its pair must survive."""
    run = list(WHITESPACE_RUNS.values())[i % len(WHITESPACE_RUNS)]
    qa = [(f"How long does delivery take for parcel {i}?",
           f"Delivery takes two working days.{run}We ship every parcel from our warehouse in Hamburg.")]
    html = f"<html><head><script type='application/ld+json'>{_faq_jsonld(qa)}</script></head><body>ok</body></html>"
    return html.encode(), qa


def with_big_int(html: bytes, digits: int = 200_000) -> bytes:
    """``html`` with an integer of ``digits`` digits (past Python's int conversion limit) added
    to its JSON-LD FAQPage node."""
    marker = b'"@type": "FAQPage",'
    assert marker in html
    return html.replace(marker, marker + b' "upvoteCount": ' + b"7" * digits + b",", 1)


def big_int_jsonld(i: int) -> tuple[bytes, list[tuple[str, str]]]:
    """An honest FAQ page whose JSON-LD also holds a 200,000-digit integer; its pair must survive."""
    html, qa = honest(i)
    return with_big_int(html), qa


def whitespace_pages() -> list[tuple[str, str, bytes, list]]:
    """For write_pages: two honest pages around one page per WHITESPACE_RUNS kind."""
    bombs = [("whitespace_bomb", f"https://shop.example/ws/{i}", *whitespace_bomb(i)) for i in range(len(WHITESPACE_RUNS))]
    return [("honest", "https://shop.example/faq/a", *honest(1)), *bombs,
            ("honest", "https://shop.example/faq/b", *honest(2))]


# Hostile pages whose honest pairs must survive: (kind, page builder -> (html, pairs), count).
HOSTILE_WITH_PAIRS: list[tuple[str, Callable[[int], tuple[bytes, list]], int]] = [
    ("whitespace_bomb", whitespace_bomb, len(WHITESPACE_RUNS)), ("big_int_jsonld", big_int_jsonld, 3),
]
