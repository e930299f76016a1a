#!/usr/bin/env bash
# Build dist/emr/webfaq-env.tar.gz, the packed virtual environment for `--archives
# …/webfaq-env.tar.gz#environment` on EMR (start-job-run-refresh-archives.json,
# ../emr-ec2/steps-refresh-archives.json).
#
# A venv-pack archive carries the packages but not the interpreter: its bin/python links to the
# Python it was built with, which must exist at the same path where it runs. So it is built here
# inside the EMR Serverless base image with Amazon Linux 2023's python3.11 (/usr/bin/python3.11):
# the path of the interpreter in the custom image (deploy/emr-serverless/Dockerfile) and on EMR on
# EC2 nodes after ../emr-ec2/bootstrap.sh. `make dist`'s archive, built on a developer machine,
# links to that machine's Python and does not run on EMR.
#
# Usage (repository root, after `make dist` built the wheel; needs docker):
#   EMR_RELEASE=emr-7.2.0 bash deploy/emr-serverless/pack-env.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
EMR_RELEASE="${EMR_RELEASE:-emr-7.2.0}"
ls dist/webfaq_lake-*.whl >/dev/null
mkdir -p dist/emr
docker run --rm --user root --entrypoint /bin/bash \
  -v "$PWD/dist:/dist" -v "$PWD/constraints.txt:/src/constraints.txt:ro" -v "$PWD/pyproject.toml:/src/pyproject.toml:ro" \
  "public.ecr.aws/emr-serverless/spark/${EMR_RELEASE}:latest" -euo pipefail -c '
    dnf install -y -q python3.11 python3.11-pip
    python3.11 -m venv /tmp/env
    grep -v -iE "^(pyspark|py4j)==" /src/constraints.txt > /tmp/constraints.txt
    python3.11 - > /tmp/requirements.txt <<PY
import re, tomllib
deps = tomllib.load(open("/src/pyproject.toml", "rb"))["project"]["dependencies"]
print("\n".join(d for d in deps if not re.match(r"(?i)pyspark\b", d)))
PY
    /tmp/env/bin/pip install -q -c /tmp/constraints.txt -r /tmp/requirements.txt venv-pack
    /tmp/env/bin/pip install -q --no-deps /dist/webfaq_lake-*.whl
    /tmp/env/bin/python -c "import webfaq.extract.pipeline, webfaq_jobs.refresh"
    /tmp/env/bin/venv-pack -q -p /tmp/env -o /dist/emr/webfaq-env.tar.gz --force'
ls -la dist/emr/webfaq-env.tar.gz
