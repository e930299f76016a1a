"""Named crash points for fault-injection tests (the "failpoint" technique of FoundationDB and
TiKV): ``failpoint("swap.after_trash")`` kills the process right there when the environment
variable WEBFAQ_FAILPOINT names that point, so tests can prove that a driver dying at the worst
moment never leaves a half-written lake. Costs one dict lookup when unset."""

from __future__ import annotations

import os

ENV = "WEBFAQ_FAILPOINT"
EXIT_CODE = 86


def failpoint(name: str) -> None:
    if os.environ.get(ENV) == name:
        os._exit(EXIT_CODE)
