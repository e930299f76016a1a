"""Turning what the user typed into the list of WARC files a run processes.

Accepts local paths, globs and directories (``file:`` URIs are local paths), ``s3://`` keys,
globs and ``s3://bucket/prefix/`` folders, ``https://`` URLs, ``warc.paths[.gz]`` manifests
(relative entries resolved against ``input.base_url``), and ``--crawl CC-MAIN-YYYY-WW`` (that
crawl's published listing). ``--sample`` selects files by a seeded hash of their path, so the
same file is in or out of a sample whatever else the listing holds; ``--limit`` then takes the
first N.

Every local file is named one way (:func:`webfaq.preflight.canonical_path`) before the list is
de-duplicated: the name is the file's unit of work, its result file and its rows' ``warc_file``,
so ``a.warc.gz``, ``./x/../a.warc.gz`` and ``file:///abs/a.warc.gz`` are one file, extracted once.
What a folder or a pattern holds but is not taken (hidden files, ARC, WET, sub-folders) is told
in one note per input; a bad input or manifest is a UsageError naming it, before Spark starts.
"""

from __future__ import annotations

import fnmatch
import glob
import gzip
import hashlib
import os
import re
import zlib
from dataclasses import dataclass, field
from typing import Callable

from webfaq import preflight
from webfaq.config import Config
from webfaq.errors import UsageError
from webfaq.lake.storage import FetchError, glob_prefix, list_s3, read_bytes, split_s3
from webfaq.redaction import redact

# ASCII digits only (\d takes any script's), matched whole: "$" would take a trailing newline
CRAWL_RE = re.compile(r"CC-MAIN-[0-9]{4}-[0-9]{2}")


def is_crawl_id(value: object) -> bool:
    """Whether ``value`` is a crawl id, CC-MAIN-YYYY-WW, and nothing else."""
    return isinstance(value, str) and CRAWL_RE.fullmatch(value) is not None


NAMED = 5  # names quoted per reason in a note; the rest are counted
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def is_manifest(path: str) -> bool:
    return path.endswith((".paths", ".paths.gz"))


def crawl_listing_url(crawl: str, base_url: str) -> str:
    if not is_crawl_id(crawl):
        raise ValueError(f"--crawl expects CC-MAIN-YYYY-WW, got {crawl!r}")
    return join_url(base_url, f"crawl-data/{crawl}/warc.paths.gz")


def join_url(base_url: str, path: str) -> str:
    if "://" in path or path.startswith(("/", "file:")):
        return path
    return base_url.rstrip("/") + "/" + path.lstrip("/")


def in_sample(path: str, fraction: float, seed: int) -> bool:
    digest = hashlib.sha1(f"{seed}:{path}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


# --------------------------------------------------------------------------- what was left out

@dataclass
class Skipped:
    """Entries of one folder or pattern that were not taken, by reason (for its note)."""

    names: dict[str, list[str]] = field(default_factory=dict)

    def add(self, reason: str, name: str) -> None:
        self.names.setdefault(reason, []).append(name)

    def __bool__(self) -> bool:
        return bool(self.names)

    def describe(self) -> str:
        """``3 (hidden: .a.warc.gz, .b.warc.gz; an ARC file, not a WARC: x.arc.gz)``."""
        parts = []
        for reason, names in self.names.items():
            shown = ", ".join(names[:NAMED]) + (f" and {len(names) - NAMED} more" if len(names) > NAMED else "")
            parts.append(f"{reason}: {shown}")
        return f"{sum(map(len, self.names.values()))} ({'; '.join(parts)})"


def _take(name: str, is_file: bool, fmt: str, skipped: Skipped, hidden: bool = False) -> bool:
    """Whether a listed entry is a file to read; else it is added to ``skipped`` with why.
    Hidden names (``.x``, often a partial download) are left out unless ``hidden`` (a pattern
    that asked for them)."""
    if name.startswith(".") and not hidden:
        skipped.add("hidden", name)
    elif not is_file:
        skipped.add("not a file (a folder, or a broken link)", name)
    elif fmt == "warc" and (why := preflight.not_a_warc(name)):
        skipped.add(why, name)
    else:
        return True
    return False


def _listed(what: str, verb: str, taken: list[str], skipped: Skipped, fmt: str,
            note: Callable[[str], None]) -> list[str]:
    """``taken`` of the folder or pattern ``what``; nothing taken is a UsageError naming what
    was there instead, and anything left out is told in one note."""
    kind = "WARC files (*.warc, *.warc.gz, in any case)" if fmt == "warc" else "files"
    if not taken:
        raise UsageError(f"input {redact(what)}: {verb} no {kind}"
                         + (f"; skipped {skipped.describe()}" if skipped else ""))
    if skipped:
        note(f"input {redact(what)}: took {len(taken)} file{'s' * (len(taken) != 1)}, skipped {skipped.describe()}")
    return taken


# --------------------------------------------------------------------------- local inputs

def _local_folder(text: str, path: str, fmt: str, note: Callable[[str], None]) -> list[str]:
    """The files directly in a folder (not its sub-folders), sorted by name."""
    skipped, taken = Skipped(), []
    for name in sorted(os.listdir(path)):
        full = os.path.join(path, name)
        if _take(name, os.path.isfile(full), fmt, skipped):
            taken.append(preflight.canonical_path(full))
    return _listed(text, "a folder with", taken, skipped, fmt, note)


def _local_glob(text: str, pattern: str, fmt: str, note: Callable[[str], None]) -> list[str]:
    """The files a pattern matches; folders and files that are not WARCs are left out (told)."""
    skipped, taken = Skipped(), []
    for match in sorted(glob.glob(pattern)):
        if _take(os.path.basename(match), os.path.isfile(match), fmt, skipped, hidden=True):
            taken.append(preflight.canonical_path(match))
    return _listed(text, "matches", taken, skipped, fmt, note)


def _local(text: str, cfg: Config, note: Callable[[str], None]) -> list[str]:
    path = preflight.input_path(text)
    if os.path.isdir(path):
        return _local_folder(text, path, cfg.input.format, note)
    if preflight.has_glob(path) and not os.path.lexists(path):
        return _local_glob(text, path, cfg.input.format, note)
    if is_manifest(path):
        return read_manifest(preflight.canonical_path(path), cfg, shown=text)
    return [preflight.canonical_path(path)]


# --------------------------------------------------------------------------- s3:// inputs

def _s3_listing(uri: str, cfg: Config, prefix: str, delimiter: str = "") -> tuple[list[str], list[str]]:
    """``list_s3`` for the input ``uri``: a missing bucket or a refusal is a UsageError naming
    the input; a network failure (after retries) a FetchError naming it."""
    bucket, _ = split_s3(uri)
    try:
        return list_s3(bucket, prefix, cfg.s3, cfg.retry, delimiter)
    except FetchError as exc:
        if exc.transient:
            exc.uri = uri
            raise
        raise UsageError(f"input {redact(uri)}: cannot be listed: {exc}") from exc


def _s3(uri: str, cfg: Config, note: Callable[[str], None]) -> list[str]:
    """A key as it is; a pattern (``*``, ``?``, ``[``; ``*`` also matches ``/``) or a folder
    (``s3://bucket/``, ``s3://bucket/prefix/``: the keys directly in it) listed."""
    bucket, key = split_s3(uri)
    fmt, skipped, taken = cfg.input.format, Skipped(), []
    if preflight.has_glob(key):
        keys, _ = _s3_listing(uri, cfg, glob_prefix(key))
        for k in keys:
            if fnmatch.fnmatchcase(k, key) and _take(k.rsplit("/", 1)[-1], not k.endswith("/"), fmt, skipped, True):
                taken.append(f"s3://{bucket}/{k}")
        if not taken and not skipped:
            raise UsageError(f"input {redact(uri)}: no key matches this pattern")
        verb = "matches"
    elif not key or key.endswith("/"):
        keys, folders = _s3_listing(uri, cfg, key, "/")
        for k in keys:
            if k != key and _take(k[len(key):], True, fmt, skipped):
                taken.append(f"s3://{bucket}/{k}")
        for folder in folders:
            skipped.add("sub-folders", folder[len(key):])
        verb = "a folder with"
    else:
        return [uri]
    return _listed(uri, verb, taken, skipped, fmt, note)


# --------------------------------------------------------------------------- manifests

def read_manifest(uri: str, cfg: Config, shown: str | None = None) -> list[str]:
    """The files a ``warc.paths[.gz]`` listing names (``#`` lines and blank lines skipped;
    relative entries against ``input.base_url``; local ones in their canonical spelling).
    A listing that is no gzip or no UTF-8 text, or an entry that cannot be a file to read, is a
    UsageError naming the listing (as ``shown``, else ``uri``) and, for an entry, its line."""
    shown = redact(shown or uri)
    try:
        data = read_bytes(uri, cfg.s3, cfg.retry)
    except gzip.BadGzipFile:
        raise UsageError(f"manifest {shown}: not gzip data, though its name ends in .gz") from None
    except (EOFError, zlib.error) as exc:
        raise UsageError(f"manifest {shown}: broken gzip data ({type(exc).__name__}: {exc})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"manifest {shown}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None
    entries = []
    for number, line in enumerate(text.split("\n"), 1):
        line = line.strip().lstrip("\ufeff").strip()  # a byte order mark is no part of a path
        if line and not line.startswith("#"):
            try:
                entries.append(manifest_entry(line, cfg.input.base_url))
            except UsageError as exc:
                raise UsageError(f"manifest {shown} line {number}: {exc}") from None
    if not entries:
        raise UsageError(f"manifest {shown}: lists no files (only blank or # lines)")
    return entries


def manifest_entry(line: str, base_url: str) -> str:
    """One listed file as the run reads it. A listing names files: a pattern or a folder in
    it is refused (the run's files would depend on when it ran), as are schemes the reader has
    no client for, credentials and control characters. Raises UsageError."""
    if _CONTROL.search(line):
        raise UsageError(f"{line!r}: holds a control character")
    uri = join_url(base_url, line)
    if preflight.is_remote(uri):
        problem = preflight.url_problem(uri)
        if problem:
            raise UsageError(f"{redact(uri)}: {problem}")
        if uri.startswith("s3://"):
            _, key = split_s3(uri)
            if preflight.has_glob(key) or not key or key.endswith("/"):
                raise UsageError(f"{uri}: a pattern or a folder; a listing names files (give those on the command line)")
        return uri
    path = preflight.input_path(uri)
    if preflight.has_glob(path) and not os.path.lexists(path):
        raise UsageError(f"{uri}: a pattern; a listing names files (give patterns on the command line)")
    if os.path.isdir(path):
        raise UsageError(f"{uri}: a directory; a listing names files (give directories on the command line)")
    if (why := preflight.unreadable(os.path.basename(path))):
        raise UsageError(f"{uri}: {why}; {preflight.READ}")
    return preflight.canonical_path(path)


# --------------------------------------------------------------------------- the run's list

def expand_input(text: str, cfg: Config, note: Callable[[str], None]) -> list[str]:
    """The files one input as typed stands for. The input itself is checked by the caller
    (:func:`webfaq.preflight.check_input`, before Spark starts); a local file that is not there
    stays in the list, to fail (and be counted) as not found."""
    if not preflight.is_remote(text):
        return _local(text, cfg, note)
    if is_manifest(text):
        return read_manifest(text, cfg)
    return _s3(text, cfg, note) if text.startswith("s3://") else [text]


def listed_inputs(paths: list[str], cfg: Config, notes: list[str] | None = None) -> list[str]:
    """Ordered, de-duplicated WARC URIs the inputs (and ``--crawl``) stand for. What a folder or
    pattern left out, and inputs that named a file already listed, are appended to ``notes``
    (one line each)."""
    note = notes.append if notes is not None else (lambda _line: None)
    uris: list[str] = []
    if cfg.input.crawl:
        uris += read_manifest(crawl_listing_url(cfg.input.crawl, cfg.input.base_url), cfg)
    for path in paths:
        uris += expand_input(path, cfg, note)
    unique = list(dict.fromkeys(uris))
    if len(unique) < len(uris):
        note(f"{len(uris) - len(unique)} inputs named a file already listed (the same file, spelled "
             "differently or named twice): each file is read once")
    return unique


def selected_inputs(uris: list[str], cfg: Config) -> list[str]:
    """``uris`` after ``--sample`` and then ``--limit``."""
    if cfg.input.sample is not None:
        uris = [u for u in uris if in_sample(u, cfg.input.sample, cfg.input.seed)]
    if cfg.input.limit is not None:
        uris = uris[: cfg.input.limit]
    return uris


def resolve_inputs(paths: list[str], cfg: Config, notes: list[str] | None = None) -> list[str]:
    """The WARC URIs of this run: :func:`listed_inputs`, then :func:`selected_inputs`."""
    return selected_inputs(listed_inputs(paths, cfg, notes), cfg)
