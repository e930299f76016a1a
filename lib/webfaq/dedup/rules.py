"""Deduplication rules and the per-batch work the Spark dedup job runs on its executors.

Importable without a JVM: functions here take and return pandas DataFrames (one Arrow batch at a
time, via ``mapInPandas``) or plain Python values. ``jobs/dedup.py`` only wires them into Spark.

Rules (documented once, here):

* **Scope.** Records are compared within one language (``cross_language`` false, the method's
  F8) or across all languages (WebFAQ 2.0). The scope is a column: the language, or ``"*"``.
* **Order.** Every record has an order key ``(crawl, url, language, id)``: earlier crawls first,
  then the method's "first by URL". It decides every "which one is kept" question, so results do
  not depend on partitioning, batch boundaries or run.
* **Exact duplicates.** Records with the same ``id`` (md5 of question + answer) in one scope form
  a group; the first by order key is its representative, the others are ``exact``.
* **Near duplicates.** Representatives become graph vertices; LSH candidates (records sharing a
  band hash) become star edges to the smallest vertex id of each bucket; connected components of
  that graph are the near-duplicate clusters. In each component the vertex with the smallest
  order key is ``kept``; the others are ``near``. The component id is the kept record's ``id``.
* **Incremental.** Records already deduplicated in the lake precede any new record (their crawls
  are older), keep their flags, and lend their component id to any new record that joins them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from webfaq.dedup.minhash import FOLD_VERSION, MinHasher, band_hashes, jaccard, lsh_params, shingle_hashes

KEY_SEP = "\u0000"  # separates order-key fields: sorts before any character a field can hold

# Every input record ends in exactly one status; vertices (exact-group representatives) are kept
# or near; exact duplicates are of a record of this run or of one already in the lake. Every
# input record is written once: kept ones to faq_dedup, the others to faq_dedup_dropped (rows
# the files hold, as the writing tasks counted them).
DEDUP_FUNNEL: list[tuple[str, list[str]]] = [
    ("dedup.input", ["dedup.kept", "dedup.exact", "dedup.near"]),
    ("dedup.exact", ["dedup.exact.run", "dedup.exact.lake"]),
    ("dedup.vertices", ["dedup.kept", "dedup.near"]),
    ("dedup.kept", ["dedup.kept.lang."]),
    ("dedup.input", ["dedup.rows.faq_dedup", "dedup.rows.faq_dedup_dropped"]),
    ("dedup.kept", ["dedup.rows.faq_dedup"]),
]

STATUS_KEPT, STATUS_EXACT, STATUS_NEAR = "kept", "exact", "near"


@dataclass(frozen=True)
class DedupParams:
    """Resolved dedup settings, shipped to executors (small, picklable)."""

    threshold: float = 0.8
    num_perm: int = 128
    bands: int = 9
    rows: int = 13
    seed: int = 1
    scheme: str = "affine32"
    hash_name: str = "poly64"
    ngram: int = 5
    char_ngram: int = 5
    char_languages: tuple = ("zho", "jpn", "tha", "lao", "khm", "mya", "bod", "dzo", "yue", "wuu")
    text: str = "question+answer"
    cross_language: bool = False
    jaccard_check: bool = False

    @classmethod
    def from_config(cls, d: Any) -> "DedupParams":
        """From a ``DedupConfig``; bands x rows come from datasketch's optimal parameters for
        the threshold (or the candidate threshold) unless both are set."""
        tuned_for = d.candidate_threshold or d.threshold
        bands, rows = (d.bands, d.rows) if d.bands else lsh_params(tuned_for, d.num_perm, d.fp_weight)
        return cls(threshold=d.threshold, num_perm=d.num_perm, bands=bands, rows=rows, seed=d.seed,
                   scheme=d.scheme, hash_name=d.hash, ngram=d.ngram, char_ngram=d.char_ngram,
                   char_languages=tuple(d.char_languages), text=d.text, cross_language=d.cross_language,
                   jaccard_check=d.jaccard_check)

    @property
    def minhasher(self) -> MinHasher:
        return MinHasher(num_perm=self.num_perm, seed=self.seed, scheme=self.scheme, hash_name=self.hash_name)

    def fingerprint(self) -> dict[str, Any]:
        """What stored band hashes depend on: an incremental run must use the same values."""
        keys = ("num_perm", "bands", "rows", "seed", "scheme", "hash_name", "ngram", "char_ngram",
                "char_languages", "text", "cross_language")
        data = asdict(self)
        out = {k: list(data[k]) if isinstance(data[k], tuple) else data[k] for k in keys}
        out["fold"] = FOLD_VERSION  # how texts are normalised before shingling
        return out


# --------------------------------------------------------------------------- record text

def record_texts(questions: Iterable[str | None], answers: Iterable[str | None], mode: str) -> list[str]:
    """The text compared for each record: question + answer (default), question or answer."""
    if mode == "question":
        return [q or "" for q in questions]
    if mode == "answer":
        return [a or "" for a in answers]
    return [f"{q or ''} {a or ''}" for q, a in zip(questions, answers)]


def char_flags(languages: Iterable[str | None], params: DedupParams) -> np.ndarray:
    """True where a record's language is written without spaces (character n-grams)."""
    char_langs = set(params.char_languages)
    return np.fromiter((lang in char_langs for lang in languages), dtype=bool)


MAX_BATCH_CHARS = 4_000_000  # characters shingled at once (~50 bytes of arrays each: ~200 MiB)


def char_slices(lengths: Sequence[int], budget: int) -> Iterator[slice]:
    """Consecutive slices of records whose lengths sum to at most ``budget`` (a longer record
    gets a slice of its own).

    Why: the vectorised shingling and MinHash hold ~50 bytes per character of what they are
    given, and Spark cuts Arrow batches by rows (``--dedup-batch-rows``), not bytes; a website
    with thousands of 1 MB answers would put gigabytes in one batch. Slicing bounds a task to
    ~``budget`` characters plus its longest record, and changes no result (each record's
    shingles and signature depend on that record alone)."""
    lo, acc = 0, 0
    for i, n in enumerate(lengths):
        if i > lo and acc + n > budget:
            yield slice(lo, i)
            lo, acc = i, 0
        acc += n
    if lo < len(lengths):
        yield slice(lo, len(lengths))


def _shingle_hashes(pdf, params: DedupParams, prefix: str = "") -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Shingle hashes of a batch (columns [prefix]question/answer/language): word n-grams, or
    character n-grams for languages written without spaces; one (hashes, counts) per slice of
    at most ``MAX_BATCH_CHARS`` characters (:func:`char_slices`), in record order."""
    texts = record_texts(pdf[f"{prefix}question"], pdf[f"{prefix}answer"], params.text)
    flags = char_flags(pdf[f"{prefix}language"], params)
    ngrams = np.where(flags, params.char_ngram, params.ngram)
    for part in char_slices([len(t) for t in texts], MAX_BATCH_CHARS):
        yield shingle_hashes(texts[part], flags[part], ngrams[part], params.hash_name)


def shingle_sets(pdf, params: DedupParams, prefix: str = "") -> list[np.ndarray]:
    """Sorted unique 64-bit shingle hashes per record (the exact-Jaccard check's sets)."""
    out: list[np.ndarray] = []
    for hashes, counts in _shingle_hashes(pdf, params, prefix):
        if len(counts):
            out.extend(np.unique(c) for c in np.split(hashes, np.cumsum(counts)[:-1]))
    return out


def signatures(pdf, params: DedupParams) -> tuple[np.ndarray, np.ndarray]:
    """MinHash signatures of a batch (columns question, answer, language) and a mask of the
    records that have at least one shingle (the others take no part in LSH)."""
    sigs, has = [], []
    for hashes, counts in _shingle_hashes(pdf, params):
        sigs.append(params.minhasher.signatures_from_hashes(hashes, counts))
        has.append(counts > 0)
    if not sigs:
        empty = params.minhasher.signatures_from_hashes(np.zeros(0, np.uint64), np.zeros(0, np.int64))
        return empty, np.zeros(0, bool)
    return np.concatenate(sigs), np.concatenate(has)


# --------------------------------------------------------------------------- mapInPandas bodies

BAND_SCHEMA = "vid long, scope string, id string, crawl string, band int, hash long"
JACCARD_SCHEMA = "src long, dst long, jaccard double"


def band_rows(batches: Iterator, params: DedupParams) -> Iterator:
    """mapInPandas body: (vid, scope, id, crawl, language, question, answer) -> one row per LSH
    band (vid, scope, id, crawl, band, hash). Records without shingles emit nothing."""
    import pandas as pd

    for pdf in batches:
        if pdf.empty:
            continue
        sig, has = signatures(pdf, params)
        bh = band_hashes(sig[has], params.bands, params.rows)
        out = {c: np.repeat(pdf[c].to_numpy()[has], params.bands) for c in ("vid", "scope", "id", "crawl")}
        out["band"] = np.tile(np.arange(params.bands, dtype=np.int32), int(has.sum()))
        out["hash"] = bh.reshape(-1)
        yield pd.DataFrame(out)


def jaccard_rows(batches: Iterator, params: DedupParams) -> Iterator:
    """mapInPandas body: candidate edges with both records' text -> (src, dst, jaccard).
    Jaccard of the 64-bit shingle-hash sets (exact up to 64-bit collisions)."""
    import pandas as pd

    for pdf in batches:
        if pdf.empty:
            continue
        left, right = shingle_sets(pdf, params, "src_"), shingle_sets(pdf, params, "dst_")
        yield pd.DataFrame({"src": pdf["src"].to_numpy(), "dst": pdf["dst"].to_numpy(),
                            "jaccard": np.array([jaccard(a, b) for a, b in zip(left, right)], dtype=float)})


# --------------------------------------------------------------------------- reference

def reference_dedup(records: list[dict[str, Any]], params: DedupParams) -> dict[tuple, tuple[str, str]]:
    """Single-process reference of the whole rule set (for tests and small data): returns
    {(crawl, url, language, id, question, answer): (status, component)}. Union-find over the same
    LSH buckets, so the distributed job must reproduce it exactly."""
    def okey(r):
        return (r["crawl"], r["url"], r["language"], r["id"])

    def scope(r):
        return "*" if params.cross_language else r["language"]

    groups: dict[tuple, list[dict]] = {}
    for r in sorted(records, key=lambda r: (okey(r), r["question"], r["answer"])):
        groups.setdefault((scope(r), r["id"]), []).append(r)
    reps = [g[0] for g in groups.values()]
    import pandas as pd

    sig, has = signatures(pd.DataFrame(reps), params)
    bands = band_hashes(sig, params.bands, params.rows)
    parent = list(range(len(reps)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    buckets: dict[tuple, int] = {}
    for i, rep in enumerate(reps):
        if not has[i]:
            continue
        for b in range(params.bands):
            j = buckets.setdefault((scope(rep), b, int(bands[i, b])), i)
            if j != i and (not params.jaccard_check or _pair_jaccard(rep, reps[j], params) >= params.threshold):
                parent[find(i)] = find(j)
    kept: dict[int, dict] = {}
    for i, rep in enumerate(reps):
        root = find(i)
        if root not in kept or okey(rep) < okey(kept[root]):
            kept[root] = rep
    out = {}
    for i, rep in enumerate(reps):
        k = kept[find(i)]
        for n, r in enumerate(groups[(scope(rep), rep["id"])]):
            status = STATUS_EXACT if n else (STATUS_KEPT if k is rep else STATUS_NEAR)
            out[(*okey(r), r["question"], r["answer"])] = (status, k["id"])
    return out


def _pair_jaccard(a: dict, b: dict, params: DedupParams) -> float:
    import pandas as pd

    sets = shingle_sets(pd.DataFrame([a, b]), params)
    return jaccard(sets[0], sets[1])
