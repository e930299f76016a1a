"""Run the work of one untrusted page in a forked child process with a time and a memory cap.

Web pages are hostile at Common Crawl scale: nesting bombs, megabyte attributes, pathological
markup for lxml, white-space runs that make a regex quadratic. A Python-level timer cannot
interrupt C code (lxml, Resiliparse, fastText), and a per-page memory limit cannot be set inside
one process, so everything a page costs after the prefilter (well under 1% of a crawl) --
decoding, schema.org parsing, the method's cleaning and filters, language ID -- runs in a child
forked from the worker: it shares the loaded modules and the language-ID model (no start-up
cost), runs under ``RLIMIT_AS`` = its size at fork + the page budget, and is killed when a page
takes longer than the time cap. The page is then dropped with a named reason
(``skip.parse.timeout``, ``skip.parse.memory_cap``, ``skip.parse.crash``), none of its partial
counters or records are kept, and the next page gets a fresh child. Same idea as datatrove's
ExtractorSandbox, without its per-document process start.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
from typing import Any, Callable, Iterable

from webfaq.counters import Counters
from webfaq.extract.decoding import decode_html
from webfaq.extract.schemaorg import RawQA, extract_faq_pairs

Result = tuple[str | None, list, dict[str, int]]  # (skip reason or None, items, counters)


def parse_page(payload: bytes, content_type: str | None, url: str,
               syntaxes: Iterable[str]) -> tuple[str | None, list[RawQA], dict[str, int]]:
    """Decode and extract one page: (skip reason or None, raw pairs, block-level counters)."""
    counters = Counters()
    text = decode_html(payload, content_type)
    if text is None:
        return "undecodable", [], {}
    return None, extract_faq_pairs(text, url, syntaxes, counters), counters.as_dict()


def _vm_size_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _cap_address_space(limit: int) -> None:
    """Set RLIMIT_AS to ``limit``, or to the hard limit the worker was started under where that is
    lower (a container's ``ulimit -v``): asking for more than the hard limit raises in the child,
    which would then fail every page as a crash instead of capping it."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _serve(conn, memory_mb: int, work: Callable[..., Result]) -> None:
    """Child loop: one request at a time until the parent closes the pipe."""
    if memory_mb > 0:
        _cap_address_space(_vm_size_bytes() + memory_mb * 1024 * 1024)
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        try:
            conn.send(work(*request))
        except MemoryError:
            conn.send(("memory_cap", [], {}))
            return  # the heap may be in a bad state: let the parent start a fresh child


class PageSandbox:
    """One reusable child per worker process running ``work(*args) -> Result``; ``run`` never
    raises for page content. ``work`` is passed to the child by fork, never pickled, so it may be
    a bound method holding models; only its arguments and result cross the pipe."""

    def __init__(self, work: Callable[..., Result], timeout_s: float, memory_mb: int):
        self.work = work
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self._proc = None
        self._conn = None

    def start(self) -> None:
        """Fork the child now, if it is not running. Forking before the worker reads anything
        keeps the heap the two processes share small: every shared page the worker writes to
        later (its allocator reusing memory for the next payload) is copied first, and a worker
        that forks mid-file shares tens of megabytes of payload heap. bench/extract.py: ~8,000
        fewer page faults on a 300 MB WARC than forking at its first FAQ page."""
        if self._proc is None or not self._proc.is_alive():
            self._kill()
            self._start()

    def _start(self) -> None:
        ctx = multiprocessing.get_context("fork")
        parent, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child, self.memory_mb, self.work), daemon=True)
        self._proc.start()
        child.close()
        self._conn = parent

    def _kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.join(5)
        if self._conn is not None:
            self._conn.close()
        self._proc = self._conn = None

    def run(self, *args: Any) -> Result:
        self.start()
        try:
            self._conn.send(args)
            if not self._conn.poll(self.timeout_s):
                self._kill()
                return "timeout", [], {}
            result = self._conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            self._kill()
            return "crash", [], {}
        if result[0] == "memory_cap":
            self._kill()
        return result

    def close(self) -> None:
        self._kill()

    def __del__(self) -> None:  # pragma: no cover - best effort at interpreter exit
        try:
            self._kill()
        except Exception:  # noqa: BLE001
            pass
