"""Read-ahead of remote streams: the bytes and offsets the parser sees are those of the object,
errors reach it where they happened, the buffer stays bounded, and WARCs read over S3 through
the fault proxy (resets, stalls in the read-ahead thread) give the records of the local file."""

from __future__ import annotations

import io
import threading
import time

import pytest

from conftest import SAMPLE
from faultproxy import FaultProxy
from webfaq.config import Config
from webfaq.counters import reconcile
from webfaq.extract.pipeline import process_file
from webfaq.lake.storage import FetchError, ReadAhead

DATA = bytes(range(256)) * 4096  # 1 MiB


class Counting(io.RawIOBase):
    """A stream over ``data`` that records how far it has been read and may fail at ``fail_at``."""

    def __init__(self, data: bytes, fail_at: int | None = None):
        super().__init__()
        self.data, self.pos, self.fail_at = data, 0, fail_at

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def read(self, n: int = -1) -> bytes:
        if self.fail_at is not None and self.pos >= self.fail_at:
            raise FetchError("read_error", "injected", transient=True)
        out = self.data[self.pos:self.pos + n]
        self.pos += len(out)
        return out


@pytest.mark.parametrize("size", [1, 1000, 65536, 300_000])
def test_bytes_and_offsets_are_the_streams(size):
    stream = ReadAhead(Counting(DATA), ahead=1 << 18, chunk=1 << 16, start_after=1 << 16)
    got, offsets = [], []
    while chunk := stream.read(size):
        got.append(chunk)
        offsets.append(stream.tell())
    stream.close()
    assert b"".join(got) == DATA and offsets[-1] == len(DATA)
    assert offsets == [min(len(DATA), size * (i + 1)) for i in range(len(offsets))]


def test_the_thread_stays_within_its_buffer():
    source = Counting(DATA * 8)
    stream = ReadAhead(source, ahead=1 << 18, chunk=1 << 16, start_after=1 << 16)
    stream.read(1 << 17)
    time.sleep(0.3)  # the thread fills its queue and waits
    assert source.pos <= (1 << 17) + (1 << 18) + 2 * (1 << 16)
    stream.close()
    assert not any(t.name == "webfaq-read-ahead" and t.is_alive() for t in threading.enumerate())


def test_an_error_reaches_the_reader_after_the_bytes_before_it():
    stream = ReadAhead(Counting(DATA, fail_at=600_000), ahead=1 << 18, chunk=1 << 16, start_after=1 << 16)
    got = bytearray()
    with pytest.raises(FetchError):
        while chunk := stream.read(10_000):
            got += chunk
    assert bytes(got) == DATA[:len(got)] and len(got) >= 589_824  # every whole chunk before the failure
    stream.close()


def test_short_reads_never_start_the_thread():
    stream = ReadAhead(Counting(DATA), ahead=1 << 20, chunk=1 << 16, start_after=1 << 18)
    assert stream.read(32_768) == DATA[:32_768]
    assert stream._thread is None
    stream.close()


@pytest.mark.parametrize("fault", ["reset", "stall"])
def test_warcs_read_ahead_over_s3_survive_resets_and_stalls(s3_bucket, s3_endpoint, fault):
    """real-pages-slice (1.2 MB): the fault hits half way, after the read-ahead thread took over."""
    client, bucket = s3_bucket
    key = "crawl-data/X/segments/1/warc/real-pages-slice.warc.gz"
    client.upload_file(str(SAMPLE / "real-pages-slice.warc.gz"), bucket, key)
    proxy = FaultProxy(s3_endpoint, stall_s=2.5)
    try:
        cfg = Config()
        cfg.s3.endpoint_url = proxy.url
        cfg.retry.base_delay_s, cfg.retry.max_delay_s, cfg.retry.timeout_s = 0.01, 0.05, 1.0
        proxy.schedule(f"/{bucket}/{key}", fault)
        result = process_file(f"s3://{bucket}/{key}", cfg)
    finally:
        proxy.close()
    local = process_file(str(SAMPLE / "real-pages-slice.warc.gz"), Config())
    assert proxy.injected == [(f"/{bucket}/{key}", fault)]
    assert result.status == "ok" and result.counters["files.resumed_reads.read_error"] >= 1
    assert sorted(r["id"] for r in result.records) == sorted(r["id"] for r in local.records)
    assert result.counters["warc.records"] == local.counters["warc.records"] and reconcile(result.counters) == []
