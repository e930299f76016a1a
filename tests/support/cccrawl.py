"""Simulated Common Crawl crawls from real pages, for the targeted-refresh tests and
bench/targeted.py: WARC files, the columnar URL index and the listings, month after month.

Pages are the real HTML pages of ``../shared/data/warc/real-pages.warc.gz`` (each keeps its real
path and Content-Type). They are grouped into websites; on some of them pages carry a JSON-LD
``FAQPage`` whose question/answer pairs are real published FAQ text (the Tails FAQ in nine
languages and the Cloudflare-DNS-Updater FAQ in two, ``../shared/data/parallel``), injected
before ``</head>`` as ASCII-escaped JSON so it decodes under any page charset. Three kinds of FAQ
page, as seen on the web: a FAQ-looking path (``/hilfe/faq.html``), product pages with a FAQ
block in one directory (``/p/<slug>.html``), and a FAQ on an ordinary path (``/kundenservice``).

:func:`evolve` makes the next month: websites disappear and appear, FAQ pages move (to a
FAQ-looking path or an ordinary one), new FAQ pages appear on known sites. Each page's fate
is kept as a label, so a benchmark can say which kind of change a targeted refresh misses.

:func:`write_crawl` writes a crawl as Common Crawl lays one out: per-record gzip WARC files
(warcinfo, then request/response/metadata per capture) under ``crawl-data/<crawl>/segments/``,
``warc.paths.gz``, the index as Parquet in cc-index-table's flat schema under
``cc-index/table/cc-main/warc/crawl=<crawl>/subset=warc/`` (sorted by SURT key, gzip, small
row groups) and ``cc-index-table.paths.gz``. Offsets and lengths come from the writer's file
position before and after each response record, as Common Crawl's own index does. A website's
captures of one month go to one WARC file (fetch lists partitioned by host), shuffled among
other hosts' captures.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

FAQ_PATHS = ["/faq", "/faq.html", "/hilfe/faq.html", "/support/questions", "/en/help/faq/", "/service/fragen-antworten",
             "/ayuda/preguntas-frecuentes", "/aide/faq.php", "/help", "/kundenservice/faq"]
PLAIN_PATHS = ["/kundenservice", "/ueber-uns/info.html", "/service.html", "/about/contact", "/pages/12345",
               "/info", "/de/wissen.html", "/blog/2024/10/guide.html"]


@dataclass(frozen=True)
class Page:
    host: str
    path: str
    html: bytes
    content_type: str
    qas: tuple[tuple[str, str], ...] = ()
    label: str = "plain"  # what happened to the page (bench breakdown)

    @property
    def url(self) -> str:
        return f"https://{self.host}{self.path}"

    def payload(self) -> bytes:
        return inject_faq(self.html, self.qas) if self.qas else self.html


@dataclass
class Site:
    host: str
    pages: list[Page]
    kind: str = "plain"  # plain, faq_path, template, faq_plain


@dataclass
class World:
    """One month of the simulated web, and what is left to draw new sites and FAQ pairs from."""

    sites: list[Site]
    spare: list[tuple[str, bytes, str]]  # unused real pages (url, html, content type)
    qa_pool: list[tuple[str, str]]
    month: int = 0
    rng: random.Random = field(default_factory=random.Random)
    hosts: set[str] = field(default_factory=set)  # every host ever used: a new site is new


# --------------------------------------------------------------------------- real inputs

def real_pages(shared: Path, limit: int | None = None) -> list[tuple[str, bytes, str]]:
    """(url, HTML, Content-Type) of the 200 HTML responses of real-pages.warc.gz, in file order."""
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    out = []
    with open(shared / "warc" / "real-pages.warc.gz", "rb") as fh:
        for rec in ArchiveIterator(fh, record_types=WarcRecordType.response, parse_http=True, auto_decode="all"):
            if rec.http_headers.status_code != 200 or "html" not in (rec.http_content_type or ""):
                continue
            out.append((rec.headers.get("WARC-Target-URI"), rec.reader.read(),
                        rec.http_headers.get("Content-Type") or "text/html"))
            if limit and len(out) >= limit:
                break
    return out


def real_qas(shared: Path) -> list[tuple[str, str]]:
    """Real published FAQ pairs that pass the method's filters as they are (no '?' in the
    answer, answers of 40+ characters), in a fixed order."""
    pairs = []
    for line in (shared / "parallel" / "tails-faq" / "qa_pairs.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        pairs.append((row["question"], row["answer"]))
    for path in sorted((shared / "parallel" / "cloudflare-dns-updater-faq-jsonld").glob("*.jsonld")):
        for q in json.loads(path.read_text(encoding="utf-8"))["mainEntity"]:
            pairs.append((q["name"], q["acceptedAnswer"]["text"]))
    return [(q, a) for q, a in pairs if "?" not in a and len(a) >= 40 and len(q) >= 12 and a.count("\n") < 5]


def inject_faq(html: bytes, qas: tuple[tuple[str, str], ...]) -> bytes:
    """``html`` with a JSON-LD FAQPage of ``qas`` before ``</head>`` (ASCII JSON: safe in any
    ASCII-compatible charset)."""
    data = {"@context": "https://schema.org", "@type": "FAQPage",
            "mainEntity": [{"@type": "Question", "name": q, "acceptedAnswer": {"@type": "Answer", "text": a}}
                           for q, a in qas]}
    block = b'<script type="application/ld+json">' + json.dumps(data).encode("ascii") + b"</script>"
    at = html.lower().find(b"</head>")
    return html[:at] + block + html[at:] if at >= 0 else block + html


# --------------------------------------------------------------------------- the web, month by month

def _draw_qas(world: World, n: int) -> tuple[tuple[str, str], ...]:
    start = world.rng.randrange(len(world.qa_pool))
    return tuple(world.qa_pool[(start + k) % len(world.qa_pool)] for k in range(n))


def _new_site(world: World, faq_share: float, label: str, kind: str | None = None) -> Site | None:
    """A website of 4-10 spare real pages; with probability ``faq_share`` it has FAQ pages
    (of ``kind`` if given, else a random kind)."""
    rng = world.rng
    k = rng.randint(4, 10)
    if len(world.spare) < k:
        return None
    drawn, world.spare = world.spare[:k], world.spare[k:]
    host = urlsplit(drawn[0][0]).hostname or "site.example"
    while host in world.hosts:
        host = "www2." + host
    world.hosts.add(host)
    pages, seen = [], set()
    for url, html, ctype in drawn:
        path = urlsplit(url).path or "/"
        while path in seen:
            path += "-2"
        seen.add(path)
        pages.append(Page(host, path, html, ctype))
    site = Site(host, pages)
    if rng.random() < faq_share:
        site.kind = kind or rng.choice(["faq_path", "faq_path", "template", "faq_plain"])
        _plant(world, site, label)
    return site


def plant_site(world: World, kind: str = "faq_plain", label: str = "planted") -> Site:
    """A new website with FAQ pages of ``kind`` added to ``world`` (a test's planted new host)."""
    site = _new_site(world, 1.0, label, kind)
    if site is None:
        raise ValueError("no spare pages left for a new site")
    world.sites.append(site)
    return site


def _plant(world: World, site: Site, label: str) -> None:
    """Turn some of ``site``'s pages into FAQ pages of its kind."""
    rng, pages = world.rng, site.pages
    if site.kind == "faq_path":
        i = rng.randrange(len(pages))
        pages[i] = replace(pages[i], path=rng.choice(FAQ_PATHS), qas=_draw_qas(world, rng.randint(3, 6)), label=label)
    elif site.kind == "faq_plain":
        i = rng.randrange(len(pages))
        pages[i] = replace(pages[i], path=rng.choice(PLAIN_PATHS), qas=_draw_qas(world, rng.randint(3, 6)), label=label)
    else:  # product pages in one directory, two of three with a FAQ block
        for j, i in enumerate(rng.sample(range(len(pages)), min(3, len(pages)))):
            qas = _draw_qas(world, rng.randint(2, 4)) if j < 2 else ()
            pages[i] = replace(pages[i], path=f"/p/{_slug(pages[i].path)}-{j}.html", qas=qas,
                               label=label if qas else "plain")


def _slug(path: str) -> str:
    return "".join(ch for ch in path.rsplit("/", 1)[-1].lower() if ch.isalnum())[:24] or "item"


def first_world(shared: Path, n_pages: int, seed: int, faq_share: float = 0.4) -> World:
    """Month 0: websites from the first ``n_pages`` real pages, about half of them kept spare
    for the websites later months add."""
    pool = real_pages(shared, n_pages)
    rng = random.Random(seed)
    rng.shuffle(pool)
    world = World(sites=[], spare=pool, qa_pool=real_qas(shared), rng=rng)
    while len(world.spare) > n_pages // 2:
        site = _new_site(world, faq_share, "faq")
        if site is None:
            break
        world.sites.append(site)
    return world


def evolve(world: World, gone: float = 0.1, new: float = 0.15, move: float = 0.2, grow: float = 0.5) -> World:
    """The next month: ``gone`` of the websites disappear, ``new`` (as a share of the current
    number) appear, each FAQ page moves with probability ``move`` (half of the moves to a
    FAQ-looking path, half to an ordinary one), and FAQ sites add a FAQ page with probability
    ``grow`` (a product page in the known directory, or a FAQ-looking or an ordinary path)."""
    rng = world.rng
    sites = []
    for site in world.sites:
        if rng.random() < gone:
            continue
        pages = [replace(p, label="faq" if p.qas else "plain") for p in site.pages]
        for i, page in enumerate(pages):
            if page.qas and rng.random() < move:
                to_faq_path = rng.random() < 0.5
                path = rng.choice(FAQ_PATHS if to_faq_path else PLAIN_PATHS)
                if path not in {p.path for p in pages}:
                    pages[i] = replace(page, path=path, label="moved_faq_path" if to_faq_path else "moved_plain_path")
        if site.kind != "plain" and rng.random() < grow and world.spare:
            url, html, ctype = world.spare.pop(0)
            qas = _draw_qas(world, rng.randint(2, 5))
            if site.kind == "template":
                page = Page(site.host, f"/p/{_slug(urlsplit(url).path)}-n{world.month}.html", html, ctype, qas, "new_template")
            elif rng.random() < 0.5:
                page = Page(site.host, f"/faq/{_slug(urlsplit(url).path)}", html, ctype, qas, "new_faq_path")
            else:
                page = Page(site.host, f"/{_slug(urlsplit(url).path)}-{world.month}", html, ctype, qas, "new_plain_path")
            if page.path not in {p.path for p in pages}:
                pages.append(page)
        sites.append(Site(site.host, pages, site.kind))
    nxt = World(sites=sites, spare=world.spare, qa_pool=world.qa_pool, month=world.month + 1, rng=rng,
                hosts=world.hosts)
    for _ in range(max(1, round(new * len(world.sites)))):
        site = _new_site(nxt, 0.5, "new_host")
        if site is not None:
            nxt.sites.append(site)
    return nxt


# --------------------------------------------------------------------------- writing a crawl

@dataclass
class CrawlFiles:
    crawl: str
    warcs: list[str]           # relative paths (as warc.paths.gz and warc_filename say)
    index: list[str]           # relative paths of the index Parquet files
    labels: dict[str, str]     # url -> the page's label
    host_file: dict[str, str]  # host -> the WARC file its captures went to
    captures: int = 0


def _surt(host: str, path: str, query: str) -> str:
    labels = host.lower().split(".")
    if labels and labels[0] == "www":
        labels = labels[1:]
    return ",".join(reversed(labels)) + ")" + path.lower() + (f"?{query.lower()}" if query else "")


def _index_row(url: str, ctype: str, when: datetime, name: str, offset: int, length: int, segment: str) -> dict:
    parts = urlsplit(url)
    host = parts.hostname or ""
    labels = host.split(".")
    last = lambda k: labels[-k] if len(labels) >= k else None  # noqa: E731
    mime = ctype.split(";")[0].strip().lower()
    charset = ctype.split("charset=")[1].strip().upper() if "charset=" in ctype.lower() else None
    return {
        "url_surtkey": _surt(host, parts.path or "/", parts.query), "url": url, "url_host_name": host,
        "url_host_tld": last(1), "url_host_2nd_last_part": last(2), "url_host_3rd_last_part": last(3),
        "url_host_4th_last_part": last(4), "url_host_5th_last_part": last(5),
        "url_host_registry_suffix": last(1), "url_host_registered_domain": ".".join(labels[-2:]),
        "url_host_private_suffix": last(1), "url_host_private_domain": ".".join(labels[-2:]),
        "url_host_name_reversed": ".".join(reversed(labels)), "url_protocol": parts.scheme, "url_port": parts.port,
        "url_path": parts.path or "/", "url_query": parts.query or None, "fetch_time": when, "fetch_status": 200,
        "fetch_redirect": None, "content_digest": None, "content_mime_type": mime, "content_mime_detected": mime,
        "content_charset": charset, "content_languages": None, "content_truncated": None,
        "warc_filename": name, "warc_record_offset": offset, "warc_record_length": length, "warc_segment": segment,
    }


def index_schema():
    """cc-index-table's flat schema (cc-index-schema-flat.json), without the partition columns
    ``crawl`` and ``subset`` (they are directories) and the recent ``warc_record_id``."""
    import pyarrow as pa

    s = pa.string()
    return pa.schema([
        ("url_surtkey", s), ("url", s), ("url_host_name", s), ("url_host_tld", s), ("url_host_2nd_last_part", s),
        ("url_host_3rd_last_part", s), ("url_host_4th_last_part", s), ("url_host_5th_last_part", s),
        ("url_host_registry_suffix", s), ("url_host_registered_domain", s), ("url_host_private_suffix", s),
        ("url_host_private_domain", s), ("url_host_name_reversed", s), ("url_protocol", s), ("url_port", pa.int32()),
        ("url_path", s), ("url_query", s), ("fetch_time", pa.timestamp("us", tz="UTC")), ("fetch_status", pa.int16()),
        ("fetch_redirect", s), ("content_digest", s), ("content_mime_type", s), ("content_mime_detected", s),
        ("content_charset", s), ("content_languages", s), ("content_truncated", s), ("warc_filename", s),
        ("warc_record_offset", pa.int32()), ("warc_record_length", pa.int32()), ("warc_segment", s),
    ])


def _write_warc(path: Path, crawl: str, captures: list[Page], name: str, segment: str, when: datetime) -> list[dict]:
    """One WARC file of ``captures``; returns their index rows."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    rows = []
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        writer.write_record(writer.create_warcinfo_record(path.name, {"isPartOf": crawl, "software": "webfaq-tests"}))
        for k, page in enumerate(captures):
            stamp = (when + timedelta(seconds=k)).strftime("%Y-%m-%dT%H:%M:%SZ")
            body = page.payload()
            req = StatusAndHeaders(f"GET {page.path} HTTP/1.1", [("Host", page.host), ("User-Agent", "CCBot/2.0")],
                                   is_http_request=True)
            writer.write_record(writer.create_warc_record(page.url, "request", http_headers=req,
                                                          warc_headers_dict={"WARC-Date": stamp}))
            resp = StatusAndHeaders("200 OK", [("Content-Type", page.content_type), ("Content-Length", str(len(body)))],
                                    protocol="HTTP/1.1")
            offset = fh.tell()
            writer.write_record(writer.create_warc_record(
                page.url, "response", payload=io.BytesIO(body), http_headers=resp,
                warc_headers_dict={"WARC-Date": stamp, "WARC-Identified-Payload-Type": "text/html"}))
            rows.append(_index_row(page.url, page.content_type, when + timedelta(seconds=k), name, offset,
                                   fh.tell() - offset, segment))
            meta = f"fetchTimeMs: {50 + k % 700}\r\n".encode()
            writer.write_record(writer.create_warc_record(page.url, "metadata", payload=io.BytesIO(meta),
                                                          warc_content_type="application/warc-fields",
                                                          warc_headers_dict={"WARC-Date": stamp}))
    return rows


def write_crawl(root: Path, crawl: str, world: World, files: int, index_parts: int = 2,
                row_group: int = 64, capture_share: float = 0.95) -> CrawlFiles:
    """Write ``world`` as crawl ``crawl`` under ``root`` (a copy of the bucket's layout); each
    page is captured with probability ``capture_share``."""
    import gzip

    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = random.Random(f"{crawl}:{world.month}")
    year, week = int(crawl.split("-")[2]), int(crawl.split("-")[3])
    when = datetime(year, 1, 1, tzinfo=timezone.utc) + timedelta(weeks=week)
    stamp = when.strftime("%Y%m%d%H%M%S")
    segment = f"{int(when.timestamp())}.{world.month:02d}"
    names = [f"crawl-data/{crawl}/segments/{segment}/warc/CC-MAIN-{stamp}-{stamp}-{i:05d}.warc.gz" for i in range(files)]
    by_file: dict[str, list[Page]] = {n: [] for n in names}
    out = CrawlFiles(crawl, names, [], {}, {})
    for site in world.sites:
        name = names[int(hashlib.sha1(f"{crawl}:{site.host}".encode()).hexdigest(), 16) % files]
        out.host_file[site.host] = name
        for page in site.pages:
            if rng.random() < capture_share:
                by_file[name].append(page)
                out.labels[page.url] = page.label
    rows = []
    for name in names:
        rng.shuffle(by_file[name])
        rows += _write_warc(root / name, crawl, by_file[name], name, segment, when)
    out.captures = len(rows)
    rows.sort(key=lambda r: (r["url_surtkey"], r["fetch_time"]))
    schema = index_schema()
    base = f"cc-index/table/cc-main/warc/crawl={crawl}/subset=warc"
    chunk = -(-len(rows) // index_parts) if rows else 1
    for k in range(index_parts):
        rel = f"{base}/part-{k:05d}-{uuid.UUID(int=rng.getrandbits(128))}.c000.gz.parquet"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(rows[k * chunk:(k + 1) * chunk], schema=schema), root / rel,
                       compression="gzip", row_group_size=row_group)
        out.index.append(rel)
    listing = root / "crawl-data" / crawl
    listing.mkdir(parents=True, exist_ok=True)
    (listing / "warc.paths.gz").write_bytes(gzip.compress("\n".join(names).encode() + b"\n"))
    other = [f"cc-index/table/cc-main/warc/crawl={crawl}/subset=robotstxt/part-00000.c000.gz.parquet"]
    (listing / "cc-index-table.paths.gz").write_bytes(gzip.compress("\n".join(out.index + other).encode() + b"\n"))
    return out
