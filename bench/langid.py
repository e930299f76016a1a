"""Benchmark the language-ID backends: accuracy per language and speed on one core.

Data (read from ../shared/data, see its README):
  * langid/sentences/<iso639-1>.txt  - lingua-py test sentences (Leipzig corpora), 28 languages
  * parallel/tatoeba/tatoeba.<xxx>-eng.<xxx> - the non-English side of LASER's Tatoeba pairs,
    12 languages (ISO 639-3 already; cmn is scored as the macro-language zho, which lid.176 and
    langdetect report)

For every text the backend's top-1 language is compared with the gold label:
  acc   - top-1 correct, no threshold
  kept  - correct AND kept by the v1 rule (prob >= --threshold, default LangIdConfig().threshold)
Speed = texts / second through ``LanguageIdentifier.identify`` (the exact call the pipeline makes),
single process pinned to one CPU, measured with time.perf_counter around the loop (model load
reported separately).

Usage:  .venv/bin/python bench/langid.py [--limit N] [--backends fasttext,langdetect]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from webfaq.config import LangIdConfig
from webfaq.extract.langid import get_identifier, to_iso639_3

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data"
MACRO = {"cmn": "zho"}  # individual language -> macro-language the models report


def load_sets(data_dir: Path, limit: int | None) -> dict[str, dict[str, list[str]]]:
    sets: dict[str, dict[str, list[str]]] = {"sentences": {}, "tatoeba": {}}
    for path in sorted((data_dir / "langid" / "sentences").glob("*.txt")):
        gold = to_iso639_3(path.stem)
        if gold is None:
            raise SystemExit(f"cannot map {path.name} to ISO 639-3")
        sets["sentences"][gold] = _read(path, limit)
    for path in sorted((data_dir / "parallel" / "tatoeba").glob("tatoeba.*-eng.*")):
        code = path.name.split(".")[1].split("-")[0]
        if path.suffix[1:] != code:  # skip the English side
            continue
        sets["tatoeba"][MACRO.get(code, code)] = _read(path, limit)
    if not sets["sentences"] and not sets["tatoeba"]:
        raise SystemExit(f"no data under {data_dir}")
    return sets


def _read(path: Path, limit: int | None) -> list[str]:
    lines = [line.strip() for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]
    return lines[:limit] if limit else lines


def run_backend(backend: str, sets, threshold: float):
    t0 = time.perf_counter()
    ident = get_identifier(LangIdConfig(backend=backend, threshold=0.0))
    ident.identify("warm up")
    load_s = time.perf_counter() - t0
    scores: dict[tuple[str, str], tuple[int, int, int]] = {}
    total_n, total_s = 0, 0.0
    for set_name, langs in sets.items():
        for gold, texts in langs.items():
            start = time.perf_counter()
            results = [ident.identify(t) for t in texts]
            total_s += time.perf_counter() - start
            total_n += len(texts)
            correct = sum(r.language == gold for r in results)
            kept = sum(r.language == gold and r.confidence >= threshold for r in results)
            scores[(set_name, gold)] = (len(texts), correct, kept)
    return scores, load_s, total_n / total_s if total_s else float("nan"), total_n, total_s


def pin_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    return "not pinned (no sched_setaffinity)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="texts per language (quick run)")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--backends", default="fasttext,langdetect")
    parser.add_argument("--threshold", type=float, default=LangIdConfig().threshold,
                        help="confidence threshold for the 'kept' column (default: v1 0.63)")
    args = parser.parse_args(argv)

    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    sets = load_sets(args.data_dir, args.limit)
    pinning = pin_one_core()
    runs = {b: run_backend(b, sets, args.threshold) for b in backends}

    head = f"{'set':<10}{'lang':<6}{'n':>6}"
    for b in backends:
        head += f"  {b[:10] + ' acc':>15}{'kept':>7}"
    print(f"language ID benchmark (acc = top-1 correct; kept = correct and prob >= {args.threshold}); {pinning}")
    print(head)
    print("-" * len(head))

    def row(label_set: str, lang: str, keys) -> str:
        n = sum(runs[backends[0]][0][k][0] for k in keys)
        line = f"{label_set:<10}{lang:<6}{n:>6}"
        for b in backends:
            sc = runs[b][0]
            acc = sum(sc[k][1] for k in keys) / n
            kept = sum(sc[k][2] for k in keys) / n
            line += f"  {acc:>15.3f}{kept:>7.3f}"
        return line

    for set_name, langs in sets.items():
        for gold in langs:
            print(row(set_name, gold, [(set_name, gold)]))
        if langs:
            print(row(set_name, "ALL", [(set_name, g) for g in langs]))
        print("-" * len(head))
    all_keys = [(s, g) for s, langs in sets.items() for g in langs]
    print(row("overall", "ALL", all_keys) + "   (micro average over all texts)")
    macro = f"{'overall':<10}{'MACRO':<6}{'':>6}"
    for b in backends:
        sc = runs[b][0]
        macro += f"  {sum(sc[k][1] / sc[k][0] for k in all_keys) / len(all_keys):>15.3f}"
        macro += f"{sum(sc[k][2] / sc[k][0] for k in all_keys) / len(all_keys):>7.3f}"
    print(macro + "   (mean of per-language rates)")
    print()
    for b in backends:
        _, load_s, rate, n, secs = runs[b]
        print(f"speed {b:<11} {rate:>10,.0f} texts/s  ({n} texts in {secs:.2f} s, one core; load {load_s:.2f} s)")
    if "fasttext" in runs and "langdetect" in runs:
        print(f"speed ratio fasttext/langdetect: {runs['fasttext'][2] / runs['langdetect'][2]:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
