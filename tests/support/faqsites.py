"""Real single-topic FAQ sites and planted near-duplicate questions, for the refinement test and
``bench/refine.py``.

A near-duplicate test for benchmark refinement has two ways to fail: it removes distinct
questions of one website (on a single-topic site they are all about the same thing, so an
embedding model finds them close), or it misses the same question asked twice in a slightly
different form. The sites below are real FAQ pages from ``../shared/data`` -- every language of
the Tails FAQ, the commoncrawl.org FAQ, the Cloudflare DNS Updater FAQ (English, Spanish), the
two German FAQ pages, and the Web Data Commons FAQPage sample -- so their questions are the
distinct ones; :func:`plant` makes the near-duplicates from those very questions, one variant per
question and kind, deterministically from a seed:

* ``case``: the question lower-cased or upper-cased (scripts without case give no variant);
* ``punctuation``: punctuation removed, doubled, or spaced off the last word;
* ``one_word``: one word deleted, one word repeated, or a typo in a word of more than
  ``TYPO_LETTERS`` letters (two adjacent letters swapped or one dropped) -- in scripts written
  without spaces one character deleted or repeated instead;
* ``word_order``: two adjacent words swapped (characters in scripts without spaces);
* ``boilerplate``: a site-template suffix appended (``" - FAQ"``, ``" | Tails"``, ...).

A word *replaced* by another content word is not planted: "Can I use ping in Tails?" and
"Can I use Monero in Tails?" differ by one word and are two real, distinct questions of the
Tails FAQ (the method's "What is CBD?" / "What is CBDa?" case).
"""

from __future__ import annotations

import json
import random
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from support.faqsynth import faq_row
from webfaq.benchmark.near_duplicates import NOSPACE_CHAR, TYPO_LETTERS

KINDS = ("case", "punctuation", "one_word", "word_order", "boilerplate")
TAILS_LANGS = {"en": "eng", "ca": "cat", "de": "deu", "fr": "fra", "ru": "rus", "it": "ita", "es": "spa",
               "fa": "fas", "pt": "por"}
FAQ_HTML = {"commoncrawl.org-faq.html": "https://commoncrawl.org/faq",
            "financescout24.de.autokredit.html": "https://www.financescout24.de/autokredit",
            "giromatch.com.kredit.html": "https://www.giromatch.com/kredit"}
CRAWL = "CC-TEST"


@dataclass
class Site:
    """One website's FAQ in one language: the unit refinement's near-duplicate rule works on."""

    name: str
    language: str
    records: list[dict] = field(default_factory=list)

    def add(self, url: str, question: str, answer: str) -> None:
        """Keep the first QA of each question (refinement rule 1 drops exact repeats first)."""
        if question and all(r["question"] != question for r in self.records):
            self.records.append(faq_row(CRAWL, url, self.language, question, answer))


def tails(root: Path) -> list[Site]:
    """The Tails FAQ: one site per language with translated questions (9 languages)."""
    sites: dict[str, Site] = {}
    for line in (root / "parallel" / "tails-faq" / "qa_pairs.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        lang = TAILS_LANGS[row["lang"]]
        site = sites.setdefault(lang, Site(f"tails.net/{lang}", lang))
        site.add(f"https://tails.net/support/faq/index.{row['lang']}.html", row["question"], row["answer"])
    return list(sites.values())


def cloudflare(root: Path) -> list[Site]:
    """The Cloudflare DNS Updater FAQ, English and Spanish (four pages each)."""
    sites = {"en": Site("jmrplens.github.io/eng", "eng"), "es": Site("jmrplens.github.io/spa", "spa")}
    for path in sorted((root / "parallel" / "cloudflare-dns-updater-faq-jsonld").glob("*.jsonld")):
        page = json.loads(path.read_text(encoding="utf-8"))
        for qa in page["mainEntity"]:
            sites[path.name.split(".")[0]].add(page["@id"], qa["name"], qa["acceptedAnswer"]["text"])
    return list(sites.values())


def extracted(root: Path) -> list[Site]:
    """The FAQ HTML pages and the WDC N-Quads sample, through the project's own extraction
    (cleaning, filters, language identification), grouped by (origin, language) like the job."""
    from webfaq.config import Config
    from webfaq.counters import Counters
    from webfaq.extract.pipeline import QAProcessor, process_file
    from webfaq.extract.warc_reader import HtmlPage

    cfg = Config()
    cfg.extract.sandbox = False
    processor = QAProcessor(cfg)
    records = []
    for name, url in FAQ_HTML.items():
        page = HtmlPage(url, None, (root / "faq_html" / name).read_bytes(), "text/html")
        records += processor.page_records(page, CRAWL, name, Counters())
    cfg.input.format = "nquads"
    records += process_file(str(root / "wdc" / "FAQPage_sample.txt.gz"), cfg).records
    sites: dict[tuple[str, str], Site] = {}
    for r in records:
        host = r["origin"].split("://", 1)[1]
        site = sites.setdefault((r["origin"], r["language"]), Site(f"{host}/{r['language']}", r["language"]))
        site.add(r["url"], r["question"], r["answer"])
    return list(sites.values())


def real_sites(root: str | Path, min_questions: int = 2) -> list[Site]:
    """Every real FAQ site of ``root`` (``../shared/data``) with at least ``min_questions``
    distinct questions (a site of one question has no pair to get wrong)."""
    root = Path(root)
    sites = tails(root) + cloudflare(root) + extracted(root)
    return [s for s in sites if len(s.records) >= min_questions]


# --------------------------------------------------------------------------- planted variants

_SUFFIXES = (" - FAQ", " | FAQ", " (FAQ)", " – Frequently Asked Questions", " - Help Center", " | Support",
             " » Read more", " | {brand}", " - {brand}")


def _nospace_positions(text: str) -> list[int]:
    """Positions of characters of scripts written without spaces (Han, kana, Thai, ...): there
    a "word" edit is a character edit."""
    return [m.start() for m in NOSPACE_CHAR.finditer(text)]


def _case(text: str, rng: random.Random) -> str:
    return rng.choice([text.lower(), text.upper()]) if text.lower() != text.upper() else text


def _punctuation(text: str, rng: random.Random) -> str:
    stripped = "".join(" " if unicodedata.category(c).startswith("P") else c for c in text)
    choices = [" ".join(stripped.split()), re.sub(r"([^\w\s])", r"\1\1", text, count=1),
               re.sub(r"(\w)([^\w\s]+)$", r"\1 \2", text)]
    return rng.choice([c for c in choices if c != text] or [text])


def _typo(word: str, rng: random.Random) -> str:
    """Two adjacent inner letters swapped, or one inner letter dropped."""
    i = rng.randrange(1, len(word) - 2)
    if rng.random() < 0.5:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    return word[:i] + word[i + 1:]


def _one_word(text: str, rng: random.Random) -> str:
    chars = _nospace_positions(text)
    if len(chars) >= 2:  # one character deleted or repeated
        i = rng.choice(chars)
        return text[:i] + text[i + 1:] if rng.random() < 0.5 else text[:i + 1] + text[i:]
    words = text.split()
    long_words = [i for i, w in enumerate(words) if len(w) > TYPO_LETTERS and w.isalpha()]
    op = rng.choice(["delete", "repeat", "typo"] if long_words else ["delete", "repeat"])
    if op == "typo":
        i = rng.choice(long_words)
        words[i] = _typo(words[i], rng)
    elif op == "delete" and len(words) > 1:
        del words[rng.randrange(len(words))]
    else:
        i = rng.randrange(len(words))
        words.insert(i, words[i])
    return " ".join(words)


def _word_order(text: str, rng: random.Random) -> str:
    """Two adjacent words (characters, in scripts without spaces) swapped; the closing
    punctuation stays at the end."""
    body, end = re.match(r"(.*?)([^\w]*)$", text, re.S).groups()
    chars = [i for i in _nospace_positions(body) if i + 1 < len(body) and NOSPACE_CHAR.match(body[i + 1])]
    if chars:
        i = rng.choice(chars)
        return body[:i] + body[i + 1] + body[i] + body[i + 2:] + end
    words = body.split()
    if len(words) < 2:
        return text
    i = rng.randrange(len(words) - 1)
    words[i], words[i + 1] = words[i + 1], words[i]
    return " ".join(words) + end


def _boilerplate(text: str, rng: random.Random, brand: str) -> str:
    return text + rng.choice(_SUFFIXES).format(brand=brand)


def variant(text: str, kind: str, rng: random.Random, brand: str = "FAQ") -> str:
    """``text`` edited the ``kind`` way (may return ``text`` itself where the kind does not apply)."""
    if kind == "boilerplate":
        return _boilerplate(text, rng, brand)
    return {"case": _case, "punctuation": _punctuation, "one_word": _one_word, "word_order": _word_order}[kind](text, rng)


def brand(site: Site) -> str:
    """The site's name as its page titles show it: the host's main label, capitalised."""
    host = site.records[0]["origin"].split("://", 1)[1]
    labels = [l for l in host.split(".") if l not in ("www", "com", "org", "net", "de", "io", "github")]
    return (labels[0] if labels else host).capitalize()


def plant(site: Site, kind: str, seed: int = 0) -> list[dict]:
    """One ``kind`` variant of each question of ``site`` as a record of the same site (on a
    later page, with the original's answer), skipping variants equal to their original or to
    another question of the site. Each record carries ``planted_from``: the original's id."""
    rng = random.Random(f"{seed}:{site.name}:{kind}")
    taken = {r["question"] for r in site.records}
    out = []
    for r in site.records:
        text = variant(r["question"], kind, rng, brand(site))
        if text in taken or not text.strip():
            continue
        taken.add(text)
        row = faq_row(CRAWL, r["url"] + "?page=2", site.language, text, r["answer"])
        out.append({**row, "planted_from": r["id"]})
    return out


# --------------------------------------------------------------------------- evaluation

@dataclass
class SiteRates:
    """What rule 2 did to one site: distinct questions removed from the site as it is, and
    planted variants removed (per kind) from the site with them added."""

    site: str
    distinct: int
    distinct_removed: int
    planted: dict[str, int] = field(default_factory=dict)
    planted_removed: dict[str, int] = field(default_factory=dict)
    originals_lost: int = 0  # real questions removed in the planted runs (keep="none" loses them)

    @property
    def planted_total(self) -> int:
        return sum(self.planted.values())

    @property
    def planted_removed_total(self) -> int:
        return sum(self.planted_removed.values())


def _flagged(records: list[dict], embed, params) -> list[bool]:
    """Rule 2 exactly as ``refine_origin`` runs it: rows in (url, id) order, then each row's
    near-duplicate partner (returned in the order of ``records``)."""
    from webfaq.benchmark.refine import near_duplicate_partners

    order = sorted(range(len(records)), key=lambda i: (records[i]["url"], records[i]["id"]))
    questions = [records[i]["question"] for i in order]
    partner, _ = near_duplicate_partners(questions, embed(questions), params)
    out = [False] * len(records)
    for pos, i in enumerate(order):
        out[i] = bool(partner[pos] >= 0)
    return out


def site_rates(site: Site, embed, params, seed: int = 0, kinds: tuple[str, ...] = KINDS) -> SiteRates:
    """Rule 2 (``params``: a ``RefineParams``) on ``site`` alone, then on the site plus one
    planted kind at a time. ``embed(questions) -> unit-row array`` (queries)."""
    n = len(site.records)
    rates = SiteRates(site.name, n, sum(_flagged(site.records, embed, params)))
    for kind in kinds:
        planted = plant(site, kind, seed)
        if not planted:
            continue
        flags = _flagged(site.records + planted, embed, params)
        rates.planted[kind] = len(planted)
        rates.planted_removed[kind] = sum(flags[n:])
        rates.originals_lost += sum(flags[:n])
    return rates


def cached_embedder(embedder) -> Callable[[list[str]], np.ndarray]:
    """``embed(questions)`` encoding each distinct question once (as a query): the benchmark
    runs many rules over the same questions."""
    cache: dict[str, np.ndarray] = {}

    def embed(questions: list[str]) -> np.ndarray:
        new = [q for q in dict.fromkeys(questions) if q not in cache]
        if new:
            cache.update(zip(new, embedder.encode(new, "query")))
        return np.stack([cache[q] for q in questions]) if questions else np.zeros((0, embedder.dim), np.float32)

    return embed
