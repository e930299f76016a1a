"""The monthly refresh against a loopback copy of Common Crawl: newest crawl found from the
collection list, killed mid-extract and re-run (the lake equals an uninterrupted run's), and a
crawl already complete is skipped."""

from __future__ import annotations

import gzip
import http.server
import json
import sys
import threading
from functools import partial
from pathlib import Path

import pytest

from conftest import shared_path
from support.kill import kill_mid_extract
from test_extract_job import comparable, dedup_outcome, lake_rows

pytestmark = pytest.mark.spark
CRAWL = "CC-MAIN-2099-02"
WEBFAQ = str(Path(sys.executable).parent / "webfaq")


@pytest.fixture(scope="module")
def common_crawl(tmp_path_factory):
    """data.commoncrawl.org and index.commoncrawl.org/collinfo.json, served on 127.0.0.1."""
    root = tmp_path_factory.mktemp("cc")
    (root / "crawl-data" / CRAWL).mkdir(parents=True)
    (root / "w").mkdir()
    names = [f"w/{i:02d}.warc.gz" for i in range(10)]
    for name in names:
        (root / name).symlink_to(shared_path("warc", "real-pages.warc.gz"))
    (root / "crawl-data" / CRAWL / "warc.paths.gz").write_bytes(gzip.compress("\n".join(names).encode()))
    (root / "collinfo.json").write_text(json.dumps([{"id": CRAWL}, {"id": "CC-MAIN-2099-01"}, {"id": "CC-MAIN-2098-52"}]))
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()


def argv(base: str, lake: Path) -> list[str]:
    return ["--lake", str(lake), "--input-base-url", base, "--refresh-collinfo-url", base + "collinfo.json",
            "--refresh-stages", "extract,dedup"]


def run_refresh(args):
    from webfaq_jobs.refresh import RefreshJob

    return RefreshJob.from_argv(args).execute()


def tables(lake: Path):
    return comparable(lake_rows(lake / "faq")), dedup_outcome(lake)


def test_refresh_killed_mid_extract_resumes_to_the_same_lake(spark, common_crawl, tmp_path):
    reference = tmp_path / "reference"
    m = run_refresh(argv(common_crawl, reference))
    assert m["crawl"] == CRAWL and set(m["stages"]) == {"extract", "dedup"}
    # the finished crawl leaves its report in the lake, naming the crawl and the dedup run
    report = Path(m["report"]["path"])
    assert report.parent == reference / "_reports" and (reference / "report.html").read_text() == report.read_text()
    assert CRAWL in report.read_text() and m["stages"]["dedup"] in report.read_text()

    lake = tmp_path / "killed"
    done_before_kill = kill_mid_extract([WEBFAQ, "refresh", *argv(common_crawl, lake), "--master", "local[1]"], lake)
    assert done_before_kill >= 2, "the refresh finished before it could be killed"
    assert not (lake / "faq").exists() or not any((lake / "faq").iterdir())  # nothing half-committed

    resumed = run_refresh(argv(common_crawl, lake))
    runs = [json.loads(p.read_text()) for p in (lake / "_runs").glob("*.json")]
    extract = next(r for r in runs if r["job"] == "extract" and r["run_id"] == resumed["stages"]["extract"])
    assert extract["resumed"]["files_already_done"] >= done_before_kill
    assert extract["counters"]["files.total"] == 10
    assert tables(lake) == tables(reference)

    again = run_refresh(argv(common_crawl, lake))
    assert again["skipped"] == "already complete"
    assert len(list((lake / "_runs").glob("*-extract-*.json"))) == 1
    # the run manifests alone say the crawl is complete (the state file lost)
    import shutil
    shutil.rmtree(lake / "_refresh")
    assert run_refresh(argv(common_crawl, lake))["stages"] == resumed["stages"]
    assert len(list((lake / "_runs").glob("*-extract-*.json"))) == 1


@pytest.mark.parametrize("collinfo, message", [
    ('{"id": "CC-MAIN-2099-02"}', "is a JSON dict, expected a list of crawls"),
    ('[{"id": "CC-MAIN-2099-02\\n"}]', "names no CC-MAIN-YYYY-WW crawl"),
    ('[{"id": "CC-MAIN-2099-02\\n"}, {"id": 7}, "CC-MAIN-2099-01", {"id": "CC-MAIN-２０９９-02"}]',
     "names no CC-MAIN-YYYY-WW crawl"),
    ("<html>not json</html>", "is not JSON"),
])
def test_a_collection_list_that_names_no_crawl_is_one_line_naming_it(spark, tmp_path, capsys, collinfo, message):
    """collinfo.json is content: a list of something else, or an id with anything around it
    (a trailing newline, other digits), is no crawl; the run fails with one line about the list,
    never a Python error or a complaint about a --crawl nobody gave."""
    from webfaq_jobs.refresh import main

    path = tmp_path / "collinfo.json"
    path.write_text(collinfo, encoding="utf-8")
    rc = main(["--lake", str(tmp_path / "lake"), "--input-base-url", str(tmp_path) + "/",
               "--refresh-collinfo-url", str(path), "--refresh-stages", "extract"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and message in err[0] and str(path) in err[0], err
    assert err[0].startswith("webfaq refresh: run failed: the collection list") and err[1].startswith("manifest:")
