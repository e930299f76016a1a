"""Opening local, ``s3://`` and ``https://`` objects as streams, and reading small text objects.

Common Crawl's bucket answers ``SlowDown`` under load, networks reset, and object stores lose
nothing but time: so errors are classified as *transient* (retry with backoff) or *permanent*
(missing key, access denied: record the failure at once). Retrying lives in one place,
:func:`with_retries`, used both for opening and for whole-file processing.
"""

from __future__ import annotations

import fnmatch
import glob as _glob
import gzip
import io
import os
import queue
import random
import re
import threading
import time
import urllib.error
import urllib.parse
from functools import lru_cache
from typing import BinaryIO, Callable, TypeVar

from webfaq.config import RetryConfig, S3Config
from webfaq.redaction import redact

T = TypeVar("T")

_TRANSIENT_S3_CODES = {
    "SlowDown", "Throttling", "ThrottlingException", "RequestTimeout", "RequestTimeTooSkewed",
    "InternalError", "ServiceUnavailable", "503", "500", "502", "504",
}


class FetchError(Exception):
    """An object could not be fetched. ``transient`` says whether retrying may help; ``uri``
    (set where the object is known) makes the message name what could not be read (redacted)."""

    plain_message = True  # "<url>: network_error: URLError: ..." reads as it is

    def __init__(self, reason: str, detail: str = "", transient: bool = False):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.transient = transient
        self.uri = ""

    def __str__(self) -> str:
        text = super().__str__()
        return f"{redact(self.uri)}: {text}" if self.uri else text


@lru_cache(maxsize=8)
def _s3_client(endpoint_url: str | None, anonymous: bool, region: str, profile: str | None, timeout_s: float):
    from botocore import UNSIGNED
    from botocore.config import Config as BotoConfig

    cfg = BotoConfig(
        signature_version=UNSIGNED if anonymous and not profile else None,
        retries={"total_max_attempts": 1, "mode": "standard"},  # our own retry loop counts attempts
        connect_timeout=timeout_s,
        read_timeout=timeout_s,
    )
    return boto_session(profile).client("s3", endpoint_url=endpoint_url, region_name=region, config=cfg)


def boto_session(profile: str | None):
    """The boto3 session of ``--s3-profile`` (the default credential chain without one): one
    place for the inputs, the lease and the keys handed to pyarrow and deltalake, so all of
    them use the same credentials."""
    import boto3

    return boto3.session.Session(profile_name=profile) if profile else boto3.session.Session()


def s3_client(s3: S3Config, retry: RetryConfig):
    return _s3_client(s3.endpoint_url, s3.anonymous, s3.region, s3.profile, retry.timeout_s)


def split_s3(uri: str) -> tuple[str, str]:
    """(bucket, key) of ``s3://bucket/key``. Split by hand: a key may hold ``?`` and ``#``
    (a glob's ``?`` too), which a URL parser would take for a query or a fragment."""
    bucket, _, key = uri.split("://", 1)[-1].partition("/")
    return bucket, key.lstrip("/")


def _classify_boto(exc: Exception) -> FetchError:
    from botocore.exceptions import (BotoCoreError, ClientError, NoCredentialsError, PartialCredentialsError,
                                     ProfileNotFound)

    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        code = str(err.get("Code", ""))
        status = str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
        if code in ("NoSuchKey", "404", "NoSuchBucket", "NotFound"):
            return FetchError("not_found", code)
        if code in ("AccessDenied", "403", "AllAccessDisabled", "InvalidAccessKeyId"):
            return FetchError("access_denied", code)
        transient = code in _TRANSIENT_S3_CODES or status.startswith("5")
        return FetchError("s3_error", code or status, transient=transient)
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError, ProfileNotFound)):
        # nothing a retry changes: said at once (a retried listing took seconds, a WARC file
        # six attempts, and both read as a network failure)
        return FetchError("no_credentials", str(exc) if isinstance(exc, ProfileNotFound) else
                          f"{exc} (--s3-profile NAME, or the AWS_* variables; --s3-anonymous for public buckets)")
    if isinstance(exc, BotoCoreError):
        return FetchError("network_error", type(exc).__name__, transient=True)
    return FetchError("network_error", type(exc).__name__, transient=True)


def s3_error(exc: Exception, uri: str) -> FetchError:
    """botocore's exception for ``uri`` as a classified FetchError naming it: a missing bucket,
    a refusal or throttling reads as one line (``s3://b/lake/_lease/: not_found: NoSuchBucket``)
    wherever S3 is called, never as botocore's own exception and its traceback."""
    err = _classify_boto(exc)
    err.uri = uri
    return err


def _classify_http(exc: Exception) -> FetchError:
    import http.client

    if isinstance(exc, (http.client.InvalidURL, ValueError)):
        # never retried; the text is left out: urllib puts user:password parts of the URL in it
        return FetchError("bad_url", "malformed URL")
    if isinstance(exc, urllib.error.HTTPError):
        if exc.code == 404:
            return FetchError("not_found", "HTTP 404")
        if exc.code in (401, 403):
            return FetchError("access_denied", f"HTTP {exc.code}")
        return FetchError("http_error", f"HTTP {exc.code}", transient=exc.code in (408, 429) or exc.code >= 500)
    if isinstance(exc, urllib.error.URLError):  # the reason: refused, name resolution, timeout
        return FetchError("network_error", f"{type(exc).__name__}: {exc.reason}", transient=True)
    return FetchError("network_error", f"{type(exc).__name__}: {exc}", transient=True)


def _range(offset: int, end: int | None) -> str | None:
    """The HTTP Range value for bytes [offset, end), or None for the whole object. A range no
    object can hold (a negative offset, nothing in it) is a permanent ``bad_range`` FetchError,
    whatever the scheme: unchecked, a server ignores the header and sends the whole object, and a
    local seek fails with EINVAL."""
    if offset < 0 or (end is not None and end <= offset):
        raise FetchError("bad_range", f"bytes {offset} to {end}")
    if end is not None:
        return f"bytes={offset}-{end - 1}"
    return f"bytes={offset}-" if offset else None


def open_stream(uri: str, s3: S3Config, retry: RetryConfig, offset: int = 0, end: int | None = None) -> BinaryIO:
    """Open ``uri`` for streaming reads from byte ``offset`` (no whole-object buffering), up to
    byte ``end`` (exclusive) when given: a targeted read asks for one record's bytes only.
    Remote objects are opened with a Range request, so a broken read can resume where it
    stopped instead of starting a 1 GB file over. Raises FetchError."""
    scheme = urllib.parse.urlsplit(uri).scheme
    wanted = _range(offset, end)  # checked before anything is opened
    if scheme == "s3":
        bucket, key = split_s3(uri)
        extra = {"Range": wanted} if wanted else {}
        try:
            return s3_client(s3, retry).get_object(Bucket=bucket, Key=key, **extra)["Body"]
        except Exception as exc:  # noqa: BLE001 - classified, never swallowed
            raise _classify_boto(exc) from exc
    if scheme in ("http", "https"):
        from urllib.request import Request, urlopen  # lazy: http.client costs import time on every worker

        parts = urllib.parse.urlsplit(uri)
        if parts.username is not None or parts.password is not None:  # urllib would resolve "user:pw@host"
            raise FetchError("bad_url", "user:password in a URL is not supported")
        headers = {"Range": wanted} if wanted else {}
        try:
            response = urlopen(Request(uri, headers=headers), timeout=retry.timeout_s)  # noqa: S310 - URL is the input
            if offset and response.status == 200:  # the server ignored Range: skip to the offset
                _discard(response, offset)
            return response
        except Exception as exc:  # noqa: BLE001
            raise _classify_http(exc) from exc
    path = uri[len("file://"):] if uri.startswith("file://") else uri
    try:
        fh = open(path, "rb")
    except FileNotFoundError as exc:
        raise FetchError("not_found", path) from exc
    except PermissionError as exc:
        raise FetchError("access_denied", path) from exc
    except OSError as exc:
        raise FetchError("io_error", str(exc)) from exc
    if offset:
        fh.seek(offset)
    return fh


def _discard(stream: BinaryIO, n: int, chunk: int = 1 << 20) -> None:
    while n > 0:
        data = stream.read(min(chunk, n))
        if not data:
            raise FetchError("network_error", "stream ended before the requested offset", transient=True)
        n -= len(data)


class ResumableStream(io.RawIOBase):
    """A read-only stream over ``uri`` that survives connection resets and stalled reads.

    A failed read re-opens the object at the current offset (HTTP Range) with backoff, up to
    ``retry.max_attempts`` times in a row; only then does it raise a transient FetchError (the
    caller may retry the whole file). Every other error class of the underlying stream becomes
    a FetchError too, so a reset (an OSError) is never mistaken for a corrupt WARC. ``tell()``
    is the byte offset in the object, which FastWARC asks for.
    """

    def __init__(self, uri: str, s3: S3Config, retry: RetryConfig, offset: int = 0,
                 on_resume: Callable[[FetchError], None] | None = None, end: int | None = None):
        super().__init__()
        self.uri, self._s3, self._retry, self._on_resume = uri, s3, retry, on_resume
        self._pos, self._end = offset, end
        self._stream = open_stream(uri, s3, retry, offset, end)  # the caller retries a failed open

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def _left(self, n: int | None) -> int | None:
        """``n`` (None or negative: all) cut to what is left before ``end``: a server that ignored
        the bounded Range must not leak bytes past it."""
        if self._end is None:
            return n
        left = max(0, self._end - self._pos)
        return left if n is None or n < 0 else min(n, left)

    def _resuming(self, call: Callable[[], T]) -> T:
        """``call()`` on the current stream; a failure re-opens the object at ``_pos`` and calls
        again, up to ``retry.max_attempts`` times in a row."""
        failures = 0
        while True:
            try:
                return call()
            except Exception as exc:  # noqa: BLE001 - classified below
                failures += 1
                err = FetchError("read_error", type(exc).__name__, transient=True)
                if failures >= self._retry.max_attempts:
                    raise err from exc
                if self._on_resume:
                    self._on_resume(err)
                self._reopen(failures)

    def read(self, n: int = -1) -> bytes:
        n = self._left(n)
        if n == 0:
            return b""
        data = self._resuming(lambda: self._stream.read(n) if n is not None and n >= 0 else self._stream.read())
        self._pos += len(data)
        return data

    def _reopen(self, failures: int) -> None:
        try:
            self._stream.close()
        except Exception:  # noqa: BLE001 - the old connection is already broken
            pass
        time.sleep(random.uniform(0, min(self._retry.max_delay_s, self._retry.base_delay_s * 2 ** (failures - 1))))
        self._stream = with_retries(lambda: open_stream(self.uri, self._s3, self._retry, self._pos, self._end),
                                    self._retry)

    def readinto(self, buffer) -> int:
        """Straight into ``buffer`` where the stream can (a file, an HTTP response): a gzip
        reader asks for 512 KiB at a time, and a new bytes object of that size per call costs
        page faults."""
        n = self._left(len(buffer))
        if n == 0:
            return 0
        if not hasattr(self._stream, "readinto"):  # botocore's StreamingBody
            data = self.read(n)
            buffer[: len(data)] = data
            return len(data)
        view = memoryview(buffer).cast("B")[:n]
        got = self._resuming(lambda: self._stream.readinto(view)) or 0
        self._pos += got
        return got

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            super().close()


class ReadAhead(io.RawIOBase):
    """``stream`` read by a background thread up to ``ahead`` bytes in front of its consumer.

    A task reading Common Crawl over S3 or HTTPS otherwise alternates: the core waits while
    bytes arrive, then the network idles while the core parses. Here the thread keeps a bounded
    queue of chunks filled (socket reads release the GIL), so the parser finds its bytes waiting
    and a task's wall time is about max(network, CPU) instead of their sum (bench/extract.py
    --network measures both against a throttled loopback server). The thread starts only after
    the consumer has read ``start_after`` bytes: the reader's short checks after corruption and
    at the end of a file open streams too, and read a few kilobytes. An error of the underlying
    stream (a FetchError after its own resumes) is raised to the consumer where its bytes would
    have been. ``tell()`` is the consumer's offset in the object.
    """

    def __init__(self, stream: BinaryIO, ahead: int, chunk: int = 1 << 18, start_after: int = 1 << 18):
        super().__init__()
        self._stream, self._chunk, self._start_after = stream, chunk, start_after
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, ahead // chunk))
        self._buf, self._pos, self._eof = memoryview(b""), stream.tell(), False
        self._consumed = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def read(self, n: int = -1) -> bytes:
        """``n`` bytes (fewer only at the end), as the remote streams return them."""
        if n is None or n < 0:
            return b"".join(iter(lambda: self.read(self._chunk), b""))
        parts, want = [], n
        while want > 0:
            if not self._buf:
                self._buf = memoryview(self._next_chunk())
                if not self._buf:
                    break
            part = self._buf[:want]
            parts.append(part)
            self._buf, want = self._buf[len(part):], want - len(part)
        out = parts[0].tobytes() if len(parts) == 1 else b"".join(parts)
        self._pos += len(out)
        self._consumed += len(out)
        return out

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def _next_chunk(self) -> bytes:
        if self._eof:
            return b""
        if self._thread is None:
            if self._consumed < self._start_after:
                return self._stream.read(self._chunk)
            self._thread = threading.Thread(target=self._fill, name="webfaq-read-ahead", daemon=True)
            self._thread.start()
        item = self._queue.get()
        if isinstance(item, BaseException):
            self._eof = True
            raise item
        self._eof = not item
        return item

    def _fill(self) -> None:
        try:
            while not self._stop.is_set():
                data = self._stream.read(self._chunk)
                self._put(data)
                if not data:
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            self._put(exc)

    def _put(self, item) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def close(self) -> None:
        if self.closed:
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            self._stream.close()
        finally:
            super().close()


def with_retries(fn: Callable[[], T], retry: RetryConfig, on_retry: Callable[[FetchError], None] | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> T:
    """Call ``fn`` until it succeeds, a permanent FetchError occurs, or attempts run out.

    Backoff is exponential with full jitter (AWS's recommendation for throttled shared
    buckets), so many executors hitting SlowDown at once spread out instead of retrying in step.
    """
    attempt = 0
    while True:
        attempt += 1
        try:
            return fn()
        except FetchError as exc:
            if not exc.transient or attempt >= retry.max_attempts:
                raise
            if on_retry:
                on_retry(exc)
            sleep(random.uniform(0, min(retry.max_delay_s, retry.base_delay_s * 2 ** (attempt - 1))))


def read_bytes(uri: str, s3: S3Config, retry: RetryConfig) -> bytes:
    """Whole small object (listings, manifests), retried, gunzipped when it ends in .gz."""
    def fetch() -> bytes:
        stream = open_stream(uri, s3, retry)
        try:
            data = stream.read()
        except Exception as exc:  # noqa: BLE001
            raise FetchError("network_error", type(exc).__name__, transient=True) from exc
        finally:
            stream.close()
        return data

    try:
        data = with_retries(fetch, retry)
    except FetchError as exc:
        exc.uri = exc.uri or uri
        raise
    return gzip.decompress(data) if uri.endswith(".gz") else data


def read_range(uri: str, s3: S3Config, retry: RetryConfig, start: int, end: int,
               on_resume: Callable[[FetchError], None] | None = None) -> bytes:
    """Bytes [start, end) of an object in one bounded range request (resumed where a broken
    read stopped). Fewer bytes than asked (the object ends first) is a transient ``short_read``
    FetchError: an index entry or a footer is only useful whole. The caller retries, or (a WARC
    range, ``pipeline.read_warc``) counts the range as unreadable."""
    stream = ResumableStream(uri, s3, retry, start, on_resume, end)
    try:
        chunks, left = [], end - start
        while left > 0:
            chunk = stream.read(left)
            if not chunk:
                raise FetchError("short_read", f"range ended {left} bytes early", transient=True)
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        stream.close()


def object_size(uri: str, s3: S3Config, retry: RetryConfig) -> int:
    """Size in bytes of an object, retried: a Parquet reader needs it to find the footer of a
    remote file it reads by ranges."""
    scheme = urllib.parse.urlsplit(uri).scheme

    def head() -> int:
        if scheme == "s3":  # a 1-byte GET: allowed wherever reads are (HEAD is its own permission on some servers)
            bucket, key = split_s3(uri)
            try:
                response = s3_client(s3, retry).get_object(Bucket=bucket, Key=key, Range="bytes=0-0")
                response["Body"].close()
                return int(response["ContentRange"].rsplit("/", 1)[1])
            except Exception as exc:  # noqa: BLE001 - classified, never swallowed
                raise _classify_boto(exc) from exc
        if scheme in ("http", "https"):
            from urllib.request import Request, urlopen

            try:
                with urlopen(Request(uri, method="HEAD"), timeout=retry.timeout_s) as response:  # noqa: S310
                    return int(response.headers["Content-Length"])
            except Exception as exc:  # noqa: BLE001
                raise _classify_http(exc) from exc
        path = uri[len("file://"):] if uri.startswith("file://") else uri
        try:
            return os.path.getsize(path)
        except FileNotFoundError as exc:
            raise FetchError("not_found", path) from exc

    return with_retries(head, retry)


def list_s3(bucket: str, prefix: str, s3: S3Config, retry: RetryConfig,
            delimiter: str = "") -> tuple[list[str], list[str]]:
    """The keys under ``prefix`` (sorted) and, with a ``delimiter``, the sub-folder prefixes
    directly under it; retried, and a failure (a missing bucket, a refusal) is a classified
    FetchError, never botocore's own exception."""
    def listing() -> tuple[list[str], list[str]]:
        keys: list[str] = []
        folders: list[str] = []
        extra = {"Delimiter": delimiter} if delimiter else {}
        try:
            for page in s3_client(s3, retry).get_paginator("list_objects_v2").paginate(
                    Bucket=bucket, Prefix=prefix, **extra):
                keys += [obj["Key"] for obj in page.get("Contents", [])]
                folders += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        except Exception as exc:  # noqa: BLE001 - classified, never swallowed
            raise _classify_boto(exc) from exc
        return sorted(keys), sorted(folders)

    return with_retries(listing, retry)


def glob_prefix(pattern: str) -> str:
    """What a pattern's matches all start with: the part before its first ``*``, ``?`` or ``[``
    (an S3 listing's prefix)."""
    return re.split(r"[*?\[]", pattern, maxsplit=1)[0]


def list_matching(pattern: str, s3: S3Config, retry: RetryConfig) -> list[str]:
    """Expand a local or an ``s3://bucket/prefix*`` glob (sorted; local paths absolute, as
    executors do not share the driver's working directory). Anything else is itself. The run's
    inputs are listed by ``webfaq.lake.inputs``, which also says what it leaves out."""
    if pattern.startswith("s3://"):
        bucket, key_pattern = split_s3(pattern)
        if glob_prefix(key_pattern) == key_pattern:
            return [pattern]
        keys, _ = list_s3(bucket, glob_prefix(key_pattern), s3, retry)
        return [f"s3://{bucket}/{k}" for k in keys if fnmatch.fnmatchcase(k, key_pattern)]
    if "://" in pattern:
        return [pattern]
    matches = sorted(map(os.path.abspath, _glob.glob(pattern)))
    return matches if matches or glob_prefix(pattern) != pattern else [os.path.abspath(pattern)]


def text_lines(data: bytes) -> list[str]:
    return [line.strip() for line in io.StringIO(data.decode("utf-8")) if line.strip()]
