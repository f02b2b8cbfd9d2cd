#!/usr/bin/env bash
# Create .venv/ and install minutes-rag into it. Idempotent: a second run only checks.
#   scripts/install.sh          runtime dependencies
#   scripts/install.sh --test   plus test tools (pytest, ruff, playwright, reportlab) and Chromium
set -euo pipefail
cd "$(dirname "$0")/.."

WITH_TEST=0
[[ "${1:-}" == "--test" ]] && WITH_TEST=1

PY="${PYTHON:-python3}"
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "minutes-rag needs Python 3.11 or newer (found: $("$PY" --version 2>&1))." >&2
  exit 1
fi
[[ -x .venv/bin/python ]] || { echo "==> creating .venv/"; "$PY" -m venv .venv; }
PIP=(.venv/bin/python -m pip --disable-pip-version-check)

# A stamp keyed on the dependency list makes re-runs instant.
stamp=".venv/.minutes-rag-installed-$WITH_TEST-$(sha256sum pyproject.toml | cut -c1-16)"
if [[ -f "$stamp" ]] && .venv/bin/python -c 'import rag' 2>/dev/null; then
  echo "==> dependencies already installed (.venv/)"
else
  # torch first, pinned to the CPU build: letting a dependency resolve plain "torch" pulls
  # several GB of CUDA wheels. pip finds the CPU wheel through its configured find-links on
  # machines that have one; elsewhere it comes from PyTorch's CPU index (README).
  TORCH="torch==2.13.0+cpu"
  if ! .venv/bin/python -c 'import torch, sys; sys.exit(torch.__version__ != "2.13.0+cpu")' 2>/dev/null; then
    echo "==> installing $TORCH"
    "${PIP[@]}" install -q "$TORCH" 2>/dev/null \
      || "${PIP[@]}" install -q "$TORCH" --index-url "${TORCH_CPU_INDEX:-https://download.pytorch.org/whl/cpu}"
  fi
  echo "==> installing minutes-rag and its dependencies"
  "${PIP[@]}" install -q --upgrade pip >/dev/null 2>&1 || true
  if [[ $WITH_TEST == 1 ]]; then
    "${PIP[@]}" install -q -e '.[test]'
  else
    "${PIP[@]}" install -q -e .
  fi
  rm -f .venv/.minutes-rag-installed-"$WITH_TEST"-*
  touch "$stamp"
fi

if [[ $WITH_TEST == 1 && ( ! -x /usr/bin/chromium || ! -d /usr/share/fonts/opentype/ipafont-gothic || ! -x /usr/bin/strace ) ]]; then
  # Browser tests drive Debian's Chromium through Playwright (never `playwright install`);
  # the reliability suite watches the server's connections and kills builds with strace.
  echo "==> installing Chromium and strace for the browser and reliability tests"
  SUDO=""; [[ $(id -u) == 0 ]] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-ipafont-gothic strace >/dev/null
fi
