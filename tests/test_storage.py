import pytest
from webfaq.config import Config, RetryConfig
from webfaq.lake.storage import FetchError, open_stream, read_bytes, with_retries
from webfaq.redaction import redact


def test_transient_errors_are_retried_with_backoff_then_succeed():
    calls, sleeps = [], []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise FetchError("s3_error", "SlowDown", transient=True)
        return "data"

    retry = RetryConfig(max_attempts=5, base_delay_s=1.0, max_delay_s=3.0)
    assert with_retries(flaky, retry, sleep=sleeps.append) == "data"
    assert len(calls) == 3 and len(sleeps) == 2
    assert 0 <= sleeps[0] <= 1.0 and 0 <= sleeps[1] <= 2.0  # full jitter under an exponential cap


def test_retries_stop_at_the_budget_and_permanent_errors_are_not_retried():
    calls = []

    def always(transient):
        def fn():
            calls.append(1)
            raise FetchError("x", transient=transient)
        return fn

    with pytest.raises(FetchError):
        with_retries(always(True), RetryConfig(max_attempts=4), sleep=lambda s: None)
    assert len(calls) == 4
    calls.clear()
    with pytest.raises(FetchError):
        with_retries(always(False), RetryConfig(max_attempts=4), sleep=lambda s: None)
    assert len(calls) == 1


def test_missing_local_file_is_a_permanent_not_found(tmp_path):
    cfg = Config()
    with pytest.raises(FetchError) as err:
        open_stream(str(tmp_path / "nope.warc.gz"), cfg.s3, cfg.retry)
    assert err.value.reason == "not_found" and not err.value.transient


def test_signed_urls_and_credentials_are_redacted():
    assert redact("https://user:pw@host.example/a/b.warc.gz?X-Amz-Signature=abc") == "https://host.example/a/b.warc.gz"
    assert redact("/local/path.warc.gz") == "/local/path.warc.gz"
    assert redact("s3://commoncrawl/crawl-data/x.warc.gz") == "s3://commoncrawl/crawl-data/x.warc.gz"


def test_s3_objects_are_read_anonymously_and_missing_keys_fail_fast(s3_bucket, s3_endpoint):
    client, bucket = s3_bucket
    client.put_object(Bucket=bucket, Key="listing.paths", Body=b"a\nb\n")
    cfg = Config()
    cfg.s3.endpoint_url = s3_endpoint
    assert read_bytes(f"s3://{bucket}/listing.paths", cfg.s3, cfg.retry) == b"a\nb\n"
    with pytest.raises(FetchError) as err:
        open_stream(f"s3://{bucket}/missing.warc.gz", cfg.s3, cfg.retry)
    assert err.value.reason == "not_found"
