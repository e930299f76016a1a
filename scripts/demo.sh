#!/usr/bin/env bash
# The whole product on the bundled sample, in Spark local mode: one `webfaq run` does extract ->
# dedup -> align -> benchmark -> evaluate -> report. The sample's own config file changes only
# the size thresholds a full crawl would not need (printed below, so nothing is hidden).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
LAKE="${LAKE:-$PWD/lake}"
CONFIG=sample-data/demo.toml
echo "demo: settings that differ from a full crawl ($CONFIG):"
grep -E '^\[|^[a-z_]+ *=' "$CONFIG" | sed 's/^/  /'
echo
.venv/bin/webfaq run sample-data/warc/ --lake "$LAKE" --crawl-id CC-MAIN-SAMPLE --config "$CONFIG" --run-force "$@"
echo
echo "The products, in $LAKE:"
for table in faq faq_dedup bitext benchmark; do
  [ -d "$LAKE/$table" ] && printf '  %-10s %s\n' "$table" "$LAKE/$table"
done
echo "  report     $LAKE/report.html (open it in a browser)"
