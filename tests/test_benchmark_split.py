"""The leak-free split rule and language selection, on QA ids and websites of a real-text lake
(no Spark: the job runs these same functions per language)."""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import SHARED, shared_path
from webfaq.benchmark.split import (ROLE_HELDOUT, ROLE_TEST, ROLE_TRAIN, SplitParams, assign_origins, left_out_reason,
                                    plan_languages, select_languages, split_language)
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


def test_published_sides_are_kept_unless_that_empties_a_side():
    """A refresh keeps each website's published side; when the websites kept on one side are
    all gone (here: only earlier test websites remain, and no new one), keeping the sides would
    leave no train query, so the language is split afresh (and both sides are non-empty)."""
    params = SplitParams(seed=1, test_fraction=0.2)
    origins = pd.DataFrame({"language": "eng", "origin": [f"https://s{i}.example" for i in range(20)], "n": 3})
    first = assign_origins(origins, params)
    published = dict(zip(first["origin"], first["side"]))
    grown = pd.concat([origins.assign(n=6), pd.DataFrame({"language": "eng", "n": 3,
                                                          "origin": [f"https://new{i}.example" for i in range(10)]})])
    kept = assign_origins(grown.assign(pinned=grown["origin"].map(published)), params)
    assert all(published[o] == s for o, s in zip(kept["origin"], kept["side"]) if o in published)
    only_test = origins[origins["origin"].map(published) == "test"]
    assert len(only_test) >= 2
    alone = assign_origins(only_test.assign(pinned=only_test["origin"].map(published)), params)
    assert set(alone["side"]) == {"train", "test"}


def test_select_languages():
    sizes = {"eng": 500, "deu": 300, "fra": 300, "ita": 40, "nld": 9}
    assert select_languages(sizes, top=2, min_qas=10) == ["deu", "eng"]  # fra loses the tie by code
    assert select_languages(sizes, top=0, min_qas=10) == ["deu", "eng", "fra", "ita"]
    assert select_languages(sizes, top=20, min_qas=300) == ["deu", "eng", "fra"]
    assert select_languages(sizes, top=1, min_qas=10, explicit=["nld", "xxx"]) == ["nld"]


def _language(sizes: list[int], language: str = "ita") -> pd.DataFrame:
    """A language whose websites hold ``sizes`` QAs."""
    return pd.DataFrame([{"language": language, "origin": f"https://s{k}.example", "id": f"{k}-{i}"}
                         for k, n in enumerate(sizes) for i in range(n)])


def _roles(out: pd.DataFrame) -> dict[str, int]:
    return out["role"].value_counts().to_dict()


@pytest.mark.parametrize("sizes", [[3, 4], [1, 9], [9, 1], [2, 2, 2], [5, 1, 30], [1] * 40, [7] * 12 + [200]])
def test_every_language_with_two_websites_gets_test_and_train(sizes):
    """Two, three and many websites, small and lopsided: test and train queries on disjoint
    websites, the test target reached whenever all but the last website in split order hold it."""
    params = SplitParams(seed=3)
    out = split_language(_language(sizes), params)
    roles = _roles(out)
    assert roles.get(ROLE_TEST, 0) >= 1 and roles.get(ROLE_TRAIN, 0) >= 1
    sides = out.groupby("origin")["role"].agg(set)
    assert all(r == {ROLE_TRAIN} or ROLE_TRAIN not in r for r in sides)
    target = params.target(sum(sizes))
    assert target == min(10_000, max(sum(sizes) // 10, min(10, sum(sizes) // 2)))
    train_sites = sides[sides.apply(lambda r: ROLE_TRAIN in r)].index
    if len(train_sites) > 1:  # more than the last website stayed train: the test side is full
        assert roles[ROLE_TEST] == target


def test_the_minimum_lifts_small_languages_up_to_half_and_the_last_website_stays_train():
    """The fraction (0.1) of 40 QAs is 4, the minimum lifts it to 10; of 12 QAs the minimum
    stops at half (6); with a fraction of 0.8 the fraction rules. Two websites whose first is
    too small for the target: it is the whole test side, the last stays train."""
    params = SplitParams(seed=3)
    assert [params.target(n) for n in (2, 3, 12, 40, 1000, 200_000)] == [1, 1, 6, 10, 100, 10_000]
    assert SplitParams(test_fraction=0.8).target(12) == 9
    assert _roles(split_language(_language([20, 20]), params)) == {ROLE_TEST: 10, ROLE_HELDOUT: 10, ROLE_TRAIN: 20}
    assert _roles(split_language(_language([1, 1]), params)) == {ROLE_TEST: 1, ROLE_TRAIN: 1}
    lopsided = split_language(_language([2, 10]), params)
    test_site = lopsided[lopsided["role"] == ROLE_TEST]["origin"].unique()
    assert len(test_site) == 1 and _roles(lopsided)[ROLE_TRAIN] == 12 - (lopsided["origin"] == test_site[0]).sum()


def test_languages_that_cannot_be_split_are_left_out_with_the_reason():
    kept = {"eng": (500, 40), "ita": (14, 1), "deu": (2, 2)}
    built, left_out = plan_languages(["deu", "eng", "ita", "nld"], kept)
    assert built == ["deu", "eng"]
    assert left_out == {"ita": "1 website (14 QAs): a split with no website on both sides needs 2",
                        "nld": "no QA left after refinement"}
    assert left_out_reason(2, 2) is None
