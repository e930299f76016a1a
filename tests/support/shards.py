"""The hard-negative index shards built in one process: what the Spark job does around the two
task bodies (``shard_terms``, ``shard_weights``), in pandas, for tests and benchmarks."""

from __future__ import annotations

import hashlib

import pandas as pd

from webfaq.benchmark.negatives import TOTALS_TERM, NegativeParams, shard_terms, shard_weights


def shard_of(doc_id: str, nshards: int) -> int:
    """The shard of an answer (the job hashes with Spark's xxhash64; any hash gives the same lines)."""
    return int(hashlib.md5(doc_id.encode()).hexdigest(), 16) % nshards


def count_shards(docs: pd.DataFrame, root: str, params: NegativeParams, nshards: int) -> pd.DataFrame:
    """Phase 1 for every shard (by id): the counts saved under ``root``, their term rows returned."""
    docs = docs.assign(shard=[shard_of(i, nshards) for i in docs["id"]])
    return pd.concat([shard_terms(g, root, params) for _, g in docs.groupby(["language", "shard"])])


def language_statistics(terms: pd.DataFrame) -> tuple[dict[str, tuple[int, int]], pd.DataFrame]:
    """What Spark sums over a language's shards: its (answers, tokens) and each token's document
    frequency (``language, term, gdf``)."""
    is_total = terms["term"] == TOTALS_TERM
    totals = {l: (int(g["df"].sum()), int(g["tokens"].sum())) for l, g in terms[is_total].groupby("language")}
    gdf = terms[~is_total].groupby(["language", "term"], as_index=False)["df"].sum().rename(columns={"df": "gdf"})
    return totals, gdf


def weight_shards(terms: pd.DataFrame, root: str, params: NegativeParams) -> dict[str, list[str]]:
    """Phase 2 for every shard counted in ``terms``; each language's shard paths."""
    totals, gdf = language_statistics(terms)
    columns = terms.merge(gdf, on=["language", "term"], how="left")
    built = pd.concat([shard_weights(g, root, totals, params) for _, g in columns.groupby(["language", "shard"])])
    return {l: g.sort_values("shard")["path"].tolist() for l, g in built.groupby("language")}


def build_shards(docs: pd.DataFrame, root: str, params: NegativeParams, nshards: int) -> dict[str, list[str]]:
    """What the Spark job does around the two task bodies, in pandas: shard by id, count each
    shard's tokens, sum the document frequencies over the language, weight each shard."""
    return weight_shards(count_shards(docs, root, params, nshards), root, params)
