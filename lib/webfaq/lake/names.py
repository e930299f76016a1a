"""The one rule for every value that becomes a path segment of the lake, and the one check that
a path the lake code mutates lies under the lake root.

Crawl ids, run ids, table names, language codes, pair names and model names all end up as
directory names (``crawl=<id>``, ``_runs/<run-id>.json``, ``<table>/``). Some of them come from
content: a WARC's ``warcinfo`` says ``isPartOf: ../../../faq``, a collection list names a crawl,
a model path is a user's file. Two things go wrong with such names: ``..`` and ``/`` walk out of
the place they were meant for, and characters Spark escapes in partition paths (``/ = % : ?
# ...``) make the directory Spark writes (``crawl=a%2Fb``) differ from the one the swap looks
for (``crawl=a/b``), so every row is silently lost. A strict whitelist removes both problems
at once, and :func:`confine` makes the lake functions refuse any path outside the root even if
a caller forgot to check a name.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from webfaq.errors import UsageError

MAX_NAME = 100
# letters, digits, '.', '_', '-'; starts with a letter or digit, so never '.', '..', a hidden
# file ('.x', '_x' are skipped by Spark and Hadoop listings) or something that reads as a flag
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


class BadName(UsageError):
    """A value that would become a path segment does not match :data:`NAME_RE`. Its message is
    one line meant for the user (the value is shown shortened and escaped)."""


class OutsideLake(ValueError):
    """A path the lake code was about to touch is not under the lake root."""


def valid_name(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= MAX_NAME and NAME_RE.fullmatch(value) is not None


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:45] + f"...' ({len(str(value))} characters)"


def check_name(kind: str, value: Any) -> str:
    """``value`` if it is a valid path segment, else :class:`BadName` naming ``kind`` (e.g.
    ``--crawl-id``) and the rule."""
    if not valid_name(value):
        raise BadName(f"bad {kind} {_shown(value)}: use letters, digits, '.', '_' and '-', starting with a "
                      f"letter or digit, at most {MAX_NAME} characters")
    return value


def name_problem(value: Any) -> str | None:
    """What is wrong with ``value`` as a path segment, or None (the config's hook: its own message
    names the key and where the value came from)."""
    if valid_name(value):
        return None
    return (f"letters, digits, '.', '_' and '-', starting with a letter or digit, at most {MAX_NAME} "
            "characters (it becomes a folder name in the lake)")


def check_names(kind: str, values: Iterable[Any]) -> list[str]:
    return [check_name(kind, v) for v in values]


def check_partition(kind: str, segment: str) -> str:
    """A partition directory name: ``<column>=<value>`` (both names) or a bare name (the BEIR
    folders are named by language)."""
    column, sep, value = segment.partition("=")
    if sep:
        check_name(f"{kind} partition column", column)
        check_name(f"{kind} partition value", value)
    else:
        check_name(f"{kind} partition", segment)
    return segment


def validate_config_names(cfg) -> None:
    """Every configured value that becomes a path segment, checked before any work starts."""
    for kind, value in (("--run-id", cfg.job.run_id), ("--crawl-id", cfg.job.crawl_id),
                        ("--crawl", cfg.input.crawl), ("--embed-table", cfg.embed.table),
                        ("--benchmark-table", cfg.benchmark.table)):
        if value is not None:
            check_name(kind, value)
    for kind, values in (("--dedup-crawls entry", cfg.dedup.crawls), ("--align-crawls entry", cfg.align.crawls),
                         ("--benchmark-crawls entry", cfg.benchmark.crawls),
                         ("--benchmark-languages entry", cfg.benchmark.languages)):
        check_names(kind, values or [])


def _split_uri(path: str) -> tuple[str, str]:
    """(scheme and authority, path part): ``s3://b/x`` -> (``s3://b``, ``/x``); ``file:/x`` ->
    (``file:``, ``/x``); a plain path -> ("", path)."""
    if "://" in path:
        scheme, rest = path.split("://", 1)
        authority, slash, tail = rest.partition("/")
        return f"{scheme}://{authority}", slash + tail
    if path.startswith("file:"):
        return "file:", path[len("file:"):]
    return "", path


def confine(root: str, path: str, allow_root: bool = False) -> str:
    """``path`` if it lies under the lake ``root`` (textually: the same scheme and authority,
    ``root`` + ``/`` as prefix, and no empty, ``.`` or ``..`` segment after it), else
    :class:`OutsideLake`. The root itself passes only with ``allow_root`` (reads, creating the
    lake): nothing ever deletes or renames the whole lake."""
    root, path = str(root), str(path)
    r_auth, r_path = _split_uri(root.rstrip("/") or "/")
    p_auth, p_path = _split_uri(path)
    r_path = r_path.rstrip("/")
    p_norm = p_path.rstrip("/") if p_path not in ("/", "") else p_path
    if "\x00" in path or p_auth != r_auth:
        raise OutsideLake(f"{path!r} is not under the lake {root!r}")
    if p_norm == r_path or (not r_path and p_norm == "/"):
        if allow_root:
            return path
        raise OutsideLake(f"refusing to touch the lake root itself: {path!r}")
    if not p_norm.startswith(r_path + "/"):
        raise OutsideLake(f"{path!r} is not under the lake {root!r}")
    if any(seg in ("", ".", "..") for seg in p_norm[len(r_path) + 1:].split("/")):
        raise OutsideLake(f"{path!r} has an empty, '.' or '..' segment")
    return path
