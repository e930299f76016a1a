"""The report: one self-contained HTML page per lake (funnels, drop reasons, languages, bitext,
benchmarks) built from the run manifests.

Written by every job when it ends and by ``webfaq report``.
"""
