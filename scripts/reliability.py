"""Run the reliability suite (tests/test_reliability.py) and print its figures for BENCHMARKS.md.

    .venv/bin/python scripts/reliability.py        # about 3 minutes on 2 cores

Each case appends its figures (cases tried, failures, p50/p95 latency under load) to a JSON
lines file; this script prints them as a Markdown table. Loopback only, bounded in count."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "figures.jsonl"
        env = {**os.environ, "MINUTES_RAG_RELIABILITY_OUT": str(out), "PYTHONPATH": str(ROOT)}
        started = time.monotonic()
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "tests/test_reliability.py"],
            cwd=ROOT,
            env=env,
        )
        elapsed = time.monotonic() - started
        rows = (
            [json.loads(line) for line in out.read_text("utf-8").splitlines()]
            if out.exists()
            else []
        )
    print(f"\nsuite: {elapsed:.0f} s, pytest exit {run.returncode}\n")
    print("| case | tried | failures | p50 | p95 | other |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for r in rows:
        p50 = f"{r.pop('p50_s')} s" if "p50_s" in r else "-"
        p95 = f"{r.pop('p95_s')} s" if "p95_s" in r else "-"
        case, tried, failures = r.pop("case"), r.pop("cases"), r.pop("failures")
        other = ", ".join(f"{k} {v}" for k, v in r.items()) or "-"
        print(f"| {case} | {tried} | {failures} | {p50} | {p95} | {other} |")
    return run.returncode


if __name__ == "__main__":
    sys.exit(main())
