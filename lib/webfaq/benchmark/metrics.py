"""Retrieval metrics as BEIR/MTEB report them (pytrec_eval's definitions), in plain Python.

Why not pytrec_eval: it is a C extension we do not otherwise need, and the sanity evaluation
has to run wherever ``webfaq`` runs. The definitions follow trec_eval:

* ``ndcg@k``   = DCG@k / IDCG@k, DCG@k = sum over ranks i <= k of rel_i / log2(i + 1), with the
  graded relevance from the qrels as gain; IDCG@k is the DCG of the judged documents sorted by
  relevance. (WebFAQ has one relevant document per query, so this is 1 / log2(rank + 1).)
* ``mrr@k``    = 1 / rank of the first relevant document if it is within the top k, else 0.
* ``recall@k`` = relevant documents in the top k / relevant documents judged for the query.

Every query in the qrels counts; a query with no results scores 0 (trec_eval's ``-c``
convention, which BEIR's numbers assume). The ranking is taken as given: callers rank by score
and break ties themselves (trec_eval would re-sort ties by document id).
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

Qrels = Mapping[str, Mapping[str, int]]
Run = Mapping[str, Sequence[str]]


def ndcg_at_k(ranked: Sequence[str], relevant: Mapping[str, int], k: int) -> float:
    gains = sorted((g for g in relevant.values() if g > 0), reverse=True)[:k]
    ideal = sum(g / math.log2(i + 2) for i, g in enumerate(gains))
    if ideal == 0:
        return 0.0
    dcg = sum(relevant.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(ranked[:k]))
    return dcg / ideal


def mrr_at_k(ranked: Sequence[str], relevant: Mapping[str, int], k: int) -> float:
    for i, doc in enumerate(ranked[:k]):
        if relevant.get(doc, 0) > 0:
            return 1.0 / (i + 1)
    return 0.0


def recall_at_k(ranked: Sequence[str], relevant: Mapping[str, int], k: int) -> float:
    wanted = {d for d, g in relevant.items() if g > 0}
    if not wanted:
        return 0.0
    return len(wanted.intersection(ranked[:k])) / len(wanted)


METRICS = {"ndcg": ndcg_at_k, "mrr": mrr_at_k, "recall": recall_at_k}
DEFAULT_METRICS = (("ndcg", 10), ("mrr", 10), ("recall", 100))


def evaluate_run(run: Run, qrels: Qrels, metrics: Sequence[tuple[str, int]] = DEFAULT_METRICS) -> dict[str, float]:
    """Mean of each ``(metric, k)`` over the queries of ``qrels``, keyed ``"ndcg@10"`` etc."""
    queries = [q for q, rel in qrels.items() if any(g > 0 for g in rel.values())]
    out = {}
    for name, k in metrics:
        fn = METRICS[name]
        total = sum(fn(run.get(q, ()), qrels[q], k) for q in queries)
        out[f"{name}@{k}"] = total / len(queries) if queries else 0.0
    out["queries"] = len(queries)
    return out
