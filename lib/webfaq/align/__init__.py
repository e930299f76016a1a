"""Alignment: multilingual embeddings of each QA and the per-website bitext join (mutual best match
over thresholds, or a ratio margin) that yields QA-aligned corpora per language pair.

Run by ``jobs/align.py`` (``webfaq align``): faq_dedup -> embeddings -> bitext. embeddings (the
backends) -> join (blocks, tiles, matching, the bitext record).
"""
