"""The two kinds of mistakes the command line tells apart, and one sentence for a failure.

A :class:`UsageError` is something the user typed or pointed at (a flag, a config value, an input
that does not exist, a lake that is a file): it is reported in one line and the command exits with
2, before any work starts. Everything else that stops a command is a failed run (exit 1).
Both subclass ``ValueError`` so library callers that caught ValueError keep working.

A failed run is told in one sentence (:func:`describe_error`): what its manifest, its console
line and the report say. A failure inside Spark reaches the driver wrapped: a ``Py4JJavaError``
("An error occurred while calling o104.close") around a ``SparkException`` ("Job aborted due to
stage failure ...") around the executor's ``PythonException``, whose message is the Python
traceback that ends in the real cause (``OSError: [Errno 28] No space left on device``).
Reporting the outer layer hides that a disk was full; so the chain is unwrapped to its deepest
cause, and a Python traceback to its last line. The sentence is redacted: an error message
quotes URLs, and URLs carry credentials.
"""

from __future__ import annotations

import re

from webfaq.redaction import redact_text

MAX_ERROR_CHARS = 240  # what the HTML report shows of a failed run's error
IN_TASK = " (in a Spark task)"
# the last line of a Python traceback, or a Java "pkg.Class: message" line
_EXCEPTION_LINE = re.compile(r"^(?:[A-Za-z_][\w.]*\.)?[A-Za-z_]\w*(?:Error|Exception|Exit|Interrupt|Warning)\b(?::.*)?$")


class UsageError(ValueError):
    """What the user asked for cannot work; the message is one line and says why."""


class ConfigError(UsageError):
    """A setting (from a config file or a flag) has the wrong type, range or name."""


def describe_error(exc: BaseException) -> str:
    """``Type: message`` of the real cause of ``exc``, on one line, redacted. Messages written
    for people (usage errors, ``plain_message`` exceptions) are kept as they are."""
    if type(exc) is ValueError or isinstance(exc, UsageError) or getattr(exc, "plain_message", False):
        text = str(exc)
    else:
        # py4j's Py4JJavaError, or pyspark's captured exceptions (AnalysisException, ...), without importing either
        java = getattr(exc, "java_exception", None) or getattr(exc, "_origin", None)
        text = _java_cause(java, exc) if java is not None else _text_cause(exc)
    return redact_text(_shorten(text))


def _java_cause(java, exc: BaseException) -> str:
    """The deepest cause of a Java throwable; for an executor's Python failure, the last line
    of its traceback. Falls back to the error's text when the JVM cannot be asked (it died)."""
    try:
        chain, seen = [], set()
        while java is not None and id(java) not in seen and len(chain) < 32:
            seen.add(id(java))
            chain.append(java)
            java = java.getCause()
        for throwable in reversed(chain):
            python = _python_cause(throwable.getMessage() or "")
            if python:
                return python + IN_TASK
        for throwable in chain:
            crashed = _worker_crash(throwable.getMessage() or "")
            if crashed:
                return crashed
        root = chain[-1]
        return f"{root.getClass().getName()}: {root.getMessage() or ''}".rstrip(": ")
    except Exception:  # noqa: BLE001 - the gateway may be gone: the text must do
        return _text_cause(exc)


def _text_cause(exc: BaseException) -> str:
    """The cause from an error's text alone: a quoted Python traceback's last exception line,
    else the innermost Java ``Caused by:``, else the error's own first line."""
    text = str(exc)
    python = _python_cause(text)
    if python:
        return python + IN_TASK
    crashed = _worker_crash(text)
    if crashed:
        return crashed
    caused = re.findall(r"^Caused by: (.+)$", text, flags=re.M)
    if caused:
        return caused[-1].strip()
    if "\tat " in text or type(exc).__name__ == "Py4JJavaError":
        found = re.search(r"^:?\s*([\w.$]+(?:Exception|Error)[\w$]*:.*)$", text, flags=re.M)
        if found:
            return found.group(1).strip()
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


WORKER_CRASH = "Python worker exited unexpectedly (crashed)"
WORKER_CRASH_NOTE = ("; killed from outside, most often for memory (the OS or YARN): see the executor's log, "
                     "raise spark.executor.memoryOverhead (EXECUTOR_MEMORY_OVERHEAD in deploy/) for the stage")


def _worker_crash(message: str) -> str | None:
    """The sentence for an executor's Python worker that died without a Python exception.

    Why: a worker killed by a signal (the usual out-of-memory kill) reaches the driver as
    SparkException("Python worker exited unexpectedly (crashed)") caused by a bare
    ``java.io.EOFException``; the deepest cause alone, "java.io.EOFException", names neither the
    dead worker nor the likely reason."""
    if WORKER_CRASH not in message:
        return None
    return WORKER_CRASH + IN_TASK + WORKER_CRASH_NOTE


def _python_cause(message: str) -> str | None:
    """The last exception line of the (last) Python traceback quoted in ``message``."""
    if "Traceback (most recent call last)" not in message:
        return None
    tail = message.rsplit("Traceback (most recent call last)", 1)[1]
    found = None
    for line in tail.splitlines()[1:]:
        if line.startswith("\tat "):  # the Java stack after the Python traceback
            break
        if line.startswith((" ", "\t")):  # a traceback frame
            continue
        if _EXCEPTION_LINE.match(line.strip()):
            found = line.strip()
    return found


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


_NO_SPACE = ("No space left on device", "[Errno 28]", "ENOSPC")


def free_space_note(error: str, places: dict[str, str]) -> str:
    """For a full-disk failure, the free space of each local place a run writes to, as
    ``"; free space: lake /data/lake 0 B, Spark's local dir /tmp 11.2 GB"`` (else ""). The error
    itself (an executor's ``OSError``, a JVM's ``IOException``) never says which disk was full,
    and a full Spark scratch disk reads exactly like a full lake."""
    import shutil

    if not any(mark in error for mark in _NO_SPACE):
        return ""
    shown = []
    for label, path in places.items():
        try:
            free = shutil.disk_usage(path).free
        except OSError:
            continue
        shown.append(f"{label} {path} {_size(free)}")
    return f"; free space: {', '.join(shown)}" if shown else ""


def _size(n: float) -> str:
    units = ("B", "KB", "MB", "GB", "TB")
    step = 0
    while n >= 1000 and step < len(units) - 1:
        n, step = n / 1000, step + 1
    return f"{n:.0f} B" if step == 0 else f"{n:.1f} {units[step]}"
