#!/usr/bin/env bash
# The test suite (unit tests, Spark local mode, a standalone two-worker cluster on 127.0.0.1,
# S3 through moto's server on loopback). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
