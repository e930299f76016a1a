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


class Progress:
    """Report a stage's progress every ``interval_s`` seconds from a driver-side thread.

    Use as a context manager around the action that runs the stage; run the action's tasks with
    ``counters`` (a :class:`ProgressCounters`) added to per finished file::

        progress = Progress(sc, "extract run-1", total_files=len(uris), interval_s=30)
        with progress:
            rdd.mapPartitions(partial(work, progress.counters)).count()
    """

    def __init__(self, sc, label: str, total_files: int, *, interval_s: float = 30.0, done_before: int = 0,
                 console: TextIO | None = None, clock: Callable[[], float] = time.monotonic):
        self.sc = sc
        self.label = label
        self.total = int(total_files)
        self.done_before = int(done_before)  # files a resumed run had already finished
        self.interval_s = float(interval_s or 0)
        self.console = console
        self.clock = clock
        self.counters = ProgressCounters(sc)
        self.group = f"webfaq-progress-{uuid.uuid4().hex[:12]}"
        self.lines: list[str] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = 0.0
        self._finished_ok: bool | None = None

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> "Progress":
        self.start()
        return self

    def __exit__(self, exc_type, *exc) -> None:
        self.stop(ok=exc_type is None)

    def start(self) -> None:
        """Tag the calling thread's Spark jobs with this stage's group and start reporting."""
        self._started = self.clock()
        self._saved = {k: self.sc.getLocalProperty(k) for k in _GROUP_PROPERTIES}
        self.sc.setJobGroup(self.group, f"{self.label}: {self.total} files", False)
        if self.interval_s > 0:
            # a first line at once: the run is seen to have started, with its file total, even
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
        if self.interval_s > 0:
            self._finished_ok = ok
            self.emit(self.line(final=True))

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.emit(self.line())
            except Exception as exc:  # noqa: BLE001 - progress must never break the job
                log.debug("progress poll failed: %s", exc)

    # ------------------------------------------------------------------ measuring
    def completed_tasks(self) -> int | None:
        """Tasks of this group's stages that finished, from Spark's status tracker (None when it
        knows no job of the group yet)."""
        tracker = self.sc.statusTracker()
        done, seen = 0, False
        for job_id in tracker.getJobIdsForGroup(self.group):
            job = tracker.getJobInfo(job_id)
            if job is None:
                continue
            for stage_id in job.stageIds:
                stage = tracker.getStageInfo(stage_id)
                if stage is not None:
                    done += stage.numCompletedTasks
                    seen = True
        return done if seen else None

    def snapshot(self) -> dict[str, Any]:
        values = self.counters.values()
        tasks = None
        try:
            tasks = self.completed_tasks()
        except Exception:  # noqa: BLE001 - e.g. the context is stopping
            pass
        # a finished task has sent its accumulator update with its completion, so both agree;
        # once the job is over the tracker may have forgotten it: the larger is right
        done_now = max(values["files"], tasks or 0)
        elapsed = max(self.clock() - self._started, 1e-9)
        return {"files_done": min(self.done_before + done_now, self.total), "files_total": self.total,
                "files_this_run": done_now, "elapsed_s": elapsed, **values}

    def line(self, final: bool = False) -> str:
        s = self.snapshot()
        done, total, elapsed = s["files_done"], s["files_total"], s["elapsed_s"]
        share = f"{100.0 * done / total:.1f}%" if total else "–"
        files_per_s = s["files_this_run"] / elapsed
        parts = [f"files {done:,}/{total:,} ({share})", f"records {s['records']:,}",
                 f"QAs {s['qa_extracted']:,} extracted, {s['qa_kept']:,} kept",
                 f"{files_per_s * 60:.1f} files/min, {s['records'] / elapsed:,.0f} records/s",
                 f"elapsed {hms(elapsed)}"]
        if final:
            if done >= total and self._finished_ok is not False:
                parts.append("done: all files processed")
            else:
                parts.append(f"stopped with {total - done:,} files not done")
        else:
            remaining = total - done
            parts.append(f"ETA {hms(remaining / files_per_s)}" if files_per_s > 0 and remaining > 0 else
                         ("ETA 0:00:00" if remaining <= 0 else "ETA –"))
        return f"[{self.label}] " + " · ".join(parts)

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


def _writes_to(logger: logging.Logger, stream) -> bool:
    """Whether a handler of ``logger`` or its ancestors already prints INFO records to ``stream``."""
    current: logging.Logger | None = logger
    while current is not None:
        for h in current.handlers:
            if isinstance(h, logging.StreamHandler) and getattr(h, "stream", None) is stream and h.level <= logging.INFO:
                return True
        current = current.parent if current.propagate else None
    return False
