"""The FAQ record: its fields, its id, and the website ("origin") it belongs to.

One definition serves every writer (JSON lines from ``extract-file``, Parquet/Delta from Spark)
so the lake and the debugging output can never drift apart.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from urllib.parse import urlsplit

from webfaq.extract.text_clean import lid_text

# (name, Spark SQL type). crawl and language are the lake's partition columns.
FAQ_FIELDS: list[tuple[str, str]] = [
    ("id", "string"),
    ("crawl", "string"),
    ("url", "string"),
    ("origin", "string"),
    ("language", "string"),
    ("language_confidence", "double"),
    ("question", "string"),
    ("answer", "string"),
    ("syntax", "string"),
    ("warc_file", "string"),
    ("fetch_time", "timestamp"),
]
FAQ_COLUMNS = [name for name, _ in FAQ_FIELDS]
PARTITION_COLUMNS = ["crawl", "language"]


def arrow_schema(fields: list[tuple[str, str]] = FAQ_FIELDS):
    """The table's pyarrow schema (Delta commits need it; Spark writes timestamps as micros)."""
    import pyarrow as pa

    types = {"string": pa.string(), "double": pa.float64(), "long": pa.int64(), "int": pa.int32(),
             "timestamp": pa.timestamp("us", tz="UTC"), "boolean": pa.bool_()}
    return pa.schema([pa.field(name, types[tp]) for name, tp in fields])


def record_id(question: str, answer: str) -> str:
    """md5 of ``question + " " + answer`` with newlines as spaces, as the method's id."""
    return hashlib.md5(lid_text(question, answer).encode("utf-8")).hexdigest()


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]``: the paper's definition of a website (keeps a non-default port),
    with the host in one spelling (:func:`canonical_host`)."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.hostname:
        return None
    try:
        port = parts.port
    except ValueError:
        return None
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    host = canonical_host(parts.hostname)
    return f"{parts.scheme.lower()}://{host}" + (f":{port}" if port and port != default else "")


def canonical_host(host: str) -> str:
    """One spelling per host, so one website is one origin: a host is the website it names for
    alignment (same website), near-duplicates (within a website) and the benchmark's
    website-disjoint split, and one written two ways would be two websites.

    * An internationalised name becomes its ASCII (punycode) form, as browsers map it (UTS #46,
      non-transitional: ``straße.de`` is ``xn--strae-oqa.de``, not ``strasse.de``). Common Crawl's
      URLs and its index already carry that form, which the targeted refresh matches against.
    * A trailing dot (the fully qualified form, ``example.com.``) is dropped.
    * An IPv6 address keeps its brackets, so the port stays readable (``[::1]:8080``).
    A name the IDNA rules refuse is kept as it is (lowercased, as ``urlsplit`` gives it)."""
    if ":" in host:
        return f"[{host}]"
    host = host[:-1] if host.endswith(".") and len(host) > 1 else host
    if host.isascii():
        return host
    import idna

    try:
        return idna.encode(host, uts46=True, transitional=False).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        return host


def host_matches(url: str) -> bool:
    """Filter F6: the raw host part must start with the parsed hostname (rejects user@host,
    malformed and mixed-case authorities the same way the method's check does)."""
    parts = urlsplit(url)
    return bool(parts.hostname) and parts.netloc.startswith(parts.hostname)


def parse_warc_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)
    except ValueError:
        return None
