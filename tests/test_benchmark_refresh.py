"""The benchmark of a lake refreshed month after month, read back as a researcher would: the same
websites come back with the same, changed and new QAs (one page moved URL) and new websites
appear. A website on one side of the split in month 1 stays there in month 2 (else whoever trained
on month 1's train split is tested on its own websites), and every published id is unique."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from conftest import SHARED, shared_path
from support.faqsynth import faq_row, langid_sentences, write_lake

pytestmark = pytest.mark.spark

MONTHS = ("CC-MAIN-2099-01", "CC-MAIN-2099-02")
ARGS = ["--benchmark-min-qas", "5", "--benchmark-test-fraction", "0.3", "--no-benchmark-near-duplicates",
        "--no-benchmark-qa-consistency", "--no-benchmark-dense-rescore", "--benchmark-k-negatives", "10"]


def month_rows(sentences: list[str], crawl: str, sites: int, per_site: int, changed: tuple[int, ...] = (),
               moved: str = "") -> list[dict]:
    """``per_site`` QAs on each of ``sites`` websites; QA k of a site is the same text every month
    (a later month has more), its answer edited for k in ``changed``; ``moved``'s page has a new URL."""
    rows = []
    for s in range(sites):
        url = f"https://s{s}.example/" + ("help/faq" if f"s{s}.example" == moved else "faq")
        for k in range(per_site):
            i = 2 * (s * 40 + k)
            answer = sentences[i + 1] + (" Updated this month." if k in changed else "")
            rows.append(faq_row(crawl, url, "eng", sentences[i].rstrip(".") + "?", answer))
    return rows


def sides(folder: Path) -> dict[str, str]:
    with open(folder / "origins.tsv", encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t")
        assert next(reader) == ["origin", "side"]
        return dict(reader)


def test_a_refreshed_benchmark_keeps_every_website_on_its_side(spark, tmp_path):
    from beir.datasets.data_loader import GenericDataLoader

    from webfaq_jobs.benchmark import BenchmarkJob

    shared_path("langid", "sentences")
    sentences = langid_sentences(SHARED)["eng"]
    lake = tmp_path / "lake"
    first = month_rows(sentences, MONTHS[0], sites=8, per_site=6)
    write_lake(first, lake)
    folder = lake / "benchmark" / "eng"
    published = []
    for month in (1, 2):
        if month == 2:
            write_lake(first + month_rows(sentences, MONTHS[1], sites=12, per_site=9, changed=(1, 2),
                                          moved="s0.example"), lake)
        manifest = BenchmarkJob.from_argv(["--lake", str(lake), *ARGS]).execute()
        assert manifest["status"] == "complete", manifest.get("error")
        published.append(sides(folder))
        lines = {name: (folder / name).read_text().splitlines() for name in ("corpus.jsonl", "queries.jsonl")}
        for name, rows in lines.items():
            ids = [json.loads(r)["_id"] for r in rows]
            assert len(ids) == len(set(ids)), f"month {month}: duplicate ids in {name}"
        corpus, queries, test = GenericDataLoader(str(folder)).load(split="test")
        assert len(corpus) == len(lines["corpus.jsonl"]) and len(queries) == len(test)
        size = manifest["sizes"]["eng"]
        assert (size["origins_train"], size["origins_test"]) == (
            sum(s == "train" for s in published[-1].values()), sum(s == "test" for s in published[-1].values()))
    before, after = published
    moved = {o: (s, after[o]) for o, s in before.items() if after.get(o) != s}
    assert not moved, f"websites that changed side between months: {moved}"
    assert set(after) > set(before) and set(after.values()) == {"train", "test"}
