#!/usr/bin/env bash
# The test suite (unit tests, Spark local mode, a standalone two-worker cluster on 127.0.0.1,
# S3 through moto's server on loopback). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
VENV=.venv
[ "${WEBFAQ_SPARK4:-0}" = 1 ] && VENV=.venv-spark4  # the suite on PySpark 4 (see setup.sh)
exec "$VENV/bin/python" -m pytest "$@"
