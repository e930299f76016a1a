"""Planning a targeted refresh from Common Crawl's columnar URL index (issue 16).

A full pass inflates a whole crawl (~100 TB) to find FAQ pages on well under 1% of its pages.
The URL index (Parquet, one row per capture, ``cc-index/table/cc-main/warc/crawl=<id>/
subset=warc/``) says where every capture's record lies (``warc_filename``,
``warc_record_offset``, ``warc_record_length``), so a refresh can read only the captures likely
to carry FAQ markup:

* ``known_url``: captures of URLs (host + path) that held FAQ pairs in earlier crawls of the lake;
* ``faq_path``: other captures on those hosts whose path looks like a FAQ/help/support page;
* ``path_template``: other captures on those hosts in the directory of a known FAQ page (digits
  masked, same extension): product pages with FAQ blocks, FAQ pages that were renamed;
* plus a seeded random **discovery** sample of whole WARC files, read as a full pass reads
  them, so FAQ hosts the lake does not know yet are found and the host list grows each month.

Planning has two steps. The *scan* reads each index file by ranges (only the columns it needs)
and keeps the captures on known hosts: vectorised filtering in pyarrow, one task per index file,
each result written to the lake's work area as a completion marker (a re-plan after a crash
scans only what is missing). The *selection* is SQL over the scanned candidates and the lake's
known FAQ URLs, run by Spark SQL (the refresh) or DuckDB (``--targeted-engine duckdb``, small
runs): the same statements, with the few functions that differ spelled per dialect. It ends in
byte ranges per WARC file, neighbouring ranges coalesced when the gap between them is at most
``--targeted-max-gap``; each file's ranges become one ``webfaq.extract.targeted.RangeTask``.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Protocol

from webfaq.config import Config
from webfaq.errors import UsageError
from webfaq.extract.targeted import RangeTask
from webfaq.lake.inputs import crawl_listing_url, in_sample, join_url
from webfaq.lake.storage import FetchError, list_matching, object_size, read_bytes, read_range, text_lines, with_retries
from webfaq.redaction import redact

# The index columns a plan reads (of the ~30 in cc-index-table's schema).
SCAN_COLUMNS = ["url", "url_host_name", "url_path", "fetch_status", "content_mime_detected",
                "warc_filename", "warc_record_offset", "warc_record_length"]
CANDIDATE_COLUMNS = ["url", "url_host_name", "url_path", "warc_filename", "warc_record_offset", "warc_record_length"]
STRING_COLUMNS = ("url", "url_host_name", "url_path", "content_mime_detected", "warc_filename")
POSITION_COLUMNS = ("warc_record_offset", "warc_record_length")
STATS_KEY = b"webfaq.index_stats"
REASONS = ("known_url", "faq_path", "path_template")
# Why an index row selected by the rules is not read, in the order they are checked (the first
# that applies is counted). The index is data: a row can name no file, or a position no WARC has.
ROW_PROBLEMS = ("filename_missing", "offset_missing", "offset_not_integer", "offset_negative", "length_missing",
                "length_not_integer", "length_not_positive", "length_too_large", "offset_too_large")
# No WARC file reaches 2^53 bytes (9 PB); every offset + length below it is exact in any engine's
# integer or double arithmetic, so no sum over planned rows can overflow.
MAX_POSITION = 2 ** 53
# What a record adds to its payload: WARC and HTTP headers, gzip framing. A row longer than
# max_page_bytes plus this holds a payload the reader would skip as page_too_large anyway.
RECORD_HEADROOM = 1 << 20
SCAN_VERSION = 2  # the scan's output format: a re-plan never reuses a scan written by older code


class IndexProblem(UsageError):
    """An index file is not what a URL index file must be (not Parquet, a column missing or of
    the wrong type): one line naming the file, nothing planned from a partial index."""


# --------------------------------------------------------------------------- where the index is

def index_files(crawl: str, cfg: Config) -> list[str]:
    """The crawl's index Parquet files (subset=warc). ``s3://`` and local roots are listed;
    an ``https://`` root cannot be, so its files come from the crawl's published
    ``cc-index-table.paths.gz`` (under ``--input-base-url``), re-rooted at the index URL."""
    root = cfg.targeted.index_url.rstrip("/") + "/"
    part = f"crawl={crawl}/subset=warc/"
    crawl_listing_url(crawl, cfg.input.base_url)  # validates the crawl id before it is used in a path
    if root.startswith(("http://", "https://")):
        listing = join_url(cfg.input.base_url, f"crawl-data/{crawl}/cc-index-table.paths.gz")
        names = [line for line in text_lines(read_bytes(listing, cfg.s3, cfg.retry)) if part in line]
        files = [root + name[name.index(part):] for name in names if name.endswith(".parquet")]
    else:
        files = [u for u in list_matching(root + part + "*", cfg.s3, cfg.retry) if u.endswith(".parquet")]
    if not files:
        raise FetchError("not_found", f"no URL index files for {crawl} under {redact(root)}")
    return sorted(files)


def warc_paths(crawl: str, cfg: Config) -> list[str]:
    """The crawl's WARC files as its ``warc.paths.gz`` names them (relative to the bucket, as
    the index's ``warc_filename``): the population the discovery sample is drawn from."""
    lines = text_lines(read_bytes(crawl_listing_url(crawl, cfg.input.base_url), cfg.s3, cfg.retry))
    return [line for line in lines if not line.startswith("#")]


def discovery_sample(paths: Iterable[str], cfg: Config) -> list[str]:
    """WARC files read whole: a seeded hash of the relative path under the fraction (the same
    file is in or out whatever the base URL, and each crawl's paths differ, so each month
    samples other files)."""
    t = cfg.targeted
    return sorted(p for p in paths if t.discovery_sample > 0 and in_sample(p, t.discovery_sample, t.discovery_seed))


# --------------------------------------------------------------------------- reading by ranges

class RangedFile(io.RawIOBase):
    """A seekable, read-only view of an object (local, ``s3://``, ``https://``): each read is
    one bounded range request through the storage layer's resuming stream and retries. A
    Parquet reader fetches the footer and the column chunks it needs, never the whole file."""

    def __init__(self, uri: str, cfg: Config):
        super().__init__()
        self.uri, self._cfg = uri, cfg
        self._size = object_size(uri, cfg.s3, cfg.retry)
        self._pos = 0
        self.requests = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def read(self, n: int = -1) -> bytes:
        end = self._size if n is None or n < 0 else min(self._size, self._pos + n)
        if end <= self._pos:
            return b""
        data = with_retries(lambda: self._get(self._pos, end), self._cfg.retry)
        self._pos = end
        return data

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def _get(self, start: int, end: int) -> bytes:
        self.requests += 1
        return read_range(self.uri, self._cfg.s3, self._cfg.retry, start, end)


def _open_parquet(uri: str, cfg: Config):
    import pyarrow.parquet as pq

    if "://" not in uri or uri.startswith("file://"):
        return pq.ParquetFile(uri[len("file://"):] if uri.startswith("file://") else uri)
    return pq.ParquetFile(RangedFile(uri, cfg))


# --------------------------------------------------------------------------- the scan

def candidate_schema():
    import pyarrow as pa

    return pa.schema([("url", pa.string()), ("url_host_name", pa.string()), ("url_path", pa.string()),
                      ("warc_filename", pa.string()), ("warc_record_offset", pa.int64()),
                      ("warc_record_length", pa.int64()), ("problem", pa.string())])


def max_record_bytes(cfg: Config) -> int:
    """The longest index row a plan reads (see :data:`RECORD_HEADROOM`)."""
    return cfg.extract.max_page_bytes + RECORD_HEADROOM


def _type_problem(name: str, kind) -> str | None:
    """Why column ``name`` of type ``kind`` cannot be scanned, or None. Offsets and lengths may
    be integers, floats or strings (checked row by row); the rest have one usable type."""
    import pyarrow as pa

    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    text = pa.types.is_string(kind) or pa.types.is_large_string(kind)
    if name in STRING_COLUMNS:
        return None if text else f"column {name} is {kind}, expected a string"
    if name in POSITION_COLUMNS:
        return None if text or pa.types.is_integer(kind) or pa.types.is_floating(kind) else \
            f"column {name} is {kind}, expected an integer"
    return None if pa.types.is_integer(kind) else f"column {name} is {kind}, expected an integer"


def check_index_schema(uri: str, schema) -> None:
    """IndexProblem naming ``uri`` unless it has every scanned column, each of a usable type:
    checked from the footer, before any row is read."""
    names = set(schema.names)
    missing = [c for c in SCAN_COLUMNS if c not in names]
    if missing:
        raise IndexProblem(f"URL index file {redact(uri)}: no column {', '.join(missing)}")
    for column in SCAN_COLUMNS:
        why = _type_problem(column, schema.field(column).type)
        if why:
            raise IndexProblem(f"URL index file {redact(uri)}: {why}")


def _plain(array):
    """A dictionary-encoded column decoded (a Parquet writer may keep strings as dictionaries)."""
    import pyarrow as pa

    return array.dictionary_decode() if pa.types.is_dictionary(array.type) else array


def _as_int64(array):
    """(``array`` as int64 clamped to [-1, MAX_POSITION + 1], null where it is null or no
    integer; mask of values present but not integers). Clamping keeps every later sum in range
    while leaving negative and too large values recognisable."""
    import pyarrow as pa
    import pyarrow.compute as pc

    array = _plain(array)
    kind = array.type
    if pa.types.is_integer(kind):
        if kind == pa.uint64():
            array = pc.min_element_wise(array, pa.scalar(MAX_POSITION + 1, kind))
        ok = pc.is_valid(array)
        values = pc.cast(array, pa.int64())
    elif pa.types.is_floating(kind):
        ok = pc.and_(pc.is_finite(array), pc.equal(pc.floor(array), array))
        bounded = pc.max_element_wise(pc.min_element_wise(array, float(MAX_POSITION + 1)), -1.0)
        values = pc.cast(pc.if_else(ok, bounded, pa.scalar(None, kind)), pa.int64())
    else:  # strings: "123", " 123 ", "-5"; anything else is no integer
        ok = pc.match_substring_regex(array, r"^\s*-?[0-9]{1,18}\s*$")
        values = pc.cast(pc.utf8_trim_whitespace(pc.if_else(ok, array, pa.scalar(None, array.type))), pa.int64())
    values = pc.max_element_wise(pc.min_element_wise(values, MAX_POSITION + 1), -1)
    return values, pc.fill_null(pc.invert(ok), False)


def record_positions(filename, offset, length, max_length: int):
    """(offset, length, problem) of index rows: int64 offsets and lengths, and per row the first
    of :data:`ROW_PROBLEMS` that applies (null for a row that can be read; its offset and length
    are then null). Vectorised: it runs over every row of the index, in both planners' scan."""
    import pyarrow as pa
    import pyarrow.compute as pc

    off, off_bad = _as_int64(offset)
    size, size_bad = _as_int64(length)
    hits = {"filename_missing": pc.is_null(filename), "offset_missing": pc.is_null(offset),
            "offset_not_integer": off_bad, "offset_negative": pc.less(off, 0),
            "length_missing": pc.is_null(length), "length_not_integer": size_bad,
            "length_not_positive": pc.less_equal(size, 0), "length_too_large": pc.greater(size, max_length),
            "offset_too_large": pc.greater(pc.add(off, size), MAX_POSITION)}
    problem = pa.nulls(len(offset), pa.string())
    for reason in ROW_PROBLEMS:
        problem = pc.if_else(pc.and_(pc.is_null(problem), pc.fill_null(hits[reason], False)), reason, problem)
    usable = pc.is_null(problem)
    none = pa.scalar(None, pa.int64())
    return pc.if_else(usable, off, none), pc.if_else(usable, size, none), problem


def _index_batches(uri: str, cfg: Config):
    """The scanned columns of index file ``uri``, batch by batch; IndexProblem when it is not a
    Parquet file or lacks what a plan needs (a failed fetch stays a FetchError)."""
    import pyarrow as pa

    try:
        parquet = _open_parquet(uri, cfg)
        check_index_schema(uri, parquet.schema_arrow)
        yield from parquet.iter_batches(columns=SCAN_COLUMNS, batch_size=1 << 16)
    except pa.ArrowException as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise IndexProblem(f"URL index file {redact(uri)} is not readable Parquet: {first[:160]}") from None


def scan_index_file(uri: str, cfg: Config, hosts: frozenset[str], discovery: frozenset[str]):
    """(captures on ``hosts`` that a plan may target, totals of the file). Candidates are
    successful HTML captures on a known host outside the discovery files (those are read whole),
    each with its row problem (:func:`record_positions`; the selection counts those it would have
    planned). Totals: every capture and the bytes of those with a usable position, and those in
    discovery files, for the plan's shares."""
    import pyarrow as pa
    import pyarrow.compute as pc

    stats = {"index_files": 1, "index_captures": 0, "index_bytes": 0, "discovery_captures": 0, "discovery_bytes": 0}
    host_set = pa.array(sorted(hosts), pa.string())
    disc_set = pa.array(sorted(discovery), pa.string())
    mimes = pa.array(list(cfg.targeted.mime_types), pa.string())
    schema = candidate_schema()
    longest = max_record_bytes(cfg)
    parts = []
    for batch in _index_batches(uri, cfg):
        col = {name: _plain(batch.column(name)) for name in SCAN_COLUMNS}
        offset, length, problem = record_positions(col["warc_filename"], col["warc_record_offset"],
                                                   col["warc_record_length"], longest)
        in_disc = pc.is_in(col["warc_filename"], value_set=disc_set)
        stats["index_captures"] += batch.num_rows
        stats["index_bytes"] += pc.sum(length).as_py() or 0
        stats["discovery_captures"] += pc.sum(in_disc.cast(pa.int64())).as_py() or 0
        stats["discovery_bytes"] += pc.sum(pc.if_else(in_disc, length, 0)).as_py() or 0
        keep = pc.and_kleene(pc.and_kleene(pc.equal(col["fetch_status"], 200),
                                           pc.is_in(col["content_mime_detected"], value_set=mimes)),
                             pc.and_kleene(pc.is_in(pc.utf8_lower(col["url_host_name"]), value_set=host_set),
                                           pc.invert(in_disc)))
        columns = [col[c].cast(pa.string()) for c in CANDIDATE_COLUMNS[:4]] + [offset, length, problem]
        parts.append(pa.Table.from_arrays(columns, schema=schema).filter(pc.fill_null(keep, False)))
    table = pa.concat_tables(parts) if parts else schema.empty_table()
    stats["candidates"] = table.num_rows
    return table, stats


def scan_key(uri: str) -> str:
    return hashlib.sha1(uri.encode("utf-8")).hexdigest()[:24] + ".parquet"


def scan_to_work(cfg_dict: dict, work_dir: str, hosts: frozenset[str], discovery: frozenset[str], uri: str) -> dict:
    """Scan one index file into ``work_dir`` (its candidates, with its totals in the file's
    metadata) unless a finished scan is already there; return the totals, or
    ``{"index_problem": <line>}`` for a file that is no usable index file (returned, not raised:
    from a Spark task an exception reaches the driver wrapped in a Java stack trace; the planner
    raises it, :func:`index_problem`). Runs on executors."""
    import pyarrow.parquet as pq

    from webfaq.lake import arrow_fs, join, write_parquet_atomic

    target = join(work_dir, scan_key(uri))
    filesystem, path = arrow_fs(target)
    if filesystem.get_file_info(path).size is not None:
        with filesystem.open_input_file(path) as fh:
            return json.loads(pq.read_schema(fh).metadata[STATS_KEY])
    cfg = Config.from_dict(cfg_dict)
    try:
        table, stats = scan_index_file(uri, cfg, hosts, discovery)
    except IndexProblem as exc:
        return {"index_problem": str(exc)}
    write_parquet_atomic(target, table.replace_schema_metadata({STATS_KEY: json.dumps(stats)}), root=work_dir)
    return stats


def scan_digest(crawl: str, files: list[str], hosts: Iterable[str], discovery: list[str], cfg: Config) -> str:
    """Identity of a scan: a different host list, sample, index, longest readable row or scan
    format means a different scan."""
    h = hashlib.sha1(json.dumps([crawl, files, discovery, list(cfg.targeted.mime_types), max_record_bytes(cfg),
                                 SCAN_VERSION]).encode())
    for host in sorted(hosts):
        h.update(host.encode("utf-8") + b"\n")
    return h.hexdigest()[:16]


# --------------------------------------------------------------------------- the selection (SQL)

def _lit(text: str, dialect: str) -> str:
    """A SQL string literal: Spark SQL unescapes backslashes in literals, DuckDB does not."""
    if dialect == "spark":
        return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return "'" + text.replace("'", "''") + "'"


def _matches(expr: str, pattern: str, dialect: str) -> str:
    return f"({expr} RLIKE {_lit(pattern, dialect)})" if dialect == "spark" else \
        f"regexp_matches({expr}, {_lit(pattern, dialect)})"


def _replace_all(expr: str, pattern: str, repl: str, dialect: str) -> str:
    flags = ", 'g'" if dialect == "duckdb" else ""
    return f"regexp_replace({expr}, {_lit(pattern, dialect)}, {_lit(repl, dialect)}{flags})"


_SCHEME = "^[A-Za-z][A-Za-z0-9+.-]*://"


def _host(url: str, d: str) -> str:
    return f"lower(regexp_extract({url}, {_lit(_SCHEME + '(?:[^/?#@]*@)?([^/?#:]+)', d)}, 1))"


def _path(url: str, d: str) -> str:
    path = f"regexp_extract({url}, {_lit(_SCHEME + '[^/?#]*(/[^?#]*)', d)}, 1)"
    return f"(CASE WHEN {path} = '' THEN '/' ELSE {path} END)"


def _dir(path: str, d: str) -> str:
    return f"regexp_extract({path}, {_lit('^(.*/)', d)}, 1)"


def _template(path: str, d: str) -> str:
    """The directory of a path with digit runs masked, then ``*``, then the extension:
    ``/produkte/123/kredit.html`` -> ``/produkte/0/*.html``."""
    ext = f"lower(regexp_extract({path}, {_lit('([.][A-Za-z0-9]{1,5})$', d)}, 1))"
    return f"concat({_replace_all(_dir(path, d), '[0-9]+', '0', d)}, '*', {ext})"


def known_pages_sql(d: str) -> str:
    """(host, path) of the lake's known FAQ URLs (view ``known``: column ``url``)."""
    return f"SELECT DISTINCT {_host('url', d)} AS host, {_path('url', d)} AS path FROM known"


def selected_sql(d: str, cfg: Config) -> str:
    """Every index row the rules select, with its reason and its row problem (null when it can be
    read), from views ``candidates`` and ``known_pages``."""
    t = cfg.targeted
    faq_path = _matches("c.url_path", t.faq_path_pattern, d)
    template_join, template_hit = "", "FALSE"
    if t.path_templates:
        template_join = (f"LEFT JOIN (SELECT DISTINCT host, {_template('path', d)} AS template FROM known_pages "
                         f"WHERE {_dir('path', d)} <> '/') kt "
                         f"ON kt.host = c.host AND kt.template = {_template('c.url_path', d)}")
        template_hit = "kt.template IS NOT NULL"
    return f"""
SELECT c.warc_filename, c.rec_offset, c.rec_length, c.url, c.host, c.problem,
       CASE WHEN kp.path IS NOT NULL THEN 'known_url' WHEN {faq_path} THEN 'faq_path'
            ELSE 'path_template' END AS reason
FROM (SELECT url, lower(url_host_name) AS host, url_path, warc_filename,
             CAST(warc_record_offset AS BIGINT) AS rec_offset, CAST(warc_record_length AS BIGINT) AS rec_length,
             problem
      FROM candidates) c
LEFT JOIN known_pages kp ON kp.host = c.host AND kp.path = c.url_path
{template_join}
WHERE kp.path IS NOT NULL OR {faq_path} OR {template_hit}"""


# The planned captures (view ``targets``): the selected rows that can be read, one per record.
# The index may list a record more than once; each is read once, under the first reason that
# applies in REASONS' order, and the extra rows are counted (DUPLICATES_SQL).
TARGETS_SQL = """
SELECT warc_filename, rec_offset, rec_length, min(url) AS url, min(host) AS host,
       CASE min(CASE reason WHEN 'known_url' THEN 0 WHEN 'faq_path' THEN 1 ELSE 2 END)
            WHEN 0 THEN 'known_url' WHEN 1 THEN 'faq_path' ELSE 'path_template' END AS reason,
       count(*) AS index_rows
FROM selected WHERE problem IS NULL
GROUP BY warc_filename, rec_offset, rec_length"""

PROBLEMS_SQL = "SELECT problem, count(*) FROM selected WHERE problem IS NOT NULL GROUP BY problem"
DUPLICATES_SQL = "SELECT sum(index_rows - 1) FROM targets"

REASONS_SQL = """
SELECT reason, count(*) AS captures, sum(rec_length) AS bytes, count(DISTINCT host) AS hosts
FROM targets GROUP BY reason ORDER BY reason"""


def ranges_sql(max_gap: int) -> str:
    """Coalesced reads per WARC file (view ``targets``, one row per record): a capture starting
    more than ``max_gap`` bytes after the end of everything before it in its file starts a new
    read. Both windows order by (offset, length), a total order of a file's records: ordered by
    offset alone, records sharing an offset came in any order, each window could pick another
    one as the file's first, and one record landed in two overlapping reads."""
    return f"""
WITH ordered AS (
  SELECT warc_filename, rec_offset, rec_length,
         rec_offset - max(rec_offset + rec_length) OVER (PARTITION BY warc_filename ORDER BY rec_offset, rec_length
             ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS gap
  FROM targets),
grouped AS (
  SELECT warc_filename, rec_offset, rec_length,
         sum(CASE WHEN gap IS NULL OR gap > {int(max_gap)} THEN 1 ELSE 0 END) OVER (PARTITION BY warc_filename
             ORDER BY rec_offset, rec_length ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS grp
  FROM ordered)
SELECT warc_filename, min(rec_offset) AS range_offset, max(rec_offset + rec_length) - min(rec_offset) AS range_length,
       count(*) AS captures
FROM grouped GROUP BY warc_filename, grp ORDER BY warc_filename, range_offset"""


# --------------------------------------------------------------------------- engines and the plan

class PlanEngine(Protocol):
    """What planning needs from an engine (Spark SQL in the job, DuckDB for small runs)."""

    dialect: str

    def register_known(self) -> None:
        """Make the lake's FAQ URLs of crawls other than the planned one the view ``known``."""

    def scan(self, files: list[str], work_dir: str, hosts: frozenset[str], discovery: frozenset[str]) -> list[dict]:
        """Scan every index file into ``work_dir``; register the candidates as ``candidates``.
        A file that is no usable index file raises its IndexProblem (:func:`index_problem`)."""

    def view(self, name: str, sql: str) -> None: ...

    def rows(self, sql: str) -> list[tuple]: ...


@dataclass
class Plan:
    """What a targeted refresh of ``crawl`` reads: ranged tasks and whole discovery files."""

    crawl: str
    tasks: list[RangeTask]
    discovery: list[str]
    totals: dict[str, int]
    reasons: dict[str, dict[str, int]] = field(default_factory=dict)
    known_hosts: int = 0
    warc_files: int = 0
    max_gap: int = 0
    scan_dir: str = ""
    skipped: dict[str, int] = field(default_factory=dict)

    def units(self) -> list[Any]:
        """The extract job's inputs: discovery files (URIs) and range tasks, one per WARC file."""
        return list(self.discovery) + list(self.tasks)

    def summary(self) -> dict[str, Any]:
        """The plan's numbers, for the run manifest and ``webfaq plan``."""
        t = self.totals
        range_bytes = sum(task.bytes for task in self.tasks)
        read = range_bytes + t.get("discovery_bytes", 0)
        return {
            "crawl": self.crawl, "known_hosts": self.known_hosts,
            "captures": sum(task.captures for task in self.tasks), "reasons": self.reasons,
            "range_tasks": len(self.tasks), "ranged_reads": sum(len(task.ranges) for task in self.tasks),
            "range_bytes": range_bytes,
            "discovery_files": len(self.discovery), "discovery_captures": t.get("discovery_captures", 0),
            "discovery_bytes": t.get("discovery_bytes", 0),
            "warc_files_touched": len(self.tasks) + len(self.discovery), "crawl_warc_files": self.warc_files,
            "crawl_captures": t.get("index_captures", 0), "crawl_bytes": t.get("index_bytes", 0),
            "bytes_to_read": read, "share_of_crawl_bytes": read / t["index_bytes"] if t.get("index_bytes") else 0.0,
            "index_files": t.get("index_files", 0), "unlisted_captures": t.get("unlisted_captures", 0),
            "skipped_rows": dict(sorted(self.skipped.items())),
        }

    def skip_counters(self) -> dict[str, int]:
        """Index rows the rules selected but the plan does not read, by reason, as run counters."""
        skipped = dict(self.skipped, unlisted_file=self.totals.get("unlisted_captures", 0))
        return {f"targeted.skipped.{reason}": n for reason, n in sorted(skipped.items()) if n}

    def describe(self) -> str:
        """The plan as a person reads it (``webfaq plan``; the refresh prints it too)."""
        s = self.summary()
        mb = lambda n: f"{n / 1e6:,.1f} MB"  # noqa: E731
        lines = [f"targeted plan for {s['crawl']}: {s['known_hosts']:,} known FAQ hosts, "
                 f"{s['index_files']} index files ({s['crawl_captures']:,} captures, {mb(s['crawl_bytes'])})"]
        for reason in REASONS:
            r = self.reasons.get(reason, {})
            lines.append(f"  {reason:<14} {r.get('captures', 0):>10,} captures on {r.get('hosts', 0):,} hosts, "
                         f"{mb(r.get('bytes', 0))}")
        lines += [
            f"  ranged reads   {s['ranged_reads']:>10,} in {s['range_tasks']:,} WARC files, {mb(s['range_bytes'])} "
            f"(gaps up to {self.max_gap:,} bytes read through)",
            f"  discovery      {s['discovery_files']:>10,} whole WARC files of {s['crawl_warc_files']:,} "
            f"({s['discovery_captures']:,} captures, {mb(s['discovery_bytes'])})",
        ]
        if s["unlisted_captures"]:
            lines.append(f"  skipped        {s['unlisted_captures']:>10,} captures in files the crawl's warc.paths.gz "
                         "does not list")
        if self.skipped:
            lines.append(f"  skipped        {sum(self.skipped.values()):>10,} index rows: "
                         + ", ".join(f"{k} {v:,}" for k, v in sorted(self.skipped.items())))
        lines += [
            f"captures {s['captures'] + s['discovery_captures']:,}, WARC files touched {s['warc_files_touched']:,}, "
            f"bytes to read {mb(s['bytes_to_read'])} = {s['share_of_crawl_bytes']:.2%} of the crawl's capture bytes",
        ]
        return "\n".join(lines)


def make_plan(crawl: str, cfg: Config, engine: PlanEngine, work_root: str) -> Plan:
    """Plan the targeted read of ``crawl`` with ``engine``; the index scan goes to a work
    directory under ``work_root`` named by its identity, so a re-plan reuses finished scans."""
    from webfaq.lake import join

    d = engine.dialect
    engine.register_known()
    engine.view("known_pages", known_pages_sql(d))
    hosts = frozenset(h for (h,) in engine.rows("SELECT DISTINCT host FROM known_pages") if h)
    paths = warc_paths(crawl, cfg)
    discovery = discovery_sample(paths, cfg)
    files = index_files(crawl, cfg)
    scan_dir = join(work_root, scan_digest(crawl, files, hosts, discovery, cfg))
    totals: dict[str, int] = {}
    for stats in engine.scan(files, scan_dir, hosts, frozenset(discovery)):
        for key, value in stats.items():
            totals[key] = totals.get(key, 0) + int(value)
    engine.view("selected", selected_sql(d, cfg))
    engine.view("targets", TARGETS_SQL)
    skipped = {str(p): int(n) for p, n in engine.rows(PROBLEMS_SQL)}
    skipped["duplicate_row"] = int(engine.rows(DUPLICATES_SQL)[0][0] or 0)
    reasons = {r: {"captures": int(n), "bytes": int(b or 0), "hosts": int(h)}
               for r, n, b, h in engine.rows(REASONS_SQL)}
    reads = engine.rows(ranges_sql(cfg.targeted.max_gap))
    listed = set(paths)  # an index row names its file; only the crawl's own listed files are fetched
    totals["unlisted_captures"] = sum(int(n) for name, _, _, n in reads if name not in listed)
    return Plan(crawl=crawl, tasks=range_tasks([r for r in reads if r[0] in listed], cfg),
                discovery=[join_url(cfg.input.base_url, p) for p in discovery], totals=totals, reasons=reasons,
                known_hosts=len(hosts), warc_files=len(paths), max_gap=cfg.targeted.max_gap, scan_dir=scan_dir,
                skipped={k: v for k, v in skipped.items() if v})


def index_problem(scans: list[dict]) -> None:
    """Raise the first index file's problem (with how many more files have one): a plan from
    part of the index would silently miss the rest."""
    problems = [s["index_problem"] for s in scans if "index_problem" in s]
    if problems:
        more = f" (and {len(problems) - 1} more index files)" if len(problems) > 1 else ""
        raise IndexProblem(problems[0] + more)


def range_tasks(rows: Iterable[tuple], cfg: Config) -> list[RangeTask]:
    """One task per WARC file from ``(warc_filename, offset, length, captures)`` reads."""
    by_file: dict[str, list[tuple[int, int, int]]] = {}
    for name, offset, length, captures in rows:
        by_file.setdefault(name, []).append((int(offset), int(length), int(captures)))
    return [RangeTask(uri=join_url(cfg.input.base_url, name),
                      ranges=tuple((o, n) for o, n, _ in sorted(reads)),
                      captures=sum(c for _, _, c in reads), range_captures=tuple(c for _, _, c in sorted(reads)))
            for name, reads in sorted(by_file.items())]


# --------------------------------------------------------------------------- DuckDB (no JVM)

class DuckDBEngine:
    """Planning in this process with DuckDB: for small runs and ``webfaq plan`` without Spark."""

    dialect = "duckdb"

    def __init__(self, cfg: Config, lake_path: str, crawl: str):
        try:
            import duckdb
        except ImportError:  # pragma: no cover - duckdb ships with the test extra
            raise SystemExit("--targeted-engine duckdb needs the duckdb package (pip install duckdb)") from None
        self.cfg, self.lake_path, self.crawl = cfg, lake_path, crawl
        self.con = duckdb.connect()
        self._tables: dict[str, Any] = {}  # registered Arrow tables must outlive the views

    def register_known(self) -> None:
        self._register("known", known_urls_arrow(self.lake_path, self.crawl, self.cfg))

    def scan(self, files: list[str], work_dir: str, hosts: frozenset[str], discovery: frozenset[str]) -> list[dict]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        from webfaq.lake import arrow_fs, join

        cfg_dict = self.cfg.to_dict()
        stats = [scan_to_work(cfg_dict, work_dir, hosts, discovery, uri) for uri in files]
        index_problem(stats)
        tables = []
        for uri in files:
            filesystem, path = arrow_fs(join(work_dir, scan_key(uri)))
            tables.append(pq.read_table(path, filesystem=filesystem).replace_schema_metadata(None))
        self._register("candidates", pa.concat_tables(tables) if tables else candidate_schema().empty_table())
        return stats

    def _register(self, name: str, table) -> None:
        self._tables[name] = table
        self.con.register(name, table)

    def view(self, name: str, sql: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {sql}")

    def rows(self, sql: str) -> list[tuple]:
        return self.con.execute(sql).fetchall()


def known_urls_arrow(lake_path: str, crawl: str, cfg: Config):
    """The URLs of the lake's FAQ table in crawls other than ``crawl`` (an Arrow table, column
    ``url``); empty when the lake has no FAQ table yet."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    from webfaq.lake import is_delta, join, lake_fs

    table = join(lake_path, "faq")
    fs = lake_fs(lake_path, cfg.s3)
    empty = pa.table({"url": pa.array([], pa.string())})
    if not fs.exists(table):
        return empty
    if is_delta(fs, table):
        from webfaq.lake.table import delta_table

        dataset = delta_table(table, fs.s3).to_pyarrow_dataset()
    else:
        keys = pa.schema([("crawl", pa.string()), ("language", pa.string())])
        filesystem, where = fs.arrow(table)
        dataset = ds.dataset(where, filesystem=filesystem, format="parquet",
                             partitioning=ds.partitioning(keys, flavor="hive"))
    if isinstance(dataset, ds.FileSystemDataset) and not dataset.files:
        return empty
    return dataset.to_table(columns=["url"], filter=ds.field("crawl") != crawl)
