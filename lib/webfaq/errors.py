"""One sentence for an error: what a failed run's manifest, its console line and the report say.

A failure inside Spark reaches the driver wrapped: a ``Py4JJavaError`` ("An error occurred while
calling o104.close") around a ``SparkException`` ("Job aborted due to stage failure ...") around
the executor's ``PythonException``, whose message is the Python traceback that ends in the real
cause (``OSError: [Errno 28] No space left on device``). Reporting the outer layer hides that a
disk was full; so the chain is unwrapped to its deepest cause, and a Python traceback to its last
line. The sentence is redacted: an error message quotes URLs, and URLs carry credentials.
"""

from __future__ import annotations

import re

from webfaq.redaction import redact_text

MAX_CHARS = 500
# the last line of a Python traceback, or a Java "pkg.Class: message" line
_EXCEPTION_LINE = re.compile(r"^(?:[A-Za-z_][\w.]*\.)?[A-Za-z_]\w*(?:Error|Exception|Exit|Interrupt)(?::.*)?$")


def describe_error(exc: BaseException) -> str:
    """``Type: message`` of the real cause of ``exc``, on one line."""
    # py4j's Py4JJavaError, or pyspark's captured exceptions (AnalysisException, ...), without importing either
    java = getattr(exc, "java_exception", None) or getattr(exc, "_origin", None)
    text = _java_cause(java) if java is not None else f"{type(exc).__name__}: {exc}"
    return redact_text(_one_line(text))


def _java_cause(java) -> str:
    """The deepest cause of a Java throwable; for an executor's Python failure, the last line
    of its traceback. Falls back to the throwable's own text when the JVM cannot be asked."""
    try:
        chain, seen = [], set()
        while java is not None and id(java) not in seen and len(chain) < 32:
            seen.add(id(java))
            chain.append(java)
            java = java.getCause()
        for throwable in reversed(chain):
            message = throwable.getMessage() or ""
            python = _python_cause(message)
            if python:
                return python
        root = chain[-1]
        return f"{root.getClass().getName()}: {root.getMessage() or ''}".rstrip(": ")
    except Exception:  # noqa: BLE001 - the gateway may be gone (JVM died): its text must do
        return str(java)


def _python_cause(message: str) -> str | None:
    """The last exception line of the (last) Python traceback quoted in ``message``."""
    if "Traceback (most recent call last)" not in message:
        return None
    tail = message.rsplit("Traceback (most recent call last)", 1)[1]
    found = None
    for line in tail.splitlines():
        if line.startswith(("\tat ", "  ", " ")):  # a Java stack frame or a traceback line
            continue
        if _EXCEPTION_LINE.match(line.strip()):
            found = line.strip()
    return found


def _one_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    line = lines[0] if lines else "unknown error"
    return line if len(line) <= MAX_CHARS else line[: MAX_CHARS - 1] + "…"
