#!/usr/bin/env bash
# First command of the README: install, build the index over corpus/, open the chat UI.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
.venv/bin/minutes-rag index corpus/
exec .venv/bin/minutes-rag serve "$@"
