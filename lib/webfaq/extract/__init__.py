"""Extraction: WARC records -> schema.org FAQPage question/answer pairs (JSON-LD, microdata, RDFa,
N-Quads), cleaned, filtered (method F1-F7) and language-tagged, one WARC file at a time.

Run by ``jobs/extract.py`` (``webfaq extract``); ``webfaq extract-file`` runs one file without Spark.
Read in pipeline order: warc_reader -> decoding -> prefilter -> sandbox/schemaorg -> text_clean ->
langid -> records, wired per file by pipeline. A targeted refresh plans which byte ranges to read
from Common Crawl's URL index (ccindex) and reads each WARC file's share as one unit (targeted).
"""
