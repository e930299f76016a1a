"""Checks of what a command was pointed at, made before Spark starts (or anything is written).

A lake that is a file, a lake directory nobody may write, an input that does not exist or a URL
with a password in it fails in seconds with one line naming the path (redacted) and the reason,
instead of after the JVM started, in a 400-line trace, or with an empty directory left behind.
Local paths are checked here; remote lakes (s3://, gs://, hdfs://) are checked by the jobs
through the cluster's own file system, and remote inputs when they are listed.
"""

from __future__ import annotations

import glob
import os
import re
import urllib.parse
from typing import Callable

from webfaq.errors import UsageError
from webfaq.redaction import redact

REMOTE_SCHEMES = ("s3", "http", "https")
GLOB_CHARS = "*?["
# What a directory or a pattern takes, in any case (``UP.WARC.GZ`` too): the reader tells a gzipped
# WARC from a plain one by its first bytes, not by its name.
WARC_SUFFIXES = (".warc", ".warc.gz")
# Names the reader cannot read: refused when named, left out (and said so) when listed.
UNREADABLE = (
    ((".arc", ".arc.gz"), "an ARC file, not a WARC"),
    ((".warc.zst", ".warc.bz2", ".warc.xz", ".warc.lz4"), "a WARC compressed other than with gzip"),
)
READ = "only WARC files (.warc, .warc.gz) can be read"
# WARC files without HTML responses: readable, but nothing to extract; left out of listings.
NO_HTML = ((".wet", ".wet.gz", ".wat", ".wat.gz"), "a WET/WAT file (no HTML pages)")
_S3_BUCKET = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")  # lenient: catches typos (spaces, ports), not rules


def _can(path: str, mode: int) -> bool:
    """``os.access`` for the effective user (the one that will write), where the OS can tell."""
    return os.access(path, mode, effective_ids=os.access in os.supports_effective_ids)


def is_local(uri: str) -> bool:
    return "://" not in uri or uri.startswith("file:")


def local_path(uri: str) -> str:
    """The file system path of a local lake or input (``file:`` URIs included)."""
    if uri.startswith("file://"):
        return uri[len("file://"):]
    return uri[len("file:"):] if uri.startswith("file:") else uri


def check_lake_path(lake: str) -> None:
    """A lake path that names something: an empty one (``--lake ''``, or ``file:``) would make
    the current directory the lake, writing the lake's folders among whatever is there. A lake
    URI names a bucket or host and no credentials: ``s3://KEY:SECRET@b/lake`` was echoed by
    pyarrow's error, and a query (``?versionId=``) would be part of every key while the
    redacted name shown left it out."""
    if not lake.strip() or (lake.startswith("file:") and not local_path(lake).strip()):
        raise UsageError(f"lake {lake!r}: an empty path; give the lake's directory or URI (--lake PATH)")
    if "://" not in lake or lake.startswith("file:"):
        return
    typed_scheme, _, rest = lake.partition("://")
    problem = authority_problem(typed_scheme.lower(), rest.split("/", 1)[0])
    if problem is None and ("?" in rest or "#" in rest):
        problem = "a query or fragment is no part of a lake's path"
    segments = rest.split("/")[1:]
    while segments and segments[-1] == "":
        segments.pop()  # a trailing slash names the same prefix
    if problem is None and any(s in ("", ".", "..") for s in segments):
        problem = "an empty, '.' or '..' segment in its path (object stores take them literally, as other keys)"
    if problem:
        raise UsageError(f"lake {redact(lake)}: {problem}")


def _nearest_existing(path: str) -> str:
    path = os.path.abspath(path)
    while not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def check_writable_lake(lake: str) -> None:
    """A lake a job may write: an existing writable directory, or a path whose nearest existing
    parent is a writable directory (the job creates the rest)."""
    check_lake_path(lake)
    if not is_local(lake):
        return
    path = local_path(lake)
    if os.path.exists(path):
        if not os.path.isdir(path):
            raise UsageError(f"lake {lake}: is a file, not a directory")
        if not _can(path, os.W_OK | os.X_OK):
            raise UsageError(f"lake {lake}: not writable (permission denied)")
        return
    parent = _nearest_existing(path)
    if not os.path.isdir(parent):
        raise UsageError(f"lake {lake}: cannot be created, {parent} is a file")
    if not _can(parent, os.W_OK | os.X_OK):
        raise UsageError(f"lake {lake}: cannot be created, {parent} is not writable (permission denied)")


def check_existing_lake(lake: str, exists: Callable[[str], bool] | None = None) -> None:
    """A lake that commands reading it need: it exists and holds run manifests (``_runs/``).
    ``exists`` answers for remote lakes (a LakeFS's); local ones are checked directly."""
    from webfaq.lake import join

    check_lake_path(lake)
    if is_local(lake):
        path = local_path(lake)
        if not os.path.exists(path):
            raise UsageError(f"lake {lake}: no such directory")
        if not os.path.isdir(path):
            raise UsageError(f"lake {lake}: is a file, not a directory")
        if not os.path.isdir(os.path.join(path, "_runs")):
            raise UsageError(f"lake {lake}: not a lake (no _runs/ directory of run manifests)")
        return
    if exists is not None and not exists(join(lake, "_runs")):
        raise UsageError(f"lake {redact(lake)}: not a lake, or nothing there (no _runs/ of run manifests)")


def check_source_table(lake: str, tables: list[str], job: str, exists: Callable[[str], bool]) -> None:
    """The table a job reads is in the lake (any one of ``tables``, in order of preference)."""
    from webfaq.lake import join

    if not exists(lake):
        raise UsageError(f"lake {redact(lake)}: no such lake; {job} reads its {' or '.join(tables)} table "
                         "from an existing lake (written by 'webfaq extract')")
    if not any(exists(join(lake, t)) for t in tables):
        raise UsageError(f"lake {redact(lake)}: no {' or '.join(tables)} table for {job} to read; "
                         "run the stage that writes it first")


def is_remote(uri: str) -> bool:
    """An input read over the network (or meant to be): anything with ``://`` but ``file:``."""
    return "://" in uri and not uri.startswith("file:")


def has_glob(path: str) -> bool:
    return any(ch in path for ch in GLOB_CHARS)


def input_path(text: str) -> str:
    """The local path an input names, typed as a path or a ``file:`` URI (``file:/p``,
    ``file:///p``, ``file://localhost/p``). The rest of a ``file:`` URI is the path as typed (no
    percent-decoding: Hadoop reads a ``file:`` lake the same way). Raises UsageError for a
    ``file:`` URI that names another machine or no path."""
    if not text.startswith("file:"):
        return text
    rest = text[len("file:"):]
    if rest.startswith("//"):
        host, _, path = rest[2:].partition("/")
        if host not in ("", "localhost"):
            raise UsageError(f"input {text}: file://{host}/ names another machine; give file:///PATH or a path")
        rest = "/" + path
    if not rest:
        raise UsageError(f"input {text}: names no file")
    return rest


def canonical_path(path: str) -> str:
    """The one spelling of a local file: absolute (executors do not share the driver's working
    directory), ``.``/``..``/``//`` folded, and symbolic links resolved. Two links to one file
    are one file's data: resolved, they are one unit of work and one ``warc_file`` in the lake,
    so a run never extracts a file twice and a re-run through another link replaces the rows
    of the first instead of adding to them. (Hard links and copies stay distinct files.)"""
    return os.path.realpath(path)


def unreadable(name: str) -> str | None:
    """Why a file of this name cannot be read as a WARC (ARC, zstd, ...), or None."""
    lower = name.lower()
    return next((why for suffixes, why in UNREADABLE if lower.endswith(suffixes)), None)


def not_a_warc(name: str) -> str | None:
    """Why a listed file of this name is not taken as a WARC, or None for ``*.warc[.gz]``."""
    lower = name.lower()
    if lower.endswith(WARC_SUFFIXES):
        return None
    if lower.endswith(NO_HTML[0]):
        return NO_HTML[1]
    return unreadable(name) or "not named *.warc or *.warc.gz"


def url_problem(uri: str) -> str | None:
    """What makes a remote input URL unusable before anything is fetched, or None: a scheme
    the reader has no client for, user:password in it (never echoed), no host or no bucket."""
    typed_scheme, _, rest = uri.partition("://")
    scheme, authority = typed_scheme.lower(), rest.split("/", 1)[0]
    if scheme not in REMOTE_SCHEMES:
        return f"{typed_scheme}:// is not supported (inputs are local paths, s3:// or http(s):// URLs)"
    if (problem := authority_problem(scheme, authority)):
        return problem
    if scheme != "s3" and not urllib.parse.urlsplit(uri).hostname:
        return f"no host ({scheme}://HOST/PATH)"
    return None


S3_SCHEMES = ("s3", "s3a", "s3n")


def authority_problem(scheme: str, authority: str) -> str | None:
    """What is wrong with the part of a URI between ``scheme://`` and the path, for inputs and
    lakes alike, or None: user:password (never echoed), an S3 URI without a bucket or with a
    name no bucket can have."""
    if "@" in authority or (scheme in S3_SCHEMES and ":" in authority):  # no bucket name holds ":"
        return "user:password in a URL is not supported (use a signed URL, or --s3-profile for s3://)"
    if scheme in S3_SCHEMES and not authority:
        return f"no bucket ({scheme}://BUCKET/KEY)"
    if scheme in S3_SCHEMES and not _S3_BUCKET.fullmatch(authority):
        return f"{authority!r} is not an S3 bucket name"
    return None


def check_input(path: str, fmt: str = "warc") -> None:
    """One input as typed: a supported URL without credentials in it, or a local path or glob
    (``file:`` URIs too) that exists and can be read; with ``fmt`` warc, not a file the reader
    cannot read (an ARC). Listings and s3:// globs are expanded (and their errors named) when
    resolved. Raises UsageError."""
    if is_remote(path):
        problem = url_problem(path)
        if problem:
            raise UsageError(f"input {redact(path)}: {problem}")
        return
    local = input_path(path)
    if has_glob(local) and not os.path.lexists(local):
        if not glob.glob(local):
            raise UsageError(f"input {path}: no file matches this pattern")
    elif not os.path.exists(local):
        raise UsageError(f"input {path}: no such file or directory")
    elif not _can(local, os.R_OK):
        raise UsageError(f"input {path}: not readable (permission denied)")
    elif fmt == "warc" and not os.path.isdir(local) and (why := unreadable(os.path.basename(local))):
        raise UsageError(f"input {path}: {why}; {READ}")
