"""Kill a running job the way a lost node or an OOM killer does: the whole process group at once."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path


def kill_mid_extract(command: list[str], lake: Path, results: int = 2, timeout_s: float = 300) -> int:
    """Start ``command`` in its own session and SIGKILL the driver and its Python workers as
    soon as the extract stage has written ``results`` per-file result files (resume markers)
    into the lake's work area. Returns how many there were (0: it finished first)."""
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    done, deadline = 0, time.time() + timeout_s
    while time.time() < deadline and proc.poll() is None:
        found = list(lake.glob("_work/extract/*/*/*.parquet"))  # <command digest>/<run attempt>/
        if len(found) >= results:
            os.killpg(proc.pid, signal.SIGKILL)
            done = len(found)
            break
        time.sleep(0.05)
    proc.wait(60)
    return done
