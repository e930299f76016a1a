"""`webfaq evaluate` on a toy BEIR folder whose BM25 ranking and metrics are computed by hand."""

from __future__ import annotations

import json
import math

import pytest

from webfaq.benchmark import beir
from webfaq.benchmark.metrics import evaluate_run, mrr_at_k, ndcg_at_k, recall_at_k
from webfaq.cli import main as cli_main

# Corpus (N = 4, avgdl = 2.25) and BM25 scores with k1 = 0.9, b = 0.4, idf = ln 2 for every term
# here (each occurs in 2 of 4 documents), length norms 0.9 * (0.6 + 0.4 * |d| / 2.25):
#   d1 "apple banana"       |d| 2 -> 0.86      d2 "apple apple cherry" |d| 3 -> 1.02
#   d3 "banana cherry date" |d| 3 -> 1.02      d4 "date"               |d| 1 -> 0.70
CORPUS = {"d1": "apple banana", "d2": "apple apple cherry", "d3": "banana cherry date", "d4": "date"}
QUERIES = {"q1": "apple", "q2": "banana date", "q3": "cherry", "q4": "date"}
QRELS = {"q1": {"d2": 1}, "q2": {"d4": 1}, "q3": {"d1": 1}, "q4": {"d4": 1, "d1": 1}}
# q1 "apple":       d2 = ln2 * 2/3.02 = 0.4590, d1 = ln2 * 1/1.86 = 0.3727    -> relevant d2 at rank 1
#                   nDCG 1, MRR 1, recall 1
# q2 "banana date": d3 = ln2 * (1/2.02 + 1/2.02) = 0.6863, d4 = ln2/1.7 = 0.4077, d1 = 0.3727
#                   relevant d4 at rank 2: nDCG = (1/log2 3) / 1 = 0.630930, MRR 1/2, recall 1
# q3 "cherry":      d2, d3 only; relevant d1 not retrieved: 0, 0, 0
# q4 "date":        d4 = 0.4077, d3 = ln2/2.02 = 0.3431; relevant {d4, d1}: d4 at rank 1
#                   nDCG = 1 / (1 + 1/log2 3) = 1 / 1.630930 = 0.613147, MRR 1, recall 1/2
NDCG = (1 + 0.630930 + 0 + 0.613147) / 4   # 0.561019
MRR = (1 + 0.5 + 0 + 1) / 4                # 0.625
RECALL = (1 + 1 + 0 + 0.5) / 4             # 0.625


def write_folder(folder, corpus=CORPUS, queries=QUERIES, qrels=QRELS) -> None:
    """A BEIR folder; ``qrels`` empty writes the header-only file that older runs wrote."""
    (folder / beir.QRELS_DIR).mkdir(parents=True)
    (folder / beir.CORPUS).write_text("".join(json.dumps({"_id": d, "title": "", "text": t}) + "\n"
                                              for d, t in corpus.items()))
    (folder / beir.QUERIES).write_text("".join(json.dumps({"_id": q, "text": t}) + "\n" for q, t in queries.items()))
    lines = ["\t".join(beir.QRELS_HEADER)] + [f"{q}\t{d}\t{s}" for q, rel in qrels.items() for d, s in rel.items()]
    beir.qrels_path(folder, "test").write_text("\n".join(lines) + "\n")


def test_metric_definitions_by_hand():
    assert ndcg_at_k(["a", "b", "c"], {"c": 1}, 10) == pytest.approx(0.5)        # 1/log2(4)
    assert ndcg_at_k(["a", "b", "c"], {"c": 1}, 2) == 0.0                         # cut at 2
    assert ndcg_at_k(["b", "a"], {"a": 2, "b": 1}, 10) == pytest.approx((1 + 2 / math.log2(3)) / (2 + 1 / math.log2(3)))
    assert mrr_at_k(["a", "b", "c"], {"b": 1, "c": 1}, 10) == 0.5
    assert recall_at_k(["a", "b"], {"b": 1, "z": 1}, 100) == 0.5
    assert evaluate_run({}, {"q": {"d": 1}})["ndcg@10"] == 0.0                    # no results count as 0


def test_bm25_evaluation_on_toy_corpus_equals_hand_computed(tmp_path, capsys):
    folder = tmp_path / "toy"
    write_folder(folder)
    assert cli_main(["evaluate", str(folder), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    row = result["languages"][0]
    assert row["queries"] == 4 and row["docs"] == 4
    assert row["ndcg@10"] == pytest.approx(NDCG, abs=1e-6)
    assert row["mrr@10"] == pytest.approx(MRR)
    assert row["recall@100"] == pytest.approx(RECALL)
    assert result["mean"]["ndcg@10"] == pytest.approx(NDCG, abs=1e-6)


def test_benchmark_root_averages_languages_and_rejects_dangling_qrels(tmp_path, capsys):
    write_folder(tmp_path / "aaa")
    write_folder(tmp_path / "bbb", qrels={"q1": {"d2": 1}})  # perfect: 1, 1, 1
    assert cli_main(["evaluate", str(tmp_path), "--benchmark-k1", "0.9", "--benchmark-b", "0.4", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [r["language"] for r in result["languages"]] == ["aaa", "bbb"]
    assert result["mean"]["mrr@10"] == pytest.approx((MRR + 1) / 2)
    write_folder(tmp_path / "bad", qrels={"q1": {"d9": 1}})
    assert cli_main(["evaluate", str(tmp_path / "bad")]) == 1  # a broken split: one line, no traceback
    err = capsys.readouterr().err
    assert err.startswith("webfaq evaluate: error: ") and "missing documents" in err and len(err.splitlines()) == 1


def test_mean_is_over_languages_with_queries_and_json_is_stable(tmp_path, capsys):
    """A language without test queries (a header-only qrels file, or none) is listed with its
    counts but is not a 0 in the mean; the same benchmark prints the same bytes."""
    write_folder(tmp_path / "aaa")
    write_folder(tmp_path / "bbb", qrels={})
    write_folder(tmp_path / "ccc")
    (tmp_path / "ccc" / beir.QRELS_DIR / "test.tsv").unlink()
    assert cli_main(["evaluate", str(tmp_path), "--json"]) == 0
    first = capsys.readouterr()
    result = json.loads(first.out)
    assert result["mean_over"] == ["aaa"] and result["without_queries"] == ["bbb", "ccc"]
    assert [(r["language"], r["queries"], r["docs"]) for r in result["languages"]] == [
        ("aaa", 4, 4), ("bbb", 0, 4), ("ccc", 0, 4)]
    assert result["mean"]["ndcg@10"] == round(NDCG, 6) == result["languages"][0]["ndcg@10"]
    assert cli_main(["evaluate", str(tmp_path), "--json"]) == 0
    assert capsys.readouterr().out == first.out
    assert first.out == json.dumps(result, indent=1, sort_keys=True) + "\n"
    assert cli_main(["evaluate", str(tmp_path)]) == 0  # the table: every language, the mean over those with queries
    table = capsys.readouterr().out
    assert "no test queries: not in the mean" in table and "mean     over the 1 languages with test queries" in table
    assert cli_main(["evaluate", str(tmp_path / "bbb")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("webfaq evaluate: error: ") and "has test queries" in err
