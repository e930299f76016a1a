"""Which languages get a benchmark, and the leak-free train/test split of each.

The split rule (quoted in the README):

    A language needs at least two websites (origins) among its refined QAs: with one, no split
    can keep a website out of both sides, and the language is left out of the benchmark with that
    reason in the run's manifest. Per language, websites are put in a fixed pseudo-random order by
    sha1("<seed>:<language>:<origin>"). The test target is
    min(test_size, max(floor(test_fraction x n), min(test_min_queries, floor(n / 2)))) for a
    language of n refined QAs (10,000, 0.1 and 10 by default: the minimum lifts small languages,
    whose fraction rounds to a handful, but never past half of them). Walking that order, whole websites go to the test side until it holds
    the target, except the last website, which always stays train; every later website is train.
    The test queries are the first `target` QAs of the test side in (website order,
    sha1("<seed>:<id>")) order, at most `test_max_per_origin` per website when that cap is set
    (then more websites are drawn). QAs of a test website beyond the target ("held out") are
    neither train nor test queries; their answers stay in the corpus as documents. Every answer
    of the language is in the corpus; train qrels hold train queries only, test qrels test
    queries only. So every language in the benchmark has at least one test and one train query.

Refreshes keep sides (``pinned``): each benchmark folder publishes ``origins.tsv`` (every website
of the split and its side). The next run with the same seed reads it back and keeps every website
it names on its side; only websites it does not name walk the order above, against what is left of
the target once the kept test websites' QAs are counted (the last of them stays train unless a kept
train website exists). Should the kept sides leave one side empty (its websites all gone), the
language is split afresh instead, and the job counts the websites that moved. So a website in one month's test split never moves to train (or back) in a
later month: a model trained on an earlier month's train split is never evaluated on its own
websites. Without the file (a first run, another seed) the rule above runs unchanged.

Consequences: no website has queries on both sides; no qrels file is empty; the split of a language depends only on
(seed, language, its origins, their QA ids) -- not on partitioning, record order, other
languages or the run -- so it is reproducible for a seed, and adding a website moves at most the
boundary website. The functions below take and return pandas frames so the Spark job runs them
per language (``applyInPandas``) and tests run the very same code without Spark.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

ROLE_TRAIN, ROLE_TEST, ROLE_HELDOUT = "train", "test", "heldout"
SIDE_TRAIN, SIDE_TEST = "train", "test"
ORIGIN_SCHEMA = "language string, origin string, side string, origin_rank long, target long"
ORIGINS_FILE = "origins.tsv"
ORIGINS_HEADER = ("origin", "side")
ROLE_SCHEMA = "language string, id string, role string"
SPLIT_FUNNEL: list[tuple[str, list[str]]] = [
    ("refine.kept", ["split.train", "split.test", "split.heldout", "split.left_out"]),
]
MIN_WEBSITES = 2


@dataclass(frozen=True)
class SplitParams:
    seed: int = 42
    test_size: int = 10_000
    test_fraction: float = 0.1
    test_max_per_origin: int = 0
    test_min_queries: int = 10

    @classmethod
    def from_config(cls, bm: Any) -> "SplitParams":
        return cls(bm.seed, bm.test_size, bm.test_fraction, bm.test_max_per_origin, bm.test_min_queries)

    def target(self, n: int) -> int:
        """Test queries wanted for a language of ``n`` refined QAs (the last website, kept for
        train, may leave the test side with fewer)."""
        return min(self.test_size, max(int(self.test_fraction * n), min(self.test_min_queries, n // 2)))


def left_out_reason(qas: int, websites: int) -> str | None:
    """Why a language with ``qas`` refined QAs on ``websites`` websites gets no benchmark, or
    None when it can be split (one line, for the manifest and the report)."""
    if qas == 0:
        return "no QA left after refinement"
    if websites < MIN_WEBSITES:
        return (f"{websites} website ({qas} QAs): a split with no website on both sides needs "
                f"{MIN_WEBSITES}")
    return None


def plan_languages(languages: Sequence[str], kept: Mapping[str, tuple[int, int]]) -> tuple[list[str], dict[str, str]]:
    """The ``languages`` that can be split and, for the others, why not. ``kept``: refined
    (QAs, websites) per language (a language missing has none)."""
    reasons = {lang: left_out_reason(*kept.get(lang, (0, 0))) for lang in languages}
    return [l for l in languages if reasons[l] is None], {l: r for l, r in reasons.items() if r is not None}


def _key(*parts: Any) -> str:
    return hashlib.sha1(":".join(str(p) for p in parts).encode("utf-8")).hexdigest()


def select_languages(sizes: Mapping[str, int], top: int, min_qas: int, explicit: Sequence[str] = ()) -> list[str]:
    """``explicit`` if given (those present), else the ``top`` largest (0 = all) of the languages
    with at least ``min_qas`` QAs; size descending, code ascending on ties."""
    if explicit:
        return sorted(lang for lang in explicit if sizes.get(lang, 0) > 0)
    ranked = sorted((lang for lang, n in sizes.items() if n >= max(min_qas, 1)), key=lambda l: (-sizes[l], l))
    return sorted(ranked[:top] if top else ranked)


def assign_origins(origins: pd.DataFrame, params: SplitParams) -> pd.DataFrame:
    """:func:`_assign_sides` with the published sides kept, unless keeping them leaves a side
    without websites (every kept train website, or every test one, is gone from the lake and no
    new website can take its place): then the language is split afresh, as on a first run, since
    a benchmark without train or test queries is no benchmark. The job counts the websites that
    changed side (``split.sides_moved``) and says so."""
    sides = _assign_sides(origins, params)
    if "pinned" in origins.columns and len(sides) >= 2 and sides["side"].nunique() < 2:
        sides = _assign_sides(origins.drop(columns=["pinned"]), params)
    return sides


def _assign_sides(origins: pd.DataFrame, params: SplitParams) -> pd.DataFrame:
    """One language's websites (``language, origin, n`` and optionally ``pinned``: the side an
    earlier run published for it, or null) -> each one's side, its rank in the seeded order and
    the language's test target (:data:`ORIGIN_SCHEMA`).

    Pinned websites keep their side, so a refresh never moves a published website across the
    split; the others walk the seeded order against the target left over. Kept test websites rank
    first, so ``pick_test_queries`` fills the target from them before new ones."""
    if origins.empty:
        return pd.DataFrame(columns=["language", "origin", "side", "origin_rank", "target"])
    lang = origins["language"].iloc[0]
    target = params.target(int(origins["n"].sum()))
    pinned = origins["pinned"] if "pinned" in origins.columns else pd.Series([None] * len(origins), index=origins.index)
    pinned = pinned.where(pinned.isin([SIDE_TRAIN, SIDE_TEST]), None)
    keys = [_key(params.seed, lang, o) for o in origins["origin"]]
    ordered = (origins.assign(_k=keys, _pin=pinned.to_numpy())
               .sort_values(["_k", "origin"], kind="stable").reset_index(drop=True))
    n = ordered["n"].to_numpy(dtype=np.int64)
    takes = np.minimum(n, params.test_max_per_origin) if params.test_max_per_origin else n
    pin = ordered["_pin"].to_numpy(dtype=object)
    is_pinned = pd.notna(ordered["_pin"]).to_numpy()
    pinned_test = is_pinned & (pin == SIDE_TEST)
    free = ~is_pinned
    left = target - int(takes[pinned_test].sum())
    before = np.cumsum(np.where(free, takes, 0)) - np.where(free, takes, 0)
    free_rank = np.cumsum(free) - 1
    # The last free website stays train, unless a kept train website already holds that place.
    keep_last = not (is_pinned & (pin == SIDE_TRAIN)).any()
    not_last = (free_rank < free.sum() - 1) | (not keep_last)
    side = np.where(is_pinned, pin, np.where((before < left) & not_last, SIDE_TEST, SIDE_TRAIN))
    # Rank: kept test websites first, then the rest, each in the seeded order.
    rank_order = np.lexsort((np.arange(len(ordered)), ~pinned_test))
    rank = np.empty(len(ordered), dtype=np.int64)
    rank[rank_order] = np.arange(len(ordered), dtype=np.int64)
    return pd.DataFrame({
        "language": lang, "origin": ordered["origin"], "side": side.astype(str),
        "origin_rank": rank, "target": np.int64(target)})


def pick_test_queries(rows: pd.DataFrame, params: SplitParams) -> pd.DataFrame:
    """One language's QAs on the test side (``language, origin, id, origin_rank, target``) ->
    ``test`` or ``heldout`` for each (:data:`ROLE_SCHEMA`)."""
    if rows.empty:
        return pd.DataFrame(columns=["language", "id", "role"])
    target = int(rows["target"].iloc[0])
    keyed = rows.assign(_k=[_key(params.seed, i) for i in rows["id"]])
    keyed = keyed.sort_values(["origin_rank", "_k", "id"], kind="stable").reset_index(drop=True)
    within = keyed.groupby("origin_rank", sort=False).cumcount().to_numpy()
    eligible = within < params.test_max_per_origin if params.test_max_per_origin else np.ones(len(keyed), bool)
    position = np.cumsum(eligible) - 1
    is_test = eligible & (position < target)
    return pd.DataFrame({"language": keyed["language"], "id": keyed["id"],
                         "role": np.where(is_test, ROLE_TEST, ROLE_HELDOUT)})


def split_language(rows: pd.DataFrame, params: SplitParams, pinned: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The whole rule for one language's QAs (``language, origin, id``) in one process (``pinned``:
    origin -> side an earlier run published):
    ``rows`` plus a ``role`` column. The Spark job runs the same two steps distributed."""
    counts = rows.groupby(["language", "origin"], as_index=False).size().rename(columns={"size": "n"})
    if pinned:
        counts["pinned"] = counts["origin"].map(pinned)
    sides = assign_origins(counts, params)
    joined = rows.merge(sides, on=["language", "origin"])
    test = pick_test_queries(joined[joined["side"] == SIDE_TEST], params)
    out = joined.merge(test[["id", "role"]], on="id", how="left")
    out["role"] = out["role"].fillna(ROLE_TRAIN)
    return out[list(rows.columns) + ["role"]]
