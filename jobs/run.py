"""spark-submit entry point: the whole product in one command.

    webfaq run sample-data/warc --lake ./lake --config sample-data/demo.toml
    spark-submit jobs/run.py s3://commoncrawl/crawl-data/CC-MAIN-2024-22/warc.paths.gz --lake s3://b/lake

Runs extract -> dedup -> align -> benchmark -> evaluate over the given inputs in one Spark
session, then writes the report. Each stage is the same job its own command runs; the run only
wires them: dedup covers the crawls the extraction produced (incrementally when the lake holds
other crawls), align and benchmark cover the whole lake (their tables are rebuilt whole).

Resume and skip, as the monthly refresh has always done: the stages a run finished are recorded
in ``<lake>/<state_dir>/<key>.json`` (``key`` names what the run is about: a digest of the inputs
and settings here, the crawl for ``refresh``), so a re-run after a crash redoes only the stages
that were missing (and inside extract only the WARC files not yet read), and a re-run of a
complete run does nothing unless ``--run-force``.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import hashlib
import json
import sys
from typing import Any, Callable

try:  # run as `spark-submit jobs/run.py` (script dir on sys.path) or as a package module
    from webfaq_jobs.base import SparkJob, new_run_id, next_command
    from webfaq_jobs.extract import ExtractJob, checked_inputs
except ImportError:  # pragma: no cover
    from base import SparkJob, new_run_id, next_command  # type: ignore[no-redef]
    from extract import ExtractJob, checked_inputs  # type: ignore[no-redef]

from webfaq import lake
from webfaq.config import Config

STAGE_SETTINGS = ["extract", "filters", "langid", "dedup", "embed", "align", "benchmark"]


def stage_jobs() -> dict[str, tuple[Callable[..., Any], Callable[[dict[str, Any]], str]]]:
    """Stage name -> (what makes its job from (config, args), its summary printer): the same code
    its own command runs (extract's targeted form with --targeted)."""
    from webfaq_jobs import align, benchmark, dedup, extract

    return {"extract": (extract.ExtractJob.for_config, extract.summary), "dedup": (dedup.DedupJob, dedup.summary),
            "align": (align.AlignJob, align.summary), "benchmark": (benchmark.BenchmarkJob, benchmark.summary)}


class PipelineJob(SparkJob):
    """The stage loop shared by ``run`` and ``refresh``: subclasses say what the run is about
    (:meth:`plan`) and where its state lives; the loop runs, skips and records the stages."""

    state_dir = "_run"
    own_progress = frozenset({"*"})  # each stage is a job that reports its own progress
    hidden_sections = STAGE_SETTINGS

    def plan(self) -> tuple[str, list[str], str | None]:
        """(state key, inputs, crawl) of this run."""
        raise NotImplementedError

    def settings(self) -> tuple[list[str], bool, bool]:
        """(stages, force, report) from the job's own config section."""
        raise NotImplementedError

    def run(self) -> dict[str, Any]:
        key, inputs, crawl = self.plan()
        stages_wanted, force, report = self.settings()
        state_path = lake.join(self.cfg.lake.path, self.state_dir, f"{key}.json")
        state = {} if force else self.read_state(state_path, key)
        out: dict[str, Any] = {"key": key, "crawl": crawl, "inputs": len(inputs)}
        if state.get("status") == "complete":
            self.say(f"{key} is already complete in {self.cfg.lake.path} (runs {state['stages']}); nothing to do "
                     f"(--{self.name}-force runs it again)")
            return dict(out, skipped="already complete", stages=state["stages"])
        stages: dict[str, str] = dict(state.get("stages", {}))
        crawls: list[str] = list(state.get("crawls", [crawl] if crawl else []))
        evaluation = state.get("evaluation")
        for stage in stages_wanted:
            if stage in stages:
                self.say(f"{stage} already done (run {stages[stage]}), skipped")
                continue
            with self.phase(stage):
                if stage == "evaluate":
                    evaluation, stages[stage] = self.evaluate()
                else:
                    manifest = self.run_stage(stage, inputs, crawl, crawls, bool(stages))
                    stages[stage] = manifest["run_id"]
                    if stage == "extract":
                        crawls = sorted(set(crawls) | set(manifest.get("output", {}).get("crawls", [])))
            self.fs.write_text(state_path, json.dumps({"key": key, "status": "running", "stages": stages,
                                                       "crawls": crawls, "evaluation": evaluation}))
        self.fs.write_text(state_path, json.dumps({"key": key, "status": "complete", "stages": stages,
                                                   "crawls": crawls, "evaluation": evaluation}))
        out.update(stages=stages, crawls=crawls)
        if evaluation is not None:
            out["evaluation"] = evaluation
        if report:
            with self.phase("report"):
                out["report"] = self.write_report()
        return out

    def say(self, line: str) -> None:
        print(f"{self.name}: {line}", flush=True)

    def read_state(self, path: str, key: str | None = None) -> dict[str, Any]:
        """The recorded state of ``key``: its state file, else a complete run manifest of the
        same job and key (so a lost state file does not make the run start over). An unreadable
        state file is named in one warning and ignored: the stages run again, which is safe."""
        from_manifests = self.complete_in_manifests(key) if key else None
        if not self.fs.exists(path):
            return from_manifests or {}
        try:
            state = json.loads(self.fs.read_text(path))
            if isinstance(state, dict) and isinstance(state.get("stages", {}), dict):
                return state if state.get("status") == "complete" else from_manifests or state
            why = "not a state object"
        except ValueError as exc:
            why = f"not JSON ({exc})"
        print(f"warning: ignored {path}: {why}", file=sys.stderr)
        return from_manifests or {}

    def complete_in_manifests(self, key: str) -> dict[str, Any] | None:
        for m in reversed(lake.read_manifests(self.fs, self.cfg.lake.path)):
            if (m.get("job") == self.name and m.get("status") == "complete" and m.get("key", m.get("crawl")) == key
                    and m.get("stages") and not m.get("skipped")):
                return {"key": key, "status": "complete", "stages": m["stages"], "crawls": m.get("crawls", [])}
        return None

    def run_stage(self, stage: str, inputs: list[str], crawl: str | None, crawls: list[str], resumed: bool):
        """One stage, as its own command would run it, then its summary."""
        make, summary = stage_jobs()[stage]
        job = make(self.stage_config(stage, crawl, crawls), argparse.Namespace(inputs=list(inputs)))
        if stage == "dedup":
            job.full_if_refused = True  # an increment the lake's index cannot serve goes from scratch
        job.join_lease(self.lease)  # one writer: the run and its stages, in this process
        manifest = job.execute()
        print(summary(manifest), flush=True)
        return manifest

    def stage_config(self, stage: str, crawl: str | None, crawls: list[str]) -> Config:
        """The stage's config: this run's own, pointed at its crawl(s)."""
        cfg = copy.deepcopy(self.cfg)
        cfg.job.run_id = None
        if crawl:
            cfg.input.crawl = crawl
        if stage == "dedup" and crawls:
            cfg.dedup.crawls = list(crawls)
            cfg.dedup.incremental = self.has_other_crawls("faq_dedup", crawls)
        # align and benchmark cover every crawl of the lake (their tables are rebuilt whole;
        # stored embeddings make the old crawls cheap), so a run never narrows them
        return cfg

    def has_other_crawls(self, table: str, crawls: list[str]) -> bool:
        return any(c not in crawls for c in lake.crawl_dirs(self.fs, lake.table_path(self.cfg.lake.path, table)))

    def evaluate(self) -> tuple[dict[str, Any] | None, str]:
        """BM25 on the benchmark's test split of every language (the sanity baseline the
        report shows), recorded as an ``evaluate`` run manifest of its own so the report (and
        anyone reading ``_runs/``) finds it like every other stage's result. Local lakes only:
        the evaluation reads the BEIR files in this process. Returns (result, its run id)."""
        from webfaq.benchmark import beir
        from webfaq.benchmark.bm25 import BM25Params
        from webfaq.benchmark.evaluate import evaluate_benchmark

        folder = lake.table_path(self.cfg.lake.path, self.cfg.benchmark.table)
        if "://" in folder or not beir.language_folders(folder):
            self.say(f"evaluate: no local benchmark at {folder}, skipped")
            return None, self.run_id
        bm = self.cfg.benchmark
        result = evaluate_benchmark(folder, "test", BM25Params(bm.k1, bm.b, bm.analyzer), ())
        for row in result["languages"]:
            scores = (f"BM25 nDCG@10 {row['ndcg@10']:.3f}  MRR@10 {row['mrr@10']:.3f}  R@100 {row['recall@100']:.3f}"
                      if row["queries"] else "no test queries: not in the mean")
            self.say(f"evaluate: {row['language']:<5} queries {row['queries']:>5}  docs {row['docs']:>6}  {scores}")
        mean = result["mean"]
        self.say(f"evaluate: mean over the {len(result['mean_over'])} languages with test queries: "
                 f"nDCG@10 {mean['ndcg@10']:.3f}  MRR@10 {mean['mrr@10']:.3f}  R@100 {mean['recall@100']:.3f}")
        now = dt.datetime.now(dt.timezone.utc).isoformat()
        record = {"run_id": new_run_id("evaluate"), "job": "evaluate", "status": "complete", "started": now,
                  "finished": now, "parent_run": self.run_id, "benchmark": folder, "evaluation": result}
        lake.write_manifest(self.fs, self.cfg.lake.path, record)
        return result, record["run_id"]

    def write_report(self) -> dict[str, str]:
        """The HTML report of the lake, written into it (a failure is recorded, never fatal:
        the products are in the lake either way)."""
        from webfaq.report.html import write_report

        try:
            path = write_report(self.cfg.lake.path)
        except Exception as exc:  # noqa: BLE001 - the report must not fail a complete run
            print(f"{self.name}: report not written: {type(exc).__name__}: {exc}", file=sys.stderr)
            return {"error": f"{type(exc).__name__}: {exc}"}
        self.say(f"report {path}")
        return {"path": path}


class RunJob(PipelineJob):
    name = "run"
    description = ("The whole pipeline over WARC inputs in one Spark session: extract -> dedup -> align -> "
                   "benchmark -> evaluate -> report.")
    example = ("webfaq run sample-data/warc --lake ./lake --config sample-data/demo.toml\n"
               "webfaq run --crawl CC-MAIN-2024-22 --limit 100 --lake s3a://my-bucket/lake")
    usage_args = "[INPUT ...]"
    config_sections = ["run", "input", "s3", "retry", "lake", "job"]
    resolved_inputs: list[str] | None = None

    add_arguments = ExtractJob.add_arguments  # the same inputs as extract

    def preflight(self) -> None:
        """The lake, then the inputs, before Spark starts (as extract checks them)."""
        super().preflight()
        self.resolved_inputs = checked_inputs(self.args.inputs, self.cfg)

    def plan(self) -> tuple[str, list[str], str | None]:
        inputs = self.resolved_inputs if self.resolved_inputs is not None else list(self.args.inputs)
        return self.state_key(inputs), inputs, self.cfg.input.crawl

    def settings(self) -> tuple[list[str], bool, bool]:
        return list(self.cfg.run.stages), self.cfg.run.force, self.cfg.run.report

    def state_key(self, inputs: list[str]) -> str:
        """What makes two runs the same run: the inputs and every setting of every stage (a run
        with other settings is another run, not a resumed one)."""
        settings = {k: v for k, v in self.cfg.to_dict().items() if k not in ("job", "run", "refresh")}
        settings["crawl_id"] = self.cfg.job.crawl_id
        digest = hashlib.sha1(json.dumps({"inputs": inputs, "settings": settings}, sort_keys=True,
                                         default=str).encode()).hexdigest()[:16]
        return f"run-{digest}"


def summary(manifest: dict[str, Any]) -> str:
    """What the run made and where, then the next commands worth running."""
    lake_path = manifest.get("config", {}).get("lake", {}).get("path")
    lines = [f"run {manifest['run_id']}: {manifest['status']}"
             + (f" ({manifest['skipped']})" if manifest.get("skipped") else ""),
             "stages: " + ", ".join(f"{k} {v}" for k, v in (manifest.get("stages") or {}).items())]
    if lake_path:
        lines.append(f"lake: {lake_path} (tables faq, faq_dedup, bitext, benchmark)")
    report = (manifest.get("report") or {}).get("path")
    if report:
        lines.append(f"report: {report}")
    lines.append(f"manifest: {manifest.get('manifest_path')}")
    lines.append(next_command(manifest))
    return "\n".join(line for line in lines if line)


def main(argv: list[str] | None = None) -> int:
    return RunJob.main(argv, summary)


if __name__ == "__main__":
    sys.exit(main())
