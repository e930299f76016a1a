"""`make dist` artifacts work with spark-submit on a standalone cluster: the packed
environment (--archives) gives executors every dependency, native ones included."""

from __future__ import annotations

import os
import subprocess
import sys
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
