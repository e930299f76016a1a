"""Peak memory of building one language's BM25 index (what one hard-negative index task holds).

Synthetic documents of ``--words`` tokens drawn from a 50,000-word vocabulary; prints the
postings, the finished index's size and the process's peak RSS growth during
``BM25Index.build`` (ru_maxrss, so run one size per process).

Usage:  .venv/bin/python bench/bm25_memory.py --docs 200000 --words 60
"""

from __future__ import annotations

import argparse
import random
import resource
import time

from webfaq.benchmark.bm25 import BM25Index


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=100_000)
    ap.add_argument("--words", type=int, default=60)
    args = ap.parse_args()
    rng = random.Random(0)
    vocab = [f"w{i}" for i in range(50_000)]
    docs = [" ".join(rng.choice(vocab) for _ in range(args.words)) for _ in range(args.docs)]
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    index = BM25Index.build(docs)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    w = index.weights
    size = w.data.nbytes + w.indices.nbytes + w.indptr.nbytes
    print(f"docs {args.docs:,} x {args.words} words: {w.nnz:,} postings, index {size / 2**20:.0f} MiB, "
          f"build peak +{(peak - base) / 1024:.0f} MiB RSS, {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
