"""Progress of a long Spark stage, as one line at a steady interval, in the log and on the console.

    [extract 20240601T061000Z-extract-3f2a1c] files 1,204/40,000 (3.0%) · records 48,113,520 ·
    QAs 91,310 extracted, 65,002 kept · 21.4 files/min, 14,260 records/s · elapsed 0:56:14 · ETA 1d 6:12:09

A driver-side daemon thread polls ``SparkContext.statusTracker()`` for the completed tasks of the
stage's job group (one task per input file) and reads accumulators that executors add to as
each file finishes (records, QAs extracted, QAs kept). Accumulator values reach the driver when
a task ends, so with one file per task they move file by file; a retried task can count twice,
which is fine for progress (the manifest's counters stay exact: they come from the per-file
results, not from here).

The first line is written when the stage starts, so every run shows at least that one and the
last. Lines go to the ``webfaq.progress`` logger (INFO) and to the console (stderr, with the time;
not twice when a logging handler already prints there); the last one, written when the stage
is over, says ``done: all files processed`` when every file is.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
import uuid
from typing import Any, Callable, TextIO

log = logging.getLogger("webfaq.progress")

# accumulator name -> counter of a file's result that it adds up
TRACKED = {"records": "warc.records", "qa_extracted": "qa.extracted", "qa_kept": "qa.kept"}
_GROUP_PROPERTIES = ("spark.jobGroup.id", "spark.job.description", "spark.job.interruptOnCancel")


class ProgressCounters:
    """Accumulators that executors add to once per finished input file: files (1), and the
    file's ``warc.records``, ``qa.extracted`` and ``qa.kept`` (see ``TRACKED``)."""

    def __init__(self, sc):
        self.files = sc.accumulator(0)
        self.acc = {name: sc.accumulator(0) for name in TRACKED}

    def accumulators(self) -> dict:
        """The accumulators by name, for an executor function that adds to them itself (so the
        task closure ships plain accumulators, not this module)."""
        return {"files": self.files, **self.acc}

    def values(self) -> dict[str, int]:
        """Driver side: the totals so far."""
        return {"files": int(self.files.value), **{k: int(a.value) for k, a in self.acc.items()}}


def hms(seconds: float) -> str:
    s = int(round(max(seconds, 0)))
    days, s = divmod(s, 86400)
    text = f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
    return f"{days}d {text}" if days else text


class _Reporter:
    """What every progress reporter shares: a driver-side thread that writes ``line()`` every
    ``interval_s`` seconds, Spark jobs of the calling thread tagged with the reporter's job group
    (so the status tracker tells its tasks apart), and one last line when it stops."""

    def __init__(self, sc, label: str, *, interval_s: float = 30.0, console: TextIO | None = None,
                 clock: Callable[[], float] = time.monotonic, announce: bool = True):
        self.sc = sc
        self.label = label
        self.interval_s = float(interval_s or 0)
        self.console = console
        self.clock = clock
        self.announce = announce  # a first line at once, and always a last one
        self.group = f"webfaq-progress-{uuid.uuid4().hex[:12]}"
        self.lines: list[str] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = 0.0
        self._finished_ok: bool | None = None

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, exc_type, *exc) -> None:
        self.stop(ok=exc_type is None)

    def start(self) -> None:
        """Tag the calling thread's Spark jobs with this reporter's group and start reporting."""
        self._started = self.clock()
        self._saved = {k: self.sc.getLocalProperty(k) for k in _GROUP_PROPERTIES}
        self.sc.setJobGroup(self.group, self.label, False)
        if self.interval_s > 0:
            if self.announce:
                # a first line at once: the run is seen to have started, with its total, even
                # when the stage ends before the first interval
                self.emit(self.line())
            self._thread = threading.Thread(target=self._loop, name=f"progress-{self.label}", daemon=True)
            self._thread.start()

    def stop(self, ok: bool = True) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=max(self.interval_s, 5))
        try:  # later jobs are not this stage's
            for key, value in getattr(self, "_saved", {}).items():
                self.sc.setLocalProperty(key, value)
        except Exception:  # noqa: BLE001 - a stopped context has nothing to restore
            pass
        if self.interval_s > 0 and (self.announce or self.lines):
            self._finished_ok = ok
            self.emit(self.line(final=True))

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.emit(self.line())
            except Exception as exc:  # noqa: BLE001 - progress must never break the job
                log.debug("progress poll failed: %s", exc)

    # ------------------------------------------------------------------ measuring
    def task_counts(self) -> tuple[int, int] | None:
        """(finished, all) tasks of this group's stages so far, from Spark's status tracker
        (None when it knows no job of the group yet)."""
        tracker = self.sc.statusTracker()
        done = total = 0
        seen = False
        for job_id in tracker.getJobIdsForGroup(self.group):
            job = tracker.getJobInfo(job_id)
            if job is None:
                continue
            for stage_id in job.stageIds:
                stage = tracker.getStageInfo(stage_id)
                if stage is not None:
                    done += stage.numCompletedTasks
                    total += getattr(stage, "numTasks", 0)
                    seen = True
        return (done, total) if seen else None

    def elapsed(self) -> float:
        return max(self.clock() - self._started, 1e-9)

    def line(self, final: bool = False) -> str:
        raise NotImplementedError

    def emit(self, line: str) -> None:
        """To the ``webfaq.progress`` logger (INFO; the logger is set to INFO when nothing set
        its level) and to the console, unless a logging handler already writes there."""
        self.lines.append(line)
        if log.level == logging.NOTSET:
            log.setLevel(logging.INFO)
        log.info(line)
        stream = self.console if self.console is not None else sys.stderr
        if not _writes_to(log, stream):
            print(f"{time.strftime('%H:%M:%S')} {line}", file=stream, flush=True)


class Progress(_Reporter):
    """Report a stage's progress over input files every ``interval_s`` seconds.

    Use as a context manager around the action that runs the stage; run the action's tasks with
    ``counters`` (a :class:`ProgressCounters`) added to per finished file::

        progress = Progress(sc, "extract run-1", total_files=len(uris), interval_s=30)
        with progress:
            rdd.mapPartitions(partial(work, progress.counters)).count()
    """

    def __init__(self, sc, label: str, total_files: int, *, interval_s: float = 30.0, done_before: int = 0,
                 console: TextIO | None = None, clock: Callable[[], float] = time.monotonic):
        super().__init__(sc, label, interval_s=interval_s, console=console, clock=clock)
        self.total = int(total_files)
        self.done_before = int(done_before)  # files a resumed run had already finished
        self.counters = ProgressCounters(sc)

    def snapshot(self) -> dict[str, Any]:
        values = self.counters.values()
        tasks = None
        try:
            counts = self.task_counts()
            tasks = counts[0] if counts else None
        except Exception:  # noqa: BLE001 - e.g. the context is stopping
            pass
        # a finished task has sent its accumulator update with its completion, so both agree;
        # once the job is over the tracker may have forgotten it: the larger is right
        done_now = max(values["files"], tasks or 0)
        return {"files_done": min(self.done_before + done_now, self.total), "files_total": self.total,
                "files_this_run": done_now, "elapsed_s": self.elapsed(), **values}

    def line(self, final: bool = False) -> str:
        s = self.snapshot()
        done, total, elapsed = s["files_done"], s["files_total"], s["elapsed_s"]
        files_per_s = s["files_this_run"] / elapsed
        parts = [f"files {done:,}/{total:,} ({_share(done, total)})", f"records {s['records']:,}",
                 f"QAs {s['qa_extracted']:,} extracted, {s['qa_kept']:,} kept",
                 f"{files_per_s * 60:.1f} files/min, {s['records'] / elapsed:,.0f} records/s",
                 f"elapsed {hms(elapsed)}"]
        if final:
            if done >= total and self._finished_ok is not False:
                parts.append("done: all files processed")
            else:
                parts.append(f"stopped with {total - done:,} files not done")
        else:
            parts.append(_eta(total - done, files_per_s))
        return f"[{self.label}] " + " · ".join(parts)


class PhaseProgress(_Reporter):
    """Progress of one phase of a job that has no per-file unit (dedup, align, benchmark): the
    Spark tasks of the phase finished out of those submitted so far, their rate, and the ETA of
    what is submitted. Quiet for a phase shorter than the interval: its first line comes after
    one interval, and the closing line only follows when a line was written."""

    def __init__(self, sc, label: str, phase: str, *, interval_s: float = 30.0, console: TextIO | None = None,
                 clock: Callable[[], float] = time.monotonic, run_started: float | None = None):
        super().__init__(sc, f"{label}", interval_s=interval_s, console=console, clock=clock, announce=False)
        self.phase = phase
        self.run_started = run_started

    def line(self, final: bool = False) -> str:
        try:
            done, total = self.task_counts() or (0, 0)
        except Exception:  # noqa: BLE001 - e.g. the context is stopping
            done, total = 0, 0
        elapsed = self.elapsed()
        rate = done / elapsed
        parts = [f"phase {self.phase}", f"tasks {done:,}/{total:,} ({_share(done, total)})",
                 f"{rate:,.1f} tasks/s", f"elapsed {hms(elapsed)}"]
        if self.run_started is not None:
            parts[-1] += f" (run {hms(self.clock() - self.run_started)})"
        if final:
            parts.append(f"phase {self.phase} done" if self._finished_ok is not False else f"phase {self.phase} failed")
        else:
            parts.append(_eta(total - done, rate))
        return f"[{self.label}] " + " · ".join(parts)


def _share(done: int, total: int) -> str:
    return f"{100.0 * done / total:.1f}%" if total else "–"


def _eta(remaining: int, per_s: float) -> str:
    if remaining <= 0:
        return "ETA 0:00:00"
    return f"ETA {hms(remaining / per_s)}" if per_s > 0 else "ETA –"


def _writes_to(logger: logging.Logger, stream) -> bool:
    """Whether a handler of ``logger`` or its ancestors already prints INFO records to ``stream``."""
    current: logging.Logger | None = logger
    stream = getattr(stream, "target", stream)  # seen through a RedactingStream around it
    while current is not None:
        for h in current.handlers:
            if isinstance(h, logging.StreamHandler) and getattr(h, "stream", None) is stream and h.level <= logging.INFO:
                return True
        current = current.parent if current.propagate else None
    return False
