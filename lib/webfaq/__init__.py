"""WebFAQ Lake: Common Crawl -> multilingual FAQ data for dense retrieval.

The packages follow the pipeline: ``extract`` -> ``dedup`` -> ``align`` -> ``benchmark``, over the
``lake`` they share, with ``report`` drawing the result. ``config`` (every setting), ``counters``
(the funnels) and ``cli`` (the ``webfaq`` command) serve every stage. Everything here is plain
Python and imports without a JVM; ``webfaq_jobs`` (``jobs/``) wires Spark around it.
"""
