"""The benchmark job in Spark local mode (and once on a standalone two-worker cluster) on a small
multilingual lake built from real sentences and real FAQ pairs, with the real embedding model.

The lake has a raw ``faq`` table and a ``faq_dedup`` table whose flagged records must never
reach a benchmark, plus planted cases for each refined-filtering rule and a language whose QAs
are all on one website (left out: no website-disjoint split)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from conftest import SHARED, shared_path
from webfaq.benchmark import beir
from webfaq.benchmark.evaluate import evaluate_benchmark
from webfaq.counters import reconcile
from webfaq.extract.records import FAQ_FIELDS, PARTITION_COLUMNS, arrow_schema
from support.benchlake import language_rows
from support.faqsynth import faq_row, langid_sentences, write_lake
from webfaq_jobs.benchmark import FUNNEL

pytestmark = pytest.mark.spark

CRAWL = "CC-TEST-2024-10"
ARGS = ["--benchmark-min-qas", "12", "--benchmark-test-fraction", "0.3", "--benchmark-k-negatives", "20",
        "--benchmark-queries-per-task", "8"]
SHOP = "https://shop.example/faq"
PLANTED = {  # url -> (language, question, answer, expected fate)
    f"{SHOP}/a": ("eng", "Do you ship outside of the US?", "No, we currently only offer shipping to the US.", "kept"),
    f"{SHOP}/b": ("eng", "do you ship outside of the us", "We only ship within the United States at the moment.", "near"),
    f"{SHOP}/c": ("eng", "Do you offer wholesale pricing?", "At this time we do not offer wholesale pricing.", "kept"),
    f"{SHOP}/d": ("eng", "How long does shipping take?",
                  "Polo 1 Audi 50 Motorhaube und Heckklappe aus GFK. Ideal für Slalom oder Youngtimer Trophy.", "mismatch"),
    "https://a-first.example/faq": ("eng", "Can I return items that I ordered?", "Of course. Just be sure to check "
                                    "our warranty and returns information before sending anything back.", "kept"),
    "https://z-later.example/faq": ("eng", "Can I return items that I ordered?", "Returns are accepted within "
                                    "thirty days of delivery, unused and in the original box.", "repeated"),
}


def build_lake(root: Path) -> dict:
    """faq + faq_dedup (same rows, kept, plus flagged copies); returns the planted ids."""
    shared_path("langid", "sentences")
    sents = langid_sentences(SHARED)
    rows = []
    for lang, n, sites in (("eng", 20, 6), ("deu", 18, 6), ("zho", 18, 6), ("ita", 6, 6), ("fra", 14, 1)):
        rows += list(language_rows(lang, sents[lang], n, CRAWL, sites=sites, seed=5))
    planted = {}
    for url, (lang, q, a, fate) in PLANTED.items():
        rows.append(faq_row(CRAWL, url, lang, q, a))
        planted[rows[-1]["id"]] = fate
    write_lake(rows, root)
    flagged = [dict(faq_row(CRAWL, r["url"] + "?copy", r["language"], r["question"], r["answer"] + " (copy)"),
                    dedup_status=status, dedup_component=r["id"])
               for r, status in zip(rows[:40:4], ["exact", "near"] * 5)]
    dedup_rows = [dict(r, dedup_status="kept", dedup_component=r["id"]) for r in rows] + flagged
    schema = arrow_schema(FAQ_FIELDS + [("dedup_status", "string"), ("dedup_component", "string")])
    ds.write_dataset(pa.Table.from_pylist(dedup_rows, schema=schema), str(root / "faq_dedup"), format="parquet",
                     partitioning=ds.partitioning(pa.schema([schema.field(c) for c in PARTITION_COLUMNS]), flavor="hive"))
    planted.update({r["id"]: "flagged" for r in flagged})
    return planted


@pytest.fixture(scope="module")
def built(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("bench") / "lake"
    planted = build_lake(root)
    pristine = root.parent / "input"
    shutil.copytree(root, pristine)
    from webfaq_jobs.benchmark import BenchmarkJob

    manifest = BenchmarkJob.from_argv(["--lake", str(root), *ARGS]).execute()
    lake_rows = ds.dataset(str(root / "faq"), partitioning="hive").to_table().to_pandas()
    return root, manifest, planted, lake_rows.set_index("id"), pristine


def folders(root: Path) -> dict[str, Path]:
    return {p.name: p for p in beir.language_folders(root / "benchmark")}


def test_languages_sizes_and_counters(built):
    root, manifest, planted, _, _ = built
    assert manifest["status"] == "complete" and manifest["source"] == "faq_dedup"
    assert manifest["languages"] == ["deu", "eng", "zho"] == sorted(folders(root))  # ita: 6 < 12 QAs
    assert manifest["reconcile"] == [] and reconcile(manifest["counters"], FUNNEL) == []
    c = manifest["counters"]
    kept_fra = c["refine.kept.lang.fra"]
    assert manifest["left_out"] == {"fra": f"1 website ({kept_fra} QAs): a split with no website on both sides needs 2"}
    assert c["split.left_out"] == kept_fra > 0
    assert c["source.dedup_dropped"] == sum(f == "flagged" for f in planted.values()) == 10
    assert c["source.other_language"] == 6
    assert c["refine.drop.repeated_question"] == 1
    for lang, s in manifest["sizes"].items():
        assert s["corpus"] == s["train"] + s["test"] + s["heldout"] and s["test"] >= 1 and s["train"] >= 1
        record = json.loads((root / "benchmark" / lang / "benchmark.json").read_text())
        assert record["sizes"] == s and record["model"] == manifest["model"]


def test_verify_recounts_every_benchmark_file(built, tmp_path):
    from webfaq.lake.verify import verify

    root, manifest, _, _, _ = built
    files = manifest["output"]["files"]
    for lang, s in manifest["sizes"].items():
        assert files[f"{lang}/corpus.jsonl"]["lines"] == s["corpus"]
        assert files[f"{lang}/qrels/test.tsv"]["lines"] == s["test"] + 1  # BEIR's header line
    report = verify(str(root))
    assert report["ok"], report["problems"]
    assert {f["file"] for f in report["files_checked"]} == set(files)
    copy = tmp_path / "lake"
    shutil.copytree(root, copy)
    queries = copy / "benchmark" / "eng" / "queries.jsonl"
    queries.write_text("".join(queries.read_text(encoding="utf-8").splitlines(keepends=True)[:-1]), encoding="utf-8")
    problems = verify(str(copy))["problems"]
    assert len(problems) == 1 and "eng/queries.jsonl" in problems[0]


def test_planted_cases_meet_their_fate(built):
    root, _, planted, _, _ = built
    corpus = set()
    for folder in folders(root).values():
        corpus |= set(beir.read_corpus(folder))
    for qa_id, fate in planted.items():
        assert (qa_id in corpus) == (fate == "kept"), (qa_id, fate)


def test_beir_layout_and_qrels_point_at_existing_ids(built):
    root, _, _, _, _ = built
    for lang, folder in folders(root).items():
        assert sorted(p.name for p in folder.iterdir()) == sorted(
            [beir.CORPUS, beir.QUERIES, beir.QRELS_DIR, beir.NEGATIVES, "origins.tsv", "benchmark.json"])
        lines = (folder / beir.CORPUS).read_text(encoding="utf-8").splitlines()
        assert all(list(json.loads(l)) == ["_id", "title", "text"] for l in lines)
        corpus, queries = beir.read_corpus(folder), beir.read_queries(folder)
        assert len(corpus) == len(lines)
        qrels = {s: beir.read_qrels(folder, s) for s in beir.SPLITS}
        assert not set(qrels["train"]) & set(qrels["test"])
        assert set(queries) == set(qrels["train"]) | set(qrels["test"])
        for split in qrels.values():
            for qid, rel in split.items():
                assert list(rel.values()) == [1] and qid == beir.query_id(next(iter(rel)))
                assert set(rel) <= set(corpus)


def test_beirs_own_loader_reads_every_split(built):
    """BEIR's GenericDataLoader (installed without its torch dependencies: the loader needs
    only tqdm) loads every split of every language: no split file is missing or header-only."""
    from beir.datasets.data_loader import GenericDataLoader

    root, manifest, _, _, _ = built
    for lang, folder in folders(root).items():
        for split in beir.SPLITS:
            corpus, queries, qrels = GenericDataLoader(data_folder=str(folder)).load(split=split)
            assert len(qrels) == len(queries) == manifest["sizes"][lang][split] >= 1
            assert qrels == beir.read_qrels(folder, split) and len(corpus) == manifest["sizes"][lang]["corpus"]


def test_no_website_on_both_sides(built):
    root, _, _, lake, _ = built
    for folder in folders(root).values():
        sides = {s: {lake.at[d, "origin"] for rel in beir.read_qrels(folder, s).values() for d in rel} for s in beir.SPLITS}
        assert sides["train"] and sides["test"] and not sides["train"] & sides["test"]


def test_hard_negatives(built):
    root, _, _, lake, _ = built
    for folder in folders(root).values():
        train = beir.read_qrels(folder, "train")
        test_sites = {lake.at[d, "origin"] for rel in beir.read_qrels(folder, "test").values() for d in rel}
        records = list(beir.read_jsonl(folder / beir.NEGATIVES))
        assert sorted(r["query_id"] for r in records) == sorted(train)
        corpus = set(beir.read_corpus(folder))
        for r in records:
            negs = [n["id"] for n in r["negatives"]]
            assert r["positive_id"] not in negs and train[r["query_id"]] == {r["positive_id"]: 1}
            assert set(negs) <= corpus and not {lake.at[n, "origin"] for n in negs} & test_sites
            assert all(set(n) == {"id", "bm25", "dense"} for n in r["negatives"])
            assert all(n["dense"] <= 0.95 * r["positive"]["dense"] + 1e-4 for n in r["negatives"])
        assert sum(len(r["negatives"]) for r in records) > 0


def test_evaluate_on_produced_split(built):
    root, manifest, _, _, _ = built
    result = evaluate_benchmark(root / "benchmark")
    for row in result["languages"]:
        assert row["queries"] == manifest["sizes"][row["language"]]["test"]
        assert 0 <= row["ndcg@10"] <= row["recall@100"] <= 1
    assert result["mean"]["recall@100"] > 0


@pytest.mark.cluster
def test_hard_negatives_do_not_depend_on_the_query_or_index_shards(built, tmp_path):
    """Each language's answers are indexed once, in shards scored with the language's BM25
    statistics, and read by every query task: one query task and index shards of 4 answers
    per language give the same files as query tasks of 8 and one index per language."""
    from webfaq_jobs.benchmark import BenchmarkJob

    root, manifest, _, _, pristine = built
    one = tmp_path / "lake"
    shutil.copytree(pristine, one)
    args = [a if a != "8" else "100000" for a in ARGS]  # --benchmark-queries-per-task
    again = BenchmarkJob.from_argv(["--lake", str(one), *args, "--benchmark-negatives-shard-docs", "4"]).execute()
    shards = "negatives.index_shards.lang."
    assert {k: v for k, v in manifest["counters"].items() if k.startswith(shards)} == {
        f"{shards}{lang}": 1 for lang in manifest["languages"]}
    for lang in manifest["languages"]:  # the candidates are the train answers (negatives_from = train)
        assert again["counters"][f"{shards}{lang}"] == -(-again["counters"][f"split.train.lang.{lang}"] // 4) > 1
    assert ({k: v for k, v in again["counters"].items() if not k.startswith(shards)}
            == {k: v for k, v in manifest["counters"].items() if not k.startswith(shards)})
    assert _files(one / "benchmark") == _files(root / "benchmark")


def test_vectors_are_embedded_once_per_lake(built, tmp_path):
    """The GPU stage's step (--benchmark-embed-only) fills the lake's question and answer vectors
    and writes no benchmark; the run after it embeds nothing and writes the files of a run that
    embedded everything itself."""
    from webfaq_jobs.benchmark import BenchmarkJob

    root, manifest, _, _, pristine = built
    lake = tmp_path / "lake"
    shutil.copytree(pristine, lake)
    first = BenchmarkJob.from_argv(["--lake", str(lake), *ARGS, "--benchmark-embed-only"]).execute()
    assert first["status"] == "complete" and not (lake / "benchmark").exists()
    for view in ("question", "answer"):
        assert first["counters"][f"embed.{view}.computed"] == manifest["counters"][f"embed.{view}.computed"] > 0
        assert (lake / f"embeddings_{view}").is_dir()
    then = BenchmarkJob.from_argv(["--lake", str(lake), *ARGS]).execute()
    c = then["counters"]
    for view in ("question", "answer"):  # every vector read back from the store: 0 computed, all reused
        assert c.get(f"embed.{view}.computed", 0) == 0 and c[f"embed.{view}.reused"] == c[f"embed.{view}.records"] > 0
    assert then["reconcile"] == []
    assert _files(lake / "benchmark") == _files(root / "benchmark")


def test_standalone_cluster_output_equals_local(built, standalone_master, tmp_path):
    root, _, _, _, pristine = built
    cluster = tmp_path / "lake"
    shutil.copytree(pristine, cluster)
    env = dict(os.environ, WEBFAQ_SHUFFLE_PARTITIONS="4")  # small data: fewer, not smaller, tasks
    proc = subprocess.run([str(Path(sys.executable).parent / "webfaq"), "benchmark", "--lake", str(cluster), *ARGS,
                           "--master", standalone_master], capture_output=True, text=True, timeout=900, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "corpus" in proc.stdout
    local_files = _files(root / "benchmark")
    assert local_files and _files(cluster / "benchmark") == local_files


def _files(root: Path) -> dict[str, str]:
    """Every output file's text; benchmark.json without its run id."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            text = p.read_text(encoding="utf-8")
            if p.name == "benchmark.json":
                text = json.dumps({k: v for k, v in json.loads(text).items() if k != "run_id"}, sort_keys=True)
            out[str(p.relative_to(root))] = text
    return out
