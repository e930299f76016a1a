"""Progress lines while the extract stage runs: format, rate and ETA (with a fake SparkContext),
then the real job in Spark local mode on the sample WARCs with a short interval — the lines reach
the log and the console, and the last one says every file is done with the manifest's numbers.
The report of that real run is checked too (numbers = manifest, panels for stages not run)."""

from __future__ import annotations

import contextlib
import io
import logging
import re
import time
from types import SimpleNamespace

import pytest

from conftest import SAMPLE
from webfaq_jobs.progress import PhaseProgress, Progress, hms

LINE = re.compile(
    r"^\[extract (?P<run>\S+)\] files (?P<done>[\d,]+)/(?P<total>[\d,]+) \((?P<pct>[\d.]+)%\) · "
    r"records (?P<records>[\d,]+) · QAs (?P<qa>[\d,]+) extracted, (?P<kept>[\d,]+) kept · "
    r"(?P<fpm>[\d.]+) files/min, (?P<rps>[\d,]+) records/s · elapsed (?P<elapsed>\d+:\d\d:\d\d) · "
    r"(?P<tail>ETA (?:\d+:\d\d:\d\d|–)|done: all files processed)$")


PHASE = re.compile(
    r"^\[(?P<job>\w+) (?P<run>\S+)\] phase (?P<phase>\w+) · tasks (?P<done>[\d,]+)/(?P<total>[\d,]+) "
    r"\((?:[\d.]+%|–)\) · (?P<rate>[\d,.]+) tasks/s · elapsed \d+:\d\d:\d\d \(run \d+:\d\d:\d\d\) · "
    r"(?P<tail>ETA (?:\d+:\d\d:\d\d|–)|phase (?P=phase) (?:done|failed))$")


def n(text: str) -> int:
    return int(text.replace(",", ""))


# =============================================================================== a fake context
class FakeAcc:
    def __init__(self):
        self.value = 0

    def add(self, v):
        self.value += v


class FakeSC:
    def __init__(self):
        self.completed = 0
        self.props: dict = {}
        self.groups: set = set()

    def accumulator(self, v):
        return FakeAcc()

    def setJobGroup(self, group, description, interrupt):
        self.props.update({"spark.jobGroup.id": group, "spark.job.description": description})
        self.groups.add(group)

    def getLocalProperty(self, key):
        return self.props.get(key)

    def setLocalProperty(self, key, value):
        self.props[key] = value

    def statusTracker(self):
        sc = self
        return SimpleNamespace(getJobIdsForGroup=lambda g: [3] if g in sc.groups else [],
                               getJobInfo=lambda j: SimpleNamespace(stageIds=[7]),
                               getStageInfo=lambda s: SimpleNamespace(numCompletedTasks=sc.completed))


def test_line_has_files_records_qas_rate_and_eta():
    sc, now = FakeSC(), [100.0]
    p = Progress(sc, "extract r1", total_files=10, interval_s=3600, done_before=2, console=io.StringIO(),
                 clock=lambda: now[0])
    p.start()
    sc.completed = 3  # three tasks (files) of this run finished in 50 s
    for name, v in (("files", 3), ("records", 1000), ("qa_extracted", 40), ("qa_kept", 30)):
        p.counters.accumulators()[name].add(v)
    now[0] = 150.0
    line = p.line()
    m = LINE.match(line)
    assert m, line
    assert (n(m["done"]), n(m["total"]), m["pct"]) == (5, 10, "50.0")  # 2 resumed + 3 this run
    assert (n(m["records"]), n(m["qa"]), n(m["kept"])) == (1000, 40, 30)
    assert m["fpm"] == "3.6" and n(m["rps"]) == 20 and m["elapsed"] == "0:00:50"
    assert m["tail"] == "ETA 0:01:23"  # 5 files left at 3 files / 50 s
    sc.completed = 8
    p.stop()
    assert p.lines[-1].endswith("done: all files processed") and "files 10/10 (100.0%)" in p.lines[-1]
    assert sc.props["spark.jobGroup.id"] is None  # later jobs are not counted as this stage's
    assert hms(2 * 86400 + 3661) == "2d 1:01:01"


def test_lines_come_at_the_interval_and_a_failed_stage_says_so():
    sc, out = FakeSC(), io.StringIO()
    p = Progress(sc, "extract r2", total_files=4, interval_s=0.05, console=out)
    with pytest.raises(RuntimeError):
        with p:
            time.sleep(0.4)
            sc.completed = 1
            time.sleep(0.1)
            raise RuntimeError("stage failed")
    assert len(p.lines) >= 5
    assert p.lines[-1].endswith("stopped with 3 files not done")
    assert out.getvalue().count("[extract r2]") == len(p.lines)


def test_interval_zero_turns_progress_off():
    out = io.StringIO()
    with Progress(FakeSC(), "extract r3", total_files=1, interval_s=0, console=out) as p:
        assert p.lines == []  # nothing is printed while it runs either
    assert p.lines == [] and out.getvalue() == ""


class FakeStageSC(FakeSC):
    """A context whose one stage has ``total`` tasks, ``completed`` of them finished."""

    def __init__(self, total: int):
        super().__init__()
        self.total = total

    def statusTracker(self):
        sc = self
        return SimpleNamespace(getJobIdsForGroup=lambda g: [3] if g in sc.groups else [],
                               getJobInfo=lambda j: SimpleNamespace(stageIds=[7]),
                               getStageInfo=lambda s: SimpleNamespace(numCompletedTasks=sc.completed,
                                                                      numTasks=sc.total))


def test_phase_progress_counts_tasks_and_stays_quiet_for_a_short_phase():
    sc, now, out = FakeStageSC(total=40), [10.0], io.StringIO()
    quick = PhaseProgress(sc, "dedup r4", "edges", interval_s=3600, console=out, clock=lambda: now[0], run_started=0.0)
    with quick:
        sc.completed = 40
    assert quick.lines == [] and out.getvalue() == ""  # over before its first interval: nothing said

    sc.completed = 0
    p = PhaseProgress(sc, "dedup r4", "components", interval_s=3600, console=out, clock=lambda: now[0], run_started=0.0)
    p.start()
    sc.completed, now[0] = 10, 30.0  # 10 of 40 tasks in 20 s
    p.emit(p.line())
    sc.completed, now[0] = 40, 50.0
    p.stop()
    first, last = (PHASE.match(l) for l in p.lines)
    assert first and last, p.lines
    assert (n(first["done"]), n(first["total"]), first["rate"], first["tail"]) == (10, 40, "0.5", "ETA 0:01:00")
    assert last["tail"] == "phase components done" and "elapsed 0:00:40 (run 0:00:50)" in p.lines[-1]
    assert sc.props["spark.jobGroup.id"] is None


# =============================================================================== the real job
@pytest.fixture(scope="module")
def watched_run(spark, tmp_path_factory):
    """The extract job in-process on the sample WARCs, progress every 0.5 s, console and log
    captured."""
    from webfaq_jobs.extract import ExtractJob

    lake = tmp_path_factory.mktemp("progress-lake")
    console = io.StringIO()
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("webfaq.progress")
    logger.addHandler(handler)
    try:
        with contextlib.redirect_stderr(console):
            manifest = ExtractJob.from_argv([str(SAMPLE), "--lake", str(lake), "--crawl-id", "CC-PROGRESS",
                                             "--job-progress-interval-s", "0.5"]).execute()
    finally:
        logger.removeHandler(handler)
    return lake, manifest, console.getvalue(), [r.getMessage() for r in records]


@pytest.mark.spark
def test_progress_lines_of_a_real_extract_run(watched_run):
    lake, manifest, console, logged = watched_run
    printed = [l.split(" ", 1)[1] for l in console.splitlines() if re.match(r"^\d\d:\d\d:\d\d \[extract ", l)]
    assert printed and printed == logged  # the same lines in the log and on the console
    lines = [l for l in printed if "] files " in l]  # the other phases (inputs, writing) have their own
    assert all(PHASE.match(l)["phase"] != "extract" for l in printed if l not in lines)
    parsed = [LINE.match(l) for l in lines]
    assert all(parsed), [l for l, m in zip(lines, parsed) if not m]
    assert len(lines) >= 2  # the first line when the stage starts, then the last one
    assert n(parsed[0]["done"]) == 0 and parsed[0]["tail"] == "ETA –"
    assert all(m["run"] == manifest["run_id"] for m in parsed)
    done = [n(m["done"]) for m in parsed]
    assert done == sorted(done)  # never goes backwards
    last, c = parsed[-1], manifest["counters"]
    assert last["tail"] == "done: all files processed" and all(m["tail"] != "done: all files processed" for m in parsed[:-1])
    assert n(last["done"]) == n(last["total"]) == c["files.total"]
    # one task per file, no retries here: the accumulators end at the manifest's exact counters
    assert (n(last["records"]), n(last["qa"]), n(last["kept"])) == (c["warc.records"], c["qa.extracted"], c["qa.kept"])


@pytest.mark.spark
def test_report_of_the_real_run(watched_run):
    """The report of a lake with only an extract run: numbers equal the real manifest, the
    extraction charts are drawn and the later stages say they have not run."""
    from test_report import check_numbers, elements, shots
    from webfaq.report.html import write_report

    lake, manifest, _, _ = watched_run
    html = write_report(str(lake))
    els = elements(open(html, encoding="utf-8").read())
    seen = check_numbers(els, lake)
    for metric in ("warc.records", "responses.html", "prefilter.hit", "qa.extracted", "qa.kept"):
        assert seen[metric], metric
    for key in manifest["counters"]:
        if key.startswith(("kept.lang.", "kept.syntax.", "drop.")):
            assert seen[key], key
    empty = {e["attrs"]["data-chart-empty"] for e in els if "data-chart-empty" in e["attrs"]}
    assert {"dedup-status", "dedup-components", "align-heatmap", "benchmark-sizes"} <= empty
    binary = shots.find_chromium()
    if not binary:
        pytest.skip("chromium is not installed (scripts/setup.sh installs it as root or with sudo)")
    with shots.Chromium(binary) as browser:
        page = browser.render(html)
    assert page.problems() == []
    drawn = {e["attrs"]["data-chart"]: e["attrs"] for e in elements(page.dom) if "data-chart" in e["attrs"]}
    assert {"funnel", "languages", "websites", "syntax", "crawls"} <= set(drawn)
    assert all(int(a["data-rendered-marks"]) > 0 for a in drawn.values())


@pytest.mark.spark
def test_dedup_phases_report_their_tasks(watched_run, spark):
    """A job without a per-file unit (dedup, on the lake the extract run wrote) reports each
    phase that outlasts the interval: its Spark tasks, and a closing line when it is over."""
    from webfaq_jobs.dedup import DedupJob

    lake = watched_run[0]
    console = io.StringIO()
    with contextlib.redirect_stderr(console):
        manifest = DedupJob.from_argv(["--lake", str(lake), "--job-progress-interval-s", "0.05"]).execute()
    lines = [l.split(" ", 1)[1] for l in console.getvalue().splitlines() if re.match(r"^\d\d:\d\d:\d\d \[dedup ", l)]
    parsed = [PHASE.match(l) for l in lines]
    assert parsed and all(parsed), [l for l, m in zip(lines, parsed) if not m]
    assert {m["run"] for m in parsed} == {manifest["run_id"]}
    by_phase: dict[str, list] = {}
    for m in parsed:
        by_phase.setdefault(m["phase"], []).append(m)
    assert set(by_phase) <= set(manifest["durations_s"]) - {"total"} and len(by_phase) >= 2
    for phase, ms in by_phase.items():
        assert ms[-1]["tail"] == f"phase {phase} done" and len(ms) >= 2, phase  # at least one tick, then the end
        assert all(n(m["done"]) <= n(m["total"]) for m in ms)
        assert [n(m["done"]) for m in ms] == sorted(n(m["done"]) for m in ms)
    assert any(n(m["total"]) > 0 for m in parsed)  # tasks were seen, not only zeros
