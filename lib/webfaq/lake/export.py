"""`webfaq export`: the lake as a folder ready to upload as a Hugging Face dataset.

The lake is for pipelines (partitions, staging, manifests); people load datasets. An export is
what WebFAQ publishes, built from the lake's newest tables and nothing else::

    README.md                       dataset card: YAML ``configs`` front matter, counts, the
                                    models, the run ids it came from, the licence note
    data/<lang>/part-NNNNN.parquet  QA config ``<lang>`` (split ``default``, as WebFAQ): WebFAQ
                                    2.0's fields ``id, origin, url, question, answer`` first,
                                    then ours (language, crawl, language_confidence, syntax,
                                    warc_file, fetch_time); from faq_dedup (kept rows), or from
                                    faq when the lake was never deduplicated (the card says so)
    bitext/<l1>-<l2>/part-*.parquet bitext config ``<l1>-<l2>`` in WebFAQ's row layout: origin,
                                    ``<model>_similarity``, question1, question2, answer1,
                                    answer2, details {urls}
    benchmark/<lang>/               the lake's BEIR folder as it is (GenericDataLoader, MTEB)
    retrieval/<lang>-{corpus,queries,qrels}/*.parquet
                                    the same as configs ``<lang>-corpus`` / ``-queries`` /
                                    ``-qrels`` (webfaq-retrieval's names): the Hub loads one file
                                    format per repository, so the JSON/TSV files are not configs

Reads go through pyarrow (local, S3, GCS, HDFS lakes; Delta tables through their logs), in
batches, so memory is bounded by a batch and a row group, not by the lake. The folder is built
under a temp name next to ``--out`` and renamed into place: a crash leaves no half export, and
a non-empty ``--out`` is refused unless ``--overwrite``. Language and pair names become folder
names, so they must match :data:`LANGUAGE` / :data:`PAIR` exactly.

A killed export cannot remove its temp folder, and the next one cannot tell it from a live
export's (on another host sharing the folder, say) by its name. So an export first records its
owner next to it (``.<out>.owner-<token>``: host, boot id, pid and the pid's start time), and a
later export to the same ``--out`` removes the folders of an owner that ran on this machine and
is gone (:func:`clean_leftovers`); others stay, named in one line on stderr.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
import shutil
import sys
from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, TextIO

from webfaq.faults import failpoint
from webfaq.lake.lease import (LakeChanged, on_this_machine, process_alive, reader_mark, reader_store, this_process,
                               written_since)
from webfaq.lake.manifest import read_manifests
from webfaq.lake.table import (LakeFS, delta_active_files, is_data_file, is_delta, join, lake_fs,
                               removed_on_failure)

LANGUAGE = re.compile(r"[a-z]{3}")            # ISO 639-3, as the lake's language partitions
PAIR = re.compile(r"[a-z]{3}-[a-z]{3}")       # <l1>-<l2>, l1 < l2
QA_FIELDS = ["id", "origin", "url", "question", "answer"]  # WebFAQ 2.0's, in its order
QA_OURS = ["language", "crawl", "language_confidence", "syntax", "warc_file", "fetch_time"]
BITEXT_TEXT = ["question1", "question2", "answer1", "answer2", "details"]
BEIR_FILES = ("corpus.jsonl", "queries.jsonl", "qrels/train.tsv", "qrels/test.tsv", "hard_negatives.jsonl",
              "origins.tsv", "benchmark.json")
ROWS_PER_FILE = 1_000_000  # ~0.3-1 GB of FAQ text per file: under the Hub's recommended size
BATCH_ROWS = 65_536
SPLIT = "default"          # WebFAQ's split name for QA and bitext configs


class ExportError(Exception):
    """The export was refused or the lake cannot be exported as it is; nothing was written."""


@dataclass
class ExportConfig:
    """One config of the dataset: its name, kind and (split -> path glob), with what it holds."""

    name: str
    kind: str  # qa | bitext | corpus | queries | qrels
    splits: dict[str, str]
    rows: int = 0
    files: int = 0


@dataclass
class Export:
    """What an export holds; becomes the card."""

    lake: str
    configs: list[ExportConfig] = field(default_factory=list)
    qa_source: str | None = None
    bitext_field: str | None = None
    align: dict[str, Any] | None = None
    benchmarks: dict[str, dict[str, Any]] = field(default_factory=dict)
    runs: dict[str, list[str]] = field(default_factory=dict)
    license: str = "other"

    @property
    def rows(self) -> int:
        return sum(c.rows for c in self.configs)


# --------------------------------------------------------------------------- entry point

def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


def export(lake: str, out: str | Path, overwrite: bool = False, s3: Any = None,
           rows_per_file: int = ROWS_PER_FILE, license: str = "other",
           say: Callable[[str], None] = _stderr) -> Export:
    """Write the export of ``lake`` to the local folder ``out`` (see the module docstring).
    ``say`` gets the one line about temp folders earlier exports left next to ``out``."""
    target = Path(out)
    if "://" in str(out):
        raise ExportError(f"--out must be a local folder (the Hub uploads from one), not {out}")
    lake = lake.rstrip("/")
    for line in clean_leftovers(target):  # first: it may put an earlier export back at --out
        say(line)
    _check_target(target, overwrite, lake)
    fs = lake_fs(lake, s3)
    store = reader_store(lake, s3)
    mark = reader_mark(store, lake) if store else None  # LakeBusy while a run writes the lake
    result = Export(lake=lake.rsplit("/", 1)[-1], license=license)
    token = _claim(target)
    tmp = _leftover(target, "tmp", token)
    try:
        _build(fs, lake, tmp, result, rows_per_file, store, mark)
        _check_target(target, overwrite, lake)  # again: --out may have been filled meanwhile
        _publish(tmp, target, _leftover(target, "old", token))
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        _release(target, token)
    return result


def _build(fs: LakeFS, lake: str, tmp: Path, result: Export, rows_per_file: int, store: Any, mark: Any) -> None:
    """Write the whole export into ``tmp``; LakeChanged when a writer took the lake meanwhile."""
    manifests = read_manifests(fs, lake)
    export_qa(fs, lake, tmp, result, rows_per_file)
    export_bitext(fs, lake, tmp, result, rows_per_file, manifests)
    export_benchmark(fs, lake, tmp, result)
    if not result.configs:
        raise ExportError(f"{lake} holds no faq, faq_dedup, bitext or benchmark data to export")
    result.runs = source_runs(lake, manifests, result)
    (tmp / "README.md").write_text(card(result), encoding="utf-8")
    if mark is not None and (writer := written_since(store, lake, mark)) is not None:
        raise LakeChanged(f"the lake {lake} was written while it was exported, by {writer.describe()}; "
                          "nothing was exported: export again when that run has finished")
    failpoint("export.before_publish")


CARD_TITLE = "# WebFAQ Lake export"


def _check_target(target: Path, overwrite: bool, lake: str) -> None:
    """Refuse an ``--out`` whose replacement would lose data: one that overlaps a local lake
    (the lake itself, a folder in it, or a folder holding it), a non-empty one without
    ``--overwrite``, and, even with it, anything but an earlier export (a folder whose
    README.md is an export's card): ``--overwrite`` replaces an export, never a user's folder."""
    if "://" not in lake or lake.startswith("file://"):
        where, lake_dir = target.resolve(), Path(lake.removeprefix("file://")).resolve()
        if where == lake_dir or lake_dir in where.parents or where in lake_dir.parents:
            raise ExportError(f"--out {target} overlaps the lake {lake}; choose a folder outside it")
    if not target.exists() or (target.is_dir() and not any(target.iterdir())):
        return
    if not overwrite:
        raise ExportError(f"{target} exists and is not empty; pass --overwrite to replace it")
    if not _is_export(target):
        raise ExportError(f"{target} is not an earlier export (no export card README.md in it); --overwrite "
                          "replaces only an export: choose a new or empty folder")


def _is_export(folder: Path) -> bool:
    """Is ``folder`` an export: does its README.md open, after the YAML front matter, with the
    card's title? The front matter lists every config, so it grows with the export (10 KB for
    the demo's 63 configs, far more for a crawl's thousand language pairs): the title is found
    by skipping it line by line, not by looking at a fixed prefix of the file."""
    card_path = folder / "README.md"
    try:
        if not card_path.is_file():  # not a FIFO, which would block the open
            return False
        with open(card_path, encoding="utf-8", errors="replace") as card_file:
            return _first_heading(card_file) == CARD_TITLE
    except OSError:
        return False


_FENCE = "---"               # opens and closes the card's YAML front matter
_CARD_LINE = 4096            # longer lines are read in pieces: a hostile README costs bounded memory
_CARD_MAX_LINES = 1_000_000  # and bounded time


def _first_heading(card_file: TextIO) -> str | None:
    """The first non-blank line of ``card_file`` after an opening front matter block, if any."""
    raw = islice(iter(lambda: card_file.readline(_CARD_LINE), ""), _CARD_MAX_LINES)
    lines = (line.rstrip("\r\n") for line in raw)
    first = next(lines, None)
    if first == _FENCE:
        if _FENCE not in lines:  # reads up to and including the closing fence
            return None
        first = None
    rest = lines if first is None else chain([first], lines)
    return next((line for line in rest if line.strip()), None)


def _publish(tmp: Path, target: Path, old: Path) -> None:
    """Rename the finished folder into place; an existing target is moved aside to ``old``
    first and removed only once the new folder is there."""
    if not target.exists() or (target.is_dir() and not any(target.iterdir())):
        os.replace(tmp, target)  # an empty directory is replaced by the rename itself
        return
    os.replace(target, old)
    failpoint("export.between_renames")
    os.replace(tmp, target)
    shutil.rmtree(old)


# --------------------------------------------------------------------------- temp folders of killed exports

_LEFTOVER = re.compile(r"\.(?P<out>.+)\.(?P<kind>tmp|old|owner)-(?P<token>[0-9a-f]{8})")
_OWNER_MAX = 4096  # an owner record is ~150 bytes; anything bigger is not one


def _leftover(target: Path, kind: str, token: str) -> Path:
    """``.<out>.<kind>-<token>`` next to ``target``: the export's temp folder (``tmp``), the
    earlier export it moves aside (``old``), and the record of its owner (``owner``). Only the
    random token varies: nothing read from the lake or a record becomes a path."""
    return target.parent / f".{target.name}.{kind}-{token}"


def _claim(target: Path) -> str:
    """Record this process as the owner of a new token, then make its temp folder (so every
    temp folder has a complete owner record from its first moment). Returns the token."""
    token = secrets.token_hex(4)
    target.parent.mkdir(parents=True, exist_ok=True)
    record = dict(this_process(), out=target.name,
                  started=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
    owner = _leftover(target, "owner", token)
    with removed_on_failure(lambda: owner.unlink(missing_ok=True)):  # a full disk leaves no half record
        with open(owner, "x", encoding="utf-8") as fh:
            fh.write(json.dumps(record))
            fh.flush()
            os.fsync(fh.fileno())
        _leftover(target, "tmp", token).mkdir()
    return token


def _release(target: Path, token: str) -> None:
    """The export ended: its owner record goes, unless a folder of it is still there (a removal
    that failed: the record lets a later export on this machine remove it)."""
    if not any(_leftover(target, kind, token).exists() for kind in ("tmp", "old")):
        _leftover(target, "owner", token).unlink(missing_ok=True)


def _owner_gone(record_path: Path) -> str | None:
    """None when the owner recorded at ``record_path`` ran on this machine and its process is
    gone (pid and start time: a reused pid is not it); else why its folders must stay."""
    try:
        if not record_path.is_file() or record_path.is_symlink():  # not a FIFO, which would block
            return "no owner record"
        with open(record_path, encoding="utf-8", errors="replace") as fh:
            record = json.loads(fh.read(_OWNER_MAX))
        host, boot, pid, start = record["host"], record["boot"], record["pid"], record["pid_start"]
        if not (isinstance(pid, int) and pid > 0 and all(isinstance(v, str) for v in (host, boot, start))):
            raise ValueError("unexpected field types")
    except (OSError, ValueError, KeyError, TypeError):
        return "owner record unreadable"
    if not on_this_machine(host, boot):
        return f"owned by pid {pid} on host {host[:64]!r}" + (" (since rebooted)" if host == this_process()["host"]
                                                               else "")
    if process_alive(pid, start):
        return f"its export, pid {pid}, still runs"
    return None


def clean_leftovers(target: Path) -> list[str]:
    """Remove the temp folders (and moved-aside earlier exports) that exports to ``target``
    killed on this machine left next to it, with their owner records; leave those whose owner
    may be alive or is unknown. An export killed between ``_publish``'s two renames left no
    ``target`` and the earlier export moved aside: that is put back, as if the killed command
    had never run (its new folder is complete, but it was never published). Returns at most two lines to show: what went, what stayed.
    Only real folders and files whose names follow the pattern for this ``--out`` are
    touched (a symlink is never followed, another ``--out``'s leftovers are never touched)."""
    if not target.parent.is_dir():
        return []
    groups: dict[str, list[Path]] = {}
    for entry in sorted(target.parent.iterdir()):
        match = _LEFTOVER.fullmatch(entry.name)
        if match and match["out"] == target.name and not entry.is_symlink():
            groups.setdefault(match["token"], []).append(entry)
    removed, left, put_back = [], [], []
    for token, entries in groups.items():
        folders = [e for e in entries if e.is_dir() and e != _leftover(target, "owner", token)]
        why = _owner_gone(_leftover(target, "owner", token))
        if why is not None:
            left += [f"{f.name} ({why})" for f in folders]
            continue
        old = _leftover(target, "old", token)
        if old in folders and not target.exists() and not target.is_symlink():
            os.replace(old, target)  # killed between its two renames: the command never happened
            folders.remove(old)
            put_back.append(old.name)
        for folder in folders:
            try:
                shutil.rmtree(folder)
                removed.append(folder.name)
            except OSError as exc:
                left.append(f"{folder.name} (its export is gone, but it could not be removed: {exc.strerror})")
        _release(target, token)
    lines = [f"webfaq export: put back the earlier export at {target} that a killed --overwrite export had moved "
             f"aside ({name})" for name in put_back]
    if removed:
        lines.append(f"webfaq export: removed {len(removed)} temp folder(s) that a killed export to {target} left: "
                     f"{', '.join(removed)}")
    if left:
        lines.append(f"webfaq export: left {len(left)} temp folder(s) next to {target} that another export may "
                     f"own: {'; '.join(left)}; remove them by hand once no export to {target} runs")
    return lines


# --------------------------------------------------------------------------- reading the lake

def table_files(fs: LakeFS, table: str) -> list[tuple[str, dict[str, str]]]:
    """(path under ``table``, partition values) of every data file: a Delta table's active
    files from its log (replaced ones stay on disk), else the Parquet files in its folders."""
    if not fs.exists(table):
        return []
    if is_delta(fs, table):
        return delta_active_files(table, s3=fs.s3)
    out = []
    for f in fs.list_files(table):
        if is_data_file(f.path) and not f.path.startswith(("_", ".")):
            values = dict(seg.split("=", 1) for seg in f.path.split("/")[:-1] if "=" in seg)
            out.append((f.path, values))
    return sorted(out)


def by_value(files: list[tuple[str, dict[str, str]]], key: str, pattern: re.Pattern) -> dict[str, list[str]]:
    """Files grouped by the partition value ``key``; a value that is not a safe name stops the
    export (it would become a folder and a config name)."""
    groups: dict[str, list[str]] = {}
    for rel, values in files:
        value = values.get(key) or ""
        if not pattern.fullmatch(value):
            raise ExportError(f"{key}={value!r} ({rel}) is not a valid {key} name ({pattern.pattern})")
        groups.setdefault(value, []).append(rel)
    return dict(sorted(groups.items()))


def batches(fs: LakeFS, table: str, rel: str, values: dict[str, str]) -> Iterator:
    """The file's rows in record batches, with partition columns the file lacks (a lake
    written before files carried them) added from its path."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    with fs.open_input(join(table, rel)) as fh:
        pf = pq.ParquetFile(fh)
        for batch in pf.iter_batches(batch_size=BATCH_ROWS):
            for key, value in values.items():
                if key not in batch.schema.names:
                    batch = batch.append_column(key, pa.array([value] * batch.num_rows, pa.string()))
            yield batch


class ShardWriter:
    """Parquet files ``part-00000.parquet``, ``part-00001.parquet``, ... of at most
    ``rows_per_file`` rows in ``folder``, with one schema (batches are cast to it)."""

    def __init__(self, folder: Path, columns: list[str], rows_per_file: int):
        self.folder, self.columns, self.rows_per_file = folder, columns, rows_per_file
        self.schema = None
        self.writer = None
        self.in_file = self.rows = self.files = 0

    def write(self, batch) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        batch = self._project(batch)
        while batch.num_rows:
            if self.writer is None:
                self.folder.mkdir(parents=True, exist_ok=True)
                self.writer = pq.ParquetWriter(self.folder / f"part-{self.files:05d}.parquet", self.schema)
                self.files += 1
            take = min(batch.num_rows, self.rows_per_file - self.in_file)
            self.writer.write_table(pa.Table.from_batches([batch.slice(0, take)]))
            batch = batch.slice(take)
            self.in_file += take
            self.rows += take
            if self.in_file >= self.rows_per_file:
                self.close()

    def _project(self, batch):
        """``batch`` with exactly ``columns`` (nulls for one a file lacks), in the first
        batch's types."""
        import pyarrow as pa

        if self.schema is None:
            fields = [batch.schema.field(c) if c in batch.schema.names else pa.field(c, pa.string())
                      for c in self.columns]
            self.schema = pa.schema(fields)
        arrays = [batch.column(c).cast(f.type) if c in batch.schema.names else pa.nulls(batch.num_rows, f.type)
                  for c, f in zip(self.columns, self.schema)]
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.writer, self.in_file = None, 0


# --------------------------------------------------------------------------- the three parts

def export_qa(fs: LakeFS, lake: str, out: Path, result: Export, rows_per_file: int) -> None:
    """One config per language: the deduplicated table's rows (the raw one's when the lake
    has no faq_dedup), WebFAQ 2.0's fields first."""
    for name in ("faq_dedup", "faq"):
        files = table_files(fs, join(lake, name))
        if files:
            break
    else:
        return
    result.qa_source = name
    table = join(lake, name)
    values = dict(files)
    for language, rels in by_value(files, "language", LANGUAGE).items():
        writer = ShardWriter(out / "data" / language, QA_FIELDS + QA_OURS, rows_per_file)
        for rel in rels:
            for batch in batches(fs, table, rel, values[rel]):
                writer.write(batch)
        writer.close()
        if writer.rows:  # a config without files would not load
            result.configs.append(ExportConfig(language, "qa", {SPLIT: f"data/{language}/*.parquet"},
                                               writer.rows, writer.files))


def export_bitext(fs: LakeFS, lake: str, out: Path, result: Export, rows_per_file: int,
                  manifests: list[dict[str, Any]]) -> None:
    """One config per language pair, in WebFAQ's bitext row layout; the similarity field keeps
    the name the align job gave it (for its model)."""
    import pyarrow.parquet as pq

    table = join(lake, "bitext")
    files = table_files(fs, table)
    if not files:
        return
    with fs.open_input(join(table, files[0][0])) as fh:
        names = pq.read_schema(fh).names
    similarity = [n for n in names if n.endswith("_similarity")]
    if len(similarity) != 1 or "details" not in names:
        raise ExportError(f"{table} is not in WebFAQ's row layout (columns {names}); run `webfaq align` again")
    result.bitext_field = similarity[0]
    result.align = next((m for m in reversed(manifests) if m.get("job") == "align" and m.get("status") == "complete"),
                        None)
    values = dict(files)
    for pair, rels in by_value(files, "pair", PAIR).items():
        writer = ShardWriter(out / "bitext" / pair, ["origin", result.bitext_field, *BITEXT_TEXT], rows_per_file)
        for rel in rels:
            for batch in batches(fs, table, rel, values[rel]):
                writer.write(batch)
        writer.close()
        if writer.rows:
            result.configs.append(ExportConfig(pair, "bitext", {SPLIT: f"bitext/{pair}/*.parquet"}, writer.rows,
                                               writer.files))


def export_benchmark(fs: LakeFS, lake: str, out: Path, result: Export) -> None:
    """Each language's BEIR folder, copied as it is, plus its corpus, queries and qrels as
    Parquet configs (``<lang>-corpus`` split ``corpus``, ``-queries`` split ``queries``,
    ``-qrels`` splits ``train`` and ``test``)."""
    table = join(lake, "benchmark")
    if not fs.exists(table):
        return
    for language in fs.list_dirs(table):
        if language.startswith(("_", ".")):
            continue
        if not LANGUAGE.fullmatch(language):
            raise ExportError(f"benchmark folder {language!r} is not a language name ({LANGUAGE.pattern})")
        folder = out / "benchmark" / language
        present = {f.path for f in fs.list_files(join(table, language))}
        if "corpus.jsonl" not in present:
            continue
        for name in BEIR_FILES:
            if name in present:
                _copy(fs, join(table, language, name), folder / name)
        info = json.loads((folder / "benchmark.json").read_text(encoding="utf-8")) if "benchmark.json" in present else {}
        result.benchmarks[language] = info
        result.configs += beir_configs(folder, out / "retrieval", language)


def _copy(fs: LakeFS, src: str, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    with fs.open_input(src) as fh, open(dst, "wb") as out:
        while block := fh.read(1 << 20):
            out.write(block)


def beir_configs(folder: Path, root: Path, language: str) -> list[ExportConfig]:
    """Parquet copies of one BEIR folder's corpus, queries and qrels, read as streams."""
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.json as pjson
    import pyarrow.parquet as pq

    def convert(reader, dst: Path) -> int:
        """Rows written; an empty split gets no file (the Hub cannot load an empty split)."""
        dst.parent.mkdir(parents=True, exist_ok=True)
        rows = 0
        with pq.ParquetWriter(dst, reader.schema) as writer:
            for batch in reader:
                writer.write_batch(batch)
                rows += batch.num_rows
        if not rows:
            dst.unlink()
        return rows

    def jsonl(path: Path, columns: list[str]):
        schema = pa.schema([(c, pa.string()) for c in columns])
        return pjson.open_json(path, parse_options=pjson.ParseOptions(explicit_schema=schema,
                                                                      unexpected_field_behavior="ignore"))

    def tsv(path: Path):
        types = {"query-id": pa.string(), "corpus-id": pa.string(), "score": pa.int64()}
        return pcsv.open_csv(path, parse_options=pcsv.ParseOptions(delimiter="\t", quote_char=False),
                             convert_options=pcsv.ConvertOptions(column_types=types))

    out = []
    for kind, split, columns in (("corpus", "corpus", ["_id", "title", "text"]), ("queries", "queries", ["_id", "text"])):
        rel = f"{language}-{kind}/{split}.parquet"
        rows = convert(jsonl(folder / f"{kind}.jsonl", columns), root / rel)
        if rows:
            out.append(ExportConfig(f"{language}-{kind}", kind, {split: f"retrieval/{rel}"}, rows, 1))
    qrels = ExportConfig(f"{language}-qrels", "qrels", {})
    for split in ("train", "test"):
        if (folder / "qrels" / f"{split}.tsv").exists():
            rel = f"{language}-qrels/{split}.parquet"
            rows = convert(tsv(folder / "qrels" / f"{split}.tsv"), root / rel)
            if rows:
                qrels.rows += rows
                qrels.splits[split], qrels.files = f"retrieval/{rel}", qrels.files + 1
    return out + ([qrels] if qrels.splits else [])


# --------------------------------------------------------------------------- provenance and card

def source_runs(lake: str, manifests: list[dict[str, Any]], result: Export) -> dict[str, list[str]]:
    """Run ids of the newest complete runs that wrote the exported tables' partitions (and the
    benchmark folders' own records): what the export came from."""
    from webfaq.lake.verify import Findings, complete_outputs, expected_files, expected_partitions

    tables = {t for t in (result.qa_source, "bitext" if result.bitext_field else None) if t}
    findings = Findings()  # what verify would report is its business: the export names runs only
    outputs = complete_outputs(manifests, findings)
    runs: dict[str, set[str]] = {}
    for (table, _), expected in expected_partitions(lake, outputs, findings).items():
        name = table.rsplit("/", 1)[-1]
        if name in tables:
            runs.setdefault(name, set()).add(expected.run_id)
    if result.benchmarks:
        found = {info["run_id"] for info in result.benchmarks.values() if info.get("run_id")}
        found |= {run_id for (table, _), (run_id, _) in expected_files(lake, outputs, findings).items()
                  if table.rsplit("/", 1)[-1] == "benchmark"}
        runs["benchmark"] = found
    return {k: sorted(v) for k, v in sorted(runs.items())}


def _yaml_list(key: str, values: Iterable[str], indent: str = "") -> list[str]:
    return [f"{indent}{key}:"] + [f"{indent}- {json.dumps(v)}" for v in values]


def front_matter(result: Export) -> str:
    """The card's YAML header: licence, languages, tasks and one entry per config (scalars are
    JSON strings, which YAML reads as they are)."""
    languages = sorted({c.name for c in result.configs if c.kind == "qa"} | set(result.benchmarks))
    lines = [_FENCE, f"license: {json.dumps(result.license)}", "pretty_name: \"WebFAQ Lake export\""]
    lines += _yaml_list("language", languages) if languages else []
    tasks = ["question-answering"] * any(c.kind == "qa" for c in result.configs) \
        + ["translation"] * bool(result.bitext_field) + ["text-retrieval"] * bool(result.benchmarks)
    lines += _yaml_list("task_categories", tasks)
    lines.append("configs:")
    for c in result.configs:
        lines += [f"- config_name: {json.dumps(c.name)}", "  data_files:"]
        for split, path in c.splits.items():
            lines += [f"  - split: {json.dumps(split)}", f"    path: {json.dumps(path)}"]
    return "\n".join(lines + [_FENCE, ""])


def card(result: Export) -> str:
    """README.md: the front matter, then what each config holds, where it came from and how to
    load it."""
    kinds = {"qa": "QA pairs", "bitext": "aligned QA pairs", "corpus": "benchmark corpus",
             "queries": "benchmark queries", "qrels": "benchmark relevance judgements"}
    when = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    body = [
        CARD_TITLE, "",
        f"Question/answer pairs from schema.org `FAQPage` markup in Common Crawl, exported on {when} "
        f"by `webfaq export` from the lake `{result.lake}`: {len(result.configs)} configs, {result.rows:,} rows.", "",
        "| config | holds | splits | rows | files |", "|---|---|---|---:|---:|",
    ]
    for c in result.configs:
        body.append(f"| `{c.name}` | {kinds[c.kind]} | {', '.join(c.splits)} | {c.rows:,} | {c.files} |")
    body += ["", "## Columns", ""]
    if result.qa_source:
        dedup = ("deduplicated (exact and near duplicates removed; the lake's `faq_dedup`)"
                 if result.qa_source == "faq_dedup" else
                 "**not deduplicated** (the lake's raw `faq` table: `webfaq dedup` was never run)")
        body += [f"QA configs (one per ISO 639-3 language, split `{SPLIT}`), {dedup}: WebFAQ 2.0's fields "
                 "`id` (md5 of question + \" \" + answer), `origin` (scheme://host), `url`, `question`, `answer`, "
                 "then `language`, `crawl` (Common Crawl crawl id), `language_confidence` (fastText lid.176), "
                 "`syntax` (json-ld, microdata, rdfa), `warc_file`, `fetch_time`. WebFAQ 2.0's "
                 "`semantic_similarity_score`, `topic` and `question_type` are not computed by this pipeline.", ""]
    if result.bitext_field:
        align = result.align or {}
        params = align.get("params") or {}
        body += [f"Bitext configs (`<l1>-<l2>`, split `{SPLIT}`) in WebFAQ's row layout: `origin`, "
                 f"`{result.bitext_field}`, `question1`, `question2`, `answer1`, `answer2`, `details` (`urls`: the "
                 f"two pages). `{result.bitext_field}` is the cosine of the two QAs' embeddings by the model "
                 f"`{align.get('model', 'unknown')}` (run {align.get('run_id', 'unknown')}; scoring "
                 f"{params.get('scoring', 'unknown')}, candidate threshold {params.get('candidate', 'unknown')}, "
                 f"final threshold {params.get('final', 'unknown')}, at least {params.get('min_pairs', 'unknown')} "
                 "pairs per language pair). Pairs are mutual best matches within one website.", ""]
    if result.benchmarks:
        body += ["Retrieval benchmarks: `benchmark/<lang>/` is a BEIR folder (`corpus.jsonl`, `queries.jsonl`, "
                 "`qrels/train.tsv`, `qrels/test.tsv`, `hard_negatives.jsonl`, `origins.tsv` (each website's side, kept across refreshes), `benchmark.json` with sizes, model "
                 "and split rule); configs `<lang>-corpus`, `<lang>-queries` and `<lang>-qrels` hold the same rows "
                 "as Parquet. A query's id is its answer's id prefixed with `q`. No website has queries in both "
                 "train and test.", ""]
    body += ["## Provenance", "", "Newest complete runs of the lake that wrote what was exported (their manifests "
             "are in the lake's `_runs/`; `webfaq verify` checks the lake against them):", ""]
    body += [f"* `{table}`: {', '.join(f'`{r}`' for r in runs) or 'no manifest'}" for table, runs in result.runs.items()]
    body += ["", "## Licence", "",
             "The questions and answers are text published on third-party websites, collected from Common Crawl "
             "(https://commoncrawl.org/terms-of-use). Copyright in the texts stays with the websites' owners; "
             f"this export grants no rights to them. The `license` field (`{result.license}`) states the terms "
             "under which the publisher offers the compilation; use it for research in line with those terms "
             "and with the source websites' own.", "",
             "## Loading", "", "```python",
             "import datasets",
             "qa = datasets.load_dataset(\"path/or/hub-id\", \"deu\", split=\"default\")",
             "pairs = datasets.load_dataset(\"path/or/hub-id\", \"deu-eng\", split=\"default\")",
             "from beir.datasets.data_loader import GenericDataLoader",
             "corpus, queries, qrels = GenericDataLoader(\"benchmark/deu\").load(split=\"test\")",
             "```", ""]
    return front_matter(result) + "\n".join(body)
