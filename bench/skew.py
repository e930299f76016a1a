"""Skewed lakes for the stages after extraction: one giant component, one huge bilingual
website, many tiny languages, one big language. Builds the lake (no Spark) and prints the
command to run on it; measure that command's peak RSS per process kind (the JVM, each Python
worker, the driver's Python) with any sampler of /proc (README, "Skewed inputs").

  near N    N pages on 10,000 hosts: the same long answer and a question, each with the page's
            number (one near-duplicate component of ~N)            -> webfaq dedup
  exact N   N pages on 10,000 hosts with the same question and answer -> webfaq dedup
  site2 N   one website, N/2 QAs in English and N/2 in German under one URL path (one block
            pair of N/2 x N/2 at the default --align-max-block 10,000) -> webfaq align
  tiny N    N languages of 3 QAs each, one website per QA         -> webfaq dedup
  onelang N N English QAs of 60 random words on 1,000 websites    -> webfaq benchmark

Usage:  .venv/bin/python bench/skew.py near 100000 /tmp/lake
"""

from __future__ import annotations

import itertools
import random
import string
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.faqsynth import faq_row, write_lake  # noqa: E402

CRAWL = "CC-MAIN-2024-22"
ANSWER = ("To return an item, open your orders page, choose the order, press the return button and print the "
          "label; parcels dropped at any post office within thirty days of delivery are refunded to the original "
          "payment method within five working days after our warehouse has checked the returned goods carefully.")
COMMANDS = {"near": "webfaq dedup --lake {out}", "exact": "webfaq dedup --lake {out}",
            "site2": "webfaq align --lake {out} --embed-backend hashing --align-candidate-threshold 0.1 "
                     "--align-final-threshold 0.2 --align-allow-empty",
            "tiny": "webfaq dedup --lake {out}",
            "onelang": "webfaq benchmark --lake {out} --embed-backend hashing --benchmark-beta 0 "
                       "--benchmark-duplicate 0.97 --benchmark-k-negatives 50"}


def rows(kind: str, n: int):
    """The records of one skewed lake (see the module docstring)."""
    rng = random.Random(0)
    vocab = [f"w{i}" for i in range(50_000)]
    codes = ("".join(c) for c in itertools.product(string.ascii_lowercase, repeat=3))
    for i in range(n):
        host = f"shop{i % 10_000}.example"
        if kind == "exact":
            yield faq_row(CRAWL, f"https://{host}/faq/{i}", "eng", "How do I return an item?", ANSWER)
        elif kind == "near":
            yield faq_row(CRAWL, f"https://{host}/faq/{i}", "eng", f"How do I return item number {i}?",
                          ANSWER + f" Reference {i}.")
        elif kind == "site2":
            lang = "eng" if i % 2 else "deu"
            yield faq_row(CRAWL, f"https://big.example/{lang[:2]}/faq?id={i // 2}", lang,
                          f"Question {i} about product {i * 7} in {lang}?", f"Answer {i} text {i * 13} for {lang} users.")
        elif kind == "tiny":
            code = next(codes)
            for j in range(3):
                yield faq_row(CRAWL, f"https://s{i}-{j}.example/faq", code, f"Question {i} {j} here?",
                              f"Answer {i} {j} text here.")
        elif kind == "onelang":
            yield faq_row(CRAWL, f"https://site{i % 1000}.example/faq/{i}", "eng",
                          " ".join(rng.choice(vocab) for _ in range(8)) + "?",
                          " ".join(rng.choice(vocab) for _ in range(60)))
        else:
            raise SystemExit(f"unknown kind {kind!r}: one of {', '.join(COMMANDS)}")


def main() -> None:
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    kind, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    print(f"{write_lake(rows(kind, n), out):,} records in {out}; run: {COMMANDS[kind].format(out=out)}")


if __name__ == "__main__":
    main()
