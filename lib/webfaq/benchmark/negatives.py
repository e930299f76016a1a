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

In Spark, :func:`build_indexes` builds each language's :class:`NegativeIndex` once, in one
task, and saves it in the run's staging area; :func:`mine_shard` then mines each shard of the
language's queries against it (loaded once per Python worker, vectors memory-mapped). The corpus
is indexed on the executors, never collected, and not shipped to every shard. :func:`mine` does
both in one process (the reference the tests and the benchmark use).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import pickle
import tempfile
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from webfaq.benchmark.beir import query_id
from webfaq.benchmark.bm25 import BM25Index, BM25Params

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


def _text_key(text: str) -> int:
    """64-bit key of an answer's normalised text: equal keys = the same text (a collision is a
    2^-64 event), so a shard task needs no corpus strings to spot text duplicates."""
    return int.from_bytes(hashlib.blake2b(_norm(text).encode("utf-8"), digest_size=8).digest(), "little", signed=True)


def _matrix(series: pd.Series) -> np.ndarray:
    return np.vstack(series.to_numpy()).astype(np.float32)


def _round(x: float) -> float:
    return round(float(x), 4)


@dataclass
class NegativeIndex:
    """What mining needs of one language's candidate corpus, built once per language: the ids
    (sorted), the BM25 index, a key per normalised answer text, and the answer vectors when
    rescoring. The Spark job builds it in one task and every query-shard task of the language
    reads it, so the corpus is not shipped to each shard."""

    language: str
    ids: np.ndarray
    bm25: BM25Index
    text_keys: np.ndarray
    vectors: np.ndarray | None = None

    @classmethod
    def build(cls, corpus: pd.DataFrame, params: NegativeParams) -> "NegativeIndex":
        """From ``language, id, answer[, a_emb]`` rows (any order)."""
        corpus = corpus.sort_values("id", kind="stable").reset_index(drop=True)
        return cls(str(corpus["language"].iloc[0]), corpus["id"].to_numpy(),
                   BM25Index.build(corpus["answer"].tolist(), params.bm25),
                   np.array([_text_key(t) for t in corpus["answer"]], dtype=np.int64),
                   _matrix(corpus["a_emb"]) if params.dense else None)

    def save(self, uri: str) -> None:
        """``<uri>/vectors.npy`` (memory-mapped by readers) and ``<uri>/index.pkl`` (the rest).
        A file this job wrote itself, read back by its own tasks: never untrusted input."""
        from webfaq.lake import arrow_fs

        filesystem, path = arrow_fs(uri)
        filesystem.create_dir(path, recursive=True)
        if self.vectors is not None:
            buf = io.BytesIO()
            np.save(buf, self.vectors, allow_pickle=False)
            with filesystem.open_output_stream(f"{path}/vectors.npy") as out:
                out.write(buf.getbuffer())
        rest = dataclasses.replace(self, vectors=None)
        with filesystem.open_output_stream(f"{path}/index.pkl") as out:
            out.write(pickle.dumps((rest, self.vectors is not None), protocol=pickle.HIGHEST_PROTOCOL))

    @classmethod
    def load(cls, uri: str) -> "NegativeIndex":
        """Read what :meth:`save` wrote; the vectors are memory-mapped (from a local copy when
        the lake is remote), so the tasks of one machine share them through the page cache."""
        from webfaq.lake import arrow_fs

        filesystem, path = arrow_fs(uri)
        with filesystem.open_input_stream(f"{path}/index.pkl") as f:
            index, has_vectors = pickle.loads(f.read())  # noqa: S301 - written by this job (see save)
        if has_vectors:
            index.vectors = np.load(_local_copy(filesystem, f"{path}/vectors.npy"), mmap_mode="r")
        return index


def _local_copy(filesystem, path: str) -> str:
    """``path`` itself on a local file system, else a copy in the temp dir (once per machine)."""
    if filesystem.type_name == "local":
        return path
    target = os.path.join(tempfile.gettempdir(), "webfaq-negatives", hashlib.sha1(path.encode()).hexdigest() + ".npy")
    if not os.path.exists(target):
        os.makedirs(os.path.dirname(target), exist_ok=True)
        tmp = f"{target}.{os.getpid()}.tmp"
        with filesystem.open_input_stream(path) as src, open(tmp, "wb") as dst:
            while block := src.read(1 << 24):
                dst.write(block)
        os.replace(tmp, target)
    return target


_LOADED: dict[str, NegativeIndex] = {}


def cached_index(uri: str) -> NegativeIndex:
    """The index at ``uri``, loaded once per Python worker (Spark reuses workers across tasks;
    one language at a time is kept)."""
    if uri not in _LOADED:
        _LOADED.clear()
        _LOADED[uri] = NegativeIndex.load(uri)
    return _LOADED[uri]


def build_indexes(corpus: pd.DataFrame, root: str, params: NegativeParams) -> pd.DataFrame:
    """Spark task body (``groupBy("language").applyInPandas``): build and save one language's
    index under ``<root>/<language>``; returns ``language, docs, path``."""
    index = NegativeIndex.build(corpus, params)
    uri = f"{root.rstrip('/')}/{index.language}"
    index.save(uri)
    return pd.DataFrame({"language": [index.language], "docs": [len(index.ids)], "path": [uri]})


def mine_shard(queries: pd.DataFrame, paths: dict[str, str], params: NegativeParams) -> pd.DataFrame:
    """Spark task body (``groupBy("language", "shard").applyInPandas``): one shard of a
    language's training queries against the language's saved index."""
    language = str(queries["language"].iloc[0]) if not queries.empty else None
    if language not in paths:
        return _empty()
    return mine_with(cached_index(paths[language]), queries, params)


def mine(corpus: pd.DataFrame, queries: pd.DataFrame, params: NegativeParams) -> pd.DataFrame:
    """One language's candidate ``corpus`` (``language, id, answer[, a_emb]``) and training
    ``queries`` (``id, question[, q_emb]``; the positive is the document with the query's id)
    -> one row per query (:data:`NEGATIVES_SCHEMA`), in one process."""
    if corpus.empty or queries.empty:
        return _empty()
    return mine_with(NegativeIndex.build(corpus, params), queries, params)


def mine_with(index: NegativeIndex, queries: pd.DataFrame, params: NegativeParams) -> pd.DataFrame:
    """Training ``queries`` (``id, question[, q_emb]``) against a language's built index."""
    if queries.empty:
        return _empty()
    queries = queries.sort_values("id", kind="stable").reset_index(drop=True)
    ids = index.ids
    qids = queries["id"].to_numpy()
    pos = np.searchsorted(ids, qids)
    pos = np.where((pos < len(ids)) & (ids[np.minimum(pos, len(ids) - 1)] == qids), pos, -1)
    if (pos < 0).any():
        raise ValueError(f"{int((pos < 0).sum())} training queries have no positive in the candidate corpus")
    top, bm25 = index.bm25.search(queries["question"].tolist(), params.k)
    pos_bm25 = index.bm25.score(queries["question"].tolist(), pos)
    a = index.vectors if params.dense else None
    q = _matrix(queries["q_emb"]) if params.dense else None
    rows = []
    for lo in range(0, len(queries), _CHUNK):
        hi = min(len(queries), lo + _CHUNK)
        dense = dup_sim = pos_dense = None
        if a is not None:
            cand = np.asarray(a[np.maximum(top[lo:hi], 0)], dtype=np.float32)   # (chunk, k, dim)
            positives = np.asarray(a[pos[lo:hi]], dtype=np.float32)
            dense = np.einsum("qd,qkd->qk", q[lo:hi], cand)
            dup_sim = np.einsum("qd,qkd->qk", positives, cand)
            pos_dense = (q[lo:hi] * positives).sum(axis=1)
        for j in range(hi - lo):
            i = lo + j
            rows.append(_clean_one(qids[i], ids, index.text_keys, pos[i], top[i], bm25[i], pos_bm25[i],
                                   None if dense is None else (dense[j], dup_sim[j], pos_dense[j]), params))
    out = pd.DataFrame(rows)
    out.insert(0, "language", index.language)
    return out


def _empty() -> pd.DataFrame:
    return pd.DataFrame(columns=[c.split()[0] for c in NEGATIVES_SCHEMA.split(", ")])


def _clean_one(qa_id: str, ids: np.ndarray, text_keys: np.ndarray, pos: int, top: np.ndarray,
               bm25: np.ndarray, pos_bm25: float, dense: tuple | None, params: NegativeParams) -> dict:
    """Filter one query's candidates; the JSON line and the per-reason counts."""
    valid = top >= 0
    cand, scores = top[valid], bm25[valid]
    is_pos = cand == pos
    is_dup = ~is_pos & (text_keys[cand] == text_keys[pos])
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
