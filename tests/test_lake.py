import pyarrow as pa
import pyarrow.parquet as pq

from webfaq import lake
from webfaq.extract.records import FAQ_FIELDS, arrow_schema


def write_part(root, crawl, lang, name, ids):
    d = root / f"crawl={crawl}" / f"language={lang}"
    d.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"id": ids}), d / name)


def read_ids(table_dir):
    import pyarrow.dataset as ds

    return sorted(ds.dataset(str(table_dir), format="parquet", partitioning="hive").to_table()["id"].to_pylist())


def test_swap_replaces_a_crawl_as_a_whole_and_leaves_others(tmp_path):
    fs, table = lake.LocalFS(tmp_path), tmp_path / "faq"
    write_part(table, "A", "eng", "old.parquet", ["a1", "a2"])
    write_part(table, "B", "deu", "old.parquet", ["b1"])
    staged = tmp_path / "_staging" / "run1" / "faq"
    write_part(staged, "A", "fra", "new.parquet", ["a3"])
    lake.swap_partitions(fs, str(staged), str(table), "run1", ["crawl=A"])
    assert read_ids(table) == ["a3", "b1"]
    assert not (tmp_path / "_trash" / "run1").exists()


def test_a_rerun_with_no_rows_empties_the_crawl(tmp_path):
    fs, table = lake.LocalFS(tmp_path), tmp_path / "faq"
    write_part(table, "A", "eng", "old.parquet", ["a1"])
    (tmp_path / "_staging" / "r" / "faq").mkdir(parents=True)
    lake.swap_partitions(fs, str(tmp_path / "_staging" / "r" / "faq"), str(table), "r", ["crawl=A"])
    assert not (table / "crawl=A").exists()


def test_delta_commit_replaces_one_crawl_in_one_transaction(tmp_path):
    from deltalake import DeltaTable

    fs, table = lake.LocalFS(tmp_path), tmp_path / "faq"
    schema = arrow_schema([("id", "string"), ("crawl", "string"), ("language", "string")])
    for run, crawl, ids in (("r1", "A", ["a1", "a2"]), ("r2", "B", ["b1"]), ("r3", "A", ["a3"])):
        staged = tmp_path / "_staging" / run / "faq"
        write_part(staged, crawl, "eng", f"part-{run}.parquet", ids)
        assert lake.commit_delta(fs, str(staged), str(table), {"crawl": [crawl]}, ["crawl", "language"], schema) == 1
    dt = DeltaTable(str(table))
    assert dt.version() == 2
    rows = dt.to_pyarrow_table().to_pylist()
    assert sorted((r["crawl"], r["id"]) for r in rows) == [("A", "a3"), ("B", "b1")]


def test_manifests_round_trip_and_stale_staging_is_cleaned(tmp_path):
    fs = lake.LocalFS(tmp_path)
    lake.write_manifest(fs, str(tmp_path), {"run_id": "r2", "started": "2026-01-02"})
    lake.write_manifest(fs, str(tmp_path), {"run_id": "r1", "started": "2026-01-01"})
    assert [m["run_id"] for m in lake.read_manifests(fs, str(tmp_path))] == ["r1", "r2"]
    (tmp_path / "_staging" / "dead-run" / "rows").mkdir(parents=True)
    assert lake.recover(fs, str(tmp_path)) == {"restored": [], "removed": ["_staging/dead-run"]}


def test_recover_puts_back_a_partition_whose_replacement_never_arrived(tmp_path):
    fs, table = lake.LocalFS(tmp_path), tmp_path / "faq"
    write_part(table, "A", "eng", "old.parquet", ["a1"])
    write_part(table, "B", "eng", "old.parquet", ["b1"])
    # a run died after moving A to the trash; another had already placed B's replacement
    (tmp_path / "_trash" / "dead" / "faq").mkdir(parents=True)
    (table / "crawl=A").rename(tmp_path / "_trash" / "dead" / "faq" / "crawl=A")
    write_part(tmp_path / "_trash" / "dead2" / "faq", "B", "eng", "older.parquet", ["b0"])
    done = lake.recover(fs, str(tmp_path))
    assert done["restored"] == ["faq/crawl=A"] and read_ids(table) == ["a1", "b1"]
    assert not (tmp_path / "_trash").exists() or not any((tmp_path / "_trash").iterdir())


def test_faq_schema_has_the_issue_fields():
    names = [n for n, _ in FAQ_FIELDS]
    for required in ("id", "crawl", "url", "origin", "language", "question", "answer", "syntax", "warc_file", "fetch_time"):
        assert required in names
