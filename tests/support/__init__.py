"""Builders of synthetic and sample data for the tests and benchmarks (never shipped in the wheel):
``faqsynth`` (FAQ rows and lakes from real labelled sentences), ``benchlake`` (multilingual
benchmark lakes), ``parallel`` (the real parallel FAQ and Tatoeba data as alignment fixtures)."""
