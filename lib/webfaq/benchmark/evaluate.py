"""``webfaq evaluate``: BM25 on a produced BEIR split, as a sanity check of the benchmark.

WebFAQ reports BM25 nDCG@10 of about 0.30 averaged over its 20 languages (method §6.3); a split
whose qrels point at the wrong documents scores near 0, one that leaks the answer text into the
query near 1, so an implausible number flags a broken benchmark before anyone trains on it.
The mean is over the languages that have queries in the split; every language is listed with
its counts of queries and documents.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from webfaq.benchmark import beir
from webfaq.benchmark.bm25 import BM25Index, BM25Params
from webfaq.benchmark.metrics import DEFAULT_METRICS, evaluate_run

DECIMALS = 6


def bm25_run(corpus: dict[str, str], queries: dict[str, str], params: BM25Params, k: int) -> dict[str, list[str]]:
    """Top-``k`` document ids per query (corpus order breaks score ties)."""
    doc_ids = list(corpus)
    index = BM25Index.build([corpus[d] for d in doc_ids], params)
    qids = list(queries)
    top, _ = index.search([queries[q] for q in qids], k)
    return {q: [doc_ids[j] for j in row if j >= 0] for q, row in zip(qids, top)}


def evaluate_folder(folder: str | Path, split: str = "test", params: BM25Params = BM25Params(),
                    metrics: Sequence[tuple[str, int]] = DEFAULT_METRICS) -> dict[str, Any]:
    """BM25 metrics of one language folder's ``split`` (queries of that split only), with its
    counts of queries and documents. A folder without queries in ``split`` (no qrels file, or
    only its header, as older runs wrote) has ``queries`` 0 and no metric: it has nothing to
    score, and a 0 would pull the mean over languages down."""
    corpus = beir.read_corpus(folder)
    out: dict[str, Any] = {"language": Path(folder).name, "docs": len(corpus), "queries": 0}
    if not beir.qrels_path(folder, split).exists():
        return out
    qrels = beir.read_qrels(folder, split)
    queries = {q: t for q, t in beir.read_queries(folder).items() if q in qrels}
    missing = sorted({d for rel in qrels.values() for d in rel} - set(corpus))[:5]
    if missing or len(queries) != len(qrels):
        raise ValueError(f"{folder}: qrels point at missing documents {missing} or queries "
                         f"({len(qrels) - len(queries)} missing)")
    if not qrels:
        return out
    run = bm25_run(corpus, queries, params, max(k for _, k in metrics))
    out.update(evaluate_run(run, qrels, metrics))
    return out


def evaluate_benchmark(root: str | Path, split: str = "test", params: BM25Params = BM25Params(),
                       languages: Sequence[str] = ()) -> dict[str, Any]:
    """Per-language metrics and counts of every language folder under ``root`` and their
    unweighted mean over the languages with queries in ``split`` (the mean over languages is
    what WebFAQ reports). Metrics are rounded to ``DECIMALS`` places and no timing is included,
    so the same benchmark gives the same JSON, byte for byte."""
    folders = [f for f in beir.language_folders(root) if not languages or f.name in languages]
    if not folders:
        raise ValueError(f"no BEIR language folder (with {beir.CORPUS}) under {root}")
    per = [evaluate_folder(f, split, params) for f in folders]
    scored = [p for p in per if p["queries"]]
    if not scored:
        raise ValueError(f"no language under {root} has {split} queries")
    keys = [k for k in scored[0] if "@" in k]
    mean = {k: round(sum(p[k] for p in scored) / len(scored), DECIMALS) for k in keys}
    rows = [{k: round(v, DECIMALS) if isinstance(v, float) else v for k, v in p.items()} for p in per]
    return {"split": split, "bm25": {"k1": params.k1, "b": params.b, "analyzer": params.analyzer},
            "languages": rows, "mean": mean, "mean_over": [p["language"] for p in scored],
            "without_queries": [p["language"] for p in per if not p["queries"]]}
