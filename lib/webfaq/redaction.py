"""Keeping secrets inside the process: credentials in URLs never reach a manifest, a report, a
log line or an error message.

Secrets arrive in two shapes: user-info in a URL (``https://user:pass@host/``, ``s3a://KEY:SECRET@b/``)
and signed query strings (S3 presigned ``X-Amz-Credential``/``X-Amz-Signature``, GCS
``X-Goog-Signature``, Azure SAS ``sig=``, ``token=``, ``password=``...). Everything that leaves
the process goes through one of three doors, and each door applies :func:`redact_text`:

* manifests are redacted as a whole, recursively (:func:`redact_tree`), right before they are
  written and again when they are read (so an older manifest is clean in a report too);
* error strings are redacted where they are formed (``JobFailed``, ``describe_error``);
* a job's console output goes through :func:`redacted_output`.

Redaction is by shape, not by knowing which value is secret: a URL loses its user-info and its
whole query string (what :func:`redact` always did for input URIs), and a ``name=value`` whose
name looks like a credential loses its value anywhere else (a local path with ``?sig=``, a Java
exception quoting a request).
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
import urllib.parse
from typing import Any, Iterator, TextIO

MASK = "REDACTED"

# a URL in free text: scheme://, then up to whitespace, a quote or an angle bracket
_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s\"'<>`]+")
# name=value pairs whose name says credential, outside URLs (or in text that is not a URL)
_SECRET_PARAM = re.compile(
    r"(?i)(?<![A-Za-z0-9_.-])("
    r"x-(?:amz|goog)-[a-z0-9-]+|sig|pwd|"
    r"[a-z0-9_-]*(?:signature|credential|token|secret|passw(?:or)?d|api[-_]?key|access[-_]?key(?:[-_]?id)?)[a-z0-9_-]*"
    r")=([^&\s,;\"'<>`]+)")


def redact(uri: str) -> str:
    """A URI without its query string (signed URLs carry credentials there) and without its
    user:password@ part; a local path as it is."""
    parts = urllib.parse.urlsplit(uri)
    if not parts.scheme or len(parts.scheme) == 1:  # local path (or a Windows drive letter)
        return uri
    try:
        netloc = parts.hostname or ""
        if parts.port:
            netloc += f":{parts.port}"
    except ValueError:  # a port that is no number: keep only what stands after the user-info
        rest = uri.split("://", 1)[-1]
        if "@" not in parts.netloc and "@" in rest:
            # user:password whose password holds a "/" (AWS secret keys do): a URL parser ends the
            # authority there and takes the secret for host and port; the host follows the "@"
            return redact(f"{parts.scheme}://{rest.split('@', 1)[1]}")
        netloc = parts.netloc.rsplit("@", 1)[-1]
    if not netloc and "://" in uri:  # s3:///key: urlunsplit would drop the empty authority with its //
        return f"{parts.scheme}://{parts.path}"
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def redact_text(text: str) -> str:
    """``text`` with every URL in it redacted (:func:`redact`) and every credential-like
    ``name=value`` masked. Idempotent, so text may pass through several doors."""
    if "=" not in text and "@" not in text and "?" not in text:
        return text  # the common case costs three scans
    text = _URL.sub(lambda m: redact(m.group(0)), text)
    return _SECRET_PARAM.sub(lambda m: f"{m.group(1)}={MASK}", text)


def redact_tree(value: Any) -> Any:
    """A copy of a JSON-like value (dicts, lists, tuples, strings, scalars) with every string
    in it, keys included, passed through :func:`redact_text`."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {redact_tree(k): redact_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_tree(v) for v in value]
    return value


class RedactingStream(io.TextIOBase):
    """A text stream that redacts every write before passing it on. Writes are redacted one at
    a time: ``print`` hands over each formatted message in one piece, so a URL is never split."""

    def __init__(self, target: TextIO):
        super().__init__()
        self.target = target

    def write(self, text: str) -> int:
        self.target.write(redact_text(text))
        return len(text)

    def flush(self) -> None:
        self.target.flush()

    def isatty(self) -> bool:
        return self.target.isatty()

    def fileno(self) -> int:
        return self.target.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.target, "encoding", "utf-8")

    def __getattr__(self, name: str) -> Any:  # anything else a caller expects of a console stream
        return getattr(self.target, name)


@contextlib.contextmanager
def redacted_output() -> Iterator[None]:
    """Redact what this process prints to stdout and stderr while the block runs (a job's
    summary, its failure line, progress and warnings). Not for commands whose stdout is data
    (``extract-file`` prints records, whose URLs must stay as they are)."""
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = RedactingStream(saved[0]), RedactingStream(saved[1])
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
