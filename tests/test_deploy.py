"""deploy/: every template renders from the example values and parses, and the job arguments in
each one are accepted by that job's own argument parser and config validation. The Airflow DAG's
plan is checked the same way without Airflow; the DAG file itself is imported under Airflow when
the `airflow` extra is installed (skipped otherwise). No Spark, no network."""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
import shlex
import shutil
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml  # PyYAML: a dependency of moto[server] in the test extra

from webfaq.config import Config, config_from_args

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy"
EXAMPLE = DEPLOY / "values.example.env"
JOB_CLASSES = {"refresh": "RefreshJob", "extract": "ExtractJob", "dedup": "DedupJob",
               "align": "AlignJob", "benchmark": "BenchmarkJob"}


def load_path(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


render = load_path("webfaq_deploy_render", DEPLOY / "render.py")
VALUES = render.load_values(EXAMPLE, environ={})
TEMPLATES = render.templates()


def rendered(path: Path):
    text = render.render(path.read_text(encoding="utf-8"), VALUES)
    assert "${" not in text, f"{path}: unrendered placeholder"
    return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)


def parse_job(entry: str, args: list[str]) -> tuple[str, Config]:
    """Run ``args`` through the job's parser and config_from_args, as spark-submit would."""
    job = Path(entry).stem
    assert job in JOB_CLASSES, f"unknown entry point {entry}"
    klass = getattr(importlib.import_module(f"webfaq_jobs.{job}"), JOB_CLASSES[job])
    assert all(isinstance(a, str) for a in args), f"non-string job argument in {args}"
    ns = klass.build_parser().parse_args(args)
    return job, config_from_args(ns)


def job_invocations(path: Path, doc) -> list[tuple[str, list[str], list[str]]]:
    """(entry point, job arguments, spark options) of every job a template runs."""
    rel = path.relative_to(DEPLOY).as_posix()
    if rel.startswith("emr-serverless/start-job-run"):
        sub = doc["jobDriver"]["sparkSubmit"]
        return [(sub["entryPoint"], sub["entryPointArguments"], shlex.split(sub["sparkSubmitParameters"]))]
    if rel.startswith("emr-ec2/steps"):
        out = []
        for step in doc:
            assert step["Jar"] == "command-runner.jar" and step["Args"][0] == "spark-submit"
            i = next(n for n, a in enumerate(step["Args"]) if a.endswith(".py"))
            out.append((step["Args"][i], step["Args"][i + 1:], step["Args"][1:i]))
        return out
    if rel.startswith("dataproc/batch"):
        return [(doc["pysparkBatch"]["mainPythonFileUri"], doc["pysparkBatch"]["args"], [])]
    if rel.startswith("dataproc/workflow-template"):
        return [(j["pysparkJob"]["mainPythonFileUri"], j["pysparkJob"]["args"], []) for j in doc["jobs"]]
    return []


# --------------------------------------------------------------------------- templates

def test_templates_found():
    names = {p.relative_to(DEPLOY).as_posix() for p in TEMPLATES}
    for expected in ("emr-serverless/application.json", "emr-serverless/start-job-run-refresh.json",
                     "emr-ec2/steps-refresh.json", "emr-ec2/instance-fleets.json",
                     "dataproc/batch-refresh.json", "dataproc/workflow-template-refresh.yaml"):
        assert expected in names


def test_every_placeholder_has_an_example_value():
    for path in TEMPLATES:
        missing = render.placeholders(path.read_text(encoding="utf-8")) - set(VALUES)
        assert not missing, f"{path}: no value in values.example.env for {sorted(missing)}"


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.relative_to(DEPLOY).as_posix())
def test_template_parses_and_its_jobs_accept_their_arguments(path):
    doc = rendered(path)
    assert doc
    for entry, args, spark_opts in job_invocations(path, doc):
        job, cfg = parse_job(entry, args)
        platform = path.relative_to(DEPLOY).parts[0]
        lake_scheme = "gs://" if platform == "dataproc" else "s3://"
        assert cfg.lake.path.startswith(lake_scheme), f"{path}: lake {cfg.lake.path}"
        assert cfg.lake.path == VALUES["LAKE_GS" if platform == "dataproc" else "LAKE_S3"]
        assert entry.startswith(VALUES["ARTIFACTS_GS" if platform == "dataproc" else "ARTIFACTS_S3"] + "/jobs/")
        if job in ("refresh", "extract"):
            if platform == "dataproc":  # outside AWS: HTTPS (unsigned S3 reads of commoncrawl are refused)
                assert cfg.input.base_url == "https://data.commoncrawl.org/"
            else:  # inside AWS: S3 in us-east-1, signed with the job's role
                assert cfg.input.base_url == "s3://commoncrawl/" and cfg.s3.anonymous is False
                assert cfg.s3.region == "us-east-1" == VALUES["AWS_REGION"]
        if job == "extract":
            assert cfg.input.crawl == VALUES["CRAWL"]
        if job == "dedup":
            assert cfg.dedup.crawls == [VALUES["CRAWL"]] and cfg.dedup.incremental
        if job == "align":
            assert cfg.align.crawls == [VALUES["CRAWL"]]
        if job == "benchmark":
            assert cfg.benchmark.crawls == [VALUES["CRAWL"]]
        if "--archives" in spark_opts:  # the packed env and the interpreter it is unpacked to agree
            archive = spark_opts[spark_opts.index("--archives") + 1]
            assert archive == VALUES["ARTIFACTS_S3"] + "/webfaq-env.tar.gz#environment"
            assert any(o.endswith("PYSPARK_PYTHON=./environment/bin/python") for o in spark_opts)


def test_emr_serverless_sizes_fit_the_service_limits():
    """Worker sizes EMR Serverless accepts (4 vCPU: 8-30 GB) and a ceiling that holds the job."""
    gb = lambda s: int(s.rstrip("g"))  # noqa: E731
    cores, executors = int(VALUES["EXECUTOR_CORES"]), int(VALUES["MAX_EXECUTORS"])
    worker_gb = gb(VALUES["EXECUTOR_MEMORY"]) + gb(VALUES["EXECUTOR_MEMORY_OVERHEAD"])
    assert cores == 4 and 8 <= worker_gb <= 30
    app = rendered(DEPLOY / "emr-serverless" / "application.json")
    cap = {k: int(v.split()[0]) for k, v in app["maximumCapacity"].items()}
    assert cap["cpu"] >= executors * cores + int(VALUES["DRIVER_CORES"])
    assert cap["memory"] >= executors * worker_gb + gb(VALUES["DRIVER_MEMORY"])
    assert cap["disk"] >= (executors + 1) * 20
    assert app["releaseLabel"].startswith("emr-7.")
    run = rendered(DEPLOY / "emr-serverless" / "start-job-run-refresh.json")
    assert isinstance(run["executionTimeoutMinutes"], int) and run["executionTimeoutMinutes"] > 12 * 60


def test_dataproc_batch_uses_runtime_22_and_a_custom_container():
    batch = rendered(DEPLOY / "dataproc" / "batch-refresh.json")
    assert batch["runtimeConfig"]["version"] == "2.2"
    assert batch["runtimeConfig"]["containerImage"] == VALUES["DATAPROC_IMAGE"]
    props = batch["runtimeConfig"]["properties"]
    assert props["spark.executor.cores"] in ("4", "8", "16") and props["spark.driver.cores"] in ("4", "8", "16")
    assert all(isinstance(v, str) for v in props.values())
    # the runtime's 4-hour default TTL would cut a full crawl short
    assert int(batch["environmentConfig"]["executionConfig"]["ttl"].rstrip("s")) >= 12 * 3600
    for name, order in (("extract-dedup", {"extract": [], "dedup": ["extract"]}),
                        ("align-benchmark", {"align": [], "benchmark": ["align"]}),
                        ("embed-gpu", {"align-vectors": [], "benchmark-vectors": ["align-vectors"]})):
        wt = rendered(DEPLOY / "dataproc" / f"workflow-template-{name}.yaml")
        assert {j["stepId"]: j.get("prerequisiteStepIds", []) for j in wt["jobs"]} == order
        cluster = wt["placement"]["managedCluster"]["config"]
        assert cluster["secondaryWorkerConfig"]["preemptibility"] == "SPOT"
        assert isinstance(cluster["secondaryWorkerConfig"]["numInstances"], int)
    for workers in ("workerConfig", "secondaryWorkerConfig"):  # every executor of the GPU stage has a GPU
        assert cluster[workers]["accelerators"] == [{"acceleratorTypeUri": VALUES["DATAPROC_GPU_TYPE"], "acceleratorCount": 1}]


def gpu_and_cpu_embedding_steps() -> list[tuple[str, list[str], list[str]]]:
    """(GPU step args, CPU step args) of align and of benchmark, per platform."""
    pairs = []
    for gpu, cpu in ((DEPLOY / "emr-ec2" / "steps-embed-gpu.json", DEPLOY / "emr-ec2" / "steps-align-benchmark.json"),
                     (DEPLOY / "dataproc" / "workflow-template-embed-gpu.yaml",
                      DEPLOY / "dataproc" / "workflow-template-align-benchmark.yaml")):
        gpu_jobs, cpu_jobs = job_invocations(gpu, rendered(gpu)), job_invocations(cpu, rendered(cpu))
        assert [Path(e).stem for e, _, _ in gpu_jobs] == [Path(e).stem for e, _, _ in cpu_jobs] == ["align", "benchmark"]
        pairs += [(g[0], g[1], c[1]) for g, c in zip(gpu_jobs, cpu_jobs)]
    return pairs


def test_the_gpu_stage_fills_the_vectors_the_cpu_stages_read():
    """Only the GPU stage embeds: its steps only fill the vector store (embed-only) on CUDA, with
    the models the align and benchmark steps after it name, so those find every vector."""
    from webfaq.align.embeddings import embedder_name

    for entry, gpu_args, cpu_args in gpu_and_cpu_embedding_steps():
        job, gpu = parse_job(entry, gpu_args)
        _, cpu = parse_job(entry, cpu_args)
        assert (gpu.align.embed_only if job == "align" else gpu.benchmark.embed_only)
        assert not (cpu.align.embed_only or cpu.benchmark.embed_only)
        assert gpu.embed.device == "cuda" and gpu.embed.backend == "sentence-transformers"
        assert embedder_name(gpu.embed) == embedder_name(cpu.embed) == {"align": "LaBSE", "benchmark": "jina-embeddings-v3"}[job]
        if job == "benchmark":  # the method's refinement model has the method's thresholds
            assert "jina-embeddings-v3" in Config().benchmark.thresholds


def test_images_follow_the_services_rules():
    """Dataproc Serverless: the root Dockerfile's SPARK_PROVIDED build bundles no Spark and runs as
    spark (1099). EMR Serverless: FROM the base image of the application's release, ends as hadoop."""
    root = (REPO / "Dockerfile").read_text()
    assert "SPARK_PROVIDED" in root and "grep -v -iE '^(pyspark|py4j)=='" in root
    assert "useradd -u 1099 -g 1099" in root
    code = "\n".join(line for line in root.splitlines() if not line.lstrip().startswith("#"))
    assert not re.search(r"apache-spark|spark-\d\.\d|/spark/bin", code.lower())  # no Spark distribution
    emr = (DEPLOY / "emr-serverless" / "Dockerfile").read_text()
    base = re.search(r"^FROM public\.ecr\.aws/emr-serverless/spark/(emr-[\d.]+):", emr, re.M)
    assert base and base.group(1) == VALUES["EMR_RELEASE"], "application releaseLabel != the image's base release"
    assert [line for line in emr.splitlines() if line.startswith("USER ")][-1] == "USER hadoop:hadoop"
    assert "/usr/bin/python3.11" in emr or "python3.11" in emr  # the interpreter the job runs name


def test_aws_templates_match_the_api_shapes():
    """botocore's own parameter validation (the check the CLI runs before sending): field names,
    types (integers where the API wants them) and nesting of every AWS template."""
    from botocore.session import get_session
    from botocore.validate import ParamValidator

    session = get_session()

    def check(service: str, operation: str, params: dict) -> None:
        shape = session.get_service_model(service).operation_model(operation).input_shape
        report = ParamValidator().validate(params, shape)
        assert not report.has_errors(), f"{service} {operation}: {report.generate_report()}"

    emrs = DEPLOY / "emr-serverless"
    check("emr-serverless", "CreateApplication", dict(rendered(emrs / "application.json"), clientToken="t"))
    for path in sorted(emrs.glob("start-job-run-*.json")):
        check("emr-serverless", "StartJobRun", dict(rendered(path), clientToken="t"))
    ec2 = DEPLOY / "emr-ec2"
    steps = []
    for path in sorted(ec2.glob("steps-*.json")):  # the CLI's --steps form -> the API's StepConfig
        for step in rendered(path):
            assert step["Type"] == "CUSTOM_JAR"
            steps.append({"Name": step["Name"], "ActionOnFailure": step["ActionOnFailure"],
                          "HadoopJarStep": {"Jar": step["Jar"], "Args": step["Args"]}})
    for suffix in ("", "-gpu"):  # the CPU cluster and the GPU stage's cluster
        check("emr", "RunJobFlow", {
            "Name": VALUES["EMR_CLUSTER_NAME"], "ReleaseLabel": VALUES["EMR_RELEASE"], "Steps": steps,
            "Instances": {"InstanceFleets": rendered(ec2 / f"instance-fleets{suffix}.json"),
                          "Ec2SubnetIds": [VALUES["EMR_SUBNET_ID"]]},
            "Configurations": rendered(ec2 / f"configurations{suffix}.json")})
    gpu_fleets = rendered(ec2 / "instance-fleets-gpu.json")
    assert all(t["InstanceType"].startswith("g") for f in gpu_fleets[1:] for t in f["InstanceTypeConfigs"])


# --------------------------------------------------------------------------- render.py

def test_render_cli(tmp_path, capsys):
    assert render.main(["--values", str(EXAMPLE), "--all", str(tmp_path)]) == 0
    out = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert out == sorted(p.relative_to(DEPLOY).as_posix() for p in TEMPLATES)
    values = tmp_path / "v.env"
    values.write_text("AWS_REGION=us-east-1\n")
    assert render.main(["--values", str(values), str(DEPLOY / "emr-serverless" / "application.json")]) == 1
    assert "no value for" in capsys.readouterr().err
    assert render.render("a $${KEEP} ${X}", {"X": "1"}) == "a ${KEEP} 1"
    with pytest.raises(ValueError):
        bad = tmp_path / "bad.env"
        bad.write_text("lower=case\n")
        render.load_values(bad, environ={})


def test_environment_overrides_values_file():
    values = render.load_values(EXAMPLE, environ={"LAKE_S3": "s3://other/lake"})
    assert values["LAKE_S3"] == "s3://other/lake" and values["CRAWL"] == VALUES["CRAWL"]


# --------------------------------------------------------------------------- Airflow DAG

DAG_FILE = DEPLOY / "airflow" / "webfaq_monthly_dag.py"


@pytest.fixture(scope="module")
def dag_module():
    """The DAG file's plan functions (importable with or without Airflow)."""
    return load_path("webfaq_monthly_dag_plan", DAG_FILE)


def test_dag_defaults_match_the_example_values(dag_module):
    for key, value in dag_module.DEFAULTS.items():
        if key != "PLATFORM":
            assert VALUES[key] == value, f"DAG default {key}={value!r} but values.example.env says {VALUES[key]!r}"


def test_dag_plans_are_accepted_by_the_refresh_parser(dag_module):
    v = dag_module.resolve({"platform": "emr-serverless"})
    emr = dag_module.emr_serverless_plan(v, "20240601t000000", crawl="CC-MAIN-2024-22", force=True)
    sub = emr["job_driver"]["sparkSubmit"]
    job, cfg = parse_job(sub["entryPoint"], sub["entryPointArguments"])
    assert job == "refresh" and cfg.lake.path == VALUES["LAKE_S3"] and cfg.input.crawl == "CC-MAIN-2024-22"
    assert cfg.refresh.force and cfg.s3.anonymous is False and cfg.input.base_url == "s3://commoncrawl/"
    assert "spark.executorEnv.PYSPARK_PYTHON=/usr/bin/python3.11" in shlex.split(sub["sparkSubmitParameters"])
    assert emr["job_config"]["executionTimeoutMinutes"] == int(VALUES["EMRS_TIMEOUT_MINUTES"])
    assert len(emr["application_config"]["name"]) <= 64
    batch = dag_module.dataproc_plan(dag_module.resolve({"platform": "dataproc"}))
    job, cfg = parse_job(batch["pyspark_batch"]["main_python_file_uri"], batch["pyspark_batch"]["args"])
    assert job == "refresh" and cfg.lake.path == VALUES["LAKE_GS"] and cfg.input.crawl is None
    assert cfg.input.base_url == "https://data.commoncrawl.org/"
    json.dumps(emr), json.dumps(batch)  # XCom-serialisable


def test_dag_emr_plan_matches_the_api_shapes(dag_module):
    from botocore.session import get_session
    from botocore.validate import ParamValidator

    model = get_session().get_service_model("emr-serverless")
    v = dag_module.resolve({})
    plan = dag_module.emr_serverless_plan(v, "20240601t000000")
    calls = {  # what the three operators send
        "CreateApplication": dict(plan["application_config"], clientToken="t", releaseLabel=v["EMR_RELEASE"], type="SPARK"),
        "StartJobRun": dict(plan["job_config"], clientToken="t", applicationId="00f", name="webfaq-refresh",
                            executionRoleArn=v["EMRS_JOB_ROLE_ARN"], jobDriver=plan["job_driver"],
                            configurationOverrides=plan["configuration_overrides"]),
    }
    for operation, params in calls.items():
        report = ParamValidator().validate(params, model.operation_model(operation).input_shape)
        assert not report.has_errors(), f"{operation}: {report.generate_report()}"


def test_dag_settings_precedence(dag_module):
    variables = {"webfaq_platform": "dataproc", "webfaq_lake_gs": "gs://var/lake"}
    v = dag_module.resolve({"lake_gs": "gs://param/lake"}, lambda name, d: variables.get(name, d))
    assert v["PLATFORM"] == "dataproc" and v["LAKE_GS"] == "gs://param/lake"
    assert v["LAKE_S3"] == dag_module.DEFAULTS["LAKE_S3"]
    with pytest.raises(ValueError):
        dag_module.resolve({"platform": "k8s"})
    with pytest.raises(ValueError):
        dag_module.refresh_args(v, "gs://x", "https://data.commoncrawl.org/", crawl="latest")


def test_dag_imports_under_airflow(tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    monkeypatch.setenv("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    monkeypatch.setenv("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
    pytest.importorskip("airflow", reason="Airflow is not installed (pip install -e '.[airflow]' to run this)")
    pytest.importorskip("airflow.providers.amazon", reason="apache-airflow-providers-amazon is not installed")
    pytest.importorskip("airflow.providers.google", reason="apache-airflow-providers-google is not installed")

    def no_network(*args, **kwargs):
        raise AssertionError(f"network access while importing the DAG: {args}")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    module = load_path("webfaq_monthly_dag_airflow", DAG_FILE)
    dag = module.dag
    assert dag.dag_id == "webfaq_monthly_refresh"
    assert {t.task_id for t in dag.tasks} == {"plan", "choose_platform", "emr_create_application", "emr_refresh_job",
                                              "emr_delete_application", "dataproc_refresh_batch"}
    assert dag.get_task("emr_delete_application").trigger_rule == "none_skipped"
    assert dag.get_task("emr_refresh_job").upstream_task_ids >= {"emr_create_application"}


@pytest.mark.parametrize("dockerfile", ["Dockerfile", "deploy/emr-serverless/Dockerfile"])
def test_images_build_the_whole_wheel_from_what_they_copy(dockerfile, tmp_path):
    """Each image builds its wheel from the files its `wheel` stage copies and installs only that
    wheel: built here from exactly those files, the wheel holds every package of the library (a
    file missing from a COPY line, such as setup.py, would silently drop packages)."""
    text = (REPO / dockerfile).read_text()
    stage = text.split(" AS wheel\n", 1)[1].split("\nFROM ", 1)[0]
    context = tmp_path / "context"
    for line in stage.splitlines():
        if line.startswith("COPY "):
            *sources, _dest = line.split()[1:]
            for src in sources:
                target = context / src
                if (REPO / src).is_dir():
                    shutil.copytree(REPO / src, target, ignore=shutil.ignore_patterns("__pycache__"))
                else:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy(REPO / src, target)
    assert "pip install --no-cache-dir --no-deps dist/webfaq_lake-*.whl" in text.replace("python3.11 -m pip", "pip")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "-w", str(tmp_path / "dist"), str(context)], check=True, capture_output=True, timeout=300)
    wheel, = (tmp_path / "dist").glob("webfaq_lake-*.whl")
    packages = {n.rsplit("/", 1)[0].replace("/", ".") for n in zipfile.ZipFile(wheel).namelist()
                if n.endswith("/__init__.py")}
    expected = {p.parent.relative_to(REPO / "lib").as_posix().replace("/", ".")
                for p in (REPO / "lib").rglob("__init__.py")} | {"webfaq_jobs"}
    assert packages == expected
