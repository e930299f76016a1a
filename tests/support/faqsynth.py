"""Synthetic FAQ lakes from real sentences, for dedup tests and benchmarks.

Real text (the langid sentence files and Tatoeba under ``../shared/data``) with controlled edits
gives duplicates whose true Jaccard similarity is known, in the lake's exact layout
(``<lake>/faq/crawl=/language=/*.parquet`` with the FAQ schema), written with pyarrow so that
building a 2M-record lake needs no Spark.
"""

from __future__ import annotations

import random
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator

from webfaq.extract.records import FAQ_FIELDS, PARTITION_COLUMNS, arrow_schema, origin_of, record_id

# ISO 639-1 file names of the langid sentence files -> the lake's ISO 639-3 codes.
ISO3 = {"ar": "ara", "bg": "bul", "cs": "ces", "da": "dan", "de": "deu", "el": "ell", "en": "eng", "es": "spa",
        "fi": "fin", "fr": "fra", "he": "heb", "hi": "hin", "hu": "hun", "id": "ind", "it": "ita", "ja": "jpn",
        "ko": "kor", "nl": "nld", "pl": "pol", "pt": "por", "ro": "ron", "ru": "rus", "sv": "swe", "th": "tha",
        "tr": "tur", "uk": "ukr", "vi": "vie", "zh": "zho"}
FETCH_TIME = datetime(2024, 5, 20, tzinfo=timezone.utc)


def load_sentences(path: str | Path) -> list[str]:
    """Non-empty lines of a sentence file (split on '\\n' only, as the langid tests do)."""
    return [s.strip() for s in Path(path).read_text(encoding="utf-8").split("\n") if s.strip()]


def langid_sentences(root: str | Path) -> dict[str, list[str]]:
    """{iso639-3: sentences} from ``<root>/langid/sentences/*.txt``."""
    out = {}
    for path in sorted(Path(root, "langid", "sentences").glob("*.txt")):
        if path.stem in ISO3:
            out[ISO3[path.stem]] = load_sentences(path)
    return out


def faq_row(crawl: str, url: str, language: str, question: str, answer: str, syntax: str = "json-ld") -> dict:
    """One FAQ lake record with the method's id and origin."""
    return {"id": record_id(question, answer), "crawl": crawl, "url": url, "origin": origin_of(url),
            "language": language, "language_confidence": 0.99, "question": question, "answer": answer,
            "syntax": syntax, "warc_file": f"synthetic/{crawl}.warc.gz", "fetch_time": FETCH_TIME}


def write_lake(rows: Iterable[dict], lake: str | Path, table: str = "faq", files: int = 1, chunk: int = 200_000) -> int:
    """Write rows as ``<lake>/<table>/crawl=/language=/`` Parquet (hive partitioning), in
    ``files`` files per partition and chunk; returns the number of rows written."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    schema = arrow_schema(FAQ_FIELDS)
    part_schema = pa.schema([schema.field(c) for c in PARTITION_COLUMNS])
    total, batch, n = 0, [], 0
    names = [name for name, _ in FAQ_FIELDS]

    def flush(rows_: list[dict], k: int) -> None:
        table_ = pa.Table.from_pylist(rows_, schema=schema)
        for f in range(files):
            part = table_.slice(f * len(rows_) // files, (f + 1) * len(rows_) // files - f * len(rows_) // files)
            ds.write_dataset(part, str(Path(lake, table)), format="parquet",
                             partitioning=ds.partitioning(part_schema, flavor="hive"),
                             basename_template=f"part-{k:05d}-{f:03d}-{{i}}.parquet",
                             existing_data_behavior="overwrite_or_ignore")

    for row in rows:
        batch.append({k: row.get(k) for k in names})
        if len(batch) >= chunk:
            flush(batch, n)
            total, batch, n = total + len(batch), [], n + 1
    if batch:
        flush(batch, n)
        total += len(batch)
    return total


def replace_words(text: str, k: int, rng: random.Random, vocabulary: list[str]) -> str:
    """``text`` with ``k`` distinct word positions replaced by words from ``vocabulary``
    (a controlled edit: each replacement changes up to n word n-grams)."""
    words = text.split(" ")
    for i in rng.sample(range(len(words)), min(k, len(words))):
        words[i] = rng.choice(vocabulary)
    return " ".join(words)


def qa_records(n: int, crawl: str, sentences: dict[str, list[str]], seed: int = 0, exact_rate: float = 0.1,
               near_rate: float = 0.1, answer_sentences: int = 3, host_count: int = 5000) -> Iterator[dict]:
    """A benchmark-shaped stream of FAQ records: questions and answers drawn from real
    sentences, with about ``exact_rate`` exact copies (same text, another URL) and ``near_rate``
    near copies (one word of the answer replaced) of earlier records."""
    rng = random.Random(seed)
    langs = sorted(sentences)
    vocab = {lang: [w for s in sents[:200] for w in s.split(" ") if w] or ["x"] for lang, sents in sentences.items()}
    recent: list[dict] = []
    for i in range(n):
        url = f"https://site{rng.randrange(host_count)}.example/{crawl}/faq/{i}"
        roll = rng.random()
        if recent and roll < exact_rate:
            src = rng.choice(recent)
            row = faq_row(crawl, url, src["language"], src["question"], src["answer"])
        elif recent and roll < exact_rate + near_rate:
            src = rng.choice(recent)
            answer = replace_words(src["answer"], 1, rng, vocab[src["language"]])
            row = faq_row(crawl, url, src["language"], src["question"], answer)
        else:
            lang = langs[rng.randrange(len(langs))]
            sents = sentences[lang]
            question = sents[rng.randrange(len(sents))]
            answer = " ".join(sents[rng.randrange(len(sents))] for _ in range(answer_sentences))
            row = faq_row(crawl, url, lang, question, answer)
        if len(recent) < 10_000:
            recent.append(row)
        else:
            recent[rng.randrange(len(recent))] = row
        yield row
