"""Build sample-data/warc/faq-sites.warc.gz: real multilingual FAQ text as Common-Crawl-shaped captures.

The bundled demo needs FAQ pages in several languages, on several websites, in all three schema.org
syntaxes, with real duplicates and translations. Nobody on this project wrote the text; it comes from:

* the Tails website FAQ (../shared/data/parallel/tails-faq: ``qa_pairs.jsonl`` for the questions and
  answers, ``raw/faq.*`` for the page title, the intro list and the section headings), GPL-3.0-or-later;
* the F-Droid website FAQs (``_docs/FAQ_-_*.md`` and their Weblate translations ``po/_docs.<lang>.po``
  of f-droid/fdroid-website at ``FDROID_COMMIT``), AGPL-3.0-or-later;
* the Cloudflare DNS Updater documentation's FAQPage JSON-LD
  (../shared/data/parallel/cloudflare-dns-updater-faq-jsonld), MIT, embedded byte for byte.

Each page is rendered the way its site would serve it (Markdown and wiki links as HTML, the site's
fallback to English for untranslated strings), and its FAQ is marked up in one syntax:

* tails.net: JSON-LD for en/ca/fa, microdata for de/it/pt, RDFa for fr/ru/es (one page per language,
  ``/support/faq/index.<lang>.html``). Questions a language has no translation for are shown in English
  (the site's po plugin does that), so those pages repeat English QAs of the English page: real exact
  duplicates. The German page is captured a second time with a tracking query string (same bytes), and
  the old host tails.boum.org answers 301 to tails.net for the English and German pages.
* f-droid.org: RDFa Lite, ``/<lang>/docs/FAQ_-_{General,Client,App_Developers}/`` for every language of
  the site's language list whose translation of that document reaches po4a's ``--keep=80`` threshold
  (the site's own build rule), untranslated strings in English as po4a writes them.
* jmrplens.github.io/Cloudflare-DNS-Updater: the published JSON-LD, en and es, 4 pages each.

Captures are reconstructions: HTML around the FAQ, HTTP headers, fetch times and fetch durations are
plausible, not recorded. The output is deterministic (same bytes on every run). Every page is checked
with the pipeline's own extractor: it must yield exactly the page's QAs in the page's syntax.

    python scripts/make_demo_sample.py --fdroid-website PATH_TO_FDROID_WEBSITE_GIT
        [--shared ../shared/data] [--out sample-data/warc/faq-sites.warc.gz]

``--fdroid-website``: a clone of https://gitlab.com/fdroid/fdroid-website (or its GitHub mirror
f-droid/fdroid-website); files are read with ``git show FDROID_COMMIT:<path>``, so any checkout works.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import io
import json
import re
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FDROID_COMMIT = "ab4533fee26952176c6a19851a5fdd108b415aad"
CRAWL = "CC-MAIN-SAMPLE"
FETCH_START = datetime(2025, 5, 19, 21, 4, 7, tzinfo=timezone.utc)
UUID_NS = uuid.UUID("6f1c9a52-3d0e-4b8e-9a57-1f2c3b4d5e6f")

# ---------------------------------------------------------------------------------------------
# gettext PO files


@dataclass
class PoEntry:
    msgid: str = ""
    msgstr: str = ""
    refs: list = field(default_factory=list)
    flags: str = ""
    kind: str = ""
    obsolete: bool = False

    @property
    def translated(self) -> bool:
        return bool(self.msgstr) and "fuzzy" not in self.flags


def _po_string(s: str) -> str:
    return json.loads(s) if "\\'" not in s else json.loads(s.replace("\\'", "'"))


def parse_po(text: str) -> list[PoEntry]:
    entries, cur, fld = [], None, None
    for line in text.splitlines() + [""]:
        if not line.strip():
            if cur is not None:
                entries.append(cur)
            cur = None
            continue
        if cur is None:
            cur = PoEntry()
        if line.startswith("#~"):
            cur.obsolete = True
        elif line.startswith("#:"):
            cur.refs += line[2:].split()
        elif line.startswith("#,"):
            cur.flags += line
        elif line.startswith("#."):
            cur.kind += line[2:].strip()
        elif line.startswith("#"):
            continue
        elif line.startswith("msgid "):
            fld, cur.msgid = "msgid", _po_string(line[6:])
        elif line.startswith("msgstr "):
            fld, cur.msgstr = "msgstr", _po_string(line[7:])
        elif line.startswith('"') and fld:
            setattr(cur, fld, getattr(cur, fld) + _po_string(line))
    return [e for e in entries if not e.obsolete and e.msgid]


def norm(s: str) -> str:
    return " ".join(s.split())


# ---------------------------------------------------------------------------------------------
# Markdown (the subset both sites use) -> HTML


def _attr(s: str) -> str:
    return html.escape(s, quote=True)


def render_inline(text: str, special=None) -> str:
    """Inline Markdown: code spans, ``special`` (site-specific links), links, autolinks, emphasis."""
    stash: list[str] = []

    def keep(fragment: str) -> str:
        stash.append(fragment)
        return f"\x00{len(stash) - 1}\x00"

    text = re.sub(r"\\([\\`*_{}\[\]()#+\-.!|<>])", lambda m: keep(html.escape(m[1], quote=False)), text)
    text = re.sub(r"`([^`]+)`", lambda m: keep(f"<code>{html.escape(m[1], quote=False)}</code>"), text)
    if special is not None:
        text = special(text, keep)
    text = re.sub(r"\[([^\[\]]+)\]\(([^()\s]+(?:\([^()\s]*\))?[^()\s]*)\)",
                  lambda m: keep(f'<a href="{_attr(m[2])}">') + m[1] + keep("</a>"), text)
    text = re.sub(r"<((?:https?|ircs?)://[^>\s]+)>", lambda m: keep(f'<a href="{_attr(m[1])}">{m[1]}</a>'), text)
    text = re.sub(r"<([\w.+-]+@[\w-]+(?:\.[\w-]+)+)>", lambda m: keep(f'<a href="mailto:{m[1]}">{m[1]}</a>'), text)
    text = re.sub(r"\*\*(?=\S)(.+?)(?<=\S)\*\*", r"<strong>\1</strong>", text)
    text = re.sub(r"(?<![\w*])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![\w*])", r"<em>\1</em>", text)
    text = re.sub(r"(?<![\w\x00])_(?=\S)([^_]+?)(?<=\S)_(?![\w])", r"<em>\1</em>", text)
    while "\x00" in text:
        text = re.sub(r"\x00(\d+)\x00", lambda m: stash[int(m[1])], text)
    return text


_CONTAINERS = {"div", "p", "ul", "ol", "li", "span", "em", "strong", "a", "code", "dl", "dt", "dd", "tt",
               "pre", "blockquote", "table", "tr", "td", "th", "tbody", "thead"}


def balance(fragment: str) -> str:
    """Drop closing tags that close nothing and close what is left open. po4a stores a repeated
    identical string (a lone ``</div>``) once, so an answer cut out of a translated page can hold
    half of a container; a site template would never let it break the surrounding markup."""
    stack: list[str] = []
    out: list[str] = []
    pos = 0
    for m in re.finditer(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)\b[^>]*?(/?)>", fragment):
        out.append(fragment[pos:m.start()])
        pos = m.end()
        closing, name, selfclose = m[1], m[2].lower(), m[3]
        if name not in _CONTAINERS or selfclose:
            out.append(m[0])
        elif not closing:
            stack.append(name)
            out.append(m[0])
        elif name in stack:
            while stack[-1] != name:
                out.append(f"</{stack.pop()}>")
            stack.pop()
            out.append(m[0])
        # else: a closing tag without its opening tag is dropped
    out.append(fragment[pos:])
    out.extend(f"</{name}>" for name in reversed(stack))
    return re.sub(r"\n{2,}", "\n", "".join(out)).strip("\n")


_BULLET = re.compile(r"^([-*+])\s+")
_NUMBER = re.compile(r"^(\d+)\.\s+")


def render_markdown(md: str, special=None) -> str:
    """Blocks separated by blank lines: paragraphs, (loose) lists with indented continuation
    paragraphs, fenced code, raw HTML blocks; one block per output line, as Markdown renderers do."""
    md = re.sub(r"<!--.*?-->", "", md, flags=re.S)
    inline = lambda s: render_inline(s, special)  # noqa: E731
    blocks = [b for b in re.split(r"\n[ \t]*\n", md.strip("\n")) if b.strip()]
    out: list[str] = []
    lst: str | None = None  # "ul" / "ol" while a list is open
    items: list[list[str]] = []

    def close_list() -> None:
        nonlocal lst, items
        if lst:
            out.append(f"<{lst}>")
            for parts in items:
                if len(parts) == 1:
                    out.append(f"<li>{parts[0]}</li>")
                else:
                    out.append(f"<li>{parts[0]}")
                    out.extend(f"<p>{p}</p>" for p in parts[1:])
                    out.append("</li>")
            out.append(f"</{lst}>")
        lst, items = None, []

    def split_items(block: str, pattern: re.Pattern) -> list[str]:
        chunks, cur = [], []
        for line in block.split("\n"):
            if pattern.match(line) and cur:
                chunks.append("\n".join(cur))
                cur = []
            cur.append(line)
        chunks.append("\n".join(cur))
        return [pattern.sub("", c, count=1) for c in chunks]

    for block in blocks:
        stripped = block.lstrip(" ")
        indent = len(block) - len(stripped)
        if block.startswith("```"):
            close_list()
            code = "\n".join(block.split("\n")[1:-1])
            out.append(f"<pre><code>{html.escape(code, quote=False)}</code></pre>")
        elif indent == 0 and (_BULLET.match(block) or _NUMBER.match(block)):
            kind = "ul" if _BULLET.match(block) else "ol"
            if lst != kind:
                close_list()
                lst = kind
            for item in split_items(block, _BULLET if kind == "ul" else _NUMBER):
                items.append([inline(norm(item))])
        elif indent >= 2 and lst and items:
            items[-1].append(inline(norm(block)))
        elif stripped.startswith("<"):
            close_list()
            out.append("\n".join(inline(line.strip()) for line in block.split("\n") if line.strip()))
        else:
            close_list()
            out.append(f"<p>{inline(norm(block))}</p>")
    close_list()
    return balance("\n".join(out))


# ---------------------------------------------------------------------------------------------
# Pages and their FAQ markup


@dataclass
class QA:
    question: str  # plain text (what the question element shows)
    answer_html: str
    anchor: str
    heading_extra: str = ""  # inline HTML the heading carries after the question (an anchor)


@dataclass
class Page:
    url: str
    lang: str
    site: str
    syntax: str
    html: str
    qas: list
    date: datetime | None = None
    status: int = 200
    location: str | None = None
    extra_headers: list = field(default_factory=list)


def jsonld_block(qas: list[QA], lang: str, url: str | None = None) -> str:
    data = {"@context": "https://schema.org", "@type": "FAQPage"}
    if url:
        data["url"] = url
    data["inLanguage"] = lang
    data["mainEntity"] = [
        {"@type": "Question", "name": q.question, "acceptedAnswer": {"@type": "Answer", "text": q.answer_html}}
        for q in qas]
    return ('<script type="application/ld+json">\n'
            + json.dumps(data, ensure_ascii=False, indent=2).replace("</", "<\\/") + "\n</script>")


def question_html(q: QA, syntax: str, tag: str) -> str:
    """One question and its answer as visible HTML, marked up in ``syntax`` (none for JSON-LD)."""
    qtext = html.escape(q.question, quote=False) + q.heading_extra
    if syntax == "microdata":
        return (f'<div class="faq-item" itemscope itemprop="mainEntity" itemtype="https://schema.org/Question">\n'
                f'<{tag} id="{q.anchor}" itemprop="name">{qtext}</{tag}>\n'
                f'<div itemscope itemprop="acceptedAnswer" itemtype="https://schema.org/Answer">\n'
                f'<div class="answer" itemprop="text">\n{q.answer_html}\n</div>\n</div>\n</div>')
    if syntax == "rdfa":
        return (f'<div class="faq-item" property="mainEntity" typeof="Question">\n'
                f'<{tag} id="{q.anchor}" property="name">{qtext}</{tag}>\n'
                f'<div property="acceptedAnswer" typeof="Answer">\n'
                f'<div class="answer" property="text">\n{q.answer_html}\n</div>\n</div>\n</div>')
    return f'<div class="faq-item">\n<{tag} id="{q.anchor}">{qtext}</{tag}>\n<div class="answer">\n{q.answer_html}\n</div>\n</div>'


def faq_scope(syntax: str) -> tuple[str, str]:
    if syntax == "microdata":
        return '<div id="faq" itemscope itemtype="https://schema.org/FAQPage">', "</div>"
    if syntax == "rdfa":
        return '<div id="faq" vocab="https://schema.org/" typeof="FAQPage">', "</div>"
    return '<div id="faq">', "</div>"


# ---------------------------------------------------------------------------------------------
# tails.net

TAILS_LANGS = ["en", "de", "fr", "ca", "ru", "it", "es", "fa", "pt"]
TAILS_SYNTAX = {"en": "json-ld", "ca": "json-ld", "fa": "json-ld",
                "de": "microdata", "it": "microdata", "pt": "microdata",
                "fr": "rdfa", "ru": "rdfa", "es": "rdfa"}
LANG_NAMES = {"en": "English", "de": "Deutsch", "fr": "français", "ca": "català", "ru": "русский",
              "it": "italiano", "es": "español", "fa": "فارسی", "pt": "português"}
TAILS_NAV = {  # the site's top navigation, in the site's own words where the FAQ's PO gives none
    "en": ("About", "Download", "Support", "Donate")}


def tails_special(lang: str):
    def page_href(target: str) -> str:
        target, _, anchor = target.partition("#")
        target = target.strip().strip("/")
        if target in ("faq", "support/faq"):
            path = "/support/faq/"
        else:
            path = f"/{target}/"
        return f"{path}index.{lang}.html" + (f"#{anchor}" if anchor else "")

    def directive(name: str, args: str) -> str:
        desc = re.search(r'desc="([^"]*)"', args)
        words = re.sub(r'desc="[^"]*"', "", args).split()
        label = desc[1] if desc else None
        if name == "tails_ticket":
            if words:
                return f'<a href="https://gitlab.tails.boum.org/tails/tails/-/issues/{words[0]}">{render_inline(label or "#" + words[0])}</a>'
            return f'<a href="https://gitlab.tails.boum.org/tails/tails/-/issues">{render_inline(label or "GitLab")}</a>'
        if name == "tails_gitweb":
            return f'<a href="https://gitlab.tails.boum.org/tails/tails/-/blob/master/{words[0]}">{render_inline(label or words[0])}</a>'
        if name == "tails_blueprint":
            return f'<a href="https://gitlab.tails.boum.org/tails/blueprints/-/wikis/{words[0]}">{render_inline(label or words[0])}</a>'
        if name.startswith("wikipedia"):
            wl = name.partition("_")[2] or "en"
            return f'<a href="https://{wl}.wikipedia.org/wiki/{words[0]}">{render_inline(label or words[0].replace("_", " "))}</a>'
        return ""

    def special(text: str, keep) -> str:
        text = re.sub(r"\[\[!(\w+)\s*(.*?)\]\]", lambda m: keep(directive(m[1], m[2])), text, flags=re.S)

        def wikilink(m: re.Match) -> str:
            label, target = m[1], m[2]
            if label is None:
                label = target.rstrip("/").rsplit("/", 1)[-1].partition("#")[0].replace("_", " ")
            return keep(f'<a href="{_attr(page_href(target))}">') + label + keep("</a>")

        return re.sub(r"\[\[(?:([^\[\]|]+)\|)?([^\[\]|!][^\[\]|]*)\]\]", wikilink, text, flags=re.S)

    return special


def tails_pages(shared: Path) -> list[Page]:
    base = shared / "parallel" / "tails-faq"
    rows = [json.loads(line) for line in (base / "qa_pairs.jsonl").read_text(encoding="utf-8").splitlines()]
    by_lang: dict[str, dict[str, dict]] = {}
    for r in rows:
        by_lang.setdefault(r["lang"], {})[r["q_id"]] = r
    master = (base / "raw" / "faq.mdwn").read_text(encoding="utf-8")
    # Page structure of the English source: sections (h1) and their questions (h2), in order.
    structure: list[tuple[str, str, list[str]]] = []
    for m in re.finditer(r'<h([12]) id="([^"]+)">(.*?)</h\1>', master):
        if m[1] == "1":
            structure.append((m[2], m[3], []))
        else:
            structure[-1][2].append(m[2])
    intro_en = re.findall(r"^- (.+)$", master.split("[[!toc")[0], flags=re.M)
    pages = []
    for lang in TAILS_LANGS:
        po = {}
        if lang != "en":
            po = {norm(e.msgid): e.msgstr for e in
                  parse_po((base / "raw" / f"faq.{lang}.po").read_text(encoding="utf-8")) if e.translated}
        tr = lambda s: po.get(norm(s), s) if lang != "en" else s  # noqa: E731
        title = re.search(r'title="([^"]+)"', tr('[[!meta title="Frequently asked questions"]]\n'))[1]
        intro = [tr(f"- {line}")[2:] if tr(f"- {line}") != f"- {line}" else line for line in intro_en]
        syntax = TAILS_SYNTAX[lang]
        special_local = tails_special(lang)
        special_en = tails_special("en")
        qas, body, toc = [], [], []
        for sec_id, sec_title, q_ids in structure:
            sec_local = re.sub(r"<[^>]+>", "", tr(f'<h1 id="{sec_id}">{sec_title}</h1>\n'))
            body.append(f'<h1 id="{sec_id}">{html.escape(sec_local.strip(), quote=False)}</h1>')
            toc.append(f'<li class="L1"><a href="#{sec_id}">{html.escape(sec_local.strip(), quote=False)}</a>\n<ol>')
            for q_id in q_ids:
                row = by_lang.get(lang, {}).get(q_id)
                special = special_local
                if row is None:  # untranslated: the site shows the English text
                    row, special = by_lang["en"][q_id], special_en
                qa = QA(row["question"], render_markdown(row["answer"], special), q_id)
                qas.append(qa)
                body.append(question_html(qa, syntax, "h2"))
                toc.append(f'<li class="L2"><a href="#{q_id}">{html.escape(qa.question, quote=False)}</a></li>')
            toc.append("</ol>\n</li>")
        url = f"https://tails.net/support/faq/index.{lang}.html"
        head_extra = jsonld_block(qas, lang) if syntax == "json-ld" else ""
        alternates = "\n".join(
            f'<link rel="alternate" hreflang="{other}" href="https://tails.net/support/faq/index.{other}.html">'
            for other in TAILS_LANGS)
        langs_footer = "\n".join(
            f'<li><a href="/support/faq/index.{o}.html">{LANG_NAMES[o]}</a></li>' if o != lang else
            f"<li>{LANG_NAMES[o]}</li>" for o in TAILS_LANGS)
        open_scope, close_scope = faq_scope(syntax)
        intro_html = render_markdown("\n\n".join(f"- {x}" for x in intro), special_local)
        direction = ' dir="rtl"' if lang == "fa" else ""
        doc = f"""<!DOCTYPE html>
<html lang="{lang}" xml:lang="{lang}"{direction}>
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title, quote=False)}</title>
<link rel="stylesheet" href="/local.css" type="text/css">
<link rel="icon" href="/favicon.png" type="image/png">
<link rel="canonical" href="{url}">
{alternates}
{head_extra}
</head>
<body>
<div class="banner">
<a href="/index.{lang}.html"><img src="/lib/logo.png" alt="Tails" width="120" height="40"></a>
</div>
<div class="pageheader">
<div class="header"><span class="parentlinks"><a href="/index.{lang}.html">Tails</a>/<a href="/support/index.{lang}.html">support</a>/</span>
<span class="title">{html.escape(title, quote=False)}</span></div>
</div>
<div id="pagebody">
<div id="content" role="main">
{intro_html}
<div class="toc">
<ol>
{chr(10).join(toc)}
</ol>
</div>
{open_scope}
{chr(10).join(body)}
{close_scope}
</div>
<div id="footer" class="pagefooter" role="contentinfo">
<div id="otherlanguages"><ul>
{langs_footer}
</ul></div>
<div class="pagedate">Tails — <a href="/doc/about/license/index.{lang}.html">GPL-3.0-or-later</a></div>
</div>
</div>
</body>
</html>
"""
        pages.append(Page(url, lang, "tails", syntax, doc, qas))
    return pages


# ---------------------------------------------------------------------------------------------
# f-droid.org

FDROID_DOCS = ["FAQ_-_General", "FAQ_-_Client", "FAQ_-_App_Developers"]
# Languages of the site's _config.yml `languages` list that these FAQ translations may reach.
FDROID_SITE_LANGS = ["de", "es", "fa", "fr", "it", "pt", "ru"]
FDROID_KEEP = 0.80  # tools/i18n.sh: po4a --keep=80


def git_show(repo: Path, path: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "show", f"{FDROID_COMMIT}:{path}"], check=True,
                          capture_output=True).stdout.decode("utf-8")


def kramdown_id(text: str, seen: set) -> str:
    s = re.sub(r"<[^>]+>", "", text).lower()
    s = re.sub(r"[^a-z0-9 _-]", "", s)
    s = re.sub(r"^[^a-z]+", "", s).replace(" ", "-") or "section"
    base, n = s, 0
    while s in seen:
        n += 1
        s = f"{base}-{n}"
    seen.add(s)
    return s


def md_segments(md: str) -> tuple[str, list[tuple[str, str, str]]]:
    """(front-matter title, [(kind, marker, text)]) the way po4a's markdown mode cuts a document:
    titles, paragraphs, one entry per bullet (continuation lines joined), fenced code."""
    front, body = re.match(r"---\n(.*?)\n---\n(.*)", md, flags=re.S).groups()
    title = re.search(r"^title:\s*(.+)$", front, flags=re.M)[1].strip()
    segs = []
    lines = body.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        if line.startswith("```"):
            j = i + 1
            while not lines[j].startswith("```"):
                j += 1
            segs.append(("code", "", "\n".join(lines[i:j + 1])))
            i = j + 1
            continue
        if line.startswith("#"):
            level, text = re.match(r"(#+)\s*(.*)", line).groups()
            segs.append(("title", level, text.strip()))
            i += 1
            continue
        m = re.match(r"^([-*]\s+|\d+\.\s+)", line)
        j = i + 1
        while j < len(lines) and lines[j].strip() and not re.match(r"^([-*]\s+|\d+\.\s+|#|```)", lines[j]):
            j += 1
        chunk = lines[i:j]
        if m:
            segs.append(("bullet", m[1].strip(), " ".join(x.strip() for x in [chunk[0][len(m[1]):]] + chunk[1:])))
        else:
            segs.append(("para", "", "\n".join(chunk)))
        i = j
    return title, segs


def fdroid_pages(repo: Path) -> list[Page]:
    pages = []
    for doc in FDROID_DOCS:
        title_en, segs = md_segments(git_show(repo, f"_docs/{doc}.md"))
        for lang in ["en"] + FDROID_SITE_LANGS:
            po: dict[str, str] = {}
            if lang != "en":
                entries = [e for e in parse_po(git_show(repo, f"po/_docs.{lang}.po"))
                           if f"_docs/{doc}.md" in e.refs]
                done = sum(e.translated for e in entries) / len(entries)
                if done < FDROID_KEEP:
                    continue  # po4a writes no translated page: the site serves English there
                po = {norm(e.msgid): e.msgstr for e in entries if e.translated}
            tr = lambda s: po.get(norm(s), s)  # noqa: E731
            title = tr(title_en)
            # Rebuild the translated Markdown, then cut it into questions at the ### titles.
            seen: set = set()
            qas, intro, current, parts = [], [], None, []

            def flush() -> None:
                if current is not None:
                    qas.append(QA(current[0], render_markdown("\n\n".join(parts)), current[1], current[2]))

            for kind, marker, text in segs:
                if kind == "title":
                    flush()
                    q = tr(text)
                    extra = "".join(re.findall(r"<a name=[^>]*></a>", q))
                    q = html.unescape(re.sub(r"<[^>]+>", "", q)).strip()
                    current, parts = (q, kramdown_id(q, seen), extra), []
                    continue
                if kind == "code":
                    chunk = text
                elif kind == "bullet":
                    chunk = f"{'-' if marker in '-*' else marker} {tr(text)}"
                elif text.startswith("* Do not remove this line"):
                    continue  # kramdown's {:toc} marker: replaced by the table of contents
                else:
                    chunk = tr(norm(text)) if not text.lstrip().startswith("<") else "\n".join(
                        tr(norm(x)) if norm(x) else x for x in text.split("\n"))
                (parts if current is not None else intro).append(chunk)
            flush()
            url = f"https://f-droid.org/{lang}/docs/{doc}/"
            toc = "\n".join(f'<li><a href="#{q.anchor}" id="markdown-toc-{q.anchor}">{html.escape(q.question, quote=False)}</a></li>'
                            for q in qas)
            open_scope, close_scope = faq_scope("rdfa")
            body = "\n".join(question_html(q, "rdfa", "h3") for q in qas)
            alternates = "\n".join(f'<link rel="alternate" hreflang="{o}" href="https://f-droid.org/{o}/docs/{doc}/">'
                                   for o in ["en"] + FDROID_SITE_LANGS)
            doc_html = f"""<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="UTF-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title, quote=False)} | F-Droid - Free and Open Source Android App Repository</title>
<link rel="stylesheet" href="/css/main.css">
<link rel="canonical" href="{url}">
{alternates}
<link rel="alternate" type="application/rss+xml" title="F-Droid" href="https://f-droid.org/feed.xml">
</head>
<body>
<header class="site-header">
<div class="site-nav">
<a class="site-title" href="/{lang}/">F-Droid</a>
<a href="/{lang}/packages/">Apps</a> <a href="/{lang}/tutorials/">Tutorials</a> <a href="/{lang}/docs/">Docs</a> <a href="/{lang}/news/">News</a> <a href="/{lang}/donate/">Donate</a>
</div>
</header>
<div class="site-wrapper">
<div class="main-content">
<article class="page">
<header class="post-header">
<h2 class="post-title">{html.escape(title, quote=False)}</h2>
</header>
<div class="post-content">
<ul id="markdown-toc">
{toc}
</ul>
{open_scope}
{body}
{close_scope}
</div>
</article>
</div>
</div>
<footer class="site-footer">
<div class="wrapper">
<div class="site-description">
<p>© 2010-2025 F-Droid Contributors
<span class="edit-this-page-area"><a href="https://fdroidstatus.org/" target="_blank">Status</a></span></p>
</div>
</div>
</footer>
</body>
</html>
"""
            pages.append(Page(url, lang, "fdroid", "rdfa", doc_html, qas))
    return pages


# ---------------------------------------------------------------------------------------------
# jmrplens.github.io/Cloudflare-DNS-Updater

CF_TITLES = {
    "en": {"automation": "Automation", "configuration": "Configuration",
           "getting-started": "Getting started", "troubleshooting": "Troubleshooting", "faq": "FAQ"},
    "es": {"automation": "Automatización", "configuration": "Configuración",
           "getting-started": "Primeros pasos", "troubleshooting": "Solución de problemas",
           "faq": "Preguntas frecuentes"},
}


def cloudflare_pages(shared: Path) -> list[Page]:
    base = shared / "parallel" / "cloudflare-dns-updater-faq-jsonld"
    pages = []
    for path in sorted(base.glob("*.jsonld")):
        lang, slug = path.name.split(".")[:2]
        raw = path.read_text(encoding="utf-8").strip()
        data = json.loads(raw)
        url = data["@id"]
        titles = CF_TITLES[lang]
        qas = [QA(q["name"], html.escape(q["acceptedAnswer"]["text"], quote=False), f"faq-{i + 1}")
               for i, q in enumerate(data["mainEntity"])]
        items = "\n".join(f'<details id="{q.anchor}">\n<summary>{html.escape(q.question, quote=False)}</summary>\n'
                          f"<p>{q.answer_html}</p>\n</details>" for q in qas)
        nav = "\n".join(
            f'<li><a href="/Cloudflare-DNS-Updater/{"es/" if lang == "es" else ""}{s}/">{t}</a></li>'
            for s, t in titles.items() if s != "faq")
        other = url.replace("/es/", "/") if lang == "es" else url.replace("/Cloudflare-DNS-Updater/", "/Cloudflare-DNS-Updater/es/")
        doc = f"""<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{titles[slug]} | Cloudflare DNS Updater</title>
<link rel="canonical" href="{url}">
<link rel="alternate" hreflang="{"en" if lang == "es" else "es"}" href="{other}">
<link rel="stylesheet" href="/Cloudflare-DNS-Updater/assets/css/style.css">
<script type="application/ld+json">{raw}</script>
</head>
<body>
<nav class="sidebar"><a class="brand" href="/Cloudflare-DNS-Updater/{"es/" if lang == "es" else ""}">Cloudflare DNS Updater</a>
<ul>
{nav}
</ul></nav>
<main>
<h1>{titles[slug]}</h1>
<section class="faq">
<h2>{titles["faq"]}</h2>
{items}
</section>
</main>
<footer><p><a href="https://github.com/jmrplens/Cloudflare-DNS-Updater">GitHub</a> · MIT</p></footer>
</body>
</html>
"""
        pages.append(Page(url, lang, "cloudflare", "json-ld", doc, qas))
    return pages


# ---------------------------------------------------------------------------------------------
# Checks and the WARC


def check_page(page: Page) -> None:
    """The pipeline's extractor must find exactly the page's QAs, in the page's syntax only."""
    from webfaq.counters import Counters
    from webfaq.extract.prefilter import detect_syntaxes
    from webfaq.extract.schemaorg import extract_faq_pairs
    from webfaq.extract.text_clean import clean_literal

    payload = page.html.encode("utf-8")
    found = detect_syntaxes(payload, ["json-ld", "microdata", "rdfa"])
    assert page.syntax in found, (page.url, found)
    counters = Counters()
    pairs = extract_faq_pairs(page.html, page.url, found, counters)
    assert all(p.syntax == page.syntax for p in pairs), (page.url, {p.syntax for p in pairs})
    assert [clean_literal(p.question) for p in pairs] == [q.question for q in page.qas], page.url
    assert not [k for k in counters if k.startswith(("block_errors", "questions_incomplete"))], (page.url, counters)


def _digest(data: bytes) -> str:
    import base64

    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()


def _rid(*parts: str) -> str:
    return f"<urn:uuid:{uuid.uuid5(UUID_NS, '|'.join(parts))}>"


def write_warc(pages: list[Page], out: Path) -> None:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=True, warc_version="1.0")
    fmt = lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    http_date = lambda d: d.strftime("%a, %d %b %Y %H:%M:%S GMT")  # noqa: E731
    info_id = _rid("warcinfo", out.name)
    info = (f"isPartOf: {CRAWL}\r\npublisher: WebFAQ Lake sample (reconstructed captures)\r\n"
            "description: Demo sample: real multilingual FAQ text (Tails, F-Droid, Cloudflare DNS Updater "
            "documentation) rendered as pages; see sample-data/README.md\r\n"
            "software: scripts/make_demo_sample.py (warcio)\r\n"
            "format: WARC File Format 1.0\r\n"
            "conformsTo: https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.0/\r\n").encode()
    writer.write_record(writer.create_warc_record(
        "", "warcinfo", payload=io.BytesIO(info), length=len(info),
        warc_headers_dict={"WARC-Date": fmt(FETCH_START), "WARC-Record-ID": info_id,
                           "WARC-Filename": out.name, "Content-Type": "application/warc-fields"}))
    for page in pages:
        d = page.date
        host = re.match(r"https?://([^/]+)", page.url)[1]
        path = page.url[len(f"https://{host}"):] or "/"
        request = (f"GET {path} HTTP/1.1\r\nUser-Agent: CCBot/2.0 (https://commoncrawl.org/faq/)\r\n"
                   "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
                   "Accept-Language: en-US,en;q=0.5\r\nAccept-Encoding: br,gzip\r\n"
                   f"Host: {host}\r\nConnection: Keep-Alive\r\n\r\n").encode()
        req_id = _rid("request", page.url, fmt(d))
        common = {"WARC-Date": fmt(d), "WARC-Warcinfo-ID": info_id, "WARC-Target-URI": page.url}
        writer.write_record(writer.create_warc_record(
            page.url, "request", payload=io.BytesIO(request), length=len(request),
            warc_headers_dict={**common, "WARC-Record-ID": req_id,
                               "Content-Type": "application/http; msgtype=request"}))
        body = page.html.encode("utf-8")
        if page.status == 200:
            status = "200 OK"
            headers = [("Date", http_date(d)), ("Content-Type", "text/html; charset=utf-8"),
                       ("Last-Modified", http_date(d - timedelta(days=9, hours=3))), *page.extra_headers,
                       ("X-Crawler-Content-Encoding", "gzip"), ("Content-Length", str(len(body)))]
        else:
            status = "301 Moved Permanently"
            headers = [("Date", http_date(d)), ("Content-Type", "text/html"), ("Location", page.location),
                       ("Content-Length", str(len(body)))]
        resp_id = _rid("response", page.url, fmt(d))
        writer.write_record(writer.create_warc_record(
            page.url, "response", payload=io.BytesIO(body), length=len(body),
            http_headers=StatusAndHeaders(status, headers, protocol="HTTP/1.1"),
            warc_headers_dict={**common, "WARC-Record-ID": resp_id, "WARC-Concurrent-To": req_id,
                               "Content-Type": "application/http; msgtype=response",
                               "WARC-Identified-Payload-Type": "text/html"}))
        fetch_ms = 80 + int(hashlib.sha1(page.url.encode()).hexdigest()[:4], 16) % 900
        meta = f"fetchTimeMs: {fetch_ms}\r\ncharset-detected: UTF-8\r\n".encode()
        writer.write_record(writer.create_warc_record(
            page.url, "metadata", payload=io.BytesIO(meta), length=len(meta),
            warc_headers_dict={**common, "WARC-Record-ID": _rid("metadata", page.url, fmt(d)),
                               "WARC-Concurrent-To": resp_id, "Content-Type": "application/warc-fields"}))
    out.write_bytes(buf.getvalue())


def redirect(url: str, location: str) -> Page:
    body = ("<html>\r\n<head><title>301 Moved Permanently</title></head>\r\n<body>\r\n"
            "<center><h1>301 Moved Permanently</h1></center>\r\n</body>\r\n</html>\r\n")
    return Page(url, "", "redirect", "", body, [], status=301, location=location)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--fdroid-website", type=Path, required=True,
                    help=f"a git clone of fdroid-website (read at {FDROID_COMMIT[:8]})")
    ap.add_argument("--out", type=Path, default=REPO / "sample-data" / "warc" / "faq-sites.warc.gz")
    args = ap.parse_args()

    tails = tails_pages(args.shared)
    pages = tails + fdroid_pages(args.fdroid_website) + cloudflare_pages(args.shared)
    de = next(p for p in tails if p.lang == "de")
    # A second capture of the German page reached through a tracking link: same bytes, other URL.
    pages.append(Page(de.url + "?utm_source=mastodon&utm_medium=social", "de", "tails", de.syntax, de.html, de.qas))
    # The project moved from tails.boum.org to tails.net: the old host answers with a redirect.
    pages += [redirect(f"https://tails.boum.org/support/faq/index.{lang}.html",
                       f"https://tails.net/support/faq/index.{lang}.html") for lang in ("en", "de")]
    for page in pages:
        if page.qas:
            check_page(page)
    # Captures in crawl order: hosts interleaved, a few seconds apart.
    pages.sort(key=lambda p: hashlib.sha1(p.url.encode()).hexdigest())
    for i, page in enumerate(pages):
        page.date = FETCH_START + timedelta(seconds=37 * i + int(hashlib.sha1(page.url.encode()).hexdigest()[:2], 16) % 30)
        if page.site == "cloudflare":
            page.extra_headers = [("Server", "GitHub.com"), ("Access-Control-Allow-Origin", "*"),
                                  ("Cache-Control", "max-age=600"), ("Vary", "Accept-Encoding")]
        elif page.site == "tails":
            page.extra_headers = [("Content-Language", page.lang), ("Vary", "Accept-Encoding")]
    write_warc(pages, args.out)
    summary: dict[str, dict[str, int]] = {}
    for p in pages:
        if p.qas:
            key = f"{p.site}:{p.syntax}"
            summary.setdefault(key, {})
            summary[key][p.lang] = summary[key].get(p.lang, 0) + len(p.qas)
    print(f"{len(pages)} captures ({sum(len(p.qas) for p in pages)} marked-up QAs) -> {args.out} "
          f"({args.out.stat().st_size:,} bytes)")
    for key, langs in sorted(summary.items()):
        print(f"  {key}: " + ", ".join(f"{k} {v}" for k, v in sorted(langs.items())))


if __name__ == "__main__":
    sys.exit(main())
