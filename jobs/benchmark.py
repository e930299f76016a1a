"""spark-submit entry point: retrieval benchmarks (BEIR folders) and hard negatives from the lake.

    spark-submit jobs/benchmark.py --lake s3://bucket/lake                  # 20 largest languages
    webfaq benchmark --lake lake --benchmark-top-languages 0 --benchmark-min-qas 5000

Stages, all on the executors (the driver sees per-language counts only):

1. source: ``faq_dedup`` (the kept records) when that table exists, else
   ``faq`` with one record per (language, id), the first by URL;
2. languages: the ``top_languages`` largest with at least ``min_qas`` QAs (``webfaq.benchmark.split``);
3. refined filtering (``webfaq.benchmark.refine``): repeated questions by a window over (language,
   question); question/answer embeddings per Arrow batch; near-duplicate questions (by their
   words, ``webfaq.benchmark.near_duplicates``) and question-answer disagreement per (language,
   origin) group;
4. leak-free split (``webfaq.benchmark.split``): a language with fewer than two websites left is
   left out (``left_out`` in the manifest says why); websites ordered per language, sides assigned
   per language group, test queries picked among the test websites' QAs;
5. BEIR files (``webfaq.benchmark.beir``): one text file per language and kind, written by one task each;
6. hard negatives (``webfaq.benchmark.negatives``): per (language, query shard) a task indexes the
   language's candidate answers with BM25 and mines its shard of training queries.

Output ``<lake>/<table>/<language>/`` (corpus.jsonl, queries.jsonl, qrels/{train,test}.tsv,
hard_negatives.jsonl, origins.tsv, benchmark.json) is staged and swapped in per language as a whole.
"""

from __future__ import annotations

import functools
import json
import math
import sys
from typing import Any

try:  # run as `spark-submit jobs/benchmark.py` (script dir on sys.path) or as a package module
    from webfaq_jobs import vectors
    from webfaq_jobs.base import JobFailed, SparkJob
except ImportError:  # pragma: no cover - spark-submit with only --py-files of lib
    import vectors  # type: ignore[no-redef]
    from base import JobFailed, SparkJob  # type: ignore[no-redef]

from webfaq import lake
from webfaq.benchmark import beir
from webfaq.benchmark.negatives import (INDEX_SCHEMA, NEGATIVES_FUNNEL, NEGATIVES_SCHEMA, TERMS_SCHEMA, TOTALS_TERM,
                                        NegativeParams, mine_shard, shard_terms, shard_weights)
from webfaq.benchmark.refine import (CARRIED, EMBEDDED_SCHEMA, REFINE_FUNNEL, REFINED_SCHEMA, STATUS_KEPT, RefineParams,
                                     refine_origin)
from webfaq.benchmark.split import (ORIGIN_SCHEMA, ORIGINS_FILE, ORIGINS_HEADER, ROLE_HELDOUT, ROLE_SCHEMA, ROLE_TEST, ROLE_TRAIN, SIDE_TEST, SPLIT_FUNNEL,
                                    SplitParams, assign_origins, pick_test_queries, plan_languages, select_languages)
from webfaq.counters import Counters, reconcile

FUNNEL = REFINE_FUNNEL + SPLIT_FUNNEL + NEGATIVES_FUNNEL


class BenchmarkJob(SparkJob):
    name = "benchmark"
    description = "Build per-language retrieval benchmarks (BEIR) and BM25 hard negatives from the lake (Spark)."
    example = "webfaq benchmark --lake ./lake --benchmark-languages eng,deu"
    config_sections = ["benchmark", "embed", "lake", "s3", "job"]
    source_section = "benchmark"

    def __init__(self, cfg, args):
        super().__init__(cfg, args)
        self.model = vectors.model_name(cfg.embed)

    # ----------------------------------------------------------------- plan
    def run(self) -> dict[str, Any]:
        bm = self.cfg.benchmark
        self.spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(bm.batch_rows))
        counters = Counters()
        out: dict[str, Any] = {}
        with self.phase("read"):
            rows, out["source"], sizes = self.read_source(counters)
        languages = select_languages(sizes, bm.top_languages, bm.min_qas, bm.languages)
        if not languages:
            raise JobFailed(f"no language qualifies (sizes {sizes}, min_qas {bm.min_qas})")
        counters.add("refine.input", sum(sizes[l] for l in languages))
        counters.add("source.other_language", sum(sizes.values()) - counters["refine.input"])
        params = self.refine_params()
        thresholds = {"alpha": params.alpha, "beta": params.beta, "duplicate": params.duplicate} if params else None
        out.update(model=params.model if params else None, thresholds=thresholds)
        selected = rows.where(rows["language"].isin(languages))
        with self.phase("refine"):
            refined, kept = self.refine(selected, params, counters)
        if bm.embed_only:  # the GPU stage: the vector store is filled, no benchmark is written
            out["counters"], out["embeddings"] = counters.as_dict(), getattr(self, "embedded_views", {})
            return out
        # A language that cannot be split leaves the benchmark here, its reason in the manifest.
        languages, out["left_out"] = plan_languages(languages, kept)
        out["languages"] = languages
        counters.add("split.left_out", sum(counters[f"refine.kept.lang.{l}"] for l in out["left_out"]))
        if not languages:
            raise JobFailed("no language can be split: " + "; ".join(f"{l}: {r}" for l, r in out["left_out"].items()), out)
        with self.phase("split"):
            split, origin_sides = self.split(refined, languages, counters)
        files = self.beir_files(split, languages)
        files[ORIGINS_FILE] = self.origins_file(split, languages)
        if bm.negatives:
            with self.phase("negatives"):
                files[beir.NEGATIVES] = self.negatives(split, params, languages, counters)
        with self.phase("write"):
            lines = self.write_files(files, languages)
        header_only = sorted(f for f, n in lines.items() if f.split("/", 1)[1].startswith(beir.QRELS_DIR) and n < 2)
        if header_only:
            raise JobFailed(f"qrels files with no query: {header_only}", out)
        out["counters"] = counters.as_dict()
        out["sizes"] = self.sizes(languages, sizes, counters, origin_sides)
        out["reconcile"] = reconcile(counters, FUNNEL)
        if out["reconcile"]:
            raise JobFailed(f"counters do not reconcile: {out['reconcile']}", out)
        with self.phase("swap"):
            self.write_language_records(out)
            table = self.table(bm.table)
            staged = self.staged_files(lines)
            out["partitions_replaced"] = self.swap_staged(self.stage(bm.table), table, languages)
            self.finish_publish()
            out["output"] = {"table": table, "format": "files", "languages": languages, "files": staged}
        return out

    @property
    def needs_embeddings(self) -> bool:
        bm = self.cfg.benchmark
        return bm.near_duplicates or bm.qa_consistency or (bm.negatives and bm.dense_rescore)

    def refine_params(self) -> RefineParams | None:
        if not self.needs_embeddings:
            return None
        try:
            return RefineParams.from_config(self.cfg.benchmark, self.model)
        except ValueError as exc:
            raise JobFailed(str(exc)) from exc

    # ----------------------------------------------------------------- stages
    def read_source(self, counters: Counters):
        """Deduplicated FAQ rows, the table they came from and kept rows per language. Records
        the dedup job flagged (or, from raw ``faq``, repeats of a (language, id)) are counted."""
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        bm = self.cfg.benchmark
        name = bm.source
        if name == "auto":
            name = "faq_dedup" if self.fs.exists(self.table("faq_dedup")) else "faq"
        path = self.table(name)
        if not self.fs.exists(path):
            raise JobFailed(f"no source table {path}")
        df = self.read_table(path, bm.crawls or None)
        if name == "faq_dedup" and "dedup_status" not in df.columns:
            drop = F.lit(None).cast("string")  # kept rows only (the dropped ones are faq_dedup_dropped)
        elif name == "faq_dedup":  # a lake deduplicated before faq_dedup_dropped: rows carry their flag
            drop = F.when(F.col("dedup_status") != F.lit("kept"), F.lit("source.dedup_dropped"))
        else:
            first = Window.partitionBy("language", "id").orderBy("url", "crawl", "question", "answer")
            drop = F.when(F.row_number().over(first) > 1, F.lit("source.duplicate_id"))
        # Not staged: a second, language-pruned read is cheaper than a copy of the whole lake.
        df = df.withColumn("origin", F.coalesce("origin", F.lit(""))).withColumn("_drop", drop).select(*CARRIED, "_drop")
        sizes: dict[str, int] = {}
        for r in df.groupBy("language", "_drop").count().collect():
            counters.add("source.rows", r["count"])
            if r["_drop"]:
                counters.add(r["_drop"], r["count"])
            else:
                sizes[r["language"]] = r["count"]
        return df.where(F.col("_drop").isNull()).drop("_drop"), name, sizes

    def refine(self, rows, params: RefineParams | None, counters: Counters):
        """Rules 1-3 of ``webfaq.benchmark.refine``; the staged refined table (every selected record with
        its status, similarities and embeddings) and kept (QAs, websites) per language."""
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        bm = self.cfg.benchmark
        rn = F.lit(1)
        if bm.repeated_questions:
            rn = F.row_number().over(Window.partitionBy("language", "question").orderBy("url", "crawl", "id"))
        survivors = rows.withColumn("_rn", rn).where(F.col("_rn") == 1).drop("_rn")
        if params is None:
            nulls = _null_columns(REFINED_SCHEMA, CARRIED, F)
            refined = survivors.select(*CARRIED, *nulls).withColumn("status", F.lit(STATUS_KEPT))
        else:
            embedded = self.embed(survivors, counters)
            if bm.embed_only:
                return None, {}
            if params.near_duplicates or params.qa_consistency:
                body = functools.partial(refine_origin, params=params)
                refined = embedded.groupBy("language", "origin").applyInPandas(body, REFINED_SCHEMA)
            else:
                refined = embedded.select("*", *_null_columns(REFINED_SCHEMA, EMBEDDED_SCHEMA_COLUMNS, F)).withColumn(
                    "status", F.lit(STATUS_KEPT))
        refined = self.staged(refined, "refined")
        survived, kept = 0, {}
        for r in refined.groupBy("language", "status").agg(F.count(F.lit(1)).alias("count"),
                                                           F.countDistinct("origin").alias("sites")).collect():
            key = f"refine.kept.lang.{r['language']}" if r["status"] == STATUS_KEPT else f"refine.drop.{r['status']}"
            counters.add(key, r["count"])
            survived += r["count"]
            if r["status"] == STATUS_KEPT:
                counters.add("refine.kept", r["count"])
                kept[r["language"]] = (r["count"], r["sites"])
        counters.add("refine.drop.repeated_question", counters["refine.input"] - survived)
        return refined, kept

    def embed(self, survivors, counters: Counters):
        """``survivors`` with ``q_emb`` (question as query) and ``a_emb`` (answer as passage) from
        the lake's vector store (``vectors.py``): embedded once per lake, so a monthly run
        embeds only the new crawl's QAs, and a GPU step (``--benchmark-embed-only``) may have
        embedded them all before."""
        survivors = self.staged(survivors, "survivors")  # read by each view's look-ups and joins
        crawls = sorted(r.crawl for r in survivors.select("crawl").distinct().collect())
        self.embedded_views = {}
        for name, column in (("question", "q_emb"), ("answer", "a_emb")):
            view = vectors.VIEWS[name]
            self.embedded_views[name] = vectors.ensure(self, survivors, view, crawls, counters)
            survivors = survivors.join(vectors.read_vectors(self, view, crawls).withColumnRenamed("vector", column),
                                       ["language", "id"])
        return survivors.select(*EMBEDDED_SCHEMA_COLUMNS)

    def split(self, refined, languages: list[str], counters: Counters):
        """``webfaq.benchmark.split``'s rule, distributed: per language its websites' sides, then per
        language its test websites' QAs. The staged split table (kept QAs of ``languages`` with a
        role)."""
        from pyspark.sql import functions as F

        sp = SplitParams.from_config(self.cfg.benchmark)
        kept = refined.where((F.col("status") == STATUS_KEPT) & F.col("language").isin(languages)).drop("status")
        origins = kept.groupBy("language", "origin").agg(F.count(F.lit(1)).alias("n"))
        pins = self.published_sides(languages, sp.seed)
        if pins is not None:
            origins = origins.join(pins, ["language", "origin"], "left")
        sides = self.staged(origins.groupBy("language").applyInPandas(
            functools.partial(assign_origins, params=sp), ORIGIN_SCHEMA), "sides")
        if pins is not None:
            self.count_moved_sides(sides, pins, counters)
        joined = kept.join(sides, ["language", "origin"])
        test_side = joined.where(F.col("side") == SIDE_TEST).select("language", "origin", "id", "origin_rank", "target")
        roles = test_side.groupBy("language").applyInPandas(functools.partial(pick_test_queries, params=sp), ROLE_SCHEMA)
        split = (joined.join(roles, ["language", "id"], "left")
                 .withColumn("role", F.coalesce("role", F.lit(ROLE_TRAIN)))
                 .drop("side", "origin_rank", "target"))
        split = self.staged(split, "split")
        role_names = (ROLE_TRAIN, ROLE_TEST, ROLE_HELDOUT)
        per_language = split.groupBy("language").agg(
            *[F.sum((F.col("role") == r).cast("long")).alias(r) for r in role_names],
            F.countDistinct(F.when(F.col("role") == ROLE_TRAIN, F.col("origin"))).alias("train_sites"),
            F.countDistinct(F.when(F.col("role") != ROLE_TRAIN, F.col("origin"))).alias("test_sites"))
        origin_sides = {}
        for r in per_language.collect():
            for role in role_names:
                counters.add(f"split.{role}", r[role])
                counters.add(f"split.{role}.lang.{r['language']}", r[role])
            origin_sides[(r["language"], "train")], origin_sides[(r["language"], "test")] = r["train_sites"], r["test_sites"]
        return split, origin_sides

    def count_moved_sides(self, sides, pins, counters: Counters) -> None:
        """Websites whose side differs from the one published before (``split.sides_moved``,
        per language; zero unless keeping the sides would have emptied one: see
        ``split.assign_origins``), with one stderr line, since users who trained on the earlier
        train split must know its websites may now be tested."""
        from pyspark.sql import functions as F

        moved = (sides.join(pins, ["language", "origin"]).where(F.col("side") != F.col("pinned"))
                 .groupBy("language").count().collect())
        for r in moved:
            counters.add("split.sides_moved", r["count"])
            counters.add(f"split.sides_moved.lang.{r['language']}", r["count"])
        if moved:
            print(f"{self.name}: split afresh for {', '.join(sorted(r['language'] for r in moved))}: the websites "
                  "kept on one side of the earlier split are all gone from the lake, so websites changed side "
                  "(split.sides_moved)", file=sys.stderr)

    def published_sides(self, languages: list[str], seed: int):
        """(language, origin, pinned) of the benchmark this run replaces: each language's
        ``origins.tsv``, when its ``benchmark.json`` has the same split seed. A refresh keeps these
        websites on their sides (``webfaq.benchmark.split``), so nobody who trained on an earlier
        month's train split finds its websites in a later test split. None when there is none."""
        from functools import reduce

        from pyspark.sql import functions as F

        frames = []
        for lang in languages:
            folder = lake.join(self.table(self.cfg.benchmark.table), lang)
            record, sides = lake.join(folder, "benchmark.json"), lake.join(folder, ORIGINS_FILE)
            if not (self.fs.exists(record) and self.fs.exists(sides)):
                continue
            if (json.loads(self.fs.read_text(record)).get("split") or {}).get("seed") != seed:
                continue  # another seed asks for another split
            frames.append(self.spark.read.csv(sides, sep="\t", header=True, schema="origin string, side string",
                                              quote="", escape="")
                          .select(F.lit(lang).alias("language"), "origin", F.col("side").alias("pinned")))
        return reduce(lambda a, b: a.unionByName(b), frames) if frames else None

    def origins_file(self, split, languages: list[str]):
        """``origins.tsv``: every website of the split and its side (train, or test for the test
        websites, held-out QAs included), with a header line. Users check website-disjointness
        from it, and the next run keeps these sides."""
        from pyspark.sql import functions as F

        header = self.spark.createDataFrame([(l, "", "\t".join(ORIGINS_HEADER)) for l in languages],
                                            "language string, _key string, value string")
        sides = (split.groupBy("language", "origin")
                 .agg(F.max((F.col("role") != ROLE_TRAIN).cast("int")).alias("_test"))
                 .select("language", F.col("origin").alias("_key"),
                         F.concat_ws("\t", "origin", F.when(F.col("_test") == 1, F.lit(SIDE_TEST))
                                     .otherwise(F.lit(ROLE_TRAIN))).alias("value")))
        return sides.unionByName(header)

    def beir_files(self, split, languages: list[str]) -> dict[str, Any]:
        """corpus.jsonl (every kept answer), queries.jsonl (train and test queries) and one qrels
        file per split with BEIR's header line, as (language, _key, value) frames by file name."""
        from pyspark.sql import functions as F

        qid = F.concat(F.lit(beir.QUERY_ID_PREFIX), F.col("id"))
        corpus = split.select("language", F.col("id").alias("_key"), F.to_json(F.struct(
            F.col("id").alias("_id"), F.lit("").alias("title"), F.col("answer").alias("text"))).alias("value"))
        files = {beir.CORPUS: corpus}
        asked = split.where(F.col("role").isin(ROLE_TRAIN, ROLE_TEST))
        queries = asked.select("language", qid.alias("_key"),
                               F.to_json(F.struct(qid.alias("_id"), F.col("question").alias("text"))).alias("value"))
        files[beir.QUERIES] = queries
        header = self.spark.createDataFrame([(l, "", "\t".join(beir.QRELS_HEADER)) for l in languages],
                                            "language string, _key string, value string")
        for name in beir.SPLITS:
            qrels = split.where(F.col("role") == name).select(
                "language", qid.alias("_key"), F.concat_ws("\t", qid, F.col("id"), F.lit("1")).alias("value"))
            files[f"{beir.QRELS_DIR}/{name}.tsv"] = qrels.unionByName(header)
        return files

    def negatives(self, split, params: RefineParams | None, languages: list[str], counters: Counters):
        """Each language's candidate answers are indexed once, in shards of at most
        ``negatives_shard_docs`` (:meth:`negative_index`); its training queries, in tasks of at
        most ``queries_per_task``, are mined against the language's shards, one shard in memory
        at a time. Returns the hard_negatives.jsonl lines as a (language, _key, value) frame."""
        from pyspark.sql import functions as F

        bm = self.cfg.benchmark
        nparams = NegativeParams.from_config(bm, params.duplicate if params else 1.0)
        if nparams.dense and params is None:
            raise JobFailed("dense rescoring needs the embedding model")
        emb = lambda c: [c] if nparams.dense else []  # noqa: E731
        docs = split if bm.negatives_from == "all" else split.where(F.col("role") == ROLE_TRAIN)
        paths = self.negative_index(docs.select("language", "id", "answer", *emb("a_emb")), nparams, counters)
        shards = {l: max(1, math.ceil(counters[f"split.train.lang.{l}"] / bm.queries_per_task)) for l in languages}
        counts = self.spark.createDataFrame(list(shards.items()), "language string, nshards int")
        train = split.where(F.col("role") == ROLE_TRAIN)
        queries = (train.join(F.broadcast(counts), "language")
                   .withColumn("shard", F.pmod(F.xxhash64("id"), F.col("nshards")).cast("int"))
                   .select("language", "shard", "id", "question", "answer", *emb("q_emb"), *emb("a_emb")))
        body = functools.partial(mine_shard, paths=paths, params=nparams)
        mined = self.staged(queries.groupBy("language", "shard").applyInPandas(body, NEGATIVES_SCHEMA), "negatives")
        names = ["candidates", "removed_positive", "removed_duplicate", "removed_false_negative", "kept"]
        for r in mined.groupBy("language").agg(F.count(F.lit(1)).alias("queries"),
                                               *[F.sum(c).alias(c) for c in names]).collect():
            counters.add(f"negatives.queries.lang.{r['language']}", r["queries"])
            for c in names:
                counters.add(f"negatives.{c.replace('removed_', 'removed.')}", r[c] or 0)
            counters.add(f"negatives.kept.lang.{r['language']}", r["kept"] or 0)
        return mined.select("language", F.col("query_id").alias("_key"), F.col("line").alias("value"))

    def negative_index(self, docs, nparams: NegativeParams, counters: Counters) -> dict[str, list[str]]:
        """Index each language's candidate answers (``language, id, answer[, a_emb]``) in shards
        of at most ``negatives_shard_docs`` by a hash of the id, each scoring with the whole
        language's BM25 statistics (``webfaq.benchmark.negatives`` says how); saved in the run's
        staging area. Returns each language's shard paths."""
        from pyspark.sql import functions as F

        root, shard_docs = self.stage("work", "negative_index"), self.cfg.benchmark.negatives_shard_docs
        sizes = {r["language"]: r["count"] for r in docs.groupBy("language").count().collect()}
        nshards = {l: max(1, math.ceil(n / shard_docs)) for l, n in sizes.items()}
        for l, n in nshards.items():
            counters.add(f"negatives.index_shards.lang.{l}", n)
        table = self.spark.createDataFrame(list(nshards.items()), "language string, nshards int")
        sharded = (docs.join(F.broadcast(table), "language")
                   .withColumn("shard", F.pmod(F.xxhash64("id"), F.col("nshards")).cast("int")).drop("nshards"))
        terms = self.staged(sharded.groupBy("language", "shard").applyInPandas(
            functools.partial(shard_terms, root=root, params=nparams), TERMS_SCHEMA), "negative_terms")
        totals = {r["language"]: (int(r["docs"]), int(r["tokens"])) for r in terms.where(F.col("term") == TOTALS_TERM)
                  .groupBy("language").agg(F.sum("df").alias("docs"), F.sum("tokens").alias("tokens")).collect()}
        language_df = (terms.where(F.col("term") != TOTALS_TERM).groupBy("language", "term")
                       .agg(F.sum("df").alias("gdf")))
        columns = terms.join(language_df, ["language", "term"], "left").select("language", "shard", "col", "gdf")
        built = columns.groupBy("language", "shard").applyInPandas(
            functools.partial(shard_weights, root=root, totals=totals, params=nparams), INDEX_SCHEMA).collect()
        paths: dict[str, list[str]] = {}
        for r in sorted(built, key=lambda r: (r["language"], r["shard"])):
            paths.setdefault(r["language"], []).append(r["path"])
        return paths

    # ----------------------------------------------------------------- outputs
    def write_files(self, files: dict[str, Any], languages: list[str]) -> dict[str, int]:
        """Every file of every language in one Spark job: one task per (language, file) writes its
        lines in ``_key`` order to ``<stage>/<table>/<language>/<name>``; the driver only renames.
        Returns the lines written per ``<language>/<name>`` (counted from what was written)."""
        from functools import reduce

        from pyspark.sql import functions as F

        names = sorted(files)
        frames = [df.select("language", F.lit(i).alias("_file"), "_key", "value") for i, df in
                  enumerate(files[n] for n in names)]
        tmp = self.stage("work", "files")
        (reduce(lambda a, b: a.unionByName(b), frames).repartition("language", "_file")
         .sortWithinPartitions("language", "_file", "_key").select("language", "_file", "value")
         .write.partitionBy("language", "_file").text(tmp))
        written = {(r["language"], int(r["_file"])): r["count"]  # partition values read back as strings
                   for r in self.spark.read.text(tmp).groupBy("language", "_file").count().collect()}
        lines = {}
        for lang in languages:
            for i, name in enumerate(names):
                self.place_file(lake.join(tmp, f"language={lang}", f"_file={i}"),
                                lake.join(self.stage(self.cfg.benchmark.table), lang, name))
                lines[f"{lang}/{name}"] = written.get((lang, i), 0)
        return lines

    def staged_files(self, lines: dict[str, int]) -> dict[str, dict[str, int]]:
        """Lines and bytes of every data file about to be swapped in, for `webfaq verify`."""
        sizes = {f.path: f.size for f in self.fs.list_files(self.stage(self.cfg.benchmark.table))}
        return {path: {"lines": n, "bytes": sizes[path]} for path, n in sorted(lines.items())}

    def place_file(self, src_dir: str, dst: str) -> None:
        """Move the one part file Spark wrote under ``src_dir`` to ``dst`` (an empty file when the
        language had no lines of that kind)."""
        parts = [f.path for f in self.fs.list_files(src_dir) if f.path.startswith("part-")]
        if len(parts) > 1:
            raise JobFailed(f"{src_dir}: {len(parts)} files, expected one")
        if parts:
            self.fs.rename(lake.join(src_dir, parts[0]), dst)
            self.fs.delete(_crc(dst))  # local file systems: the checksum file moved along
        else:
            self.fs.write_text(dst, "")

    def write_language_records(self, out: dict[str, Any]) -> None:
        """``<language>/benchmark.json``: what a consumer of the folder needs to know about it."""
        bm = self.cfg.benchmark
        for lang in out["languages"]:
            record = {"language": lang, "run_id": self.run_id, "sizes": out["sizes"][lang], "model": out["model"],
                      "thresholds": out["thresholds"], "source": out["source"],
                      "bm25": {"k1": bm.k1, "b": bm.b, "analyzer": bm.analyzer},
                      "near_duplicates": {"words": bm.near_duplicate_words, "keep": bm.near_duplicate_keep},
                      "split": {"seed": bm.seed, "test_size": bm.test_size, "test_fraction": bm.test_fraction,
                                "test_min_queries": bm.test_min_queries,
                                "test_max_per_origin": bm.test_max_per_origin, "rule": "webfaq.benchmark.split"}}
            path = lake.join(self.stage(bm.table), lang, "benchmark.json")
            self.fs.write_text(path, json.dumps(record, indent=1, sort_keys=True) + "\n")

    @staticmethod
    def sizes(languages: list[str], source: dict[str, int], c: Counters, sides: dict) -> dict[str, dict[str, int]]:
        out = {}
        for lang in languages:
            refined = c[f"refine.kept.lang.{lang}"]
            out[lang] = {"source": source[lang], "refined": refined, "corpus": refined,
                         "train": c[f"split.train.lang.{lang}"], "test": c[f"split.test.lang.{lang}"],
                         "heldout": c[f"split.heldout.lang.{lang}"],
                         "origins_train": sides.get((lang, "train"), 0), "origins_test": sides.get((lang, "test"), 0),
                         "negatives": c[f"negatives.kept.lang.{lang}"]}
        return out


EMBEDDED_SCHEMA_COLUMNS = [c.split()[0] for c in EMBEDDED_SCHEMA.split(", ")]


def _null_columns(schema: str, present: list[str], F) -> list:
    """Typed null columns for the fields of ``schema`` not in ``present`` (refinement off)."""
    out = []
    for field in schema.split(", "):
        name, tp = field.split(" ", 1)
        if name not in present and name != "status":
            out.append(F.lit(None).cast(tp).alias(name))
    return out


def _crc(path: str) -> str:
    head, _, name = path.rpartition("/")
    return f"{head}/.{name}.crc"


def summary(manifest: dict[str, Any]) -> str:
    c = manifest.get("counters", {})
    lines = [f"run {manifest['run_id']}: {manifest['status']}, source {manifest.get('source')}, "
             f"model {manifest.get('model')}",
             f"refined: input {c.get('refine.input', 0)}, kept {c.get('refine.kept', 0)}, dropped "
             + ", ".join(f"{k[len('refine.drop.'):]} {v}" for k, v in sorted(c.items()) if k.startswith("refine.drop."))]
    lines.append(f"{'language':<9}{'corpus':>8}{'train':>8}{'test':>7}{'sites tr/te':>13}{'negatives':>11}")
    for lang, s in manifest.get("sizes", {}).items():
        lines.append(f"{lang:<9}{s['corpus']:>8}{s['train']:>8}{s['test']:>7}"
                     f"{str(s['origins_train']) + '/' + str(s['origins_test']):>13}{s['negatives']:>11}")
    lines += [f"left out {lang}: {reason}" for lang, reason in sorted(manifest.get("left_out", {}).items())]
    out = manifest.get("output") or {}
    files = out.get("files") or {}
    lines += [f"output: {out.get('table')} ({len(out.get('languages') or [])} languages, {len(files)} files)",
              f"manifest: {manifest.get('manifest_path')}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return BenchmarkJob.main(argv, summary)


if __name__ == "__main__":
    sys.exit(main())
