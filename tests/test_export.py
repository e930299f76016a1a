"""`webfaq export` on a lake the real jobs built (dedup, align, benchmark in Spark local mode,
on FAQ rows made from real sentences), loaded back the way people load a Hugging Face dataset:
`datasets`, pandas, DuckDB and BEIR's GenericDataLoader."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
from collections import Counter
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.dataset as ds
import pytest
import yaml

from conftest import SHARED, shared_path
from test_align import HASH_ARGS, HASH_DIM
from test_benchmark_job import ARGS as BENCH_ARGS
from support.benchlake import language_rows
from support.faqsynth import faq_row, langid_sentences, write_lake
from webfaq.cli import main as cli
from webfaq.lake.export import Export, ExportConfig, ExportError, card, export, front_matter

pytestmark = pytest.mark.spark

CRAWL = "CC-TEST-2024-10"
FIELD = f"hashing_{HASH_DIM}_similarity"


def lake_rows(table: Path) -> list[dict]:
    return ds.dataset(str(table), format="parquet", partitioning="hive").to_table().to_pylist()


def build_rows() -> list[dict]:
    """Three languages from real sentences, a site in English and German whose QAs translate
    each other (shared tokens, so the hashing embedder aligns them), and exact copies of some
    English QAs on another site (dedup drops them)."""
    shared_path("langid", "sentences")
    sents = langid_sentences(SHARED)
    rows = []
    for lang in ("eng", "deu", "zho"):
        rows += list(language_rows(lang, sents[lang], 20, CRAWL, sites=5, seed=3))
    for i in range(120):
        for lang, path, word in (("eng", "en", "how"), ("deu", "de", "wie")):
            rows.append(faq_row(CRAWL, f"https://site.example/{path}/faq/{i // 10}/", lang,
                                f"q{i} a{i} d{i} f{i} g{i} h{i} {word}{i}", f"b{i} c{i} e{i} j{i} k{i} m{i} {word}{i}a"))
    rows += [faq_row(CRAWL, r["url"].replace("https://", "https://zz-copy."), r["language"], r["question"], r["answer"])
             for r in rows[:10]]
    return rows


@pytest.fixture(scope="module")
def exported(spark, tmp_path_factory, hf_datasets):
    from webfaq_jobs.align import AlignJob
    from webfaq_jobs.benchmark import BenchmarkJob
    from webfaq_jobs.dedup import DedupJob

    root = tmp_path_factory.mktemp("export")
    lake = root / "lake"
    write_lake(build_rows(), lake)
    runs = {"dedup": DedupJob.from_argv(["--lake", str(lake)]).execute()}
    runs["align"] = AlignJob.from_argv([
        "--lake", str(lake), "--embed-backend", "hashing", "--embed-model", HASH_DIM, "--align-min-pairs", "1",
        "--align-candidate-threshold", str(HASH_ARGS["candidate_threshold"]),
        "--align-final-threshold", str(HASH_ARGS["final_threshold"])]).execute()
    runs["benchmark"] = BenchmarkJob.from_argv([
        "--lake", str(lake), *BENCH_ARGS, "--no-benchmark-near-duplicates", "--no-benchmark-qa-consistency",
        "--no-benchmark-dense-rescore"]).execute()
    out = root / "out"
    result = export(str(lake), out)
    return lake, out, result, runs


def read_card(out: Path) -> tuple[dict, str]:
    text = (out / "README.md").read_text(encoding="utf-8")
    _, front, body = text.split("---\n", 2)
    return yaml.safe_load(front), body


def test_qa_configs_load_with_datasets_pandas_and_duckdb(exported, hf_datasets):
    lake, out, result, runs = exported
    assert runs["benchmark"]["source"] == "faq_dedup" and "source.dedup_dropped" not in runs["benchmark"]["counters"]
    kept = lake_rows(lake / "faq_dedup")
    assert len(kept) == runs["dedup"]["counters"]["dedup.kept"] == len(build_rows()) - 10  # the copies dropped
    per_lang = Counter(r["language"] for r in kept)
    assert result.qa_source == "faq_dedup" and {c.name for c in result.configs if c.kind == "qa"} == set(per_lang)
    for lang, n in per_lang.items():
        got = hf_datasets.load_dataset(str(out), lang, split="default")
        assert got.column_names[:5] == ["id", "origin", "url", "question", "answer"]
        assert {"language", "crawl", "language_confidence", "syntax", "warc_file", "fetch_time"} <= set(got.column_names)
        assert len(got) == n and set(got["language"]) == {lang}
        assert sorted(got["id"]) == sorted(r["id"] for r in kept if r["language"] == lang)
    frame = pd.read_parquet(out / "data" / "deu")
    assert len(frame) == per_lang["deu"] and frame["crawl"].eq(CRAWL).all()
    got = duckdb.sql(f"SELECT language, count(*) FROM read_parquet('{out}/data/*/*.parquet') GROUP BY ALL").fetchall()
    assert dict(got) == dict(per_lang)


def test_bitext_config_in_webfaqs_row_layout(exported, hf_datasets):
    lake, out, result, runs = exported
    table = lake_rows(lake / "bitext")
    assert runs["align"]["aligned_per_pair"] == {"deu-eng": 120} == dict(Counter(r["pair"] for r in table))
    got = hf_datasets.load_dataset(str(out), "deu-eng", split="default")
    assert got.column_names == ["origin", FIELD, "question1", "question2", "answer1", "answer2", "details"]
    assert len(got) == 120 and result.bitext_field == FIELD
    assert sorted(r["details"]["urls"] for r in got) == sorted(r["details"]["urls"] for r in table)
    assert {(r["question1"], r["question2"]) for r in got} == {(r["question1"], r["question2"]) for r in table}


def test_beir_folders_and_retrieval_configs(exported, hf_datasets):
    from beir.datasets.data_loader import GenericDataLoader

    lake, out, result, runs = exported
    languages = runs["benchmark"]["languages"]
    assert sorted(result.benchmarks) == languages
    for lang in languages:
        sizes = runs["benchmark"]["sizes"][lang]
        corpus, queries, qrels = GenericDataLoader(str(out / "benchmark" / lang)).load(split="test")
        assert len(corpus) == sizes["corpus"] and len(qrels) == sizes["test"]
        assert (out / "benchmark" / lang / "corpus.jsonl").read_bytes() == \
            (lake / "benchmark" / lang / "corpus.jsonl").read_bytes()
        hf_corpus = hf_datasets.load_dataset(str(out), f"{lang}-corpus", split="corpus")
        assert len(hf_corpus) == len(corpus) and set(hf_corpus["_id"]) == set(corpus)
        hf_qrels = hf_datasets.load_dataset(str(out), f"{lang}-qrels")
        # a split without rows is left out of the config (the Hub cannot load an empty one)
        assert {s: len(hf_qrels[s]) for s in hf_qrels} == {s: sizes[s] for s in ("train", "test") if sizes[s]}
        assert {(r["query-id"], r["corpus-id"]) for r in hf_qrels["test"]} == \
            {(q, d) for q, docs in qrels.items() for d in docs}
        hf_queries = hf_datasets.load_dataset(str(out), f"{lang}-queries", split="queries")
        assert set(queries) <= set(hf_queries["_id"])


def test_card_lists_every_config_with_counts_runs_model_and_licence(exported):
    lake, out, result, runs = exported
    front, body = read_card(out)
    names = [c["config_name"] for c in front["configs"]]
    assert names == [c.name for c in result.configs] and len(set(names)) == len(names)
    for config, c in zip(front["configs"], result.configs):
        assert {d["split"]: d["path"] for d in config["data_files"]} == c.splits
        assert f"| `{c.name}` |" in body and f"| {c.rows:,} |" in body
        for path in c.splits.values():
            assert list(out.glob(path)), path
    assert front["license"] == "other" and "## Licence" in body and "Common Crawl" in body
    assert f"`{FIELD}`" in body and f"`{runs['align']['model']}`" in body
    assert result.runs == {"bitext": [runs["align"]["run_id"]], "benchmark": [runs["benchmark"]["run_id"]],
                           "faq_dedup": [runs["dedup"]["run_id"]]}
    assert all(f"`{r}`" in body for ids in result.runs.values() for r in ids)
    assert str(lake.parent) not in (out / "README.md").read_text(encoding="utf-8")  # no local paths


def test_out_is_refused_when_not_empty_and_replaced_whole_with_overwrite(exported, tmp_path):
    lake, out, result, _ = exported
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    with pytest.raises(ExportError, match="--overwrite"):
        export(str(lake), out)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert cli(["export", "--lake", str(lake), "--out", str(out)]) == 2
    assert "REFUSED" in err.getvalue() and sorted(p.relative_to(out) for p in out.rglob("*")) == before
    (out / "stale.txt").write_text("from an older export")
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        assert cli(["export", "--lake", str(lake), "--out", str(out), "--overwrite", "--rows-per-file", "7"]) == 0
    assert not (out / "stale.txt").exists() and f"{result.rows:,} rows" in stdout.getvalue()
    assert len(list((out / "data" / "eng").glob("*.parquet"))) > 1  # sharded at 7 rows
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(".")] == []  # no temp or old folder left
    empty = tmp_path / "empty"
    empty.mkdir()
    assert export(str(lake), empty).rows == result.rows  # an empty folder is fine


def test_overwrite_never_replaces_the_lake_or_a_folder_that_is_not_an_export(exported, tmp_path):
    """--out is a path the user types: the lake itself, a table in it, a folder holding it, a
    symlink to it, or somebody's own folder must survive `--overwrite` untouched."""
    lake, _, _, _ = exported
    mine = tmp_path / "my-notes"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    link = tmp_path / "lake-link"
    link.symlink_to(lake, target_is_directory=True)
    for out, why in [(lake, "overlaps the lake"), (lake / "faq", "overlaps the lake"), (lake.parent, "overlaps the lake"),
                     (link, "overlaps the lake"), (mine, "not an earlier export")]:
        files = sorted(p.relative_to(out) for p in out.rglob("*")) if out.is_dir() else None
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            assert cli(["export", "--lake", str(lake), "--out", str(out), "--overwrite"]) == 2, out
        (line,) = err.getvalue().splitlines()
        assert why in line and str(out) in line, line
        assert (sorted(p.relative_to(out) for p in out.rglob("*")) if out.is_dir() else None) == files
    assert (mine / "thesis.tex").read_text() == "years of work"


def test_overwrite_replaces_an_export_however_many_configs_its_card_lists(exported, tmp_path):
    """The card's front matter lists every config, so a big export's title comes far into the
    file (the demo's 63 configs put it past 4 KB, and a second `bash scripts/demo.sh` was refused
    as "not an earlier export"). A card of 1,000 language pairs is recognised and replaced; a
    user's README that only mentions the title, or a README.md that is a FIFO, is still refused."""
    lake, out, result, _ = exported
    langs = [f"l{i:02d}" for i in range(46)]
    pairs = [f"{a}-{b}" for i, a in enumerate(langs) for b in langs[i + 1:]][:1000]
    many = Export(lake="lake", configs=[ExportConfig(p, "bitext", {"default": f"bitext/{p}/*.parquet"}, 1, 1)
                                        for p in pairs])
    big = tmp_path / "big-export"
    shutil.copytree(out, big)
    (big / "README.md").write_text(card(many), encoding="utf-8")
    assert len(front_matter(many)) > 60_000
    assert cli(["export", "--lake", str(lake), "--out", str(big), "--overwrite"]) == 0
    assert f"{len(result.configs)} configs, {result.rows:,} rows" in (big / "README.md").read_text(encoding="utf-8")

    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "README.md").write_text("---\ntitle: my notes\n---\n# Notes\n\n# WebFAQ Lake export\n", encoding="utf-8")
    fifo = tmp_path / "fifo"
    fifo.mkdir()
    os.mkfifo(fifo / "README.md")
    for folder in (notes, fifo):
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            assert cli(["export", "--lake", str(lake), "--out", str(folder), "--overwrite"]) == 2
        assert "not an earlier export" in err.getvalue()
    assert (notes / "README.md").read_text(encoding="utf-8").startswith("---\ntitle: my notes")


# --------------------------------------------------------------------------- other processes at work

def _lease_of(lake: Path):
    from webfaq.lake.lease import acquire, lease_store

    return acquire(lease_store(str(lake)), str(lake), "20991231T000000Z-dedup-abcdef", "dedup")


def test_an_export_while_a_run_writes_the_lake_is_refused(exported, tmp_path, capsys):
    """A run's swap moves a partition out before the new one is in: an export then read
    faq_dedup empty, fell back to the raw faq table (duplicates included) and said on its card
    that dedup never ran, exit 0. A live writer's lease now refuses it (exit 75, like a second
    writer), and nothing is written."""
    lake, _, _, _ = exported
    lease = _lease_of(lake)
    try:
        assert cli(["export", "--lake", str(lake), "--out", str(tmp_path / "out")]) == 75
    finally:
        lease.release()
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("webfaq export REFUSED: the lake") and "20991231T000000Z-dedup-abcdef" in line
    assert list(tmp_path.iterdir()) == []


def test_a_run_that_writes_the_lake_during_an_export_voids_it(exported, tmp_path, monkeypatch, capsys):
    """A writer that takes the lease while the export reads (here: starts and finishes between
    two tables) leaves a new lease generation: the export is refused, nothing is published."""
    import webfaq.lake.export as export_module

    lake, _, _, _ = exported
    real = export_module.export_benchmark

    def with_a_run_meanwhile(*args, **kwargs):
        _lease_of(lake).release()
        return real(*args, **kwargs)

    monkeypatch.setattr(export_module, "export_benchmark", with_a_run_meanwhile)
    assert cli(["export", "--lake", str(lake), "--out", str(tmp_path / "out")]) == 75
    (line,) = capsys.readouterr().err.splitlines()
    assert "was written while it was exported" in line and "nothing was exported" in line
    assert list(tmp_path.iterdir()) == []  # neither --out nor a temp folder


def test_a_folder_made_at_out_during_an_export_is_never_replaced(exported, tmp_path, monkeypatch, capsys):
    """--out is checked when the export starts and again right before its folder is renamed into
    place: somebody's folder (or another export) that appeared there meanwhile is not deleted."""
    import webfaq.lake.export as export_module

    lake, _, _, _ = exported
    out = tmp_path / "out"
    real = export_module.export_benchmark

    def someone_writes_out(*args, **kwargs):
        out.mkdir()
        (out / "mywork.txt").write_text("precious")
        return real(*args, **kwargs)

    monkeypatch.setattr(export_module, "export_benchmark", someone_writes_out)
    assert cli(["export", "--lake", str(lake), "--out", str(out)]) == 2
    assert "exists and is not empty" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["mywork.txt"] and (out / "mywork.txt").read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # the temp folder is gone


# --------------------------------------------------------------------------- temp folders of killed exports

def _stopped(pid: int) -> bool:
    """Whether ``pid`` stopped itself (failpoint ``=stop``): state T in /proc/<pid>/stat."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] == "T"
    except OSError:
        return False


def _killed_export(lake: Path, out: Path, point: str = "export.before_publish", *flags: str) -> None:
    """A real `webfaq export` process SIGKILLed (whole process group, as an OOM killer or a lost
    node does) at ``point``: by default once its temp folder is complete, right before it would
    rename it into place."""
    import signal
    import subprocess
    import sys
    import time

    from webfaq.faults import ENV

    command = [str(Path(sys.executable).parent / "webfaq"), "export", "--lake", str(lake), "--out", str(out), *flags]
    proc = subprocess.Popen(command, env=dict(os.environ, **{ENV: f"{point}=stop"}),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.time() + 120
    while not _stopped(proc.pid) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert _stopped(proc.pid), proc.stderr.read().decode()[-2000:] if proc.poll() is not None else "never stopped"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(60)
    proc.stderr.close()


def test_a_killed_exports_temp_folder_is_removed_by_the_next_export_on_this_machine(tmp_path, capsys):
    """A killed export's `.<out>.tmp-*` folder (a whole export's size) stayed forever: the next
    export could not tell it from a live export's. Now its owner record (host, boot, pid and the
    pid's start time) lets the next export to the same --out remove it once its process is gone;
    folders whose owner runs, is on another host or is unknown stay, named in one line, and
    another --out's leftovers are not touched."""
    import json

    from webfaq.lake.lease import this_process

    lake, hub = tmp_path / "lake", tmp_path / "hub"
    write_lake([faq_row(CRAWL, f"https://s{i % 3}.example/faq", "eng", f"question {i}?", f"answer {i}.")
                for i in range(30)], lake)
    (lake / "_runs").mkdir()  # a lake, if one no job has run on
    out = hub / "out"
    _killed_export(lake, out)
    (killed,) = [p for p in hub.iterdir() if p.name.startswith(".out.tmp-")]
    token = killed.name.rsplit("-", 1)[1]
    record = json.loads((hub / f".out.owner-{token}").read_text())
    assert record["pid"] > 0 and record["pid_start"] and record["host"]
    assert (killed / "data" / "eng").is_dir() and not out.exists()

    def plant(name: str, owner: dict | None) -> Path:
        (hub / name).mkdir()
        (hub / name / "part-00000.parquet").write_text("an export in progress")
        if owner is not None:
            (hub / name.replace(".tmp-", ".owner-")).write_text(json.dumps(owner))
        return hub / name

    dead_other_out = plant(".other.tmp-0000000a", record)  # another --out: not this export's business
    running = plant(".out.tmp-0000000b", dict(this_process(), out="out"))  # this test's own process runs
    elsewhere = plant(".out.tmp-0000000c", dict(record, host="another-host"))
    unknown = plant(".out.tmp-0000000d", None)  # an export from before owner records
    assert cli(["export", "--lake", str(lake), "--out", str(out)]) == 0
    removed, left = capsys.readouterr().err.splitlines()
    assert removed.startswith("webfaq export: removed 1 temp folder") and killed.name in removed
    assert left.startswith("webfaq export: left 3 temp folder(s)")
    assert all(p.name in left for p in (running, elsewhere, unknown)) and "still runs" in left
    assert not killed.exists() and not (hub / f".out.owner-{token}").exists()
    assert all((p / "part-00000.parquet").exists() for p in (dead_other_out, running, elsewhere, unknown))
    assert (out / "data" / "eng").is_dir() and read_card(out)[0]["configs"]
    assert sorted(p.name for p in hub.iterdir() if p.name.startswith(".out.")) == sorted(
        [running.name, ".out.owner-0000000b", elsewhere.name, ".out.owner-0000000c", unknown.name])


def test_an_overwrite_killed_between_its_renames_puts_the_earlier_export_back(tmp_path, capsys):
    """`--overwrite` moves the earlier export aside, then renames the new one into place. Killed
    between the two, --out was gone; the next export removed both hidden folders, so if that one
    failed too the user had no export at all. Now the earlier export is put back first (the killed
    command never happened), and the next export without --overwrite is refused, not built."""
    lake, hub = tmp_path / "lake", tmp_path / "hub"
    write_lake([faq_row(CRAWL, f"https://s{i % 3}.example/faq", "eng", f"question {i}?", f"answer {i}.")
                for i in range(30)], lake)
    (lake / "_runs").mkdir()
    out = hub / "out"
    assert cli(["export", "--lake", str(lake), "--out", str(out)]) == 0
    first = read_card(out)[0]
    _killed_export(lake, out, "export.between_renames", "--overwrite")
    assert not out.exists() and [p.name[:9] for p in sorted(hub.iterdir())] == [".out.old-", ".out.owne", ".out.tmp-"]
    capsys.readouterr()
    assert cli(["export", "--lake", str(lake), "--out", str(out)]) == 2  # --out holds an export again
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith(f"webfaq export: put back the earlier export at {out}")
    assert lines[1].startswith("webfaq export: removed 1 temp folder")
    assert read_card(out)[0] == first and [p.name for p in hub.iterdir()] == ["out"]
