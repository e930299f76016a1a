#!/usr/bin/env bash
# Set up a fresh machine: Java 17 (Debian's openjdk-17-jre-headless) when `java` is missing,
# and a Python virtual environment at .venv/ with the project (the `webfaq` command) installed
# from the pinned constraints. Safe to re-run: it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v java >/dev/null 2>&1; then
  echo "setup: installing Java 17 (openjdk-17-jre-headless)" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq openjdk-17-jre-headless >/dev/null
fi

# Headless Chromium (Debian's chromium) for the report's rendering test and
# bench/report_screenshot.py; installed only as root or with passwordless sudo, and a failure
# does not stop the set-up: without it those tests skip and say why.
if ! command -v chromium >/dev/null 2>&1 && [ "${WEBFAQ_NO_CHROMIUM:-0}" != 1 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  if [ -z "$SUDO" ] || { command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; }; then
    echo "setup: installing chromium (headless browser for the report test)" >&2
    { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null; } \
      || echo "setup: could not install chromium; the report rendering tests will skip" >&2
  else
    echo "setup: chromium is missing and there is no root or sudo to install it; the report rendering tests will skip" >&2
  fi
fi

# WEBFAQ_SPARK4=1: the same set-up in .venv-spark4 with PySpark 4 (WEBFAQ_SPARK4_VERSION,
# default 4.3.0) instead of the pinned 3.5 line that EMR 7 and Dataproc 2.2 run; every other pin
# stays. `WEBFAQ_SPARK4=1 bash scripts/test.sh` runs the suite on it.
VENV=.venv
CONSTRAINTS=constraints.txt
if [ "${WEBFAQ_SPARK4:-0}" = 1 ]; then
  VENV=.venv-spark4
fi
PY="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV with $($PY --version)" >&2
  "$PY" -m venv "$VENV"
fi
if [ "$VENV" = .venv-spark4 ]; then
  CONSTRAINTS="$VENV/constraints.txt"
  { grep -v '^pyspark==' constraints.txt; echo "pyspark==${WEBFAQ_SPARK4_VERSION:-4.3.0}"; } > "$CONSTRAINTS"
fi
stamp="$VENV/.webfaq-installed"
want="$(cat pyproject.toml "$CONSTRAINTS" | sha1sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing the project and its pinned dependencies into $VENV" >&2
  log="$VENV/setup-pip.log"
  # beir without its dependencies (they pull in torch): the tests load every written split with
  # BEIR's own GenericDataLoader, which needs only tqdm.
  if ! { "$VENV/bin/python" -m pip install --upgrade pip && \
         "$VENV/bin/python" -m pip install -c "$CONSTRAINTS" -e ".[test]" && \
         "$VENV/bin/python" -m pip install -c "$CONSTRAINTS" --no-deps beir; } >"$log" 2>&1; then
    tail -40 "$log" >&2; echo "setup: pip install failed (full log: $log)" >&2; exit 1
  fi
  echo "$want" > "$stamp"
fi
