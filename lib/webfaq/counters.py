"""Named counters that every stage reports, and the rules that make them reconcile.

Every record read is either kept or dropped under a named reason, so a run's counters must add up
exactly. Counters are plain dicts of ``name -> int`` (JSON-friendly, mergeable across executors);
names use dotted prefixes (``drop.<reason>``, ``kept.lang.<code>``) so the funnel can be rebuilt.
"""

from __future__ import annotations

from collections import Counter
from typing import Iterable, Mapping

# Extraction funnel. Each line: total == sum(parts). Parts ending in "." are prefixes.
# skip.record.corrupt counts one per bad region of a WARC that reading resynced past (the reader
# cannot know how many records unreadable bytes held); skip.record.truncated one for an
# unreadable tail. skip.parse.{timeout,memory_cap,crash} are pages cut by the page sandbox, whose
# caps cover all of a page's work (decode, parse, clean, filters, language ID).
EXTRACT_FUNNEL: list[tuple[str, list[str]]] = [
    ("warc.records", ["warc.records.response", "warc.records.other", "skip.record."]),
    ("warc.records.response", ["responses.html", "skip.response."]),
    ("responses.html", ["prefilter.miss", "prefilter.hit", "skip.page."]),
    ("prefilter.hit", ["pages.parsed", "skip.parse."]),
    ("qa.extracted", ["qa.kept", "drop."]),
    ("qa.kept", ["kept.lang."]),
    ("files.total", ["files.ok", "files.partial.", "files.failed."]),
]


class Counters(Counter):
    """A Counter of named events; ``add`` keeps call sites short and reasons explicit."""

    def add(self, name: str, n: int = 1) -> None:
        self[name] += n

    def drop(self, reason: str, n: int = 1) -> None:
        """Count ``n`` QA pairs dropped for ``reason`` (becomes ``drop.<reason>``)."""
        self[f"drop.{reason}"] += n

    def skip(self, level: str, reason: str, n: int = 1) -> None:
        """Count something skipped before QA extraction: level is record, response or page."""
        self[f"skip.{level}.{reason}"] += n

    def as_dict(self) -> dict[str, int]:
        return {k: int(v) for k, v in sorted(self.items()) if v}


def merge(parts: Iterable[Mapping[str, int]]) -> Counters:
    total = Counters()
    for part in parts:
        total.update(part)
    return total


def sum_prefix(counters: Mapping[str, int], name: str) -> int:
    """Value of a counter, or the sum of all counters under a prefix ending in '.'."""
    if name.endswith("."):
        return sum(v for k, v in counters.items() if k.startswith(name))
    return int(counters.get(name, 0))


def reconcile(counters: Mapping[str, int], funnel: list[tuple[str, list[str]]] = EXTRACT_FUNNEL) -> list[str]:
    """Return a description of every funnel line that does not add up (empty list == exact)."""
    problems = []
    for total, parts in funnel:
        expected = sum_prefix(counters, total)
        got = sum(sum_prefix(counters, p) for p in parts)
        if expected != got:
            problems.append(f"{total}={expected} but {' + '.join(parts)}={got}")
    return problems


def check_inputs(inputs: int, counters: Mapping[str, int]) -> list[str]:
    """The funnel's first line, against the world: every input file the run resolved is counted
    exactly once in ``files.total`` (a lost or doubled file shows here, not just a sum)."""
    total = int(counters.get("files.total", 0))
    return [] if total == inputs else [f"{inputs} input files but files.total={total}"]
