"""`webfaq verify` as a file-system check of a lake a real extract run wrote; unreadable
manifests in verify, report and refresh; a full disk (ENOSPC) during a run."""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from conftest import SAMPLE
from support.tamper import TAMPERS, empty_manifest, garbage, invalid_manifest, unknown_partition
from test_extract_job import run_extract
from webfaq.faults import ENV
from webfaq.lake.verify import verify

pytestmark = pytest.mark.spark
WEBFAQ = str(Path(sys.executable).parent / "webfaq")
INPUTS = [str(SAMPLE / "sample-0001.warc.gz"), str(SAMPLE / "real-pages-slice.warc.gz")]  # eng, deu


@pytest.fixture(scope="module")
def written(spark, tmp_path_factory):
    lake = tmp_path_factory.mktemp("fsck") / "lake"
    return lake, run_extract(spark, [*INPUTS, "--lake", str(lake), "--crawl-id", "C"])


def copy_lake(written, tmp_path: Path) -> Path:
    lake = tmp_path / "lake"
    shutil.copytree(written[0], lake)
    return lake


def test_the_manifest_names_every_file_the_run_wrote(written):
    lake, manifest = written
    facts = manifest["output"]["data_files"]
    on_disk = {p.relative_to(lake / "faq").as_posix(): p for p in (lake / "faq").rglob("*.parquet")}
    assert set(facts) == set(on_disk) and len(facts) >= 2
    assert all(facts[rel]["bytes"] == p.stat().st_size and len(facts[rel]["footer"]) == 32 for rel, p in on_disk.items())
    assert sum(f["rows"] for f in facts.values()) == manifest["counters"]["qa.kept"] > 0
    recorded = json.loads((lake / "_runs" / f"{manifest['run_id']}.json").read_text())
    assert recorded["output"]["data_files"] == facts and len(recorded["inputs"]) == recorded["counters"]["files.total"]
    report = verify(str(lake))
    assert report["ok"], report["problems"]
    assert sum(p["files"] for p in report["partitions_checked"]) == len(facts)


@pytest.mark.parametrize("name", sorted(TAMPERS))
def test_verify_names_each_damage_in_one_line(written, tmp_path, name):
    tamper, kind = TAMPERS[name]
    lake = copy_lake(written, tmp_path)
    rel = tamper(lake)
    report = verify(str(lake))
    named = [f["kind"] for f in report["findings"] if f["path"].endswith(rel)]
    assert not report["ok"] and named == [kind], report["problems"]
    assert all("\n" not in line for line in report["problems"])
    others = {f["kind"] for f in report["findings"] if not f["path"].endswith(rel)}
    # a damage that changes row counts also shows as the partition's MISMATCH; nothing else
    assert others <= {"MISMATCH"}, report["problems"]
    if kind in ("CHANGED", "INVALID", "STRAY") or rel.endswith("crawl=EVIL"):
        assert len(report["problems"]) == 1, report["problems"]  # rows unchanged: one line only


def test_counters_must_count_every_input_and_manifests_cannot_point_outside(written, tmp_path):
    lake = copy_lake(written, tmp_path)
    path = lake / "_runs" / f"{written[1]['run_id']}.json"
    original = json.loads(path.read_text())
    for change, kind, detail in (
        (lambda m: m.update(inputs=m["inputs"][:-1]), "COUNTERS", "1 input files but files.total=2"),
        (lambda m: m["output"].update(crawls=["C", "../../../etc"]), "INVALID", "partition 'crawl=../../../etc' is not a plain name"),
        (lambda m: m["output"].update(table="/elsewhere/.."), "INVALID", "output table '..' is not a plain name"),
    ):
        m = json.loads(json.dumps(original))
        change(m)
        path.write_text(json.dumps(m))
        report = verify(str(lake))
        mine = [f for f in report["findings"] if f["kind"] == kind]
        assert len(mine) == 1 and detail in mine[0]["detail"] and mine[0]["path"].endswith(path.name), report["problems"]
        assert all(f["kind"] == kind for f in report["findings"]), report["problems"]


def test_cli_verify_prints_one_line_per_finding_and_never_a_traceback(written, tmp_path, capsys):
    from webfaq.cli import main as cli_main

    lake = copy_lake(written, tmp_path)
    rels = [garbage(lake), unknown_partition(lake), empty_manifest(lake), invalid_manifest(lake)]
    assert cli_main(["verify", "--lake", str(lake)]) == 1
    out = capsys.readouterr()
    lines = out.out.splitlines()
    for rel, kind in zip(rels, ["GARBAGE", "UNKNOWN", "INVALID", "INVALID"]):
        assert len([line for line in lines if line.startswith(kind) and rel in line]) == 1, out.out
    assert "Traceback" not in out.out + out.err and lines[-1].endswith("problems")


def test_report_and_refresh_skip_unreadable_manifests_with_one_warning_each(written, tmp_path, capsys):
    from webfaq.cli import main as cli_main
    from webfaq_jobs.refresh import RefreshJob

    lake = copy_lake(written, tmp_path)
    rels = [empty_manifest(lake), invalid_manifest(lake)]
    capsys.readouterr()
    assert cli_main(["report", "--lake", str(lake)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and all(any(rel in line for line in err) for rel in rels), err
    html = (lake / "report.html").read_text()
    assert written[1]["run_id"] in html and all(Path(rel).name in html for rel in rels)

    job = RefreshJob.from_argv(["--lake", str(lake)])
    assert job.complete_in_manifests("C") is None
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and all(any(rel in line for line in err) for rel in rels), err
    state = lake / "_refresh" / "CC-MAIN-2099-01.json"
    state.parent.mkdir()
    state.write_text("")
    assert job.read_state(str(state)) == {}
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and str(state) in err[0]


# --------------------------------------------------------------------------- a full disk

def _enospc(path: str) -> str:
    return f"{path}=enospc"


def test_failed_writes_raise_enospc_and_leave_no_temp_file(spark, tmp_path, monkeypatch):
    from webfaq_jobs.base import HadoopFS
    from webfaq import lake

    monkeypatch.setenv(ENV, ",".join(map(_enospc, ["local.write_text", "hadoop.write_text", "parquet.write"])))
    target = tmp_path / "d"
    for fs in (lake.LocalFS(str(tmp_path)), HadoopFS(spark, str(tmp_path))):
        with pytest.raises(OSError) as caught:
            fs.write_text(str(target / "m.json"), "{}\n" * 1000)
        assert caught.value.errno == errno.ENOSPC
    with pytest.raises(OSError) as caught:
        lake.write_parquet_atomic(str(target / "x.parquet"), pa.table({"a": list(range(100))}), root=str(tmp_path))
    assert caught.value.errno == errno.ENOSPC
    assert [p.name for p in target.rglob("*")] == []


def test_a_lake_that_refuses_the_manifest_sends_it_to_the_fallback(spark, tmp_path, monkeypatch, capsys):
    from webfaq.lake.manifest import save_manifest
    from webfaq_jobs.base import HadoopFS

    monkeypatch.setenv(ENV, _enospc("hadoop.write_text"))  # the lake's writer; the fallback is local
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    (tmp_path / "lake" / "_staging" / "r1").mkdir(parents=True)
    manifest = {"run_id": "r1", "status": "failed", "error": "OSError: [Errno 28] No space left on device"}
    path = save_manifest(HadoopFS(spark, str(tmp_path / "lake")), str(tmp_path / "lake"), manifest, scratch=[str(tmp_path / "lake" / "_staging" / "r1")])
    assert path == str(tmp_path / "tmp" / "webfaq-runs" / "_runs" / "r1.json")
    saved = json.loads(Path(path).read_text())
    assert saved["error"] == manifest["error"] and "No space left on device" in saved["manifest_error"]
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and path in err[0]
    assert not (tmp_path / "lake" / "_staging" / "r1").exists()  # the run's scratch was freed first
    assert not list((tmp_path / "lake").rglob("*.tmp"))


def test_py4j_errors_are_reported_as_their_cause(spark, tmp_path):
    from webfaq.errors import describe_error
    from webfaq_jobs.base import HadoopFS

    def full(_):
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(Exception) as caught:
        spark.sparkContext.parallelize([1], 1).map(full).collect()
    assert describe_error(caught.value) == "OSError: [Errno 28] No space left on device (in a Spark task)"
    with pytest.raises(Exception) as caught:
        HadoopFS(spark, str(tmp_path)).read_text(str(tmp_path / "none.json"))
    assert describe_error(caught.value).startswith("java.io.FileNotFoundException: ")



def test_a_killed_python_worker_is_reported_as_such_not_as_its_eof(spark):
    """A Python worker killed from outside (what an out-of-memory kill by the OS or YARN does to a
    task holding too much, e.g. one language's hard-negative index) reaches the driver as
    SparkException("Python worker exited unexpectedly (crashed)") caused by a bare
    java.io.EOFException; the deepest cause alone ("java.io.EOFException") says nothing."""
    from webfaq.errors import describe_error

    def killed(it):
        os.kill(os.getpid(), 9)
        yield from it

    with pytest.raises(Exception) as caught:
        spark.sparkContext.parallelize([1], 1).mapPartitions(killed).collect()
    line = describe_error(caught.value)
    assert line.startswith("Python worker exited unexpectedly (crashed) (in a Spark task)"), line
    assert "memory" in line and "EOFException" not in line
    assert describe_error(RuntimeError(str(caught.value))) == line  # the text alone (the JVM gone)

def _no_temp_files(root: Path) -> list[str]:
    return [p.relative_to(root).as_posix() for p in root.rglob("*") if p.name.endswith(".tmp")]


def test_enospc_on_the_executors_fails_the_run_with_its_real_cause(tmp_path):
    """The per-file result writes on the executors hit ENOSPC (injected in the real write path):
    the run fails, its manifest says ENOSPC (not Py4JJavaError), the console one line."""
    lake = tmp_path / "lake"
    env = dict(os.environ, **{ENV: _enospc("parquet.write")})
    proc = subprocess.run([WEBFAQ, "extract", INPUTS[0], "--lake", str(lake), "--crawl-id", "C"],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 1, proc.stderr[-3000:]
    (path,) = (lake / "_runs").glob("*.json")
    m = json.loads(path.read_text())
    assert m["status"] == "failed" and m["error"].startswith("OSError: [Errno 28] No space left on device")
    failed, manifest_line = proc.stderr.strip().splitlines()[-2:]
    assert manifest_line == f"manifest: {path}"
    assert re.fullmatch(re.escape(f"webfaq extract: run failed: {m['error']}; free space: lake {lake} ")
                        + r"[0-9.]+ [KMGT]?B, Spark's local dir \S+ [0-9.]+ [KMGT]?B", failed), failed
    assert _no_temp_files(lake) == [] and not (lake / "faq").exists()


def _mount_tmpfs(where: Path, size: str) -> str | None:
    """Mount a tmpfs of ``size`` at ``where``; the reason when this machine does not allow it."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return "mounting a tmpfs needs root and mount(8)"
    where.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                          capture_output=True, text=True)
    return None if proc.returncode == 0 else f"mount not permitted here: {proc.stderr.strip()}"


def test_a_really_full_disk(tmp_path):
    """The lake on a real, nearly full file system (a 1 MiB tmpfs with 8 KiB left): the run
    fails with the kernel's ENOSPC, no temp file stays in the lake, and the manifest, which the
    lake cannot take, is written to the local fallback directory that one stderr line names."""
    disk = tmp_path / "disk"
    reason = _mount_tmpfs(disk, "1m")
    if reason:
        pytest.skip(reason)
    try:
        st = os.statvfs(disk)
        (disk / "filler").write_bytes(b"\0" * (st.f_bavail * st.f_frsize - 8192))
        (tmp_path / "tmp").mkdir()
        env = dict(os.environ, TMPDIR=str(tmp_path / "tmp"))
        env.pop(ENV, None)
        env.pop("SPARK_LOCAL_DIRS", None)
        proc = subprocess.run([WEBFAQ, "extract", str(SAMPLE), "--lake", str(disk / "lake"), "--crawl-id", "C"],
                              capture_output=True, text=True, env=env, timeout=600)
        assert proc.returncode == 1, proc.stderr[-3000:]
        assert _no_temp_files(disk) == []
        (path,) = (tmp_path / "tmp" / "webfaq-runs" / "_runs").glob("*.json")
        m = json.loads(path.read_text())
        assert "No space left on device" in m["error"] and "Py4J" not in m["error"]
        assert "No space left on device" in m["manifest_error"]
        lines = proc.stderr.strip().splitlines()  # the lease's own release may warn on a full disk too
        # which disk is full: the lake's, not Spark's scratch space (the error itself never says)
        assert lines[-1] == f"manifest: {path}"
        assert re.fullmatch(re.escape(f"webfaq extract: run failed: {m['error']}; free space: lake {disk / 'lake'} ")
                            + r"[0-9]{1,4} (B|KB), Spark's local dir " + re.escape(str(tmp_path / "tmp"))
                            + r" [0-9.]+ [MGT]B", lines[-2]), lines[-2]
        assert any(str(path) in line for line in lines[:-2])  # the fallback's warning names where it went
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_a_name_from_a_manifest_is_a_plain_name_whole():
    """A table or partition name read from a manifest is checked whole: "$" would let a
    trailing newline through into a path."""
    from webfaq.lake.verify import safe_rel

    assert safe_rel("faq/crawl=CC-MAIN-2024-22") and not safe_rel("faq\n") and not safe_rel("faq/crawl=x\n")
