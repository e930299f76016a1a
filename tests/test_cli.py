"""The command line as a new user meets it: each mistake from issue 14's table gets one clear line
and the right exit code (2 for usage errors), before Spark starts and without creating anything;
help stays short, grouped and in pipeline order; the README's settings reference is the config's.

Every test here but the last runs without Spark (the checks happen before it would start)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import REPO, SAMPLE, free_port
from webfaq import reference
from webfaq.cli import ORDER, SPARK_COMMANDS, commands_by_section, main


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of ``webfaq argv`` (parse errors exit through SystemExit)."""
    try:
        code = main(argv)
    except SystemExit as done:
        code = done.code
    out = capsys.readouterr()
    return code, out.out, out.err


def one_line(err: str) -> str:
    assert err.endswith("\n") and err.count("\n") == 1, f"expected one line, got:\n{err}"
    assert "Traceback" not in err
    return err.rstrip("\n")


# --------------------------------------------------------------------------- the table of mistakes

def test_config_value_of_the_wrong_type_names_key_value_file_line_and_expectation(tmp_path, capsys):
    config = tmp_path / "run.toml"
    config.write_text('[langid]\nthreshold = 0.5\n\n[filters]\nmin_answer_chars = "fifty"\n')
    lake = tmp_path / "lake"
    code, out, err = run(["extract", str(SAMPLE), "--lake", str(lake), "--config", str(config)], capsys)
    assert code == 2 and out == ""
    assert one_line(err) == (f'webfaq extract: error: filters.min_answer_chars = "fifty" ({config}:5): '
                             "expected an integer >= 0")
    assert not lake.exists()


def test_config_key_typo_is_one_line_with_a_suggestion(tmp_path, capsys):
    config = tmp_path / "run.toml"
    config.write_text("[langid]\ntreshold = 0.5\n")
    code, _, err = run(["extract", str(SAMPLE), "--lake", str(tmp_path / "lake"), "--config", str(config)], capsys)
    assert code == 2
    assert one_line(err) == (f"webfaq extract: error: unknown config key langid.treshold ({config}:2); "
                             "did you mean langid.threshold?")


@pytest.mark.parametrize("flags, message", [
    (["--crawl", "CC-2024-22"],
     'input.crawl = "CC-2024-22" (flag --crawl): expected a Common Crawl id like CC-MAIN-2024-22'),
    (["--format", "deltaa"], 'lake.format = "deltaa" (flag --format): expected one of parquet, delta'),
    (["--langid-threshold", "1.5"], "langid.threshold = 1.5 (flag --langid-threshold): expected a number in [0, 1]"),
    (["--limit", "ten"], 'input.limit = "ten" (flag --limit): expected an integer >= 1'),
    # values that reach the OS or a C integer have a ceiling: 1e308 seconds overflowed a time_t
    # mid-run, a 9e12 MiB page budget made every page's sandbox child crash in a file reported ok
    (["--extract-page-timeout-s", "1e308"],
     "extract.page_timeout_s = 1e+308 (flag --extract-page-timeout-s): expected a number in (0, 86400]"),
    (["--extract-page-memory-mb", "9000000000000"],
     "extract.page_memory_mb = 9000000000000 (flag --extract-page-memory-mb): expected an integer in [1, 1048576]"),
    (["--retry-base-delay-s", "1e308"],
     "retry.base_delay_s = 1e+308 (flag --retry-base-delay-s): expected a number in [0, 3600]"),
    (["--seed", "-1"], "input.seed = -1 (flag --seed): expected an integer in [0, 4294967295]"),
])
def test_bad_flag_values_are_one_line_usage_errors(flags, message, tmp_path, capsys):
    lake = tmp_path / "lake"
    code, _, err = run(["extract", str(SAMPLE), "--lake", str(lake)] + flags, capsys)
    assert code == 2 and one_line(err) == f"webfaq extract: error: {message}"
    assert not lake.exists()


def test_lake_path_that_is_a_file(tmp_path, capsys):
    lake = tmp_path / "lake"
    lake.write_text("not a directory")
    code, _, err = run(["extract", str(SAMPLE), "--lake", str(lake)], capsys)
    assert code == 2 and one_line(err) == f"webfaq extract: error: lake {lake}: is a file, not a directory"


@contextlib.contextmanager
def unprivileged():
    """Run as 'nobody' when the tests run as root (root may write any directory); the real
    uid stays root, so the privileges come back afterwards."""
    if os.geteuid() != 0:
        yield
        return
    os.setegid(65534)
    os.seteuid(65534)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


def test_read_only_lake(capsys):
    import webfaq_jobs.extract  # noqa: F401 - imported while the interpreter's files are readable

    parent = Path(tempfile.mkdtemp())
    parent.chmod(0o755)  # traversable by the unprivileged user
    lake = parent / "lake"
    lake.mkdir()
    lake.chmod(0o555)
    try:
        with unprivileged():
            code, _, err = run(["extract", str(SAMPLE), "--lake", str(lake)], capsys)
            new_lake = run(["extract", str(SAMPLE), "--lake", str(lake / "sub")], capsys)
    finally:
        lake.chmod(0o755)
        lake.rmdir()
        parent.rmdir()
    assert code == 2 and one_line(err) == f"webfaq extract: error: lake {lake}: not writable (permission denied)"
    assert new_lake[0] == 2 and one_line(new_lake[2]) == (
        f"webfaq extract: error: lake {lake}/sub: cannot be created, {lake} is not writable (permission denied)")


def test_nonexistent_input_is_named(tmp_path, capsys):
    missing = tmp_path / "nope.warc.gz"
    lake = tmp_path / "lake"
    code, _, err = run(["extract", str(missing), "--lake", str(lake)], capsys)
    assert code == 2 and one_line(err) == f"webfaq extract: error: input {missing}: no such file or directory"
    code, _, err = run(["extract", str(tmp_path / "*.warc.gz"), "--lake", str(lake)], capsys)
    assert code == 2 and one_line(err) == f"webfaq extract: error: input {tmp_path}/*.warc.gz: no file matches this pattern"
    code, _, err = run(["extract", "--lake", str(lake)], capsys)
    assert code == 2 and "no inputs" in one_line(err)
    assert not lake.exists()


@pytest.mark.parametrize("command", ["extract", "run", "dedup", "align", "benchmark", "refresh", "plan", "verify",
                                     "report", "export", "unlock"])
@pytest.mark.parametrize("lake", ["", "file:"])
def test_an_empty_lake_path_is_refused_and_the_working_directory_left_alone(command, lake, tmp_path, capsys,
                                                                            monkeypatch):
    """An empty --lake used to make the working directory the lake (_runs, _lease, faq, ... among
    whatever was there), and verify then said 'no such directory' of it."""
    monkeypatch.chdir(tmp_path)
    extra = {"extract": [str(SAMPLE)], "run": [str(SAMPLE)], "plan": ["--crawl", "CC-MAIN-2024-22"],
             "export": ["--out", str(tmp_path / "hub")]}.get(command, [])
    code, out, err = run([command, *extra, "--lake", lake], capsys)
    assert code == 2 and out == ""
    assert one_line(err) == (f"webfaq {command}: error: lake {lake!r}: an empty path; give the lake's directory "
                             "or URI (--lake PATH)")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("value", ["abc", "0", "-4", ""])
def test_a_bad_shuffle_partitions_variable_is_refused_before_spark(value, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("WEBFAQ_SHUFFLE_PARTITIONS", value)
    lake = tmp_path / "lake"
    code, _, err = run(["extract", str(SAMPLE), "--lake", str(lake)], capsys)
    assert code == 2
    assert one_line(err) == f"webfaq extract: error: WEBFAQ_SHUFFLE_PARTITIONS={value!r}: expected a whole number >= 1"
    assert not lake.exists()


def test_a_bad_manifest_is_refused_in_one_line_naming_it(tmp_path, capsys):
    lake = tmp_path / "lake"
    notgz = tmp_path / "warc.paths.gz"
    notgz.write_bytes(b"good.warc.gz\n")
    code, _, err = run(["extract", str(notgz), "--lake", str(lake)], capsys)
    assert code == 2 and one_line(err) == (f"webfaq extract: error: manifest {notgz}: not gzip data, though its "
                                           "name ends in .gz")
    latin = tmp_path / "latin.paths"
    latin.write_bytes(b"caf\xe9.warc.gz\n")
    code, _, err = run(["extract", str(latin), "--lake", str(lake)], capsys)
    assert code == 2 and one_line(err) == (f"webfaq extract: error: manifest {latin}: not UTF-8 text (byte 0xe9 "
                                           "at offset 3)")
    assert not lake.exists()


def test_unsupported_or_incomplete_input_urls_are_refused_before_spark(tmp_path, capsys):
    lake = tmp_path / "lake"
    for url, problem in [("ftp://host/x.warc.gz", "ftp:// is not supported (inputs are local paths, s3:// or "
                                                   "http(s):// URLs)"),
                         ("s3:///x.warc.gz", "no bucket (s3://BUCKET/KEY)"),
                         ("https:///x.warc.gz", "no host (https://HOST/PATH)")]:
        code, _, err = run(["extract", url, "--lake", str(lake)], capsys)
        assert code == 2 and one_line(err) == f"webfaq extract: error: input {url}: {problem}"
    assert not lake.exists()


def test_extract_file_reads_a_file_uri_as_the_path_it_names(tmp_path, capsys):
    warc = SAMPLE / "sample-0001.warc.gz"
    code, out, err = run(["extract-file", f"file:{warc}", "--out", str(tmp_path / "out.jsonl")], capsys)
    assert code == 0, err
    report = json.loads(err)
    assert report["file"] == str(warc.resolve()) and report["status"] == "ok" and report["counters"]["qa.kept"] > 0


@pytest.mark.parametrize("command", ["verify", "report"])
def test_read_only_commands_refuse_a_lake_that_does_not_exist_and_create_nothing(command, tmp_path, capsys):
    typo = tmp_path / "typo"
    code, out, err = run([command, "--lake", str(typo)], capsys)
    assert code == 2 and out == ""
    assert one_line(err) == f"webfaq {command}: error: lake {typo}: no such directory"
    assert not typo.exists()
    (tmp_path / "notalake").mkdir()
    code, _, err = run([command, "--lake", str(tmp_path / "notalake")], capsys)
    assert code == 2 and "not a lake (no _runs/" in one_line(err)
    assert os.listdir(tmp_path / "notalake") == []


@pytest.mark.parametrize("command, table", [("dedup", "faq"), ("align", "faq_dedup or faq"),
                                            ("benchmark", "faq_dedup or faq")])
def test_spark_jobs_refuse_a_lake_without_their_table_before_spark(command, table, tmp_path, capsys):
    typo = tmp_path / "typo"
    code, _, err = run([command, "--lake", str(typo)], capsys)
    assert code == 2 and one_line(err) == (f"webfaq {command}: error: lake {typo}: no such lake; {command} reads "
                                           f"its {table} table from an existing lake (written by 'webfaq extract')")
    assert not typo.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run([command, "--lake", str(empty)], capsys)
    assert code == 2 and f"no {table} table for {command} to read" in one_line(err)
    assert os.listdir(empty) == []  # no _runs/, no failed manifest


def test_export_refuses_a_missing_lake_and_a_non_empty_out_in_one_line(tmp_path, capsys):
    typo, out = tmp_path / "typo", tmp_path / "hub"
    code, stdout, err = run(["export", "--lake", str(typo), "--out", str(out)], capsys)
    assert code == 2 and stdout == ""
    assert one_line(err) == f"webfaq export: error: lake {typo}: no such directory"
    assert not typo.exists() and not out.exists()
    small_lake(tmp_path / "lake")
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    code, _, err = run(["export", "--lake", str(tmp_path / "lake"), "--out", str(out)], capsys)
    assert code == 2 and "REFUSED" in one_line(err) and "--overwrite" in err
    assert os.listdir(out) == ["keep.txt"]


def test_evaluate_on_a_missing_folder(tmp_path, capsys):
    code, _, err = run(["evaluate", str(tmp_path / "benchmark")], capsys)
    assert code == 2
    assert one_line(err) == f"webfaq evaluate: error: benchmark folder {tmp_path}/benchmark: no such directory"
    code, _, err = run(["evaluate", str(tmp_path)], capsys)
    assert code == 2 and "no BEIR language folder" in one_line(err)


def test_unreachable_crawl_listing_names_the_url_before_spark(tmp_path, capsys):
    port = free_port()  # nothing listens there: the network answers 'refused', as offline
    lake = tmp_path / "lake"
    code, _, err = run(["extract", "--crawl", "CC-MAIN-2024-22", "--lake", str(lake), "--input-base-url",
                        f"http://127.0.0.1:{port}/", "--retry-max-attempts", "1"], capsys)
    assert code == 1
    line = one_line(err)
    assert line.startswith(f"webfaq extract: error: http://127.0.0.1:{port}/crawl-data/CC-MAIN-2024-22/warc.paths.gz: "
                           "network_error: URLError: ")
    assert "refused" in line.lower() and "--debug" not in line
    assert not lake.exists()


def test_unknown_flag_is_one_line_with_a_pointer_to_help(tmp_path, capsys):
    code, out, err = run(["extract", str(SAMPLE), "--lake", str(tmp_path), "--bogus"], capsys)
    assert code == 2 and out == ""
    assert one_line(err) == "webfaq extract: error: unrecognized arguments: --bogus (see 'webfaq extract --help')"
    code, _, err = run(["extrct"], capsys)
    assert code == 2 and "did you mean extract?" in one_line(err)


def test_abbreviated_flags_are_not_taken_for_others(tmp_path, capsys):
    code, _, err = run(["align", "--lake", str(tmp_path), "--align-min-pair", "1"], capsys)
    assert code == 2
    assert one_line(err) == ("webfaq align: error: unrecognized arguments: --align-min-pair 1; did you mean "
                             "--align-min-pairs? (see 'webfaq align --help')")


def test_a_misspelt_flag_of_a_local_command_is_reported_by_that_command_with_a_suggestion(tmp_path, capsys):
    # extract-file's flags belong to its own parser: the top-level one used to report the
    # leftover flag as its own, pointing to 'webfaq --help' and suggesting nothing
    code, out, err = run(["extract-file", str(SAMPLE), "--extract-page-timeot-s", "3"], capsys)
    assert code == 2 and out == ""
    assert one_line(err) == ("webfaq extract-file: error: unrecognized arguments: --extract-page-timeot-s 3; "
                             "did you mean --extract-page-timeout-s? (see 'webfaq extract-file --help')")
    code, _, err = run(["report", "--lake", str(tmp_path), "--bogus"], capsys)
    assert code == 2
    assert one_line(err) == "webfaq report: error: unrecognized arguments: --bogus (see 'webfaq report --help')"


def test_credentials_in_an_input_url_are_refused_and_never_printed(tmp_path, capsys):
    code, _, err = run(["extract", "http://user:s3cret@example.com/x.warc.gz", "--lake", str(tmp_path / "l")], capsys)
    assert code == 2 and "s3cret" not in err
    assert one_line(err) == ("webfaq extract: error: input http://example.com/x.warc.gz: user:password in a URL "
                             "is not supported (use a signed URL, or --s3-profile for s3://)")


def test_credentials_in_a_listed_url_fail_at_once_without_the_secret():
    """A manifest entry with user:password (reaching the executors) is a permanent error, not
    six retries of a 'network_error', and its text never carries the password."""
    from webfaq.config import Config
    from webfaq.lake.storage import FetchError, open_stream

    cfg = Config()
    with pytest.raises(FetchError) as failed:
        open_stream(f"http://user:s3cret@127.0.0.1:{free_port()}/x.warc.gz", cfg.s3, cfg.retry)
    assert failed.value.reason == "bad_url" and not failed.value.transient
    assert "s3cret" not in str(failed.value)


def test_debug_shows_the_traceback_that_is_otherwise_kept_back(tmp_path, capsys, monkeypatch):
    broken = tmp_path / "bad"
    broken.mkdir()
    (broken / "corpus.jsonl").write_text('{"_id": "d1", "text": "a"}\n')
    (broken / "queries.jsonl").write_text('{"_id": "q1", "text": "a"}\n')
    (broken / "qrels").mkdir()
    (broken / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td9\t1\n")
    code, _, err = run(["evaluate", str(broken)], capsys)
    assert code == 1 and "missing documents" in one_line(err)
    code, _, err = run(["evaluate", str(broken), "--debug"], capsys)
    assert code == 1 and err.startswith("Traceback (most recent call last)") and "missing documents" in err
    monkeypatch.setenv("WEBFAQ_DEBUG", "1")
    assert "Traceback" in run(["evaluate", str(broken)], capsys)[2]


# --------------------------------------------------------------------------- output

def small_lake(root: Path) -> Path:
    """A real lake of one partition and the complete run that wrote it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    part = root / "faq" / "crawl=CC-TEST" / "language=eng"
    part.mkdir(parents=True)
    pq.write_table(pa.table({"id": ["a", "b"]}), part / "part-0.parquet")
    (root / "_runs").mkdir()
    manifest = {"run_id": "20240101T000000Z-extract-aaaaaa", "job": "extract", "status": "complete",
                "started": "2024-01-01T00:00:00+00:00",
                "output": {"table": str(root / "faq"), "crawls": ["CC-TEST"], "partition_rows": {"CC-TEST": {"eng": 2}}}}
    (root / "_runs" / f"{manifest['run_id']}.json").write_text(json.dumps(manifest))
    return part / "part-0.parquet"


def test_verify_is_short_by_default_quiet_with_q_and_json_with_json(tmp_path, capsys):
    data = small_lake(tmp_path)
    code, out, _ = run(["verify", "--lake", str(tmp_path)], capsys)
    assert code == 0 and out == "1 runs, 1 partitions and 0 files checked: all consistent\n"
    assert run(["verify", "--lake", str(tmp_path), "-q"], capsys)[:2] == (0, "")
    code, out, _ = run(["verify", "--lake", str(tmp_path), "-v"], capsys)
    assert out.startswith(f"ok       {tmp_path}/faq/crawl=CC-TEST: 2 rows")
    code, out, _ = run(["verify", "--lake", str(tmp_path), "--json"], capsys)
    assert code == 0 and json.loads(out)["ok"] is True
    data.unlink()
    code, out, _ = run(["verify", "--lake", str(tmp_path), "-q"], capsys)
    assert code == 1 and out.startswith(f"MISMATCH {tmp_path}/faq/crawl=CC-TEST: run ") and out.count("\n") == 1
    assert "the lake holds {}" in out  # one line per finding, nothing else with -q


def test_verify_says_when_a_run_was_writing_the_lake_during_the_check(tmp_path, capsys):
    """verify takes no lease, so a run's swap in progress shows as MISSING/UNKNOWN findings; a
    live writer (here: a lease held by this process) is named in a note, and --json says it."""
    from webfaq.lake.lease import acquire, lease_store

    (tmp_path / "_runs").mkdir()
    lease = acquire(lease_store(str(tmp_path)), str(tmp_path), "20991231T000000Z-dedup-abcdef", "dedup")
    try:
        _, _, err = run(["verify", "--lake", str(tmp_path)], capsys)
        _, out, _ = run(["verify", "--lake", str(tmp_path), "--json"], capsys)
    finally:
        lease.release()
    (note,) = [line for line in err.splitlines() if line.startswith("note:")]
    assert "run 20991231T000000Z-dedup-abcdef (job dedup" in note and "verify again when it has finished" in note
    assert json.loads(out)["written_during"].startswith("run 20991231T000000Z-dedup-abcdef")
    _, _, err = run(["verify", "--lake", str(tmp_path)], capsys)
    assert "note:" not in err  # released: nobody is writing


def test_verify_that_checked_nothing_does_not_pass(tmp_path, capsys):
    (tmp_path / "_runs").mkdir()
    code, out, err = run(["verify", "--lake", str(tmp_path)], capsys)
    assert code == 1 and "nothing checked" in err and "all consistent" not in out + err
    assert out.strip() == "0 runs, 0 partitions and 0 files checked: nothing to compare"


# --------------------------------------------------------------------------- help

def help_text(command: list[str], capsys, monkeypatch) -> str:
    monkeypatch.setenv("COLUMNS", "100")
    code, out, err = run(command + ["--help"], capsys)
    assert code == 0 and err == ""
    return out


def groups(text: str) -> dict[str, list[str]]:
    """Help sections by title (a title line ends with ':' and starts at column 0)."""
    out: dict[str, list[str]] = {}
    title = ""
    for line in text.splitlines():
        if line and not line[0].isspace() and line.endswith(":"):
            title = line
            out[title] = []
        elif title:
            out[title].append(line)
    return out


@pytest.mark.parametrize("command", [c for c in ORDER])
def test_every_command_has_short_grouped_help_with_a_description_and_an_example(command, capsys, monkeypatch):
    text = help_text([command], capsys, monkeypatch)
    lines = text.splitlines()
    assert len(lines) <= 120, f"{command} --help is {len(lines)} lines"
    assert lines[0].startswith(f"usage: webfaq {command} ") and not lines[1].strip()  # a one-line usage
    assert lines[2].strip()  # the one-line description
    settings = {t: body for t, body in groups(text).items() if " settings (" in t}
    for title, body in settings.items():
        assert len(body) <= 40, f"{command}: group {title!r} is {len(body)} lines"
    assert "examples:" in text and f"  webfaq {command}" in text
    for noise in ("CFG__", "None", "==SUPPRESS==", ". (default: ", "[]"):
        assert noise not in text
    flags = re.findall(r"^\s+(--[\w\[\]-]+)", text, flags=re.M)
    assert len(flags) == len(set(flags)), f"{command}: a flag is listed twice"


def test_each_command_shows_only_its_own_settings(capsys, monkeypatch):
    evaluate = help_text(["evaluate"], capsys, monkeypatch)
    assert "--benchmark-k1" in evaluate and "--benchmark-b " in evaluate and "--benchmark-analyzer" in evaluate
    assert "--benchmark-alpha" not in evaluate and "--benchmark-test-size" not in evaluate
    extract = help_text(["extract"], capsys, monkeypatch)
    assert "--dedup-" not in extract and "--align-" not in extract and "--refresh-" not in extract
    assert extract.count("--input-format") == 1 and "--crawl CRAWL" in extract and "[json-ld,microdata,rdfa]" in extract
    refresh = help_text(["refresh"], capsys, monkeypatch)
    assert "--dedup-threshold" not in refresh and "Every extract, filters, langid, dedup" in refresh


def test_stage_settings_passed_through_refresh_are_still_accepted():
    from webfaq_jobs.refresh import RefreshJob

    job = RefreshJob.from_argv(["--lake", "/tmp/lake", "--dedup-threshold", "0.9", "--align-min-pairs", "5"])
    assert job.cfg.dedup.threshold == 0.9 and job.cfg.align.min_pairs == 5


def test_top_level_help_lists_commands_in_pipeline_order(capsys, monkeypatch):
    text = help_text([], capsys, monkeypatch)
    commands = text.split("commands (in pipeline order):")[1].split("examples:")[0]
    listed = re.findall(r"^  ([a-z-]+)\s", commands, flags=re.M)
    assert listed == ORDER and set(SPARK_COMMANDS) < set(ORDER)


def test_readme_settings_reference_is_generated_from_the_config():
    assert reference.section_in(REPO / "README.md") == reference.reference_markdown(commands_by_section()), \
        "README is stale: run `webfaq config-reference --write README.md`"


def test_config_reference_writes_and_checks(tmp_path, capsys):
    readme = tmp_path / "my docs" / "README.md"
    readme.parent.mkdir()
    readme.write_text(f"# x\n\n{reference.START}\nold\n{reference.END}\n\nafter\n")
    code, _, err = run(["config-reference", "--check", str(readme)], capsys)
    assert code == 1 and shlex.split(err.split("(run: ", 1)[1].rstrip().removesuffix(")")) == \
        ["webfaq", "config-reference", "--write", str(readme)]  # the command pastes as it is
    assert run(["config-reference", "--write", str(readme)], capsys)[0] == 0
    assert run(["config-reference", "--check", str(readme)], capsys)[0] == 0
    text = readme.read_text()
    assert text.startswith("# x\n\n") and text.endswith("\n\nafter\n") and "`--filters-min-answer-chars`" in text


# --------------------------------------------------------------------------- a run that fails in Spark

FAILING_RUN = """
import sys
from webfaq_jobs.extract import ExtractJob


class Unchecked(ExtractJob):
    # a value that got past validation (as a config built in code can): the executors meet it
    # in the file's read loop (a per-page step would only cost its page: see the page sandbox)
    def __init__(self, cfg, args):
        super().__init__(cfg, args)
        self.cfg.extract.max_page_bytes = "fifty"


sys.exit(Unchecked.main(sys.argv[1:]))
"""


@pytest.mark.spark
def test_a_run_failing_in_spark_says_why_in_one_sentence_without_spark_noise(tmp_path):
    from webfaq.report.html import build_report, esc

    lake = tmp_path / "lake"
    proc = subprocess.run([sys.executable, "-c", FAILING_RUN, str(SAMPLE), "--lake", str(lake), "--crawl-id",
                           "CC-TEST", "--job-progress-interval-s", "0", "--master", "local[1]"],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 1 and proc.stdout == ""
    lines = proc.stderr.splitlines()  # no Spark log lines, no startup WARNs, no trace
    assert len(lines) == 2, proc.stderr[-3000:]
    assert lines[0].startswith("webfaq extract: run failed: TypeError: ")
    assert lines[0].endswith("(in a Spark task)") and lines[1].startswith("manifest: ")
    manifest = json.loads(Path(lines[1][len("manifest: "):]).read_text())
    assert manifest["status"] == "failed" and manifest["error"] == lines[0][len("webfaq extract: run failed: "):]
    assert esc(manifest["error"]) in build_report(str(lake))
