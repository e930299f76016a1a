"""Shared fixtures: real data paths, a real S3 endpoint (moto's server on loopback), a Spark
local-mode session and a standalone master with two workers on 127.0.0.1."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data"
SAMPLE = REPO / "sample-data" / "warc"


def shared_path(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not available: {path}")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 60.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port}")


@pytest.fixture(autouse=True)
def _no_aws_env(monkeypatch):
    """Tests never use the developer's AWS credentials or config."""
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture(scope="session")
def s3_endpoint():
    """A real S3 protocol endpoint: moto's server, bound to loopback only."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    wait_port(port)
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture()
def s3_bucket(s3_endpoint):
    """A fresh bucket on the endpoint (created with credentials; reads are anonymous)."""
    import uuid

    import boto3

    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    name = f"bucket-{uuid.uuid4().hex[:10]}"
    client.create_bucket(Bucket=name)
    # Public read, as the commoncrawl bucket allows, so anonymous (unsigned) reads work.
    client.put_bucket_policy(Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject", "s3:ListBucket"],
         "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"]}]}))
    return client, name


@pytest.fixture(scope="session")
def spark():
    """One local-mode session for the whole test run (jobs reuse it through getOrCreate)."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from webfaq_jobs.base import build_session

    session = build_session("webfaq-tests", "local[2]")
    yield session
    session.stop()


def _spark_class() -> str:
    import pyspark

    return str(Path(pyspark.__file__).parent / "bin" / "spark-class")


@pytest.fixture(scope="session")
def standalone_master(tmp_path_factory):
    """A Spark standalone master and two one-core workers on 127.0.0.1, started with the
    installed pyspark's spark-class launcher and stopped at the end of the session."""
    if shutil.which("java") is None:
        pytest.skip("java is not installed")
    work = tmp_path_factory.mktemp("standalone")
    port = free_port()
    env = dict(os.environ, SPARK_LOCAL_IP="127.0.0.1", SPARK_MASTER_HOST="127.0.0.1",
               PYSPARK_PYTHON=sys.executable, SPARK_WORKER_DIR=str(work / "workers"))
    procs = [subprocess.Popen(
        [_spark_class(), "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
         "--port", str(port), "--webui-port", str(free_port())],
        env=env, stdout=open(work / "master.log", "wb"), stderr=subprocess.STDOUT)]
    try:
        wait_port(port)
        master = f"spark://127.0.0.1:{port}"
        for i in range(2):
            procs.append(subprocess.Popen(
                [_spark_class(), "org.apache.spark.deploy.worker.Worker", master, "--host", "127.0.0.1",
                 "--cores", "1", "--memory", "1g", "--webui-port", str(free_port()),
                 "--work-dir", str(work / f"worker{i}")],
                env=env, stdout=open(work / f"worker{i}.log", "wb"), stderr=subprocess.STDOUT))
        _wait_workers(work / "master.log", 2)
        yield MasterURL(master, str(work))
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


class MasterURL(str):
    """The master's spark:// URL, which also knows the workers' directory."""

    def __new__(cls, url: str, work_dir: str):
        obj = super().__new__(cls, url)
        obj.work_dir = work_dir
        return obj


def _wait_workers(log: Path, n: int, timeout: float = 90.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if log.read_text(errors="replace").count("Registering worker") >= n:
            return
        time.sleep(0.5)
    raise TimeoutError(f"{n} workers did not register; see {log}")


@pytest.fixture(scope="session")
def hf_datasets(tmp_path_factory):
    """The `datasets` package as a user loads an export or a lake with it: offline (tests never
    reach the Hub), with its cache in a temp dir rather than the user's. The variables are
    read when the package is imported, so they are set first."""
    mp = pytest.MonkeyPatch()
    mp.setenv("HF_HOME", str(tmp_path_factory.mktemp("hf_home")))
    mp.setenv("HF_DATASETS_OFFLINE", "1")
    mp.setenv("HF_HUB_OFFLINE", "1")
    mp.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    import datasets

    yield datasets
    mp.undo()
