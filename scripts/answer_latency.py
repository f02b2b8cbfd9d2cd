"""Answer latency of the built-in answerer over a gold file's questions, as a user sees it
(the question's vector is not remembered from an earlier run).

    .venv/bin/python scripts/answer_latency.py GOLD --index-dir DIR [--n 30]

Prints the median and p95 in ms (one warm-up question first: the model loads once per process).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.answer import answer  # noqa: E402
from rag.config import load_settings  # noqa: E402
from rag.index import load_index  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("gold", type=Path)
    ap.add_argument("--index-dir", type=Path, required=True)
    ap.add_argument("--n", type=int, default=30)
    args = ap.parse_args()
    settings = load_settings(index_dir=args.index_dir)
    index = load_index(settings)
    rows = [json.loads(x) for x in args.gold.read_text(encoding="utf-8").splitlines() if x]
    answer(rows[0]["question"], index, settings=settings)  # warm-up: model and caches
    times = []
    for row in rows[: args.n]:
        index.embedder().clear_query_cache()
        t0 = time.perf_counter()
        answer(row["question"], index, settings=settings)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
    print(
        json.dumps(
            {"n": len(times), "p50_ms": round(statistics.median(times), 1), "p95_ms": round(p95, 1)}
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
