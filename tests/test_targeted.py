"""Targeted refresh (issue 16) on simulated crawls built from real pages: the URL index as real
Parquet files in cc-index-table's schema, served by a loopback HTTP server with Range support
and by moto's S3 server; WARC records fetched by range and extracted as a full pass does."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pyarrow.parquet as pq
import pytest
from conftest import shared_path
from support.cccrawl import CrawlFiles, evolve, first_world, plant_site, write_crawl
from support.faqsynth import write_lake
from support.kill import kill_mid_extract
from support.rangeserver import RangeServer
from webfaq.config import Config
from webfaq.counters import reconcile
from webfaq.extract.ccindex import DuckDBEngine, make_plan
from webfaq.extract.pipeline import process_file, process_unit
from webfaq.extract.targeted import RangeTask, coalesce
from webfaq.lake.inputs import in_sample

A, B, C = "CC-MAIN-2099-01", "CC-MAIN-2099-02", "CC-MAIN-2099-03"
FILES = 6
WEBFAQ = str(Path(sys.executable).parent / "webfaq")


@dataclass
class Sim:
    root: Path
    server: RangeServer
    crawls: dict[str, CrawlFiles]
    planted: str  # a FAQ host that first appears in crawl B
    full: dict[str, list[dict]]  # crawl -> records of a full pass

    def cfg(self, crawl: str, discovery: float = 0.0, seed: int = 1, **targeted) -> Config:
        cfg = Config()
        cfg.input.base_url, cfg.input.crawl = self.server.url, crawl
        cfg.targeted.index_url = self.server.url + "cc-index/table/cc-main/warc/"
        cfg.targeted.discovery_sample, cfg.targeted.discovery_seed = discovery, seed
        for key, value in targeted.items():
            setattr(cfg.targeted, key, value)
        return cfg


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    """Three months of a simulated web from real pages; a FAQ host planted in month B (kept in
    C); a full pass of every crawl, for reference."""
    shared = shared_path()
    root = tmp_path_factory.mktemp("cc")
    w0 = first_world(shared, 240, seed=7)
    w1 = evolve(w0)
    planted = plant_site(w1, kind="faq_plain")
    w2 = evolve(w1, gone=0.0)
    crawls = {A: write_crawl(root, A, w0, FILES), B: write_crawl(root, B, w1, FILES), C: write_crawl(root, C, w2, FILES)}
    (root / "collinfo.json").write_text(json.dumps([{"id": B}, {"id": A}]))
    server = RangeServer(root)
    s = Sim(root, server, crawls, planted.host, {})
    for crawl, files in crawls.items():
        cfg = s.cfg(crawl)
        s.full[crawl] = [r for name in files.warcs for r in process_file(server.url + name, cfg).records]
    yield s
    server.close()


def lake_of(path: Path, *records: list[dict]) -> Path:
    write_lake([r for recs in records for r in recs], path)
    return path


def plan_for(sim: Sim, lake: Path, cfg: Config):
    engine = DuckDBEngine(cfg, str(lake), cfg.input.crawl)
    return make_plan(cfg.input.crawl, cfg, engine, str(lake / "_work" / "plan")), engine


def fetch(plan, cfg: Config) -> tuple[list[dict], list[dict]]:
    results = [process_unit(u, cfg) for u in plan.units()]
    return [r for res in results for r in res.records], [res.counters for res in results]


def urls_read(root: Path, crawl: CrawlFiles, plan) -> set[str]:
    """URLs of every capture whose record lies inside the plan's reads (ranges or whole files)."""
    whole = {u.rsplit("/", 1)[1] for u in plan.discovery}
    spans = {t.uri.rsplit("/", 1)[1]: t.ranges for t in plan.tasks}
    out = set()
    for rel in crawl.index:
        for row in pq.read_table(root / rel, columns=["url", "warc_filename", "warc_record_offset",
                                                      "warc_record_length"]).to_pylist():
            name = row["warc_filename"].rsplit("/", 1)[1]
            start, end = row["warc_record_offset"], row["warc_record_offset"] + row["warc_record_length"]
            if name in whole or any(o <= start and end <= o + n for o, n in spans.get(name, ())):
                out.add(row["url"])
    return out


def reference_targets(root: Path, crawl: CrawlFiles, known_records: list[dict], cfg: Config) -> list[tuple]:
    """The selection rules in plain Python: (warc_filename, offset, reason) of every capture a
    plan must target, given the lake's FAQ records of earlier crawls."""
    def template(path: str) -> tuple[str, str]:
        directory = path[: path.rfind("/") + 1]
        ext = re.search(r"([.][A-Za-z0-9]{1,5})$", path)
        return directory, re.sub("[0-9]+", "0", directory) + "*" + (ext.group(1).lower() if ext else "")

    known = {(urlsplit(r["url"]).hostname, urlsplit(r["url"]).path or "/") for r in known_records}
    templates = {(h, template(p)[1]) for h, p in known if template(p)[0] != "/"}
    pattern = re.compile(cfg.targeted.faq_path_pattern)
    out = []
    for rel in crawl.index:
        for row in pq.read_table(root / rel).to_pylist():
            host, path = row["url_host_name"].lower(), row["url_path"]
            if row["fetch_status"] != 200 or row["content_mime_detected"] not in cfg.targeted.mime_types or \
                    host not in {h for h, _ in known}:
                continue
            reason = "known_url" if (host, path) in known else "faq_path" if pattern.search(path) else \
                "path_template" if (host, template(path)[1]) in templates else None
            if reason:
                out.append((row["warc_filename"], row["warc_record_offset"], reason))
    return sorted(out)


def key(records: list[dict]) -> list[tuple]:
    return sorted((r["id"], r["url"], r["question"], r["answer"], r["language"], r["syntax"], r["crawl"],
                   r["warc_file"], r["fetch_time"]) for r in records)


def test_targeted_pass_equals_full_pass_on_what_it_reads(sim, tmp_path, s3_bucket, s3_endpoint):
    lake = lake_of(tmp_path / "lake", sim.full[A])
    cfg = sim.cfg(B)
    plan, engine = plan_for(sim, lake, cfg)
    # the SQL selection equals the reference, reason by reason
    expected = reference_targets(sim.root, sim.crawls[B], sim.full[A], cfg)
    assert sorted(engine.rows("SELECT warc_filename, rec_offset, reason FROM targets")) == expected
    assert {reason for *_, reason in expected} >= {"known_url", "path_template"}
    assert {r: v["captures"] for r, v in plan.reasons.items()} == dict(Counter(reason for *_, reason in expected))
    # the SQL coalescing equals the reference: each file's planned records, gaps up to max_gap read through
    planned = engine.rows("SELECT warc_filename, rec_offset, rec_length FROM targets")
    for gap in (0, cfg.targeted.max_gap, 10 ** 9):
        gapped = plan if gap == cfg.targeted.max_gap else plan_for(sim, lake, sim.cfg(B, max_gap=gap))[0]
        for task in gapped.tasks:
            mine = [(o, n) for f, o, n in planned if task.uri.endswith(f)]
            assert [(o, n) for o, n, _ in coalesce(mine, gap)] == list(task.ranges) and task.captures == len(mine)
        reads = sum(len(t.ranges) for t in gapped.tasks)
        # CC layout: request and metadata records lie between two responses, so gap 0 reads each alone
        assert reads == {0: len(planned), 10 ** 9: len(gapped.tasks)}.get(gap, reads)

    sim.server.reset()
    records, counters = fetch(plan, cfg)
    assert all(reconcile(c) == [] and c["files.ok"] == 1 for c in counters)
    # bytes served for WARC files == the planned range bytes == what the counters say was read
    assert sim.server.total("crawl-data/")[1] == plan.summary()["range_bytes"] == sum(c["targeted.bytes"] for c in counters)
    assert sim.server.total("crawl-data/")[0] == plan.summary()["ranged_reads"]
    read = urls_read(sim.root, sim.crawls[B], plan)
    assert key(records) == key([r for r in sim.full[B] if r["url"] in read]) and records
    # what a targeted pass misses without discovery: FAQ pages on hosts the lake does not know
    missed = {r["url"] for r in sim.full[B]} - {r["url"] for r in records}
    assert any(url.startswith(f"https://{sim.planted}/") for url in missed)

    # the same index and WARCs on S3 (moto): the same plan, the same records
    client, bucket = s3_bucket
    for path in sim.root.rglob("*"):
        if path.is_file() and ("cc-index/" in str(path) or B in str(path)):
            client.upload_file(str(path), bucket, str(path.relative_to(sim.root)))
    s3 = sim.cfg(B)
    s3.input.base_url, s3.targeted.index_url = f"s3://{bucket}/", f"s3://{bucket}/cc-index/table/cc-main/warc/"
    s3.s3.endpoint_url = s3_endpoint
    s3_plan, _ = plan_for(sim, lake, s3)
    relative = lambda p: [(t.uri.split("/crawl-data/")[1], t.ranges, t.captures) for t in p.tasks]  # noqa: E731
    assert relative(s3_plan) == relative(plan) and s3_plan.summary() == plan.summary()
    s3_records, _ = fetch(s3_plan, s3)
    assert [k[:7] for k in key(s3_records)] == [k[:7] for k in key(records)]


def test_discovery_sample_finds_a_planted_new_host_and_the_host_list_grows(sim, tmp_path):
    lake = lake_of(tmp_path / "lake", sim.full[A])
    planted_file = sim.crawls[B].host_file[sim.planted]
    fraction = 1 / FILES
    seed = next(s for s in range(10_000) if in_sample(planted_file, fraction, s))
    cfg = sim.cfg(B, discovery=fraction, seed=seed)
    plan, _ = plan_for(sim, lake, cfg)
    assert sim.server.url + planted_file in plan.discovery
    assert all(t.uri != sim.server.url + planted_file for t in plan.tasks)  # read whole, not twice
    records, counters = fetch(plan, cfg)
    assert all(reconcile(c) == [] for c in counters)
    planted = [r for r in sim.full[B] if r["url"].startswith(f"https://{sim.planted}/")]
    assert planted and set(key(planted)) <= set(key(records))
    read = urls_read(sim.root, sim.crawls[B], plan)
    assert key(records) == key([r for r in sim.full[B] if r["url"] in read])

    # next month the planted host is known: found with no discovery sample at all
    lake_of(lake, records)
    plan_c, engine = plan_for(sim, lake, sim.cfg(C))
    assert sim.planted in {h for (h,) in engine.rows("SELECT DISTINCT host FROM known_pages")}
    found, _ = fetch(plan_c, sim.cfg(C))
    expected = [r for r in sim.full[C] if r["url"].startswith(f"https://{sim.planted}/")]
    assert expected and set(key(expected)) <= set(key(found))
    assert plan_c.summary()["discovery_files"] == 0


def test_a_broken_range_costs_only_itself(sim, monkeypatch):
    """A range that does not start at a record (a wrong index row) is counted and makes the
    file partial; the other ranges of the task are still read. Ranges too large to buffer are
    streamed, with the same result."""
    cfg = sim.cfg(B)
    name = sim.crawls[B].warcs[0]
    rows = [r for rel in sim.crawls[B].index for r in pq.read_table(sim.root / rel).to_pylist()
            if r["warc_filename"] == name]
    good = [(r["warc_record_offset"], r["warc_record_length"]) for r in rows[:2]]
    bad = (good[0][0] + 7, good[0][1])
    result = RangeTask(sim.server.url + name, (bad, *sorted(good)), 3).process(cfg)
    assert result.status == "partial" and result.reason == "corrupt_warc"
    assert reconcile(result.counters) == [] and result.counters["warc.records.response"] == 2
    buffered = RangeTask(sim.server.url + name, tuple(sorted(good)), 2).process(cfg)
    monkeypatch.setattr("webfaq.extract.pipeline.BUFFERED_RANGE", 0)
    streamed = RangeTask(sim.server.url + name, tuple(sorted(good)), 2).process(cfg)
    assert streamed.status == buffered.status == "ok" and key(streamed.records) == key(buffered.records)
    assert streamed.counters == buffered.counters and streamed.counters["warc.records"] >= 2
    past_end = RangeTask(sim.server.url + name, ((10 ** 9, 100),), 1).process(cfg)
    assert past_end.status == "failed" and past_end.reason == "range_error" and past_end.attempts == 1
    assert past_end.counters["skip.record.range_error"] == 1 and reconcile(past_end.counters) == []


@pytest.mark.parametrize("where", ["http", "local"])
def test_a_range_the_file_refuses_costs_only_itself(sim, where):
    """A range past the end of the WARC (HTTP 416, a local file's end), cut short by it, or
    negative (never fetched): each is counted with its planned captures, once (no retries of
    the task), and every other range of the file is read as without it."""
    cfg = sim.cfg(B)
    faq = {r["url"] for r in sim.full[B]}
    rows = [r for rel in sim.crawls[B].index for r in pq.read_table(sim.root / rel).to_pylist() if r["url"] in faq]
    name = Counter(r["warc_filename"] for r in rows).most_common(1)[0][0]
    uri = sim.server.url + name if where == "http" else str(sim.root / name)
    good = tuple(sorted((r["warc_record_offset"], r["warc_record_length"]) for r in rows
                        if r["warc_filename"] == name))[:3]
    size = (sim.root / name).stat().st_size
    bad = ((-100, 500), (size - 10, 100), (size + 10 ** 6, 100))
    alone = RangeTask(uri, good, len(good), (1,) * len(good)).process(cfg)
    sim.server.reset()
    mixed = RangeTask(uri, (bad[0], *good, *bad[1:]), len(good) + 4, (1, *(1,) * len(good), 2, 1)).process(cfg)
    assert len(good) >= 2
    assert alone.status == "ok" and mixed.status == "partial" and mixed.reason == "range_error"
    assert mixed.attempts == 1 and reconcile(mixed.counters) == []
    assert key(mixed.records) == key(alone.records) and mixed.records
    assert mixed.counters["skip.record.range_error"] == 4  # the captures of the three refused ranges
    assert mixed.counters["warc.records"] == alone.counters["warc.records"] + 4
    errors = {k.rsplit(".", 1)[1]: v for k, v in mixed.counters.items() if k.startswith("targeted.range_errors.")}
    assert errors == ({"bad_range": 1, "http_error": 1, "short_read": 1} if where == "http"
                      else {"bad_range": 1, "short_read": 2})
    if where == "http":  # served: the good ranges and the one cut short, each once (no retries)
        assert sim.server.total("crawl-data/")[0] == len(good) + 1


def test_ranged_reads_survive_throttling_resets_and_stalls(sim, tmp_path, s3_bucket, s3_endpoint):
    """The retries of whole files, for ranges: a SlowDown retries the task, a reset or a stalled
    read resumes the range where it broke (fault-injecting proxy in front of moto's S3)."""
    from faultproxy import FaultProxy

    client, bucket = s3_bucket
    plan, _ = plan_for(sim, lake_of(tmp_path / "lake", sim.full[A]), sim.cfg(B))
    task = max(plan.tasks, key=lambda t: (len(t.ranges), t.bytes))
    rel = task.uri[len(sim.server.url):]
    client.upload_file(str(sim.root / rel), bucket, rel)
    undisturbed = task.process(sim.cfg(B))
    proxy = FaultProxy(s3_endpoint, stall_s=2.5)
    try:
        cfg = sim.cfg(B)
        cfg.s3.endpoint_url = proxy.url
        cfg.retry.base_delay_s, cfg.retry.max_delay_s, cfg.retry.timeout_s = 0.01, 0.05, 1.0
        proxy.schedule(f"/{bucket}/{rel}", "slowdown", "reset", "stall")
        result = RangeTask(f"s3://{bucket}/{rel}", task.ranges, task.captures).process(cfg)
    finally:
        proxy.close()
    assert [f for _, f in proxy.injected] == ["slowdown", "reset", "stall"]
    assert result.status == "ok" and result.attempts == 2 and reconcile(result.counters) == []
    assert [k[:7] for k in key(result.records)] == [k[:7] for k in key(undisturbed.records)]
    assert result.counters["files.retries.s3_error"] == 1
    assert sum(v for k, v in result.counters.items() if k.startswith("files.resumed_reads.")) == 2


def test_an_index_row_naming_a_file_outside_the_listing_is_never_fetched(sim, tmp_path):
    """The index names the file to read; only files of the crawl's own warc.paths.gz are."""
    import pyarrow as pa

    root = tmp_path / "cc"
    for rel in [*sim.crawls[B].index, f"crawl-data/{B}/warc.paths.gz", f"crawl-data/{B}/cc-index-table.paths.gz"]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(sim.root / rel, root / rel)
    part = root / sim.crawls[B].index[0]
    table = pq.read_table(part)
    row = table.slice(0, 1).to_pylist()[0]
    host = urlsplit(sim.full[A][0]["url"]).hostname
    row.update(url=f"https://{host}/faq", url_host_name=host, url_path="/faq", warc_filename="../../../etc/passwd")
    pq.write_table(pa.concat_tables([table, pa.Table.from_pylist([row], schema=table.schema)]), part)
    server = RangeServer(root)
    try:
        cfg = sim.cfg(B)
        cfg.input.base_url, cfg.targeted.index_url = server.url, server.url + "cc-index/table/cc-main/warc/"
        plan, _ = plan_for(sim, lake_of(tmp_path / "lake", sim.full[A]), cfg)
    finally:
        server.close()
    assert plan.summary()["unlisted_captures"] == 1 and "does not list" in plan.describe()
    assert all(t.uri.startswith(server.url + f"crawl-data/{B}/") for t in plan.tasks) and plan.tasks


def copy_crawl(sim: Sim, root: Path) -> None:
    """Crawl B's index and listings (not its WARCs) under ``root``."""
    for rel in [*sim.crawls[B].index, f"crawl-data/{B}/warc.paths.gz", f"crawl-data/{B}/cc-index-table.paths.gz"]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(sim.root / rel, root / rel)


def local_cfg(sim: Sim, root: Path) -> Config:
    cfg = sim.cfg(B)
    cfg.input.base_url, cfg.targeted.index_url = str(root) + "/", str(root / "cc-index/table/cc-main/warc") + "/"
    return cfg


def hostile_index(sim: Sim, root: Path) -> dict[str, int]:
    """Crawl B's index with hostile rows added on a known host's FAQ path: each planned capture
    of one file listed three more times, then rows no WARC can hold, in the index's own file
    and in a second file whose offsets and lengths are int64 and strings. Returns the skip
    counts a plan must report."""
    import pyarrow as pa

    copy_crawl(sim, root)
    part = root / sim.crawls[B].index[0]
    table = pq.read_table(part)
    host = urlsplit(sim.full[A][0]["url"]).hostname
    probe = dict(table.slice(0, 1).to_pylist()[0], url=f"https://{host}/faq", url_host_name=host, url_path="/faq",
                 fetch_status=200, content_mime_detected="text/html")
    planned, _ = plan_for(sim, lake_of(root / "clean-lake", sim.full[A]), local_cfg(sim, root))
    file = planned.tasks[0].uri.split(str(root) + "/", 1)[1]
    mine = [r for r in table.to_pylist() if r["warc_filename"] == file]
    selected = [r for r in mine if any(o <= r["warc_record_offset"] < o + n for o, n in planned.tasks[0].ranges)]
    dups = [r for r in selected for _ in range(3)]
    bad = [dict(probe, warc_record_offset=-100), dict(probe, warc_record_offset=None),
           dict(probe, warc_record_length=0), dict(probe, warc_record_length=-100),
           dict(probe, warc_record_length=2 ** 31 - 1), dict(probe, warc_filename=None)]
    pq.write_table(pa.concat_tables([table, pa.Table.from_pylist(dups + bad, schema=table.schema)]), part)
    wide = pa.schema([f if f.name not in ("warc_record_offset", "warc_record_length") else pa.field(f.name, pa.int64())
                      for f in table.schema])
    pq.write_table(pa.Table.from_pylist([dict(probe, warc_record_offset=2 ** 62, warc_record_length=100),
                                         dict(probe, warc_record_offset=2 ** 62, warc_record_length=2 ** 62)],
                                        schema=wide), part.with_name("part-hostile-int64.parquet"))
    text = pa.schema([f if f.name != "warc_record_offset" else pa.field(f.name, pa.string()) for f in table.schema])
    pq.write_table(pa.Table.from_pylist([dict(probe, warc_record_offset="abc"), dict(probe, warc_record_offset="1.5")],
                                        schema=text), part.with_name("part-hostile-text.parquet"))
    return {"duplicate_row": len(dups), "offset_negative": 1, "offset_missing": 1, "length_not_positive": 2,
            "length_too_large": 2, "filename_missing": 1, "offset_too_large": 1, "offset_not_integer": 2}


def test_hostile_index_rows_are_skipped_counted_and_each_record_read_once(sim, tmp_path):
    """Duplicated rows are read once (captures, bytes and ranges as without them); rows with a
    missing, non-integer, negative or overflowing position are never planned; every one is
    counted under its reason in the plan and in the run's counters."""
    clean_root, root = tmp_path / "clean", tmp_path / "hostile"
    copy_crawl(sim, clean_root)
    expected_skips = hostile_index(sim, root)
    lake = lake_of(tmp_path / "lake", sim.full[A])
    clean, _ = plan_for(sim, lake, local_cfg(sim, clean_root))
    plan, engine = plan_for(sim, lake, local_cfg(sim, root))
    relative = lambda p, r: [(t.uri[len(str(r)):], t.ranges, t.captures, t.range_captures)  # noqa: E731
                             for t in p.tasks]
    assert relative(plan, root) == relative(clean, clean_root) and plan.reasons == clean.reasons
    s = plan.summary()
    assert s["skipped_rows"] == expected_skips and s["captures"] == clean.summary()["captures"]
    assert plan.skip_counters() == {f"targeted.skipped.{k}": v for k, v in expected_skips.items()}
    assert f"{sum(expected_skips.values()):,} index rows: duplicate_row" in plan.describe()
    assert engine.rows("SELECT count(*) FROM targets")[0][0] == engine.rows(
        "SELECT count(*) FROM (SELECT DISTINCT warc_filename, rec_offset, rec_length FROM targets) t")[0][0]


def test_records_sharing_an_offset_coalesce_into_one_read():
    """Range merging orders a file's records totally: with many records at one offset, both
    windows of the SQL agree on the file's first record, so no record lands in two reads."""
    import duckdb
    from webfaq.extract.ccindex import ranges_sql

    con = duckdb.connect()
    con.execute("CREATE TABLE targets AS SELECT 'f' AS warc_filename, 0::BIGINT AS rec_offset, "
                "(465 + i)::BIGINT AS rec_length FROM range(100000) t(i)")
    con.execute("INSERT INTO targets VALUES ('f', 200000, 464), ('f', 400000, 464)")
    rows = con.execute("SELECT rec_offset, rec_length FROM targets").fetchall()
    reference = [("f", *read) for read in coalesce(rows, 65536)]
    for _ in range(5):
        assert con.execute(ranges_sql(65536)).fetchall() == reference


@pytest.mark.parametrize("damage, message", [
    ("missing_column", "no column warc_record_length"),
    ("not_parquet", "is not readable Parquet"),
    ("wrong_type", "column fetch_status is string, expected an integer"),
])
def test_an_index_file_that_is_no_index_is_one_line_naming_it(sim, tmp_path, damage, message):
    import pyarrow as pa

    root = tmp_path / "cc"
    copy_crawl(sim, root)
    part = root / sim.crawls[B].index[-1]
    table = pq.read_table(part)
    if damage == "missing_column":
        pq.write_table(table.drop(["warc_record_length"]), part)
    elif damage == "not_parquet":
        part.write_bytes(b"PAR1 this is not a Parquet file")
    else:
        pq.write_table(table.set_column(table.schema.get_field_index("fetch_status"), "fetch_status",
                                        table["fetch_status"].cast(pa.string())), part)
    lake = lake_of(tmp_path / "lake", sim.full[A])
    res = subprocess.run([WEBFAQ, "plan", "--lake", str(lake), "--crawl", B, "--input-base-url", str(root) + "/",
                          "--targeted-index-url", str(root / "cc-index/table/cc-main/warc") + "/",
                          "--targeted-engine", "duckdb"], capture_output=True, text=True, timeout=300)
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert message in res.stderr and part.name in res.stderr and "Traceback" not in res.stderr


def test_plan_command_prints_the_plan_and_rejects_bad_settings(sim, tmp_path):
    lake = lake_of(tmp_path / "lake", sim.full[A])
    base = ["plan", "--lake", str(lake), "--input-base-url", sim.server.url,
            "--targeted-index-url", sim.server.url + "cc-index/table/cc-main/warc/", "--targeted-engine", "duckdb"]
    out = subprocess.run([WEBFAQ, *base, "--crawl", B, "--json"], capture_output=True, text=True, timeout=300)
    summary = json.loads(out.stdout)
    expected, _ = plan_for(sim, tmp_path / "lake", sim.cfg(B, discovery=0.03))
    assert summary == json.loads(json.dumps(expected.summary()))
    assert summary["bytes_to_read"] < summary["crawl_bytes"] and summary["crawl_warc_files"] == FILES
    text = subprocess.run([WEBFAQ, *base, "--crawl", B], capture_output=True, text=True, timeout=300).stdout
    assert f"targeted plan for {B}" in text and "of the crawl's capture bytes" in text
    for bad, message in [(["--crawl", B, "--targeted-discovery-sample", "2"], "--targeted-discovery-sample"),
                         ([], "needs --crawl"), (["--crawl", "CC-MAIN-1999-99"], "not_found")]:
        res = subprocess.run([WEBFAQ, *base, *bad], capture_output=True, text=True, timeout=300)
        assert res.returncode == 2 and message in res.stderr and len(res.stderr.strip().splitlines()) == 1, res.stderr


# --------------------------------------------------------------------------- Spark: refresh --targeted

@pytest.mark.spark
def test_spark_planner_skips_and_dedups_hostile_rows_as_duckdb_does(spark, sim, tmp_path):
    from webfaq_jobs.targeted import TargetedExtractJob

    root = tmp_path / "hostile"
    expected_skips = hostile_index(sim, root)
    lake = lake_of(tmp_path / "lake", sim.full[A])
    cfg = local_cfg(sim, root)
    duck, _ = plan_for(sim, lake, cfg)
    cfg.lake.path, cfg.targeted.engine = str(lake), "spark"
    import argparse

    planned = TargetedExtractJob(cfg, argparse.Namespace(inputs=[])).build_plan()
    assert planned.summary()["skipped_rows"] == expected_skips
    assert planned.summary() == duck.summary() and planned.tasks == duck.tasks


def refresh_args(sim: Sim, lake: Path) -> list[str]:
    return ["--lake", str(lake), "--input-base-url", sim.server.url, "--refresh-collinfo-url",
            sim.server.url + "collinfo.json", "--targeted", "--targeted-index-url",
            sim.server.url + "cc-index/table/cc-main/warc/", "--targeted-discovery-sample", "0.34",
            "--refresh-stages", "extract,dedup", "--no-refresh-report"]


@pytest.mark.spark
def test_refresh_targeted_killed_mid_fetch_resumes_to_the_uninterrupted_lake(spark, sim, tmp_path):
    from test_extract_job import comparable, dedup_outcome, lake_rows
    from webfaq_jobs.refresh import RefreshJob

    start = lake_of(tmp_path / "start", sim.full[A])
    reference = tmp_path / "reference"
    shutil.copytree(start, reference)
    m = RefreshJob.from_argv(refresh_args(sim, reference)).execute()
    assert m["crawl"] == B and set(m["stages"]) == {"extract", "dedup"}

    lake = tmp_path / "killed"
    shutil.copytree(start, lake)
    sim.server.delay_s = 0.5  # each ranged read takes a while: the kill lands between two of them
    try:
        done_before_kill = kill_mid_extract([WEBFAQ, "refresh", *refresh_args(sim, lake), "--master", "local[1]"],
                                            lake, timeout_s=400)
    finally:
        sim.server.delay_s = 0.0
    assert done_before_kill >= 2, "the refresh finished before it could be killed"
    assert not list(lake.glob(f"faq/crawl={B}"))  # nothing half-committed

    sim.server.reset()
    resumed = RefreshJob.from_argv(refresh_args(sim, lake)).execute()
    assert sim.server.total("cc-index/")[0] == 0  # the index scan was resumed from the work area too
    runs = {r["run_id"]: r for r in (json.loads(p.read_text()) for p in (lake / "_runs").glob("*.json"))}
    extract = runs[resumed["stages"]["extract"]]
    assert extract["job"] == "extract" and extract["resumed"]["files_already_done"] >= done_before_kill
    assert reconcile(extract["counters"]) == []
    t = extract["targeted"]
    assert t == json.loads((reference / "_runs" / f"{m['stages']['extract']}.json").read_text())["targeted"]
    assert extract["counters"]["files.total"] == t["warc_files_touched"]
    assert extract["counters"]["targeted.bytes"] == t["range_bytes"]
    # the lake equals the uninterrupted run's: faq and faq_dedup (dedup ran on it unchanged)
    assert comparable(lake_rows(lake / "faq")) == comparable(lake_rows(reference / "faq"))
    assert dedup_outcome(lake) == dedup_outcome(reference)
    assert not list(lake.glob("_work/plan/*")) and not list(lake.glob("_work/extract/*"))
    # the Spark SQL plan is the DuckDB plan, and the rows are the full pass's on what was read
    cfg = sim.cfg(B, discovery=0.34)
    duck, _ = plan_for(sim, start, cfg)
    assert json.loads(json.dumps(duck.summary())) == t
    read = urls_read(sim.root, sim.crawls[B], duck)
    got = [r for r in lake_rows(lake / "faq") if r["crawl"] == B]
    assert comparable(got) == comparable([r for r in sim.full[B] if r["url"] in read])
