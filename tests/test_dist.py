"""`make dist` artifacts work on their own: the wheel holds every package of the library, a fresh
virtual environment with only that wheel runs `webfaq extract-file` and a Spark job (no source
tree on the path), and spark-submit on a standalone cluster works with the packed environment
(--archives) alone as well as with the --py-files zip."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import REPO, SAMPLE
from test_extract_job import comparable, lake_rows, run_extract

pytestmark = [pytest.mark.spark, pytest.mark.cluster]


@pytest.fixture(scope="module")
def dist():
    if os.environ.get("WEBFAQ_SKIP_DIST") == "1":
        pytest.skip("WEBFAQ_SKIP_DIST=1")
    out = REPO / "dist"
    sources = [p for d in ("lib", "jobs") for p in (REPO / d).rglob("*.py")] + [REPO / "constraints.txt"]
    env_tar = out / "webfaq-env.tar.gz"
    if not env_tar.exists() or env_tar.stat().st_mtime < max(p.stat().st_mtime for p in sources):
        subprocess.run(["bash", str(REPO / "scripts" / "dist.sh")], check=True, capture_output=True, timeout=1200)
    return out


def test_spark_submit_with_the_packed_environment(dist, spark, standalone_master, tmp_path):
    import pyspark

    assert (dist / "webfaq-env.tar.gz").stat().st_size > 0 and (dist / "webfaq-pyfiles.zip").exists()
    spark_submit = str(Path(pyspark.__file__).parent / "bin" / "spark-submit")
    lake = tmp_path / "lake"
    env = dict(os.environ, PYSPARK_DRIVER_PYTHON=sys.executable, SPARK_LOCAL_IP="127.0.0.1")
    env.pop("PYSPARK_PYTHON", None)
    proc = subprocess.run(
        [spark_submit, "--master", standalone_master,
         "--archives", f"{dist / 'webfaq-env.tar.gz'}#environment",
         "--conf", "spark.pyspark.python=./environment/bin/python",
         "--conf", f"spark.pyspark.driver.python={sys.executable}",
         "--py-files", str(dist / "webfaq-pyfiles.zip"),
         str(REPO / "jobs" / "extract.py"), str(SAMPLE), "--lake", str(lake), "--crawl-id", "CC-TEST"],
        capture_output=True, text=True, timeout=900, env=env)
    assert proc.returncode == 0, proc.stderr[-4000:]
    local = tmp_path / "local"
    run_extract(spark, [str(SAMPLE), "--lake", str(local), "--crawl-id", "CC-TEST"])
    assert comparable(lake_rows(lake / "faq")) == comparable(lake_rows(local / "faq"))


def wheel_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a process that must see nothing of this checkout: no PYTHONPATH but a
    folder holding only pyspark and py4j (what a cluster's Spark provides to the driver; the
    packed environment leaves them out on purpose), run from an empty folder."""
    import py4j
    import pyspark

    provided = tmp_path / "spark-provided"
    provided.mkdir(exist_ok=True)
    for module in (pyspark, py4j):
        link = provided / module.__name__
        if not link.exists():
            link.symlink_to(Path(module.__file__).parent)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PYSPARK", "VIRTUAL_ENV"))}
    return dict(env, PYTHONPATH=str(provided), SPARK_LOCAL_IP="127.0.0.1", PYTHONNOUSERSITE="1")


def test_the_wheel_holds_every_package_and_resource(dist):
    """Package discovery is automatic: every module and resource under lib/webfaq and jobs/ is
    in the wheel (webfaq.schemaorg once went missing), and no test or benchmark helper is."""
    wheel, = dist.glob("webfaq_lake-*.whl")
    names = {n for n in zipfile.ZipFile(wheel).namelist() if ".dist-info/" not in n}
    expected = {f"webfaq/{p.relative_to(REPO / 'lib' / 'webfaq').as_posix()}"
                for p in (REPO / "lib" / "webfaq").rglob("*")
                if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}
    expected |= {f"webfaq_jobs/{p.name}" for p in (REPO / "jobs").glob("*.py")}
    assert expected <= names, sorted(expected - names)
    assert not any(n.startswith(("support/", "tests/", "bench/")) for n in names)


def test_a_fresh_environment_with_the_wheel_runs_the_pipeline(dist, spark, tmp_path):
    """build/env is a new virtual environment holding the dependencies and the wheel (dist.sh):
    from an empty folder, with no source tree on the path, it imports the installed packages,
    runs `webfaq extract-file`, and runs the extract job in Spark local mode."""
    python = REPO / "build" / "env" / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import webfaq.extract.schemaorg, webfaq_jobs.refresh, json;"
                           "print(json.dumps([webfaq.extract.schemaorg.__file__, webfaq_jobs.refresh.__file__]))"],
                          cwd=tmp_path, env=wheel_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert site.returncode == 0, site.stderr[-2000:]
    assert all(str(REPO / "build" / "env") in f for f in json.loads(site.stdout)), site.stdout

    warc = SAMPLE / "sample-0001.warc.gz"
    one = subprocess.run([str(python.parent / "webfaq"), "extract-file", str(warc)], cwd=tmp_path,
                         env=wheel_env(tmp_path), capture_output=True, text=True, timeout=300)
    assert one.returncode == 0, one.stderr[-2000:]
    records = [json.loads(line) for line in one.stdout.splitlines()]
    assert len(records) >= 14 and {r["url"] for r in records} >= {"https://commoncrawl.org/faq"}

    lake = tmp_path / "lake"
    job = subprocess.run([str(python.parent / "webfaq"), "extract", str(SAMPLE), "--lake", str(lake),
                          "--crawl-id", "CC-TEST"], cwd=tmp_path, env=wheel_env(tmp_path),
                         capture_output=True, text=True, timeout=600)
    assert job.returncode == 0, job.stderr[-4000:]
    local = tmp_path / "local"
    run_extract(spark, [str(SAMPLE), "--lake", str(local), "--crawl-id", "CC-TEST"])
    assert comparable(lake_rows(lake / "faq")) == comparable(lake_rows(local / "faq"))


def test_spark_submit_with_the_packed_environment_alone(dist, spark, standalone_master, tmp_path):
    """No --py-files: the driver runs the installed job module of the wheel's environment and the
    executors the packed copy of that environment, so only the wheel's packages are used."""
    import pyspark

    env_python = REPO / "build" / "env" / "bin" / "python"
    entry = subprocess.run([str(env_python), "-c", "import webfaq_jobs.extract as m; print(m.__file__)"],
                           cwd=tmp_path, env=wheel_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert entry.returncode == 0, entry.stderr[-2000:]
    spark_submit = str(Path(pyspark.__file__).parent / "bin" / "spark-submit")
    lake = tmp_path / "lake"
    proc = subprocess.run(
        [spark_submit, "--master", standalone_master,
         "--archives", f"{dist / 'webfaq-env.tar.gz'}#environment",
         "--conf", "spark.pyspark.python=./environment/bin/python",
         "--conf", f"spark.pyspark.driver.python={env_python}",
         entry.stdout.strip(), str(SAMPLE), "--lake", str(lake), "--crawl-id", "CC-TEST"],
        cwd=tmp_path, capture_output=True, text=True, timeout=900, env=wheel_env(tmp_path))
    assert proc.returncode == 0, proc.stderr[-4000:]
    local = tmp_path / "local"
    run_extract(spark, [str(SAMPLE), "--lake", str(local), "--crawl-id", "CC-TEST"])
    assert comparable(lake_rows(lake / "faq")) == comparable(lake_rows(local / "faq"))
