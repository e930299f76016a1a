import gzip

import pytest

from webfaq.config import Config
from webfaq.errors import UsageError
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


# --------------------------------------------------------------------------- one file, one spelling

def test_one_file_spelled_many_ways_is_one_input(tmp_path, monkeypatch):
    """A manifest and a command line that name one WARC five ways (relative, with .., with ./,
    as file:// and file: URIs, through a link) list it once, by its canonical path; a note says
    how many inputs were folded."""
    data = tmp_path / "data"
    data.mkdir()
    warc = data / "a.warc.gz"
    warc.write_bytes(b"")
    (tmp_path / "link.warc.gz").symlink_to(warc)
    listing = tmp_path / "warc.paths"
    listing.write_text(f"a.warc.gz\n../data/a.warc.gz\n{data}/./a.warc.gz\nfile://{warc}\nfile:{warc}\n")
    monkeypatch.chdir(data)
    notes = []
    got = resolve_inputs([str(listing), "a.warc.gz", f"file://localhost{warc}", str(tmp_path / "link.warc.gz")],
                         cfg(base_url=str(data) + "/"), notes)
    assert got == [str(warc)]
    assert notes == ["7 inputs named a file already listed (the same file, spelled differently or named "
                     "twice): each file is read once"]


def test_file_uris_are_local_paths(tmp_path):
    """file: URIs are expanded as the paths they name: a pattern, a folder, file:/ and file:///."""
    for name in ("a.warc.gz", "b.warc"):
        (tmp_path / name).write_bytes(b"")
    both = [str(tmp_path / "a.warc.gz"), str(tmp_path / "b.warc")]
    assert resolve_inputs([f"file://{tmp_path}/*.warc*"], cfg()) == both
    assert resolve_inputs([f"file://{tmp_path}"], cfg()) == both
    assert resolve_inputs([f"file:{tmp_path}/b.warc", f"file://{tmp_path}/a.warc.gz"], cfg()) == both[::-1]
    with pytest.raises(UsageError, match=r"^input file://other/x.warc.gz: file://other/ names another machine"):
        resolve_inputs(["file://other/x.warc.gz"], cfg())


# --------------------------------------------------------------------------- folders and patterns

def test_a_folder_lists_warcs_in_any_case_and_says_what_it_left_out(tmp_path):
    names = ("UP.WARC.GZ", "a.warc.gz", "b.Warc", "x.arc.gz", "y.warc.wet.gz", "z.warc.zst", ".part.warc.gz",
             "notes.txt")
    for name in names:
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "sub.warc.gz").mkdir()
    (tmp_path / "gone.warc").symlink_to(tmp_path / "nowhere")
    notes = []
    got = resolve_inputs([str(tmp_path)], cfg(), notes)
    assert got == [str(tmp_path / n) for n in ("UP.WARC.GZ", "a.warc.gz", "b.Warc")]
    assert notes == [f"input {tmp_path}: took 3 files, skipped 7 (hidden: .part.warc.gz; not a file (a folder, or a "
                     "broken link): gone.warc, sub.warc.gz; not named *.warc or *.warc.gz: notes.txt; an ARC file, "
                     "not a WARC: x.arc.gz; a WET/WAT file (no HTML pages): y.warc.wet.gz; a WARC compressed other "
                     "than with gzip: z.warc.zst)"]


def test_a_folder_without_warcs_says_what_it_holds_instead(tmp_path):
    (tmp_path / ".hidden.warc.gz").write_bytes(b"")
    with pytest.raises(UsageError) as refused:
        resolve_inputs([str(tmp_path)], cfg())
    assert str(refused.value) == (f"input {tmp_path}: a folder with no WARC files (*.warc, *.warc.gz, in any case); "
                                  "skipped 1 (hidden: .hidden.warc.gz)")


def test_a_pattern_leaves_out_what_is_not_a_warc(tmp_path):
    for name in ("a.warc.gz", "x.arc.gz"):
        (tmp_path / name).write_bytes(b"")
    notes = []
    assert resolve_inputs([str(tmp_path / "*.gz")], cfg(), notes) == [str(tmp_path / "a.warc.gz")]
    assert notes == [f"input {tmp_path}/*.gz: took 1 file, skipped 1 (an ARC file, not a WARC: x.arc.gz)"]


def test_an_arc_file_named_is_refused(tmp_path):
    from webfaq_jobs.extract import checked_inputs

    (tmp_path / "x.arc.gz").write_bytes(b"")
    with pytest.raises(UsageError) as refused:
        checked_inputs([str(tmp_path / "x.arc.gz")], cfg())
    assert str(refused.value) == (f"input {tmp_path}/x.arc.gz: an ARC file, not a WARC; only WARC files "
                                  "(.warc, .warc.gz) can be read")


# --------------------------------------------------------------------------- manifests

@pytest.mark.parametrize("name, content, problem", [
    ("warc.paths.gz", b"a.warc.gz\n", "not gzip data, though its name ends in .gz"),
    ("warc.paths.gz", gzip.compress(b"a.warc.gz\n")[:-12], "broken gzip data (EOFError: "),
    ("warc.paths", b"\xff\xfebad\n", "not UTF-8 text (byte 0xff at offset 0)"),
    ("warc.paths", b"# nothing\n\n", "lists no files (only blank or # lines)"),
])
def test_a_bad_manifest_is_one_line_naming_it(tmp_path, name, content, problem):
    listing = tmp_path / name
    listing.write_bytes(content)
    with pytest.raises(UsageError) as refused:
        resolve_inputs([str(listing)], cfg(base_url=str(tmp_path)))
    assert str(refused.value).startswith(f"manifest {listing}: {problem}")


def test_a_byte_order_mark_is_no_part_of_the_first_entry(tmp_path):
    listing = tmp_path / "warc.paths"
    listing.write_bytes("\ufeffa.warc.gz\r\nb.warc.gz\r\n".encode())
    assert resolve_inputs([str(listing)], cfg(base_url="s3://commoncrawl/")) == [
        "s3://commoncrawl/a.warc.gz", "s3://commoncrawl/b.warc.gz"]


@pytest.mark.parametrize("entry, problem", [
    ("ftp://x/y.warc.gz", "ftp://x/y.warc.gz: ftp:// is not supported (inputs are local paths, s3:// or http(s):// URLs)"),
    ("https://user:s3cret@host/y.warc.gz", "https://host/y.warc.gz: user:password in a URL is not supported"),
    ("s3:///y.warc.gz", "s3:///y.warc.gz: no bucket (s3://BUCKET/KEY)"),
    ("s3://b/crawl/*.warc.gz", "s3://b/crawl/*.warc.gz: a pattern or a folder; a listing names files"),
    ("{d}/*.warc.gz", "{d}/*.warc.gz: a pattern; a listing names files"),
    ("{d}/x.arc.gz", "{d}/x.arc.gz: an ARC file, not a WARC"),
    ("a\tb.warc.gz", "'a\\tb.warc.gz': holds a control character"),
])
def test_manifest_entries_that_cannot_be_files_to_read_are_refused_by_line(tmp_path, entry, problem):
    listing = tmp_path / "warc.paths"
    listing.write_text("a.warc.gz\n" + entry.format(d=tmp_path) + "\n")
    with pytest.raises(UsageError) as refused:
        resolve_inputs([str(listing)], cfg(base_url="s3://commoncrawl/"))
    assert str(refused.value).startswith(f"manifest {listing} line 2: " + problem.format(d=tmp_path))
    assert "s3cret" not in str(refused.value)


# --------------------------------------------------------------------------- s3://

def s3_cfg(endpoint: str) -> Config:
    c = cfg()
    c.s3.endpoint_url = endpoint
    c.retry.max_attempts, c.retry.base_delay_s = 2, 0.0
    return c


def test_an_s3_folder_is_listed_as_a_local_one(s3_bucket, s3_endpoint):
    client, bucket = s3_bucket
    for key in ("d/a.warc.gz", "d/B.WARC", "d/x.arc.gz", "d/deeper/c.warc.gz", "top.warc.gz"):
        client.put_object(Bucket=bucket, Key=key, Body=b"")
    notes = []
    assert resolve_inputs([f"s3://{bucket}/d/"], s3_cfg(s3_endpoint), notes) == [
        f"s3://{bucket}/d/B.WARC", f"s3://{bucket}/d/a.warc.gz"]
    assert notes == [f"input s3://{bucket}/d/: took 2 files, skipped 2 (an ARC file, not a WARC: x.arc.gz; "
                     "sub-folders: deeper/)"]
    assert resolve_inputs([f"s3://{bucket}"], s3_cfg(s3_endpoint)) == [f"s3://{bucket}/top.warc.gz"]
    assert resolve_inputs([f"s3://{bucket}/d/?.warc.gz"], s3_cfg(s3_endpoint)) == [f"s3://{bucket}/d/a.warc.gz"]


def test_s3_inputs_without_a_bucket_or_in_a_missing_one_are_one_line(s3_endpoint):
    from webfaq_jobs.extract import checked_inputs

    with pytest.raises(UsageError, match=r"^input s3:///x.warc.gz: no bucket \(s3://BUCKET/KEY\)$"):
        checked_inputs(["s3:///x.warc.gz"], s3_cfg(s3_endpoint))
    with pytest.raises(UsageError) as refused:
        resolve_inputs(["s3://no-such-bucket-here/*.warc.gz"], s3_cfg(s3_endpoint))
    assert str(refused.value) == "input s3://no-such-bucket-here/*.warc.gz: cannot be listed: not_found: NoSuchBucket"


# --------------------------------------------------------------------------- the run's list

def test_an_empty_sample_says_what_it_left_out(tmp_path):
    from webfaq_jobs.extract import checked_inputs

    (tmp_path / "a.warc.gz").write_bytes(b"")
    with pytest.raises(UsageError) as refused:
        checked_inputs([str(tmp_path)], cfg(sample=0.000001, seed=1))
    assert str(refused.value) == f"no input files: 1 file listed by {tmp_path}, none left after --sample 1e-06 (--seed 1)"
