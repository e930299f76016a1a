"""Named fault points for fault-injection tests (the "failpoint" technique of FoundationDB and
TiKV). ``failpoint("swap.after_trash")`` acts when the environment variable WEBFAQ_FAILPOINT
names that point, so tests can prove that a driver dying at the worst moment never leaves a
half-written lake, and that a full disk is reported as what it is.

WEBFAQ_FAILPOINT is a comma-separated list of ``point`` (kill the process right there),
``point=enospc`` (raise ``OSError(ENOSPC)`` right there, as a write to a full file system does:
the points sit inside the real write paths, after the temporary file exists, so the clean-up and
error reporting that run are the ones a full disk triggers) or ``point=stop`` (the process stops
itself with SIGSTOP, so a test can SIGKILL it at that point, as an OOM killer or a lost node
would, without racing it). The variable is inherited by Spark's executors when it is set before
the session starts. Costs one dict lookup when unset."""

from __future__ import annotations

import errno
import os
import signal

ENV = "WEBFAQ_FAILPOINT"
EXIT_CODE = 86


def failpoint(name: str) -> None:
    spec = os.environ.get(ENV)
    if not spec:
        return
    for item in spec.split(","):
        point, _, kind = item.strip().partition("=")
        if point != name:
            continue
        if kind == "enospc":
            raise OSError(errno.ENOSPC, f"{os.strerror(errno.ENOSPC)} (failpoint {name})")
        if kind == "stop":
            os.kill(os.getpid(), signal.SIGSTOP)
            continue  # resumed (SIGCONT) instead of killed: go on
        os._exit(EXIT_CODE)
