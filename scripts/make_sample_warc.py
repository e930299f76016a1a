"""Cut a small, real WARC out of a large one: whole gzip members copied byte for byte.

Used once to build sample-data/warc/real-pages-slice.warc.gz from the shared corpus (the
README's demo data); kept so the sample can be rebuilt or resized.
    python scripts/make_sample_warc.py SRC.warc.gz DST.warc.gz --pages 40 --must giromatch.com
"""
import argparse

from warcio.archiveiterator import ArchiveIterator


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--pages", type=int, default=40, help="first N captures to keep")
    ap.add_argument("--must", action="append", default=[], help="also keep captures whose URL has this")
    args = ap.parse_args()
    keep, page = [], -1
    with open(args.src, "rb") as fh:
        it = ArchiveIterator(fh)
        for rec in it:
            url = rec.rec_headers.get_header("WARC-Target-URI") or ""
            if rec.rec_type == "request":
                page += 1
            wanted = rec.rec_type == "warcinfo" or page < args.pages or any(m in url for m in args.must)
            rec.content_stream().read()
            if wanted:
                keep.append((it.get_record_offset(), it.get_record_length()))
        with open(args.dst, "wb") as out:
            for offset, length in keep:
                fh.seek(offset)
                out.write(fh.read(length))
    print(f"{len(keep)} records -> {args.dst}")


if __name__ == "__main__":
    main()
