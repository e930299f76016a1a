"""A lake in S3 (moto's server on loopback, reached with --s3-endpoint), as a data team on EMR
keeps it: the tools that read it without Spark (verify, export, report) give what they give on
the same lake on a local disk, Delta tables included; and a Spark job that cannot reach the
lake through Hadoop is refused in one line before it takes the lease."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from webfaq.config import Config

CRAWL = "CC-TEST-2024-10"
SAMPLE = Path(__file__).resolve().parents[1] / "sample-data" / "warc"
WEBFAQ = str(Path(sys.executable).with_name("webfaq"))


def s3_config(endpoint: str):
    s3 = Config().s3
    s3.endpoint_url = endpoint
    return s3


def upload(client, bucket: str, folder: Path, prefix: str) -> None:
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            client.put_object(Bucket=bucket, Key=f"{prefix}/{p.relative_to(folder).as_posix()}", Body=p.read_bytes())


def keys(client, bucket: str) -> list[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


@pytest.fixture(scope="module")
def delta_lake(spark, tmp_path_factory) -> Path:
    """A lake whose faq table is a Delta table the real extract job wrote twice (the second
    run replaces the first's files, which stay on disk: a reader that lists folders would count
    every row twice)."""
    from webfaq_jobs.extract import ExtractJob

    lake = tmp_path_factory.mktemp("delta") / "lake"
    for _ in range(2):
        ExtractJob.from_argv([str(SAMPLE / "faq-sites.warc.gz"), "--lake", str(lake), "--format", "delta",
                              "--crawl-id", CRAWL]).execute()
    return lake


def test_verify_and_export_read_a_delta_lake_in_s3_through_the_endpoint(delta_lake, s3_bucket, s3_endpoint,
                                                                         tmp_path):
    import datetime as dt

    from webfaq.lake.export import export
    from webfaq.lake.verify import verify
    from webfaq.report.html import build_report

    client, bucket = s3_bucket
    upload(client, bucket, delta_lake, "lake")
    uri = f"s3://{bucket}/lake"
    here, there = verify(str(delta_lake)), verify(uri, s3=s3_config(s3_endpoint))
    assert here["ok"] and here["partitions_checked"], here["problems"]
    assert there["problems"] == []
    assert [{**p, "table": p["table"].replace(uri, str(delta_lake))} for p in there["partitions_checked"]] \
        == here["partitions_checked"]

    local, remote = export(str(delta_lake), tmp_path / "local"), export(uri, tmp_path / "remote",
                                                                       s3=s3_config(s3_endpoint))
    assert [(c.name, c.rows) for c in remote.configs] == [(c.name, c.rows) for c in local.configs]
    assert sum(c.rows for c in local.configs) == sum(here["partitions_checked"][0]["found"].values()) > 0

    when = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
    remote_report = build_report(uri, generated=when, s3=s3_config(s3_endpoint))
    assert "could not read" not in remote_report
    assert remote_report.replace(uri, str(delta_lake)) == build_report(str(delta_lake), generated=when)


def run_webfaq(*argv: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """``webfaq`` in its own process, as a person runs it (a manifest of a run that could not
    write the lake would go to $TMPDIR/webfaq-runs)."""
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    return subprocess.run([WEBFAQ, *argv], capture_output=True, text=True, timeout=300, env=env)


def test_a_lake_in_a_bucket_that_does_not_exist_is_one_line_before_spark(s3_endpoint, tmp_path):
    proc = run_webfaq("extract", str(SAMPLE / "sample-0000.warc.gz"), "--lake", "s3://no-such-lake-bucket/lake",
                      "--s3-endpoint", s3_endpoint, tmp_path=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines() == [
        "webfaq extract: error: lake s3://no-such-lake-bucket/lake: cannot be reached: not_found: NoSuchBucket"]
    assert not (tmp_path / "webfaq-runs").exists()


def test_a_job_whose_spark_cannot_reach_an_s3_lake_is_refused_before_the_lease(s3_bucket, s3_endpoint, tmp_path):
    """Spark from pip has no Hadoop file system for s3://: the run is refused in one line that
    says what to do, before it takes the lease or writes anything anywhere."""
    client, bucket = s3_bucket
    proc = run_webfaq("extract", str(SAMPLE / "sample-0000.warc.gz"), "--lake", f"s3://{bucket}/lake",
                      "--s3-endpoint", s3_endpoint, "--no-s3-anonymous", tmp_path=tmp_path)
    assert proc.returncode == 2, proc.stderr
    [line] = proc.stderr.splitlines()
    assert line.startswith(f"webfaq extract: error: lake s3://{bucket}/lake: this Spark has no Hadoop file system "
                           "for s3:// (on EMR s3:// is EMRFS; elsewhere put hadoop-aws on Spark's classpath"), line
    assert keys(client, bucket) == []  # no lease taken, nothing written
    assert not (tmp_path / "webfaq-runs").exists()


# --------------------------------------------------------------------------- signed inputs

@pytest.mark.parametrize("profile", [None, "no-such-profile"])
def test_s3_inputs_without_credentials_are_refused_at_once(s3_bucket, s3_endpoint, tmp_path, monkeypatch, profile):
    """No credentials (or a profile that is not there) is no network failure: retrying cannot
    help, so the listing is refused at once, in one line that says what is missing."""
    import time

    from webfaq.errors import UsageError
    from webfaq.lake.inputs import resolve_inputs

    _, bucket = s3_bucket
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    (tmp_path / "none").write_text("")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    cfg = Config()
    cfg.s3.endpoint_url, cfg.s3.anonymous, cfg.s3.profile = s3_endpoint, False, profile
    cfg.retry.base_delay_s, cfg.retry.max_delay_s = 5.0, 5.0  # a retry would show in the time taken
    cfg.retry.timeout_s = 7.25 + (profile is None)  # a client of its own (clients are cached by settings)
    started = time.monotonic()
    with pytest.raises(UsageError) as refused:
        resolve_inputs([f"s3://{bucket}/warc/"], cfg)
    assert time.monotonic() - started < 3
    expected = ("The config profile (no-such-profile) could not be found" if profile else
                "Unable to locate credentials (--s3-profile NAME, or the AWS_* variables; --s3-anonymous for public")
    assert str(refused.value).startswith(f"input s3://{bucket}/warc/: cannot be listed: no_credentials: {expected}")


# --------------------------------------------------------------------------- Delta commits in S3

@pytest.fixture()
def s3_process(tmp_path):
    """(client, bucket, endpoint) of moto's server in a process of its own: deltalake's
    ``is_deltatable`` holds the GIL while it waits for S3, so a server thread in this process
    (the ``s3_endpoint`` fixture) could never answer it."""
    import boto3

    from conftest import free_port, wait_port

    port = free_port()
    server = subprocess.Popen([str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        endpoint = f"http://127.0.0.1:{port}"
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        client.create_bucket(Bucket="lake-bucket")
        yield client, "lake-bucket", endpoint
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_a_delta_commit_in_s3_goes_to_the_endpoint_and_a_second_of_one_version_is_refused(s3_process):
    """commit_delta on a lake in S3 (the Delta path of a job without delta-spark): the table
    is made at the endpoint, and of two overwrites from the same version the second is refused
    (deltalake's conditional PUT: no locking service) and leaves none of its files behind."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq
    from deltalake import DeltaTable

    from webfaq import lake

    client, bucket, s3_endpoint = s3_process
    root = f"s3://{bucket}/lake"
    fs = lake.ArrowFS(root, s3_config(s3_endpoint))
    schema = pa.schema([("id", pa.string()), ("crawl", pa.string()), ("language", pa.string())])

    def stage(run: str, ids: list[str]) -> str:
        buf = io.BytesIO()
        pq.write_table(pa.table({"id": ids}), buf)
        client.put_object(Bucket=bucket, Key=f"lake/_staging/{run}/faq/crawl=C/language=eng/part-{run}.parquet",
                          Body=buf.getvalue())
        return f"{root}/_staging/{run}/faq"

    table = f"{root}/faq"
    assert lake.commit_delta(fs, stage("seed", ["s1"]), table, {"crawl": ["C"]}, ["crawl", "language"], schema,
                             expected_version=None) == 1
    assert lake.commit_delta(fs, stage("a", ["a1", "a2"]), table, {"crawl": ["C"]}, ["crawl", "language"], schema,
                             expected_version=0) == 1
    with pytest.raises(lake.DeltaConflict):
        lake.commit_delta(fs, stage("b", ["b1"]), table, {"crawl": ["C"]}, ["crawl", "language"], schema,
                          expected_version=0)
    options = lake.table.delta_storage_options(table, s3_config(s3_endpoint))
    rows = DeltaTable(table, storage_options=options).to_pyarrow_table().column("id").to_pylist()
    assert sorted(rows) == ["a1", "a2"]
    assert not [k for k in keys(client, bucket) if k.startswith("lake/faq/") and k.endswith("part-b.parquet")]


# --------------------------------------------------------------------------- a throttled S3

def test_verify_rides_out_a_throttled_read_of_a_lake_in_s3(delta_lake, s3_bucket, s3_endpoint):
    """S3 answers SlowDown under load. pyarrow does not retry a throttled range read (it fails
    with INTERNAL_FAILURE), so one busy moment made verify call a sound file unreadable and its
    partition short of rows; the read is now tried again."""
    from urllib.parse import quote

    from faultproxy import FaultProxy
    from webfaq.lake.verify import verify

    client, bucket = s3_bucket
    upload(client, bucket, delta_lake, "lake")
    data = sorted(k for k in keys(client, bucket) if k.startswith("lake/faq/crawl=") and k.endswith(".parquet"))
    proxy = FaultProxy(s3_endpoint)
    try:
        for key in data:
            proxy.schedule(quote(f"/{bucket}/{key}", safe="/"), "slowdown", "slowdown")
        result = verify(f"s3://{bucket}/lake", s3=s3_config(proxy.url))
    finally:
        proxy.close()
    assert result["problems"] == [] and result["partitions_checked"]
    assert len(proxy.injected) >= 2


# --------------------------------------------------------------------------- the lake's URI

@pytest.mark.parametrize("command", ["verify", "report", "export", "unlock"])
@pytest.mark.parametrize("lake, problem", [
    ("s3://AKIAEXAMPLE:Secret+Key/1@b/lake", "user:password in a URL is not supported (use a signed URL, or "
                                             "--s3-profile for s3://)"),
    ("s3:///lake", "no bucket (s3://BUCKET/KEY)"),
    ("s3a://my bucket/lake", "'my bucket' is not an S3 bucket name"),
    ("s3://b/lake?versionId=1", "a query or fragment is no part of a lake's path"),
    ("s3://b//lake", "an empty, '.' or '..' segment in its path (object stores take them literally, as other keys)"),
    ("s3://b/x/../lake/", "an empty, '.' or '..' segment in its path (object stores take them literally, as other keys)"),
])
def test_a_lake_uri_that_cannot_name_a_lake_is_one_line_that_never_echoes_a_secret(command, lake, problem, tmp_path):
    argv = [command, "--lake", lake, "--s3-endpoint", "http://127.0.0.1:9"] + (
        ["--out", str(tmp_path / "out")] if command == "export" else [])
    proc = subprocess.run([WEBFAQ, *argv], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    [line] = proc.stderr.splitlines()
    assert line.startswith(f"webfaq {command}: error: lake ") and line.endswith(problem), line
    assert "Secret" not in line and "AKIAEXAMPLE" not in line


def test_an_input_whose_secret_holds_a_slash_is_refused_without_echoing_it():
    """AWS secret keys hold "/": a URL parser ends the authority there and takes the secret's
    first half for the host, so both the check and the redaction missed it."""
    from webfaq.errors import UsageError
    from webfaq.redaction import redact, redact_text
    from webfaq_jobs.extract import checked_inputs

    uri = "s3://AKIAEXAMPLE:wJalr/XUtnFEMI@bucket/x.warc.gz"
    assert redact(uri) == "s3://bucket/x.warc.gz"
    assert "wJalr" not in redact_text(f"could not read {uri} today")
    with pytest.raises(UsageError) as refused:
        checked_inputs([uri], Config())
    assert str(refused.value) == ("input s3://bucket/x.warc.gz: user:password in a URL is not supported "
                                  "(use a signed URL, or --s3-profile for s3://)")


# --------------------------------------------------------------------------- every writer, one lease

@pytest.mark.parametrize("job", ["dedup", "align", "benchmark"])
def test_every_job_that_writes_an_s3_lake_looks_for_its_lease_at_the_endpoint(job, s3_bucket, s3_endpoint, tmp_path):
    """dedup, align and benchmark took no --s3-endpoint: on a lake behind an endpoint they
    looked for the writer lease (and read Delta logs) at AWS instead, so a run holding the lake
    at the endpoint was invisible to them."""
    from webfaq.lake.lease import acquire, lease_store

    client, bucket = s3_bucket
    lake_uri = f"s3://{bucket}/lake"
    lease = acquire(lease_store(lake_uri, s3_config(s3_endpoint)), lake_uri, "20261101T000000Z-extract-abcdef",
                    "extract", ttl_s=60)
    try:
        proc = run_webfaq(job, "--lake", lake_uri, "--s3-endpoint", s3_endpoint, tmp_path=tmp_path)
    finally:
        lease.release()
    assert proc.returncode == 75, proc.stderr
    [line] = proc.stderr.splitlines()
    assert line.startswith(f"{job} REFUSED: the lake {lake_uri} is being written by run 20261101T000000Z-extract-abcdef")
