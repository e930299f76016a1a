"""Issue 12 with Spark: the lake is a transaction. Names that come from content never become
paths (finding 1, 2), a run replaces exactly the WARC files it redid (3), and concurrent runs
either end as some serial order would or the later one is refused in one line (4, 5), checked
with real concurrent ``webfaq`` processes, round after round."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from conftest import SAMPLE
from support.warcs import with_is_part_of
from test_extract_job import comparable, lake_rows, run_extract
from webfaq.counters import reconcile
from webfaq.lake.lease import lease_store, read_view
from webfaq.lake.verify import verify

pytestmark = pytest.mark.spark
WEBFAQ = str(Path(sys.executable).parent / "webfaq")
ONE, TWO = SAMPLE / "sample-0001.warc.gz", SAMPLE / "real-pages-slice.warc.gz"


def faq_rows(lake: Path, fmt: str = "parquet") -> list[dict]:
    if fmt == "delta":
        from deltalake import DeltaTable

        return DeltaTable(str(lake / "faq")).to_pyarrow_table().to_pylist()
    return lake_rows(lake / "faq") if (lake / "faq").exists() else []


def per_crawl_and_file(rows) -> Counter:
    return Counter((r["crawl"], Path(r["warc_file"]).name) for r in rows)


def assert_clean(lake: Path) -> None:
    """Verify agrees with the manifests; nothing of a run is left behind."""
    report = verify(str(lake))
    assert report["ok"], report["problems"]
    for leftover in ("_staging", "_trash", "_work/extract"):
        assert not (lake / leftover).exists() or not any((lake / leftover).iterdir()), leftover


# --------------------------------------------------------------------------- findings 1 and 2

def test_names_from_content_never_become_paths(spark, tmp_path):
    """WARCs whose isPartOf walks out of the lake, or holds characters Spark escapes, are
    counted failures; the lake, its other crawls and the lake's siblings stay as they were."""
    root = tmp_path / "home"
    lake, victim = root / "lake", root / "victim"
    victim.mkdir(parents=True)
    (victim / "data.txt").write_text("not the lake's")
    before = run_extract(spark, [str(ONE), "--lake", str(lake), "--crawl-id", "C"])
    hostile = ["../../../faq", "../../../../victim", "https://example.org/CC-MAIN-2024-22", "a/b", "x=y", "2024/22", "..",
               "C" * 101]
    inputs = [with_is_part_of(ONE, tmp_path / f"hostile-{i}.warc.gz", name) for i, name in enumerate(hostile)]
    inputs.append(with_is_part_of(TWO, tmp_path / "honest.warc.gz", "D"))
    for fmt in ("parquet", "delta"):
        target = lake if fmt == "parquet" else root / "delta-lake"
        m = run_extract(spark, [*map(str, inputs), "--lake", str(target), "--job-failure-budget", "1", "--format", fmt])
        c = m["counters"]
        assert c["files.failed.bad_crawl_name"] == len(hostile) and c["files.total"] == len(inputs)
        assert reconcile(c) == [] and c["drop.bad_crawl_name"] == len(hostile) * before["counters"]["qa.kept"]
        assert m["output"]["crawls"] == ["D"]
        failed = {Path(f["file_uri"]).name: f["file_crawl"] for f in m["files"] if f["file_status"] == "failed"}
        assert sorted(failed.values()) == sorted(hostile)  # the manifest says what each file claimed
        counts = per_crawl_and_file(faq_rows(target, fmt))
        assert set(counts) <= {("C", ONE.name), ("D", "honest.warc.gz")} and counts[("D", "honest.warc.gz")] > 0
        assert_clean(target)
    assert per_crawl_and_file(faq_rows(lake))[("C", ONE.name)] == before["counters"]["qa.kept"]
    assert sorted(p.name for p in (lake / "faq").iterdir()) == ["crawl=C", "crawl=D"]
    run_extract(spark, [str(ONE), "--lake", str(lake), "--crawl-id", "C"])  # the next run of any job
    assert (victim / "data.txt").read_text() == "not the lake's"
    from webfaq.lake.names import OutsideLake
    from webfaq_jobs.base import HadoopFS

    hadoop = HadoopFS(spark, str(lake))  # the jobs' adapter: bound to the lake too
    for act in (lambda: hadoop.delete(str(victim)), lambda: hadoop.rename(str(lake / "faq"), str(victim / "faq")),
                lambda: hadoop.write_text(str(root / "m.json"), "{}"), lambda: hadoop.delete(str(lake))):
        with pytest.raises(OutsideLake):
            act()
    assert hadoop.create_exclusive(str(lake / "_probe"), "1") and not hadoop.create_exclusive(str(lake / "_probe"), "2")
    assert hadoop.read_text(str(lake / "_probe")) == "1"
    hadoop.delete(str(lake / "_probe"))
    assert sorted(p.name for p in root.iterdir()) == ["delta-lake", "lake", "victim"]


# --------------------------------------------------------------------------- finding 3

@pytest.mark.parametrize("fmt", ["parquet", "delta"])
def test_a_run_replaces_exactly_the_files_it_redid(spark, tmp_path, fmt):
    lake = tmp_path / "lake"

    def extract(*args):
        return run_extract(spark, [*map(str, args), "--lake", str(lake), "--format", fmt])

    n1 = extract(ONE, "--crawl-id", "C")["counters"]["qa.kept"]
    n2 = extract(TWO, "--crawl-id", "C")["counters"]["qa.kept"]  # the crawl's second batch
    assert per_crawl_and_file(faq_rows(lake, fmt)) == {("C", ONE.name): n1, ("C", TWO.name): n2}
    assert_clean(lake)
    again = extract(ONE, "--crawl-id", "C")  # a re-run replaces that file's rows, never duplicates
    assert again["output"]["partition_rows"]["C"] and sum(again["output"]["partition_rows"]["C"].values()) == n1 + n2
    rows = faq_rows(lake, fmt)
    assert per_crawl_and_file(rows) == {("C", ONE.name): n1, ("C", TWO.name): n2}
    assert len({(r["crawl"], r["id"], r["url"], r["warc_file"], r["syntax"]) for r in rows}) == len(rows)
    assert_clean(lake)
    # a stray WARC whose isPartOf names crawl C, in a run that takes crawls from isPartOf
    stray = with_is_part_of(ONE, tmp_path / "stray.warc.gz", "C")
    other = with_is_part_of(TWO, tmp_path / "other.warc.gz", "E")
    extract(stray, other)
    assert per_crawl_and_file(faq_rows(lake, fmt)) == {
        ("C", ONE.name): n1, ("C", TWO.name): n2, ("C", "stray.warc.gz"): n1, ("E", "other.warc.gz"): n2}
    assert_clean(lake)
    # the whole crawl goes only when the user says so
    whole = extract(ONE, "--crawl-id", "C", "--replace-crawl")
    assert whole["output"]["replaced"] == "crawls"
    assert per_crawl_and_file(faq_rows(lake, fmt)) == {("C", ONE.name): n1, ("E", "other.warc.gz"): n2}
    assert_clean(lake)


# --------------------------------------------------------------------------- findings 4 and 5

def start(argv: list[str], run_id: str) -> subprocess.Popen:
    return subprocess.Popen([WEBFAQ, *argv, "--run-id", run_id, "--master", "local[1]", "--job-progress-interval-s", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def race(argvs: list[list[str]], tag: str) -> list[tuple[str, int, str]]:
    """Start the commands at once; (run id, exit code, stderr) of each."""
    procs = [(f"{tag}-{i}", start(argv, f"{tag}-{i}")) for i, argv in enumerate(argvs)]
    out = []
    for run_id, proc in procs:
        _, err = proc.communicate(timeout=900)
        out.append((run_id, proc.returncode, err))
    return out


def assert_serial_or_refused(results, lake: Path) -> list[str]:
    """Every run either completed, or was refused at start in one line that names the holder
    (one of the other runs, with its host and pid) and how to break a dead one's lease.
    Returns the run ids that completed."""
    done = [run_id for run_id, code, _ in results if code == 0]
    assert done, results
    for run_id, code, err in results:
        if code == 0:
            continue
        assert code == 75, err[-3000:]
        line = err.strip()
        assert "\n" not in line and "REFUSED" in line and f"webfaq unlock --lake {lake}" in line, err
        assert any(f"run {other} (job " in line for other in done) and ", host " in line and ", pid " in line
    return done


def manifest(lake: Path, run_id: str) -> dict:
    return json.loads((lake / "_runs" / f"{run_id}.json").read_text())


@pytest.mark.timeout(2400)
def test_concurrent_runs_end_as_a_serial_order_or_are_refused(spark, tmp_path):
    """Rounds of real concurrent processes on one lake. After every round: row counts equal a
    serial order, refused runs said so in one line, verify is consistent, nothing is left."""
    refs = tmp_path / "reference"
    run_extract(spark, [str(ONE), str(TWO), "--lake", str(refs / "both"), "--crawl-id", "C"])
    run_extract(spark, [str(ONE), "--lake", str(refs / "one"), "--crawl-id", "C"])
    both, one = comparable(lake_rows(refs / "both" / "faq")), comparable(lake_rows(refs / "one" / "faq"))
    extract = ["extract", str(ONE), str(TWO), "--crawl-id", "C"]
    deadline = time.monotonic() + 1200  # extra rounds only while there is time; the first pass always runs
    rounds = 0
    while rounds < 4 or (rounds < 8 and time.monotonic() < deadline):
        kind = rounds % 4
        lake = tmp_path / f"round{rounds}"
        tag = f"r{rounds}"
        if kind == 0:  # two identical commands, the second refused while the first holds the lake
            done = assert_serial_or_refused(race([extract + ["--lake", str(lake)]] * 2, tag), lake)
            print(f"round {rounds}: identical extracts, {len(done)} completed, {2 - len(done)} refused")
            assert comparable(lake_rows(lake / "faq")) == both
            for run_id in done:
                assert manifest(lake, run_id)["counters"]["files.total"] == 2
        elif kind == 1:  # two batches of one crawl at once, the second waiting for the lease
            wait = ["--lake", str(lake), "--crawl-id", "C", "--lake-lease-wait-s", "900"]
            results = race([["extract", str(ONE), *wait], ["extract", str(TWO), *wait]], tag)
            assert assert_serial_or_refused(results, lake) == [f"{tag}-0", f"{tag}-1"]
            assert comparable(lake_rows(lake / "faq")) == both  # either order: both batches kept
        elif kind == 2:  # extract and dedup at once: both complete, in one order or the other
            run_extract(spark, [str(ONE), "--lake", str(lake), "--crawl-id", "C"])
            wait = ["--lake", str(lake), "--lake-lease-wait-s", "900"]
            results = race([["extract", str(TWO), "--crawl-id", "C", *wait], ["dedup", *wait]], tag)
            assert assert_serial_or_refused(results, lake) == [f"{tag}-0", f"{tag}-1"]
            assert comparable(lake_rows(lake / "faq")) == both
            dedup_first = manifest(lake, f"{tag}-1")["started"] < manifest(lake, f"{tag}-0")["started"]
            assert len(lake_rows(lake / "faq_dedup")) == len(one if dedup_first else both)
        else:  # Delta: two runs of a new crawl (found committing twice: 628 rows for 314)
            argv = extract + ["--lake", str(lake), "--format", "delta"]
            done = assert_serial_or_refused(race([argv, argv], tag), lake)
            print(f"round {rounds}: Delta extracts of a new crawl, {len(done)} completed, {2 - len(done)} refused")
            assert sorted(comparable(faq_rows(lake, "delta"))) == both
        assert_clean(lake)
        assert read_view(lease_store(str(lake)), str(lake)).state() == "released"
        rounds += 1
