"""How well the judge separates answerable from unanswerable questions, threshold aside: per
question the probability the answer decision reads (rag.answer.Judgement.answer_probability),
then ROC AUC.

    .venv/bin/python scripts/answerability_auc.py GOLD [GOLD...] --index-dir DIR

Prints JSON (one entry per file).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.answer import CANDIDATES, judge_candidates  # noqa: E402
from rag.config import load_settings  # noqa: E402
from rag.index import load_index  # noqa: E402
from rag.question import implied_roles  # noqa: E402
from rag.retrieve import search  # noqa: E402
from rag.types import Filters  # noqa: E402


def answer_probability(index, question: str, settings) -> float:
    """What the answer decision reads: the decision model's probability (or, with an older
    model file, the best candidate's answerability)."""
    filters = Filters(roles=tuple(implied_roles(question, index)))
    # The answer path's candidates: hybrid, fusion order (the judge is what re-ranks them).
    hits = search(index, question, k=CANDIDATES, filters=filters, settings=settings, rerank=False)
    p = judge_candidates(index, question, hits, filters).answer_probability
    return 0.0 if p is None else p


def main() -> int:
    from sklearn.metrics import roc_auc_score

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("gold", type=Path, nargs="+")
    ap.add_argument("--index-dir", type=Path, required=True)
    args = ap.parse_args()
    settings = load_settings().with_overrides(index_dir=args.index_dir)
    index = load_index(settings)
    out = {}
    for path in args.gold:
        rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
        y = [int(r.get("answerable", True)) for r in rows]
        s = [answer_probability(index, r["question"], settings) for r in rows]
        out[path.name] = {"questions": len(rows), "auc": round(float(roc_auc_score(y, s)), 3)}
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
