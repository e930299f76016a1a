#!/usr/bin/env bash
# Dataproc (Compute Engine) initialization action: install the project, with its pinned
# dependencies, into the image's Python on every node. Dataproc 2.2 images run Python 3.11 from
# /opt/conda/default; their Spark is the cluster's (pyspark/py4j are not installed from PyPI).
# The artifacts prefix comes from the cluster metadata key `webfaq-artifacts` (the workflow
# templates set it). With the metadata key `webfaq-extra` set (gpu: the GPU stage's cluster) the
# project's extra of that name is installed too. Nodes need outbound HTTPS to PyPI (Cloud NAT)
# or a mirror in PIP_INDEX_URL.
set -euo pipefail
ARTIFACTS=$(/usr/share/google/get_metadata_value attributes/webfaq-artifacts)
EXTRA=$(/usr/share/google/get_metadata_value attributes/webfaq-extra || true)
PY=/opt/conda/default/bin/python
work=$(mktemp -d)
gsutil -q cp "$ARTIFACTS/constraints.txt" "$ARTIFACTS/pyproject.toml" "$ARTIFACTS/webfaq_lake-*.whl" "$work/"
grep -v -iE '^(pyspark|py4j)==' "$work/constraints.txt" > "$work/constraints-cluster.txt"
"$PY" - "$work" <<'PY'
import re, sys, tomllib
work = sys.argv[1]
deps = tomllib.load(open(f"{work}/pyproject.toml", "rb"))["project"]["dependencies"]
open(f"{work}/requirements-cluster.txt", "w").write("\n".join(d for d in deps if not re.match(r"(?i)pyspark\b", d)))
PY
"$PY" -m pip install --no-cache-dir -c "$work/constraints-cluster.txt" -r "$work/requirements-cluster.txt"
"$PY" -m pip install --no-cache-dir --no-deps "$work"/webfaq_lake-*.whl
if [ -n "$EXTRA" ]; then
  wheel=$(ls "$work"/webfaq_lake-*.whl)
  "$PY" -m pip install --no-cache-dir -c "$work/constraints-cluster.txt" "${wheel}[${EXTRA}]"
fi
"$PY" -c "import webfaq.extract.pipeline, webfaq_jobs.refresh"
rm -rf "$work"
