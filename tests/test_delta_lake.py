"""A lake in Delta format after extraction: dedup (from scratch and incremental, with the bridge
that merges old components), align and benchmark read the Delta tables through their logs
(replaced files stay on disk and must not be read) and publish Delta tables in one transaction
per table. Every result equals the one the same data gives in a Parquet lake."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow.dataset as ds
import pytest
from deltalake import DeltaTable, write_deltalake

from test_align import HASH_ARGS, HASH_DIM
from test_align_job import KEY, run_align
from test_benchmark_job import ARGS, _files, build_lake
from test_dedup_job import C1, C2, build_rows, flags_of, key, out_rows, run_dedup
from webfaq.lake.verify import verify
from support.faqsynth import faq_row, write_lake

pytestmark = pytest.mark.spark
DEDUP_TABLES = ("faq_dedup", "faq_dedup_dropped", "faq_dedup_components", "faq_dedup_vertices", "faq_dedup_bands")


def to_delta(parquet_table: Path, delta_table: Path, partition_by: list[str]) -> None:
    """A Parquet table of the lake rewritten as a Delta table, then written a second time, so
    the directories hold replaced files the log no longer names (a reader that lists them
    would see every row twice)."""
    rows = ds.dataset(str(parquet_table), format="parquet", partitioning="hive").to_table()
    write_deltalake(str(delta_table), rows, partition_by=partition_by)
    write_deltalake(str(delta_table), rows, partition_by=partition_by, mode="overwrite")


def delta_rows(table: Path) -> list[dict]:
    return DeltaTable(str(table)).to_pyarrow_table().to_pylist()


def delta_flags(lake: Path) -> dict[tuple, tuple[str, str]]:
    """(status, component) of every row, from the Delta tables faq_dedup and faq_dedup_dropped."""
    return flags_of(delta_rows(lake / "faq_dedup"), delta_rows(lake / "faq_dedup_dropped"))


@pytest.fixture(scope="module")
def dedup_lakes(spark, tmp_path_factory):
    rows, named = build_rows()
    source = tmp_path_factory.mktemp("delta_source")
    write_lake(rows, source)
    parquet = tmp_path_factory.mktemp("parquet_dedup")
    shutil.copytree(source / "faq", parquet / "faq")
    run_dedup(parquet)
    return source, parquet, named


def test_dedup_incremental_on_a_delta_lake_equals_parquet_from_scratch(dedup_lakes, tmp_path):
    source, parquet, named = dedup_lakes
    lake = tmp_path / "delta"
    to_delta(source / "faq", lake / "faq", ["crawl", "language"])
    run_dedup(lake, "--format", "delta", "--dedup-crawls", C1)
    second = run_dedup(lake, "--format", "delta", "--dedup-crawls", C2, "--dedup-incremental")
    assert second["old_crawls"] == [C1] and second["counters"]["dedup.lake.components_merged"] >= 1
    assert all(DeltaTable.is_deltatable(str(lake / t)) for t in DEDUP_TABLES)
    assert delta_flags(lake) == out_rows(parquet)
    assert delta_flags(lake)[key(named["bridge_c"])] == ("near", named["bridge_a"]["id"])
    report = verify(str(lake))
    assert report["ok"], report["problems"]
    assert {p["partition"] for p in report["partitions_checked"] if p["table"].endswith("/faq_dedup")} == \
        {f"crawl={C1}", f"crawl={C2}"}
    # a from-scratch re-run replaces both crawls in one transaction per table, never appends
    again = run_dedup(lake, "--format", "delta")
    assert again["counters"]["dedup.input"] == len(delta_flags(lake)) == len(out_rows(parquet))
    assert len(delta_rows(lake / "faq_dedup")) == again["counters"]["dedup.kept"]
    assert delta_flags(lake) == out_rows(parquet)


def test_benchmark_reads_a_delta_source(spark, tmp_path):
    from webfaq_jobs.benchmark import BenchmarkJob

    parquet = tmp_path / "parquet"
    build_lake(parquet)
    lake = tmp_path / "delta"
    for table in ("faq", "faq_dedup"):
        to_delta(parquet / table, lake / table, ["crawl", "language"])
    want = BenchmarkJob.from_argv(["--lake", str(parquet), *ARGS]).execute()
    got = BenchmarkJob.from_argv(["--lake", str(lake), "--format", "delta", *ARGS]).execute()
    assert got["counters"] == want["counters"] and got["source"] == "faq_dedup"
    assert _files(lake / "benchmark") == _files(parquet / "benchmark")


def test_align_on_a_delta_lake_writes_a_delta_bitext(spark, tmp_path):
    rows = []
    for i in range(150):  # one site in English and German; translations share 12 of 14 words
        for lang, path, word in (("eng", "en", "how"), ("deu", "de", "wie")):
            rows.append(faq_row(C1, f"https://site.example/{path}/faq/{i // 10}/", lang,
                                f"q{i} a{i} d{i} f{i} g{i} h{i} {word}{i}", f"b{i} c{i} e{i} j{i} k{i} m{i} {word}{i}a"))
    parquet = tmp_path / "parquet"
    write_lake(rows, parquet)
    lake = tmp_path / "delta"
    to_delta(parquet / "faq", lake / "faq", ["crawl", "language"])
    args = ["--embed-backend", "hashing", "--embed-model", HASH_DIM, "--align-min-pairs", "1",
            "--align-candidate-threshold", str(HASH_ARGS["candidate_threshold"]),
            "--align-final-threshold", str(HASH_ARGS["final_threshold"])]
    want = run_align(parquet, *args)
    got = run_align(lake, "--format", "delta", *args)
    assert got["counters"] == want["counters"] and got["counters"]["align.aligned"] == 150
    bitext = delta_rows(lake / "bitext")
    parquet_bitext = ds.dataset(str(parquet / "bitext"), format="parquet", partitioning="hive").to_table().to_pylist()
    assert sorted(tuple(r[k] for k in KEY) for r in bitext) == sorted(tuple(r[k] for k in KEY) for r in parquet_bitext)
    report = verify(str(lake))
    assert report["ok"], report["problems"]
    # a re-run that aligns nothing (min pairs above what there is) refuses to empty the bitext,
    # unless told to: then it empties the pair in the log
    from webfaq_jobs.base import JobFailed

    nothing = ["--format", "delta", *args[:4], "--align-min-pairs", "1000", *args[6:]]
    with pytest.raises(JobFailed, match="--align-min-pairs 1000"):
        run_align(lake, *nothing)
    assert len(delta_rows(lake / "bitext")) == 150
    run_align(lake, *nothing, "--align-allow-empty")
    assert delta_rows(lake / "bitext") == []
