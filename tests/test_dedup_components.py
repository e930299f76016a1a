"""Distributed connected components (large-star/small-star) against union-find."""

from __future__ import annotations

import random

import pytest

from webfaq.dedup.components import connected_components, union_find

pytestmark = pytest.mark.spark


def components(spark, pairs):
    edges = spark.createDataFrame(pairs, "src long, dst long")
    labels, rounds = connected_components(edges, lambda df: df.localCheckpoint(eager=True), max_iterations=30)
    return {r.vid: r.label for r in labels.collect()}, rounds


def test_chain_random_graph_and_giant_star(spark):
    rng = random.Random(5)
    ids = rng.sample(range(10**12), 600)
    chain = [(ids[i], ids[i + 1]) for i in range(299)]          # a path whose ids are not in path order
    forest = [(ids[300 + rng.randrange(150)], ids[300 + rng.randrange(150)]) for _ in range(200)]
    star = [(ids[450], v) for v in ids[451:]]                    # one vertex linked to 149 others
    pairs = chain + forest + star
    got, rounds = components(spark, pairs)
    assert got == union_find([p for p in pairs if p[0] != p[1]])
    assert len(set(got[v] for v in ids[:300])) == 1 and 1 <= rounds <= 12


def test_gives_up_after_max_iterations(spark):
    edges = spark.createDataFrame([(i, i + 1) for i in range(64)], "src long, dst long")
    with pytest.raises(RuntimeError, match="did not converge"):
        connected_components(edges, lambda df: df.localCheckpoint(eager=True), max_iterations=1)
