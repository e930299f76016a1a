"""Hard negatives for the training queries (WebFAQ 2.0, method §10), mined per language.

For each training query: the BM25 top-k answers of its language's corpus (k = 200, k1 = 0.9,
b = 0.4), optionally rescored by the embedding model (query · answer cosine, kept as ``dense``
for MarginMSE-style training), and then cleaned:

* the positive itself is removed;
* near-duplicates of the positive are removed: the same text after lowercasing and collapsing
  whitespace, or (with embeddings) an answer cosine to the positive >= ``duplicate``;
* likely false negatives are removed: candidates whose score is above ``fn_margin`` x the
  positive's score (NV-Retriever's "TopK-PercPos"), on the dense score when rescoring, else on
  BM25 (0 turns this off). WebFAQ 2.0's own cut-offs are not published.

The remaining candidates stay in BM25 rank order, with their scores. One JSON line per query::

    {"query_id": "q<id>", "positive_id": "<id>", "positive": {"bm25": 7.1, "dense": 0.91},
     "negatives": [{"id": "<id>", "bm25": 6.3, "dense": 0.84}, ...]}

``mine`` is the body of one Spark task (a language's candidate corpus + a shard of its
queries, via ``cogroup.applyInPandas``): the corpus is indexed on the executor, never collected.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from webfaq.beir import query_id
from webfaq.bm25 import BM25Index, BM25Params

NEGATIVES_SCHEMA = ("language string, query_id string, line string, candidates long, removed_positive long, "
                    "removed_duplicate long, removed_false_negative long, kept long")
NEGATIVES_FUNNEL: list[tuple[str, list[str]]] = [
    ("negatives.candidates", ["negatives.kept", "negatives.removed."]),
]
_CHUNK = 256  # queries whose candidate embeddings are gathered at once (256 x k x dim floats)


@dataclass(frozen=True)
class NegativeParams:
    k: int = 200
    bm25: BM25Params = BM25Params()
    dense: bool = True
    fn_margin: float = 0.95
    duplicate: float = 0.97

    @classmethod
    def from_config(cls, bm: Any, duplicate: float) -> "NegativeParams":
        return cls(bm.k_negatives, BM25Params(bm.k1, bm.b, bm.analyzer), bm.dense_rescore, bm.fn_margin, duplicate)


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def _matrix(series: pd.Series) -> np.ndarray:
    return np.vstack(series.to_numpy()).astype(np.float32)


def _round(x: float) -> float:
    return round(float(x), 4)


def mine(corpus: pd.DataFrame, queries: pd.DataFrame, params: NegativeParams) -> pd.DataFrame:
    """One language's candidate ``corpus`` (``language, id, answer[, a_emb]``) and training
    ``queries`` (``id, question[, q_emb]``; the positive is the document with the query's id)
    -> one row per query (:data:`NEGATIVES_SCHEMA`)."""
    if corpus.empty or queries.empty:
        return pd.DataFrame(columns=[c.split()[0] for c in NEGATIVES_SCHEMA.split(", ")])
    corpus = corpus.sort_values("id", kind="stable").reset_index(drop=True)
    queries = queries.sort_values("id", kind="stable").reset_index(drop=True)
    ids = corpus["id"].to_numpy()
    pos = np.searchsorted(ids, queries["id"].to_numpy())
    pos = np.where((pos < len(ids)) & (ids[np.minimum(pos, len(ids) - 1)] == queries["id"].to_numpy()), pos, -1)
    if (pos < 0).any():
        raise ValueError(f"{int((pos < 0).sum())} training queries have no positive in the candidate corpus")
    index = BM25Index.build(corpus["answer"].tolist(), params.bm25)
    top, bm25 = index.search(queries["question"].tolist(), params.k)
    pos_bm25 = index.score(queries["question"].tolist(), pos)
    norms = np.array([_norm(t) for t in corpus["answer"]], dtype=object)
    a = _matrix(corpus["a_emb"]) if params.dense else None
    q = _matrix(queries["q_emb"]) if params.dense else None
    rows = []
    for lo in range(0, len(queries), _CHUNK):
        hi = min(len(queries), lo + _CHUNK)
        dense = dup_sim = pos_dense = None
        if params.dense:
            cand = a[np.maximum(top[lo:hi], 0)]                        # (chunk, k, dim)
            dense = np.einsum("qd,qkd->qk", q[lo:hi], cand)
            dup_sim = np.einsum("qd,qkd->qk", a[pos[lo:hi]], cand)
            pos_dense = (q[lo:hi] * a[pos[lo:hi]]).sum(axis=1)
        for j in range(hi - lo):
            i = lo + j
            rows.append(_clean_one(queries.at[i, "id"], ids, norms, pos[i], top[i], bm25[i], pos_bm25[i],
                                   None if dense is None else (dense[j], dup_sim[j], pos_dense[j]), params))
    out = pd.DataFrame(rows)
    out.insert(0, "language", corpus["language"].iloc[0])
    return out


def _clean_one(qa_id: str, ids: np.ndarray, norms: np.ndarray, pos: int, top: np.ndarray,
               bm25: np.ndarray, pos_bm25: float, dense: tuple | None, params: NegativeParams) -> dict:
    """Filter one query's candidates; the JSON line and the per-reason counts."""
    valid = top >= 0
    cand, scores = top[valid], bm25[valid]
    is_pos = cand == pos
    is_dup = ~is_pos & (norms[cand] == norms[pos])
    positive: dict[str, float] = {"bm25": _round(pos_bm25)}
    if dense is not None:
        d, dup, pos_dense = dense[0][valid], dense[1][valid], dense[2]
        is_dup |= ~is_pos & (dup >= params.duplicate)
        positive["dense"] = _round(pos_dense)
        teacher, teacher_pos = d, pos_dense
    else:
        d, teacher, teacher_pos = None, scores, pos_bm25
    is_fn = ~is_pos & ~is_dup & (teacher > params.fn_margin * teacher_pos)
    if params.fn_margin <= 0:
        is_fn[:] = False
    keep = ~(is_pos | is_dup | is_fn)
    negatives = [{"id": ids[c], "bm25": _round(s)} | ({"dense": _round(x)} if d is not None else {})
                 for c, s, x in zip(cand[keep], scores[keep], d[keep] if d is not None else scores[keep])]
    line = json.dumps({"query_id": query_id(qa_id), "positive_id": qa_id, "positive": positive,
                       "negatives": negatives}, separators=(",", ":"))
    return {"query_id": query_id(qa_id), "line": line, "candidates": int(len(cand)),
            "removed_positive": int(is_pos.sum()), "removed_duplicate": int(is_dup.sum()),
            "removed_false_negative": int(is_fn.sum()), "kept": int(keep.sum())}
