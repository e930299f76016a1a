"""Peak memory of MinHash signatures for one Arrow batch of very long answers (what a dedup
task holds for a website with megabyte answers; extraction keeps answers of any length up to the
page cap).

Usage:  .venv/bin/python bench/minhash_memory.py --answers 64 --chars 1000000   (one size per process)
"""

from __future__ import annotations

import argparse
import random
import resource
import time

import pandas as pd

from webfaq.dedup.rules import DedupParams, signatures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--answers", type=int, default=64)
    ap.add_argument("--chars", type=int, default=1_000_000)
    args = ap.parse_args()
    rng = random.Random(0)
    words = [f"w{i}" for i in range(5000)]
    text = " ".join(rng.choice(words) for _ in range(args.chars // 5))[:args.chars]
    pdf = pd.DataFrame({"question": [f"q {i}?" for i in range(args.answers)],
                        "answer": [text + str(i) for i in range(args.answers)], "language": ["eng"] * args.answers})
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    signatures(pdf, DedupParams())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{args.answers} answers x {args.chars:,} chars: signatures peak +{(peak - base) / 1024:.0f} MiB RSS, "
          f"{time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
