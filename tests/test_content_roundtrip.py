"""Messy multilingual pages (tests/support/messy.py) through the Spark jobs and the export, read
back with the readers people use (pyarrow, DuckDB, Hugging Face ``datasets``): every pair the
pages hold is kept or dropped under a named reason, and every kept pair reaches the lake, the
deduplicated table and the published dataset with its text exactly as extraction made it."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow.dataset as ds
import pytest

from support.messy import write_messy_warc
from webfaq.config import Config
from webfaq.counters import reconcile
from webfaq.extract.pipeline import process_file
from webfaq.lake.export import export

pytestmark = pytest.mark.spark

CRAWL = "CC-MESSY-2024-10"
TEXT = ("id", "url", "language", "question", "answer", "syntax")


def rows(table: Path) -> list[dict]:
    return ds.dataset(str(table), format="parquet", partitioning="hive").to_table().to_pylist()


def key(r: dict) -> tuple:
    return tuple(r[c] for c in TEXT)


@pytest.fixture(scope="module")
def lake(spark, tmp_path_factory):
    from webfaq_jobs.dedup import DedupJob
    from webfaq_jobs.extract import ExtractJob

    root = tmp_path_factory.mktemp("messy")
    warc = root / "messy.warc.gz"
    write_messy_warc(warc)
    lake = root / "lake"
    extract = ExtractJob.from_argv([str(warc), "--lake", str(lake), "--crawl-id", CRAWL]).execute()
    dedup = DedupJob.from_argv(["--lake", str(lake)]).execute()
    reference = process_file(str(warc), Config())  # the same file, one process, no Spark
    return lake, extract, dedup, reference


def test_every_pair_is_kept_or_dropped_by_name_and_kept_text_reaches_the_lake_intact(lake):
    lake, extract, _, reference = lake
    c = extract["counters"]
    assert reconcile(c) == []
    assert not [k for k in c if k.startswith(("skip.parse.", "skip.page.", "block_errors."))], c
    assert set(k for k in c if k.startswith("drop.")) <= {"drop.language_low_confidence"}
    faq = rows(lake / "faq")
    assert len(faq) == c["qa.kept"]
    assert sorted(map(key, faq)) == sorted(map(key, reference.records))
    for r in faq:
        for value in (r["question"], r["answer"], r["url"], r["origin"]):
            value.encode("utf-8")
    languages = {r["language"] for r in faq}
    assert {"gsw", "zho", "jpn", "tha", "kor", "ara", "heb", "deu", "fra", "spa", "eng"} <= languages
    assert "als" not in languages


def test_dedup_sees_nfd_and_unspaced_near_duplicates_and_nothing_else(lake):
    lake, _, dedup, _ = lake
    faq = rows(lake / "faq")
    kept = rows(lake / "faq_dedup")
    dropped = rows(lake / "faq_dedup_dropped")
    assert sorted(map(key, kept + dropped)) == sorted(map(key, faq))  # every row once, text untouched
    near = {(r["language"], r["url"], r["kept_url"]) for r in dropped if r["reason"] == "near"}
    assert near == {
        ("eng", "https://cafe-two.example/faq", "https://cafe-one.example/faq"),  # NFD vs NFC
        ("zho", "https://cjk-b.example/zh/faq", "https://cjk-a.example/zh/faq"),
        ("jpn", "https://cjk-b.example/ja/faq", "https://cjk-a.example/ja/faq"),
        ("tha", "https://cjk-b.example/th/faq", "https://cjk-a.example/th/faq"),
        # the two windows-1252 pages: one question differs by its apostrophe
        ("fra", "https://latin1-header-cp1252-bytes.example/faq", "https://ascii-meta-cp1252-bytes.example/faq"),
    }
    assert sum(r["reason"] == "exact" for r in dropped) == 4 + 2  # 5 shops, 2 HTML answers in two syntaxes


def test_the_export_holds_every_kept_pair_as_readers_load_it(lake, tmp_path, hf_datasets):
    lake, _, _, _ = lake
    out = tmp_path / "export"
    export(str(lake), out)
    kept = rows(lake / "faq_dedup")
    by_language: dict[str, set] = {}
    for r in kept:
        by_language.setdefault(r["language"], set()).add((r["id"], r["question"], r["answer"]))
    for language, expected in by_language.items():
        data = hf_datasets.load_dataset(str(out), language, split="default")
        assert {(r["id"], r["question"], r["answer"]) for r in data} == expected, language
        assert set(data["language"]) == {language}
    con = duckdb.connect()
    got = con.execute(f"select id, question, answer from read_parquet('{out}/data/*/*.parquet')").fetchall()
    assert sorted(got) == sorted(x for s in by_language.values() for x in s)
