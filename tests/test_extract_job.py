"""The extract job in Spark local mode on real WARC files, and its lake."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from conftest import SAMPLE, shared_path
from webfaq.config import Config
from webfaq.counters import reconcile
from webfaq.extract.pipeline import process_file

pytestmark = pytest.mark.spark


def run_extract(spark, argv):
    from webfaq_jobs.extract import ExtractJob

    job = ExtractJob.from_argv(argv)
    return job.execute()


def lake_rows(table: Path) -> list[dict]:
    dataset = ds.dataset(str(table), format="parquet", partitioning="hive")
    rows = dataset.to_table().to_pylist()
    return sorted(rows, key=lambda r: (r["crawl"], r["url"], r["id"], r["syntax"]))


def dedup_outcome(lake: Path) -> tuple[list, list]:
    """What dedup decided: the kept ids (faq_dedup) and each dropped id with its reason and the
    record it lost to (faq_dedup_dropped)."""
    dropped = lake / "faq_dedup_dropped"
    return (sorted(r["id"] for r in lake_rows(lake / "faq_dedup")),
            sorted((r["id"], r["reason"], r["kept_id"]) for r in lake_rows(dropped)) if dropped.exists() else [])


def comparable(rows):
    keep = ("id", "crawl", "url", "origin", "language", "question", "answer", "syntax", "warc_file")
    return sorted(tuple(r[k] for k in keep) for r in rows)


@pytest.fixture(scope="module")
def sample_lake(spark, tmp_path_factory):
    lake = tmp_path_factory.mktemp("lake")
    manifest = run_extract(spark, [str(SAMPLE), "--lake", str(lake), "--crawl-id", "CC-TEST"])
    return lake, manifest


def test_lake_layout_and_manifest(sample_lake):
    lake, manifest = sample_lake
    assert manifest["status"] == "complete"
    assert (lake / "_runs" / f"{manifest['run_id']}.json").exists()
    langs = sorted(p.name for p in (lake / "faq" / "crawl=CC-TEST").iterdir())
    assert "language=eng" in langs and "language=deu" in langs
    assert not (lake / "_staging").exists() or not any((lake / "_staging").iterdir())
    c = manifest["counters"]
    assert reconcile(c) == []
    assert c["files.total"] == 7 and c["files.ok"] == 7
    assert c["skip.record.corrupt"] == 1  # example-trunc.warc: its short record is counted, the rest read
    assert c["qa.kept"] == sum(v for k, v in c.items() if k.startswith("kept.lang."))
    rows = lake_rows(lake / "faq")
    assert len(rows) == c["qa.kept"] == sum(manifest["output"]["languages"].values())
    recorded = json.loads((lake / "_runs" / f"{manifest['run_id']}.json").read_text())
    assert recorded["config"]["job"]["crawl_id"] == "CC-TEST" and len(recorded["inputs"]) == 7


def test_demo_sample_holds_every_syntax_and_language(sample_lake):
    """faq-sites.warc.gz: real FAQ text in 9 languages on several websites, in all three syntaxes."""
    lake, manifest = sample_lake
    rows = lake_rows(lake / "faq")
    assert {r["syntax"] for r in rows} == {"json-ld", "microdata", "rdfa"}
    assert set(manifest["output"]["languages"]) >= {"eng", "deu", "fra", "cat", "rus", "ita", "spa", "por", "fas"}
    sites = {}
    for r in rows:
        sites.setdefault(r["language"], set()).add(r["origin"])
    assert all(len(sites[lang]) >= 2 for lang in ("eng", "deu", "spa", "rus", "ita", "por"))


def test_files_carry_crawl_and_language_for_every_reader(sample_lake, spark):
    """Every faq file holds its partition columns: a glob of files keeps the language, and
    Spark, pyarrow and DuckDB with hive partitioning read the table as before."""
    import duckdb
    import pyarrow.parquet as pq

    lake, manifest = sample_lake
    want = {("CC-TEST", lang): n for lang, n in manifest["output"]["languages"].items()}
    files = sorted((lake / "faq").rglob("*.parquet"))
    assert files and all(f.name.startswith("part-") for f in files)
    for f in files:
        t = pq.read_table(f, columns=["crawl", "language"])
        assert set(zip(t["crawl"].to_pylist(), t["language"].to_pylist())) == \
            {(f.parent.parent.name.split("=")[1], f.parent.name.split("=")[1])}
    glob = f"{lake}/faq/**/*.parquet"
    for hive in ("true", "false"):
        got = duckdb.sql(f"SELECT crawl, language, count(*) FROM read_parquet('{glob}', hive_partitioning={hive}) "
                         "GROUP BY ALL").fetchall()
        assert {(a, b): n for a, b, n in got} == want
    got = ds.dataset(str(lake / "faq"), format="parquet", partitioning="hive").to_table().group_by(
        ["crawl", "language"]).aggregate([("id", "count")]).to_pylist()
    assert {(r["crawl"], r["language"]): r["id_count"] for r in got} == want
    spark_rows = spark.read.parquet(str(lake / "faq")).groupBy("crawl", "language").count().collect()
    assert {(r["crawl"], r["language"]): r["count"] for r in spark_rows} == want


def test_records_carry_the_issue_fields(sample_lake):
    lake, _ = sample_lake
    rows = [r for r in lake_rows(lake / "faq") if r["url"] == "https://commoncrawl.org/faq"]
    assert len(rows) >= 10
    r = rows[0]
    assert r["origin"] == "https://commoncrawl.org" and r["language"] == "eng" and r["syntax"] == "json-ld"
    assert r["warc_file"].endswith("sample-0001.warc.gz") and r["fetch_time"] is not None
    assert len(r["id"]) == 32 and r["crawl"] == "CC-TEST"


def test_lake_equals_single_process_extraction(sample_lake):
    """Spark only distributes the work: the lake holds exactly what extract-file produces."""
    lake, _ = sample_lake
    cfg = Config()
    cfg.job.crawl_id = "CC-TEST"
    expected = []
    for path in sorted(SAMPLE.iterdir()):
        expected += process_file(str(path), cfg).records
    assert comparable(lake_rows(lake / "faq")) == comparable(expected)


def test_rerun_replaces_the_crawl_without_duplicates(spark, tmp_path):
    lake = tmp_path / "lake"
    one = str(SAMPLE / "sample-0001.warc.gz")
    first = run_extract(spark, [one, "--lake", str(lake), "--crawl-id", "C1"])
    run_extract(spark, [one, "--lake", str(lake), "--crawl-id", "C2"])
    again = run_extract(spark, [one, "--lake", str(lake), "--crawl-id", "C1"])
    rows = lake_rows(lake / "faq")
    assert len(rows) == 2 * first["counters"]["qa.kept"]
    assert len({(r["crawl"], r["id"]) for r in rows}) == len(rows)
    assert again["output"]["partitions_replaced"] == ["crawl=C1"]


def test_failure_budget_fails_loudly_and_leaves_the_lake_alone(spark, tmp_path):
    lake = tmp_path / "lake"
    good = str(SAMPLE / "sample-0001.warc.gz")
    run_extract(spark, [good, "--lake", str(lake), "--crawl-id", "C"])
    before = lake_rows(lake / "faq")
    from webfaq_jobs.base import JobFailed

    with pytest.raises(JobFailed, match="over the budget"):
        run_extract(spark, [good, str(tmp_path / "missing.warc.gz"), "--lake", str(lake), "--crawl-id", "C"])
    assert lake_rows(lake / "faq") == before
    failed = [json.loads(p.read_text()) for p in (lake / "_runs").iterdir()]
    failed = [m for m in failed if m["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["counters"]["files.failed.not_found"] == 1


def test_delta_format_reads_back_with_deltalake_and_duckdb(spark, tmp_path):
    from deltalake import DeltaTable

    lake = tmp_path / "lake"
    one = str(SAMPLE / "sample-0001.warc.gz")
    m1 = run_extract(spark, [one, "--lake", str(lake), "--crawl-id", "C1", "--format", "delta"])
    run_extract(spark, [one, "--lake", str(lake), "--crawl-id", "C1", "--format", "delta"])
    dt = DeltaTable(str(lake / "faq"))
    assert dt.version() == 1 and dt.metadata().partition_columns == ["crawl", "language"]
    rows = dt.to_pyarrow_table().to_pylist()
    assert len(rows) == m1["counters"]["qa.kept"]  # the second run replaced, not appended
    import duckdb

    con = duckdb.connect()
    con.register("faq", dt.to_pyarrow_dataset())
    assert con.execute("select count(distinct id) from faq where crawl = 'C1'").fetchone()[0] == len(rows)
    # verify counts the files the log holds active (the replaced ones are still on disk)
    from webfaq.lake.verify import verify
    report = verify(str(lake))
    assert report["ok"], report["problems"]
    checked = [p for p in report["partitions_checked"] if p["partition"] == "crawl=C1"]
    assert len(checked) == 1 and sum(checked[0]["found"].values()) == len(rows)
    assert len(list((lake / "faq").rglob("*.parquet"))) > len(dt.file_uris())
    import pyarrow as pa
    gone = pa.table(dt.get_add_actions(flatten=True)).to_pylist()[0]["path"]
    (lake / "faq" / gone).unlink()
    kinds = {f["kind"]: f["path"] for f in verify(str(lake))["findings"]}
    assert sorted(kinds) == ["MISMATCH", "MISSING"] and kinds["MISSING"].endswith(gone)


def test_s3_input_through_a_real_endpoint(spark, tmp_path, s3_bucket, s3_endpoint):
    client, bucket = s3_bucket
    client.upload_file(str(SAMPLE / "sample-0001.warc.gz"), bucket, "crawl-data/X/a.warc.gz")
    listing = "crawl-data/X/a.warc.gz\ncrawl-data/X/missing.warc.gz\n"
    client.put_object(Bucket=bucket, Key="warc.paths", Body=listing.encode())
    lake = tmp_path / "lake"
    m = run_extract(spark, [f"s3://{bucket}/warc.paths", "--lake", str(lake), "--input-base-url",
                            f"s3://{bucket}/", "--s3-endpoint", s3_endpoint, "--job-failure-budget", "0.5",
                            "--crawl-id", "S3"])
    assert m["counters"]["files.ok"] == 1 and m["counters"]["files.failed.not_found"] == 1
    assert any(r["url"] == "https://commoncrawl.org/faq" for r in lake_rows(lake / "faq"))
    statuses = {f["file_uri"]: f["file_status"] for f in m["files"]}
    assert statuses[f"s3://{bucket}/crawl-data/X/missing.warc.gz"] == "failed"


def test_extract_file_cli_writes_json_lines_and_counters(tmp_path):
    out = tmp_path / "out.jsonl"
    proc = subprocess.run([str(Path(sys.executable).parent / "webfaq"), "extract-file",
                           str(SAMPLE / "sample-0001.warc.gz"), "--out", str(out)],
                          capture_output=True, text=True, check=True)
    report = json.loads(proc.stderr)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == report["counters"]["qa.kept"] >= 10 and report["reconcile"] == []
    assert lines[0]["url"] == "https://commoncrawl.org/faq"


def test_nquads_input_in_spark_equals_single_process(spark, tmp_path):
    src = shared_path("wdc", "FAQPage_sample.txt.gz")
    lake = tmp_path / "lake"
    m = run_extract(spark, [str(src), "--input-format", "nquads", "--lake", str(lake), "--crawl-id", "WDC"])
    cfg = Config()
    cfg.input.format, cfg.job.crawl_id = "nquads", "WDC"
    expected = process_file(str(src), cfg).records
    assert m["counters"]["qa.kept"] == len(expected) > 0
    assert comparable(lake_rows(lake / "faq")) == comparable(expected)


def test_verify_agrees_with_the_lake_and_catches_a_lost_file(sample_lake, tmp_path):

    from webfaq.lake.verify import verify

    lake, _ = sample_lake
    copy = tmp_path / "lake"
    shutil.copytree(lake, copy)
    report = verify(str(copy))
    assert report["ok"] and report["partitions_checked"], report["problems"]
    victim = next((copy / "faq" / "crawl=CC-TEST" / "language=eng").glob("*.parquet"))
    victim.unlink()
    proc = subprocess.run([str(Path(sys.executable).parent / "webfaq"), "verify", "--lake", str(copy)],
                          capture_output=True, text=True)
    assert proc.returncode == 1 and "MISMATCH" in proc.stdout
    assert [line for line in proc.stdout.splitlines() if line.startswith("MISSING")] == \
        [f"MISSING  {victim}: run {report['partitions_checked'][0]['run_id']} wrote it"]


def test_a_rerun_resumes_from_per_file_results(spark, sample_lake, tmp_path):
    """Per-WARC completion: files whose result is already in the work dir are not read again,
    failed ones are retried, and the lake equals an uninterrupted run's."""
    from webfaq_jobs.extract import ExtractJob
    from webfaq.extract.pipeline import extract_to_work
    from webfaq.lake.inputs import resolve_inputs

    reference, _ = sample_lake
    lake = tmp_path / "lake"
    argv = [str(SAMPLE), "--lake", str(lake), "--crawl-id", "CC-TEST"]
    job = ExtractJob.from_argv(argv)
    uris = resolve_inputs(job.args.inputs, job.cfg)
    work = job.work_dir(uris)
    # a previous attempt finished three files before it died
    assert len(list(extract_to_work(job.cfg.to_dict(), work, uris[:3]))) == 3
    manifest = ExtractJob.from_argv(argv).execute()
    assert manifest["resumed"]["files_already_done"] == 3 and manifest["resumed"]["files_to_do"] == len(uris) - 3
    assert manifest["counters"]["files.total"] == len(uris)
    assert comparable(lake_rows(lake / "faq")) == comparable(lake_rows(reference / "faq"))
    assert not Path(work).exists()


def test_one_warc_spelled_several_ways_is_extracted_once_and_rerun_in_place(spark, tmp_path, monkeypatch):
    """A manifest naming one WARC four ways (relative, with .., with ./, as a file:// URI) and the
    command line naming it again used to extract it once per spelling (rows x5); a re-run through
    a link added its rows again instead of replacing them."""
    data = tmp_path / "data"
    data.mkdir()
    warc = data / "one.warc.gz"
    shutil.copy(SAMPLE / "sample-0001.warc.gz", warc)
    (tmp_path / "link.warc.gz").symlink_to(warc)
    listing = tmp_path / "warc.paths"
    listing.write_text(f"one.warc.gz\n../data/one.warc.gz\n{data}/./one.warc.gz\nfile://{warc}\n")
    lake = tmp_path / "lake"
    monkeypatch.chdir(data)
    first = run_extract(spark, [str(listing), "one.warc.gz", "--input-base-url", f"{data}/", "--lake", str(lake),
                                "--crawl-id", "CC-TEST"])
    assert first["inputs"] == [str(warc)] and first["counters"]["files.total"] == 1
    rows = lake_rows(lake / "faq")
    assert len(rows) == first["counters"]["qa.kept"] > 0 and {r["warc_file"] for r in rows} == {str(warc)}
    again = run_extract(spark, [str(tmp_path / "link.warc.gz"), "--lake", str(lake), "--crawl-id", "CC-TEST"])
    assert again["inputs"] == [str(warc)]
    assert comparable(lake_rows(lake / "faq")) == comparable(rows)
