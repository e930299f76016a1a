"""Method §1.3 cleaning and §2 filters F1-F5 (webfaq.extract.text_clean), hand-written expectations."""

from __future__ import annotations

import hashlib

import pytest

from webfaq.config import FilterConfig
from webfaq.extract.text_clean import clean_literal, clean_pair, filter_reason, lid_text, strip_decorations

CFG = FilterConfig()
Q_OK = "How long does shipping take?"  # 28 chars
A_OK = "Shipping takes two to three working days."  # 41 chars, no '?', no newline


# --------------------------------------------------------------------------------------------
# clean_literal: §1.3 steps 1-3
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # step 1: entities
        ("Fish &amp; Chips &ndash; &quot;best&quot; in town", 'Fish & Chips \u2013 "best" in town'),
        ("Caf&eacute; au lait&nbsp;only", "Caf\u00e9 au lait\u00a0only"),
        # escaped markup is unescaped first, then parsed as HTML, so its tags disappear
        ("&lt;b&gt;Bold&lt;/b&gt; claim", "Bold claim"),
        ("Is 3 &lt; 5 and 7 &gt; 2", "Is 3 < 5 and 7 > 2"),
        # step 1: literal \t escapes -> space (then collapsed by the HTML pass)
        ("Col A\\tCol B", "Col A Col B"),
        ("Col A\\t\\tCol B", "Col A Col B"),
        # step 2: HTML tags to text
        ("<p>Hello <b>world</b></p>", "Hello world"),
        ('<a href="https://example.com">Click here</a> for details', "Click here for details"),
        ("<script>alert(1)</script>Visible text", "Visible text"),
        ("<style>p { color: red }</style>Styled", "Styled"),
        ('<img src="x.png" alt="A picture">Caption', "Caption"),  # alt_texts=False
        ("<noscript>Enable JavaScript</noscript>", "Enable JavaScript"),  # noscript=True
        ("<!-- comment -->Kept", "Kept"),
        # step 2: preserve_formatting=False -> block breaks and real newlines become spaces
        ("<p>First paragraph</p><p>Second paragraph</p>", "First paragraph Second paragraph"),
        ("Line one<br>Line two<br/>Line three", "Line one Line two Line three"),
        ("<ul><li>one</li><li>two</li></ul>", "one two"),
        ("  lots   of \t spaces  ", "lots of spaces"),
        # step 3: literal \" -> "
        ('He said \\"hello\\" twice', 'He said "hello" twice'),
        # step 3: literal \n and \r\n escapes -> real newline
        ("Line one\\nLine two", "Line one\nLine two"),
        ("Line one\\r\\nLine two", "Line one\nLine two"),
        # literal escapes survive the HTML pass, so they still make lines after <p> blocks
        ("<p>Para one</p>\\n<p>Para two</p>", "Para one\nPara two"),
        # step 3: newline collapsing (\s*\n+\s* -> \n) and strip
        ("a\\n\\nb", "a\nb"),
        ("a \\n \\n  \\n b", "a\nb"),
        ("\\n\\nleading and trailing\\n\\n", "leading and trailing"),
        ("x\\n \\ty", "x\ny"),
        # empty / whitespace only
        ("", ""),
        ("   ", ""),
        ("<p> </p>", ""),
    ],
)
def test_clean_literal(raw: str, expected: str) -> None:
    assert clean_literal(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # real newlines (JSON-LD / microdata values) are kept like the N-Quads escape \n would be
        ("real\nnewline and\r\nCRLF and\rCR", "real\nnewline and\nCRLF and\nCR"),
        ("<p>Para one</p>\n  <p>Para two</p>", "Para one\nPara two"),
        ("\n\n  padded \n\n\n lines \n", "padded\nlines"),
        ("tab\tand newline\n\there", "tab and newline\nhere"),
    ],
)
def test_clean_literal_real_newlines(raw: str, expected: str) -> None:
    assert clean_literal(raw) == expected
    # the same value as a WDC N-Quads literal (newlines escaped) gives the same text
    assert clean_literal(raw.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")) == expected


def test_clean_literal_real_newlines_collapsed_when_disabled() -> None:
    assert clean_literal("real\nnewline and\r\nCRLF", keep_real_newlines=False) == "real newline and CRLF"
    assert clean_literal("escaped\\nstill a line", keep_real_newlines=False) == "escaped\nstill a line"


def test_clean_literal_keeps_case_and_unicode_form() -> None:
    # no lowercasing, no NFC/NFKC: a decomposed e + combining acute stays decomposed
    assert clean_literal("CAF\u0065\u0301 Menu") == "CAF\u0065\u0301 Menu"


# --------------------------------------------------------------------------------------------
# filter_reason: F1-F5, in order, with boundaries
# --------------------------------------------------------------------------------------------


def test_kept_pair() -> None:
    assert filter_reason(Q_OK, A_OK, CFG) is None


@pytest.mark.parametrize(("q", "a"), [("", A_OK), (Q_OK, ""), ("", "")])
def test_f1_empty(q: str, a: str) -> None:
    assert filter_reason(q, a, CFG) == "empty"


def test_f2_question_mark_in_answer() -> None:
    assert filter_reason(Q_OK, "Why would you ask? It takes two or three days.", CFG) == "answer_has_question_mark"
    # only ASCII '?': full-width and Arabic question marks pass
    assert filter_reason(Q_OK, "\u914d\u9001\u306b\u306f\u4f55\u65e5\u304b\u304b\u308a\u307e\u3059\u304b\uff1f" * 3, CFG) is None
    assert filter_reason(Q_OK, "\u0644\u0645\u0627\u0630\u0627\u061f " + "x" * 30, CFG) is None
    # switchable by config
    assert filter_reason(Q_OK, "Really? Yes, shipping takes three days.", FilterConfig(drop_question_mark_in_answer=False)) is None


def test_f3_too_many_lines_boundary() -> None:
    nine = "\n".join(["line of text"] * 10)  # 9 newlines
    ten = "\n".join(["line of text"] * 11)  # 10 newlines
    assert nine.count("\n") == 9 and ten.count("\n") == 10
    assert filter_reason(Q_OK, nine, CFG) is None
    assert filter_reason(Q_OK, ten, CFG) == "answer_too_many_lines"
    assert filter_reason(Q_OK, ten, FilterConfig(max_answer_newlines=11)) is None


def test_f4_question_too_short_boundary() -> None:
    assert filter_reason("a" * 10, A_OK, CFG) is None
    assert filter_reason("a" * 9, A_OK, CFG) == "question_too_short"
    assert filter_reason("a" * 9, A_OK, FilterConfig(min_question_chars=9)) is None


def test_f5_answer_too_short_boundary() -> None:
    assert filter_reason(Q_OK, "b" * 30, CFG) is None
    assert filter_reason(Q_OK, "b" * 29, CFG) == "answer_too_short"
    assert filter_reason(Q_OK, "b" * 20, FilterConfig(min_answer_chars=20)) is None


def test_filters_apply_in_method_order() -> None:
    # short question AND '?' in a short answer: F2 comes first
    assert filter_reason("short", "Why?", CFG) == "answer_has_question_mark"
    # many lines AND short question: F3 before F4
    assert filter_reason("short", "x\n" * 10, CFG) == "answer_too_many_lines"
    # short question AND short answer: F4 before F5
    assert filter_reason("short", "tiny", CFG) == "question_too_short"


def test_lengths_count_characters_not_bytes() -> None:
    q = "\u914d\u9001\u306b\u306f\u4f55\u65e5\u304b\u304b\u308a\u307e"  # 10 CJK chars, 30 UTF-8 bytes
    assert filter_reason(q, A_OK, CFG) is None
    assert filter_reason(q[:9], A_OK, CFG) == "question_too_short"


# --------------------------------------------------------------------------------------------
# strip_decorations: §1.3 steps 4-7
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "a", "eq", "ea"),
    [
        # step 4: prefixes (each needs white space after the colon; case-sensitive)
        ("Q: What is it?", "A: It is a thing.", "What is it?", "It is a thing."),
        ("Question: What is it?", "Answer: It is a thing.", "What is it?", "It is a thing."),
        ("Q:What is it?", "A:It is.", "Q:What is it?", "A:It is."),
        ("q: lower case", "answer: lower case", "q: lower case", "answer: lower case"),
        # question prefixes only on the question, answer prefixes only on the answer
        ("A: not removed", "Q: not removed", "A: not removed", "Q: not removed"),
        # step 5: numbering ^\d+\.\d*\s+
        ("1. What is it?", "2. Because.", "What is it?", "Because."),
        ("12.3 What is it?", "4.56  Because.", "What is it?", "Because."),
        ("1.What is it?", "12 Because.", "1.What is it?", "12 Because."),
        # prefix then numbering
        ("Q: 3. What is it?", "Answer: 3. It is.", "What is it?", "It is."),
        # step 6: each quote pair
        ('"What is it?"', '"It is."', "What is it?", "It is."),
        ("\u201cWhat is it?\u201d", "\u201cIt is.\u201d", "What is it?", "It is."),
        ("\u2018What is it?\u2019", "\u2018It is.\u2019", "What is it?", "It is."),
        ("\u201fWhat is it?\u201d", "\u201fIt is.\u201d", "What is it?", "It is."),
        ("\u201eWas ist das?\u201d", "\u201eDas ist es.\u201d", "Was ist das?", "Das ist es."),
        ("\u201eWas ist das?\u201c", "\u201eDas ist es.\u201c", "Was ist das?", "Das ist es."),
        # quotes only when both ends match; inner quotes are kept
        ('"What is it?', 'It is "quoted".', '"What is it?', 'It is "quoted".'),
        ("\u00abQu'est-ce que c'est ?\u00bb", "\u00abC'est \u00e7a.\u00bb", "\u00abQu'est-ce que c'est ?\u00bb", "\u00abC'est \u00e7a.\u00bb"),
        # one strip per listed kind, in order: ASCII pair first, then the curly pair
        ('"\u201cWhat is it?\u201d"', "'It is.'", "What is it?", "'It is.'"),
        # step 7: emojis removed (inner double space kept), then strip
        ("What is \U0001F355 pizza?", "\U0001F600 Pizza is great \U0001F44D", "What is  pizza?", "Pizza is great"),
        ("Flags \U0001F1E9\U0001F1EA too?", "Family \U0001F468\u200d\U0001F469\u200d\U0001F467 ok", "Flags  too?", "Family  ok"),
        # the emoji package also treats (c) (r) (tm) symbols as emoji
        ("\u00a92024 Acme FAQ?", "Acme\u00ae is a brand\u2122", "2024 Acme FAQ?", "Acme is a brand"),
        # quotes are stripped before emojis, so an emoji outside the quotes blocks the quote rule
        ('"Quoted?" \U0001F600', '"Kept quotes"', '"Quoted?"', "Kept quotes"),
    ],
)
def test_strip_decorations(q: str, a: str, eq: str, ea: str) -> None:
    assert strip_decorations(q, a) == (eq, ea)


# --------------------------------------------------------------------------------------------
# clean_pair: order clean -> filter -> strip
# --------------------------------------------------------------------------------------------


def test_clean_pair_full_example() -> None:
    reason, q, a = clean_pair(
        "Q: What is &lt;b&gt;WebFAQ&lt;/b&gt;? \U0001F914",
        "<p>A: WebFAQ is a \\\"multilingual\\\" FAQ dataset.</p>\\n<p>It has 75 languages.</p>",
        CFG,
    )
    assert reason is None
    assert q == "What is WebFAQ?"
    assert a == 'WebFAQ is a "multilingual" FAQ dataset.\nIt has 75 languages.'


def test_filters_run_before_stripping_question() -> None:
    # "Q: Why now?" has 11 characters -> passes F4; stripped it would have 8 and fail
    reason, q, a = clean_pair("Q: Why now?", A_OK, CFG)
    assert reason is None
    assert q == "Why now?"
    assert len(q) < CFG.min_question_chars
    # a numbering prefix counts too: "1. Prices" has 9 characters -> dropped although "Prices" is 6
    assert clean_pair("1. Prices", A_OK, CFG)[0] == "question_too_short"
    # 10 emojis pass F4 and are all removed afterwards (method: no re-check after stripping)
    reason, q, _ = clean_pair("\U0001F600" * 10, A_OK, CFG)
    assert reason is None and q == ""


def test_filters_run_before_stripping_answer() -> None:
    # 30 characters with quotes -> kept; 28 without
    answer = '"' + "c" * 28 + '"'
    reason, _, a = clean_pair(Q_OK, answer, CFG)
    assert reason is None and a == "c" * 28
    # "A: " + 26 chars = 29 characters -> dropped although quotes/prefix are not stripped yet
    reason, _, a = clean_pair(Q_OK, "A: " + "d" * 26, CFG)
    assert reason == "answer_too_short"
    assert a == "A: " + "d" * 26  # the dropped pair is returned cleaned but unstripped


def test_filters_see_cleaned_text() -> None:
    # markup does not count towards the length: 29 visible characters -> dropped
    assert clean_pair(Q_OK, "<p><b>" + "e" * 29 + "</b></p>", CFG)[0] == "answer_too_short"
    # a '?' that only exists as an entity is still a '?'
    assert clean_pair(Q_OK, "Why &#63; Because shipping takes time.", CFG)[0] == "answer_has_question_mark"
    # 10 escaped newlines or 10 real newlines -> F3; 10 <br> -> spaces, kept
    assert clean_pair(Q_OK, "\\n".join(["row"] * 11), CFG)[0] == "answer_too_many_lines"
    assert clean_pair(Q_OK, "\n".join(["row"] * 11), CFG)[0] == "answer_too_many_lines"
    assert clean_pair(Q_OK, "\n".join(["row"] * 11), CFG, keep_real_newlines=False)[0] is None
    assert clean_pair(Q_OK, "<br>".join(["row"] * 11), CFG)[0] is None
    # blank lines do not count: runs of newlines collapse before F3
    raw = "\n\n\n".join(["row of text"] * 6)  # 15 newlines in the raw value, 5 after collapsing
    assert raw.count("\n") == 15
    assert clean_pair(Q_OK, raw, CFG) == (None, Q_OK, "\n".join(["row of text"] * 6))
    # an answer made only of markup is empty after cleaning
    assert clean_pair(Q_OK, "<p>   </p><script>x()</script>", CFG)[0] == "empty"


# --------------------------------------------------------------------------------------------
# lid_text / id
# --------------------------------------------------------------------------------------------


def test_lid_text() -> None:
    assert lid_text("What is it?", "It is\na thing.\nReally.") == "What is it? It is a thing. Really."
    assert lid_text("", "Only answer") == "Only answer"
    text = lid_text("Q?", "A\nB")
    assert "\n" not in text
    assert hashlib.md5(text.encode("utf-8")).hexdigest() == hashlib.md5(b"Q? A B").hexdigest()


def test_emoji_fast_path_is_exact():
    """_remove_emoji skips text sharing no character with any emoji sequence: sound only if no
    emoji sequence is pure ASCII; and it agrees with emoji.replace_emoji on mixed text."""
    import emoji

    from webfaq.extract.text_clean import _remove_emoji

    assert not any(k.isascii() for k in emoji.EMOJI_DATA)
    for text in ("Grüße aus Köln", "Preis 5 € ©", "日本語のテキスト 😀", "keycap 1️⃣ here", "plain"):
        assert _remove_emoji(text) == emoji.replace_emoji(text, "")


# --------------------------------------------------------------------------------------------
# newline collapsing: the linear pattern gives the method's result
# --------------------------------------------------------------------------------------------


def _method_normalize_newlines(text: str) -> str:
    """Method §1.3 step 3 exactly as written: ``\\s*\\n+\\s*`` -> ``\\n`` until stable."""
    import re

    pattern = re.compile(r"\s*\n+\s*")
    text = text.replace("\\r\\n", "\n").replace("\\n", "\n")
    while True:
        collapsed = pattern.sub("\n", text)
        if collapsed == text:
            return collapsed
        text = collapsed


def _real_strings() -> list[str]:
    """Real text: the shared FAQ pages (whole files and their extracted question/answer
    literals), the Tails FAQ (sources, translations, QA rows), the WDC N-Quads sample (escaped
    newlines) and the language-ID sentences."""
    import gzip
    import json

    from conftest import shared_path
    from webfaq.counters import Counters
    from webfaq.extract.schemaorg import extract_faq_pairs

    texts: list[str] = []
    for page in sorted(shared_path("faq_html").glob("*.html")):
        html = page.read_text("utf-8", "replace")
        texts.append(html)
        for pair in extract_faq_pairs(html, "https://faq.example/", {"json-ld", "microdata", "rdfa"}, Counters()):
            texts += [pair.question, pair.answer]
    tails = shared_path("parallel", "tails-faq")
    texts += [p.read_text("utf-8") for p in sorted((tails / "raw").iterdir())]
    for row in map(json.loads, (tails / "qa_pairs.jsonl").read_text("utf-8").splitlines()):
        texts += [row["question"], row["answer"]]
    with gzip.open(shared_path("wdc", "FAQPage_sample.txt.gz"), "rt", encoding="utf-8") as fh:
        texts += fh.read().splitlines()
    texts += [p.read_text("utf-8") for p in sorted(shared_path("langid", "sentences").glob("*.txt"))]
    return texts


def test_linear_newline_collapse_agrees_with_the_method_on_real_text(monkeypatch):
    from webfaq.extract import text_clean

    texts = _real_strings()
    assert len(texts) > 1000 and sum("\n" in t or "\\n" in t for t in texts) > 100
    for text in texts:
        assert text_clean._normalize_newlines(text) == _method_normalize_newlines(text)
    ours = [clean_literal(t) for t in texts]  # the whole step 1-3 path, as the pipeline runs it
    monkeypatch.setattr(text_clean, "_normalize_newlines", _method_normalize_newlines)
    assert ours == [clean_literal(t) for t in texts]


def test_linear_newline_collapse_agrees_with_the_method_on_white_space_mixtures():
    """Every kind of white space Python's ``\\s`` knows, around newlines and escapes (seeded)."""
    import random

    from webfaq.extract.text_clean import _normalize_newlines

    alphabet = ["a", "b", " ", "\n", "\r", "\t", "\x0b", "\x0c", "\x1c", "\x85", "\xa0", "\u2028", "\u3000",
                "\u200b", "\\n", "\\r\\n", "\\t"]
    rng = random.Random(12)
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 30)))
        assert _normalize_newlines(text) == _method_normalize_newlines(text), repr(text)


def _resiliparse(text: str) -> str:
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree

    return extract_plain_text(HTMLTree.parse(text), main_content=False, alt_texts=False,
                              preserve_formatting=False, noscript=True)


def test_literals_without_markup_skip_resiliparse_with_its_result() -> None:
    """The fast path for a literal with no ``<`` and no ``&`` gives what Resiliparse gives: every
    code point of the BMP's first 12,544 and its last block (and a few astral ones) in five
    positions, and every real sentence and FAQ text of ../shared/data."""
    import json

    from conftest import shared_path
    from webfaq.extract.text_clean import _html_to_text

    texts = []
    for c in [*range(0, 0x3100), *range(0xFE00, 0x10000), 0x1F600, 0xE0001, 0x10FFFF]:
        ch = chr(c)
        if not (0xD800 <= c <= 0xDFFF) and ch not in "<&":
            texts += [f"a{ch}b", f" {ch} ", ch, f"x {ch}{ch} y\n", f"\\n{ch}\\n"]
    for path in sorted(shared_path("langid", "sentences").glob("*.txt")):
        texts += path.read_text(encoding="utf-8").splitlines()
    for line in shared_path("parallel", "tails-faq", "qa_pairs.jsonl").open(encoding="utf-8"):
        row = json.loads(line)
        texts += [row["question"], row["answer"]]
    plain = [t for t in texts if "<" not in t and "&" not in t]
    assert len(plain) > 40_000
    assert [t for t in plain if _html_to_text(t) != _resiliparse(t)] == []
    marked = "<p>Erst&nbsp;hier</p>"
    assert _html_to_text(marked) == _resiliparse(marked)  # markup still goes through Resiliparse
