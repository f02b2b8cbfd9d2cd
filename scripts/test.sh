#!/usr/bin/env bash
# Second command of the README: install everything the tests need, then lint, test, evaluate.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --test
echo "==> ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "==> pytest"
.venv/bin/python -m pytest "$@"
