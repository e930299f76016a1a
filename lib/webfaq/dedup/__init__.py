"""Deduplication: exact duplicates by the method's md5 id, near duplicates by MinHash-LSH with an
exact-Jaccard check, and connected components over the candidate edges.

Run by ``jobs/dedup.py`` (``webfaq dedup``): faq -> faq_dedup. minhash (signatures, bands) ->
rules (shingles, statuses, the reference implementation) -> components (large-star/small-star).
"""
