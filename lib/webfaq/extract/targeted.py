"""Targeted reads: the planned captures of one WARC file, fetched by HTTP range and extracted
exactly as a full pass extracts them.

A targeted refresh (``webfaq refresh --targeted``, planned by ``webfaq.extract.ccindex``) reads a
few records of many WARC files instead of whole files. One :class:`RangeTask` is one WARC file's
share of the plan: its captures, with neighbouring records coalesced into one request when the
gap between them is small. The task is a unit of the ordinary extract job: the same retries
(``pipeline.run_unit``), the same WARC reader and page pipeline (``pipeline.read_warc``), the
same per-file result and completion marker, the same counters, so the rows it writes are the
rows a full pass writes for those records, with the same record ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator

from webfaq.config import Config
from webfaq.extract.pipeline import FileResult, QAProcessor, read_warc, run_unit


@dataclass(frozen=True)
class RangeTask:
    """The planned byte ranges ``(offset, length)`` of one WARC file, sorted and disjoint.
    ``captures`` is how many planned records the ranges hold (the ranges may hold other
    records too: those read through in a gap, which are extracted as well, never skipped);
    ``range_captures`` the same per range, so a range the object refuses is counted as the
    captures it held (empty: one each)."""

    uri: str
    ranges: tuple[tuple[int, int], ...]
    captures: int = 0
    range_captures: tuple[int, ...] = ()

    @property
    def bytes(self) -> int:
        return sum(length for _, length in self.ranges)

    def process(self, cfg: Config, processor: QAProcessor | None = None) -> FileResult:
        """Fetch and extract the ranges, with the retries and accounting of a whole file."""
        return run_unit(self.uri, self._read, cfg, processor)

    def _read(self, processor: QAProcessor) -> FileResult:
        result = read_warc(self.uri, processor.cfg, processor, self.ranges, self.range_captures)
        result.counters.add("targeted.ranges", len(self.ranges))
        result.counters.add("targeted.bytes", self.bytes)
        result.counters.add("targeted.captures", self.captures)
        return result


def coalesce(records: Iterable[tuple[int, int]], max_gap: int) -> Iterator[tuple[int, int, int]]:
    """``(offset, length, records)`` reads covering ``records`` (``(offset, length)`` pairs of
    one file): a record joins the current read when it starts at most ``max_gap`` bytes after
    the read's end. The planners do the same in SQL (``ccindex.ranges_sql``); this is the
    reference the tests hold them to."""
    start = end = None
    n = 0
    for offset, length in sorted(records):
        if start is not None and offset - end <= max_gap:
            end, n = max(end, offset + length), n + 1
            continue
        if start is not None:
            yield start, end - start, n
        start, end, n = offset, offset + length, 1
    if start is not None:
        yield start, end - start, n
