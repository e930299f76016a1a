#!/usr/bin/env bash
# Build what a Spark cluster needs, into dist/:
#   webfaq_lake-<v>-py3-none-any.whl   the project (pip install it into an image or bootstrap)
#   webfaq-pyfiles.zip                 the pure-Python packages, for `spark-submit --py-files`
#                                      (only where the dependencies are already installed)
#   webfaq-env.tar.gz                  a packed virtual environment with every dependency,
#                                      native ones (fastwarc, resiliparse, fasttext, lxml) included,
#                                      for `spark-submit --archives dist/webfaq-env.tar.gz#environment`
#                                      (pyspark itself is left out: the cluster provides Spark)
# Usage: bash scripts/dist.sh [--no-env]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
rm -rf dist build/pyfiles && mkdir -p dist build/pyfiles
.venv/bin/python -m pip wheel -q --no-deps -w dist . >/dev/null
cp -r lib/webfaq build/pyfiles/webfaq && cp -r jobs build/pyfiles/webfaq_jobs
find build/pyfiles -name __pycache__ -prune -exec rm -rf {} +
(cd build/pyfiles && ../../.venv/bin/python -m zipfile -c ../../dist/webfaq-pyfiles.zip webfaq webfaq_jobs)
if [ "${1:-}" != "--no-env" ]; then
  rm -rf build/env
  "${PYTHON:-python3}" -m venv build/env
  build/env/bin/python -m pip install -q --upgrade pip
  # every runtime dependency at its pinned version, except Spark (the cluster's own)
  grep -v -iE '^(pyspark|py4j)==' constraints.txt > build/constraints-cluster.txt
  runtime=$(.venv/bin/python - <<'PY'
import re, tomllib
deps = tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]
print(" ".join(d for d in deps if not re.match(r"(?i)pyspark\b", d)))
PY
)
  build/env/bin/python -m pip install -q -c build/constraints-cluster.txt $runtime venv-pack
  build/env/bin/python -m pip install -q --no-deps dist/*.whl
  build/env/bin/venv-pack -q -p build/env -o dist/webfaq-env.tar.gz --force
fi
ls -la dist
