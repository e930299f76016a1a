"""The two kinds of mistakes the command line tells apart.

A :class:`UsageError` is something the user typed or pointed at (a flag, a config value, an input
that does not exist, a lake that is a file): it is reported in one line and the command exits with
2, before any work starts. Everything else that stops a command is a failed run (exit 1).
Both subclass ``ValueError`` so library callers that caught ValueError keep working.
"""

from __future__ import annotations


class UsageError(ValueError):
    """What the user asked for cannot work; the message is one line and says why."""


class ConfigError(UsageError):
    """A setting (from a config file or a flag) has the wrong type, range or name."""
