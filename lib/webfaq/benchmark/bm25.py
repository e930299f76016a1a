"""BM25 over scipy sparse matrices: the benchmark's lexical baseline and the hard-negative miner.

Why our own: the method's BM25 is Pyserini (Lucene, a JVM and an index on disk per language);
here one language's index has to be built inside a Spark task from a pandas frame, so it is a
pair of CSR matrices built with numpy in memory, and scoring a batch of queries is one sparse
matrix product.

Scoring (Lucene's ``BM25Similarity`` since Lucene 8, as Pyserini/Anserini use it)::

    score(q, d) = sum over query tokens t of  idf(t) * tf(t, d) / (tf(t, d) + k1 * (1 - b + b * |d| / avgdl))
    idf(t)      = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))

* The idf is Lucene's non-negative "plus one inside the log" variant (not Robertson-Sparck
  Jones' ``ln((N - df + 0.5) / (df + 0.5))``, which goes negative for terms in over half the
  documents, and not rank_bm25's epsilon floor).
* Lucene dropped the constant ``(k1 + 1)`` numerator factor in 8.0; so do we (rankings are the
  same either way).
* A token repeated in the query contributes once per occurrence, as a Lucene BooleanQuery of one
  TermQuery per token does.
* Differences from Lucene: document lengths are exact (Lucene stores them lossily in one byte),
  and the analyzer is ours (below), so scores match Lucene's to within the length rounding only
  when the tokens are the same.

Analyzers (``tokenize``):

* ``unicode`` (default): lowercase, then maximal runs of letters, digits and combining marks
  (Python's ``\\w`` alone splits Devanagari or Thai words at their vowel signs); runs in scripts
  written without spaces (Han, kana, Thai, Lao, Khmer, Myanmar) become overlapping character
  bigrams, as Lucene's CJK analyzer does (a lone character stays a unigram).
* ``whitespace``: Lucene's WhitespaceAnalyzer (split on whitespace, case kept), which the
  WebFAQ paper names for its BM25 baseline; useless for languages written without spaces.

Ties are broken by document position (lower first), so results are deterministic when the
corpus is given in a fixed order.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Sequence

import numpy as np
import scipy.sparse as sp

ANALYZERS = ("unicode", "whitespace")

# Scripts written without spaces between words: Han (+ CJK extension A, compatibility
# ideographs), hiragana/katakana, Thai, Lao, Myanmar, Khmer.
NOSPACE_RANGES = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0e7f\u0e80-\u0eff\u1000-\u109f\u1780-\u17ff"
_NOSPACE_RUN = re.compile(f"[{NOSPACE_RANGES}]+")


@lru_cache(maxsize=1)
def _token_pattern() -> re.Pattern:
    """``\\w`` plus every combining mark of the Basic Multilingual Plane (built once, ~20 ms)."""
    marks, start, prev = [], None, None
    for cp in range(0x0300, 0x10000):
        if unicodedata.category(chr(cp)).startswith("M"):
            if start is None:
                start = cp
            elif cp != prev + 1:
                marks.append((start, prev))
                start = cp
            prev = cp
    if start is not None:
        marks.append((start, prev))
    ranges = "".join(f"\\u{a:04x}-\\u{b:04x}" if a != b else f"\\u{a:04x}" for a, b in marks)
    return re.compile(f"[\\w{ranges}]+")


def _bigrams(run: str) -> list[str]:
    return [run] if len(run) < 2 else [run[i:i + 2] for i in range(len(run) - 1)]


def _split_nospace(word: str) -> list[str]:
    """A word containing no-space-script characters: those runs as bigrams, the rest as words."""
    out, pos = [], 0
    for m in _NOSPACE_RUN.finditer(word):
        if m.start() > pos:
            out.append(word[pos:m.start()])
        out.extend(_bigrams(m.group()))
        pos = m.end()
    if pos < len(word):
        out.append(word[pos:])
    return out


def tokenize(text: str, analyzer: str = "unicode") -> list[str]:
    """The tokens BM25 sees for ``text`` (see the module docstring for the analyzers)."""
    if analyzer == "whitespace":
        return text.split()
    words = _token_pattern().findall(text.lower())
    if not _NOSPACE_RUN.search(text):
        return words
    out: list[str] = []
    for word in words:
        out.extend(_split_nospace(word) if _NOSPACE_RUN.search(word) else [word])
    return out


@dataclass(frozen=True)
class BM25Params:
    k1: float = 0.9
    b: float = 0.4
    analyzer: str = "unicode"


BUILD_CHUNK_DOCS = 10_000  # documents tokenised at once while an index is built


def _term_matrix(token_lists: Sequence[list[str]], vocab: dict[str, int]):
    """(rows x vocabulary) CSR matrix of token counts of ``token_lists`` against a fixed
    ``vocab`` (queries: unknown tokens are dropped) and the token count of each row."""
    lengths = np.fromiter((len(t) for t in token_lists), dtype=np.int64, count=len(token_lists))
    flat = [tok for toks in token_lists for tok in toks]
    rows = np.repeat(np.arange(len(token_lists), dtype=np.int64), lengths)
    cols = np.fromiter((vocab.get(tok, -1) for tok in flat), dtype=np.int64, count=len(flat))
    known = cols >= 0
    rows, cols = rows[known], cols[known]
    data = np.ones(len(cols), dtype=np.float32)
    m = sp.csr_matrix((data, (rows, cols)), shape=(len(token_lists), len(vocab)), dtype=np.float32)
    m.sum_duplicates()
    return m, vocab, lengths


def corpus_term_matrix(docs: Sequence[str], analyzer: str = "unicode",
                       chunk: int = BUILD_CHUNK_DOCS) -> tuple[sp.csr_matrix, dict[str, int], np.ndarray]:
    """(docs x vocabulary) CSR matrix of token counts, the vocabulary (token -> column, in token
    order: :func:`_in_token_order`) and each document's token count.

    Why in chunks: a language's whole corpus is indexed in one Spark task, and holding every
    document's token list at once (Python strings, a flat copy and an object array for
    factorising) cost ~17x the finished index (100k docs x 60 tokens: +793 MiB for a 46 MiB
    index). Tokenising ``chunk`` documents at a time keeps only the vocabulary, the postings
    (int32 column, float32 count) and one chunk's tokens alive, whatever the corpus size."""
    import pandas as pd

    vocab: dict[str, int] = {}
    lengths = np.zeros(len(docs), dtype=np.int64)
    indptr, indices, data = [np.zeros(1, dtype=np.int64)], [], []
    offset = 0
    for lo in range(0, len(docs), max(1, chunk)):
        token_lists = [tokenize(d, analyzer) for d in docs[lo:lo + chunk]]
        n = len(token_lists)
        counts = np.fromiter((len(t) for t in token_lists), dtype=np.int64, count=n)
        lengths[lo:lo + n] = counts
        codes, uniques = pd.factorize(pd.Series([tok for toks in token_lists for tok in toks], dtype=object),
                                      sort=False)
        del token_lists
        global_ids = np.fromiter((vocab.setdefault(tok, len(vocab)) for tok in uniques), dtype=np.int64,
                                 count=len(uniques))
        rows = np.repeat(np.arange(n, dtype=np.int64), counts)
        m = sp.csr_matrix((np.ones(len(codes), dtype=np.float32), (rows, global_ids[codes])),
                          shape=(n, max(len(vocab), 1)), dtype=np.float32)
        m.sum_duplicates()  # also sorts each row's columns
        indptr.append(m.indptr[1:].astype(np.int64) + offset)
        indices.append(m.indices.astype(np.int32))
        data.append(m.data)
        offset += m.nnz
    tf = sp.csr_matrix((np.concatenate(data) if data else np.zeros(0, np.float32),
                        np.concatenate(indices) if indices else np.zeros(0, np.int32),
                        np.concatenate(indptr)), shape=(len(docs), len(vocab)), dtype=np.float32)
    return _in_token_order(tf, vocab) + (lengths,)


def _in_token_order(tf: sp.csr_matrix, vocab: dict[str, int]) -> tuple[sp.csr_matrix, dict[str, int]]:
    """``tf`` and ``vocab`` with the columns in token order. Why: a query's score sums its
    tokens' weights in column order, and float32 sums in another order differ in the last bit;
    with columns in token order, any two indexes order any two tokens alike, so a shard of a
    corpus scores each document bit for bit as an index of the whole corpus does."""
    tokens = list(vocab)
    order = sorted(range(len(tokens)), key=tokens.__getitem__)
    rank = np.empty(len(tokens), dtype=np.int32)
    rank[order] = np.arange(len(tokens), dtype=np.int32)
    tf.indices = rank[tf.indices]
    tf.has_sorted_indices = False
    tf.sort_indices()
    return tf, {tokens[o]: i for i, o in enumerate(order)}


class BM25Index:
    """An in-memory BM25 index: ``weights`` (terms x docs, CSR) holds each posting's full BM25
    term weight, so a query's scores are ``counts @ weights``."""

    def __init__(self, weights: sp.csr_matrix, vocab: dict[str, int], params: BM25Params, idf: np.ndarray):
        self.weights = weights
        self.vocab = vocab
        self.params = params
        self.idf = idf
        self.df = np.diff(weights.indptr)

    @property
    def num_docs(self) -> int:
        return self.weights.shape[1]

    @classmethod
    def build(cls, docs: Sequence[str], params: BM25Params = BM25Params()) -> "BM25Index":
        tf, vocab, dl = corpus_term_matrix(docs, params.analyzer)
        df = np.bincount(tf.indices, minlength=len(vocab))
        return cls.from_counts(tf, vocab, dl, df, len(docs), int(dl.sum()), params)

    @classmethod
    def from_counts(cls, tf: sp.csr_matrix, vocab: dict[str, int], dl: np.ndarray, df: np.ndarray,
                    n_docs: int, n_tokens: int, params: BM25Params) -> "BM25Index":
        """The index of the documents whose token counts are ``tf`` (docs x ``vocab``, consumed)
        and lengths ``dl``, scored with the statistics of the corpus they belong to: its
        ``n_docs`` documents, ``n_tokens`` tokens and each column's document frequency ``df``.
        Those of the documents themselves give :meth:`build`; those of a whole language give a
        shard of it that scores every document exactly as the whole language's index would (the
        hard-negative miner's shards)."""
        n = max(n_docs, 1)
        avgdl = max(n_tokens / n_docs if n_docs else 0.0, 1e-9)
        df = np.asarray(df, dtype=np.float64)
        idf = np.log1p((n - df + 0.5) / (df + 0.5))
        norm = params.k1 * (1.0 - params.b + params.b * dl / avgdl)  # per document
        _bm25_weights_inplace(tf, idf, norm)
        return cls(tf.T.tocsr(), vocab, params, idf)

    def query_matrix(self, queries: Sequence[str]) -> sp.csr_matrix:
        """(queries x vocabulary) token counts; out-of-vocabulary tokens score nothing."""
        return _term_matrix([tokenize(q, self.params.analyzer) for q in queries], self.vocab)[0]

    def score(self, queries: Sequence[str], docs: np.ndarray) -> np.ndarray:
        """BM25 of each query against one given document (``docs[i]`` for ``queries[i]``). The
        documents' columns are taken from the index as they are: a document-major copy of the
        whole index (as this once made) doubled a mining task's index memory for a few
        thousand positives."""
        q = self.query_matrix(queries)
        d = self.weights[:, np.asarray(docs, dtype=np.int64)].T.tocsr()
        return np.asarray(q.multiply(d).sum(axis=1), dtype=np.float32).ravel()

    def search(self, queries: Sequence[str], k: int, max_postings: int = 20_000_000) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` documents per query: (indices, scores), each (n_queries, k), best first,
        padded with -1 / 0 where fewer than ``k`` documents share a token with the query.
        Queries are scored in batches whose postings total at most ``max_postings`` (the size of
        the sparse score block), so memory stays bounded on large corpora."""
        q = self.query_matrix(queries)
        idx = np.full((q.shape[0], k), -1, dtype=np.int64)
        val = np.zeros((q.shape[0], k), dtype=np.float32)
        for lo, hi in _batches(q @ self.df.astype(np.float64) if q.shape[0] else np.zeros(0), max_postings):
            block = (q[lo:hi] @ self.weights).tocsr()
            for i in range(hi - lo):
                top_i, top_v = _row_top_k(block, i, k)
                idx[lo + i, :len(top_i)] = top_i
                val[lo + i, :len(top_v)] = top_v
        return idx, val


def _bm25_weights_inplace(tf: sp.csr_matrix, idf: np.ndarray, norm: np.ndarray,
                          chunk: int = BUILD_CHUNK_DOCS) -> None:
    """Turn the counts of ``tf`` (docs x terms) into BM25 term weights in place, ``chunk``
    documents at a time: the float64 temporaries then stay one chunk's postings long instead of
    five copies of the whole corpus's (which cost more than the index itself)."""
    for lo in range(0, tf.shape[0], max(1, chunk)):
        hi = min(tf.shape[0], lo + chunk)
        a, b = tf.indptr[lo], tf.indptr[hi]
        rows = np.repeat(np.arange(lo, hi), np.diff(tf.indptr[lo:hi + 1]))
        tfv = tf.data[a:b].astype(np.float64)
        tf.data[a:b] = (idf[tf.indices[a:b]] * tfv / (tfv + norm[rows])).astype(np.float32)


def _batches(postings: np.ndarray, budget: int) -> Iterable[tuple[int, int]]:
    """Consecutive [lo, hi) ranges whose summed posting counts stay within ``budget`` (a single
    query over budget gets a range of its own)."""
    lo, acc = 0, 0.0
    for i, p in enumerate(postings):
        if i > lo and acc + p > budget:
            yield lo, i
            lo, acc = i, 0.0
        acc += p
    if lo < len(postings):
        yield lo, len(postings)


def _row_top_k(block: sp.csr_matrix, i: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Best ``k`` (doc, score) of row ``i``: score descending, then document position ascending."""
    start, end = block.indptr[i], block.indptr[i + 1]
    docs, scores = block.indices[start:end], block.data[start:end]
    if len(docs) > k:
        cut = np.partition(scores, len(scores) - k)[len(scores) - k]
        keep = scores >= cut  # ties at the cut are all kept, then ordered
        docs, scores = docs[keep], scores[keep]
    order = np.lexsort((docs, -scores))[:k]
    return docs[order].astype(np.int64), scores[order]
