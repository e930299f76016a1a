"""BM25: hand-computed scores on a toy corpus, the exact Lucene formula against a per-document
Python reference on real sentences, analyzers, batching and tie order."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from conftest import SHARED, shared_path
from webfaq.benchmark.bm25 import BM25Index, BM25Params, tokenize
from support.faqsynth import langid_sentences

TOY = ["apple banana", "apple apple cherry", "banana cherry date", "date"]


def test_toy_scores_by_hand():
    # N = 4, avgdl = (2 + 3 + 3 + 1) / 4 = 2.25, k1 = 0.9, b = 0.4.
    # "apple": df = 2, idf = ln(1 + (4 - 2 + 0.5) / (2 + 0.5)) = ln 2 = 0.693147.
    #   doc 0 (tf 1, |d| 2): 0.9 * (0.6 + 0.4 * 2 / 2.25) = 0.86 -> 0.693147 * 1 / 1.86 = 0.372660
    #   doc 1 (tf 2, |d| 3): 0.9 * (0.6 + 0.4 * 3 / 2.25) = 1.02 -> 0.693147 * 2 / 3.02 = 0.459038
    # "banana date" on doc 2 (tf 1 + 1, |d| 3): 2 * 0.693147 / 2.02 = 0.686284;
    #   on doc 3 ("date" only, |d| 1): 0.9 * (0.6 + 0.4 / 2.25) = 0.7 -> 0.693147 / 1.7 = 0.407734
    index = BM25Index.build(TOY)
    top, scores = index.search(["apple", "banana date"], k=3)
    assert top[0].tolist() == [1, 0, -1]
    assert scores[0][:2] == pytest.approx([0.459038, 0.372660], abs=1e-6)
    assert top[1].tolist() == [2, 3, 0]
    assert scores[1] == pytest.approx([0.686284, 0.407734, 0.372660], abs=1e-6)
    assert index.score(["apple", "banana date"], np.array([0, 3])) == pytest.approx([0.372660, 0.407734], abs=1e-6)


def test_repeated_query_token_counts_twice_and_unknown_tokens_score_nothing():
    index = BM25Index.build(TOY)
    once = index.score(["apple"], np.array([1]))[0]
    assert index.score(["apple apple"], np.array([1]))[0] == pytest.approx(2 * once)
    top, scores = index.search(["kiwi"], k=2)
    assert top.tolist() == [[-1, -1]] and scores.tolist() == [[0.0, 0.0]]


def _reference_scores(docs: list[str], query: str, k1: float, b: float) -> list[float]:
    """rank_bm25-style per-document scoring with Lucene's idf: the definition, slowly."""
    toks = [tokenize(d) for d in docs]
    n, avgdl = len(docs), sum(map(len, toks)) / len(docs)
    df = Counter(t for tk in toks for t in set(tk))
    out = []
    for tk in toks:
        tf, s = Counter(tk), 0.0
        for t in tokenize(query):
            if t in tf:
                idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
                s += idf * tf[t] / (tf[t] + k1 * (1 - b + b * len(tk) / avgdl))
        out.append(s)
    return out


@pytest.mark.parametrize("lang", ["eng", "rus", "zho", "hin"])
def test_matches_reference_formula_on_real_sentences(lang):
    shared_path("langid", "sentences")
    docs = langid_sentences(SHARED)[lang][:300]
    queries = [" ".join(s.split()[:4]) for s in docs[::15]] + [docs[7][:12]]
    index = BM25Index.build(docs, BM25Params(k1=0.9, b=0.4))
    top, scores = index.search(queries, k=10)
    for q, row, vals in zip(queries, top, scores):
        ref = _reference_scores(docs, q, 0.9, 0.4)
        expected = sorted(range(len(docs)), key=lambda d: (-ref[d], d))[:10]
        expected = [d for d in expected if ref[d] > 0]
        assert row[:len(expected)].tolist() == expected
        assert vals[:len(expected)] == pytest.approx([ref[d] for d in expected], rel=1e-5)


def test_batching_does_not_change_results():
    shared_path("langid", "sentences")
    docs = langid_sentences(SHARED)["deu"][:400]
    queries = [" ".join(s.split()[2:6]) for s in docs[::7]]
    index = BM25Index.build(docs)
    a = index.search(queries, k=25)
    b = index.search(queries, k=25, max_postings=50)  # forces one query per batch
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_ties_are_broken_by_document_position():
    index = BM25Index.build(["same text", "other", "same text", "same text"])
    top, _ = index.search(["same"], k=3)
    assert top[0].tolist() == [0, 2, 3]


def test_analyzers():
    assert tokenize("Hello, World! 42") == ["hello", "world", "42"]
    assert tokenize("हिन्दी भाषा") == ["हिन्दी", "भाषा"]  # vowel signs stay inside the word
    assert tokenize("日本語のテキスト and ABC") == ["日本", "本語", "語の", "のテ", "テキ", "キス", "スト", "and", "abc"]
    assert tokenize("ภาษา") == ["ภา", "าษ", "ษา"]
    assert tokenize("中") == ["中"]
    assert tokenize("Hello, World!", "whitespace") == ["Hello,", "World!"]


def test_corpus_term_matrix_in_chunks_equals_one_pass():
    """A language's index is built a chunk of documents at a time (memory bound: one chunk's
    tokens, not the corpus's); chunk boundaries must not change the vocabulary or the counts,
    including a chunk that adds no new token and documents without tokens."""
    from webfaq.benchmark.bm25 import corpus_term_matrix

    docs = ["a b a", "", "東京都 tokyo", "b c", "a", "c c c d", "!!", "d a 東京"] * 3
    whole, vocab, lengths = corpus_term_matrix(docs, chunk=len(docs))
    for chunk in (1, 2, 3, 5):
        m, v, n = corpus_term_matrix(docs, chunk=chunk)
        assert v == vocab and np.array_equal(n, lengths)
        assert m.shape == whole.shape and (m != whole).nnz == 0
        assert np.array_equal(m.indptr, whole.indptr) and np.array_equal(m.indices, whole.indices)
    assert corpus_term_matrix([])[0].shape == (0, 0)
