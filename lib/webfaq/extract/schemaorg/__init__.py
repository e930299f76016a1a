"""schema.org FAQPage extraction from HTML (JSON-LD, microdata, RDFa) and WDC N-Quads.

``extract_faq_pairs`` is the entry point for HTML; ``nquads.iter_nquads_pages`` for Web Data
Commons N-Quads. The FAQ rule itself (FAQPage -> mainEntity -> Question(first name) ->
acceptedAnswer(first) -> Answer(first text)) lives in :mod:`webfaq.extract.schemaorg.model` and is shared
by every syntax. Literals are returned raw (the method's cleaning is applied by the caller).
"""

from __future__ import annotations

from typing import Iterable

from webfaq.counters import Counters
from webfaq.extract.schemaorg import jsonld
from webfaq.extract.schemaorg.model import SYNTAXES, RawQA

__all__ = ["RawQA", "SYNTAXES", "extract_faq_pairs", "extract_question_pairs"]


def _count(counters: Counters | None, name: str) -> None:
    if counters is not None:
        counters.add(name)


def extract_faq_pairs(html: str, url: str, syntaxes: Iterable[str], counters: Counters) -> list[RawQA]:
    """All FAQ pairs of one page, for the enabled syntaxes (subset of {"json-ld","microdata","rdfa"}),
    in document order per syntax (JSON-LD first, then microdata, then RDFa).

    Never raises on bad content: a broken block is skipped and counted with
    ``counters.add(f"block_errors.{syntax}.{reason}")`` and the other blocks/syntaxes of the page
    are still processed. ``url`` is the base for relative IRIs (microdata URL values, RDFa
    subjects). Pass the set :func:`webfaq.extract.prefilter.detect_syntaxes` found, so that syntaxes a
    page cannot hold are not parsed (microdata and RDFa need an lxml parse of the page).
    """
    enabled = set(syntaxes)
    out: list[RawQA] = []
    if "json-ld" in enabled:
        try:
            out.extend(jsonld.extract(html, counters))
        except Exception:  # noqa: BLE001 - never let one page kill the task
            _count(counters, "block_errors.json-ld.exception")
    dom_syntaxes = [s for s in ("microdata", "rdfa") if s in enabled]
    if not dom_syntaxes:
        return out
    # lxml and the DOM walkers load on the first page that needs them (most FAQ pages are
    # JSON-LD only): a worker that never sees microdata/RDFa never pays their import.
    from webfaq.extract.schemaorg import htmltree, microdata, rdfa

    try:
        root = htmltree.parse(html)
    except htmltree.EmptyDocument:
        return out
    except Exception:  # noqa: BLE001
        for s in dom_syntaxes:
            _count(counters, f"block_errors.{s}.html_parse")
        return out
    extractors = {"microdata": microdata.extract, "rdfa": rdfa.extract}
    for syntax in dom_syntaxes:
        try:
            out.extend(extractors[syntax](root, url, counters))
        except RecursionError:
            _count(counters, f"block_errors.{syntax}.too_deep")
        except Exception:  # noqa: BLE001 - never let one page kill the task
            _count(counters, f"block_errors.{syntax}.exception")
    return out


def extract_question_pairs(html: str, url: str, syntaxes: Iterable[str]) -> list[RawQA]:
    """(name, accepted answer text) of EVERY schema.org Question of a page, FAQPage or not.

    NOT the FAQ rule (a QAPage's question counts here): a diagnostic used to compare the
    syntaxes of one document, e.g. schema.org's Question example in JSON-LD/microdata/RDFa.
    Unlike :func:`extract_faq_pairs` it may raise on broken input.
    """
    from webfaq.extract.schemaorg.model import question_pairs

    enabled = set(syntaxes)
    out: list[RawQA] = []
    if "json-ld" in enabled:
        out.extend(question_pairs(jsonld.parse_items(html), "json-ld"))
    if "microdata" in enabled or "rdfa" in enabled:
        from webfaq.extract.schemaorg import htmltree, microdata, rdfa

        root = htmltree.parse(html)
        if "microdata" in enabled:
            out.extend(question_pairs(microdata.items(root, url, frozenset({"Question"})), "microdata"))
        if "rdfa" in enabled:
            out.extend(question_pairs(rdfa.graph(root, url), "rdfa"))
    return out
