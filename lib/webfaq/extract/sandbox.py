"""Parse untrusted pages in a forked child process with a time and a memory cap.

Web pages are hostile at Common Crawl scale: nesting bombs, megabyte attributes, pathological
markup for lxml. A Python-level timer cannot interrupt C parsers, and a per-page memory limit
cannot be set inside one process, so pages that pass the prefilter (well under 1% of a crawl)
are decoded and parsed in a child forked from the worker: it shares the loaded modules (no
start-up cost), runs under ``RLIMIT_AS`` = its size at fork + the page budget, and is killed
when a page takes longer than the time cap. The page is then dropped with a named reason
(``skip.parse.timeout``, ``skip.parse.memory_cap``, ``skip.parse.crash``) and the next page
gets a fresh child. Same idea as datatrove's ExtractorSandbox, without its per-document
process start.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import time
from typing import Any, Iterable

from webfaq.counters import Counters
from webfaq.extract.decoding import decode_html
from webfaq.extract.schemaorg import RawQA, extract_faq_pairs

Result = tuple[str | None, list[RawQA], dict[str, int]]


def parse_page(payload: bytes, content_type: str | None, url: str, syntaxes: Iterable[str]) -> Result:
    """Decode and extract one page: (skip reason or None, raw pairs, block-level counters)."""
    counters = Counters()
    text = decode_html(payload, content_type)
    if text is None:
        return "undecodable", [], {}
    return None, extract_faq_pairs(text, url, syntaxes, counters), counters.as_dict()


def _vm_size_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _serve(conn, memory_mb: int) -> None:
    """Child loop: one request at a time until the parent closes the pipe."""
    if memory_mb > 0:
        limit = _vm_size_bytes() + memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        try:
            conn.send(parse_page(*request))
        except MemoryError:
            conn.send(("memory_cap", [], {}))
            return  # the heap may be in a bad state: let the parent start a fresh child


class PageSandbox:
    """One reusable child per worker process; ``parse`` never raises for page content."""

    def __init__(self, timeout_s: float, memory_mb: int):
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self._proc = None
        self._conn = None
        self.slowest_s = 0.0

    def _start(self) -> None:
        ctx = multiprocessing.get_context("fork")
        parent, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child, self.memory_mb), daemon=True)
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

    def parse(self, payload: bytes, content_type: str | None, url: str, syntaxes: Iterable[str]) -> Result:
        if self._proc is None or not self._proc.is_alive():
            self._kill()
            self._start()
        started = time.monotonic()
        try:
            self._conn.send((payload, content_type, url, frozenset(syntaxes)))
            if not self._conn.poll(self.timeout_s):
                self._kill()
                return "timeout", [], {}
            result = self._conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            self._kill()
            return "crash", [], {}
        finally:
            self.slowest_s = max(self.slowest_s, time.monotonic() - started)
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


def in_process_parse(payload: bytes, content_type: str | None, url: str, syntaxes: Iterable[str]) -> Result:
    """The same work without isolation (``--no-extract-sandbox``), for debugging and profiling."""
    return parse_page(payload, content_type, url, syntaxes)


def make_parser(enabled: bool, timeout_s: float, memory_mb: int) -> Any:
    """A callable ``(payload, content_type, url, syntaxes) -> Result``."""
    return PageSandbox(timeout_s, memory_mb).parse if enabled else in_process_parse
