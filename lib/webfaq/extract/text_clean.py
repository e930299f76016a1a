r"""Text cleaning and QA filters of the WebFAQ method (method dossier §1.3 and §2, filters F1-F5).

Order of operations, exactly as the method:

1. every raw literal goes through :func:`clean_literal` (§1.3 steps 1-3);
2. the pair is filtered on the *cleaned but not yet stripped* text (:func:`filter_reason`, F1-F5);
3. only surviving pairs get their decorations stripped (:func:`strip_decorations`, §1.3 steps 4-7).

Notes on fidelity (see also the module tests):

* HTML -> text uses Resiliparse with ``preserve_formatting=False`` as the method does. With that
  setting Resiliparse collapses *all* white space, real newlines and block boundaries (``<br>``,
  ``<p>``, ``<li>`` ...) included, into single spaces. In the method the newlines of a value
  survive anyway, because its input is WDC N-Quads, where a literal's newlines are written as the
  escape ``\n`` (backslash + n; see ``shared/data/wdc/FAQPage_sample.txt.gz``): the escape passes
  through the HTML pass and step 3 turns it back into a newline, so F3 (too many answer lines)
  counts the value's own line breaks, while ``<br>``/``<p>`` never make lines.
* Values taken from JSON-LD (after ``json.loads``) or microdata hold *real* newlines instead.
  So that they are treated as the method treats the same value coming from WDC, ``clean_literal``
  first writes real ``\r\n``/``\r``/``\n`` as the escape ``\n`` (``keep_real_newlines=True``,
  the default). For N-Quads literals, which cannot contain real newlines, this is a no-op.
  ``keep_real_newlines=False`` gives the literal reading of the method's steps (real newlines
  collapse to spaces; then F3 can only fire on escaped newlines).
* ``strip_decorations`` applies the quote rule once per listed quote kind, in the listed order,
  like the reference implementation (so ``"“x”"`` loses both pairs). Nothing is re-filtered after
  stripping (also as the reference): a question made only of emojis passes F4 and ends up empty.
* No Unicode normalisation and no lowercasing anywhere.
* Not a method step: a literal is first made well-formed Unicode (:func:`well_formed`). JSON
  allows escapes of unpaired UTF-16 halves (``"\\ud800"``) and ``json.loads`` returns them as lone
  surrogates, which no UTF-8 writer can encode (the md5 id, Parquet, JSON lines): the page
  crashed and all its pairs were lost. Each lone surrogate becomes U+FFFD, as a UTF-8 decoder
  treats an invalid sequence; a pair given as two separate halves becomes its one character.
"""

from __future__ import annotations

import html
from functools import lru_cache
import re

from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.html import HTMLTree

from webfaq.config import FilterConfig

__all__ = [
    "clean_literal",
    "filter_reason",
    "strip_decorations",
    "clean_pair",
    "lid_text",
    "well_formed",
    "FILTER_REASONS",
]

# Reason names, in the method's order (F1-F5).
FILTER_REASONS = (
    "empty",
    "answer_has_question_mark",
    "answer_too_many_lines",
    "question_too_short",
    "answer_too_short",
)

# The method's ``\s*\n+\s*`` -> ``\n``: every maximal run of white space that holds a newline
# becomes one newline. Written as the method's pattern, ``re`` retries ``\s*`` from every position
# of a long run without a newline (100,000 no-break spaces: minutes, quadratic). The look-behind
# lets a match start only where a white-space run starts, so each run is scanned once (linear)
# and the result is the same string (tests/test_text_clean.py compares both on real text).
_NEWLINE_RUN = re.compile(r"(?<!\s)\s*\n\s*")
_Q_PREFIXES = (re.compile(r"^Q:\s+"), re.compile(r"^Question:\s+"))
_A_PREFIXES = (re.compile(r"^A:\s+"), re.compile(r"^Answer:\s+"))
_NUMBERING = re.compile(r"^\d+\.\d*\s+")
# (opening, closing) pairs, in the method's order.
_QUOTE_PAIRS = (
    ('"', '"'),
    ("\u201c", "\u201d"),  # “ ”
    ("\u2018", "\u2019"),  # ‘ ’
    ("\u201f", "\u201d"),  # ‟ ”
    ("\u201e", "\u201d"),  # „ ”
    ("\u201e", "\u201c"),  # „ “
)


# What Resiliparse's plain-text extraction does to a literal without markup and without a
# character reference: NULs dropped, each run of HTML white space one space, the ends trimmed.
# Doing that directly costs 4 us instead of 45 us per literal (two literals per QA); the result
# is the same on every code point and on 51k real texts (tests/test_text_clean.py).
_HTML_WHITESPACE = re.compile(r"[ \t\n\v\f\r]+")


def _html_to_text(text: str) -> str:
    """Resiliparse plain-text extraction with the method's settings."""
    if "<" not in text and "&" not in text:
        return _HTML_WHITESPACE.sub(" ", text.replace("\x00", "")).strip(" ")
    try:
        tree = HTMLTree.parse(text)
        return extract_plain_text(
            tree,
            main_content=False,
            alt_texts=False,
            preserve_formatting=False,
            noscript=True,
        )
    except Exception:  # pragma: no cover - Resiliparse is very lenient; keep the row, not the crash
        return " ".join(text.split())


_SURROGATE = re.compile("[\ud800-\udfff]")


def well_formed(text: str) -> str:
    """``text`` as well-formed Unicode: surrogate pairs joined into their character, every lone
    surrogate replaced by U+FFFD (what a UTF-8 decoder makes of an invalid sequence). Every other
    string is returned as it is."""
    if _SURROGATE.search(text) is None:
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def _normalize_newlines(text: str) -> str:
    """Literal ``\\r\\n`` / ``\\n`` escapes -> real newline; collapse ``\\s*\\n+\\s*`` -> ``\\n``.

    One pass is the method's "until stable": runs are maximal, so two of them never meet after
    the substitution, and a run that is now ``\\n`` maps to itself."""
    text = text.replace("\\r\\n", "\n").replace("\\n", "\n")
    return _NEWLINE_RUN.sub("\n", text)


def clean_literal(text: str, *, keep_real_newlines: bool = True) -> str:
    """Method §1.3 steps 1-3 on one raw literal (question or answer).

    0. (not a method step, see the module notes) with ``keep_real_newlines``, real newlines are
       first written as the N-Quads escape ``\\n`` so that they survive step 2 as they do in the
       method's WDC input;
    1. ``html.unescape``; literal ``\\t`` escapes (backslash + t) -> space;
    2. HTML -> plain text (Resiliparse ``HTMLTree.parse`` + ``extract_plain_text(main_content=False,
       alt_texts=False, preserve_formatting=False, noscript=True)``; all four keyword arguments exist
       in Resiliparse 2.0.1);
    3. literal ``\\"`` -> ``"``; literal ``\\r\\n``/``\\n`` escapes -> real newline, collapse
       ``\\s*\\n+\\s*`` -> ``\\n`` until stable; strip.
    """
    if not text:
        return ""
    text = well_formed(text)
    if keep_real_newlines and ("\n" in text or "\r" in text):
        text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")
    text = html.unescape(text)
    text = text.replace("\\t", " ")
    text = _html_to_text(text)
    text = text.replace('\\"', '"')
    text = _normalize_newlines(text)
    return text.strip()


def filter_reason(question: str, answer: str, cfg: FilterConfig) -> str | None:
    """Filters F1-F5 in the method's order on *cleaned, unstripped* text.

    Returns the name of the first filter that drops the pair, or ``None`` if the pair is kept.
    F2 checks the ASCII ``?`` only (full-width ``？`` and Arabic ``؟`` pass), as the method.
    """
    if not question or not answer:
        return "empty"
    if cfg.drop_question_mark_in_answer and "?" in answer:
        return "answer_has_question_mark"
    if answer.count("\n") >= cfg.max_answer_newlines:
        return "answer_too_many_lines"
    if len(question) < cfg.min_question_chars:
        return "question_too_short"
    if len(answer) < cfg.min_answer_chars:
        return "answer_too_short"
    return None


def _strip_quotes(text: str) -> str:
    for opening, closing in _QUOTE_PAIRS:
        if text.startswith(opening) and text.endswith(closing):
            text = text[1:-1]
    return text


def strip_decorations(question: str, answer: str) -> tuple[str, str]:
    """Method §1.3 steps 4-7 on a pair that passed the filters.

    4. prefixes ``^Q:\\s+`` then ``^Question:\\s+`` (question), ``^A:\\s+`` then ``^Answer:\\s+`` (answer);
    5. numbering ``^\\d+\\.\\d*\\s+`` (both);
    6. enclosing quotes ``"…"``, ``“…”``, ``‘…’``, ``‟…”``, ``„…”``, ``„…“`` (each kind checked once, in
       that order, as the reference code);
    7. emojis removed with ``emoji.replace_emoji(text, "")`` (this also removes emoji-capable symbols
       such as ``©``, ``®``, ``™``, ``↔``), then strip.
    """
    for pattern in _Q_PREFIXES:
        question = pattern.sub("", question)
    for pattern in _A_PREFIXES:
        answer = pattern.sub("", answer)
    question = _NUMBERING.sub("", question)
    answer = _NUMBERING.sub("", answer)
    question = _strip_quotes(question)
    answer = _strip_quotes(answer)
    return _remove_emoji(question).strip(), _remove_emoji(answer).strip()


def _remove_emoji(text: str) -> str:
    """emoji.replace_emoji, skipped when no character of ``text`` occurs in any emoji sequence
    the package knows (ASCII and most scripts): its tokenizer costs ~1 ms per answer."""
    if text.isascii() or _emoji_chars().isdisjoint(text):
        return text
    import emoji

    return emoji.replace_emoji(text, "")


@lru_cache(maxsize=1)
def _emoji_chars() -> frozenset[str]:
    """Every non-ASCII code point that appears in some emoji sequence."""
    import emoji

    return frozenset(ch for seq in emoji.EMOJI_DATA for ch in seq if not ch.isascii())


def clean_pair(
    raw_question: str, raw_answer: str, cfg: FilterConfig, *, keep_real_newlines: bool = True
) -> tuple[str | None, str, str]:
    """Clean both literals, filter (F1-F5), then strip decorations.

    Returns ``(drop_reason, question, answer)``. When the pair is dropped, ``question`` and
    ``answer`` are the cleaned but unstripped texts the filter saw.
    """
    question = clean_literal(raw_question, keep_real_newlines=keep_real_newlines)
    answer = clean_literal(raw_answer, keep_real_newlines=keep_real_newlines)
    reason = filter_reason(question, answer, cfg)
    if reason is not None:
        return reason, question, answer
    question, answer = strip_decorations(question, answer)
    return None, question, answer


def lid_text(question: str, answer: str) -> str:
    """``question + " " + answer`` with newlines as spaces, stripped.

    The exact string both language identification and the record id (md5) use (method §2 F8, §3).
    """
    return (question + " " + answer).replace("\n", " ").strip()
