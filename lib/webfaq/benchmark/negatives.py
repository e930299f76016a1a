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

In Spark a language's candidate answers are indexed in shards (by a hash of the id, at most
``shard_docs`` answers each), so no task holds more than one shard's index, whatever the
language's size: English in a crawl that has grown for a year would not fit one worker. The
shards still score every answer exactly as one index of the whole language would, because BM25's
statistics (the number of answers, their mean length, each token's document frequency) are the
language's, not the shard's: :func:`shard_terms` counts each shard's tokens and saves the counts,
Spark sums the frequencies over the language, and :func:`shard_weights` turns each shard's counts
into BM25 weights with those sums (what Elasticsearch calls DFS query-then-fetch). Each task of
training queries (:func:`mine_shard`) then goes through the language's shards one at a time,
keeping the best ``k`` candidates so far (score, then id: the order one index gives), so the
lines are the same for any number of shards (tested). The positive's answer and vector come with
its query, so the duplicate and false-negative tests need nothing from the other shards.
:func:`mine` does it all in one process with one shard (the reference the tests and the
benchmark use).
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
from typing import Any, Iterable

import numpy as np
import pandas as pd

from webfaq.benchmark.beir import query_id
from webfaq.benchmark.bm25 import BM25Index, BM25Params, corpus_term_matrix

TERMS_SCHEMA = "language string, shard int, col long, term string, df long, tokens long"
INDEX_SCHEMA = "language string, shard int, docs long, path string"
TOTALS_TERM = ""  # the term of each shard's totals row (answers in df, tokens in tokens): no token is empty
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
    """What mining needs of one language's candidate corpus, or of one shard of it: the ids
    (sorted), the BM25 index, a key per normalised answer text, and the answer vectors when
    rescoring. The Spark job builds each shard once and every query task of the language reads
    them, so the corpus is not shipped to each task."""

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

    def save_index(self, uri: str, has_vectors: bool) -> None:
        """``<uri>/index.pkl``: everything but the vectors, which :func:`shard_terms` saved as
        ``<uri>/vectors.npy`` (memory-mapped by readers). A file this job wrote itself, read
        back by its own tasks: never untrusted input."""
        _write_file(uri, INDEX_FILE, pickle.dumps((dataclasses.replace(self, vectors=None), has_vectors),
                                                  protocol=pickle.HIGHEST_PROTOCOL))

    @classmethod
    def load(cls, uri: str) -> "NegativeIndex":
        """Read what :meth:`save_index` wrote; the vectors are memory-mapped (from a local copy when
        the lake is remote), so the tasks of one machine share them through the page cache."""
        from webfaq.lake import arrow_fs

        index, has_vectors = _read_pickle(uri, INDEX_FILE)
        if has_vectors:
            filesystem, path = arrow_fs(uri)
            index.vectors = np.load(_local_copy(filesystem, f"{path}/{VECTORS_FILE}"), mmap_mode="r")
        return index


INDEX_FILE, COUNTS_FILE, VECTORS_FILE = "index.pkl", "counts.pkl", "vectors.npy"


def _write_file(uri: str, name: str, data) -> None:
    """``<uri>/<name>`` (in the run's staging area, local or remote) holding ``data``."""
    from webfaq.lake import arrow_fs

    filesystem, path = arrow_fs(uri)
    filesystem.create_dir(path, recursive=True)
    with filesystem.open_output_stream(f"{path}/{name}") as out:
        out.write(data)


def _read_pickle(uri: str, name: str) -> Any:
    """A pickle this run's own tasks wrote in its staging area: never untrusted input."""
    from webfaq.lake import arrow_fs

    filesystem, path = arrow_fs(uri)
    with filesystem.open_input_stream(f"{path}/{name}") as f:
        return pickle.loads(f.read())  # noqa: S301 - written by this job's own tasks


def _save_vectors(uri: str, vectors: np.ndarray) -> None:
    buf = io.BytesIO()
    np.save(buf, vectors, allow_pickle=False)
    _write_file(uri, VECTORS_FILE, buf.getbuffer())


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


def shard_path(root: str, language: str, shard: int) -> str:
    return f"{root.rstrip('/')}/{language}/{shard:05d}"


def shard_terms(corpus: pd.DataFrame, root: str, params: NegativeParams) -> pd.DataFrame:
    """Spark task body (``groupBy("language", "shard").applyInPandas``), phase 1 of a sharded
    index: count the tokens of one shard's answers (``language, shard, id, answer[, a_emb]``),
    save the counts (and vectors) under :func:`shard_path`, and return one row per token column
    with its document frequency in the shard, plus a :data:`TOTALS_TERM` row with the shard's
    answers and tokens (:data:`TERMS_SCHEMA`)."""
    corpus = corpus.sort_values("id", kind="stable").reset_index(drop=True)
    language, shard = str(corpus["language"].iloc[0]), int(corpus["shard"].iloc[0])
    tf, vocab, lengths = corpus_term_matrix(corpus["answer"].tolist(), params.bm25.analyzer)
    uri = shard_path(root, language, shard)
    if params.dense:
        _save_vectors(uri, _matrix(corpus["a_emb"]))
    keys = np.array([_text_key(t) for t in corpus["answer"]], dtype=np.int64)
    counts = (corpus["id"].to_numpy(), tf, vocab, lengths, keys)
    _write_file(uri, COUNTS_FILE, pickle.dumps(counts, protocol=pickle.HIGHEST_PROTOCOL))
    columns = len(vocab)
    return pd.DataFrame({
        "language": language, "shard": shard,
        "col": np.append(np.arange(columns, dtype=np.int64), -1),
        "term": [*vocab, TOTALS_TERM],
        "df": np.append(np.bincount(tf.indices, minlength=columns), len(corpus)).astype(np.int64),
        "tokens": np.append(np.zeros(columns, dtype=np.int64), int(lengths.sum())),
    })


def shard_weights(terms: pd.DataFrame, root: str, totals: dict[str, tuple[int, int]],
                  params: NegativeParams) -> pd.DataFrame:
    """Spark task body (``groupBy("language", "shard").applyInPandas``), phase 2: one shard's
    token columns with their document frequency over the whole language (``col, gdf``; the
    totals row has ``col`` -1) and the language's (answers, tokens) in ``totals`` -> the shard's
    :class:`NegativeIndex`, saved next to its counts; returns :data:`INDEX_SCHEMA`."""
    language, shard = str(terms["language"].iloc[0]), int(terms["shard"].iloc[0])
    uri = shard_path(root, language, shard)
    ids, tf, vocab, lengths, text_keys = _read_pickle(uri, COUNTS_FILE)
    columns = terms[terms["col"] >= 0].sort_values("col")
    if not np.array_equal(columns["col"].to_numpy(), np.arange(len(vocab))):
        raise ValueError(f"{language} shard {shard}: {len(columns)} document frequencies for {len(vocab)} tokens")
    n_docs, n_tokens = totals[language]
    bm25 = BM25Index.from_counts(tf, vocab, lengths, columns["gdf"].to_numpy(), n_docs, n_tokens, params.bm25)
    NegativeIndex(language, ids, bm25, text_keys).save_index(uri, params.dense)
    return pd.DataFrame({"language": [language], "shard": [shard], "docs": [len(ids)], "path": [uri]})


def mine_shard(queries: pd.DataFrame, paths: dict[str, list[str]], params: NegativeParams) -> pd.DataFrame:
    """Spark task body (``groupBy("language", "shard").applyInPandas``): one shard of a
    language's training queries (``language, id, question, answer[, q_emb, a_emb]``: the
    answer and its vector are the positive's) against each of the language's saved index
    shards in turn, one in memory at a time."""
    language = str(queries["language"].iloc[0]) if not queries.empty else None
    if language not in paths:
        return _empty()
    return mine_with((cached_index(p) for p in paths[language]), queries, params)


def mine(corpus: pd.DataFrame, queries: pd.DataFrame, params: NegativeParams) -> pd.DataFrame:
    """One language's candidate ``corpus`` (``language, id, answer[, a_emb]``) and training
    ``queries`` (``id, question[, q_emb]``; the positive is the document with the query's id)
    -> one row per query (:data:`NEGATIVES_SCHEMA`), in one process, with one index."""
    if corpus.empty or queries.empty:
        return _empty()
    positives = corpus[["id", "answer", *(["a_emb"] if params.dense else [])]]
    queries = queries.drop(columns=[c for c in positives.columns if c != "id" and c in queries.columns])
    queries = queries.merge(positives, on="id", how="left")
    if queries["answer"].isna().any():
        raise _no_positive(int(queries["answer"].isna().sum()))
    return mine_with([NegativeIndex.build(corpus, params)], queries, params)


def mine_with(indexes: Iterable[NegativeIndex], queries: pd.DataFrame, params: NegativeParams) -> pd.DataFrame:
    """Training ``queries`` (``id, question, answer[, q_emb, a_emb]``) against the index
    shards of one language, taken one at a time: the best ``params.k`` candidates over all of
    them, by score and then id (an index orders its documents by id), then cleaned."""
    if queries.empty:
        return _empty()
    queries = queries.sort_values("id", kind="stable").reset_index(drop=True)
    best = _Candidates(queries, params)
    language = None
    for index in indexes:
        language = index.language
        best.add(index)
    if language is None or not best.found.all():
        raise _no_positive(int((~best.found).sum()))
    return best.cleaned(language)


def _no_positive(n: int) -> ValueError:
    return ValueError(f"{n} training queries have no positive in the candidate corpus")


def _id_bytes(ids) -> np.ndarray:
    """Ids as fixed-width UTF-8 bytes: a quarter of numpy's fixed-width str, in the same order
    (UTF-8's byte order is code point order), so the best candidates of 20,000 queries x 200
    hold 128 MB of md5 ids instead of 512."""
    return np.array([str(i).encode("utf-8") for i in ids], dtype=bytes)


_MERGE_ROWS = 1024  # queries whose candidates are merged at once


class _Candidates:
    """The best ``k`` candidates of each query over the index shards seen so far (id, BM25,
    text key, and where it lies: shard and position), and the positive's BM25 from the shard
    that holds it. Dense cosines are computed at the end, for the survivors only, from the
    shards' memory-mapped vectors: scoring every shard's top ``k`` would cost a shard count's
    multiple of one index's rescoring."""

    def __init__(self, queries: pd.DataFrame, params: NegativeParams):
        self.params = params
        self.qids = _id_bytes(queries["id"])
        self.questions = queries["question"].tolist()
        self.pos_keys = np.array([_text_key(t) for t in queries["answer"]], dtype=np.int64)
        self.q = _matrix(queries["q_emb"]) if params.dense else None
        self.p = _matrix(queries["a_emb"]) if params.dense else None
        self.pos_bm25 = np.zeros(len(queries), dtype=np.float32)
        self.found = np.zeros(len(queries), dtype=bool)
        self.vectors: list[np.ndarray] = []
        self.best: tuple[np.ndarray, ...] | None = None  # ids, scores, text keys, shard, position

    def add(self, index: NegativeIndex) -> None:
        ids = _id_bytes(index.ids)  # a shard holds at least one answer: Spark makes no empty groups
        loc = np.searchsorted(ids, self.qids)
        here = (loc < len(ids)) & (ids[np.minimum(loc, len(ids) - 1)] == self.qids)
        if here.any():
            self.pos_bm25[here] = index.bm25.score([self.questions[i] for i in np.flatnonzero(here)], loc[here])
            self.found |= here
        top, bm25 = index.bm25.search(self.questions, self.params.k)
        valid, at = top >= 0, np.maximum(top, 0)
        found = (np.where(valid, ids[at], b""), np.where(valid, bm25, -np.inf).astype(np.float32), index.text_keys[at],
                 np.full(top.shape, len(self.vectors), dtype=np.int32), top.astype(np.int32))
        self.vectors.append(index.vectors)
        if self.best is None:  # one index orders its candidates by score, then id, already
            self.best = found
            return
        if found[0].dtype.itemsize > self.best[0].dtype.itemsize:  # a longer id than any before
            self.best = (self.best[0].astype(found[0].dtype),) + self.best[1:]
        for lo in range(0, len(top), _MERGE_ROWS):  # the (rows x 2k) temporaries stay small
            rows = slice(lo, lo + _MERGE_ROWS)
            merged = [np.concatenate((mine[rows], new[rows]), axis=1) for mine, new in zip(self.best, found)]
            order = np.lexsort((merged[0], -merged[1]), axis=1)[:, :self.params.k]
            for mine, m in zip(self.best, merged):
                mine[rows] = np.take_along_axis(m, order, axis=1)

    def _dense(self) -> tuple[np.ndarray, np.ndarray]:
        """Cosine of each kept candidate to its query and to its positive, ``_CHUNK`` queries at
        a time: their candidates' vectors gathered from the shards that hold them into one
        (chunk, k, dim) block, so the arithmetic is the same for any number of shards."""
        _, scores, _, shard, pos = self.best
        dense, dup = np.zeros(scores.shape, np.float32), np.zeros(scores.shape, np.float32)
        for lo in range(0, len(scores), _CHUNK):
            hi = min(len(scores), lo + _CHUNK)
            if len(self.vectors) == 1:
                cand = np.asarray(self.vectors[0][np.maximum(pos[lo:hi], 0)], dtype=np.float32)
            else:
                cand = np.zeros(pos[lo:hi].shape + (self.q.shape[1],), dtype=np.float32)
                live = scores[lo:hi] > -np.inf
                for s, vectors in enumerate(self.vectors):
                    rows, cols = np.nonzero(live & (shard[lo:hi] == s))
                    cand[rows, cols] = vectors[pos[lo:hi][rows, cols]]
            dense[lo:hi] = np.einsum("qd,qkd->qk", self.q[lo:hi], cand)
            dup[lo:hi] = np.einsum("qd,qkd->qk", self.p[lo:hi], cand)
        return dense, dup

    def cleaned(self, language: str) -> pd.DataFrame:
        ids, scores, keys, _, _ = self.best
        dense = dup = pos_dense = None
        if self.q is not None:
            dense, dup = self._dense()
            pos_dense = (self.q * self.p).sum(axis=1)
        rows = []
        for i, qid in enumerate(self.qids):
            valid = scores[i] > -np.inf
            cosines = None if pos_dense is None else (dense[i][valid], dup[i][valid], pos_dense[i])
            rows.append(_clean_one(qid.decode(), ids[i][valid], keys[i][valid], self.pos_keys[i],
                                   scores[i][valid], self.pos_bm25[i], cosines, self.params))
        out = pd.DataFrame(rows)
        out.insert(0, "language", language)
        return out


def _empty() -> pd.DataFrame:
    return pd.DataFrame(columns=[c.split()[0] for c in NEGATIVES_SCHEMA.split(", ")])


def _clean_one(qa_id: str, cand: np.ndarray, keys: np.ndarray, pos_key: int, scores: np.ndarray,
               pos_bm25: float, dense: tuple | None, params: NegativeParams) -> dict:
    """Filter one query's candidates (ids as UTF-8 bytes, text keys and BM25, best first); the
    JSON line and the per-reason counts."""
    is_pos = cand == qa_id.encode("utf-8")
    is_dup = ~is_pos & (keys == pos_key)
    positive: dict[str, float] = {"bm25": _round(pos_bm25)}
    if dense is not None:
        d, dup, pos_dense = dense
        is_dup |= ~is_pos & (dup >= params.duplicate)
        positive["dense"] = _round(pos_dense)
        teacher, teacher_pos = d, pos_dense
    else:
        d, teacher, teacher_pos = None, scores, pos_bm25
    is_fn = ~is_pos & ~is_dup & (teacher > params.fn_margin * teacher_pos)
    if params.fn_margin <= 0:
        is_fn[:] = False
    keep = ~(is_pos | is_dup | is_fn)
    negatives = [{"id": c.decode("utf-8"), "bm25": _round(s)} | ({"dense": _round(x)} if d is not None else {})
                 for c, s, x in zip(cand[keep], scores[keep], d[keep] if d is not None else scores[keep])]
    line = json.dumps({"query_id": query_id(qa_id), "positive_id": qa_id, "positive": positive,
                       "negatives": negatives}, separators=(",", ":"))
    return {"query_id": query_id(qa_id), "line": line, "candidates": int(len(cand)),
            "removed_positive": int(is_pos.sum()), "removed_duplicate": int(is_dup.sum()),
            "removed_false_negative": int(is_fn.sum()), "kept": int(keep.sum())}
