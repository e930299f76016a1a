"""Retrieval benchmarks: refinement (repeated and near-duplicate questions, Q-A consistency), the
leak-free split by website, BEIR files, BM25, mined hard negatives and their evaluation.

Run by ``jobs/benchmark.py`` (``webfaq benchmark``); ``webfaq evaluate`` scores a benchmark folder.
refine -> split -> beir -> bm25 -> negatives; metrics and evaluate score the result.
"""
