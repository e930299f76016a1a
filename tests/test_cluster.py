"""The extract job on a standalone Spark cluster (a master and two workers on 127.0.0.1)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SAMPLE
from test_extract_job import comparable, lake_rows, run_extract

pytestmark = [pytest.mark.spark, pytest.mark.cluster]


def test_standalone_cluster_lake_equals_local_mode_lake(spark, standalone_master, tmp_path):
    local = tmp_path / "local"
    run_extract(spark, [str(SAMPLE), "--lake", str(local), "--crawl-id", "CC-TEST"])
    cluster = tmp_path / "cluster"
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "webfaq"), "extract", str(SAMPLE), "--lake", str(cluster),
         "--crawl-id", "CC-TEST", "--master", standalone_master],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "kept by language" in proc.stdout
    assert comparable(lake_rows(cluster / "faq")) == comparable(lake_rows(local / "faq"))
    assert sorted(p.name for p in (cluster / "faq" / "crawl=CC-TEST").iterdir()) == \
        sorted(p.name for p in (local / "faq" / "crawl=CC-TEST").iterdir())
