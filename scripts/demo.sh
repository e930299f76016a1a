#!/usr/bin/env bash
# The main job end to end on the bundled sample WARC files, in Spark local mode.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
LAKE="${LAKE:-$PWD/lake}"
.venv/bin/webfaq extract sample-data/warc/ --lake "$LAKE" --crawl-id CC-MAIN-SAMPLE "$@"
echo
echo "The lake is at $LAKE:"
find "$LAKE/faq" -name '*.parquet' | sed "s|^$LAKE/||" | sort
echo
# The run report: one self-contained HTML file (funnel, languages, websites, ...), no network needed.
.venv/bin/webfaq report --lake "$LAKE"
echo "open it in a browser (the newest report is also at $LAKE/report.html)"
