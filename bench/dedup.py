"""Benchmark the dedup stage: quality, MinHash speed against datasketch, and the whole Spark job.

  quality  Labelled pairs built from real sentences (../shared/data/langid/sentences, 28
           languages, and Tatoeba) with controlled edits: a base FAQ text (question + answer of
           real sentences) and a copy with k words (characters for zho/jpn/tha) replaced, k drawn
           so the true Jaccard of the shingle sets spreads over [0.3, 1], plus unrelated pairs.
           The true Jaccard is computed exactly on the shingle sets; a pair is a duplicate when
           it is >= the threshold. Predicted: the pair shares an LSH band (the job's candidate
           rule), and with --dedup-jaccard-check also passes the exact check. Precision, recall,
           F1 at the threshold (text-dedup reports F1 0.952 on its benchmark).
  speed    Signatures per second on ONE core (single process, pinned): webfaq.dedup.minhash from raw
           text (normalisation + shingling + hashing + permutations) against datasketch 2.x
           ``MinHash(num_perm, seed).update_batch(shingles)`` on the same shingles (pre-built, so
           datasketch is not charged for shingling), with its default SHA1 hash; also
           ``MinHash.bulk`` (datasketch's fastest API) and our sha1 mode (datasketch-identical
           with no custom hashfunc). Target >= 10x.
  job      The whole `webfaq dedup` job in Spark local mode (local[C]) on synthetic QA lakes of N
           records (qa_records: real sentences, ~10% exact and ~10% near copies): records per
           second per core, and time(2M)/time(1M) (target <= 2.2). A small warm-up run first, so
           JVM start-up is not charged to the first size.
  incremental  K old crawls of N records each are deduplicated once, then a new crawl of N
           records (30% exact and 10% near copies of old records, the rest new) is deduplicated
           with --dedup-incremental; the baseline, in the same run, is a from-scratch run over all
           K+1 crawls on a copy of the lake. Prints both times, their ratio, and whether the two
           lakes' flags are identical (they must be).

Usage:  .venv/bin/python bench/dedup.py quality|speed|job|incremental|all [--records 1000000 2000000]
        [--cores 2] [--crawls 3 --crawl-records 100000]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # support.* data builders

from webfaq.config import Config
from webfaq.dedup.minhash import MinHasher, band_hashes, jaccard, shingles, unit_text
from webfaq.dedup.rules import DedupParams, char_flags, shingle_sets, signatures
from support.faqsynth import langid_sentences, load_sentences, qa_records, write_lake

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


def pin_one_core() -> set[int]:
    """Run on one CPU (returns the previous affinity so a later Spark run gets all cores)."""
    before = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set()
    if before:
        os.sched_setaffinity(0, {min(before)})
    return before


# --------------------------------------------------------------------------- quality

def _edit(text: str, k: int, chars: bool, rng: random.Random, vocab: list[str]) -> str:
    """Replace k units (words, or characters for scripts without spaces) of ``text``."""
    units = list(text) if chars else text.split(" ")
    for i in rng.sample(range(len(units)), min(k, len(units))):
        units[i] = rng.choice(vocab)
    return ("" if chars else " ").join(units)


def labelled_pairs(n_pairs: int, seed: int = 0) -> pd.DataFrame:
    """Pairs (a, b, language) from real sentences with controlled edits and unrelated pairs."""
    rng = random.Random(seed)
    sents = langid_sentences(DATA)
    for path in sorted((DATA / "parallel" / "tatoeba").glob("tatoeba.*-eng.*")):
        lang = path.suffix[1:]
        if lang != "eng":
            sents.setdefault("zho" if lang == "cmn" else lang, []).extend(load_sentences(path))
    params = DedupParams()
    langs = sorted(sents)
    rows = []
    for _ in range(n_pairs):
        lang = rng.choice(langs)
        pool = sents[lang]
        chars = lang in params.char_languages
        q = rng.choice(pool)
        a = " ".join(rng.choice(pool) for _ in range(rng.randint(2, 4)))
        vocab = [c for c in a if not c.isspace()] if chars else a.split(" ")
        if rng.random() < 0.1:  # unrelated texts of the same language
            b_q, b_a = rng.choice(pool), " ".join(rng.choice(pool) for _ in range(3))
        else:
            size = len(a) if chars else len(a.split(" "))
            k = rng.randint(0, max(1, size // 6))  # up to ~1/6 of the units: J from 1 to ~0.3
            b_q, b_a = q, _edit(a, k, chars, rng, vocab)
        rows.append({"language": lang, "question": q, "answer": a, "b_question": b_q, "b_answer": b_a})
    return pd.DataFrame(rows)


QUALITY_CONFIGS = [  # (label, config overrides)
    ("default: LSH only, 128 perms", {}),
    ("LSH + exact Jaccard check", {"jaccard_check": True}),
    ("check, LSH tuned for J=0.7", {"jaccard_check": True, "candidate_threshold": 0.7}),
    ("LSH only, 256 perms", {"num_perm": 256}),
]


def quality(n_pairs: int) -> None:
    pairs = labelled_pairs(n_pairs)
    left = pairs[["language", "question", "answer"]]
    right = pd.DataFrame({"language": pairs["language"], "question": pairs["b_question"], "answer": pairs["b_answer"]})
    base = DedupParams.from_config(Config().dedup)
    true_j = np.array([jaccard(x, y) for x, y in zip(shingle_sets(left, base), shingle_sets(right, base))])
    truth = true_j >= base.threshold
    print(f"quality: {len(pairs)} labelled pairs, {len(set(pairs['language']))} languages, threshold {base.threshold}; "
          f"true duplicates {int(truth.sum())}, pairs with J in [0.7, 0.9): {int(((true_j >= 0.7) & (true_j < 0.9)).sum())}")
    default_candidates = None
    for label, overrides in QUALITY_CONFIGS:
        cfg = Config().dedup
        for k, v in overrides.items():
            setattr(cfg, k, v)
        params = DedupParams.from_config(cfg)
        bl = band_hashes(signatures(left, params)[0], params.bands, params.rows)
        br = band_hashes(signatures(right, params)[0], params.bands, params.rows)
        candidate = (bl == br).any(axis=1)
        default_candidates = candidate if default_candidates is None else default_candidates
        predicted = candidate & truth if params.jaccard_check else candidate
        tp, fp, fn = int((predicted & truth).sum()), int((predicted & ~truth).sum()), int((~predicted & truth).sum())
        p = tp / (tp + fp) if tp + fp else 1.0
        r = tp / (tp + fn) if tp + fn else 1.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        print(f"  {label:32s} {params.num_perm:3d} perms, {params.bands:2d} x {params.rows:2d}: precision {p:.4f}  "
              f"recall {r:.4f}  F1 {f1:.4f}  (tp {tp}, fp {fp}, fn {fn}, candidates {int(candidate.sum())})")
    bins = [0, 0.5, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0001]
    print("  candidate rate of the default by true Jaccard:")
    for lo, hi in zip(bins[:-1], bins[1:]):
        sel = (true_j >= lo) & (true_j < hi)
        if sel.any():
            print(f"    J in [{lo:.2f}, {min(hi, 1):.2f}{']' if hi > 1 else ')'}: {int(sel.sum()):6d} pairs, "
                  f"candidate rate {default_candidates[sel].mean():.3f}")


# --------------------------------------------------------------------------- speed

def speed(n_docs: int) -> None:
    before = pin_one_core()
    try:
        _speed(n_docs)
    finally:
        if before:
            os.sched_setaffinity(0, before)


def _speed(n_docs: int) -> None:
    from datasketch import MinHash

    rng = random.Random(1)
    sents = langid_sentences(DATA)
    texts, langs = [], []
    for _ in range(n_docs):
        lang = rng.choice(sorted(sents))
        texts.append(rng.choice(sents[lang]) + " " + " ".join(rng.choice(sents[lang]) for _ in range(3)))
        langs.append(lang)
    params = DedupParams()
    flags = char_flags(langs, params)
    grams = np.where(flags, params.char_ngram, params.ngram)
    sh = [shingles(unit_text(t, bool(c)), int(n)) for t, c, n in zip(texts, flags, grams)]
    print(f"speed: {n_docs} FAQ texts ({len(set(langs))} languages), {np.mean([len(s) for s in sh]):.1f} "
          f"shingles per text, num_perm {params.num_perm}, one core")

    def rate(fn, docs: int) -> float:
        start = time.perf_counter()
        fn()
        return docs / (time.perf_counter() - start)

    ours = MinHasher(num_perm=params.num_perm)
    ours.signatures(texts[:100], flags[:100], grams[:100])  # build the separator table once
    batches = [slice(i, i + 4096) for i in range(0, n_docs, 4096)]
    r_ours = rate(lambda: [ours.signatures(texts[b], flags[b], grams[b]) for b in batches], n_docs)
    sha = MinHasher(num_perm=params.num_perm, hash_name="sha1")
    r_sha = rate(lambda: [sha.signatures(texts[b], flags[b], grams[b]) for b in batches], n_docs)
    m = min(n_docs, 20_000)

    def datasketch_update_batch():
        for s in sh[:m]:
            mh = MinHash(num_perm=params.num_perm, seed=params.seed)
            mh.update_batch(s)

    r_ds = rate(datasketch_update_batch, m)
    r_bulk = rate(lambda: MinHash.bulk(sh[:m], num_perm=params.num_perm, seed=params.seed), m)
    print(f"  webfaq.dedup.minhash poly64 (from raw text)       {r_ours:10,.0f} signatures/s/core")
    print(f"  webfaq.dedup.minhash sha1   (from raw text)       {r_sha:10,.0f} signatures/s/core")
    print(f"  datasketch MinHash()+update_batch (shingles) {r_ds:9,.0f} signatures/s/core   baseline")
    print(f"  datasketch MinHash.bulk (shingles)           {r_bulk:9,.0f} signatures/s/core")
    print(f"  ratio poly64 / update_batch: {r_ours / r_ds:.1f}x   poly64 / bulk: {r_ours / r_bulk:.1f}x   "
          f"sha1 / update_batch: {r_sha / r_ds:.1f}x")


# --------------------------------------------------------------------------- whole job

def job(sizes: list[int], cores: int, keep: bool) -> None:
    os.environ.setdefault("PYSPARK_SUBMIT_ARGS", "--driver-memory 8g pyspark-shell")
    os.environ.setdefault("WEBFAQ_SHUFFLE_PARTITIONS", str(max(8, 4 * cores)))
    from webfaq_jobs.base import build_session
    from webfaq_jobs.dedup import DedupJob

    build_session("webfaq-bench-dedup", f"local[{cores}]")
    sents = langid_sentences(DATA)
    root = Path(tempfile.mkdtemp(prefix="dedup-bench-"))
    results = {}
    try:
        for n in [20_000] + sizes:
            lake = root / f"lake-{n}"
            start = time.perf_counter()
            write_lake(qa_records(n, "CC-BENCH-2024-10", sents, seed=n), lake, files=max(1, n // 250_000))
            built = time.perf_counter() - start
            start = time.perf_counter()
            manifest = DedupJob.from_argv(["--lake", str(lake)]).execute()
            elapsed = time.perf_counter() - start
            c = manifest["counters"]
            results[n] = elapsed
            tag = "warm-up" if n == 20_000 and n not in sizes else f"{n:,} records"
            print(f"job {tag}: {elapsed:.1f} s ({n / elapsed / cores:,.0f} records/s/core on {cores} cores; "
                  f"lake built in {built:.0f} s) exact {c.get('dedup.exact', 0)}, near {c.get('dedup.near', 0)}, "
                  f"components {c.get('dedup.components', 0)}, largest {c.get('dedup.largest_component', 0)}, "
                  f"rounds {c.get('dedup.cc_rounds', 0)}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
            print("   phases: " + ", ".join(f"{k} {v:.1f}" for k, v in manifest["durations_s"].items()))
            if not keep:
                shutil.rmtree(lake)
        if len(sizes) >= 2:
            a, b = sizes[0], sizes[1]
            print(f"time({b:,})/time({a:,}) = {results[b] / results[a]:.2f}  (target <= 2.2 for 2x the records)")
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)


def recrawl(old: list[dict], n: int, crawl: str, sents: dict, seed: int) -> list[dict]:
    """A new crawl that revisits the web: exact and near copies of old records (new URLs), and
    new records."""
    from support.faqsynth import faq_row, replace_words

    rng = random.Random(seed)
    vocab = {lang: [w for s in v[:200] for w in s.split(" ") if w] or ["x"] for lang, v in sents.items()}
    fresh = qa_records(n, crawl, sents, seed=seed)
    rows = []
    for i, new in enumerate(fresh):
        roll, src = rng.random(), old[rng.randrange(len(old))]
        url = f"https://site{rng.randrange(5000)}.example/{crawl}/re/{i}"
        if roll < 0.3:
            new = faq_row(crawl, url, src["language"], src["question"], src["answer"])
        elif roll < 0.4:
            new = faq_row(crawl, url, src["language"], src["question"],
                          replace_words(src["answer"], 1, rng, vocab[src["language"]]))
        rows.append(new)
    return rows


def incremental(crawls: int, n: int, cores: int) -> None:
    os.environ.setdefault("PYSPARK_SUBMIT_ARGS", "--driver-memory 8g pyspark-shell")
    os.environ.setdefault("WEBFAQ_SHUFFLE_PARTITIONS", str(max(8, 4 * cores)))
    import pyarrow.dataset as ds

    from webfaq_jobs.base import build_session
    from webfaq_jobs.dedup import DedupJob

    build_session("webfaq-bench-dedup", f"local[{cores}]")
    sents = langid_sentences(DATA)
    root = Path(tempfile.mkdtemp(prefix="dedup-incr-"))
    names = [f"CC-BENCH-2024-{10 + k:02d}" for k in range(crawls + 1)]
    try:
        lake, scratch = root / "incremental", root / "scratch"
        old: list[dict] = []
        for k, name in enumerate(names[:-1]):
            rows = list(qa_records(n, name, sents, seed=k))
            write_lake(rows, lake, files=1)
            old.extend(rows)
        write_lake(recrawl(old, n, names[-1], sents, seed=99), lake, files=1)
        shutil.copytree(lake / "faq", scratch / "faq")

        def run(target: Path, *flags: str) -> tuple[float, dict]:
            start = time.perf_counter()
            manifest = DedupJob.from_argv(["--lake", str(target), *flags]).execute()
            return time.perf_counter() - start, manifest

        run(lake, "--dedup-crawls", ",".join(names[:-1]))  # the lake as last month left it (not timed)
        t_inc, m_inc = run(lake, "--dedup-crawls", names[-1], "--dedup-incremental")
        t_full, m_full = run(scratch)

        def flags(target: Path) -> dict:
            """(status, component) per row: kept rows from faq_dedup, the others from faq_dedup_dropped."""
            def rows(table: str, columns: list[str]) -> list[dict]:
                return ds.dataset(str(target / table), format="parquet", partitioning="hive").to_table(
                    columns=["crawl", "url", "language", "id", *columns]).to_pylist()

            out = {(r["crawl"], r["url"], r["language"], r["id"]): ("kept", r["id"]) for r in rows("faq_dedup", [])}
            out.update({(r["crawl"], r["url"], r["language"], r["id"]): (r["reason"], r["kept_id"])
                        for r in rows("faq_dedup_dropped", ["reason", "kept_id"])})
            return out

        same = flags(lake) == flags(scratch)
        c = m_inc["counters"]
        print(f"incremental: new crawl of {n:,} records against {crawls} old crawls ({crawls * n:,} records): "
              f"{t_inc:.1f} s; exact of the lake {c.get('dedup.exact.lake', 0):,}, near {c.get('dedup.near', 0):,}, "
              f"old components merged {c.get('dedup.lake.components_merged', 0)}")
        print(f"baseline from scratch over all {(crawls + 1) * n:,} records: {t_full:.1f} s")
        print(f"from scratch / incremental = {t_full / t_inc:.2f}x; flags identical: {same}; "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["quality", "speed", "job", "incremental", "all"])
    ap.add_argument("--pairs", type=int, default=20_000)
    ap.add_argument("--docs", type=int, default=50_000)
    ap.add_argument("--records", type=int, nargs="+", default=[1_000_000, 2_000_000])
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--keep", action="store_true", help="keep the synthetic lakes")
    ap.add_argument("--crawls", type=int, default=3, help="old crawls for 'incremental'")
    ap.add_argument("--crawl-records", type=int, default=100_000, help="records per crawl for 'incremental'")
    args = ap.parse_args(argv)
    if args.what in ("quality", "all"):
        quality(args.pairs)
    if args.what in ("speed", "all"):
        speed(args.docs)
    if args.what in ("job", "all"):
        job(args.records, args.cores, args.keep)
    if args.what in ("incremental", "all"):
        incremental(args.crawls, args.crawl_records, args.cores)
    return 0


if __name__ == "__main__":
    sys.exit(main())
