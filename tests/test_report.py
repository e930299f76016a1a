"""The run report: renders in headless Chromium without console errors or network requests,
every chart is drawn, every number equals its manifest (or lake table), and stages that have
not run get a clear panel instead of a crash.

Chromium is Debian's ``chromium`` (scripts/setup.sh installs it as root or with sudo); without
it the rendering tests skip and say so. The page is driven over the DevTools protocol on a pipe
(bench/report_screenshot.py), so console messages come with their level and every request the
page makes is seen.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import struct
import sys
from collections import Counter
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest

from webfaq.report.html import CHARTS, JobView, LakeData, benchmark_panel, build_report, write_report

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
import report_screenshot as shots  # noqa: E402  (bench/report_screenshot.py)

pytestmark = pytest.mark.timeout(300)


# =============================================================================== helpers
class Elements(HTMLParser):
    """Every element of a DOM with its attributes and text (text of nested elements included)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements: list[dict] = []
        self._open: list[dict] = []

    def handle_starttag(self, tag, attrs):
        el = {"tag": tag, "attrs": dict(attrs), "text": ""}
        self.elements.append(el)
        if tag not in ("meta", "link", "br", "img", "input", "hr", "rect", "line", "path", "circle"):
            self._open.append(el)

    def handle_startendtag(self, tag, attrs):
        self.elements.append({"tag": tag, "attrs": dict(attrs), "text": ""})

    def handle_endtag(self, tag):
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i]["tag"] == tag:
                del self._open[i:]
                break

    def handle_data(self, data):
        for el in self._open:
            el["text"] += data


def elements(dom: str) -> list[dict]:
    parser = Elements()
    parser.feed(dom)
    return parser.elements


def manifest_number(manifest: dict, metric: str) -> int:
    """What a data-metric names, looked up independently of webfaq.report.html: a counter (absent =
    0), or a '/' path into the manifest (an object there stands for the sum of its values)."""
    if "/" not in metric:
        return int(manifest.get("counters", {}).get(metric, 0))
    node = manifest
    for part in metric.split("/"):
        node = node[part]
    return int(sum(node.values())) if isinstance(node, dict) else int(node)


def shown_number(text: str) -> float | None:
    """The number a text shows: '1,234' -> 1234, '2.4k' -> 2400 (None if it shows none)."""
    text = text.strip().replace(",", "")
    m = re.fullmatch(r"(-?\d+(?:\.\d+)?)([kMG]?)", text)
    if not m:
        return None
    return float(m.group(1)) * {"": 1, "k": 1e3, "M": 1e6, "G": 1e9}[m.group(2)]


def check_numbers(els: list[dict], lake: Path) -> Counter:
    """Every data-metric and data-delta-metric of the page against the manifests; returns the
    metrics seen (name -> times)."""
    runs = {p.stem: json.loads(p.read_text()) for p in (lake / "_runs").glob("*.json")}
    seen: Counter = Counter()
    for el in els:
        a = el["attrs"]
        if "data-metric" in a:
            metric, run = a["data-metric"], a["data-run"]
            want = manifest_number(runs[run], metric)
            assert int(a["data-value"]) == want, f"{metric} of {run}: page {a['data-value']}, manifest {want}"
            shown = shown_number(el["text"])
            assert shown is not None, f"{metric}: no number in {el['text']!r}"
            assert abs(shown - want) <= max(0.05 * want, 0.5), f"{metric}: shows {el['text']!r}, manifest {want}"
            if not re.search(r"[kMG]$", el["text"].strip()):
                assert shown == want, f"{metric}: shows {el['text']!r}, manifest {want}"
            seen[metric] += 1
        if "data-delta-metric" in a:
            metric = a["data-delta-metric"]
            want = manifest_number(runs[a["data-run"]], metric) - manifest_number(runs[a["data-prev-run"]], metric)
            assert int(a["data-value"]) == want, f"delta {metric}: page {a['data-value']}, manifests {want}"
            seen["Δ " + metric] += 1
    return seen


@pytest.fixture(scope="module")
def browser():
    binary = shots.find_chromium()
    if not binary:
        pytest.skip("chromium is not installed: scripts/setup.sh installs Debian's chromium when it runs as root "
                    "or with sudo; set WEBFAQ_CHROMIUM to another Chromium binary")
    with shots.Chromium(binary) as b:
        yield b


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    lake = tmp_path_factory.mktemp("report-lake")
    manifests = shots.synthetic_lake(lake, hostile=True)
    path = write_report(str(lake))
    return lake, manifests, Path(path)


@pytest.fixture(scope="module")
def rendered(browser, synthetic):
    return browser.render(synthetic[2])


@pytest.fixture(scope="module")
def dom(request, synthetic):
    """The page as Chromium has it after load, or the file itself when there is no Chromium (the
    numbers are in the HTML either way: the page's script only checks the charts)."""
    if shots.find_chromium():
        return request.getfixturevalue("rendered").dom
    return synthetic[2].read_text(encoding="utf-8")


# =============================================================================== rendering
def test_renders_without_console_errors_or_network_requests(rendered):
    assert rendered.problems() == []
    assert rendered.requests and rendered.requests[0].startswith("file://")
    root = elements(rendered.dom)[0]["attrs"]
    assert root["data-charts-ok"] == "yes" and int(root["data-charts"]) == len(CHARTS)


def test_every_chart_is_present_and_drawn(rendered):
    els = elements(rendered.dom)
    charts = {e["attrs"]["data-chart"]: e["attrs"] for e in els if "data-chart" in e["attrs"]}
    assert set(charts) == set(CHARTS)
    for name, a in charts.items():
        assert int(a["data-rendered-marks"]) > 0, name
        assert int(a["data-rendered-width"]) >= 200 and int(a["data-rendered-height"]) >= 40, (name, a)
    assert not [e for e in els if "data-chart-empty" in e["attrs"]]


def test_numbers_equal_the_manifests(dom, synthetic):
    lake, manifests, _ = synthetic
    seen = check_numbers(elements(dom), lake)
    ex, al, bm = manifests["extract"], manifests["align"], manifests["benchmark"]
    c = ex["counters"]
    # the funnel, every drop reason and syntax, the Table 1 languages (top 20), dedup, alignment
    for metric in ["warc.records", "responses.html", "prefilter.hit", "qa.extracted", "qa.kept",
                   "dedup.kept", "align.aligned"]:
        assert seen[metric] and seen["Δ " + metric], metric
    for key in c:
        if key.startswith(("drop.", "kept.syntax.")):
            assert seen[key] and seen["Δ " + key], key
    top20 = sorted((k for k in c if k.startswith("kept.lang.")), key=lambda k: -c[k])[:20]
    assert all(seen[k] for k in top20)
    for key in ("dedup.exact", "dedup.near", "dedup.components", "dedup.largest_component"):
        assert seen[key], key
    top_pairs = sorted(al["aligned_per_pair"], key=lambda k: -al["aligned_per_pair"][k])[:10]
    assert all(seen[f"aligned_per_pair/{p}"] for p in top_pairs)
    for lang, sizes in bm["sizes"].items():
        for k in ("corpus", "train", "test", "negatives"):
            assert seen[f"sizes/{lang}/{k}"], (lang, k)
    for crawl in ex["output"]["partition_rows"]:
        assert seen[f"output/partition_rows/{crawl}"]
    assert manifests["extract_prev"]["output"]["crawls"][0] in dom  # the delta's crawl is named


def test_lake_numbers_equal_the_tables(dom, synthetic):
    import pyarrow.parquet as pq

    lake, manifests, _ = synthetic
    crawl = manifests["extract"]["output"]["crawls"][0]
    origins = Counter(pq.read_table(lake / "faq" / f"crawl={crawl}", columns=["origin"])["origin"].to_pylist())
    sizes = pq.read_table(lake / "faq_dedup_components" / f"crawl={crawl}", columns=["size"])["size"].to_pylist()
    shown_sites = shown_hist = 0
    for el in elements(dom):
        lake_key = el["attrs"].get("data-lake", "")
        if lake_key.startswith("faq/origin/"):
            assert int(el["attrs"]["data-value"]) == origins[lake_key[len("faq/origin/"):]]
            shown_sites += 1
        elif lake_key == "faq/origins":
            assert int(el["attrs"]["data-value"]) == len(origins)
        elif lake_key.startswith("faq_dedup_components/sizes/"):
            shown_hist += int(el["attrs"]["data-value"])
    assert shown_sites == 15
    # every cluster lands in one histogram bin, and the manifest counts the same clusters
    assert shown_hist == len(sizes) == manifests["dedup"]["counters"]["dedup.components"]


def test_hostile_text_from_the_web_is_escaped(rendered):
    # an origin carrying markup (a top website here) shows as text: no element, no request,
    # no console error
    els = elements(rendered.dom)
    assert any(shots.HOSTILE_ORIGIN in e["text"] for e in els if e["tag"] == "title")
    assert not any(e["tag"] in ("img", "script") and "onerror" in str(e["attrs"]) for e in els)
    assert sum(e["tag"] == "script" for e in els) == 1  # the report's own check
    assert rendered.problems() == []


def test_screenshot_command_writes_a_png(synthetic, browser, tmp_path):
    out = tmp_path / "report.png"
    assert shots.main(["--lake", str(synthetic[0]), "--out", str(out)]) == 0
    head = out.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", head[16:24])
    assert width == 1280 and height > 2000  # the whole page, not one viewport


# =============================================================================== stages not run
def test_stages_that_have_not_run_get_a_panel_not_a_crash(browser, synthetic, tmp_path):
    lake, manifests, _ = synthetic
    only = tmp_path / "lake"
    shutil.copytree(lake, only)
    for name, m in manifests.items():
        if m["job"] != "extract":
            (only / "_runs" / f"{m['run_id']}.json").unlink()
    shutil.rmtree(only / "faq_dedup_components")
    page = browser.render(write_report(str(only)))
    assert page.problems() == []
    els = elements(page.dom)
    drawn = {e["attrs"]["data-chart"] for e in els if "data-chart" in e["attrs"]}
    empty = {e["attrs"]["data-chart-empty"]: e["text"] for e in els if "data-chart-empty" in e["attrs"]}
    assert drawn == {"crawls", "funnel", "funnel-qas", "drops", "languages", "websites", "syntax"}
    assert set(empty) == {"dedup-status", "dedup-components", "align-heatmap", "benchmark-sizes", "refine", "evaluation"}
    assert "No dedup run yet" in empty["dedup-components"] and "webfaq dedup --lake" in empty["dedup-status"]
    assert "No align run yet" in empty["align-heatmap"] and "No benchmark run yet" in empty["benchmark-sizes"]
    check_numbers(els, only)


def test_languages_left_out_of_the_benchmark_are_named_with_their_reason():
    """The benchmark manifest's ``left_out`` (a language with one website cannot be split)."""
    sizes = {"deu": {"corpus": 9, "train": 5, "test": 3, "heldout": 1, "origins_train": 2, "origins_test": 1}}
    manifest = {"run_id": "r1", "sizes": sizes, "left_out": {"fra": "1 website (14 QAs): a split with no website "
                                                                      "on both sides needs 2"}}
    html = benchmark_panel(LakeData("lake", [manifest], {"benchmark": JobView("benchmark", current=manifest)}))
    assert "Left out: French <code>fra</code>: 1 website (14 QAs): a split with no website on both sides" in html
    assert "Left out" not in benchmark_panel(LakeData("lake", [], {"benchmark": JobView("benchmark", current={
        "run_id": "r1", "sizes": sizes})}))


def test_the_commands_the_report_suggests_keep_a_lake_path_with_spaces_one_argument(tmp_path):
    root = tmp_path / "my lake 'ü'"
    root.mkdir()
    page = build_report(str(root))
    commands = [unescape(c) for c in re.findall(r"<code>(webfaq [^<]*)</code>", page)]
    assert any(c.startswith("webfaq extract ") for c in commands)
    for command in commands:
        args = shlex.split(command)
        assert str(root) in args or f"{root}/benchmark" in args, command


def test_an_empty_lake_and_a_lake_of_failed_runs(tmp_path):
    html = build_report(str(tmp_path))
    assert "This lake has no runs yet" in html
    for name in CHARTS:
        assert f'data-chart-empty="{name}"' in html
    (tmp_path / "_runs").mkdir()
    failed = {"run_id": "20240601T000000Z-extract-aaaaaa", "job": "extract", "status": "failed",
              "started": "2024-06-01T00:00:00+00:00", "error": "JobFailed: <b>2 of 3</b> files failed"}
    (tmp_path / "_runs" / f"{failed['run_id']}.json").write_text(json.dumps(failed))
    html = build_report(str(tmp_path))
    assert "No complete extract run yet" in html
    assert "&lt;b&gt;2 of 3&lt;/b&gt;" in html and "<b>2 of 3</b>" not in html


def test_cli_writes_the_report_into_the_lake(synthetic, capsys):
    from webfaq.cli import main as cli_main

    lake, manifests, _ = synthetic
    assert cli_main(["report", "--lake", str(lake)]) == 0
    newest = max(manifests.values(), key=lambda m: m["started"])["run_id"]
    path = lake / "_reports" / f"report-{newest}.html"
    assert capsys.readouterr().out.strip() == f"report: {path}"
    assert path.read_text() == (lake / "report.html").read_text()
    # self-contained: nothing is loaded from elsewhere
    text = path.read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text) and "@import" not in text


def test_a_dedup_run_without_clusters(synthetic, tmp_path):
    # a dedup run that found no duplicate leaves a components table with no partition at all
    lake = tmp_path / "lake"
    shutil.copytree(synthetic[0], lake)
    shutil.rmtree(lake / "faq_dedup_components")
    (lake / "faq_dedup_components").mkdir()
    html = build_report(str(lake))
    assert 'data-chart-empty="dedup-components"' in html and "No duplicate clusters" in html
    assert "could not read" not in html and 'data-chart="dedup-status"' in html


def test_a_lake_in_s3_gives_the_same_report_and_verify(synthetic, s3_bucket, s3_endpoint, monkeypatch, capsys):
    """The same lake copied to an S3 endpoint (moto's server): the report read through pyarrow's
    S3 file system equals the local one, the CLI writes it into the bucket, verify agrees."""
    import datetime as dt

    from webfaq.cli import main as cli_main
    from webfaq.config import Config
    from webfaq.lake.verify import verify

    client, bucket = s3_bucket
    lake = synthetic[0]
    for p in sorted(lake.rglob("*")):
        if p.is_file() and "_reports" not in p.parts and p.name != "report.html":
            client.put_object(Bucket=bucket, Key=f"lake/{p.relative_to(lake).as_posix()}", Body=p.read_bytes())
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")  # a lake bucket is private: signed requests
    uri = f"s3://{bucket}/lake"
    s3 = Config().s3
    s3.endpoint_url = s3_endpoint
    when = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
    local = build_report(str(lake), generated=when)
    remote = build_report(uri, generated=when, s3=s3)
    assert "could not read" not in remote
    assert remote.replace(uri, str(lake)) == local

    assert cli_main(["report", "--lake", uri, "--s3-endpoint", s3_endpoint]) == 0
    written = capsys.readouterr().out.strip().removeprefix("report: ")
    assert written.startswith(f"{uri}/_reports/report-") and written.endswith(".html")
    keys = {o["Key"] for o in client.list_objects_v2(Bucket=bucket, Prefix="lake/")["Contents"]}
    assert {written.removeprefix(f"s3://{bucket}/"), "lake/report.html"} <= keys

    here, there = verify(str(lake)), verify(uri, s3=s3)
    assert there["ok"] == here["ok"] and len(there["partitions_checked"]) == len(here["partitions_checked"]) > 0
    assert [p["found"] for p in there["partitions_checked"]] == [p["found"] for p in here["partitions_checked"]]
