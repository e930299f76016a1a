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
import urllib.parse
from typing import Callable

from webfaq.errors import UsageError
from webfaq.lake.storage import redact

INPUT_SCHEMES = ("s3", "http", "https", "file")
WARC_SUFFIXES = (".warc", ".warc.gz", ".arc.gz")


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


def check_input(path: str) -> None:
    """One input as typed: a supported URL without credentials in it, or a local path or glob
    that exists. Listings and s3:// globs are expanded (and their errors named) when resolved."""
    if "://" in path and not path.startswith("file:"):
        parts = urllib.parse.urlsplit(path)
        if parts.scheme not in INPUT_SCHEMES:
            raise UsageError(f"input {redact(path)}: {parts.scheme}:// is not supported "
                             "(inputs are local paths, s3:// or http(s):// URLs)")
        if parts.username is not None or parts.password is not None:
            raise UsageError(f"input {redact(path)}: user:password in a URL is not supported "
                             "(use a signed URL, or --s3-profile for s3://)")
        return
    local = local_path(path)
    if any(ch in local for ch in "*?["):
        if not glob.glob(local):
            raise UsageError(f"input {path}: no file matches this pattern")
    elif not os.path.exists(local):
        raise UsageError(f"input {path}: no such file or directory")
    elif not _can(local, os.R_OK):
        raise UsageError(f"input {path}: not readable (permission denied)")
    elif os.path.isdir(local) and not any(n.endswith(WARC_SUFFIXES) for n in os.listdir(local)):
        raise UsageError(f"input {path}: a directory with no {', '.join('*' + s for s in WARC_SUFFIXES)} files")
