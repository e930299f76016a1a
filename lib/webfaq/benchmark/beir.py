"""The BEIR layout the benchmark is published in, and a reader for it.

One folder per language, as BEIR's ``GenericDataLoader`` and MTEB's retrieval loaders expect::

    <lang>/corpus.jsonl          {"_id": ..., "title": "", "text": <answer>}
    <lang>/queries.jsonl         {"_id": ..., "text": <question>}      (train and test queries)
    <lang>/qrels/train.tsv       query-id<TAB>corpus-id<TAB>score      (header line, score 1)
    <lang>/qrels/test.tsv
    <lang>/hard_negatives.jsonl  {"query_id", "positive_id", "positive", "negatives": [...]}

Ids: a document's ``_id`` is the lake record's ``id`` (md5 of question + answer), so every
benchmark document joins back to the lake; its query's ``_id`` is the same id with the prefix
``q``. Query and document ids must differ: BEIR's evaluator drops results whose document id
equals the query id (``ignore_identical_ids``, on by default), which would drop every positive.
Titles are empty (FAQ answers have none of their own). The Spark job writes these files; this
module names them and reads them back (``webfaq evaluate``, tests).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Iterator

CORPUS, QUERIES, QRELS_DIR, NEGATIVES = "corpus.jsonl", "queries.jsonl", "qrels", "hard_negatives.jsonl"
QRELS_HEADER = ("query-id", "corpus-id", "score")
QUERY_ID_PREFIX = "q"
SPLITS = ("train", "test")


def query_id(record_id: str) -> str:
    return QUERY_ID_PREFIX + record_id


def qrels_path(folder: str | Path, split: str) -> Path:
    return Path(folder, QRELS_DIR, f"{split}.tsv")


def read_jsonl(path: str | Path) -> Iterator[dict]:
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def read_corpus(folder: str | Path) -> dict[str, str]:
    """``{_id: title + " " + text}`` (title omitted when empty), in file order."""
    out = {}
    for row in read_jsonl(Path(folder, CORPUS)):
        title = row.get("title") or ""
        out[row["_id"]] = f"{title} {row['text']}" if title else row["text"]
    return out


def read_queries(folder: str | Path) -> dict[str, str]:
    return {row["_id"]: row["text"] for row in read_jsonl(Path(folder, QUERIES))}


def read_qrels(folder: str | Path, split: str) -> dict[str, dict[str, int]]:
    """BEIR's reading: tab-separated, header skipped, integer scores."""
    out: dict[str, dict[str, int]] = {}
    with open(qrels_path(folder, split), encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_MINIMAL)
        header = next(reader, None)
        if tuple(header or ()) != QRELS_HEADER:
            raise ValueError(f"{qrels_path(folder, split)}: header {header!r}, expected {QRELS_HEADER}")
        for qid, did, score in reader:
            out.setdefault(qid, {})[did] = int(score)
    return out


def language_folders(root: str | Path) -> list[Path]:
    """``root`` itself when it is one language's folder, else its language sub-folders."""
    root = Path(root)
    if (root / CORPUS).exists():
        return [root]
    return sorted(p for p in root.iterdir() if p.is_dir() and (p / CORPUS).exists())
