"""Answerability on JSQuAD: each question of the 1k evaluation file asked twice through the
built-in answerer — over the whole index (it should answer: false refusals) and with its gold
article filtered out (the minutes "do not contain" it: it should refuse).

    .venv/bin/python scripts/jsquad_unanswerable.py [--index-dir index-jsquad] [--n 1000]

Build the index first (`bash scripts/jsquad.sh` does). Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.answer import answer  # noqa: E402
from rag.config import load_settings  # noqa: E402
from rag.index import load_index  # noqa: E402
from rag.types import Filters  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index-dir", type=Path, default=ROOT / "index-jsquad")
    ap.add_argument(
        "--gold",
        type=Path,
        default=ROOT.parent / "shared/bench/jsquad/jsquad_ret/project_gold_1k.jsonl",
    )
    ap.add_argument("--queries", type=Path, default=None, help="queries.jsonl (gold articles)")
    ap.add_argument("--n", type=int, default=1000)
    args = ap.parse_args()
    queries = args.queries or args.gold.with_name("queries.jsonl")
    article = {}
    for line in queries.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        article[row["qid"]] = Path(row["doc_file"]).stem
    settings = load_settings(index_dir=args.index_dir)
    index = load_index(settings)
    ids = sorted(index.meetings)
    rows = [json.loads(x) for x in args.gold.read_text(encoding="utf-8").splitlines()][: args.n]
    answered = refused = 0
    for i, row in enumerate(rows):
        gold_article = article[row["qid"]]
        full = answer(row["question"], index, settings=settings)
        others = [
            m
            for m in ids
            if index.meetings[m].file and Path(index.meetings[m].file).stem != gold_article
        ]
        without = answer(
            row["question"], index, filters=Filters(meetings=tuple(others)), settings=settings
        )
        answered += full.found
        refused += not without.found
        if i % 100 == 99:
            print(f"{i + 1}/{len(rows)}", file=sys.stderr, flush=True)
    n = len(rows)
    print(
        json.dumps(
            {
                "questions": n,
                "false_refusal_rate": round(1 - answered / n, 4),
                "refusal_accuracy_without_gold_article": round(refused / n, 4),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
