"""The leak-free split rule and language selection, on QA ids and websites of a real-text lake
(no Spark: the job runs these same functions per language)."""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import SHARED, shared_path
from webfaq.benchmark.split import (ROLE_HELDOUT, ROLE_TEST, ROLE_TRAIN, SplitParams, assign_origins, select_languages,
                                    split_language)
from support.benchlake import language_rows
from support.faqsynth import langid_sentences


@pytest.fixture(scope="module")
def qas() -> pd.DataFrame:
    shared_path("langid", "sentences")
    rows = list(language_rows("deu", langid_sentences(SHARED)["deu"], 400, "CC-TEST", sites=40, seed=3))
    return pd.DataFrame(rows)[["language", "origin", "id"]]


def test_no_website_on_both_sides_and_exact_test_size(qas):
    params = SplitParams(seed=7, test_size=10_000, test_fraction=0.1)
    out = split_language(qas, params)
    assert len(out) == len(qas) and out["id"].is_unique
    roles = out.groupby("origin")["role"].agg(set)
    assert all(r == {ROLE_TRAIN} or ROLE_TRAIN not in r for r in roles)  # a website is train or test
    assert (out["role"] == ROLE_TEST).sum() == params.target(len(qas)) == 40
    # held-out QAs only come from the one website that crossed the target
    held = out[out["role"] == ROLE_HELDOUT]["origin"].unique()
    assert len(held) <= 1 and set(held) <= set(out[out["role"] == ROLE_TEST]["origin"])


def test_deterministic_for_a_seed_and_independent_of_row_order(qas):
    params = SplitParams(seed=7, test_size=10_000, test_fraction=0.1)
    a = split_language(qas, params).set_index("id")["role"]
    b = split_language(qas.sample(frac=1.0, random_state=1), params).set_index("id")["role"]
    assert a.sort_index().equals(b.sort_index())
    c = split_language(qas, SplitParams(seed=8, test_size=10_000, test_fraction=0.1)).set_index("id")["role"]
    assert not a.sort_index().equals(c.sort_index())


def test_test_size_caps_large_languages_and_per_site_cap(qas):
    out = split_language(qas, SplitParams(seed=1, test_size=25, test_fraction=0.5))
    assert (out["role"] == ROLE_TEST).sum() == 25
    capped = split_language(qas, SplitParams(seed=1, test_size=25, test_fraction=0.5, test_max_per_origin=2))
    test = capped[capped["role"] == ROLE_TEST]
    assert len(test) == 25 and test.groupby("origin").size().max() <= 2
    assert test["origin"].nunique() >= 13
    sides = capped.groupby("origin")["role"].agg(set)
    assert all(r == {ROLE_TRAIN} or ROLE_TRAIN not in r for r in sides)


def test_origin_order_is_per_language_and_seeded():
    origins = pd.DataFrame({"language": "eng", "origin": [f"https://s{i}.example" for i in range(50)], "n": 3})
    a = assign_origins(origins, SplitParams(seed=1, test_fraction=0.2))
    b = assign_origins(origins.iloc[::-1], SplitParams(seed=1, test_fraction=0.2))
    assert a.equals(b)
    assert (a["side"] == "test").sum() == 10  # target 30 QAs = 10 whole sites of 3
    other = assign_origins(origins.assign(language="deu"), SplitParams(seed=1, test_fraction=0.2))
    assert set(a[a.side == "test"].origin) != set(other[other.side == "test"].origin)


def test_select_languages():
    sizes = {"eng": 500, "deu": 300, "fra": 300, "ita": 40, "nld": 9}
    assert select_languages(sizes, top=2, min_qas=10) == ["deu", "eng"]  # fra loses the tie by code
    assert select_languages(sizes, top=0, min_qas=10) == ["deu", "eng", "fra", "ita"]
    assert select_languages(sizes, top=20, min_qas=300) == ["deu", "eng", "fra"]
    assert select_languages(sizes, top=1, min_qas=10, explicit=["nld", "xxx"]) == ["nld"]
