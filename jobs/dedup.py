"""spark-submit entry point: exact + MinHash-LSH near-duplicate removal on the FAQ lake.

    spark-submit jobs/dedup.py --lake s3://bucket/lake                       # all crawls, from scratch
    spark-submit jobs/dedup.py --lake s3://bucket/lake --dedup-crawls CC-MAIN-2024-26 --dedup-incremental

Every stage runs on the executors; the driver only sees counts and a convergence bit:

1. exact groups: one representative per (scope, md5 id), the first by order key
   (``webfaq.dedup.rules`` documents the rules);
2. representatives sorted by order key get order-preserving long ids, then vectorised MinHash
   signatures and LSH band hashes per Arrow batch (``webfaq.dedup.rules.band_rows``);
3. star edges from every (scope, band, band hash) bucket to its smallest id — n-1 edges per
   bucket, never all pairs — optionally verified by exact Jaccard;
4. connected components with alternating large-star/small-star (``webfaq.dedup.components``);
5. the smallest order key of each component is kept, the rest flagged with its component id;
6. incremental only: when a new record joins old components into one, the old crawl partitions
   holding the losers are rewritten (their ids renamed, their kept record now a near duplicate),
   so an incremental lake equals a from-scratch one.

Tables (each crawl partition is staged, then swapped in whole, as the extract job does; every
file carries its partition columns, see ``webfaq.lake.partitioned``)::

    <lake>/faq_dedup/crawl=/language=/            the kept FAQ rows (the faq table's columns)
    <lake>/faq_dedup_dropped/crawl=/language=/    every other row: FAQ columns + reason (exact |
                                                  near) and the kept record it lost to (kept_id,
                                                  kept_crawl, kept_language, kept_url)
    <lake>/faq_dedup_components/crawl=/language=/ one row per duplicate cluster and partition
    <lake>/faq_dedup_vertices/crawl=/             representatives (id, order key, component)
    <lake>/faq_dedup_bands/crawl=/                their band hashes + _params.json

faq_dedup + faq_dedup_dropped hold every input row once (the funnel checks it). The last two
are what ``--dedup-incremental`` reads instead of recomputing old signatures.
"""

from __future__ import annotations

import functools
import json
import sys
from dataclasses import asdict
from typing import Any

try:  # run as `spark-submit jobs/dedup.py` (script dir on sys.path) or as a package module
    from webfaq_jobs.base import JobFailed, SparkJob
except ImportError:  # pragma: no cover - spark-submit with only --py-files of lib
    from base import JobFailed, SparkJob  # type: ignore[no-redef]

from webfaq import lake
from webfaq.counters import Counters, reconcile
from webfaq.dedup.components import connected_components
from webfaq.dedup.rules import (BAND_SCHEMA, DEDUP_FUNNEL, JACCARD_SCHEMA, KEY_SEP, STATUS_EXACT, STATUS_KEPT,
                                STATUS_NEAR, DedupParams, band_rows, jaccard_rows)
from webfaq.extract.records import FAQ_COLUMNS, PARTITION_COLUMNS

OLD_VID_OFFSET = -(1 << 62)  # vertices already in the lake sort before every new one
INDEX_SORT = ["scope", "okey"]  # vertices by order key, as a later increment reads them


class DedupJob(SparkJob):
    name = "dedup"
    description = "Flag exact and MinHash-LSH near-duplicate FAQ records: faq -> faq_dedup (Spark)."
    example = ("webfaq dedup --lake ./lake\n"
               "webfaq dedup --lake ./lake --dedup-crawls CC-MAIN-2024-26 --dedup-incremental")
    config_sections = ["dedup", "lake", "s3", "job"]
    source, output, dropped_table = "faq", "faq_dedup", "faq_dedup_dropped"
    components_table, vertices_table, bands_table = "faq_dedup_components", "faq_dedup_vertices", "faq_dedup_bands"

    def source_tables(self) -> list[str]:
        return [self.source]

    # ----------------------------------------------------------------- plan
    def run(self) -> dict[str, Any]:
        cfg = self.cfg
        self.params = DedupParams.from_config(cfg.dedup)
        crawls, old = self.plan_crawls()
        out: dict[str, Any] = {"crawls": crawls, "old_crawls": old, "params": asdict(self.params),
                               "mode": "incremental" if cfg.dedup.incremental else "from_scratch"}
        if self.incremental_refused:
            out["incremental_refused"] = self.incremental_refused  # why the stage loop's run went from scratch
        spark = self.spark
        batch_key = "spark.sql.execution.arrow.maxRecordsPerBatch"
        previous_batch = spark.conf.get(batch_key, None)
        spark.conf.set(batch_key, str(cfg.dedup.batch_rows))
        spark.sparkContext.setCheckpointDir(self.stage("checkpoints"))
        counters = Counters()
        try:
            result = self.deduplicate(crawls, old, counters)
        finally:
            out["counters"] = counters.as_dict()
            if previous_batch is None:  # a shared session keeps its own setting
                spark.conf.unset(batch_key)
            else:
                spark.conf.set(batch_key, previous_batch)
        out.update(result)
        out["reconcile"] = reconcile(counters, DEDUP_FUNNEL)
        if out["reconcile"]:
            raise JobFailed(f"counters do not reconcile: {out['reconcile']}", out)
        relabelled = out.pop("relabelled_crawls")
        with self.phase("swap"):
            out["output"] = self.output_rows(self.output, sorted(crawls + relabelled))
            out["side_outputs"] = [self.output_rows(self.dropped_table, sorted(crawls + relabelled))]
            out["tables"] = self.swap(crawls, relabelled)
        return out

    # Set by the run/refresh stage loop, which chooses incremental mode itself: when the lake's
    # stored index cannot serve an increment, that run deduplicates every crawl from scratch
    # instead of failing (a monthly refresh must not stop on a lake written by an older release
    # or other settings); a user who asked for --dedup-incremental gets the refusal.
    full_if_refused = False
    incremental_refused: str | None = None

    def plan_crawls(self) -> tuple[list[str], list[str]]:
        """The crawls to deduplicate and, when incremental, the already deduplicated crawls they
        are compared against (which must all be older, with the same LSH parameters)."""
        available = lake.crawl_dirs(self.fs, self.table(self.source))
        crawls = sorted(self.cfg.dedup.crawls or available)
        missing = sorted(set(crawls) - set(available))
        if not crawls or missing:
            raise JobFailed(f"no such crawl in {self.table(self.source)}: {missing or 'none at all'}")
        if not self.cfg.dedup.incremental:
            return crawls, []
        old = sorted(set(lake.crawl_dirs(self.fs, self.table(self.bands_table))) - set(crawls))
        problem = self.incremental_problem(crawls, old)
        if problem is None:
            return crawls, old
        if not self.full_if_refused:
            raise JobFailed(f"{problem}; run dedup once without --dedup-incremental to recompute")
        self.cfg.dedup.incremental = False
        self.incremental_refused = problem
        print(f"{self.name}: not incremental ({problem}): every crawl is deduplicated from scratch",
              file=sys.stderr)
        return sorted(available), []

    def incremental_problem(self, crawls: list[str], old: list[str]) -> str | None:
        """Why the lake's stored index (representatives and band hashes of ``old``) cannot serve
        an incremental run over ``crawls``; None when it can."""
        present = sorted(set(old) & set(lake.crawl_dirs(self.fs, self.table(self.output))))
        if present and "dedup_status" in self.read_crawls(self.output, present).columns:
            return f"{self.table(self.output)} holds flagged rows (the layout before {self.dropped_table})"
        if old and max(old) >= min(crawls):
            return f"incremental crawls {crawls} must be newer than the deduplicated {old}"
        for crawl in old:
            path = lake.join(self.table(self.bands_table), f"crawl={crawl}", "_params.json")
            stored = json.loads(self.fs.read_text(path)) if self.fs.exists(path) else None
            if stored != self.params.fingerprint():
                return f"crawl {crawl} was deduplicated with {stored}, not {self.params.fingerprint()}"
        return None

    # ----------------------------------------------------------------- stages
    def deduplicate(self, crawls: list[str], old: list[str], counters: Counters) -> dict[str, Any]:
        with self.phase("read"):
            rows = self.read_rows(self.source, crawls)
            old_vertices = self.read_crawls(self.vertices_table, old) if old else None
        with self.phase("vertices"):
            vertices, lake_exact = self.vertices(rows, old_vertices)
        with self.phase("bands"):
            bands = self.bands(vertices)
            anchors, anchor_bands = self.anchors(bands, old_vertices, old) if old else (None, None)
        with self.phase("edges"):
            members = bands.select("vid", "scope", "band", "hash")
            edges = self.star_edges(members if anchor_bands is None else members.unionByName(anchor_bands))
            edges = self.staged(edges, "edges")
            counters.add("dedup.candidate_edges", edges.count())
            if self.params.jaccard_check:
                edges = self.staged(self.verified(edges, vertices, anchors), "verified_edges")
            counters.add("dedup.edges", edges.count())
        with self.phase("components"):
            try:
                labels, rounds = connected_components(edges, self.checkpoint, self.cfg.dedup.max_iterations)
            except RuntimeError as exc:  # did not converge: a result that must not be used
                raise JobFailed(f"{exc} (raise --dedup-max-iterations)") from exc
            labels = self.staged(labels, "labels")
        with self.phase("resolve"):
            resolved = self.staged(self.resolve(vertices, labels, anchors), "resolved")
            merges = None
            if anchors is not None:
                merges = self.staged(self.merged_components(labels, anchors), "merges")
                lake_exact = self.staged(self.relabelled(lake_exact, merges, "lake_component", "lake_kept_key"),
                                         "lake_exact_merged")
        with self.phase("write"):
            flags = self.staged(self.final_rows(rows, resolved, lake_exact), "flags")
            kept_rows, dropped_rows = self.write_outputs(flags)
            comp_stats = self.write_components(flags)
            self.write_index(resolved, bands)
        counters.add(f"dedup.rows.{self.output}", sum(kept_rows.values()))
        counters.add(f"dedup.rows.{self.dropped_table}", sum(dropped_rows.values()))
        with self.phase("counters"):
            self.count(flags, resolved, lake_exact, comp_stats, counters)
        counters.add("dedup.cc_rounds", rounds)
        relabelled: list[str] = []
        if merges is not None:
            with self.phase("relabel"):
                relabelled = self.relabel_lake(merges, old, counters)
        return {"lsh": {"bands": self.params.bands, "rows": self.params.rows, "num_perm": self.params.num_perm,
                        "threshold": self.params.threshold}, "relabelled_crawls": relabelled}

    def read_rows(self, table: str, crawls: list[str]):
        """FAQ rows of ``crawls`` with their dedup scope and order key."""
        from pyspark.sql import functions as F

        rows = self.read_crawls(table, crawls).select(*FAQ_COLUMNS)
        scope = F.lit("*") if self.params.cross_language else F.col("language")
        okey = F.concat_ws(KEY_SEP, "crawl", F.coalesce("url", F.lit("")), "language", "id")
        return rows.withColumn("scope", scope).withColumn("okey", okey)

    def vertices(self, rows, old_vertices):
        """Exact-duplicate representatives (first by order key), sorted by order key and numbered
        with order-preserving long ids; and, when incremental, the (scope, id) groups that are
        exact duplicates of a record already in the lake (those are not vertices)."""
        from pyspark.sql import functions as F

        first = F.min(F.struct("okey", "question", "answer", "language", "crawl", "url")).alias("r")
        reps = rows.groupBy("scope", "id").agg(first).select("scope", "id", "r.*")
        lake_exact = None
        if old_vertices is not None:
            old_keys = old_vertices.select("scope", "id", F.col("component").alias("lake_component"),
                                           F.col("kept_key").alias("lake_kept_key"))
            lake_exact = self.staged(reps.join(old_keys, ["scope", "id"])
                                     .select("scope", "id", "lake_component", "lake_kept_key"), "lake_exact")
            reps = reps.join(old_keys, ["scope", "id"], "left_anti")
        numbered = reps.orderBy("okey").withColumn("vid", F.monotonically_increasing_id())
        return self.staged(numbered, "vertices"), lake_exact

    def bands(self, vertices):
        """LSH band hashes of every vertex, computed in vectorised batches on the executors."""
        body = functools.partial(band_rows, params=self.params)
        cols = vertices.select("vid", "scope", "id", "crawl", "language", "question", "answer")
        return self.staged(cols.mapInPandas(body, BAND_SCHEMA), "bands")

    def anchors(self, bands, old_vertices, old: list[str]):
        """Incremental: for every bucket a new vertex falls in that also holds records already in
        the lake, the first of those (by order key) — read from the stored band hashes, not
        recomputed. Returns the anchor vertices (with ids below every new one) and their rows."""
        from pyspark.sql import functions as F

        keys = ["scope", "band", "hash"]
        old_bands = self.read_crawls(self.bands_table, old).select(*keys, "id")
        hit = (old_bands.join(bands.select(*keys).distinct(), keys, "left_semi")
               .join(old_vertices.select("scope", "id", "okey"), ["scope", "id"]))
        per_bucket = hit.groupBy(*keys).agg(F.min(F.struct("okey", "id")).alias("a")).select(*keys, "a.id")
        anchors = (per_bucket.select("scope", "id").distinct().join(old_vertices, ["scope", "id"])
                   .orderBy("okey").withColumn("vid", F.monotonically_increasing_id() + F.lit(OLD_VID_OFFSET)))
        anchors = self.staged(anchors, "anchors")
        anchor_bands = per_bucket.join(anchors.select("scope", "id", "vid"), ["scope", "id"])
        return anchors, anchor_bands.select("vid", *keys)  # new buckets only: id/crawl not needed

    @staticmethod
    def star_edges(bands):
        """(member, smallest member) for every bucket member but the smallest: n-1 edges for a
        bucket of n, so a 100,000-record boilerplate bucket costs 10^5 edges, not 10^10 pairs."""
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        bucket = Window.partitionBy("scope", "band", "hash")
        centre = bands.withColumn("c", F.min("vid").over(bucket))
        return centre.where(F.col("vid") != F.col("c")).select(F.col("vid").alias("src"), F.col("c").alias("dst")).distinct()

    def verified(self, edges, vertices, anchors):
        """Keep candidate edges whose records' shingle sets have Jaccard >= threshold."""
        from pyspark.sql import functions as F

        texts = vertices.select("vid", "language", "question", "answer")
        if anchors is not None:
            texts = texts.unionByName(self.anchor_texts(anchors))

        def side(prefix: str):
            return texts.select(*[F.col(c).alias(f"{prefix}{c}") for c in texts.columns])

        pairs = edges.join(side("src_"), F.col("src") == F.col("src_vid")).join(side("dst_"), F.col("dst") == F.col("dst_vid"))
        body = functools.partial(jaccard_rows, params=self.params)
        scored = pairs.drop("src_vid", "dst_vid").mapInPandas(body, JACCARD_SCHEMA)
        return scored.where(F.col("jaccard") >= self.params.threshold).select("src", "dst")

    def anchor_texts(self, anchors):
        """Question and answer of anchor records, from the source table (their crawl partition)."""
        from pyspark.sql import functions as F

        crawls = [r.crawl for r in anchors.select("crawl").distinct().collect()]  # a few crawl names
        src = self.read_rows(self.source, crawls)
        hit = src.join(anchors.select("scope", "id", "okey", "vid"), ["scope", "id", "okey"])
        first = F.min(F.struct("question", "answer", "language")).alias("t")
        return hit.groupBy("vid").agg(first).select("vid", "t.language", "t.question", "t.answer")

    @staticmethod
    def resolve(vertices, labels, anchors):
        """Status and component of every new vertex. In each component the smallest
        (kept_key, component) wins: a new vertex proposes itself (its order key, its id); a
        record already in the lake proposes the kept record of its stored component, which is
        older than anything new."""
        from pyspark.sql import functions as F

        own = vertices.select("vid", F.col("okey").alias("kept_key"), F.col("id").alias("component"))
        if anchors is not None:
            own = own.unionByName(anchors.select("vid", "kept_key", "component"))
        winner = (labels.join(own, "vid").groupBy("label")
                  .agg(F.min(F.struct("kept_key", "component")).alias("w")))
        per_vid = labels.join(winner, "label").select("vid", "w.kept_key", "w.component")
        keys = vertices.select("vid", "scope", "id", "language", "crawl", "url", "okey")  # no text
        joined = keys.join(per_vid, "vid", "left")
        kept = F.col("kept_key").isNull() | (F.col("kept_key") == F.col("okey"))
        return joined.select(
            "vid", "scope", "id", "language", "crawl", "url", "okey",
            F.coalesce("kept_key", "okey").alias("kept_key"), F.coalesce("component", "id").alias("component"),
            F.when(kept, F.lit(STATUS_KEPT)).otherwise(F.lit(STATUS_NEAR)).alias("status"))

    @staticmethod
    def merged_components(labels, anchors):
        """Incremental: old components that a new record joined into one. From scratch they
        would be one component whose kept record is the oldest; so every such component but
        the winner (smallest kept key) is renamed to the winner's id, and its kept record
        becomes a near duplicate. Returns (scope, old_component, component, kept_key)."""
        from pyspark.sql import functions as F

        held = labels.join(anchors.select("vid", "scope", "kept_key", "component"), "vid")
        winner = held.groupBy("label").agg(F.min(F.struct("kept_key", "component")).alias("w"))
        return (held.join(winner, "label").where(F.col("component") != F.col("w.component"))
                .select("scope", F.col("component").alias("old_component"), F.col("w.component").alias("component"),
                        F.col("w.kept_key").alias("kept_key")).distinct())

    @staticmethod
    def relabelled(df, merges, column: str, kept_key: str | None = None):
        """``df`` with ``column`` (a component id, with ``scope``) renamed where ``merges`` says,
        and ``kept_key`` too when given; the other columns as they were."""
        from pyspark.sql import functions as F

        m = F.broadcast(merges.select(F.col("scope").alias("_scope"), F.col("old_component").alias("_old"),
                                      F.col("component").alias("_new"), F.col("kept_key").alias("_kept")))
        joined = df.join(m, (F.col("scope") == F.col("_scope")) & (F.col(column) == F.col("_old")), "left")
        out = joined.withColumn(column, F.coalesce("_new", column))
        if kept_key:
            out = out.withColumn(kept_key, F.coalesce("_kept", kept_key))
        return out.select(*df.columns)

    def relabel_lake(self, merges, old: list[str], counters: Counters) -> list[str]:
        """Rewrite the old crawl partitions that hold rows of merged components (flags,
        component table, vertices; band hashes do not change) so the lake reads as if it had
        been deduplicated from scratch. Returns the crawls staged for replacement."""
        from pyspark.sql import functions as F

        merged = merges.count()
        counters.add("dedup.lake.components_merged", merged)
        counters.add("dedup.lake.rows_relabelled", 0)
        if not merged:
            return []
        scope = F.lit("*") if self.params.cross_language else F.col("language")
        losers = F.broadcast(merges.select("scope", F.col("old_component").alias("dedup_component")))
        flags = self.read_flags(old).withColumn("scope", scope)
        hit = flags.select("crawl", "scope", "dedup_component").join(losers, ["scope", "dedup_component"])
        crawls = sorted(r.crawl for r in hit.select("crawl").distinct().collect())
        counters.add("dedup.lake.rows_relabelled", hit.count())

        flags = self.read_flags(crawls).withColumn("scope", scope)
        loser = flags.join(losers.withColumn("_lost", F.lit(True)), ["scope", "dedup_component"], "left")
        status = F.when(F.col("_lost") & (F.col("dedup_status") == STATUS_KEPT), F.lit(STATUS_NEAR)).otherwise(F.col("dedup_status"))
        fixed = self.relabelled(loser.withColumn("dedup_status", status), merges, "dedup_component", "kept_key")
        fixed = self.staged(fixed.drop("_lost"), "relabelled_flags")
        self.write_outputs(fixed, append=True)

        vertices = self.relabelled(self.read_crawls(self.vertices_table, crawls), merges, "component", "kept_key")
        self.write_partitioned(vertices, self.vertices_table, ["crawl"], sort=INDEX_SORT, append=True)
        self.write_partitioned(self.relabelled_components(crawls, merges, fixed), self.components_table,
                               PARTITION_COLUMNS, 1, sort=["component"], append=True)
        return crawls

    def read_flags(self, crawls: list[str]):
        """The lake's rows of ``crawls`` as the run's flags (FAQ columns, dedup_status,
        dedup_component, kept_key): kept rows from faq_dedup (their own component and key),
        dropped rows from faq_dedup_dropped (the record they lost to)."""
        from pyspark.sql import functions as F

        def key(*cols) -> Any:
            crawl, url, language, id_ = cols
            return F.concat_ws(KEY_SEP, crawl, F.coalesce(url, F.lit("")), language, id_)

        kept = self.read_present(self.output, crawls).select(
            *FAQ_COLUMNS, F.lit(STATUS_KEPT).alias("dedup_status"), F.col("id").alias("dedup_component"),
            key(F.col("crawl"), F.col("url"), F.col("language"), F.col("id")).alias("kept_key"))
        dropped = self.read_present(self.dropped_table, crawls)
        if dropped is None:
            return kept
        return kept.unionByName(dropped.select(
            *FAQ_COLUMNS, F.col("reason").alias("dedup_status"), F.col("kept_id").alias("dedup_component"),
            key(*[F.col(f"kept_{c}") for c in ("crawl", "url", "language", "id")]).alias("kept_key")))

    def read_present(self, table: str, crawls: list[str]):
        """Rows of the crawls of ``crawls`` that ``table`` has (a crawl without duplicates has
        no faq_dedup_dropped partition), or None when it has none of them."""
        present = sorted(set(crawls) & set(lake.crawl_dirs(self.fs, self.table(table))))
        if not present:
            if table == self.output:
                raise JobFailed(f"{self.table(table)} has none of the crawls {crawls}")
            return None
        return self.read_crawls(table, present)

    def relabelled_components(self, crawls: list[str], merges, fixed):
        """The component table of relabelled crawls: rows of untouched components as they were;
        for a merged component, its counts recounted from the rewritten flags and its size the
        sum of the merged components' sizes (each counted in the run that wrote it)."""
        from pyspark.sql import functions as F

        table = self.read_crawls(self.components_table, crawls)
        keys = ["crawl", "language", "scope", "component"]
        winners = F.broadcast(merges.select("scope", "component").distinct().withColumn("_won", F.lit(True)))
        renamed = self.relabelled(table, merges, "component").join(winners, ["scope", "component"], "left")
        untouched = renamed.where(F.col("_won").isNull()).drop("_won")
        sizes = renamed.where(F.col("_won")).groupBy(*keys).agg(F.sum("size").alias("old_size"))
        counts = (fixed.withColumnRenamed("dedup_component", "component").join(winners, ["scope", "component"])
                  .groupBy(*keys).agg(*status_counts()))
        recounted = counts.join(sizes, keys, "left").withColumn(
            "size", F.greatest(F.coalesce("old_size", F.lit(0)), F.col("records"))).drop("old_size")
        return untouched.unionByName(recounted.select(*untouched.columns))

    @staticmethod
    def final_rows(rows, resolved, lake_exact):
        """Every input row with dedup_status, dedup_component and the order key of the record
        kept for it (``kept_key``; its own for a kept row)."""
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        order = Window.partitionBy("scope", "id").orderBy("okey", "question", "answer", "warc_file", "fetch_time", "syntax")
        ranked = rows.withColumn("rn", F.row_number().over(order))
        ranked = ranked.join(resolved.select("scope", "id", F.col("status").alias("v_status"),
                                             F.col("component").alias("v_component"),
                                             F.col("kept_key").alias("v_kept_key")), ["scope", "id"], "left")
        if lake_exact is not None:
            ranked = ranked.join(lake_exact, ["scope", "id"], "left")
        else:
            ranked = (ranked.withColumn("lake_component", F.lit(None).cast("string"))
                      .withColumn("lake_kept_key", F.lit(None).cast("string")))
        status = (F.when(F.col("lake_component").isNotNull() | (F.col("rn") > 1), F.lit(STATUS_EXACT))
                  .otherwise(F.col("v_status")))
        return ranked.select(*FAQ_COLUMNS, status.alias("dedup_status"),
                             F.coalesce("lake_component", "v_component").alias("dedup_component"),
                             F.coalesce("lake_kept_key", "v_kept_key").alias("kept_key"))

    # ----------------------------------------------------------------- outputs
    def write_outputs(self, flags, append: bool = False) -> tuple[dict[str, int], dict[str, int]]:
        """Stage faq_dedup (the kept rows, the faq table's columns) and faq_dedup_dropped (the
        other rows, with why and in favour of which record). Returns rows per directory of each."""
        from pyspark.sql import functions as F

        files = self.cfg.lake.files_per_partition
        kept = flags.where(F.col("dedup_status") == STATUS_KEPT).select(*FAQ_COLUMNS)
        parts = F.split(F.col("kept_key"), KEY_SEP)  # crawl, url, language, id (see read_rows)
        dropped = flags.where(F.col("dedup_status") != STATUS_KEPT).select(
            *FAQ_COLUMNS, F.col("dedup_status").alias("reason"), F.col("dedup_component").alias("kept_id"),
            parts.getItem(0).alias("kept_crawl"), parts.getItem(2).alias("kept_language"),
            F.when(parts.getItem(1) != "", parts.getItem(1)).alias("kept_url"))
        sort = ["url", "id"]
        return (self.write_partitioned(kept, self.output, PARTITION_COLUMNS, files, sort=sort, append=append),
                self.write_partitioned(dropped, self.dropped_table, PARTITION_COLUMNS, files, sort=sort, append=append))

    def write_components(self, written):
        """One row per duplicate cluster (component with 2+ records of this run, or joined to
        the lake) and (crawl, language): its record counts by status and its size in the run."""
        from pyspark.sql import functions as F

        scope = F.lit("*") if self.params.cross_language else F.col("language")
        flagged = written.withColumn("scope", scope)
        sizes = (flagged.groupBy("scope", "dedup_component")
                 .agg(F.count(F.lit(1)).alias("size"), status_count(STATUS_KEPT).alias("kept_in_run"))
                 .where((F.col("size") > 1) | (F.col("kept_in_run") == 0)))
        sizes = self.staged(sizes, "component_sizes")
        table = (flagged.join(sizes, ["scope", "dedup_component"])
                 .groupBy("crawl", "language", "scope", F.col("dedup_component").alias("component"))
                 .agg(*status_counts(), F.first("size").alias("size")))
        self.write_partitioned(table, self.components_table, PARTITION_COLUMNS, 1, sort=["component"])
        return sizes

    def write_index(self, resolved, bands) -> None:
        """What a later incremental run needs: representatives and their band hashes."""
        self.write_partitioned(resolved.drop("vid", "status"), self.vertices_table, ["crawl"], sort=INDEX_SORT)
        self.write_partitioned(bands.select("crawl", "scope", "band", "hash", "id"), self.bands_table, ["crawl"],
                               sort=["band", "hash", "id"])
        params = json.dumps(self.params.fingerprint(), sort_keys=True)
        for crawl in self.crawls_in(self.bands_table):
            self.fs.write_text(lake.join(self.stage(self.bands_table), f"crawl={crawl}", "_params.json"), params)

    def count(self, written, resolved, lake_exact, sizes, counters: Counters) -> None:
        """The run's counters, from the staged output (small aggregates only reach the driver)."""
        from pyspark.sql import functions as F

        for r in written.groupBy("dedup_status", "language").count().collect():
            counters.add(f"dedup.{r['dedup_status']}", r["count"])
            counters.add("dedup.input", r["count"])
            if r["dedup_status"] == STATUS_KEPT:
                counters.add(f"dedup.kept.lang.{r['language']}", r["count"])
        lake_rows = 0
        if lake_exact is not None:
            scope = F.lit("*") if self.params.cross_language else F.col("language")
            lake_rows = written.withColumn("scope", scope).join(lake_exact.select("scope", "id"), ["scope", "id"]).count()
        counters.add("dedup.exact.lake", lake_rows)
        counters.add("dedup.exact.run", counters["dedup.exact"] - lake_rows)
        counters.add("dedup.vertices", resolved.count())
        stats = sizes.agg(F.count(F.lit(1)).alias("n"), F.max("size").alias("largest")).first()
        counters.add("dedup.components", stats["n"] or 0)
        counters.add("dedup.largest_component", stats["largest"] or 0)

    def swap(self, crawls: list[str], relabelled: list[str] = ()) -> dict[str, Any]:
        """Replace each table's crawl partitions as a whole (directory swap, or one Delta
        transaction per table); outputs last, index first. A Parquet run that dies before its last
        table is swapped is rolled back by the next writer, every table of it. Old crawls that
        were only relabelled keep their band hashes (they did not change)."""
        layout = {self.vertices_table: ["crawl"], self.bands_table: ["crawl"], self.components_table: PARTITION_COLUMNS,
                  self.dropped_table: PARTITION_COLUMNS, self.output: PARTITION_COLUMNS}
        for table, partition_by in layout.items():
            again = list(relabelled) if table != self.bands_table else []
            if table == self.bands_table and self.cfg.lake.format == "delta":
                self.place_params(crawls)  # not a data file: a Delta commit would leave it behind
            self.publish(self.stage(table), self.table(table), {"crawl": crawls + again}, partition_by)
        self.finish_publish()  # the five tables change together: a crash before here rolls all back
        return {"output": self.table(self.output), "dropped": self.table(self.dropped_table),
                "components": self.table(self.components_table),
                "vertices": self.table(self.vertices_table), "bands": self.table(self.bands_table),
                "partitions_replaced": [f"crawl={c}" for c in crawls],
                "partitions_relabelled": [f"crawl={c}" for c in relabelled]}

    def place_params(self, crawls: list[str]) -> None:
        """Copy each staged ``crawl=/_params.json`` of the band table into the lake's table, as
        part of the run's publish (a roll-back puts the old one back)."""
        for crawl in crawls:
            src = lake.join(self.stage(self.bands_table), f"crawl={crawl}", "_params.json")
            if self.fs.exists(src):
                lake.replace_side_file(self.fs, self.table(self.bands_table), f"crawl={crawl}/_params.json",
                                       self.fs.read_text(src), self.run_id)

    def output_rows(self, table: str, crawls: list[str]) -> dict[str, Any]:
        """Rows of ``table`` staged per crawl and language, for `webfaq verify` to compare with
        the lake."""
        staged, rows = self.stage(table), {}
        if lake.crawl_dirs(self.fs, staged):
            for r in self.spark.read.parquet(staged).groupBy("crawl", "language").count().collect():
                rows.setdefault(r["crawl"], {})[r["language"]] = r["count"]
        return {"table": self.table(table), "format": self.cfg.lake.format, "crawls": crawls,
                "partition_rows": rows}

    # ----------------------------------------------------------------- helpers
    def checkpoint(self, df):
        if self.cfg.dedup.checkpoint == "local":
            return df.localCheckpoint(eager=True)
        return df.checkpoint(eager=True)

    def read_crawls(self, table: str, crawls: list[str]):
        return self.read_table(self.table(table), crawls)

    def crawls_in(self, table: str) -> list[str]:
        return lake.crawl_dirs(self.fs, self.stage(table))


def status_count(status: str):
    """Rows of a group whose dedup_status is ``status`` (an aggregate column)."""
    from pyspark.sql import functions as F

    return F.sum((F.col("dedup_status") == status).cast("long"))


def status_counts() -> list:
    """The component table's count columns: records, kept, exact, near."""
    from pyspark.sql import functions as F

    return [F.count(F.lit(1)).alias("records"), status_count(STATUS_KEPT).alias("kept"),
            status_count(STATUS_EXACT).alias("exact"), status_count(STATUS_NEAR).alias("near")]


def summary(manifest: dict[str, Any]) -> str:
    c = manifest.get("counters", {})
    return "\n".join([
        f"run {manifest['run_id']}: {manifest['status']} ({manifest.get('mode')}), crawls {', '.join(manifest.get('crawls', []))}",
        f"input {c.get('dedup.input', 0)}: kept {c.get('dedup.kept', 0)}, exact duplicates {c.get('dedup.exact', 0)} "
        f"(of the lake {c.get('dedup.exact.lake', 0)}), near duplicates {c.get('dedup.near', 0)}",
        f"components {c.get('dedup.components', 0)}, largest {c.get('dedup.largest_component', 0)}, "
        f"candidate edges {c.get('dedup.candidate_edges', 0)}, rounds {c.get('dedup.cc_rounds', 0)}",
        f"output: {manifest.get('tables', {}).get('output')} (kept rows), "
        f"{manifest.get('tables', {}).get('dropped')} (the others, with the record each lost to)",
        f"manifest: {manifest.get('manifest_path')}",
    ])


def main(argv: list[str] | None = None) -> int:
    return DedupJob.main(argv, summary)


if __name__ == "__main__":
    sys.exit(main())
