"""The lake's vector store: each text a stage embeds is embedded once per lake, for every stage
and every later run, and read back from the lake instead of being recomputed.

Embedding is the costliest work after extraction (bench/align.py: a few FAQ-length texts per
CPU-second on CPU), and the monthly runs see the same QAs again (align and benchmark read every
crawl of the lake each month). So vectors live in lake tables, one per *view* of a QA:

======== ========================= ======== ================================================
view     text                      kind     table (``<lake>/<table>/model=<name>/crawl=/language=/``)
======== ========================= ======== ================================================
qa       question + " " + answer   query    ``embeddings`` (align: the method's bitext unit)
question question                  query    ``embeddings_question`` (refinement, hard negatives)
answer   answer                    passage  ``embeddings_answer`` (refinement, hard negatives)
======== ========================= ======== ================================================

keyed by (language, id) (``id`` = md5 of the QA, so a vector of any crawl serves every crawl)
and partitioned by crawl, each crawl partition swapped in whole. :func:`ensure` embeds only the
rows no stored vector covers, on the executors, in Arrow batches; where everything is stored it
loads no model at all. That is also how a GPU stage works: ``--align-embed-only`` and
``--benchmark-embed-only`` on GPU executors fill the store, and the CPU runs of align and
benchmark after them find every vector there (deploy/README.md).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import pandas as pd  # pandas UDF type hints are resolved against this module's globals

from webfaq import lake
from webfaq.align.embeddings import embedder_name, encode_frames, executor_config, qa_text
from webfaq.counters import Counters
from webfaq.lake.names import check_name

VECTOR_SCHEMA = "language string, id string, vector array<float>"
KEYS = ["crawl", "language", "id"]


@dataclass(frozen=True)
class View:
    name: str
    table_suffix: str  # appended to embed.table ("embeddings")
    kind: str          # e5's query/passage prefix
    counter: str       # counter prefix: embed.<...>.records / computed / reused

    def text(self, F):
        """The Spark column holding the text this view embeds."""
        return _qa_text_udf()("question", "answer") if self.name == "qa" else F.col(self.name)


VIEWS = {
    "qa": View("qa", "", "query", "embed"),
    "question": View("question", "_question", "query", "embed.question"),
    "answer": View("answer", "_answer", "passage", "embed.answer"),
}


def _qa_text_udf():
    from pyspark.sql import functions as F

    def text_of(q: pd.Series, a: pd.Series) -> pd.Series:
        return pd.Series([qa_text(x, y) for x, y in zip(q, a)], dtype=object)

    return F.pandas_udf(text_of, "string")


def model_name(embed: Any) -> str:
    """The embedder's name, which names a folder of every vector table: checked like every name
    that becomes a path. Jobs call it when they are built (before Spark starts) and keep it as
    ``job.model``."""
    return check_name("embedding model name (from --embed-model)", embedder_name(embed))


def store_path(job: Any, view: View) -> str:
    return lake.join(job.table(job.cfg.embed.table + view.table_suffix), f"model={job.model}")


def _read_store(job: Any, view: View):
    path = store_path(job, view)
    if not lake.crawl_dirs(job.fs, path):
        return None
    return job.spark.read.option("basePath", path).parquet(path)


def read_vectors(job: Any, view: View, crawls: list[str]):
    """(language, id, vector) of ``crawls`` from the view's table (empty when there is none)."""
    from pyspark.sql import functions as F

    store = _read_store(job, view)
    if store is None:
        return job.spark.createDataFrame([], VECTOR_SCHEMA)
    return store.where(F.col("crawl").isin(crawls)).dropDuplicates(["language", "id"]).select("language", "id", "vector")


def ensure(job: Any, rows, view: View, crawls: list[str], counters: Counters) -> dict[str, Any]:
    """Make the view's table cover every (crawl, language, id) of ``rows`` (columns crawl,
    language, id, question, answer): crawl partitions with a gap are rebuilt from vectors
    already stored (any crawl) plus the missing ones, embedded on the executors."""
    from pyspark.sql import functions as F

    needed = rows.select("crawl", "language", "id", "question", "answer").dropDuplicates(KEYS)
    stored = _read_store(job, view)
    if stored is None:
        stale = sorted(crawls)
    else:
        gaps = needed.join(stored.select(*KEYS), KEYS, "left_anti").select("crawl").distinct()
        stale = sorted(r.crawl for r in gaps.collect())
    result = {"table": store_path(job, view), "model": job.model,
              "crawls_reused": sorted(set(crawls) - set(stale)), "crawls_written": stale}
    records, computed_n = f"{view.counter}.records", f"{view.counter}.computed"
    counters.add(records, needed.count())
    if stale:
        todo = needed.where(F.col("crawl").isin(stale))
        known = None if stored is None else stored.dropDuplicates(["language", "id"]).select("language", "id", "vector")
        missing = todo if known is None else todo.join(known, ["language", "id"], "left_anti")
        missing = missing.dropDuplicates(["language", "id"]).select("language", "id", view.text(F).alias("text"))
        task_cpus = int(job.spark.sparkContext.getConf().get("spark.task.cpus", "1"))
        body = functools.partial(encode_frames, cfg=executor_config(job.cfg.embed, task_cpus), kind=view.kind)
        parts = max(job.spark.sparkContext.defaultParallelism * 2, 1)
        computed = job.staged(missing.repartition(parts).mapInPandas(body, VECTOR_SCHEMA), f"embedded_{view.name}")
        counters.add(computed_n, computed.count())
        pool = computed if known is None else computed.unionByName(known)
        part = todo.select(*KEYS).join(pool, ["language", "id"]).withColumn("model", F.lit(job.model))
        table = f"embeddings_{view.name}"
        job.write_partitioned(part, table, ["crawl", "language"], files=1, sort=["id"])
        job.swap_staged(job.stage(table), store_path(job, view), [f"crawl={c}" for c in stale])
    # every record whose vector this run did not encode: whole crawls already stored, and texts
    # of stale crawls known from any crawl
    counters.add(f"{view.counter}.reused", counters[records] - counters[computed_n])
    return result
