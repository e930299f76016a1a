"""``webfaq evaluate``: BM25 on a produced BEIR split, as a sanity check of the benchmark.

WebFAQ reports BM25 nDCG@10 of about 0.30 averaged over its 20 languages (method §6.3); a split
whose qrels point at the wrong documents scores near 0, one that leaks the answer text into the
query near 1, so an implausible number flags a broken benchmark before anyone trains on it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Sequence

from webfaq.benchmark import beir
from webfaq.benchmark.bm25 import BM25Index, BM25Params
from webfaq.benchmark.metrics import DEFAULT_METRICS, evaluate_run


def bm25_run(corpus: dict[str, str], queries: dict[str, str], params: BM25Params, k: int) -> dict[str, list[str]]:
    """Top-``k`` document ids per query (corpus order breaks score ties)."""
    doc_ids = list(corpus)
    index = BM25Index.build([corpus[d] for d in doc_ids], params)
    qids = list(queries)
    top, _ = index.search([queries[q] for q in qids], k)
    return {q: [doc_ids[j] for j in row if j >= 0] for q, row in zip(qids, top)}


def evaluate_folder(folder: str | Path, split: str = "test", params: BM25Params = BM25Params(),
                    metrics: Sequence[tuple[str, int]] = DEFAULT_METRICS) -> dict[str, Any]:
    """BM25 metrics of one language folder's ``split`` (queries of that split only)."""
    started = time.monotonic()
    corpus = beir.read_corpus(folder)
    qrels = beir.read_qrels(folder, split)
    queries = {q: t for q, t in beir.read_queries(folder).items() if q in qrels}
    missing = sorted({d for rel in qrels.values() for d in rel} - set(corpus))[:5]
    if missing or len(queries) != len(qrels):
        raise ValueError(f"{folder}: qrels point at missing documents {missing} or queries "
                         f"({len(qrels) - len(queries)} missing)")
    run = bm25_run(corpus, queries, params, max(k for _, k in metrics))
    out = evaluate_run(run, qrels, metrics)
    out.update(language=Path(folder).name, corpus=len(corpus), seconds=round(time.monotonic() - started, 3))
    return out


def evaluate_benchmark(root: str | Path, split: str = "test", params: BM25Params = BM25Params(),
                       languages: Sequence[str] = ()) -> dict[str, Any]:
    """Per-language metrics of every language folder under ``root`` and their unweighted mean
    (the mean over languages is what WebFAQ reports)."""
    folders = [f for f in beir.language_folders(root) if not languages or f.name in languages]
    if not folders:
        raise ValueError(f"no BEIR language folder (with {beir.CORPUS}) under {root}")
    per = [evaluate_folder(f, split, params) for f in folders]
    keys = [k for k in per[0] if "@" in k]
    mean = {k: sum(p[k] for p in per) / len(per) for k in keys}
    return {"split": split, "bm25": {"k1": params.k1, "b": params.b, "analyzer": params.analyzer},
            "languages": per, "mean": mean}
