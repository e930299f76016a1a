"""The README's main command as a user runs it: `webfaq run` on the bundled sample with the demo's
config, then every product is opened and checked against the run manifests, `webfaq verify`
passes, and the same command run again does nothing."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from conftest import REPO, SAMPLE
from webfaq.counters import reconcile

pytestmark = pytest.mark.spark

WEBFAQ = str(Path(sys.executable).parent / "webfaq")
DEMO = ["run", str(SAMPLE), "--crawl-id", "CC-MAIN-SAMPLE", "--config", str(REPO / "sample-data" / "demo.toml")]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    lake = tmp_path_factory.mktemp("demo") / "lake"
    proc = subprocess.run([WEBFAQ, *DEMO, "--lake", str(lake)], capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-4000:]
    manifests = {}
    for path in (lake / "_runs").glob("*.json"):
        m = json.loads(path.read_text())
        manifests[m["job"]] = m
    return lake, proc, manifests


def rows(table: Path) -> int:
    return ds.dataset(str(table), format="parquet", partitioning="hive").count_rows()


def test_every_stage_ran_and_says_where_its_products_are(demo):
    lake, proc, manifests = demo
    run = manifests["run"]
    assert run["status"] == "complete" and set(run["stages"]) == {"extract", "dedup", "align", "benchmark", "evaluate"}
    assert all(manifests[job]["status"] == "complete" for job in ("extract", "dedup", "align", "benchmark"))
    out = proc.stdout
    assert f"report: {lake}/_reports/" in out and f"next: webfaq verify --lake {lake}" in out
    for table in ("faq", "faq_dedup", "bitext", "benchmark"):
        assert (lake / table).is_dir()


def test_the_lake_holds_real_multilingual_faq_data(demo):
    lake, _, m = demo
    c = m["extract"]["counters"]
    assert reconcile(c) == [] and c["files.total"] == c["files.ok"]
    languages = m["extract"]["output"]["languages"]
    assert len(languages) >= 9 and rows(lake / "faq") == c["qa.kept"] == sum(languages.values())
    assert all(c.get(f"kept.syntax.{s}", 0) > 0 for s in ("json-ld", "microdata", "rdfa"))


def test_dedup_removes_the_real_duplicates(demo):
    _, _, m = demo
    c = m["dedup"]["counters"]
    assert c["dedup.exact"] > 0 and c["dedup.kept"] < c["dedup.input"]
    assert c["dedup.kept"] + c["dedup.exact"] + c["dedup.near"] == c["dedup.input"]


def test_bitext_for_at_least_30_language_pairs(demo):
    lake, _, m = demo
    per_pair = {k: v for k, v in m["align"]["aligned_per_pair"].items() if v}
    assert len(per_pair) >= 30 and sum(per_pair.values()) == m["align"]["counters"]["align.aligned"]
    assert rows(lake / "bitext") == m["align"]["counters"]["align.aligned"]


def test_benchmarks_with_test_train_and_hard_negatives_for_three_languages(demo):
    lake, _, m = demo
    full = [lang for lang, s in m["benchmark"]["sizes"].items() if s["test"] and s["train"] and s["negatives"]]
    assert len(full) >= 3, m["benchmark"]["sizes"]
    for lang in full:
        folder = lake / "benchmark" / lang
        for name in ("corpus.jsonl", "queries.jsonl", "qrels/test.tsv", "qrels/train.tsv"):
            lines = (folder / name).read_text(encoding="utf-8").splitlines()
            assert len(lines) > (1 if name.endswith(".tsv") else 0), f"{lang}/{name} is empty"
    for qrels in (lake / "benchmark").glob("*/qrels/*.tsv"):
        assert len(qrels.read_text().splitlines()) > 1, f"{qrels} holds a header only"


def test_evaluation_and_a_report_without_an_empty_panel(demo):
    lake, _, m = demo
    scored = [r for r in m["run"]["evaluation"]["languages"] if r["queries"]]
    assert len(scored) >= 3 and all(0 <= r["ndcg@10"] <= 1 for r in scored)
    html = (lake / "report.html").read_text(encoding="utf-8")
    assert not re.findall(r'data-chart-empty="([^"]+)"', html), "a panel of the demo's report is empty"
    assert "What this lake holds" in html and m["run"]["stages"]["evaluate"] in html  # the evaluation panel names its run


def test_verify_passes_and_the_same_command_again_does_nothing(demo):
    lake, _, _ = demo
    verify = subprocess.run([WEBFAQ, "verify", "--lake", str(lake)], capture_output=True, text=True, timeout=600)
    assert verify.returncode == 0, verify.stdout[-3000:] + verify.stderr[-2000:]
    again = subprocess.run([WEBFAQ, *DEMO, "--lake", str(lake)], capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and "already complete" in again.stdout and "nothing to do" in again.stdout
