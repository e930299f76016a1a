#!/usr/bin/env bash
# EMR on EC2 bootstrap action: Python 3.11 on every node (EMR 7.x runs Amazon Linux 2023, whose
# python3 is 3.9; the project needs >= 3.10) and, unless --python-only, the project with its
# pinned dependencies from the artifacts prefix. Spark itself stays the cluster's: pyspark and
# py4j are left out of the install.
#
#   aws emr create-cluster ... --bootstrap-actions \
#     Path=s3://.../deploy/emr-ec2/bootstrap.sh,Args=[s3://my-webfaq-artifacts/webfaq/0.1.0]
#
# With --python-only the nodes get the interpreter only, for steps that ship the code as the
# packed environment (steps-refresh-archives.json; build it with deploy/emr-serverless/Dockerfile
# --target env-export so its interpreter is /usr/bin/python3.11 too). With --gpu (the GPU
# cluster of steps-embed-gpu.json) the project's `gpu` extra is installed too (torch with its
# CUDA runtime, sentence-transformers), and a node without a working NVIDIA driver fails here
# instead of running the embedding on its CPU.
# Nodes need outbound HTTPS to PyPI (NAT) unless you point pip at a mirror (PIP_INDEX_URL).
set -euo pipefail
ARTIFACTS="${1:?usage: bootstrap.sh s3://bucket/prefix [--python-only]}"
MODE="${2:-}"
EXTRA=""
if [ "$MODE" = "--gpu" ]; then
  nvidia-smi -L  # the driver of EMR's GPU instance types; fails the bootstrap where there is none
  EXTRA="[gpu]"
fi

sudo dnf install -y python3.11 python3.11-pip
[ "$MODE" = "--python-only" ] && exit 0

work=$(mktemp -d)
aws s3 cp "$ARTIFACTS/constraints.txt" "$work/constraints.txt"
aws s3 cp "$ARTIFACTS/pyproject.toml" "$work/pyproject.toml"
aws s3 cp "$ARTIFACTS/" "$work/" --recursive --exclude '*' --include 'webfaq_lake-*.whl'
grep -v -iE '^(pyspark|py4j)==' "$work/constraints.txt" > "$work/constraints-cluster.txt"
python3.11 - "$work" <<'PY'
import re, sys, tomllib
work = sys.argv[1]
deps = tomllib.load(open(f"{work}/pyproject.toml", "rb"))["project"]["dependencies"]
open(f"{work}/requirements-cluster.txt", "w").write("\n".join(d for d in deps if not re.match(r"(?i)pyspark\b", d)))
PY
sudo python3.11 -m pip install --no-cache-dir -c "$work/constraints-cluster.txt" -r "$work/requirements-cluster.txt"
sudo python3.11 -m pip install --no-cache-dir --no-deps "$work"/webfaq_lake-*.whl
if [ -n "$EXTRA" ]; then
  wheel=$(ls "$work"/webfaq_lake-*.whl)
  sudo python3.11 -m pip install --no-cache-dir -c "$work/constraints-cluster.txt" "${wheel}${EXTRA}"
  python3.11 -c "import torch, sentence_transformers; assert torch.cuda.is_available(), 'no CUDA device'"
fi
python3.11 -c "import webfaq.extract.pipeline, webfaq_jobs.refresh"
rm -rf "$work"
