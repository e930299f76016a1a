"""`webfaq report`: one self-contained HTML page that shows what the lake's runs did.

Everything comes from the run manifests (``<lake>/_runs/*.json``) plus two small column reads
with pyarrow (the FAQ table's ``origin`` column for the top websites and websites per language,
the dedup component table's ``size`` column for the histogram). Charts are inline SVG drawn
here, so the page needs no network, no CDN and no fonts beyond the viewer's own; a few lines of
inline JavaScript only check, after layout, that every chart drew something (and say so on the
page and on the console if not).

Which runs a panel shows: the newest *complete* run of each job. "Previous crawl" deltas compare
it with the newest earlier complete run of the same job that covered another set of crawls (a
re-run of the same crawl is not a previous crawl). A stage that has not run, or whose runs all
failed, gets a panel that says so instead of a chart.

Every number shown carries its source, so a test can compare the page with the manifests:

* ``data-metric="qa.kept" data-run="<run id>" data-value="30"``: a manifest counter
  (absent counters are 0); a metric containing ``/`` is a path into the manifest
  (``aligned_per_pair/deu-eng``, ``sizes/deu/train``); a path that ends at an object stands
  for the sum of its values (``output/partition_rows/CC-MAIN-2024-22``);
* ``data-delta-metric=… data-run=… data-prev-run=… data-value=<current - previous>``;
* ``data-lake="faq/origin/<origin>"`` etc.: read from the lake's tables, not a manifest;
* ``data-derived=…``: computed from other numbers on the page (shares, sums of the rest).
"""

from __future__ import annotations

import datetime as dt
import html
import math
import os
import shlex
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Iterable

from webfaq.lake import LakeFS, join, lake_fs, read_manifests, removed_on_failure

JOBS = ("extract", "dedup", "align", "benchmark")
# Every chart the page can hold (data-chart="…" when drawn, data-chart-empty="…" when a stage
# has nothing to show yet).
CHARTS = ("crawls", "funnel", "funnel-qas", "drops", "languages", "websites", "syntax", "dedup-status",
          "dedup-components", "align-heatmap", "benchmark-sizes", "refine", "evaluation")
TOP_LANGUAGES = 20
TOP_WEBSITES = 15

# One colour per job, used for its funnel stages, tiles and charts; categorical colours for
# syntaxes and splits. Tailwind-like tones: readable on white, distinguishable for most readers.
COLOR = {"extract": "#2563eb", "dedup": "#0d9488", "align": "#7c3aed", "benchmark": "#d97706",
         "drop": "#e11d48", "muted": "#94a3b8", "grid": "#e2e8f0", "text": "#1e293b", "sub": "#64748b"}
SYNTAX_COLOR = {"json-ld": "#2563eb", "microdata": "#0d9488", "rdfa": "#d97706", "nquads": "#7c3aed"}
STATUS_COLOR = {"kept": "#0d9488", "exact": "#f59e0b", "near": "#e11d48"}
SPLIT_COLOR = {"train": "#d97706", "test": "#2563eb", "heldout": "#94a3b8"}

# Two funnels, one unit each (a bar of pairs beside a bar of QAs would compare nothing):
RECORD_FUNNEL = [  # (label, job, counter) - WARC records, as the extraction reads them
    ("WARC records", "extract", "warc.records"),
    ("HTML responses", "extract", "responses.html"),
    ("Prefilter hits", "extract", "prefilter.hit"),
    ("Pages parsed", "extract", "pages.parsed"),
]
QA_FUNNEL = [  # (label, job, counter) - question/answer pairs, from extraction to the benchmark corpus
    ("QAs extracted", "extract", "qa.extracted"),
    ("Kept by filters F1-F7", "extract", "qa.kept"),
    ("After dedup", "dedup", "dedup.kept"),
    ("Benchmark corpus", "benchmark", "refine.kept"),
]
REFINE_LABELS = {
    "repeated_question": "the same question again in its language",
    "near_duplicate": "a near-duplicate question on the same website",
    "qa_mismatch": "question and answer do not match (Q-A similarity)",
}
DROP_LABELS = {
    "empty": "F1 empty question or answer",
    "answer_has_question_mark": "F2 '?' in the answer",
    "answer_too_many_lines": "F3 answer has too many lines",
    "question_too_short": "F4 question too short",
    "answer_too_short": "F5 answer too short",
    "host_mismatch": "F6 host does not match the URL",
    "language_low_confidence": "F7 language ID not confident",
    "language_unmappable": "F7 language not in ISO 639-3",
}


# =============================================================================== the data
@dataclass
class JobView:
    """One job's runs as the report uses them."""

    job: str
    current: dict | None = None  # newest complete run
    previous: dict | None = None  # newest earlier complete run over other crawls
    latest: dict | None = None  # newest run whatever its status
    crawls: tuple = ()
    previous_crawls: tuple = ()

    @property
    def run(self) -> str:
        return self.current["run_id"] if self.current else ""

    @property
    def prev_run(self) -> str:
        return self.previous["run_id"] if self.previous else ""

    def counter(self, name: str, prev: bool = False) -> int | None:
        m = self.previous if prev else self.current
        return None if m is None else int((m.get("counters") or {}).get(name, 0))


@dataclass
class LakeData:
    lake: str
    manifests: list[dict]
    jobs: dict[str, JobView] = field(default_factory=dict)
    origins: dict[str, int] = field(default_factory=dict)  # current extract crawls
    prev_origins: dict[str, int] | None = None  # previous extract crawls, when still in the lake
    websites_per_language: dict[str, int] = field(default_factory=dict)
    component_sizes: list[int] | None = None  # None: table not readable
    crawl_history: list[tuple[str, dict]] = field(default_factory=list)  # (crawl, manifest)
    evaluation: dict | None = None  # the newest evaluation a run recorded (webfaq run's evaluate stage)
    evaluation_run: str = ""
    notes: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # unreadable manifests, one warning each


def metric_value(manifest: dict, metric: str) -> int:
    """The number a ``data-metric`` names (see the module docstring)."""
    if "/" not in metric:
        return int((manifest.get("counters") or {}).get(metric, 0))
    node: Any = manifest
    for part in metric.split("/"):
        node = node.get(part, 0) if isinstance(node, dict) else 0
    if isinstance(node, dict):
        return int(sum(v for v in node.values() if isinstance(v, (int, float))))
    return int(node or 0)


def crawls_of(m: dict, manifests: list[dict]) -> tuple:
    if m.get("job") == "extract":
        return tuple(sorted((m.get("output") or {}).get("crawls") or []))
    if m.get("crawls"):
        return tuple(sorted(m["crawls"]))
    configured = ((m.get("config") or {}).get(m.get("job"), {}) or {}).get("crawls") or []
    if configured:
        return tuple(sorted(configured))
    # benchmark: every crawl the lake held when it started (what its default reads)
    held = set()
    for e in manifests:
        if e.get("job") == "extract" and e.get("status") == "complete" and e.get("started", "") < m.get("started", ""):
            held.update((e.get("output") or {}).get("crawls") or [])
    return tuple(sorted(held))


def job_view(manifests: list[dict], job: str) -> JobView:
    runs = [m for m in manifests if m.get("job") == job]  # oldest first
    view = JobView(job, latest=runs[-1] if runs else None)
    complete = [m for m in runs if m.get("status") == "complete"]
    if not complete:
        return view
    view.current = complete[-1]
    view.crawls = crawls_of(view.current, manifests)
    for m in reversed(complete[:-1]):
        crawls = crawls_of(m, manifests)
        if crawls != view.crawls:
            view.previous, view.previous_crawls = m, crawls
            break
    return view


def _local_path(path: str) -> str:
    return path[len("file://"):] if path.startswith("file://") else path


def _dataset(path: str, fs: LakeFS):
    """A pyarrow dataset of a lake table (Delta tables through deltalake: their directories
    can hold files that are no longer part of the table)."""
    import pyarrow.dataset as ds

    if fs.exists(join(path, "_delta_log")):
        from webfaq.lake.table import delta_table

        return delta_table(path, fs.s3).to_pyarrow_dataset()
    import pyarrow as pa

    keys = pa.schema([("crawl", pa.string()), ("language", pa.string())])  # "2024" stays a string
    filesystem, where = fs.arrow(path)
    return ds.dataset(where, filesystem=filesystem, format="parquet", partitioning=ds.partitioning(keys, flavor="hive"))


def _crawl_filter(crawls: Iterable[str]):
    import pyarrow.dataset as ds

    return ds.field("crawl").isin(list(crawls))


def read_origins(table: str, crawls: Iterable[str], fs: LakeFS) -> tuple[dict[str, int], dict[str, int]]:
    """QAs per origin, and distinct origins per language, of ``crawls`` of a FAQ table. Reads
    the origin column (and the partition columns) batch by batch and keeps per-(language,
    origin) counts only, so memory follows the number of websites, not of rows."""
    import pyarrow as pa

    crawls = list(crawls)
    if not crawls or not fs.exists(table):
        return {}, {}
    dataset = _dataset(table, fs)
    if not {"crawl", "origin"} <= set(dataset.schema.names):  # no partition written yet
        return {}, {}
    keys = ["language", "origin"]
    partials, held = [], 0
    for batch in dataset.to_batches(columns=keys, filter=_crawl_filter(crawls)):
        if batch.num_rows:
            part = pa.Table.from_batches([batch]).group_by(keys).aggregate([("origin", "count")])
            partials.append(part.rename_columns(keys + ["n"]))
            held += part.num_rows
        if held > 2_000_000:  # fold the partial counts together
            partials = [pa.concat_tables(partials).group_by(keys).aggregate([("n", "sum")]).rename_columns(keys + ["n"])]
            held = partials[0].num_rows
    if not partials:
        return {}, {}
    pairs = pa.concat_tables(partials).group_by(keys).aggregate([("n", "sum")]).rename_columns(keys + ["n"])
    per_origin = pairs.group_by("origin").aggregate([("n", "sum")])
    origins = {o if o is not None else "(no origin)": n
               for o, n in zip(per_origin["origin"].to_pylist(), per_origin["n_sum"].to_pylist())}
    per_lang = pairs.group_by("language").aggregate([("origin", "count")])
    websites = dict(zip(per_lang["language"].to_pylist(), per_lang["origin_count"].to_pylist()))
    return origins, websites


def read_component_sizes(table: str, crawls: Iterable[str], fs: LakeFS) -> list[int] | None:
    """Size of every duplicate cluster of the dedup run's crawls (one per scope + component)."""
    crawls = list(crawls)
    if not fs.exists(table):
        return None
    dataset = _dataset(table, fs)
    if not {"crawl", "size"} <= set(dataset.schema.names):  # no cluster at all: no partition
        return []
    t = dataset.to_table(columns=["scope", "component", "size"], filter=_crawl_filter(crawls))
    if t.num_rows == 0:
        return []
    unique = t.group_by(["scope", "component"]).aggregate([("size", "max")])
    return [int(s) for s in unique["size_max"].to_pylist()]


def collect(lake: str, s3: Any = None) -> LakeData:
    lake = _local_path(lake).rstrip("/") or "/"
    fs = lake_fs(lake, s3)
    skipped: list[str] = []  # unreadable manifests: a warning line each, and a note in the page

    def warn(line: str) -> None:
        print(line, file=sys.stderr)
        skipped.append(line)

    manifests = read_manifests(fs, lake, warn=warn)
    data = LakeData(lake, manifests, {job: job_view(manifests, job) for job in JOBS}, skipped=skipped)
    ex = data.jobs["extract"]
    if ex.current:
        table = _table(lake, ex.current, "faq")
        try:
            data.origins, data.websites_per_language = read_origins(table, ex.crawls, fs)
            if ex.previous:
                prev, _ = read_origins(table, ex.previous_crawls, fs)
                data.prev_origins = prev or None
        except Exception as exc:  # noqa: BLE001 - a report must still come out
            data.notes.append(f"could not read {table}: {type(exc).__name__}: {exc}")
        latest_per_crawl: dict[str, dict] = {}
        for m in manifests:
            if m.get("job") == "extract" and m.get("status") == "complete":
                for crawl in (m.get("output") or {}).get("partition_rows") or {}:
                    latest_per_crawl[crawl] = m
        data.crawl_history = sorted(latest_per_crawl.items())
    for m in reversed(manifests):
        if m.get("status") == "complete" and isinstance(m.get("evaluation"), dict):
            data.evaluation, data.evaluation_run = m["evaluation"], m["run_id"]
            break
    dd = data.jobs["dedup"]
    if dd.current:
        table = join(lake, "faq_dedup_components")
        try:
            data.component_sizes = read_component_sizes(table, dd.crawls, fs)
        except Exception as exc:  # noqa: BLE001
            data.notes.append(f"could not read {table}: {type(exc).__name__}: {exc}")
    return data


def _table(lake: str, manifest: dict, default: str) -> str:
    """A table of the lake by name (a lake that was moved still reports)."""
    name = ((manifest.get("output") or {}).get("table") or default).rstrip("/").rsplit("/", 1)[-1]
    return join(lake, name)


# =============================================================================== formatting
def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def fmt(n: float | int) -> str:
    return f"{int(n):,}"


def short(n: float | int) -> str:
    n = int(n)
    for size, suffix in ((1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")):
        if abs(n) >= size:
            v = n / size
            return f"{v:.1f}{suffix}" if v < 100 else f"{v:.0f}{suffix}"
    return str(n)


def pct(part: float, whole: float, digits: int = 1) -> str:
    return f"{100.0 * part / whole:.{digits}f}%" if whole else "–"


def attrs(**kw: Any) -> str:
    return "".join(f' {k.replace("_", "-")}="{esc(v)}"' for k, v in kw.items() if v is not None and v != "")


def src_attrs(value: int, metric: str | None = None, run: str | None = None, lake: str | None = None,
              derived: str | None = None) -> str:
    """The data attributes that say where a number comes from."""
    return attrs(data_metric=metric, data_run=run if metric else None, data_lake=lake, data_derived=derived,
                 data_value=int(value))


def num(value: int, metric: str | None = None, run: str | None = None, *, lake: str | None = None,
        derived: str | None = None, cls: str = "num", compact: bool = False) -> str:
    text = short(value) if compact else fmt(value)
    title = f' title="{fmt(value)}"' if compact else ""
    return f'<span class="{cls}"{src_attrs(value, metric, run, lake, derived)}{title}>{text}</span>'


@lru_cache(maxsize=None)
def language_name(code: str) -> str:
    try:
        from iso639 import Language

        return Language.from_part3(code).name
    except Exception:  # noqa: BLE001 - unknown or special codes ("und") keep their code
        return code


def display_name(code: str) -> str:
    """A short language name for tables and charts ("Modern Greek (1453-)" -> "Modern Greek")."""
    name = language_name(code)
    return name.split(" (")[0] if " (" in name else name


def delta_parts(cur: int | None, prev: int | None) -> tuple[str, str] | None:
    """(css class, text) of a change, or None when there is nothing to compare."""
    if cur is None or prev is None:
        return None
    d = cur - prev
    if d == 0:
        return "flat", "±0"
    sign = "+" if d > 0 else "−"
    rel = f" ({sign}{abs(100.0 * d / prev):.1f}%)" if prev else " (new)"
    return ("up" if d > 0 else "down"), f"{sign}{fmt(abs(d))}{rel}"


def delta(cur: int | None, prev: int | None, metric: str | None = None, run: str = "", prev_run: str = "",
          *, lake: str | None = None, svg: bool = False, x: float = 0, y: float = 0, anchor: str = "end",
          compact: bool = False) -> str:
    """A change since the previous crawl as an HTML span (or an SVG text); compact: the relative
    change only, the absolute one in the tooltip."""
    parts = delta_parts(cur, prev)
    if parts is None:
        return "" if svg else '<span class="delta none">–</span>'
    cls, text = parts
    title = ""
    if compact and " (" in text:
        absolute, rel = text.split(" (", 1)
        text = rel.rstrip(")") if prev else f"{absolute} new"
        title = f' title="{esc(absolute)} vs {fmt(prev or 0)}"'
    arrow = {"up": "▲ ", "down": "▼ ", "flat": ""}[cls]
    a = attrs(data_delta_metric=metric, data_delta_lake=lake, data_run=run if metric else None,
              data_prev_run=prev_run if metric else None, data_value=(cur or 0) - (prev or 0))
    if svg:
        return f'<text class="delta {cls}" x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{a}>{arrow}{esc(text)}</text>'
    return f'<span class="delta {cls}"{a}{title}>{arrow}{esc(text)}</span>'


def text_width(text: str, size: float = 12.0) -> float:
    """A rough rendered width in a sans-serif face (no font metrics here, so on the generous
    side): capitals and digits are wider than lower case, CJK glyphs are square."""
    em = 0.0
    for ch in text:
        if ord(ch) > 0x2E80:
            em += 1.0
        elif ch.isupper() or ch.isdigit() or ch in "mwMW%@":
            em += 0.68
        elif ch in "ijlrtf.,:;'|!() -":
            em += 0.34
        else:
            em += 0.57
    return em * size


def clip(text: str, width: float, size: float = 12.0) -> str:
    if text_width(text, size) <= width:
        return text
    while text and text_width(text + "…", size) > width:
        text = text[:-1]
    return text + "…"


# =============================================================================== charts (SVG)
def svg_open(width: float, height: float, label: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="{esc(label)}">')


@dataclass
class Bar:
    label: str
    value: int
    source: str  # src_attrs(...) of the value
    color: str = COLOR["extract"]
    sub: str = ""  # small text under the label
    note: str = ""  # right column: share, conversion (plain text)
    delta: tuple | None = None  # (cur, prev, metric, run, prev_run, lake)
    title: str = ""


def hbar_chart(bars: list[Bar], *, width: int = 1040, log: bool = False, note_w: int = 70,
               delta_w: int = 150, label: str = "") -> str:
    row_h = 34 if any(b.sub for b in bars) else 26
    label_w = min(max((text_width(b.label) for b in bars), default=60) + 16, 260)
    value_w = max(text_width(fmt(b.value)) for b in bars) + 14 if bars else 40
    show_delta = any(b.delta and delta_parts(b.delta[0], b.delta[1]) for b in bars)
    dw = delta_w if show_delta else 0
    nw = note_w if any(b.note for b in bars) else 0
    area = width - label_w - value_w - nw - dw
    top = 4
    height = top + row_h * len(bars) + 4
    vmax = max((b.value for b in bars), default=0) or 1
    scale = (lambda v: math.log10(v + 1) / math.log10(vmax + 1)) if log else (lambda v: v / vmax)
    out = [svg_open(width, height, label)]
    for i, b in enumerate(bars):
        y = top + i * row_h
        mid = y + (13 if b.sub else row_h / 2)
        w = max(scale(b.value) * area, 2 if b.value else 0)
        title = f"<title>{esc(b.title or b.label)}: {fmt(b.value)}</title>"
        out.append(f'<text class="lbl" x="{label_w - 10:.1f}" y="{mid + 4:.1f}" text-anchor="end">'
                   f'{esc(clip(b.label, label_w - 14))}{title}</text>')
        if b.sub:
            out.append(f'<text class="sub" x="{label_w - 10:.1f}" y="{mid + 18:.1f}" text-anchor="end">{esc(b.sub)}</text>')
        out.append(f'<rect class="track" x="{label_w:.1f}" y="{mid - 8:.1f}" width="{area:.1f}" height="16" rx="3"/>')
        out.append(f'<rect data-mark="1" x="{label_w:.1f}" y="{mid - 8:.1f}" width="{w:.1f}" height="16" rx="3" '
                   f'fill="{b.color}">{title}</rect>')
        out.append(f'<text class="val" x="{label_w + w + 6:.1f}" y="{mid + 4:.1f}"{b.source}>{fmt(b.value)}</text>')
        if b.note:
            out.append(f'<text class="note" x="{label_w + area + value_w + nw - 6:.1f}" y="{mid + 4:.1f}" '
                       f'text-anchor="end">{esc(b.note)}</text>')
        if b.delta:
            cur, prev, metric, run, prev_run, lake = b.delta
            out.append(delta(cur, prev, metric, run, prev_run, lake=lake, svg=True, x=width - 2, y=mid + 4))
    out.append("</svg>")
    return "".join(out)


def hbar_compact(bars: list[Bar], *, width: int = 500, label: str = "") -> str:
    """Horizontal bars for half-width cards: the label (and the change) on a line above each bar,
    so long labels (websites) do not squeeze the bars."""
    row_h = 40
    value_w = max((text_width(fmt(b.value)) for b in bars), default=20) + 14
    note_w = max((text_width(b.note) for b in bars), default=0) + 12 if any(b.note for b in bars) else 0
    area = width - value_w - note_w
    vmax = max((b.value for b in bars), default=0) or 1
    out = [svg_open(width, row_h * len(bars) + 2, label)]
    for i, b in enumerate(bars):
        y = i * row_h
        dparts = delta_parts(b.delta[0], b.delta[1]) if b.delta else None
        label_room = width - (text_width(dparts[1]) + 24 if dparts else 0)
        title = f"<title>{esc(b.title or b.label)}: {fmt(b.value)}</title>"
        out.append(f'<text class="lbl" x="0" y="{y + 13}">{esc(clip(b.label, label_room - 8))}{title}</text>')
        if b.delta:
            cur, prev, metric, run, prev_run, lake = b.delta
            out.append(delta(cur, prev, metric, run, prev_run, lake=lake, svg=True, x=width - 1, y=y + 13))
        w = max(area * b.value / vmax, 2 if b.value else 0)
        out.append(f'<rect class="track" x="0" y="{y + 19}" width="{area:.1f}" height="14" rx="3"/>')
        out.append(f'<rect data-mark="1" x="0" y="{y + 19}" width="{w:.1f}" height="14" rx="3" fill="{b.color}">'
                   f'{title}</rect>')
        out.append(f'<text class="val" x="{w + 6:.1f}" y="{y + 31}"{b.source}>{fmt(b.value)}</text>')
        if b.note:
            out.append(f'<text class="note" x="{width - 1}" y="{y + 31}" text-anchor="end">{esc(b.note)}</text>')
    out.append("</svg>")
    return "".join(out)


def stacked_rows(rows: list[tuple[str, list[tuple[str, int, str, str]]]], *, width: int = 500,
                 label: str = "") -> str:
    """100% stacked bars, one per row: (row label, [(part name, value, colour, source attrs)])."""
    label_w = max((text_width(r[0]) for r in rows), default=40) + 16
    area = width - label_w - 4
    row_h = 40
    height = row_h * len(rows) + 4
    out = [svg_open(width, height, label)]
    for i, (name, parts) in enumerate(rows):
        y = 6 + i * row_h
        total = sum(p[1] for p in parts) or 1
        out.append(f'<text class="lbl" x="{label_w - 10:.1f}" y="{y + 19:.1f}" text-anchor="end">{esc(name)}</text>')
        x = float(label_w)
        for part, value, color, source in parts:
            if not value:
                continue
            w = area * value / total
            share = pct(value, total)
            out.append(f'<rect data-mark="1" x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="28" fill="{color}">'
                       f'<title>{esc(part)}: {fmt(value)} ({share})</title></rect>')
            if w > text_width(share) + 10:
                out.append(f'<text class="inbar" x="{x + w / 2:.1f}" y="{y + 18:.1f}" text-anchor="middle" '
                           f'data-derived="share of {esc(part)}">{share}</text>')
            x += w
    out.append("</svg>")
    return "".join(out)


def legend(items: list[tuple[str, str, str]]) -> str:
    """Swatches: (name, colour, html after the name)."""
    return '<div class="legend">' + "".join(
        f'<span class="item"><i style="background:{c}"></i>{esc(n)} {extra}</span>' for n, c, extra in items) + "</div>"


def vbar_chart(bars: list[tuple[str, int, str]], *, width: int = 500, height: int = 220, color: str,
               log: bool = False, label: str = "", highlight: str | None = None) -> str:
    """Vertical bars: (x label, value, source attrs); value labels on top."""
    n = max(len(bars), 1)
    left, bottom, top = 8, 34, 22
    slot = (width - 2 * left) / n
    bw = min(slot * 0.7, 80)
    vmax = max((b[1] for b in bars), default=0) or 1
    scale = (lambda v: math.log10(v + 1) / math.log10(vmax + 1)) if log else (lambda v: v / vmax)
    plot_h = height - bottom - top
    out = [svg_open(width, height, label),
           f'<line class="axis" x1="{left}" x2="{width - left}" y1="{height - bottom}" y2="{height - bottom}"/>']
    for i, (name, value, source) in enumerate(bars):
        cx = left + slot * (i + 0.5)
        h = max(scale(value) * plot_h, 2 if value else 0)
        y = height - bottom - h
        fill = COLOR["muted"] if highlight and name != highlight else color
        out.append(f'<rect data-mark="1" x="{cx - bw / 2:.1f}" y="{y:.1f}" width="{bw:.1f}" height="{h:.1f}" rx="3" '
                   f'fill="{fill}"><title>{esc(name)}: {fmt(value)}</title></rect>')
        out.append(f'<text class="val" x="{cx:.1f}" y="{y - 6:.1f}" text-anchor="middle"{source}>{fmt(value)}</text>')
        out.append(f'<text class="lbl" x="{cx:.1f}" y="{height - bottom + 18:.1f}" text-anchor="middle">'
                   f'{esc(clip(name, slot - 4))}</text>')
    out.append("</svg>")
    return "".join(out)


def heat_color(t: float) -> tuple[str, str]:
    """Fill (light to dark violet, the align colour's ramp) for t in [0, 1], and a legible ink."""
    lo, hi = (237, 233, 254), (59, 7, 100)
    rgb = [round(a + (b - a) * t) for a, b in zip(lo, hi)]
    ink = "#ffffff" if 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] < 150 else COLOR["text"]
    return "#" + "".join(f"{c:02x}" for c in rgb), ink


def heatmap(langs: list[str], cells: dict[tuple[str, str], tuple[int, str]], run: str, *, width: int = 600,
            label: str = "") -> str:
    """Lower triangle of language x language; cells[(a, b)] = (pairs, metric key)."""
    n = len(langs)
    label_w = 44
    cell = max(min((width - label_w - 4) / max(n, 1), 48), 24)
    top = 24
    size_w = label_w + cell * n + 4
    vmax = max((v for v, _ in cells.values()), default=0) or 1
    out = [svg_open(size_w, top + cell * n + 4, label)]
    for j, lang in enumerate(langs):
        out.append(f'<text class="lbl" x="{label_w + cell * (j + 0.5):.1f}" y="{top - 8}" text-anchor="middle">'
                   f'{esc(lang)}<title>{esc(language_name(lang))}</title></text>')
    for i, a in enumerate(langs):
        y = top + i * cell
        out.append(f'<text class="lbl" x="{label_w - 8}" y="{y + cell / 2 + 4:.1f}" text-anchor="end">{esc(a)}'
                   f'<title>{esc(language_name(a))}</title></text>')
        for j, b in enumerate(langs[: i + 1]):
            x = label_w + j * cell
            if a == b:
                out.append(f'<rect class="diag" x="{x + 1:.1f}" y="{y + 1:.1f}" width="{cell - 2:.1f}" height="{cell - 2:.1f}"/>')
                continue
            value, metric = cells.get((a, b)) or cells.get((b, a)) or (0, "")
            t = math.log10(value + 1) / math.log10(vmax + 1) if value else 0.0
            fill, ink = heat_color(0.06 + 0.94 * t) if value else ("#f8fafc", COLOR["text"])
            out.append(f'<rect data-mark="1" x="{x + 1:.1f}" y="{y + 1:.1f}" width="{cell - 2:.1f}" height="{cell - 2:.1f}" '
                       f'rx="3" fill="{fill}"><title>{esc(language_name(a))} – {esc(language_name(b))}: '
                       f'{fmt(value)} pairs</title></rect>')
            if value and cell >= 26:
                src = src_attrs(value, f"aligned_per_pair/{metric}", run) if metric else ""
                out.append(f'<text class="cellv" x="{x + cell / 2:.1f}" y="{y + cell / 2 + 4:.1f}" text-anchor="middle" '
                           f'fill="{ink}" style="fill:{ink}"{src}>{short(value)}</text>')
    out.append("</svg>")
    return "".join(out)


def stacked_hbars(rows: list[tuple[str, list[tuple[str, int, str, str]]]], *, width: int = 1040,
                  label: str = "") -> str:
    """Absolute stacked horizontal bars (benchmark splits per language)."""
    label_w = max((text_width(r[0]) for r in rows), default=40) + 16
    totals = [sum(p[1] for p in parts) for _, parts in rows]
    tot_w = max((text_width(fmt(t)) for t in totals), default=20) + 14
    area = width - label_w - tot_w
    vmax = max(totals, default=0) or 1
    row_h = 26
    out = [svg_open(width, row_h * len(rows) + 8, label)]
    for i, ((name, parts), total) in enumerate(zip(rows, totals)):
        y = 4 + i * row_h
        out.append(f'<text class="lbl" x="{label_w - 10:.1f}" y="{y + 16:.1f}" text-anchor="end">{esc(name)}</text>')
        x = float(label_w)
        out.append(f'<rect class="track" x="{x:.1f}" y="{y + 4:.1f}" width="{area:.1f}" height="16" rx="3"/>')
        for part, value, color, _ in parts:
            if not value:
                continue
            w = max(area * value / vmax, 1.5)
            out.append(f'<rect data-mark="1" x="{x:.1f}" y="{y + 4:.1f}" width="{w:.1f}" height="16" fill="{color}">'
                       f'<title>{esc(name)} {esc(part)}: {fmt(value)}</title></rect>')
            x += w
        out.append(f'<text class="val" x="{x + 6:.1f}" y="{y + 16:.1f}" data-derived="sum of the splits">{fmt(total)}</text>')
    out.append("</svg>")
    return "".join(out)


# =============================================================================== panels
def chart(chart_id: str, svg: str, caption: str = "") -> str:
    cap = f'<p class="caption">{caption}</p>' if caption else ""
    return f'<div class="chart" data-chart="{chart_id}">{svg}</div>{cap}'


def empty(chart_id: str, title: str, hint: str = "") -> str:
    hint_html = f"<p>{hint}</p>" if hint else ""
    return (f'<div class="empty" data-chart-empty="{chart_id}"><div class="empty-icon">∅</div>'
            f"<strong>{esc(title)}</strong>{hint_html}</div>")


def card(title: str, body: str, *, sub: str = "", wide: bool = True, anchor: str = "", color: str = "") -> str:
    cls = "card wide" if wide else "card"
    accent = f' style="--accent:{color}"' if color else ""
    sub_html = f'<p class="src">{sub}</p>' if sub else ""
    return f'<section class="{cls}" id="{anchor}"{accent}><h2>{esc(title)}</h2>{sub_html}{body}</section>'


def run_ref(view: JobView) -> str:
    """Which run a panel shows, and the run its deltas compare with."""
    if not view.current:
        return ""
    text = f'run <code>{esc(view.run)}</code> · crawls {esc(", ".join(view.crawls) or "–")}'
    if view.previous:
        text += (f' · Δ vs <code>{esc(view.prev_run)}</code> ({esc(", ".join(view.previous_crawls) or "–")})')
    else:
        text += " · no earlier crawl to compare with"
    return text


def not_run_card(view: JobView, command: str, lake: str, title: str, chart_id: str, **kw: Any) -> str:
    """The card a panel shows while its stage has no run: the panel's title, and what to run."""
    what, hint = not_run(view, command, lake)
    return card(title, empty(chart_id, what, hint), **kw)


def by_prefix(counters: dict, prefix: str) -> list[tuple[str, int]]:
    """The non-zero counters under ``prefix`` as (rest of the name, count), largest first (ties by
    name): the breakdowns every panel draws (drop reasons, languages, refinement drops)."""
    return sorted(((k[len(prefix):], int(v)) for k, v in counters.items() if k.startswith(prefix) and v),
                  key=lambda x: (-x[1], x[0]))


def not_run(view: JobView, command: str, lake: str) -> tuple[str, str]:
    """Title and hint of a stage with no complete run."""
    hint = f"Run <code>{esc(command)} --lake {esc(shlex.quote(lake))}</code> to fill this panel."
    if view.latest is not None:
        m = view.latest
        error = str(m.get("error") or "")[:300]
        return (f"No complete {view.job} run yet",
                f'The newest {view.job} run <code>{esc(m.get("run_id"))}</code> is <b>{esc(m.get("status"))}</b>'
                + (f": {esc(error)}" if error else "") + f". {hint}")
    return f"No {view.job} run yet", hint


def stale_note(data: LakeData, view: JobView) -> str:
    ex = data.jobs["extract"]
    if not (view.current and ex.current):
        return ""
    if view.current.get("started", "") < ex.current.get("started", "") and set(ex.crawls) & set(view.crawls or ex.crawls):
        return (f'<p class="warn">This {view.job} run started before the newest extract run '
                f'(<code>{esc(ex.run)}</code>) rewrote crawl {esc(", ".join(ex.crawls))}: re-run '
                f'<code>webfaq {view.job}</code> for current numbers.</p>')
    missing = sorted(set(ex.crawls) - set(view.crawls))
    if missing and view.job != "benchmark":
        return f'<p class="warn">Crawl {esc(", ".join(missing))} has not been through {view.job} yet.</p>'
    return ""


def kpis(data: LakeData) -> str:
    ex, dd, al = data.jobs["extract"], data.jobs["dedup"], data.jobs["align"]
    tiles = []

    def tile(label: str, value_html: str, delta_html: str, color: str, foot: str = "") -> None:
        tiles.append(f'<div class="kpi" style="--accent:{color}"><div class="k-label">{esc(label)}</div>'
                     f'<div class="k-value">{value_html}</div><div class="k-delta">{delta_html}</div>'
                     f'<div class="k-foot">{foot}</div></div>')

    def counter_tile(label: str, view: JobView, metric: str, foot: str = "") -> None:
        if not view.current:
            tile(label, '<span class="na">–</span>', f'<span class="delta none">no {view.job} run</span>', COLOR["muted"])
            return
        cur, prev = view.counter(metric), view.counter(metric, prev=True)
        tile(label, num(cur, metric, view.run, compact=cur >= 100_000), delta(cur, prev, metric, view.run, view.prev_run),
             COLOR[view.job], foot)

    counter_tile("WARC records", ex, "warc.records")
    counter_tile("QAs kept", ex, "qa.kept")
    if ex.current:
        langs = len((ex.current.get("output") or {}).get("languages") or {})
        prev_langs = len((ex.previous.get("output") or {}).get("languages") or {}) if ex.previous else None
        tile("Languages", num(langs, derived="languages with kept QAs"), delta(langs, prev_langs), COLOR["extract"])
        prev_sites = len(data.prev_origins) if data.prev_origins is not None else None
        tile("Websites", num(len(data.origins), lake="faq/origins"),
             delta(len(data.origins), prev_sites, lake="faq/origins"), COLOR["extract"], "origins with kept QAs")
    else:
        for label in ("Languages", "Websites"):
            tile(label, '<span class="na">–</span>', '<span class="delta none">no extract run</span>', COLOR["muted"])
    counter_tile("After dedup", dd, "dedup.kept")
    counter_tile("Aligned pairs", al, "align.aligned")
    return '<div class="kpis">' + "".join(tiles) + "</div>"


def crawls_panel(data: LakeData) -> str:
    ex = data.jobs["extract"]
    if not data.crawl_history:
        return not_run_card(ex, "webfaq extract <warcs>", data.lake, "Crawls in the lake", "crawls", anchor="crawls")
    bars = [(crawl, metric_value(m, f"output/partition_rows/{crawl}"),
             src_attrs(metric_value(m, f"output/partition_rows/{crawl}"), f"output/partition_rows/{crawl}", m["run_id"]))
            for crawl, m in data.crawl_history]
    current = ex.crawls[0] if len(ex.crawls) == 1 else None
    svg = vbar_chart(bars, width=1040, height=200, color=COLOR["extract"], label="QAs kept per crawl",
                     highlight=current)
    return card("Crawls in the lake", chart("crawls", svg, "QAs kept per crawl (newest complete extract run of each "
                                            "crawl); the crawl of this report is coloured."),
                anchor="crawls", color=COLOR["extract"])


def funnel_panel(data: LakeData) -> str:
    ex = data.jobs["extract"]
    if not ex.current:
        title, hint = not_run(ex, "webfaq extract <warcs>", data.lake)
        return card("Funnel", empty("funnel", title, hint) + empty("funnel-qas", "No QAs yet"), anchor="funnel")
    charts, missing = [], []
    for chart_id, stages, unit in (("funnel", RECORD_FUNNEL, "WARC records"), ("funnel-qas", QA_FUNNEL, "QAs")):
        bars, prev_value = [], None
        for label, job, metric in stages:
            view = data.jobs[job]
            if not view.current:
                missing.append(f"{label.lower()} (no {job} run yet)")
                continue
            value = view.counter(metric)
            note = pct(value, prev_value) if prev_value is not None else ""
            bars.append(Bar(label, value, src_attrs(value, metric, view.run), COLOR[job], sub=job, note=note,
                            delta=(value, view.counter(metric, prev=True), metric, view.run, view.prev_run, None)))
            prev_value = value
        charts.append(chart(chart_id, hbar_chart(bars, log=True, label=f"Funnel of {unit}"),
                            esc(f"{unit}, log scale; right column: the share kept from the bar above.")))
    caption = "Deltas compare with the previous crawl's run of the same job."
    if missing:
        caption += " Not shown yet: " + "; ".join(missing) + "."
    notes = stale_note(data, data.jobs["dedup"]) + stale_note(data, data.jobs["align"])
    body = "".join(charts) + f'<p class="caption">{esc(caption)}</p>' + notes
    return card("Funnel per stage: records read, then QAs kept", body, sub=run_ref(ex), anchor="funnel",
                color=COLOR["extract"])


def intro_panel(data: LakeData) -> str:
    """The first screen: what the lake holds and where each product is, in plain words, so a
    newcomer understands the page without the README."""
    ex, dd, al, bm = (data.jobs[j] for j in JOBS)
    if not ex.current:
        return ""
    langs = (ex.current.get("output") or {}).get("languages") or {}
    pairs = {k: v for k, v in ((al.current or {}).get("aligned_per_pair") or {}).items() if v}
    sizes = (bm.current or {}).get("sizes") or {}
    bench = sorted(l for l, s in sizes.items() if int(s.get("test", 0)) and int(s.get("train", 0)))
    evaluation = data.evaluation
    items = [
        ("FAQ table", "faq/", f"{fmt(ex.counter('qa.kept'))} question/answer pairs from {fmt(len(data.origins))} "
         f"websites in {len(langs)} languages, taken from the schema.org FAQPage markup of "
         f"{fmt(ex.counter('warc.records'))} WARC records (crawl {', '.join(ex.crawls)})."),
        ("Deduplicated table", "faq_dedup/", f"{fmt(dd.counter('dedup.kept'))} pairs kept after removing "
         f"{fmt(dd.counter('dedup.exact'))} exact and {fmt(dd.counter('dedup.near'))} near duplicates."
         if dd.current else "not built yet (webfaq dedup)."),
        ("Bitext", "bitext/", f"{fmt(sum(pairs.values()))} QA pairs aligned across {len(pairs)} language pairs on "
         f"the same websites (model {al.current.get('model', '')})." if al.current else "not built yet (webfaq align)."),
        ("Retrieval benchmarks", "benchmark/<language>/", f"BEIR folders with train and test queries and mined hard "
         f"negatives for {len(bench)} languages ({', '.join(bench)})." if bm.current else
         "not built yet (webfaq benchmark)."),
    ]
    if evaluation:
        mean = evaluation.get("mean") or {}
        scored = [r for r in evaluation.get("languages") or [] if int(r.get("queries", 0))]
        items.append(("Evaluation", "report", f"BM25 on the test queries: mean nDCG@10 {mean.get('ndcg@10', 0):.3f} over "
                      f"the {len(scored)} languages with test queries (below)."))
    rows = "".join(f"<tr><th>{esc(name)}</th><td><code>{esc(where)}</code></td><td>{esc(text)}</td></tr>"
                   for name, where, text in items)
    return card("What this lake holds", f"<table class='data intro'><tbody>{rows}</tbody></table>"
                f"<p class='caption'>Everything below is counted from the run manifests in <code>_runs/</code>; "
                f"<code>webfaq verify --lake {esc(shlex.quote(data.lake))}</code> checks the tables against them.</p>",
                anchor="intro", color=COLOR["extract"])


def refine_panel(data: LakeData) -> str:
    """Why the benchmark's refinement dropped QAs, and which languages were left out and why."""
    bm = data.jobs["benchmark"]
    if not bm.current:
        return not_run_card(bm, "webfaq benchmark", data.lake, "Benchmark refinement", "refine", wide=False, anchor="refine")
    c = bm.current.get("counters") or {}
    refined = int(c.get("refine.input", 0))
    drops = by_prefix(c, "refine.drop.")
    left_out = bm.current.get("left_out") or {}
    out_rows = "".join(f"<tr><td><code>{esc(l)}</code></td><td>{esc(r)}</td></tr>" for l, r in sorted(left_out.items()))
    out_html = (f"<table class='mini'><thead><tr><th>Left out</th><th>why</th></tr></thead><tbody>{out_rows}</tbody>"
                "</table>") if left_out else ""
    if not drops:
        body = empty("refine", "Refinement dropped nothing", f"All {fmt(refined)} QAs of the benchmark languages "
                     "passed the refined filtering.")
        return card("Benchmark refinement", body + out_html, sub=run_ref(bm), wide=False, anchor="refine")
    bars = [Bar(REFINE_LABELS.get(r, r), v, src_attrs(v, f"refine.drop.{r}", bm.run), COLOR["benchmark"],
                note=pct(v, refined), title=f"refine.drop.{r}") for r, v in drops]
    kept = int(c.get("refine.kept", 0))
    caption = (f"Of {num(refined, 'refine.input', bm.run)} QAs in the benchmark languages, "
               f"{num(kept, 'refine.kept', bm.run)} were kept ({pct(kept, refined)}); right column: share of them.")
    return card("Benchmark refinement: why QAs were dropped", chart("refine", hbar_compact(bars, width=500,
                label="Refinement drops"), caption) + out_html, sub=run_ref(bm), wide=False, anchor="refine",
                color=COLOR["benchmark"])


def evaluation_panel(data: LakeData) -> str:
    """BM25 on each language's test queries (the run's evaluate stage): the baseline a dense
    retriever trained on the benchmark should beat."""
    result = data.evaluation
    if not result or not result.get("languages"):
        hint = (f"<code>webfaq run … --lake {esc(shlex.quote(data.lake))}</code> evaluates every benchmark language; "
                f"<code>webfaq evaluate {esc(shlex.quote(join(data.lake, 'benchmark')))}</code> prints the same table.")
        return card("Evaluation: BM25 on the test queries", empty("evaluation", "No evaluation yet", hint),
                    anchor="evaluation")
    rows = [r for r in result["languages"] if int(r.get("queries", 0))]
    bars = [Bar(f"{display_name(r['language'])}", round(float(r["ndcg@10"]) * 1000), "", COLOR["benchmark"],
                note=f"{int(r['queries'])} q", title=f"nDCG@10 x 1000, {r['language']}") for r in rows]
    table_rows = "".join(
        f"<tr><td>{esc(display_name(r['language']))} <code>{esc(r['language'])}</code></td>"
        f"<td class='r'>{fmt(int(r['queries']))}</td><td class='r'>{fmt(int(r['docs']))}</td>"
        f"<td class='r'>{float(r['ndcg@10']):.3f}</td><td class='r'>{float(r['mrr@10']):.3f}</td>"
        f"<td class='r'>{float(r['recall@100']):.3f}</td></tr>" for r in rows)
    mean = result.get("mean") or {}
    table = ("<table class='data nowrap'><thead><tr><th>Language</th><th class='r'>Test queries</th>"
             "<th class='r'>Documents</th><th class='r'>nDCG@10</th><th class='r'>MRR@10</th><th class='r'>R@100</th></tr>"
             f"</thead><tbody>{table_rows}<tr><th>mean of {len(rows)}</th><td></td><td></td>"
             f"<th class='r'>{float(mean.get('ndcg@10', 0)):.3f}</th><th class='r'>{float(mean.get('mrr@10', 0)):.3f}</th>"
             f"<th class='r'>{float(mean.get('recall@100', 0)):.3f}</th></tr></tbody></table>")
    svg = hbar_chart(bars, width=520, label="BM25 nDCG@10 per language (x 1000)") if bars else ""
    body = (f'<div class="split"><div>{chart("evaluation", svg, "nDCG@10 x 1000 per language; right: test queries.")}'
            f'</div><div class="tablewrap">{table}</div></div>')
    return card("Evaluation: BM25 on the test queries", body, sub=f"run <code>{esc(data.evaluation_run)}</code>",
                anchor="evaluation", color=COLOR["benchmark"])


def drops_panel(data: LakeData) -> str:
    ex = data.jobs["extract"]
    if not ex.current:
        return not_run_card(ex, "webfaq extract <warcs>", data.lake, "Why QAs were dropped", "drops", wide=False, anchor="drops")
    c = ex.current.get("counters") or {}
    extracted = int(c.get("qa.extracted", 0))
    drops = by_prefix(c, "drop.")
    skips = sorted(((k, int(v)) for k, v in c.items() if k.startswith(("skip.", "files.partial.", "files.failed.")) and v),
                   key=lambda x: -x[1])
    skip_rows = "".join(f"<tr><td><code>{esc(k)}</code></td><td class='r'>{num(v, k, ex.run)}</td>"
                        f"<td class='r'>{delta(v, ex.counter(k, prev=True), k, ex.run, ex.prev_run)}</td></tr>"
                        for k, v in skips)
    skip_html = (f"<details><summary>Skipped before QA extraction ({len(skips)} "
                 f"{'reason' if len(skips) == 1 else 'reasons'})</summary>"
                 f"<table class='mini'><tbody>{skip_rows}</tbody></table></details>") if skips else ""
    if not drops:
        body = empty("drops", "No QA was dropped", f"All {fmt(extracted)} extracted QAs passed filters F1–F7.")
        return card("Why QAs were dropped", body + skip_html, sub=run_ref(ex), wide=False, anchor="drops")
    bars = [Bar(DROP_LABELS.get(r, r), v, src_attrs(v, f"drop.{r}", ex.run), COLOR["drop"], note=pct(v, extracted),
                delta=(v, ex.counter(f"drop.{r}", prev=True), f"drop.{r}", ex.run, ex.prev_run, None), title=f"drop.{r}")
            for r, v in drops]
    svg = hbar_compact(bars, width=500, label="Drop reasons")
    kept = int(c.get("qa.kept", 0))
    caption = (f"Of {num(extracted, 'qa.extracted', ex.run)} extracted QAs, {num(kept, 'qa.kept', ex.run)} "
               f"were kept ({pct(kept, extracted)}); right column: share of the extracted QAs.")
    return card("Why QAs were dropped", chart("drops", svg, caption) + skip_html, sub=run_ref(ex), wide=False,
                anchor="drops", color=COLOR["drop"])


def languages_panel(data: LakeData, top_n: int = TOP_LANGUAGES) -> str:
    ex, dd = data.jobs["extract"], data.jobs["dedup"]
    if not ex.current:
        return not_run_card(ex, "webfaq extract <warcs>", data.lake, "QAs per language", "languages", anchor="languages")
    c = ex.current.get("counters") or {}
    langs = by_prefix(c, "kept.lang.")
    total = int(c.get("qa.kept", 0))
    if not langs:
        return card("QAs per language", empty("languages", "No QA was kept", "Nothing to break down by language."),
                    sub=run_ref(ex), anchor="languages")
    top, rest = langs[:top_n], langs[top_n:]
    dedup_ok = dd.current is not None and set(ex.crawls) <= set(dd.crawls)
    head = ("<tr><th>#</th><th>Language</th><th class='r'>QAs</th><th class='r'>Share</th>"
            "<th class='r'>Websites</th>" + ("<th class='r'>Deduped</th>" if dedup_ok else "")
            + "<th class='r'>Δ prev. crawl</th></tr>")
    rows = []
    for i, (lang, n) in enumerate(top, 1):
        m = f"kept.lang.{lang}"
        dcell = (f"<td class='r'>{num(dd.counter('dedup.' + m), 'dedup.' + m, dd.run)}</td>" if dedup_ok else "")
        rows.append(f"<tr><td class='muted'>{i}</td><td>{esc(display_name(lang))} <code>{esc(lang)}</code></td>"
                    f"<td class='r'>{num(n, m, ex.run)}</td><td class='r'>{pct(n, total, 2)}</td>"
                    f"<td class='r'>{num(data.websites_per_language.get(lang, 0), lake=f'faq/websites/{lang}')}</td>"
                    f"{dcell}<td class='r'>{delta(n, ex.counter(m, prev=True), m, ex.run, ex.prev_run, compact=True)}</td></tr>")
    if rest:
        other = sum(n for _, n in rest)
        prev_other = (sum(ex.counter(f"kept.lang.{l}", prev=True) for l, _ in rest) if ex.previous else None)
        dcell = (f"<td class='r'>{num(sum(dd.counter('dedup.kept.lang.' + l) for l, _ in rest), derived='other languages after dedup')}</td>"
                 if dedup_ok else "")
        rows.append(f"<tr class='other'><td></td><td>Other ({len(rest)} languages)</td>"
                    f"<td class='r'>{num(other, derived='sum of the other languages')}</td><td class='r'>{pct(other, total, 2)}</td>"
                    f"<td class='r'>{num(sum(data.websites_per_language.get(l, 0) for l, _ in rest), derived='websites of the other languages')}</td>"
                    f"{dcell}<td class='r'>{delta(other, prev_other, compact=True)}</td></tr>")
    dtot = f"<td class='r'>{num(dd.counter('dedup.kept'), 'dedup.kept', dd.run)}</td>" if dedup_ok else ""
    rows.append(f"<tr class='total'><td></td><td>Total</td><td class='r'>{num(total, 'qa.kept', ex.run)}</td>"
                f"<td class='r'>100%</td><td class='r'>{num(len(data.origins), lake='faq/origins')}</td>{dtot}"
                f"<td class='r'>{delta(total, ex.counter('qa.kept', prev=True), 'qa.kept', ex.run, ex.prev_run, compact=True)}</td></tr>")
    table = f"<table class='data nowrap'><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"
    chart_rows = top[:12]
    bars = [Bar(display_name(l), n, src_attrs(n, f"kept.lang.{l}", ex.run), COLOR["extract"], note=pct(n, total),
                delta=(n, ex.counter(f"kept.lang.{l}", prev=True), f"kept.lang.{l}", ex.run, ex.prev_run, None),
                title=f"{display_name(l)} ({l})") for l, n in chart_rows]
    if len(langs) > len(chart_rows):
        rest_n = sum(n for _, n in langs[len(chart_rows):])
        bars.append(Bar(f"Other ({len(langs) - len(chart_rows)} languages)", rest_n,
                        src_attrs(rest_n, derived="sum of the other languages"), COLOR["muted"], note=pct(rest_n, total)))
    svg = hbar_compact(bars, width=380, label="QAs per language")
    body = (f'<div class="split"><div>{chart("languages", svg)}</div>'
            f'<div class="tablewrap">{table}</div></div>')
    return card("QAs per language", body, sub=run_ref(ex) + " · the WebFAQ paper's Table 1 view: share of the kept "
                "QAs; websites are distinct origins in the lake", anchor="languages", color=COLOR["extract"])


def websites_panel(data: LakeData, top_n: int = TOP_WEBSITES) -> str:
    ex = data.jobs["extract"]
    if not ex.current:
        return not_run_card(ex, "webfaq extract <warcs>", data.lake, "Top websites", "websites", wide=False, anchor="websites")
    if not data.origins:
        msg = "; ".join(data.notes) or "The FAQ table holds no rows for this crawl."
        return card("Top websites", empty("websites", "No website to show", esc(msg)), sub=run_ref(ex), wide=False,
                    anchor="websites")
    top = sorted(data.origins.items(), key=lambda x: (-x[1], x[0]))[:top_n]
    total = sum(data.origins.values())
    prev = data.prev_origins
    bars = [Bar(o.split("://", 1)[-1], n, src_attrs(n, lake=f"faq/origin/{o}"), COLOR["extract"], note=pct(n, total),
                delta=(n, prev.get(o, 0) if prev is not None else None, None, "", "", f"faq/origin/{o}"), title=o)
            for o, n in top]
    svg = hbar_compact(bars, width=500, label="Top websites")
    caption = (f"{fmt(len(data.origins))} websites (origins) hold the {fmt(total)} QAs of this crawl in the lake; "
               f"the top {len(top)} hold {pct(sum(n for _, n in top), total)}.")
    return card("Top websites", chart("websites", svg, esc(caption)), sub=f"lake table <code>faq</code> · crawls "
                f"{esc(', '.join(ex.crawls))}", wide=False, anchor="websites", color=COLOR["extract"])


def syntax_panel(data: LakeData) -> str:
    ex = data.jobs["extract"]
    if not ex.current:
        return not_run_card(ex, "webfaq extract <warcs>", data.lake, "schema.org syntax", "syntax", wide=False, anchor="syntax")

    def parts(m: dict) -> list[tuple[str, int, str, str]]:
        c = m.get("counters") or {}
        found = dict(by_prefix(c, "kept.syntax."))
        order = [s for s in SYNTAX_COLOR if s in found] + sorted(set(found) - set(SYNTAX_COLOR))
        return [(s, found[s], SYNTAX_COLOR.get(s, COLOR["muted"]), src_attrs(found[s], f"kept.syntax.{s}", m["run_id"]))
                for s in order]

    cur = parts(ex.current)
    if not cur:
        return card("schema.org syntax", empty("syntax", "No kept QA carries a syntax counter"), sub=run_ref(ex),
                    wide=False, anchor="syntax")
    rows = [(", ".join(ex.crawls) or "current", cur)]
    if ex.previous and parts(ex.previous):
        rows.append((", ".join(ex.previous_crawls) or "previous", parts(ex.previous)))
    svg = stacked_rows(rows, width=500, label="Syntax shares")
    total = sum(p[1] for p in cur)
    items = [(s, color, f'<b><span class="num"{src}>{fmt(v)}</span></b> <span class="muted">{pct(v, total)}</span> '
              + delta(v, ex.counter(f"kept.syntax.{s}", prev=True), f"kept.syntax.{s}", ex.run, ex.prev_run))
             for s, v, color, src in cur]
    return card("schema.org syntax", chart("syntax", svg) + legend(items),
                sub=run_ref(ex) + " · kept QAs by the markup they came from", wide=False, anchor="syntax",
                color=COLOR["extract"])


SIZE_BINS = [(2, 2), (3, 3), (4, 4), (5, 9), (10, 19), (20, 49), (50, 99), (100, 999), (1000, 9999), (10000, None)]


def size_histogram(sizes: list[int]) -> list[tuple[str, int]]:
    top = max(sizes)
    out = []
    for lo, hi in SIZE_BINS:
        if lo > top:
            break
        n = sum(1 for s in sizes if s >= lo and (hi is None or s <= hi))
        name = str(lo) if hi == lo else (f"{fmt(lo)}+" if hi is None else f"{fmt(lo)}–{fmt(hi)}")
        out.append((name, n))
    return out


def dedup_panels(data: LakeData) -> str:
    dd = data.jobs["dedup"]
    if not dd.current:
        title, hint = not_run(dd, "webfaq dedup", data.lake)
        return (card("Duplicates", empty("dedup-status", title, hint), wide=False, anchor="dedup")
                + card("Duplicate cluster sizes", empty("dedup-components", title, hint), wide=False, anchor="components"))
    names = [("kept", "dedup.kept"), ("exact", "dedup.exact"), ("near", "dedup.near")]

    def parts(prev: bool) -> list:
        m = dd.previous if prev else dd.current
        return [(n, dd.counter(k, prev), STATUS_COLOR[n], src_attrs(dd.counter(k, prev), k, m["run_id"])) for n, k in names]

    rows = [(", ".join(dd.crawls), parts(False))]
    if dd.previous:
        rows.append((", ".join(dd.previous_crawls), parts(True)))
    status_svg = stacked_rows(rows, width=500, label="Dedup status")
    labels = {"kept": "kept", "exact": "exact duplicates", "near": "near duplicates"}
    items = [(labels[n], STATUS_COLOR[n], f"<b>{num(dd.counter(k), k, dd.run)}</b> "
              + delta(dd.counter(k), dd.counter(k, True), k, dd.run, dd.prev_run)) for n, k in names]
    facts = "".join(f"<div><span class='muted'>{esc(t)}</span> {num(dd.counter(k), k, dd.run)} "
                    f"{delta(dd.counter(k), dd.counter(k, True), k, dd.run, dd.prev_run)}</div>"
                    for t, k in [("input QAs", "dedup.input"), ("of which exact duplicates of older crawls", "dedup.exact.lake"),
                                 ("clusters", "dedup.components"), ("largest cluster", "dedup.largest_component")])
    input_n = dd.counter("dedup.input")
    status_body = (chart("dedup-status", status_svg) if input_n else
                   empty("dedup-status", "The dedup run had no input rows"))
    status = card("Duplicates", status_body + legend(items) + f"<div class='facts'>{facts}</div>" + stale_note(data, dd),
                  sub=run_ref(dd) + f" · {esc(dd.current.get('mode', ''))}", wide=False, anchor="dedup",
                  color=COLOR["dedup"])
    sizes = data.component_sizes
    if sizes is None:
        comp = empty("dedup-components", "No component table", "<code>faq_dedup_components</code> is missing or "
                     "unreadable" + (": " + esc("; ".join(data.notes)) if data.notes else "."))
    elif not sizes:
        comp = empty("dedup-components", "No duplicate clusters",
                     f"None of the {fmt(input_n)} QAs has an exact or near duplicate.")
    else:
        hist = size_histogram(sizes)
        bars = [(name, n, src_attrs(n, lake=f"faq_dedup_components/sizes/{name}")) for name, n in hist]
        svg = vbar_chart(bars, width=500, height=230, color=COLOR["dedup"], log=True, label="Cluster sizes")
        comp = chart("dedup-components", svg, f"Clusters by size (records per cluster, log scale): {fmt(len(sizes))} "
                     f"clusters, the largest holds {fmt(max(sizes))} records.")
    return status + card("Duplicate cluster sizes", comp, sub=f"lake table <code>faq_dedup_components</code> · crawls "
                         f"{esc(', '.join(dd.crawls))}", wide=False, anchor="components", color=COLOR["dedup"])


def align_panel(data: LakeData, top_n: int = 16) -> str:
    al = data.jobs["align"]
    if not al.current:
        return not_run_card(al, "webfaq align", data.lake, "Aligned pairs per language pair", "align-heatmap", anchor="align")
    per_pair = {k: int(v) for k, v in (al.current.get("aligned_per_pair") or {}).items() if v}
    if not per_pair:
        c = al.current.get("counters") or {}
        body = empty("align-heatmap", "No aligned pairs",
                     f"Of {fmt(c.get('align.input', 0))} QAs, {fmt(c.get('align.compared', 0))} were on websites with "
                     f"two or more languages; {fmt(c.get('align.aligned', 0))} pairs passed the thresholds.")
        return card("Aligned pairs per language pair", body, sub=run_ref(al), anchor="align")
    by_lang: dict[str, int] = defaultdict(int)
    cells = {}
    for key, n in per_pair.items():
        a, _, b = key.partition("-")
        by_lang[a] += n
        by_lang[b] += n
        cells[(a, b)] = (n, key)
    langs = sorted(by_lang, key=lambda l: (-by_lang[l], l))[:top_n]
    shown = sum(n for (a, b), (n, _) in cells.items() if a in langs and b in langs)
    svg = heatmap(langs, cells, al.run, width=600, label="Aligned pairs per language pair")
    total = al.counter("align.aligned")
    caption = (f"{num(total, 'align.aligned', al.run)} aligned pairs in {len(per_pair)} language pairs "
               f"{delta(total, al.counter('align.aligned', True), 'align.aligned', al.run, al.prev_run)}; colour on a "
               f"log scale." + ("" if shown == total else f" The {len(langs)} languages with most pairs are shown "
                                f"({fmt(shown)} pairs)."))
    top_pairs = sorted(per_pair.items(), key=lambda x: -x[1])[:10]
    prev_pairs = (al.previous.get("aligned_per_pair") or {}) if al.previous else None
    rows = "".join(f"<tr><td><code>{esc(k)}</code></td><td class='r'>{num(v, 'aligned_per_pair/' + k, al.run)}</td>"
                   f"<td class='r'>{delta(v, int(prev_pairs.get(k, 0)) if prev_pairs is not None else None, 'aligned_per_pair/' + k, al.run, al.prev_run, compact=True)}</td></tr>"
                   for k, v in top_pairs)
    side = (f"<table class='data nowrap'><thead><tr><th>Top pairs</th><th class='r'>Pairs</th><th class='r'>Δ prev. crawl</th>"
            f"</tr></thead><tbody>{rows}</tbody></table>")
    body = f'<div class="split heat"><div>{chart("align-heatmap", svg, caption)}</div><div class="tablewrap">{side}</div></div>'
    return card("Aligned pairs per language pair", body + stale_note(data, al),
                sub=run_ref(al) + f" · model <code>{esc(al.current.get('model', ''))}</code>", anchor="align",
                color=COLOR["align"])


def benchmark_panel(data: LakeData) -> str:
    bm = data.jobs["benchmark"]
    if not bm.current:
        return not_run_card(bm, "webfaq benchmark", data.lake, "Benchmark sizes per language", "benchmark-sizes", anchor="benchmark")
    sizes = bm.current.get("sizes") or {}
    prev_sizes = (bm.previous.get("sizes") or {}) if bm.previous else None
    langs = sorted(sizes, key=lambda l: (-int(sizes[l].get("corpus", 0)), l))
    if not langs or not any(sum(int(sizes[l].get(k, 0)) for k in SPLIT_COLOR) for l in langs):
        return card("Benchmark sizes per language", empty("benchmark-sizes", "The benchmark run built no split"),
                    sub=run_ref(bm), anchor="benchmark")
    rows = [(l, [(k, int(sizes[l].get(k, 0)), SPLIT_COLOR[k], "") for k in SPLIT_COLOR]) for l in langs]
    svg = stacked_hbars(rows, width=1040, label="Benchmark splits per language")
    cols = [("corpus", "Corpus"), ("train", "Train"), ("test", "Test"), ("heldout", "Held out"),
            ("origins_train", "Sites train"), ("origins_test", "Sites test"), ("negatives", "Negatives")]
    head = "<tr><th>Language</th>" + "".join(f"<th class='r'>{t}</th>" for _, t in cols) + "<th class='r'>Δ corpus</th></tr>"
    body_rows = []
    for l in langs:
        cells = "".join(f"<td class='r'>{num(int(sizes[l].get(k, 0)), f'sizes/{l}/{k}', bm.run)}</td>" for k, _ in cols)
        prev = int((prev_sizes.get(l) or {}).get("corpus", 0)) if prev_sizes is not None else None
        body_rows.append(f"<tr><td>{esc(display_name(l))} <code>{esc(l)}</code></td>{cells}"
                         f"<td class='r'>{delta(int(sizes[l].get('corpus', 0)), prev, f'sizes/{l}/corpus', bm.run, bm.prev_run, compact=True)}</td></tr>")
    table = f"<table class='data nowrap'><thead>{head}</thead><tbody>{''.join(body_rows)}</tbody></table>"
    items = [(k, c, "") for k, c in SPLIT_COLOR.items()]
    left_out = "".join(f'<p class="warn">Left out: {esc(display_name(l))} <code>{esc(l)}</code>: {esc(reason)}</p>'
                       for l, reason in sorted((bm.current.get("left_out") or {}).items()))
    body = f'{chart("benchmark-sizes", svg)}{legend(items)}<div class="tablewrap gap">{table}</div>{left_out}'
    return card("Benchmark sizes per language", body, sub=run_ref(bm) + f" · source <code>{esc(bm.current.get('source', ''))}"
                f"</code> · model <code>{esc(bm.current.get('model') or '')}</code>", anchor="benchmark",
                color=COLOR["benchmark"])


def runs_table(data: LakeData) -> str:
    rows = []
    for m in reversed(data.manifests):
        dur = (m.get("durations_s") or {}).get("total")
        status = str(m.get("status", ""))
        err = f"<div class='err'>{esc(str(m.get('error'))[:240])}</div>" if m.get("error") else ""
        rows.append(f"<tr><td><span class='pill' style='background:{COLOR.get(m.get('job'), COLOR['muted'])}'>"
                    f"{esc(m.get('job'))}</span></td><td><code>{esc(m.get('run_id'))}</code>{err}</td>"
                    f"<td><span class='status {esc(status)}'>{esc(status)}</span></td>"
                    f"<td>{esc(', '.join(crawls_of(m, data.manifests)) or '–')}</td>"
                    f"<td class='nw'>{esc(str(m.get('started', ''))[:16].replace('T', ' '))}</td>"
                    f"<td class='r'>{_duration(dur)}</td></tr>")
    if not rows:
        return ""
    return card("Runs", "<table class='data runs'><thead><tr><th>Job</th><th>Run</th><th>Status</th><th>Crawls</th>"
                "<th>Started (UTC)</th><th class='r'>Took</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>",
                sub=f"{len(rows)} manifests in <code>{esc(join(data.lake, '_runs'))}</code>", anchor="runs")


def _duration(seconds: Any) -> str:
    if not isinstance(seconds, (int, float)):
        return "–"
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


# =============================================================================== the page
CSS = """
:root{--text:#1e293b;--sub:#64748b;--line:#e2e8f0;--bg:#f1f5f9;--card:#fff;--accent:#2563eb}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--text);
 font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue","Liberation Sans","DejaVu Sans",Arial,sans-serif;
 font-variant-numeric:tabular-nums}
header{background:#0f172a;color:#e2e8f0;padding:28px 0 22px}
.wrap{max-width:1120px;margin:0 auto;padding:0 20px}
header h1{margin:0;font-size:24px;font-weight:650;letter-spacing:-.01em;color:#fff}
header .meta{margin-top:6px;color:#94a3b8;font-size:13px}
header .meta code{color:#e2e8f0;background:#1e293b}
nav{margin-top:14px;display:flex;flex-wrap:wrap;gap:6px}
nav a{color:#cbd5e1;text-decoration:none;font-size:12px;padding:3px 9px;border:1px solid #334155;border-radius:999px}
nav a:hover{background:#1e293b}
.kpis{display:grid;grid-template-columns:repeat(6,1fr);gap:12px;margin:-2px 0 18px;padding-top:18px}
.kpi{background:var(--card);border-radius:10px;padding:12px 14px;border-top:3px solid var(--accent);
 box-shadow:0 1px 2px rgba(15,23,42,.06)}
.k-label{font-size:12px;color:var(--sub);text-transform:uppercase;letter-spacing:.04em}
.k-value{font-size:26px;font-weight:650;margin:2px 0;letter-spacing:-.02em}
.k-delta,.k-foot{font-size:12px;color:var(--sub)}
main.grid{display:grid;grid-template-columns:1fr 1fr;gap:16px;padding-bottom:40px}
.card{background:var(--card);border-radius:10px;padding:16px 18px 14px;box-shadow:0 1px 2px rgba(15,23,42,.06);
 border-left:4px solid var(--accent);min-width:0}
.card.wide{grid-column:1/-1}
.card h2{margin:0;font-size:16px;font-weight:650}
.card .src{margin:2px 0 10px;font-size:12px;color:var(--sub)}
.chart{overflow-x:auto}
.chart svg{display:block;max-width:100%;height:auto}
.caption{font-size:12px;color:var(--sub);margin:6px 0 0}
svg text{font-size:12px;fill:#334155}
svg .lbl{fill:#1e293b}
svg .sub{font-size:10.5px;fill:#94a3b8}
svg .val{font-weight:600;fill:#0f172a}
svg .note{fill:#64748b}
svg .inbar{fill:#fff;font-weight:600;font-size:11.5px}
svg .cellv{font-size:11px;font-weight:600}
svg .track{fill:#f1f5f9}
svg .diag{fill:#fff;stroke:#e2e8f0;stroke-dasharray:2 2}
svg .axis{stroke:#cbd5e1}
svg .delta.up{fill:#15803d} svg .delta.down{fill:#b91c1c} svg .delta.flat{fill:#94a3b8}
.delta{font-size:12px;white-space:nowrap}
.delta.up{color:#15803d}.delta.down{color:#b91c1c}.delta.flat,.delta.none{color:#94a3b8}
.legend{display:flex;flex-wrap:wrap;gap:6px 16px;margin-top:8px;font-size:13px}
.legend i{display:inline-block;width:11px;height:11px;border-radius:3px;margin-right:6px;vertical-align:-1px}
.facts{display:grid;grid-template-columns:1fr 1fr;gap:4px 16px;margin-top:10px;font-size:13px}
.split{display:grid;grid-template-columns:minmax(0,380px) minmax(0,1fr);gap:28px;align-items:start}
.split.heat{grid-template-columns:minmax(0,600px) minmax(0,1fr)}
.tablewrap{overflow-x:auto} .tablewrap.gap{margin-top:14px}
.stack{display:flex;flex-direction:column;gap:16px;min-width:0} .stack .card{flex:0 0 auto}
.stack .card:last-child{flex:1 1 auto}
table.nowrap td,table.nowrap th,td.nw{white-space:nowrap}
table.data{border-collapse:collapse;width:100%;font-size:13px}
table.data th{font-size:11.5px;text-transform:uppercase;letter-spacing:.03em;color:var(--sub);font-weight:600;
 text-align:left;border-bottom:1px solid var(--line);padding:5px 8px}
table.data td{padding:4px 8px;border-bottom:1px solid #f1f5f9;vertical-align:top}
table.data tr.other td{color:var(--sub)} table.data tr.total td{font-weight:650;border-top:1px solid var(--line)}
table.mini{font-size:12.5px;border-collapse:collapse;margin-top:6px} table.mini td{padding:2px 10px 2px 0}
.r{text-align:right} .muted{color:var(--sub)}
code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono","DejaVu Sans Mono",monospace;
 background:#f1f5f9;padding:1px 4px;border-radius:4px;color:#334155}
.empty{border:1.5px dashed #cbd5e1;border-radius:10px;padding:26px 18px;text-align:center;color:var(--sub);
 background:#f8fafc;margin-top:6px}
.empty strong{display:block;color:#334155;font-size:15px;margin-bottom:4px}
.empty p{margin:4px 0 0;font-size:13px}
.empty-icon{font-size:22px;color:#94a3b8;line-height:1;margin-bottom:6px}
.warn{background:#fffbeb;border:1px solid #fde68a;color:#92400e;border-radius:8px;padding:6px 10px;font-size:12.5px;margin:10px 0 0}
details{margin-top:10px;font-size:13px} summary{cursor:pointer;color:#334155}
.pill{color:#fff;border-radius:999px;padding:1px 8px;font-size:11.5px;font-weight:600}
.status.complete{color:#15803d;font-weight:600}.status.failed{color:#b91c1c;font-weight:600}.status.running{color:#b45309}
.err{color:#b91c1c;font-size:12px;margin-top:2px;max-width:520px}
.na{color:#94a3b8}
#render-check{display:none;background:#fef2f2;color:#991b1b;border:1px solid #fecaca;border-radius:8px;padding:8px 12px;margin:12px 0}
footer{color:var(--sub);font-size:12px;padding:0 0 30px}
@media (max-width:900px){main.grid{grid-template-columns:1fr}.kpis{grid-template-columns:repeat(3,1fr)}
 .split{grid-template-columns:1fr}}
"""

# After layout: every chart must have drawn something with a size. A failure is shown on the
# page and logged as a console error (what the headless-browser test looks for).
CHECK_JS = """
(function(){
  var bad=[];
  document.querySelectorAll('[data-chart]').forEach(function(el){
    var svg=el.querySelector('svg'), r=svg?svg.getBoundingClientRect():{width:0,height:0};
    var marks=0;
    if(svg){svg.querySelectorAll('[data-mark]').forEach(function(m){
      var b=m.getBoundingClientRect(); if(b.width>0&&b.height>0){marks++;}});}
    el.setAttribute('data-rendered-width',Math.round(r.width));
    el.setAttribute('data-rendered-height',Math.round(r.height));
    el.setAttribute('data-rendered-marks',marks);
    if(r.width<20||r.height<20||marks===0){bad.push(el.getAttribute('data-chart'));}
  });
  var root=document.documentElement;
  root.setAttribute('data-charts',document.querySelectorAll('[data-chart]').length);
  root.setAttribute('data-charts-ok',bad.length?'no':'yes');
  root.setAttribute('data-page-height',Math.ceil(Math.max(document.body.scrollHeight,root.scrollHeight)));
  if(bad.length){
    var box=document.getElementById('render-check');
    box.textContent='These charts did not render: '+bad.join(', ');
    box.style.display='block';
    console.error('webfaq report: charts did not render: '+bad.join(', '));
  }
})();
"""


def build_report(lake: str, *, top_languages: int = TOP_LANGUAGES, top_websites: int = TOP_WEBSITES,
                 generated: dt.datetime | None = None, s3: Any = None) -> str:
    """The report of ``lake`` (a directory, or an s3://, gs:// or hdfs:// URI) as one HTML
    document (no external resources)."""
    data = collect(lake, s3)
    generated = generated or dt.datetime.now(dt.timezone.utc)
    ex = data.jobs["extract"]
    crawl = ", ".join(ex.crawls) if ex.current else "no complete extract run"
    title = f"WebFAQ Lake report · {crawl}"
    newest = data.manifests[-1]["run_id"] if data.manifests else "none"
    meta = (f"lake <code>{esc(data.lake)}</code> · {len(data.manifests)} runs · newest <code>{esc(newest)}</code>"
            f" · generated {generated:%Y-%m-%d %H:%M} UTC")
    if ex.previous:
        meta += f" · changes are vs crawl {esc(', '.join(ex.previous_crawls))}"
    nav = "".join(f'<a href="#{a}">{t}</a>' for a, t in [
        ("intro", "Overview"), ("funnel", "Funnel"), ("drops", "Drops"), ("languages", "Languages"), ("websites", "Websites"),
        ("syntax", "Syntax"), ("dedup", "Duplicates"), ("align", "Alignment"), ("benchmark", "Benchmark"),
        ("refine", "Refinement"), ("evaluation", "Evaluation"),
        ("crawls", "Crawls"), ("runs", "Runs")])
    if not data.manifests:
        intro = empty("runs", "This lake has no runs yet",
                      f"Run <code>webfaq extract &lt;warcs&gt; --lake {esc(shlex.quote(data.lake))}</code> first.")
    else:
        intro = ""
    notes = "".join(f'<p class="warn">{esc(n)}</p>' for n in data.skipped + data.notes)
    panels = [intro_panel(data), funnel_panel(data), languages_panel(data, top_languages),
              websites_panel(data, top_websites),
              f'<div class="stack">{drops_panel(data)}{syntax_panel(data)}</div>', dedup_panels(data),
              align_panel(data), benchmark_panel(data),
              f'<div class="stack">{refine_panel(data)}</div>', evaluation_panel(data), crawls_panel(data),
              runs_table(data)]
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
        f"<meta name=\"generator\" content=\"webfaq report\"><title>{esc(title)}</title>"
        "<link rel=\"icon\" href=\"data:,\">"
        f"<style>{CSS}</style></head><body>"
        f"<header><div class=\"wrap\"><h1>WebFAQ Lake · {esc(crawl)}</h1><div class=\"meta\">{meta}</div>"
        f"<nav>{nav}</nav></div></header>"
        f"<div class=\"wrap\"><div id=\"render-check\" role=\"alert\"></div>{notes}{intro}{kpis(data)}"
        f"<main class=\"grid\">{''.join(panels)}</main>"
        "<footer>Numbers come from the run manifests in <code>_runs/</code> (counters are exact); websites and "
        "cluster sizes are read from the lake's tables. Hover a bar for its exact value.</footer></div>"
        f"<script>{CHECK_JS}</script></body></html>\n")


def write_report(lake: str, out: str | None = None, s3: Any = None) -> str:
    """Write the report; by default into the lake, to ``<lake>/_reports/report-<newest run
    id>.html`` and a copy at ``<lake>/report.html`` (the one to bookmark); ``out`` is a local
    file. Returns the path written (the first)."""
    lake = _local_path(lake).rstrip("/") or "/"
    text = build_report(lake, s3=s3)
    if out:
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        tmp = f"{out}.tmp"
        with removed_on_failure(lambda: os.remove(tmp) if os.path.exists(tmp) else None):
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(tmp, out)
        return out
    fs = lake_fs(lake, s3)
    manifests = read_manifests(fs, lake, warn=lambda _: None)  # build_report warned already
    name = f"report-{manifests[-1]['run_id']}.html" if manifests else "report-empty.html"
    targets = [join(lake, "_reports", name), join(lake, "report.html")]
    for path in targets:
        fs.write_text(path, text)
    return targets[0]
