"""Faults survived: S3 throttling, resets and stalls through a fault-injecting loopback proxy
in front of moto's S3 server; every outcome is either the undisturbed result or a counted
failure with its reason."""

from __future__ import annotations

import pytest

from conftest import SAMPLE
from faultproxy import FaultProxy
from webfaq.config import Config
from webfaq.counters import reconcile
from webfaq.extract.pipeline import process_file

KEY = "crawl-data/X/segments/1/warc/sample-0001.warc.gz"


@pytest.fixture()
def proxied(s3_bucket, s3_endpoint):
    client, bucket = s3_bucket
    client.upload_file(str(SAMPLE / "sample-0001.warc.gz"), bucket, KEY)
    proxy = FaultProxy(s3_endpoint, stall_s=2.5)
    cfg = Config()
    cfg.s3.endpoint_url = proxy.url
    cfg.retry.base_delay_s, cfg.retry.max_delay_s, cfg.retry.timeout_s = 0.01, 0.05, 1.0
    yield proxy, cfg, f"s3://{bucket}/{KEY}", f"/{bucket}/{KEY}"
    proxy.close()


@pytest.fixture(scope="module")
def undisturbed():
    return process_file(str(SAMPLE / "sample-0001.warc.gz"), Config())


def same_records(a, b):
    key = lambda r: (r["id"], r["url"])  # noqa: E731
    return sorted(map(key, a.records)) == sorted(map(key, b.records))


def test_slowdown_is_retried_with_backoff_then_succeeds(proxied, undisturbed):
    proxy, cfg, uri, path = proxied
    proxy.schedule(path, "slowdown", "slowdown")
    result = process_file(uri, cfg)
    assert result.status == "ok" and result.attempts == 3 and same_records(result, undisturbed)
    assert result.counters["files.retries.s3_error"] == 2 and reconcile(result.counters) == []


@pytest.mark.parametrize("fault", ["reset", "stall"])
def test_broken_reads_resume_where_they_stopped(proxied, undisturbed, fault):
    proxy, cfg, uri, path = proxied
    proxy.schedule(path, fault)
    result = process_file(uri, cfg)
    assert proxy.injected == [(path, fault)]
    assert result.status == "ok" and result.attempts == 1 and same_records(result, undisturbed)
    assert result.counters["files.resumed_reads.read_error"] >= 1
    assert result.counters["warc.records"] == undisturbed.counters["warc.records"]


def test_past_the_retry_budget_the_file_is_failed_with_its_reason(proxied):
    proxy, cfg, uri, path = proxied
    cfg.retry.max_attempts = 3
    proxy.schedule(path, *["slowdown"] * 5)
    result = process_file(uri, cfg)
    assert result.status == "failed" and result.reason == "s3_error" and result.records == []
    assert result.counters["files.failed.s3_error"] == 1 and result.attempts == 3


def test_wrong_format_and_empty_files_are_counted_failures(tmp_path):
    for name, data in (("empty.warc.gz", b""), ("page.warc", b"<html><body>hi</body></html>"),
                       ("zip.warc.gz", b"PK\x03\x04" + bytes(100))):
        path = tmp_path / name
        path.write_bytes(data)
        result = process_file(str(path), Config())
        assert result.status == "failed" and result.reason == "not_a_warc", name
        assert reconcile(result.counters) == []




def test_bad_regions_are_resynced_the_same_over_s3(s3_bucket, s3_endpoint, tmp_path):
    """Each resync and end-of-file check re-opens the object at an absolute offset (a ranged
    GET; at the very end S3 refuses the range): the result equals the local file's."""
    from hostile_corpus import DAMAGE_KINDS, damage, record_bytes, spread_faults

    client, bucket = s3_bucket
    records = record_bytes((SAMPLE / "sample-0001.warc.gz").read_bytes())
    local = tmp_path / "damaged.warc.gz"
    local.write_bytes(damage(records, spread_faults(records, 3, DAMAGE_KINDS, set()), compress=True))
    client.upload_file(str(local), bucket, KEY)
    cfg = Config()
    cfg.s3.endpoint_url = s3_endpoint
    remote, here = process_file(f"s3://{bucket}/{KEY}", cfg), process_file(str(local), Config())
    assert remote.status == here.status == "ok" and same_records(remote, here) and len(here.records) == 14
    assert remote.counters == here.counters and remote.counters["skip.record.corrupt"] == 3
    assert reconcile(remote.counters) == []
