import gzip

import pytest

from webfaq.config import Config
from webfaq.lake.inputs import crawl_listing_url, in_sample, resolve_inputs


def cfg(**input_kw):
    c = Config()
    for k, v in input_kw.items():
        setattr(c.input, k, v)
    return c


def test_directories_globs_and_paths_are_expanded_in_order(tmp_path):
    for name in ("b.warc.gz", "a.warc.gz", "c.warc", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    assert resolve_inputs([str(tmp_path)], cfg()) == [str(tmp_path / n) for n in ("a.warc.gz", "b.warc.gz", "c.warc")]
    assert resolve_inputs([str(tmp_path / "*.gz"), str(tmp_path / "a.warc.gz")], cfg()) == [
        str(tmp_path / "a.warc.gz"), str(tmp_path / "b.warc.gz")]


def test_manifest_entries_are_resolved_against_the_base_url(tmp_path):
    listing = tmp_path / "warc.paths.gz"
    listing.write_bytes(gzip.compress(b"crawl-data/X/a.warc.gz\n\ncrawl-data/X/b.warc.gz\n"))
    got = resolve_inputs([str(listing)], cfg(base_url="s3://commoncrawl/"))
    assert got == ["s3://commoncrawl/crawl-data/X/a.warc.gz", "s3://commoncrawl/crawl-data/X/b.warc.gz"]


def test_crawl_listing_sample_and_limit(tmp_path):
    (tmp_path / "crawl-data" / "CC-MAIN-2024-22").mkdir(parents=True)
    paths = [f"crawl-data/CC-MAIN-2024-22/segments/s/warc/f{i:05d}.warc.gz" for i in range(2000)]
    (tmp_path / "crawl-data" / "CC-MAIN-2024-22" / "warc.paths.gz").write_bytes(
        gzip.compress("\n".join(paths).encode()))
    base = str(tmp_path) + "/"
    everything = resolve_inputs([], cfg(crawl="CC-MAIN-2024-22", base_url=base))
    assert len(everything) == 2000 and everything[0] == base + paths[0]
    sample = resolve_inputs([], cfg(crawl="CC-MAIN-2024-22", base_url=base, sample=0.1, seed=7))
    assert 140 < len(sample) < 260 and sample == resolve_inputs([], cfg(crawl="CC-MAIN-2024-22", base_url=base, sample=0.1, seed=7))
    assert sample != resolve_inputs([], cfg(crawl="CC-MAIN-2024-22", base_url=base, sample=0.1, seed=8))
    assert resolve_inputs([], cfg(crawl="CC-MAIN-2024-22", base_url=base, limit=3)) == everything[:3]


def test_sampling_is_stable_per_file():
    """A file's membership does not depend on what else the listing holds."""
    assert in_sample("s3://x/a", 0.5, 1) == in_sample("s3://x/a", 0.5, 1)
    assert sum(in_sample(f"f{i}", 0.25, 3) for i in range(4000)) in range(900, 1100)


def test_crawl_name_is_validated():
    with pytest.raises(ValueError, match="CC-MAIN-YYYY-WW"):
        crawl_listing_url("2024-22", "https://data.commoncrawl.org/")
    assert crawl_listing_url("CC-MAIN-2024-22", "https://data.commoncrawl.org") == \
        "https://data.commoncrawl.org/crawl-data/CC-MAIN-2024-22/warc.paths.gz"


@pytest.mark.parametrize("near", ["CC-MAIN-2024-22\n", " CC-MAIN-2024-22", "CC-MAIN-2024-22/..",
                                  "CC-MAIN-\uff12\uff10\uff12\uff14-22"])
def test_a_crawl_id_is_the_whole_value_in_ascii_digits(near):
    """"$" would let a trailing newline through and "\\d" other scripts' digits: a crawl id from
    a collection list is content, and it becomes a path."""
    with pytest.raises(ValueError, match="CC-MAIN-YYYY-WW"):
        crawl_listing_url(near, "https://data.commoncrawl.org/")
