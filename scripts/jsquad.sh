#!/usr/bin/env bash
# Search quality on JSQuAD (public Japanese QA retrieval set, CC BY-SA 4.0), for BENCHMARKS.md.
#   bash scripts/jsquad.sh [path/to/jsquad_ret]   (default: ../shared/bench/jsquad/jsquad_ret)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${1:-../shared/bench/jsquad/jsquad_ret}"
IDX="${JSQUAD_INDEX_DIR:-index-jsquad}"
.venv/bin/minutes-rag index "$DATA/docs" --index-dir "$IDX"
.venv/bin/minutes-rag eval "$DATA/project_gold_1k.jsonl" --index-dir "$IDX" --mode all \
  --no-answers -k 10 --json
