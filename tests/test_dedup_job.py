"""The dedup job in Spark local mode (and once on a standalone two-worker cluster) on a synthetic
FAQ lake built from real sentences, against the single-process reference of the same rules."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.dataset as ds
import pytest

from conftest import SHARED, shared_path
from webfaq.config import Config
from webfaq.counters import reconcile
from webfaq.dedup.minhash import band_hashes, jaccard
from webfaq.dedup.rules import DEDUP_FUNNEL, DedupParams, reference_dedup, shingle_sets, signatures
from support.faqsynth import faq_row, langid_sentences, load_sentences, qa_records, write_lake

pytestmark = pytest.mark.spark

C1, C2 = "CC-TEST-2024-10", "CC-TEST-2024-20"
OUTPUT_TABLES = ("faq_dedup", "faq_dedup_dropped", "faq_dedup_components", "faq_dedup_vertices", "faq_dedup_bands")
PARAMS = DedupParams.from_config(Config().dedup)


# --------------------------------------------------------------------------- the synthetic lake

def _chain(words: list[str]) -> list[str]:
    """Three windows A, B, C over real running text with J(A,B), J(B,C) ~ 0.88 and J(A,C) ~ 0.78,
    chosen so that A-B and B-C share an LSH band and A-C share none (a chain, not a clique)."""
    for start in range(0, len(words) - 120, 7):
        texts = [" ".join(words[start + k:start + k + 100]) for k in (0, 6, 12)]
        df = pd.DataFrame({"question": ["How long is the warranty?"] * 3, "answer": texts, "language": ["eng"] * 3})
        bands = band_hashes(signatures(df, PARAMS)[0], PARAMS.bands, PARAMS.rows)
        share = [bool((bands[i] == bands[j]).any()) for i, j in ((0, 1), (1, 2), (0, 2))]
        sets = shingle_sets(df, PARAMS)
        if share == [True, True, False] and jaccard(sets[0], sets[2]) < PARAMS.threshold:
            return texts
    raise AssertionError("no chain found in the text")


def build_rows() -> tuple[list[dict], dict[str, dict]]:
    """Random FAQ records in two crawls plus planted clusters (returned by name)."""
    shared_path("langid", "sentences")  # skips, with the reason, where the shared data is missing
    sents = langid_sentences(SHARED)
    pool = {k: sents[k] for k in ("eng", "deu", "fra", "rus", "zho", "jpn", "tha")}
    rows = list(qa_records(300, C1, pool, seed=11)) + list(qa_records(200, C2, pool, seed=12))
    en = pool["eng"]
    named: dict[str, dict] = {}

    def add(name: str, crawl: str, url: str, lang: str, q: str, a: str) -> None:
        named[name] = faq_row(crawl, url, lang, q, a)
        rows.append(named[name])

    q, a = "How do I return an item?", " ".join(en[500:503])
    add("exact_b", C1, "https://b.example/faq", "eng", q, a)
    add("exact_a", C1, "https://a.example/faq", "eng", q, a)       # first by URL: kept
    add("exact_c", C1, "https://c.example/faq", "eng", q, a)
    add("exact_c2", C2, "https://a.example/faq", "eng", q, a)      # a later crawl never wins
    q, a = "Do you ship to Canada?", " ".join(en[510:514])
    add("norm_1", C1, "https://shop1.example/faq", "eng", q, a)
    add("norm_2", C1, "https://shop2.example/faq", "eng", q.upper(), a.replace(".", "!!"))
    add("norm_3", C2, "https://shop0.example/faq", "eng", q + " ", " " + a.lower() + " :)")
    tatoeba = shared_path("parallel", "tatoeba", "tatoeba.cmn-eng.cmn")
    zh = "".join(load_sentences(tatoeba)[100:108])
    add("zh_1", C1, "https://zh.example/faq/1", "zho", "退货政策是什么？", zh)
    add("zh_2", C1, "https://zh.example/faq/2", "zho", "退货政策是什么", zh.replace("。", "，"))
    add("zh_3", C2, "https://zh.example/faq/3", "zho", "退货政策是什么？", "：" + zh)
    ja = "".join(load_sentences(shared_path("parallel", "tatoeba", "tatoeba.jpn-eng.jpn"))[200:206])
    add("ja_1", C2, "https://ja.example/faq/1", "jpn", "送料はいくらですか？", ja)
    add("ja_2", C2, "https://ja.example/faq/2", "jpn", "送料は いくらですか", ja.replace("。", " "))
    words = " ".join(load_sentences(shared_path("parallel", "tatoeba", "tatoeba.deu-eng.eng"))[:400]).split()
    for name, text in zip(("chain_a", "chain_b", "chain_c"), _chain(words)):
        add(name, C1, f"https://chain.example/{name}", "eng", "How long is the warranty?", text)
    # a bridge: two records of the old crawl that are not duplicates of each other, joined by a
    # record of the new crawl that is a near duplicate of both (incremental must merge them)
    for name, crawl, text in zip(("bridge_a", "bridge_b", "bridge_c"), (C1, C2, C1), _chain(words[len(words) // 2:])):
        add(name, crawl, f"https://bridge.example/{name}", "eng", "How long is the warranty?", text)
    q, a = "Wie kann ich bezahlen?", " ".join(pool["deu"][40:43])
    add("lang_deu", C1, "https://multi.example/de", "deu", q, a)
    add("lang_eng", C1, "https://multi.example/en", "eng", q, a)   # same text, another language
    return rows, named


def hive_rows(table: Path) -> list[dict]:
    if not table.exists():
        return []
    return ds.dataset(str(table), format="parquet", partitioning="hive").to_table().to_pylist()


def flags_of(kept: list[dict], dropped: list[dict]) -> dict[tuple, tuple[str, str]]:
    """(status, component) of every row, as the reference gives them, from the two tables: a
    kept row is its own component; a dropped one names its reason and the id it lost to."""
    out = {key(r): ("kept", r["id"]) for r in kept}
    out.update({key(r): (r["reason"], r["kept_id"]) for r in dropped})
    return out


def out_rows(lake: Path) -> dict[tuple, tuple[str, str]]:
    return flags_of(hive_rows(lake / "faq_dedup"), hive_rows(lake / "faq_dedup_dropped"))


def key(row: dict) -> tuple:
    return (row["crawl"], row["url"], row["language"], row["id"], row["question"], row["answer"])


def run_dedup(lake: Path, *argv: str) -> dict:
    from webfaq_jobs.dedup import DedupJob

    return DedupJob.from_argv(["--lake", str(lake), *argv]).execute()


@pytest.fixture(scope="module")
def dataset():
    return build_rows()


@pytest.fixture(scope="module")
def source_lake(dataset, tmp_path_factory):
    lake = tmp_path_factory.mktemp("dedup_source")
    write_lake(dataset[0], lake)
    return lake


def fresh_lake(source: Path, tmp_path: Path) -> Path:
    lake = tmp_path / "lake"
    shutil.copytree(source / "faq", lake / "faq")
    return lake


@pytest.fixture(scope="module")
def scratch(spark, source_lake, tmp_path_factory, monkeypatch_module):
    """One from-scratch run over both crawls, shared by several tests."""
    monkeypatch_module.setenv("WEBFAQ_SHUFFLE_PARTITIONS", "8")
    lake = fresh_lake(source_lake, tmp_path_factory.mktemp("scratch"))
    manifest = run_dedup(lake)
    return lake, manifest


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


# --------------------------------------------------------------------------- tests

def test_from_scratch_equals_the_single_process_reference(scratch, dataset):
    lake, manifest = scratch
    assert manifest["status"] == "complete"
    assert out_rows(lake) == reference_dedup(dataset[0], PARAMS)


def test_known_clusters(scratch, dataset):
    lake, _ = scratch
    got, named = out_rows(lake), dataset[1]

    def status(name: str) -> tuple[str, str]:
        return got[key(named[name])]

    kept_a = named["exact_a"]["id"]
    assert status("exact_a") == ("kept", kept_a)
    assert status("exact_b") == status("exact_c") == status("exact_c2") == ("exact", kept_a)
    assert status("norm_1") == ("kept", named["norm_1"]["id"])
    assert status("norm_2") == status("norm_3") == ("near", named["norm_1"]["id"])
    assert status("zh_1") == ("kept", named["zh_1"]["id"])
    assert status("zh_2") == status("zh_3") == ("near", named["zh_1"]["id"])
    assert status("ja_1")[0] == "kept" and status("ja_2") == ("near", named["ja_1"]["id"])
    # per language by default: the same text in deu and eng is kept twice
    assert status("lang_deu")[0] == status("lang_eng")[0] == "kept"


def test_transitive_chain_ends_in_one_component(scratch, dataset):
    lake, _ = scratch
    got, named = out_rows(lake), dataset[1]
    for chain in ("chain", "bridge"):
        a, b, c = (got[key(named[f"{chain}_{n}"])] for n in "abc")
        assert a == ("kept", named[f"{chain}_a"]["id"])
        assert b == c == ("near", named[f"{chain}_a"]["id"])


def test_manifest_counters_and_component_table(scratch):
    lake, manifest = scratch
    c = manifest["counters"]
    assert reconcile(c, DEDUP_FUNNEL) == [] and manifest["reconcile"] == []
    assert c["dedup.input"] == c["dedup.kept"] + c["dedup.exact"] + c["dedup.near"]
    assert c["dedup.exact"] >= 3 and c["dedup.near"] >= 7 and c["dedup.largest_component"] >= 4
    recorded = json.loads((lake / "_runs" / f"{manifest['run_id']}.json").read_text())
    assert recorded["counters"] == c and recorded["lsh"] == {"bands": 14, "rows": 9, "num_perm": 128, "threshold": 0.8}  # (b, r) of the 0.7 candidate threshold
    comps = ds.dataset(str(lake / "faq_dedup_components"), format="parquet", partitioning="hive").to_table().to_pandas()
    assert len(comps.groupby(["scope", "component"])) == c["dedup.components"]
    assert comps["size"].max() == c["dedup.largest_component"]
    assert comps["exact"].sum() == c["dedup.exact"] and comps["near"].sum() == c["dedup.near"]
    assert sorted(p.name for p in (lake / "faq_dedup").iterdir()) == [f"crawl={C1}", f"crawl={C2}"]
    assert (lake / "faq_dedup_bands" / f"crawl={C1}" / "_params.json").exists()
    assert not (lake / "_staging").exists() or not any((lake / "_staging").iterdir())


def test_kept_rows_and_dropped_rows_are_two_tables_any_reader_loads(scratch, spark, dataset, hf_datasets):
    """faq_dedup holds the kept rows only, with the faq table's columns; faq_dedup_dropped every
    other row with its reason and the kept record it lost to; together they are the input, once.
    Every file carries crawl and language: Spark, pyarrow and DuckDB with hive partitioning,
    and `datasets`/DuckDB globs without it, read the same rows with their language."""
    import duckdb
    import pyarrow.parquet as pq

    from webfaq.extract.records import FAQ_COLUMNS
    from webfaq.lake.verify import verify

    lake, manifest = scratch
    kept, dropped = hive_rows(lake / "faq_dedup"), hive_rows(lake / "faq_dedup_dropped")
    c, named = manifest["counters"], dataset[1]
    assert len(kept) == c["dedup.kept"] == c["dedup.rows.faq_dedup"]
    assert len(dropped) == c["dedup.exact"] + c["dedup.near"] == c["dedup.rows.faq_dedup_dropped"]
    assert sorted(map(key, kept + dropped)) == sorted(map(key, dataset[0]))  # every input row, once
    assert set(kept[0]) == set(FAQ_COLUMNS)
    assert set(dropped[0]) == set(FAQ_COLUMNS) | {"reason", "kept_id", "kept_crawl", "kept_language", "kept_url"}
    kept_records = {(r["crawl"], r["language"], r["url"], r["id"]) for r in kept}
    assert all((r["kept_crawl"], r["kept_language"], r["kept_url"], r["kept_id"]) in kept_records for r in dropped)
    by_key = {key(r): r for r in dropped}
    for name, reason, winner in (("exact_c2", "exact", "exact_a"), ("norm_3", "near", "norm_1"), ("zh_3", "near", "zh_1")):
        row = by_key[key(named[name])]
        assert (row["reason"], row["kept_id"], row["kept_url"], row["kept_crawl"]) == \
            (reason, named[winner]["id"], named[winner]["url"], named[winner]["crawl"]), name

    per_part = {}
    for r in kept:
        per_part[(r["crawl"], r["language"])] = per_part.get((r["crawl"], r["language"]), 0) + 1
    for f in (lake / "faq_dedup").rglob("*.parquet"):
        crawl, language = (p.name.split("=", 1)[1] for p in (f.parent.parent, f.parent))
        t = pq.read_table(f, columns=["crawl", "language"])
        assert set(t["crawl"].to_pylist()) == {crawl} and set(t["language"].to_pylist()) == {language}
    glob = f"{lake}/faq_dedup/**/*.parquet"
    for hive in ("true", "false"):
        got = duckdb.sql(f"SELECT crawl, language, count(*) FROM read_parquet('{glob}', hive_partitioning={hive}) "
                         "GROUP BY ALL").fetchall()
        assert {(a, b): n for a, b, n in got} == per_part
    spark_rows = spark.read.parquet(str(lake / "faq_dedup")).groupBy("crawl", "language").count().collect()
    assert {(r["crawl"], r["language"]): r["count"] for r in spark_rows} == per_part
    loaded = hf_datasets.load_dataset("parquet", data_files=glob, split="train").to_pandas()
    assert loaded.groupby(["crawl", "language"]).size().to_dict() == per_part

    report = verify(str(lake))
    assert report["ok"], report["problems"]
    checked = {(p["table"].rsplit("/", 1)[1], p["partition"]) for p in report["partitions_checked"]}
    assert {("faq_dedup_dropped", f"crawl={C1}"), ("faq_dedup_dropped", f"crawl={C2}")} <= checked


def test_result_does_not_depend_on_partitioning(scratch, spark, dataset, tmp_path, monkeypatch):
    """Other input files, shuffle partitions, Arrow batches and checkpoint kind: same flags."""
    lake, _ = scratch
    other = tmp_path / "lake"
    write_lake(list(reversed(dataset[0])), other, files=3)
    monkeypatch.setenv("WEBFAQ_SHUFFLE_PARTITIONS", "3")
    manifest = run_dedup(other, "--dedup-batch-rows", "7", "--dedup-checkpoint", "local")
    assert out_rows(other) == out_rows(lake)
    assert manifest["counters"] == scratch[1]["counters"]


def test_incremental_equals_from_scratch(scratch, spark, dataset, source_lake, tmp_path):
    lake, full = scratch
    inc = fresh_lake(source_lake, tmp_path)
    first = run_dedup(inc, "--dedup-crawls", C1)
    second = run_dedup(inc, "--dedup-crawls", C2, "--dedup-incremental")
    assert second["old_crawls"] == [C1] and second["mode"] == "incremental"
    assert out_rows(inc) == out_rows(lake)
    assert second["counters"]["dedup.exact.lake"] >= 1   # exact_c2 matched the stored vertex of exact_a
    assert first["counters"]["dedup.input"] + second["counters"]["dedup.input"] == full["counters"]["dedup.input"]
    # bridge_b (new) joined two components of the old crawl: bridge_c's stored flags were
    # rewritten (kept -> near, component of bridge_a), in every table that holds them
    named = dataset[1]
    got_first = {k: v for k, v in out_rows(inc).items() if k[0] == C1}
    assert got_first[key(named["bridge_c"])] == ("near", named["bridge_a"]["id"])
    assert second["counters"]["dedup.lake.components_merged"] >= 1
    assert second["counters"]["dedup.lake.rows_relabelled"] >= 1
    assert second["tables"]["partitions_relabelled"] == [f"crawl={C1}"]
    vertices = ds.dataset(str(inc / "faq_dedup_vertices"), format="parquet", partitioning="hive").to_table().to_pandas()
    assert vertices.loc[vertices["id"] == named["bridge_c"]["id"], "component"].tolist() == [named["bridge_a"]["id"]]
    comps = ds.dataset(str(inc / "faq_dedup_components"), format="parquet", partitioning="hive").to_table().to_pandas()
    assert named["bridge_c"]["id"] not in set(comps["component"])
    bridge = comps[(comps["component"] == named["bridge_a"]["id"]) & (comps["crawl"] == C1)]
    assert bridge[["records", "kept", "near"]].values.tolist() == [[2, 1, 1]]
    # the lake still agrees with the manifests (the relabelled partition is the second run's now)
    from webfaq.lake.verify import verify
    report = verify(str(inc))
    assert report["ok"], report["problems"]
    assert {(p["partition"], p["run_id"]) for p in report["partitions_checked"] if p["table"].endswith("/faq_dedup")} == \
        {(f"crawl={C1}", second["run_id"]), (f"crawl={C2}", second["run_id"])}
    assert sorted(p.name for p in (inc / "faq_dedup").iterdir()) == [f"crawl={C1}", f"crawl={C2}"]


def test_incremental_refuses_older_crawls_and_other_parameters(scratch, spark, source_lake, tmp_path):
    from webfaq_jobs.base import JobFailed

    inc = fresh_lake(source_lake, tmp_path)
    bands = inc / "faq_dedup_bands"
    (bands / f"crawl={C2}").mkdir(parents=True)
    with pytest.raises(JobFailed, match="must be newer"):
        run_dedup(inc, "--dedup-crawls", C1, "--dedup-incremental")
    shutil.rmtree(bands / f"crawl={C2}")
    (bands / f"crawl={C1}").mkdir(parents=True)
    (bands / f"crawl={C1}" / "_params.json").write_text(json.dumps({"num_perm": 64}))
    with pytest.raises(JobFailed, match="deduplicated with"):
        run_dedup(inc, "--dedup-crawls", C2, "--dedup-incremental")


def test_the_stage_loop_deduplicates_from_scratch_when_the_stored_index_cannot_serve(scratch, spark, source_lake,
                                                                                      tmp_path, capsys):
    """A monthly refresh on a lake whose band hashes were stored with another folding (the
    release before FOLD_VERSION 2 wrote no "fold") goes from scratch instead of failing."""
    from webfaq_jobs.dedup import DedupJob

    lake, _ = scratch
    inc = fresh_lake(source_lake, tmp_path)
    run_dedup(inc, "--dedup-crawls", C1)
    params = inc / "faq_dedup_bands" / f"crawl={C1}" / "_params.json"
    older = json.loads(params.read_text())
    older.pop("fold")
    params.write_text(json.dumps(older))
    job = DedupJob.from_argv(["--lake", str(inc), "--dedup-crawls", C2, "--dedup-incremental"])
    job.full_if_refused = True  # what the run/refresh stage loop sets
    manifest = job.execute()
    assert manifest["mode"] == "from_scratch" and manifest["crawls"] == [C1, C2]
    assert "was deduplicated with" in manifest["incremental_refused"]
    assert "every crawl is deduplicated from scratch" in capsys.readouterr().err
    assert out_rows(inc) == out_rows(lake)
    assert json.loads(params.read_text()) == job.params.fingerprint()  # the index now serves the next increment


def test_cross_language_with_jaccard_check(spark, dataset, source_lake, tmp_path, monkeypatch):
    monkeypatch.setenv("WEBFAQ_SHUFFLE_PARTITIONS", "8")
    lake = fresh_lake(source_lake, tmp_path)
    manifest = run_dedup(lake, "--dedup-cross-language", "--dedup-jaccard-check")
    cfg = Config()
    cfg.dedup.cross_language = cfg.dedup.jaccard_check = True
    got, named = out_rows(lake), dataset[1]
    assert got == reference_dedup(dataset[0], DedupParams.from_config(cfg.dedup))
    assert got[key(named["lang_deu"])][0] == "kept"        # https://multi.example/de < .../en
    assert got[key(named["lang_eng"])] == ("exact", named["lang_deu"]["id"])
    c = manifest["counters"]
    assert c["dedup.edges"] <= c["dedup.candidate_edges"]


@pytest.mark.cluster
def test_standalone_cluster_equals_local_mode(scratch, standalone_master, source_lake, tmp_path):
    lake, _ = scratch
    cluster = fresh_lake(source_lake, tmp_path)
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "webfaq"), "dedup", "--lake", str(cluster), "--master", standalone_master],
        capture_output=True, text=True, timeout=600, env={**os.environ, "WEBFAQ_SHUFFLE_PARTITIONS": "4"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "near duplicates" in proc.stdout
    assert out_rows(cluster) == out_rows(lake)
    for table in ("faq_dedup_components", "faq_dedup_vertices"):
        a = ds.dataset(str(cluster / table), format="parquet", partitioning="hive").to_table().to_pylist()
        b = ds.dataset(str(lake / table), format="parquet", partitioning="hive").to_table().to_pylist()
        assert sorted(map(str, a)) == sorted(map(str, b))
