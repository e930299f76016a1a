"""One boilerplate answer shared by 100,000 records: star edges keep the candidate graph linear
(all pairs would be 5 * 10^9 edges) and connected components finish in a few rounds."""

from __future__ import annotations

import time

import pyarrow.dataset as ds
import pyarrow.compute as pc
import pytest

from conftest import shared_path
from support.faqsynth import faq_row, load_sentences, write_lake

pytestmark = pytest.mark.spark

N = 100_000


def test_100k_record_boilerplate_cluster_stays_linear(spark, tmp_path, monkeypatch):
    from webfaq_jobs.dedup import DedupJob

    words = " ".join(load_sentences(shared_path("parallel", "tatoeba", "tatoeba.fra-eng.eng"))[:60]).split()
    answer = " ".join(words[:100])
    rows = (faq_row("CC-TEST-2024-30", f"https://store{i % 997}.example/faq/{i}", "eng",
                    f"Where is store number {i}?", answer) for i in range(N))
    write_lake(rows, tmp_path, files=2)
    monkeypatch.setenv("WEBFAQ_SHUFFLE_PARTITIONS", "4")
    started = time.monotonic()
    manifest = DedupJob.from_argv(["--lake", str(tmp_path)]).execute()
    elapsed = time.monotonic() - started
    c = manifest["counters"]
    assert c["dedup.input"] == c["dedup.vertices"] == N and c.get("dedup.exact", 0) == 0
    # n-1 star edges per bucket: at most one edge per record and band, never ~N^2/2
    assert c["dedup.candidate_edges"] <= N * manifest["lsh"]["bands"]
    assert c["dedup.largest_component"] >= 0.99 * N and c["dedup.kept"] <= 0.01 * N
    assert c["dedup.cc_rounds"] <= 6
    kept = ds.dataset(str(tmp_path / "faq_dedup"), format="parquet", partitioning="hive").to_table(columns=["url", "id"])
    dropped = ds.dataset(str(tmp_path / "faq_dedup_dropped"), format="parquet", partitioning="hive").to_table(
        columns=["url", "id", "reason", "kept_id"])
    assert kept.num_rows + dropped.num_rows == N and kept.num_rows == c["dedup.kept"]
    # the giant component keeps its first record by URL; everyone in it points to that record
    giant = max(pc.value_counts(dropped["kept_id"]).to_pylist(), key=lambda v: v["counts"])["values"]
    (first,) = kept.filter(pc.equal(kept["id"], giant)).column("url").to_pylist()
    members = dropped.filter(pc.equal(dropped["kept_id"], giant))
    assert first < min(members.column("url").to_pylist())
    assert set(members.column("reason").to_pylist()) == {"near"}
    print(f"100k boilerplate cluster: {elapsed:.1f} s, {c['dedup.candidate_edges']} edges, "
          f"{c['dedup.cc_rounds']} rounds, largest {c['dedup.largest_component']}")
