"""Turning what the user typed into the list of WARC files a run processes.

Accepts local paths, globs and directories, ``s3://`` keys and globs, ``https://`` URLs,
``warc.paths[.gz]`` manifests (relative entries resolved against ``input.base_url``), and
``--crawl CC-MAIN-YYYY-WW`` (that crawl's published listing). ``--sample`` selects files by a
seeded hash of their path, so the same file is in or out of a sample whatever else the listing
holds; ``--limit`` then takes the first N.
"""

from __future__ import annotations

import hashlib
import re

from webfaq.config import Config
from webfaq.lake.storage import list_matching, read_bytes, text_lines

# ASCII digits only (\d takes any script's), matched whole: "$" would take a trailing newline
CRAWL_RE = re.compile(r"CC-MAIN-[0-9]{4}-[0-9]{2}")


def is_crawl_id(value: object) -> bool:
    """Whether ``value`` is a crawl id, CC-MAIN-YYYY-WW, and nothing else."""
    return isinstance(value, str) and CRAWL_RE.fullmatch(value) is not None


def is_manifest(path: str) -> bool:
    return path.endswith((".paths", ".paths.gz"))


def crawl_listing_url(crawl: str, base_url: str) -> str:
    if not is_crawl_id(crawl):
        raise ValueError(f"--crawl expects CC-MAIN-YYYY-WW, got {crawl!r}")
    return join_url(base_url, f"crawl-data/{crawl}/warc.paths.gz")


def join_url(base_url: str, path: str) -> str:
    if "://" in path or path.startswith("/"):
        return path
    return base_url.rstrip("/") + "/" + path.lstrip("/")


def read_manifest(uri: str, cfg: Config) -> list[str]:
    lines = text_lines(read_bytes(uri, cfg.s3, cfg.retry))
    return [join_url(cfg.input.base_url, line) for line in lines if not line.startswith("#")]


def in_sample(path: str, fraction: float, seed: int) -> bool:
    digest = hashlib.sha1(f"{seed}:{path}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


def resolve_inputs(paths: list[str], cfg: Config) -> list[str]:
    """Ordered, de-duplicated WARC URIs for this run."""
    uris: list[str] = []
    if cfg.input.crawl:
        uris += read_manifest(crawl_listing_url(cfg.input.crawl, cfg.input.base_url), cfg)
    for path in paths:
        if is_manifest(path):
            uris += read_manifest(path, cfg)
        else:
            uris += list_matching(path, cfg.s3, cfg.retry)
    uris = list(dict.fromkeys(uris))
    if cfg.input.sample is not None:
        uris = [u for u in uris if in_sample(u, cfg.input.sample, cfg.input.seed)]
    if cfg.input.limit is not None:
        uris = uris[: cfg.input.limit]
    return uris
