"""Real parallel data as same-origin FAQ records with a known alignment (alignment tests and
``bench/align.py``).

Two sources under ``../shared/data/parallel``:

* ``cloudflare-dns-updater-faq-jsonld/{en,es}.<page>.jsonld``: a real multilingual FAQ site,
  one FAQPage per page and language, the same QAs in the same order; the ``@id`` URLs pair the
  languages (``/…/automation/`` and ``/…/es/automation/``). The truth is (page, position).
* ``tatoeba/tatoeba.<xxx>-eng.{xxx,eng}``: line-aligned sentence pairs. Two consecutive lines
  make one QA (question = line 2i, answer = line 2i+1) in each language; ``per_origin`` QAs
  share an origin and one page URL per language, like a small multilingual FAQ site.

Pairs whose two sides have the same question or the same answer are not in the truth: the
method drops such untranslated copies by design. A QA whose question repeats within its
(origin, language) is not emitted (the method keeps one per question).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

from webfaq.align.join import identical
from support.faqsynth import faq_row

CLOUDFLARE = "cloudflare-dns-updater-faq-jsonld"
TATOEBA_LANGS = ("ara", "cmn", "deu", "fra", "ita", "jpn", "nld", "pol", "por", "rus", "spa", "tur")
LAKE_CODE = {"cmn": "zho", "en": "eng", "es": "spa"}  # the lake's ISO 639-3 codes (fastText's zh -> zho)


class Parallel:
    """Records plus the set of true (origin, id, id) pairs, ids ordered as the sorted language
    codes (the bitext orientation)."""

    def __init__(self) -> None:
        self.records: list[dict] = []
        self.truth: set[tuple[str, str]] = set()
        self._questions: set[tuple[str, str, str]] = set()

    def add_pair(self, r1: dict, r2: dict, in_truth: bool = True) -> bool:
        """Add two aligned records (either may be None: a QA without a translation)."""
        present = [r for r in (r1, r2) if r is not None]
        if any((r["origin"], r["language"], r["question"]) in self._questions for r in present):
            return False
        for r in present:
            self._questions.add((r["origin"], r["language"], r["question"]))
            self.records.append(r)
        if r1 is not None and r2 is not None and in_truth and \
                not identical(r1["question"], r2["question"], r1["answer"], r2["answer"]):
            self.truth.add(truth_key(r1, r2))
        return True

    def __add__(self, other: "Parallel") -> "Parallel":
        out = Parallel()
        out.records, out.truth = self.records + other.records, self.truth | other.truth
        out._questions = self._questions | other._questions
        return out


def truth_key(r1: dict, r2: dict) -> tuple[str, str, str]:
    """(origin, id of the alphabetically first language, id of the other). The origin is part of
    the key: the same QA text on two sites is two alignments."""
    ids = (r1["id"], r2["id"]) if r1["language"] < r2["language"] else (r2["id"], r1["id"])
    return (r1["origin"], *ids)


def found_key(row: dict) -> tuple[str, str, str]:
    """The truth key of a bitext row (lake table or :func:`webfaq.align.join.align_reference`)."""
    return (row["origin"], row["id1"], row["id2"])


def _faq_page(path: Path) -> tuple[str, list[tuple[str, str]]]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    qas = [(e["name"], e["acceptedAnswer"]["text"]) for e in doc["mainEntity"]]
    return doc["@id"], qas


def cloudflare(root: str | Path, crawl: str = "CC-TEST", host: str | None = None,
               drop: Iterable[int] = ()) -> Parallel:
    """The English/Spanish FAQ site (19 QAs per language over 4 pages). ``host`` moves it to another origin (e.g. a second copy);
    ``drop`` lists Spanish QA numbers (0-based over all pages) left out, so their English
    partners have no translation."""
    base = Path(root) / CLOUDFLARE
    out, dropped, n = Parallel(), set(drop), 0
    for en_path in sorted(base.glob("en.*.jsonld")):
        en_url, en_qas = _faq_page(en_path)
        es_url, es_qas = _faq_page(base / ("es." + en_path.name[3:]))
        if host:
            en_url, es_url = (u.replace("https://jmrplens.github.io", f"https://{host}") for u in (en_url, es_url))
        for (q1, a1), (q2, a2) in zip(en_qas, es_qas, strict=True):
            en = faq_row(crawl, en_url, "eng", q1, a1)
            es = None if n in dropped else faq_row(crawl, es_url, "spa", q2, a2)
            out.add_pair(en, es)
            n += 1
    return out


def tatoeba(root: str | Path, languages: Iterable[str] = TATOEBA_LANGS, qas: int = 500, per_origin: int = 25,
            crawl: str = "CC-TEST") -> Parallel:
    """Tatoeba pairs with English as FAQ sites of ``per_origin`` QAs per language (at most
    ``qas`` QAs per language)."""
    base = Path(root) / "tatoeba"
    out = Parallel()
    for lang in languages:
        xx = _lines(base / f"tatoeba.{lang}-eng.{lang}")
        en = _lines(base / f"tatoeba.{lang}-eng.eng")
        code = LAKE_CODE.get(lang, lang)
        for i in range(min(qas, len(xx) // 2)):
            origin = f"https://tatoeba-{lang}-{i // per_origin:03d}.example"
            r1 = faq_row(crawl, f"{origin}/{lang}/faq/", code, xx[2 * i], xx[2 * i + 1])
            r2 = faq_row(crawl, f"{origin}/en/faq/", "eng", en[2 * i], en[2 * i + 1])
            out.add_pair(r1, r2)
    return out


def _lines(path: Path) -> list[str]:
    """Lines of a line-aligned file (every line kept, in order: alignment is by line number)."""
    lines = path.read_text(encoding="utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.strip() for line in lines]


def precision_recall(rows: Iterable[dict], truth: set[tuple[str, str, str]]) -> tuple[float, float, int]:
    """(precision, recall, true positives) of bitext rows against the truth."""
    found = {found_key(r) for r in rows}
    tp = len(found & truth)
    return (tp / len(found) if found else 1.0), (tp / len(truth) if truth else 1.0), tp


def faq_length_pairs(root: str | Path) -> list[tuple[str, str]]:
    """Real FAQ-length (question, answer) pairs, for embedding speed at the lengths a lake holds:
    the Tails FAQ in 9 languages (``tails-faq/qa_pairs.jsonl``, 173 rows, answers ~690 characters
    on average) and the Cloudflare DNS Updater FAQ in English and Spanish (38 rows, ~180)."""
    rows = [json.loads(line) for line in (Path(root) / "tails-faq" / "qa_pairs.jsonl").open(encoding="utf-8")]
    pairs = [(r["question"], r["answer"]) for r in rows]
    for path in sorted((Path(root) / CLOUDFLARE).glob("*.jsonld")):
        pairs += _faq_page(path)[1]
    return pairs
