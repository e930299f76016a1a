"""Benchmark-shaped FAQ lakes from real sentences, for the benchmark tests and bench/benchmark.py.

Real FAQ pages in ../shared/data hold a few hundred QA pairs in all, too few for per-language
retrieval benchmarks, so QA pairs are made from real running text (the langid sentence files):
sentence ``i`` gives a question and, with sentence ``i + 1``, an answer, in one of two ways:

* ``restate``: the question is a few words of sentence ``i`` (in order) and the answer is
  sentences ``i`` and ``i + 1``, like an FAQ answer that restates its question;
* ``continue``: the question is the first half of sentence ``i`` and the answer its second half
  plus sentence ``i + 1``: related text with little word overlap.

Websites get Zipf-like shares of a language's QAs, so the split has big and small sites to
place. Rows use the lake's schema and :func:`support.faqsynth.write_lake` writes them.
"""

from __future__ import annotations

import random
from typing import Iterator

from support.faqsynth import faq_row

MODES = ("restate", "continue")


def make_qa(sentences: list[str], i: int, mode: str, rng: random.Random, words: int = 4) -> tuple[str, str]:
    """One (question, answer) from sentences ``i`` and ``i + 1``."""
    w = sentences[i].split()
    if mode == "restate":
        picked = sorted(rng.sample(range(len(w)), min(words, len(w))))
        return " ".join(w[j] for j in picked) + "?", f"{sentences[i]} {sentences[i + 1]}"
    half = max(1, len(w) // 2)
    return " ".join(w[:half]) + "?", " ".join(w[half:] + [sentences[i + 1]])


def _site_weights(sites: int) -> list[float]:
    return [1.0 / (k + 1) for k in range(sites)]


def language_rows(language: str, sentences: list[str], n: int, crawl: str, sites: int = 12, seed: int = 0,
                  restate_share: float = 0.5, start: int = 0) -> Iterator[dict]:
    """``n`` FAQ rows of one language over ``sites`` websites (stride 2 through the sentences,
    so no sentence is in two QAs)."""
    rng = random.Random(f"{seed}:{language}")
    weights = _site_weights(sites)
    for k in range(n):
        i = start + 2 * k
        if i + 1 >= len(sentences):
            return
        mode = "restate" if rng.random() < restate_share else "continue"
        question, answer = make_qa(sentences, i, mode, rng)
        site = rng.choices(range(sites), weights)[0]
        yield faq_row(crawl, f"https://{language}-site{site}.example/faq/{k:05d}", language, question, answer)
