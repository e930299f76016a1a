"""A driver killed mid-write, and an executor killed mid-stage: readers never see a partial or
duplicated crawl, and the re-run (or the retried tasks) give the undisturbed lake."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import SAMPLE, shared_path
from test_extract_job import comparable, lake_rows, run_extract
from webfaq.faults import ENV, EXIT_CODE

pytestmark = pytest.mark.spark
WEBFAQ = str(Path(sys.executable).parent / "webfaq")


def extract(inputs, lake, *extra, env=None, timeout=600):
    return subprocess.run([WEBFAQ, "extract", *map(str, inputs), "--lake", str(lake), "--crawl-id", "C", *extra],
                          capture_output=True, text=True, timeout=timeout, env=env)


def args(inputs, lake):
    return [*map(str, inputs), "--lake", str(lake), "--crawl-id", "C"]


@pytest.fixture(scope="module")
def runs(spark, tmp_path_factory):
    """The undisturbed reference (in the test's own Spark session): an old version of crawl C,
    then the new version."""
    root = tmp_path_factory.mktemp("crash")
    old_inputs = [SAMPLE / "sample-0001.warc.gz"]
    new_inputs = [SAMPLE / "sample-0001.warc.gz", SAMPLE / "real-pages-slice.warc.gz"]
    old, new = root / "old", root / "new"
    run_extract(spark, args(old_inputs, old))
    run_extract(spark, args(new_inputs, new))
    return root, old, new_inputs, comparable(lake_rows(old / "faq")), comparable(lake_rows(new / "faq"))


@pytest.mark.parametrize("point", ["extract.after_stage", "swap.after_trash", "swap.after_place"])
def test_driver_killed_mid_write_then_rerun(spark, runs, point):
    root, old, new_inputs, old_rows, new_rows = runs
    lake = root / point
    shutil.copytree(old, lake)  # the lake holds the old crawl C when the new run starts
    crashed = extract(new_inputs, lake, env=dict(os.environ, **{ENV: point}))
    assert crashed.returncode == EXIT_CODE, crashed.stderr[-2000:]
    # what a reader sees right after the crash: the old crawl, the new crawl, or (only between
    # the two renames) no crawl -- never a mix, never duplicates
    visible = comparable(lake_rows(lake / "faq")) if (lake / "faq" / "crawl=C").exists() else []
    assert visible in (old_rows, new_rows, [])
    assert len(set(visible)) == len(visible)
    run_extract(spark, args(new_inputs, lake))  # the re-run
    assert comparable(lake_rows(lake / "faq")) == new_rows
    assert not any((lake / "_staging").iterdir()) if (lake / "_staging").exists() else True


def _executor_pids(work_root: str) -> list[int]:
    """Executors of this test's cluster only (their working dir is under its worker dir)."""
    out = subprocess.run(["pgrep", "-f", "CoarseGrainedExecutorBackend"], capture_output=True, text=True)
    pids = []
    for pid in map(int, out.stdout.split()):
        try:
            if os.readlink(f"/proc/{pid}/cwd").startswith(work_root):
                pids.append(pid)
        except OSError:
            continue
    return pids


def _python_workers(executor: int) -> bool:
    out = subprocess.run(["pgrep", "-P", str(executor)], capture_output=True, text=True)
    return bool(out.stdout.split())


@pytest.mark.cluster
def test_executor_killed_mid_stage_the_job_completes_with_the_same_lake(spark, standalone_master, tmp_path):
    warc = shared_path("warc", "real-pages.warc.gz")
    inputs = tmp_path / "in"
    inputs.mkdir()
    for i in range(12):
        (inputs / f"copy-{i:02d}.warc.gz").symlink_to(warc)
    undisturbed = tmp_path / "undisturbed"
    run_extract(spark, args([inputs], undisturbed))  # local mode == cluster is shown elsewhere
    lake = tmp_path / "killed"
    proc = subprocess.Popen([WEBFAQ, "extract", str(inputs), "--lake", str(lake), "--crawl-id", "C",
                             "--master", standalone_master], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed = None
    deadline = time.time() + 120
    while killed is None and time.time() < deadline and proc.poll() is None:
        for pid in _executor_pids(standalone_master.work_dir):
            if _python_workers(pid):  # a task is running Python on this executor
                os.kill(pid, signal.SIGKILL)
                killed = pid
                break
        time.sleep(0.2)
    out, err = proc.communicate(timeout=600)
    assert killed is not None, "no executor was caught running a task"
    assert proc.returncode == 0, err[-3000:]
    assert comparable(lake_rows(lake / "faq")) == comparable(lake_rows(undisturbed / "faq"))


def _table_files(lake: Path, tables) -> dict[str, str]:
    """Every file of ``tables`` (path under the lake -> sha256 of its bytes)."""
    import hashlib

    return {str(p.relative_to(lake)): hashlib.sha256(p.read_bytes()).hexdigest()
            for t in tables for p in sorted((lake / t).rglob("*")) if p.is_file()}


def test_dedup_killed_between_its_tables_is_rolled_back_whole(spark, tmp_path):
    """Killed after four of its five tables were swapped: the next writer puts every table back
    as the previous run left it (not four new tables and an old faq_dedup), and verify agrees."""
    from support.faqsynth import write_lake
    from test_dedup_job import C1, C2, OUTPUT_TABLES, build_rows, run_dedup
    from webfaq.lake.verify import verify
    from webfaq_jobs.base import JobFailed

    lake = tmp_path / "lake"
    write_lake(build_rows()[0], lake)
    run_dedup(lake, "--dedup-crawls", C1)
    before = _table_files(lake, OUTPUT_TABLES)
    crashed = subprocess.run([WEBFAQ, "dedup", "--lake", str(lake), "--dedup-crawls", C2, "--dedup-incremental"],
                             capture_output=True, text=True, timeout=900,
                             env=dict(os.environ, **{ENV: "swap.after_table.faq_dedup_dropped"}))
    assert crashed.returncode == EXIT_CODE, crashed.stderr[-2000:]
    assert (lake / "faq_dedup_dropped" / f"crawl={C2}").exists() and not (lake / "faq_dedup" / f"crawl={C2}").exists()
    with pytest.raises(JobFailed, match="no such crawl"):  # the next writer (it recovers first, then fails)
        run_dedup(lake, "--dedup-crawls", "CC-TEST-NONE")
    assert _table_files(lake, OUTPUT_TABLES) == before
    assert not any((lake / "_trash").iterdir()) if (lake / "_trash").exists() else True
    report = verify(str(lake))
    assert report["ok"], report["problems"]
    assert {p["table"].rsplit("/", 1)[1] for p in report["partitions_checked"]} >= {"faq_dedup", "faq_dedup_dropped"}


def _manifest(lake: Path, run_id: str) -> dict:
    import json

    return json.loads((lake / "_runs" / f"{run_id}.json").read_text())


def test_dedup_failing_between_its_tables_rolls_its_own_publish_back(spark, tmp_path, monkeypatch, capsys):
    """An exception (a full disk here) after two of dedup's five tables were swapped: the failing
    run itself puts every table back before it records its failure, so right after it, with no
    other run, the tables are byte for byte the previous run's and verify is clean."""
    from support.faqsynth import write_lake
    from test_dedup_job import C1, C2, OUTPUT_TABLES, build_rows, run_dedup
    from webfaq.lake.verify import verify
    from webfaq_jobs.dedup import DedupJob

    lake = tmp_path / "lake"
    write_lake(build_rows()[0], lake)
    run_dedup(lake, "--dedup-crawls", C1)
    before = _table_files(lake, OUTPUT_TABLES)
    monkeypatch.setenv(ENV, "swap.after_table.faq_dedup_bands=enospc")  # the second table's swap is done
    argv = ["--lake", str(lake), "--dedup-crawls", C2, "--dedup-incremental", "--run-id", "failing-dedup"]
    assert DedupJob.main(argv) == 1
    err = capsys.readouterr().err
    assert "run failed" in err and "Traceback" not in err, err
    monkeypatch.delenv(ENV)
    assert _table_files(lake, OUTPUT_TABLES) == before
    assert not (lake / "_trash" / "failing-dedup").exists()
    manifest = _manifest(lake, "failing-dedup")
    assert manifest["status"] == "failed" and "No space left" in manifest["error"]
    assert manifest["rolled_back"]["tables"] == ["faq_dedup_bands", "faq_dedup_vertices"]  # newest first
    report = verify(str(lake))
    assert report["ok"], report["problems"]


def _delta_state(lake: Path, tables) -> dict[str, str]:
    """What readers of the Delta tables see: each active file (and each crawl's band
    parameters, which the log does not hold) -> sha256 of its bytes."""
    import hashlib

    from webfaq.lake import delta_active_files

    state = {}
    for t in tables:
        files = [rel for rel, _ in delta_active_files(str(lake / t))]
        files += [str(p.relative_to(lake / t)) for p in (lake / t).glob("crawl=*/_params.json")]
        state.update({f"{t}/{rel}": hashlib.sha256((lake / t / rel).read_bytes()).hexdigest() for rel in files})
    return state


@pytest.mark.parametrize("how", ["killed", "raised"])
def test_a_delta_dedup_stopped_between_its_tables_is_restored_whole(spark, tmp_path, monkeypatch, how):
    """With --format delta each table is its own commit: dedup stopped after two of its five left
    two new tables and three old ones. Each commit now journals the version it goes on top of;
    a run that raised restores its own tables, a killed one's are restored by the next writer
    (each only while the table's newest commit is the run's), so readers see the tables, and
    their band parameters, as before the run, and verify agrees."""
    from support.faqsynth import write_lake
    from test_dedup_job import C1, C2, OUTPUT_TABLES, build_rows, run_dedup
    from webfaq.lake.verify import verify
    from webfaq_jobs.base import JobFailed

    lake = tmp_path / "lake"
    write_lake(build_rows()[0], lake)
    run_dedup(lake, "--format", "delta", "--dedup-crawls", C1)
    before = _delta_state(lake, OUTPUT_TABLES)
    argv = ["--lake", str(lake), "--format", "delta", "--dedup-crawls", C2, "--dedup-incremental"]
    point = "swap.after_table.faq_dedup_bands"  # vertices and bands committed, three tables to go
    if how == "killed":
        crashed = subprocess.run([WEBFAQ, "dedup", *argv], capture_output=True, text=True, timeout=900,
                                 env=dict(os.environ, **{ENV: point}))
        assert crashed.returncode == EXIT_CODE, crashed.stderr[-2000:]
        assert _delta_state(lake, OUTPUT_TABLES) != before  # the mix a reader saw until the next writer
        with pytest.raises(JobFailed, match="no such crawl"):  # the next writer (it recovers first, then fails)
            run_dedup(lake, "--format", "delta", "--dedup-crawls", "CC-TEST-NONE")
    else:
        monkeypatch.setenv(ENV, f"{point}=enospc")
        with pytest.raises(OSError, match="No space left"):
            run_dedup(lake, *argv[2:])
        monkeypatch.delenv(ENV)
    assert _delta_state(lake, OUTPUT_TABLES) == before
    assert not any((lake / "_trash").iterdir()) if (lake / "_trash").exists() else True
    report = verify(str(lake))
    assert report["ok"], report["problems"]
