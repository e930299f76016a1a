"""The unit of work: one input file in, FAQ records and counters out.

``webfaq extract-file`` calls :func:`process_file` in one process; the Spark job calls the same
function once per WARC on the executors. Per page the steps are: byte prefilter, decode,
schema.org extraction, the method's cleaning and filters F1-F6, language ID (F7); everything
after the prefilter runs as one unit under the page sandbox's caps. Every page and QA pair ends
in exactly one counter, so the funnel in ``counters.EXTRACT_FUNNEL`` adds up.
"""

from __future__ import annotations

import io
import json
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Sequence

from webfaq.config import Config
from webfaq.counters import Counters
from webfaq.extract.langid import get_identifier
from webfaq.extract.prefilter import detect_syntaxes
from webfaq.extract.records import host_matches, origin_of, parse_warc_date, record_id
from webfaq.extract.sandbox import PageSandbox, parse_page
from webfaq.extract.schemaorg import RawQA
from webfaq.extract.text_clean import clean_pair, lid_text
from webfaq.extract.warc_reader import HtmlPage, WarcFormatError, bytes_opener, iter_html_pages, steady_heap
from webfaq.lake.storage import FetchError, ReadAhead, ResumableStream, read_range, with_retries
from webfaq.redaction import redact


@dataclass
class FileResult:
    """What one input file produced. ``status``:

    * ``ok``: read to its end. Bad regions the reader resynced past (``skip.record.corrupt``,
      one per region) leave a file ``ok``: every readable record after them was read, and each
      loss is counted in the funnel. Fetching the file again gives the same bytes, so nothing
      more can be had from it; calling it partial would only hide whole-file breaks among them.
    * ``partial``: reading stopped before the end (a cut-off download, an unreadable tail;
      ``skip.record.truncated``): records before the break are kept, but how many the rest
      held is unknown, and a fresh copy of the file may have them.
    * ``failed``: nothing read (not a WARC, empty, or the fetch failed).
    """

    uri: str
    status: str
    reason: str | None = None
    crawl: str | None = None
    counters: dict[str, int] = field(default_factory=dict)
    records: list[dict[str, Any]] = field(default_factory=list)
    attempts: int = 0
    seconds: float = 0.0
    slowest_page_s: float = 0.0


class QAProcessor:
    """Raw schema.org pairs of one page -> cleaned, filtered, language-tagged FAQ records.

    ``slowest_s`` is the longest time one page took from the prefilter on (decode, parse, clean,
    filter, language ID), as the worker waited for it: with the sandbox all of that runs under
    the page time cap, so no single page can hold a task longer than the cap."""

    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.langid = get_identifier(cfg.langid)
        self.slowest_s = 0.0
        self.sandbox = PageSandbox(self._page_work, cfg.extract.page_timeout_s, cfg.extract.page_memory_mb) \
            if cfg.extract.sandbox else None

    def start_sandbox(self) -> None:
        """Have the page sandbox's child running before a WARC is read (see PageSandbox.start)."""
        if self.sandbox is not None:
            self.sandbox.start()

    def close(self) -> None:
        if self.sandbox is not None:
            self.sandbox.close()

    @contextmanager
    def timed(self) -> Iterator[None]:
        """Count the enclosed work of one page towards ``slowest_s``."""
        started = time.monotonic()
        try:
            yield
        finally:
            self.slowest_s = max(self.slowest_s, time.monotonic() - started)

    def records(self, pairs: Iterable[RawQA], url: str, fetch_time: str | None, crawl: str,
                source_file: str, counters: Counters) -> Iterator[dict[str, Any]]:
        host_ok = host_matches(url) or not self.cfg.filters.check_host
        origin = origin_of(url)
        fetched = parse_warc_date(fetch_time)
        for raw in pairs:
            reason, question, answer = clean_pair(raw.question, raw.answer, self.cfg.filters)
            if reason is None and not host_ok:
                reason = "host_mismatch"
            if reason is None and origin is None:
                reason = "bad_url"
            lang = None
            if reason is None:
                lang = self.langid.identify(lid_text(question, answer), url)
                reason = lang.reason
            if reason is not None:
                counters.drop(reason)
                continue
            counters.add("qa.kept")
            counters.add(f"kept.lang.{lang.language}")
            counters.add(f"kept.syntax.{raw.syntax}")
            yield {
                "id": record_id(question, answer),
                "crawl": crawl,
                "url": url,
                "origin": origin,
                "language": lang.language,
                "language_confidence": round(float(lang.confidence), 4),
                "question": question,
                "answer": answer,
                "syntax": raw.syntax,
                "warc_file": source_file,
                "fetch_time": fetched,
            }

    def _page_work(self, page: HtmlPage, syntaxes: frozenset[str], crawl: str,
                   source_file: str) -> tuple[str | None, list[dict], dict[str, int]]:
        """Everything a prefilter hit costs, as one unit: (skip reason or None, records, counters).
        It runs in the sandbox child, so a page that stalls in any step (a parser, the cleaning
        regexes, language ID) is cut at the page time cap and leaves no partial counters."""
        counters = Counters()
        reason, pairs, block_counters = parse_page(page.payload, page.content_type, page.url, syntaxes)
        counters.update(block_counters)
        if reason is not None:
            return reason, [], counters.as_dict()
        counters.add("pages.parsed")
        if pairs:
            counters.add("pages.with_faq")
            counters.add("qa.extracted", len(pairs))
        records = list(self.records(pairs, page.url, page.fetch_time, crawl, source_file, counters))
        return None, records, counters.as_dict()

    def page_records(self, page: HtmlPage, crawl: str, source_file: str, counters: Counters) -> list[dict]:
        syntaxes = detect_syntaxes(page.payload, self.cfg.extract.syntaxes)
        if not syntaxes:
            counters.add("prefilter.miss")
            return []
        counters.add("prefilter.hit")
        with self.timed():
            if self.sandbox is None:
                reason, records, page_counters = self._page_work(page, syntaxes, crawl, source_file)
            else:
                reason, records, page_counters = self.sandbox.run(page, syntaxes, crawl, source_file)
        counters.update(page_counters)
        if reason is not None:
            counters.skip("parse", reason)
        return records


def _crawl_for(cfg: Config, warcinfo: dict[str, str]) -> str:
    return cfg.input.crawl or cfg.job.crawl_id or warcinfo.get("isPartOf") or "unknown"


# How a ranged GET at or past the end of an object is refused (S3 InvalidRange, HTTP 416).
_PAST_THE_END = ("s3_error: InvalidRange", "http_error: HTTP 416")


def range_refused(exc: FetchError) -> bool:
    """Whether a FetchError says the range itself is wrong (past the object's end, cut short by
    it, negative or empty), not the object or the network: asking again gets the same answer,
    and the object's other ranges are unaffected."""
    return str(exc) in _PAST_THE_END or exc.reason in ("short_read", "bad_range")


def _opener(uri: str, cfg: Config, counters: Counters, start: int = 0, end: int | None = None):
    """Streams of ``uri`` from any offset that resume by themselves after a broken read; with
    ``start``/``end``, of the byte range [start, end) only (a targeted read of some records),
    offsets then counting from ``start``. Whole remote objects are read ahead of the parser by a
    thread (``input.read_ahead_mb``). At or past the end (the object's, or the range's) the
    stream is empty, as a file's is: the WARC reader's end-of-file checks open there, and a
    refused range is no failed fetch. The first open of a range is never excused: a range the
    object does not hold is a failed read."""
    def on_resume(exc: FetchError) -> None:  # called from the read-ahead thread too: one key per call
        counters.add(f"files.resumed_reads.{exc.reason}")

    ranged = bool(start) or end is not None
    if end is not None and end - start <= BUFFERED_RANGE:
        data = read_range(uri, cfg.s3, cfg.retry, start, end, on_resume)
        return bytes_opener(data)
    remote = "://" in uri and not uri.startswith("file://")
    ahead = cfg.input.read_ahead_mb << 20 if remote else 0

    def open_at(offset: int):
        if offset and end is not None and start + offset >= end:
            return io.BytesIO()
        try:
            if ranged:
                stream = _RangeStream(uri, cfg, start, offset, end, on_resume)
            else:
                stream = ResumableStream(uri, cfg.s3, cfg.retry, offset, on_resume)
        except FetchError as exc:
            if offset and str(exc) in _PAST_THE_END:
                return io.BytesIO()
            raise
        return ReadAhead(stream, ahead) if ahead else stream

    return open_at


# A range up to this size is fetched once into memory: the reader's checks (a cut-off last
# record, resync after a corrupt one) re-open the range, and must not cost another request.
BUFFERED_RANGE = 64 << 20


class _RangeStream(ResumableStream):
    """A ResumableStream over bytes [start, end) whose ``tell()`` counts from ``start``: the
    WARC reader's offsets are relative to where its opener begins, as for a whole file."""

    def __init__(self, uri: str, cfg: Config, start: int, offset: int, end: int | None, on_resume):
        super().__init__(uri, cfg.s3, cfg.retry, start + offset, on_resume, end)
        self._origin = start

    def tell(self) -> int:
        return super().tell() - self._origin


def read_warc(uri: str, cfg: Config, processor: QAProcessor,
              ranges: Iterable[tuple[int, int]] | None = None,
              range_captures: Sequence[int] = ()) -> FileResult:
    """One attempt at one WARC: the whole file, or only the byte ranges ``(offset, length)``
    (a targeted read; each range holds whole gzip members, as the URL index gives them).
    Raises FetchError on fetch/network failure (caller retries). A corrupt range costs that
    range only: the file is then partial, as a whole file broken mid-way. So does a range the
    object refuses (:func:`range_refused`): its planned captures (``range_captures``, per
    range; 1 where not given) are counted ``skip.record.range_error``, the file is partial
    (``range_error``), or failed when no range could be read."""
    counters, records, info = Counters(), [], {}
    name = redact(uri)
    status, reason = "ok", None
    refused = 0
    steady_heap()
    processor.start_sandbox()
    spans = [(0, None)] if ranges is None else list(ranges)
    for i, (offset, length) in enumerate(spans):
        try:
            open_at = _opener(uri, cfg, counters, offset, None if length is None else offset + length)
            for page in iter_html_pages(open_at, counters, cfg.extract.max_page_bytes, info):
                records += processor.page_records(page, _crawl_for(cfg, info), name, counters)
        except WarcFormatError as exc:
            status, reason = "partial", "corrupt_warc"
            counters.add("warc.format_errors")
            counters["warc.format_error_detail." + str(exc).split(" (")[0][:60].replace(".", "")] += 1
        except FetchError as exc:
            if ranges is None or not range_refused(exc):
                raise
            refused += 1
            _count_refused(counters, exc, range_captures[i] if i < len(range_captures) else 1)
            status, reason = "partial", "range_error"
    if refused and refused == len(spans):
        status = "failed"
    elif status == "partial" and counters.get("warc.records", 0) == 0:
        status, reason = "failed", "not_a_warc"
    return FileResult(uri=name, status=status, reason=reason, crawl=_crawl_for(cfg, info),
                      counters=counters, records=records)


def _count_refused(counters: Counters, exc: FetchError, captures: int) -> None:
    """A refused range in the funnel: its planned captures as records skipped (the records it
    held cannot be known, as for a corrupt region), and the range under its fetch reason."""
    counters.add("warc.records", captures)
    counters.skip("record", "range_error", captures)
    counters.add(f"targeted.range_errors.{exc.reason}")


def _read_nquads(uri: str, cfg: Config, processor: QAProcessor) -> FileResult:
    import gzip

    from webfaq.extract.schemaorg.nquads import iter_nquads_pages

    counters, records = Counters(), []
    name = redact(uri)
    stream = _opener(uri, cfg, counters)(0)
    try:
        raw = gzip.GzipFile(fileobj=stream) if uri.endswith(".gz") else stream
        lines = io.TextIOWrapper(raw, encoding="utf-8", errors="replace")
        crawl = cfg.input.crawl or cfg.job.crawl_id or "unknown"
        for page_url, pairs in iter_nquads_pages(lines, counters):
            counters.add("nquads.pages")
            if pairs:
                counters.add("pages.with_faq")
                counters.add("qa.extracted", len(pairs))
            with processor.timed():
                records += processor.records(pairs, page_url, None, crawl, name, counters)
    finally:
        stream.close()
    return FileResult(uri=name, status="ok", crawl=crawl, counters=counters, records=records)


def process_file(uri: str, cfg: Config, processor: QAProcessor | None = None) -> FileResult:
    """Process one input file with retries; never raises for bad input or failed fetches."""
    reader = _read_nquads if cfg.input.format == "nquads" else read_warc
    return run_unit(uri, lambda proc: reader(uri, cfg, proc), cfg, processor)


def run_unit(uri: str, read: Callable[[QAProcessor], FileResult], cfg: Config,
             processor: QAProcessor | None = None) -> FileResult:
    """One unit of extract work (a whole file, or the planned ranges of one WARC file read by a
    targeted refresh): ``read`` retried with backoff, then the file counters, attempts and
    timing, so both kinds of unit are accounted for the same way. Never raises for bad input or
    failed fetches."""
    if processor is None:
        processor = QAProcessor(cfg)
        try:
            return run_unit(uri, read, cfg, processor)
        finally:
            processor.close()
    started = time.monotonic()
    attempts = 0
    retried = Counters()
    processor.slowest_s = 0.0

    def attempt() -> FileResult:
        nonlocal attempts
        attempts += 1
        return read(processor)

    def on_retry(exc: FetchError) -> None:
        retried.add(f"files.retries.{exc.reason}")

    try:
        result = with_retries(attempt, cfg.retry, on_retry)
    except FetchError as exc:
        result = FileResult(uri=redact(uri), status="failed", reason=exc.reason)
    result.counters = Counters(result.counters)
    result.counters.update(retried)
    result.counters.add("files.total")
    result.counters.add("files.ok" if result.status == "ok" else f"files.{result.status}.{result.reason}")
    result.counters = result.counters.as_dict()
    result.attempts = attempts
    result.seconds = round(time.monotonic() - started, 3)
    result.slowest_page_s = round(processor.slowest_s, 3)
    return result


def unit_uri(unit: Any) -> str:
    """The file a unit of extract work reads: a URI, or a targeted read's ``.uri``."""
    return unit if isinstance(unit, str) else unit.uri


def process_unit(unit: Any, cfg: Config, processor: QAProcessor | None = None) -> FileResult:
    """A whole file (its URI) or a targeted read of one (an object with ``.uri`` and
    ``.process(cfg, processor)``, see ``webfaq.extract.targeted.RangeTask``)."""
    return process_file(unit, cfg, processor) if isinstance(unit, str) else unit.process(cfg, processor)


# --------------------------------------------------------------------------- Spark rows
# The Spark job stages one table holding both QA records (kind "qa") and one summary row per
# input file (kind "file"), so a single pass over the WARCs yields data and accounting.
FILE_FIELDS: list[tuple[str, str]] = [
    ("file_uri", "string"), ("file_status", "string"), ("file_reason", "string"),
    ("file_crawl", "string"), ("file_counters", "string"), ("file_attempts", "int"),
    ("file_seconds", "double"),
]


def staging_fields() -> list[tuple[str, str]]:
    from webfaq.extract.records import FAQ_FIELDS

    return [("kind", "string")] + FAQ_FIELDS + FILE_FIELDS


def result_rows(result: FileResult) -> Iterator[tuple]:
    from webfaq.extract.records import FAQ_COLUMNS

    empty_file = (None,) * len(FILE_FIELDS)
    for rec in result.records:
        yield ("qa",) + tuple(rec[c] for c in FAQ_COLUMNS) + empty_file
    yield ("file",) + (None,) * len(FAQ_COLUMNS) + (
        result.uri, result.status, result.reason, result.crawl,
        json.dumps(result.counters, sort_keys=True), result.attempts, result.seconds)


def file_key(uri: str) -> str:
    """Name of an input file's result in the job's work directory. ``uri`` is spelled as the
    resolved inputs spell it (``webfaq.lake.inputs``: one canonical path per local file), so a
    file has one result, and a re-run finds it, whatever spelling the command line used."""
    import hashlib

    return hashlib.sha1(uri.encode("utf-8")).hexdigest()[:24]


def result_file_name(uri: str, status: str) -> str:
    """Failed files get their own suffix so that a resumed run retries them."""
    return file_key(uri) + (".failed.parquet" if status == "failed" else ".parquet")


def result_table(result: FileResult):
    import pyarrow as pa

    from webfaq.extract.records import arrow_schema

    fields = staging_fields()
    names = [name for name, _ in fields]
    return pa.Table.from_pylist([dict(zip(names, row)) for row in result_rows(result)], schema=arrow_schema(fields))


BAD_CRAWL = "bad_crawl_name"  # files.failed.<this>: the file's crawl (its isPartOf) cannot name a partition


def lake_checked(result: FileResult) -> FileResult:
    """``result`` as the lake job takes it: a file whose crawl (from its warcinfo ``isPartOf``)
    is not a valid lake name fails with its own reason and keeps no records, its kept pairs
    counted as ``drop.bad_crawl_name`` -- the crawl would become a directory name, and a name
    from content is never used as a path (``--crawl-id`` overrides ``isPartOf``). ``webfaq
    extract-file`` writes no lake and reports the crawl as it is."""
    from webfaq.lake.names import valid_name

    if result.status == "failed" or valid_name(result.crawl):
        return result
    counters = Counters(result.counters)
    for name in [k for k in counters if k.startswith("kept.lang.")]:
        del counters[name]
    counters.drop(BAD_CRAWL, counters.pop("qa.kept", 0))  # extracted, then dropped with the file
    counters.pop("files.ok" if result.status == "ok" else f"files.{result.status}.{result.reason}", None)
    counters.add(f"files.failed.{BAD_CRAWL}")
    result.status, result.reason, result.records, result.counters = "failed", BAD_CRAWL, [], counters.as_dict()
    return result


def extract_to_work(cfg_dict: dict, work_dir: str, uris: Iterable[Any]) -> Iterator[tuple[str, str]]:
    """Executor side of the extract job: each input file's records and summary row go to their
    own Parquet file in ``work_dir`` the moment the file is done. That file is the per-WARC
    completion marker: a job that dies is re-run and processes only the files without one.
    ``uris`` may also hold targeted reads (``process_unit``); their marker is their file's."""
    from webfaq.lake import join, write_parquet_atomic

    cfg = Config.from_dict(cfg_dict)
    processor = QAProcessor(cfg)
    try:
        for unit in uris:
            uri = unit_uri(unit)
            result = lake_checked(process_unit(unit, cfg, processor))
            write_parquet_atomic(join(work_dir, result_file_name(uri, result.status)), result_table(result),
                                 root=cfg.lake.path)
            yield uri, result.status
    finally:
        processor.close()
