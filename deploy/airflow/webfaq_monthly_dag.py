"""Airflow DAG: the monthly WebFAQ refresh on EMR Serverless or Dataproc Serverless.

Once a month it runs ``jobs/refresh.py``, which finds the newest Common Crawl crawl, skips it when
the lake already holds it as complete, and otherwise runs extract -> dedup (incremental) -> align
-> benchmark, resuming whatever a failed run left unfinished. A task retry therefore costs only the
missing work.

    platform emr-serverless:  create application -> start job run (refresh.py) -> delete application
    platform dataproc:        one Dataproc Serverless batch (refresh.py, custom container)

Settings, in order of precedence: the run's params (trigger with config), Airflow Variables named
``webfaq_<key in lower case>`` (e.g. ``webfaq_lake_s3``, ``webfaq_platform``), the DEFAULTS below
(the same keys and example values as deploy/values.example.env). Everything is resolved when the
``plan`` task runs: importing this file touches no network, no Variable and no connection.
Connections: ``aws_default`` and ``google_cloud_default`` (change AWS_CONN_ID / GCP_CONN_ID).
Needs apache-airflow>=2.9 with apache-airflow-providers-amazon and -google (the `airflow` extra).
"""

from __future__ import annotations

import datetime as dt
import re
import shlex
from typing import Any

AWS_CONN_ID = "aws_default"
GCP_CONN_ID = "google_cloud_default"
PLATFORMS = ("emr-serverless", "dataproc")

# Same keys and example values as deploy/values.example.env (tests/test_deploy.py checks it).
DEFAULTS: dict[str, str] = {
    "PLATFORM": "emr-serverless",
    "LAKE_FORMAT": "parquet",
    "FAILURE_BUDGET": "0.01",
    "AWS_REGION": "us-east-1",
    "ARTIFACTS_S3": "s3://my-webfaq-artifacts/webfaq/0.1.0",
    "LAKE_S3": "s3://my-webfaq-lake/lake",
    "LOGS_S3": "s3://my-webfaq-artifacts/logs",
    "EMR_RELEASE": "emr-7.2.0",
    "EMRS_APPLICATION_NAME": "webfaq-refresh",
    "EMRS_JOB_ROLE_ARN": "arn:aws:iam::123456789012:role/webfaq-emr-serverless-job",
    "EMRS_IMAGE_URI": "123456789012.dkr.ecr.us-east-1.amazonaws.com/webfaq-emr-serverless:0.1.0",
    "EMRS_SUBNET_ID": "subnet-0123456789abcdef0",
    "EMRS_SECURITY_GROUP_ID": "sg-0123456789abcdef0",
    "EMRS_MAX_VCPU": "1004",
    "EMRS_MAX_MEMORY_GB": "2800",
    "EMRS_MAX_DISK_GB": "5100",
    "EMRS_TIMEOUT_MINUTES": "1440",
    "GCP_PROJECT": "my-gcp-project",
    "GCP_REGION": "us-central1",
    "ARTIFACTS_GS": "gs://my-webfaq-artifacts/webfaq/0.1.0",
    "LAKE_GS": "gs://my-webfaq-lake/lake",
    "DATAPROC_STAGING_BUCKET": "my-webfaq-staging",
    "DATAPROC_SUBNET": "projects/my-gcp-project/regions/us-central1/subnetworks/default",
    "DATAPROC_SERVICE_ACCOUNT": "webfaq-dataproc@my-gcp-project.iam.gserviceaccount.com",
    "DATAPROC_RUNTIME": "2.2",
    "DATAPROC_IMAGE": "us-central1-docker.pkg.dev/my-gcp-project/webfaq/webfaq-dataproc:0.1.0",
    "DRIVER_CORES": "4",
    "DRIVER_MEMORY": "12g",
    "EXECUTOR_CORES": "4",
    "EXECUTOR_MEMORY": "5g",
    "EXECUTOR_MEMORY_OVERHEAD": "6g",
    "MIN_EXECUTORS": "2",
    "MAX_EXECUTORS": "250",
    "SHUFFLE_PARTITIONS": "2000",
}
# Keys a run's params may override (lower case in the trigger form).
PARAM_KEYS = ("PLATFORM", "MAX_EXECUTORS", "LAKE_S3", "LAKE_GS")


# --------------------------------------------------------------------------- plan (pure Python)

def resolve(params: dict[str, Any], variable: Any = None) -> dict[str, str]:
    """Settings for one run: params beat Variables (``variable(name, default)``) beat DEFAULTS."""
    values = {}
    for key, default in DEFAULTS.items():
        value = params.get(key.lower())
        if value in (None, ""):
            value = variable(f"webfaq_{key.lower()}", default) if variable else default
        values[key] = str(value)
    if values["PLATFORM"] not in PLATFORMS:
        raise ValueError(f"platform must be one of {PLATFORMS}, got {values['PLATFORM']!r}")
    return values


def refresh_args(v: dict[str, str], lake: str, input_base_url: str, crawl: str = "", force: bool = False) -> list[str]:
    """jobs/refresh.py arguments; inside AWS Common Crawl is read from S3 with the job's role."""
    args = ["--lake", lake, "--format", v["LAKE_FORMAT"], "--input-base-url", input_base_url,
            "--job-failure-budget", v["FAILURE_BUDGET"]]
    if input_base_url.startswith("s3://"):
        args += ["--no-s3-anonymous", "--s3-region", v["AWS_REGION"]]
    if crawl:
        if not re.fullmatch(r"CC-MAIN-\d{4}-\d{2}", crawl):
            raise ValueError(f"crawl must look like CC-MAIN-YYYY-WW, got {crawl!r}")
        args += ["--crawl", crawl]
    if force:
        args += ["--refresh-force"]
    return args


def spark_conf(v: dict[str, str]) -> dict[str, str]:
    return {
        "spark.driver.cores": v["DRIVER_CORES"], "spark.driver.memory": v["DRIVER_MEMORY"],
        "spark.executor.cores": v["EXECUTOR_CORES"], "spark.executor.memory": v["EXECUTOR_MEMORY"],
        "spark.executor.memoryOverhead": v["EXECUTOR_MEMORY_OVERHEAD"],
        "spark.dynamicAllocation.minExecutors": v["MIN_EXECUTORS"],
        "spark.dynamicAllocation.maxExecutors": v["MAX_EXECUTORS"],
        "spark.network.timeout": "300s",
    }


def emr_serverless_plan(v: dict[str, str], run_name: str, crawl: str = "", force: bool = False) -> dict[str, Any]:
    """create_application extras, start_job_run jobDriver / overrides / extras: as deploy/emr-serverless/."""
    python = "/usr/bin/python3.11"  # the custom image's interpreter (deploy/emr-serverless/Dockerfile)
    conf = dict(spark_conf(v), **{
        "spark.dynamicAllocation.enabled": "true",
        "spark.emr-serverless.driverEnv.PYSPARK_DRIVER_PYTHON": python,
        "spark.emr-serverless.driverEnv.PYSPARK_PYTHON": python,
        "spark.executorEnv.PYSPARK_PYTHON": python,
        "spark.emr-serverless.driverEnv.WEBFAQ_SHUFFLE_PARTITIONS": v["SHUFFLE_PARTITIONS"],
    })
    return {
        "application_config": {
            "name": f"{v['EMRS_APPLICATION_NAME']}-{run_name}"[:64],
            "architecture": "X86_64",
            "imageConfiguration": {"imageUri": v["EMRS_IMAGE_URI"]},
            "maximumCapacity": {"cpu": f"{v['EMRS_MAX_VCPU']} vCPU", "memory": f"{v['EMRS_MAX_MEMORY_GB']} GB",
                                "disk": f"{v['EMRS_MAX_DISK_GB']} GB"},
            "autoStopConfiguration": {"enabled": True, "idleTimeoutMinutes": 15},
            "networkConfiguration": {"subnetIds": [v["EMRS_SUBNET_ID"]], "securityGroupIds": [v["EMRS_SECURITY_GROUP_ID"]]},
            "tags": {"app": "webfaq-lake"},
        },
        "job_driver": {"sparkSubmit": {
            "entryPoint": f"{v['ARTIFACTS_S3']}/jobs/refresh.py",
            "entryPointArguments": refresh_args(v, v["LAKE_S3"], "s3://commoncrawl/", crawl, force),
            "sparkSubmitParameters": " ".join(f"--conf {shlex.quote(f'{k}={x}')}" for k, x in conf.items()),
        }},
        "configuration_overrides": {"monitoringConfiguration": {
            "s3MonitoringConfiguration": {"logUri": f"{v['LOGS_S3']}/emr-serverless/"}}},
        "job_config": {"executionTimeoutMinutes": int(v["EMRS_TIMEOUT_MINUTES"]), "tags": {"app": "webfaq-lake"}},
    }


def dataproc_plan(v: dict[str, str], crawl: str = "", force: bool = False) -> dict[str, Any]:
    """The Batch resource: as deploy/dataproc/batch-refresh.json (HTTPS input outside AWS)."""
    props = dict(spark_conf(v), **{"spark.dataproc.driverEnv.WEBFAQ_SHUFFLE_PARTITIONS": v["SHUFFLE_PARTITIONS"]})
    return {
        "pyspark_batch": {
            "main_python_file_uri": f"{v['ARTIFACTS_GS']}/jobs/refresh.py",
            "args": refresh_args(v, v["LAKE_GS"], "https://data.commoncrawl.org/", crawl, force),
        },
        "runtime_config": {"version": v["DATAPROC_RUNTIME"], "container_image": v["DATAPROC_IMAGE"], "properties": props},
        "environment_config": {"execution_config": {
            "service_account": v["DATAPROC_SERVICE_ACCOUNT"], "subnetwork_uri": v["DATAPROC_SUBNET"],
            "staging_bucket": v["DATAPROC_STAGING_BUCKET"], "ttl": {"seconds": 24 * 3600}}},
        "labels": {"app": "webfaq-lake", "stage": "refresh"},
    }


# --------------------------------------------------------------------------- the DAG

try:  # Airflow 3 (task SDK), then Airflow 2.9+
    from airflow.sdk import DAG, Param, task
except ImportError:  # pragma: no cover - depends on the Airflow version
    try:
        from airflow import DAG
        from airflow.decorators import task
        from airflow.models.param import Param
    except ImportError:  # no Airflow: the plan functions above are still importable (tests)
        DAG = None

if DAG is not None:
    from airflow.providers.amazon.aws.operators.emr import (
        EmrServerlessCreateApplicationOperator,
        EmrServerlessDeleteApplicationOperator,
        EmrServerlessStartJobOperator,
    )
    from airflow.providers.google.cloud.operators.dataproc import DataprocCreateBatchOperator

    class WebfaqCreateApplicationOperator(EmrServerlessCreateApplicationOperator):
        """The provider's operator with release label and config templated too, so they can come
        from the `plan` task (its template fields are only connection, region and verify)."""

        template_fields = (*EmrServerlessCreateApplicationOperator.template_fields, "release_label", "config")

    with DAG(
        dag_id="webfaq_monthly_refresh",
        description="Newest Common Crawl crawl -> WebFAQ lake (extract, dedup, align, benchmark)",
        schedule="@monthly",
        start_date=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc),
        catchup=False,
        max_active_runs=1,
        default_args={"retries": 1, "retry_delay": dt.timedelta(minutes=30)},
        params={
            "platform": Param("", type="string", enum=["", *PLATFORMS],
                              description="emr-serverless or dataproc (empty: Variable webfaq_platform, else emr-serverless)"),
            "crawl": Param("", type="string", pattern=r"^(|CC-MAIN-\d{4}-\d{2})$",
                           description="Run this crawl instead of the newest one (empty: newest)"),
            "force": Param(False, type="boolean", description="Run the crawl even if the lake holds it as complete"),
            "max_executors": Param("", type="string", description="Override MAX_EXECUTORS"),
            "lake_s3": Param("", type="string", description="Override the S3 lake"),
            "lake_gs": Param("", type="string", description="Override the GCS lake"),
        },
        tags=["webfaq"],
        doc_md=__doc__,
    ) as dag:

        @task(multiple_outputs=True)
        def plan(**context) -> dict[str, Any]:
            """Resolve params/Variables/defaults once; the operators below read the result."""
            params = dict(context["params"])
            variables = context["var"]["value"]
            v = resolve({k.lower(): params.get(k.lower()) for k in PARAM_KEYS}, lambda name, d: variables.get(name, d))
            run = re.sub(r"[^a-z0-9-]", "-", str(context["ts_nodash"]).lower())
            crawl, force = params.get("crawl") or "", bool(params.get("force"))
            out: dict[str, Any] = {"platform": v["PLATFORM"], "aws_region": v["AWS_REGION"],
                                   "emr_release": v["EMR_RELEASE"], "emr_role": v["EMRS_JOB_ROLE_ARN"],
                                   "gcp_project": v["GCP_PROJECT"], "gcp_region": v["GCP_REGION"]}
            out.update(emr_serverless_plan(v, run, crawl, force))
            out["dataproc_batch"] = dataproc_plan(v, crawl, force)
            return out

        @task.branch
        def choose_platform(platform: str) -> str:
            return "emr_create_application" if platform == "emr-serverless" else "dataproc_refresh_batch"

        p = plan()
        branch = choose_platform(p["platform"])

        create_app = WebfaqCreateApplicationOperator(
            task_id="emr_create_application",
            release_label=p["emr_release"],
            job_type="SPARK",
            config=p["application_config"],
            aws_conn_id=AWS_CONN_ID,
            region_name=p["aws_region"],
            wait_for_completion=True,
        )
        run_job = EmrServerlessStartJobOperator(
            task_id="emr_refresh_job",
            application_id=create_app.output,
            execution_role_arn=p["emr_role"],
            job_driver=p["job_driver"],
            configuration_overrides=p["configuration_overrides"],
            config=p["job_config"],
            name="webfaq-refresh",
            aws_conn_id=AWS_CONN_ID,
            region_name=p["aws_region"],
            wait_for_completion=True,
            waiter_delay=60,
            waiter_max_attempts=24 * 60,
        )
        delete_app = EmrServerlessDeleteApplicationOperator(
            task_id="emr_delete_application",
            application_id=create_app.output,
            aws_conn_id=AWS_CONN_ID,
            region_name=p["aws_region"],
            force_stop=True,
            trigger_rule="none_skipped",  # also after a failed job run; not when Dataproc was chosen
        )
        dataproc_batch = DataprocCreateBatchOperator(
            task_id="dataproc_refresh_batch",
            project_id=p["gcp_project"],
            region=p["gcp_region"],
            batch=p["dataproc_batch"],
            # one batch per try: a retry starts a new batch, and the refresh resumes what the last left
            batch_id="webfaq-refresh-{{ ts_nodash | lower }}-{{ ti.try_number }}",
            gcp_conn_id=GCP_CONN_ID,
        )

        branch >> [create_app, dataproc_batch]
        create_app >> run_job >> delete_app
