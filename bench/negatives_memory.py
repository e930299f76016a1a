"""Peak memory of the hard-negative tasks with a language's index in one piece or in shards.

One synthetic language (``--docs`` answers of ``--words`` tokens from a 50,000-word vocabulary,
questions of 8 of their words; BM25 only, as the memory is the index's) is indexed in 1 and in
``--shards`` shards; then each task body runs in a process of its own, and its peak RSS growth
over the same process before the task (resident memory sampled every 5 ms) is printed: the phase-1 task of the largest
shard (``shard_terms``: tokens counted), the phase-2 task (``shard_weights``: BM25 weights with
the language's statistics) and a mining task of ``--queries`` queries (``mine_shard``: every
shard in turn). The lines of the two mining runs are compared too.

Usage:  .venv/bin/python bench/negatives_memory.py --docs 400000 --words 60 --shards 4
"""

from __future__ import annotations

import argparse
import gc
import pickle
import random
import resource
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.shards import count_shards, language_statistics, shard_of, weight_shards  # noqa: E402

from webfaq.benchmark.negatives import NegativeParams, mine_shard, shard_terms, shard_weights  # noqa: E402

PARAMS = NegativeParams(k=200, dense=False)


def corpus(n: int, words: int) -> pd.DataFrame:
    rng = random.Random(0)
    vocab = [f"w{i}" for i in range(50_000)]
    answers = [" ".join(rng.choice(vocab) for _ in range(words)) for _ in range(n)]
    return pd.DataFrame({"language": "eng", "id": [f"{i:032x}" for i in range(n)], "answer": answers,
                         "question": [" ".join(a.split()[:8]) for a in answers]})


def child(task: str, work: str) -> None:
    """One task body in this fresh process; prints its peak RSS growth, keeps its output."""
    with open(f"{work}/{task}.pkl", "rb") as fh:
        args = pickle.load(fh)  # noqa: S301 - written by the parent a moment ago
    gc.collect()
    base, peak, done = _rss(), [0], threading.Event()

    def sample() -> None:  # ru_maxrss would still hold the peak of unpickling the arguments
        while not done.wait(0.005):
            peak[0] = max(peak[0], _rss())
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out = {"terms": shard_terms, "weights": shard_weights, "mine": mine_shard}[task](*args, params=PARAMS)
    done.set()
    sampler.join()
    out.to_pickle(f"{work}/{task}.out.pkl")
    print(f"+{(max(peak[0], _rss()) - base) / 2**20:.0f} MiB")


def _rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize()


def run_child(task: str, work: str, *args) -> tuple[str, pd.DataFrame]:
    with open(f"{work}/{task}.pkl", "wb") as fh:
        pickle.dump(args, fh)
    proc = subprocess.run([sys.executable, __file__, "--child", task, work], capture_output=True, text=True, check=True)
    return proc.stdout.strip(), pd.read_pickle(f"{work}/{task}.out.pkl")


def measure(docs: pd.DataFrame, queries: pd.DataFrame, nshards: int, work: str) -> pd.DataFrame:
    """Index the language in ``nshards`` (in this process), then measure the largest shard's
    two build tasks again and one mining task, each in a process of its own."""
    terms = count_shards(docs[["language", "id", "answer"]], f"{work}/index", PARAMS, nshards)
    totals, gdf = language_statistics(terms)
    paths = weight_shards(terms, f"{work}/index", PARAMS)
    sharded = docs.assign(shard=[shard_of(i, nshards) for i in docs["id"]])
    largest = sharded["shard"].value_counts().idxmax()
    shard = sharded[sharded["shard"] == largest][["language", "shard", "id", "answer"]]
    counting, counted = run_child("terms", work, shard, f"{work}/again")
    weighting, _ = run_child("weights", work, counted.merge(gdf, on=["language", "term"], how="left"),
                             f"{work}/again", totals)
    mining, mined = run_child("mine", work, queries, paths)
    print(f"{nshards:>3} shard(s), largest {len(shard):,} answers: count tokens {counting}, weights {weighting}; "
          f"mining {len(queries):,} queries over every shard {mining}")
    return mined[["query_id", "line"]].sort_values("query_id").reset_index(drop=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=400_000)
    ap.add_argument("--words", type=int, default=60)
    ap.add_argument("--shards", type=int, default=4)
    ap.add_argument("--queries", type=int, default=20_000)
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    docs = corpus(args.docs, args.words)
    queries = docs.sample(n=min(args.queries, len(docs)), random_state=0)[["language", "id", "question", "answer"]]
    print(f"one language: {args.docs:,} answers x {args.words} words, BM25 only, k = {PARAMS.k}")
    mined = []
    for nshards in (1, args.shards):
        with tempfile.TemporaryDirectory() as work:
            mined.append(measure(docs, queries, nshards, work))
    same = mined[0].equals(mined[1])
    print(f"hard-negative lines of the two runs equal: {same}")


if __name__ == "__main__":
    main()
