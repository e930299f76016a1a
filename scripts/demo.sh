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
EXPORT="${EXPORT:-$LAKE-export}"
.venv/bin/webfaq run sample-data/warc/ --lake "$LAKE" --crawl-id CC-MAIN-SAMPLE --config "$CONFIG" --run-force "$@"
# The lake as a dataset folder in the layouts its users load (Hugging Face configs, BEIR folders).
.venv/bin/webfaq export --lake "$LAKE" --out "$EXPORT" --overwrite
echo
echo "The products, in $LAKE:"
for table in faq faq_dedup faq_dedup_dropped bitext bitext_jsonl benchmark; do
  if [ -d "$LAKE/$table" ]; then printf '  %-18s %s\n' "$table" "$LAKE/$table"; fi
done
printf '  %-18s %s\n' evaluation "$(ls -t "$LAKE"/_runs/*evaluate*.json 2>/dev/null | head -1) (the evaluate stage's manifest)"
printf '  %-18s %s\n' report "$LAKE/report.html (open it in a browser)"
printf '  %-18s %s\n' export "$EXPORT (README.md is the dataset card)"
