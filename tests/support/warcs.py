"""Real WARC files whose ``warcinfo`` says what a test needs: a copy of a sample WARC with a
warcinfo record put in front of it. The reader takes the crawl from the first warcinfo record's
``isPartOf``, so the copy's crawl is ``is_part_of`` and its pages are the sample's (its
``warc_file`` differs: the rows are the same QA pairs from another file)."""

from __future__ import annotations

import gzip
import uuid
from pathlib import Path


def warcinfo_record(is_part_of: str) -> bytes:
    """One gzip member holding a WARC/1.0 warcinfo record with ``isPartOf: <is_part_of>``."""
    block = f"software: webfaq-tests\r\nisPartOf: {is_part_of}\r\n".encode("utf-8")
    head = (f"WARC/1.0\r\nWARC-Type: warcinfo\r\nWARC-Record-ID: <urn:uuid:{uuid.uuid4()}>\r\n"
            f"WARC-Date: 2024-05-18T00:00:00Z\r\nContent-Type: application/warc-fields\r\n"
            f"Content-Length: {len(block)}\r\n\r\n").encode("ascii")
    return gzip.compress(head + block + b"\r\n\r\n")


def with_is_part_of(src: Path, dst: Path, is_part_of: str) -> Path:
    """``dst``: the gzipped WARC ``src`` with a warcinfo record naming crawl ``is_part_of`` first."""
    dst.write_bytes(warcinfo_record(is_part_of) + Path(src).read_bytes())
    return dst
