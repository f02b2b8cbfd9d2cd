"""Retrieval figures on the tuning (dev) and held-out halves of the public sets, fusion order and
re-ranked, with candidate recall@20 (is the gold among the candidates the judge re-ranks?).

    .venv/bin/python scripts/retrieval_report.py [--shared ../shared] [--sets jsquad,tokyo]
        [--jsquad-index index-jsquad] [--tokyo-index index-tokyo]

Sets (the same split as scripts/train_judge.py, so nothing held out is tuned on):
- JSQuAD dev: questions of ``queries.jsonl`` outside the 1k evaluation file (gold = the
  sentence holding the answer); JSQuAD held: ``project_gold_1k.jsonl``.
- tokyo2020 dev: questions of the training half of the sources (``tokyo_train_sources``);
  held: the other half.
Each index is built (incrementally) from the set's documents first. Questions are retrieved as
``minutes-rag eval`` retrieves them (roles named in the question filter).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from train_judge import _answer_sentence, _read_jsonl, tokyo_train_sources  # noqa: E402

from rag.config import load_settings  # noqa: E402
from rag.evaluate import _filters_for, load_gold  # noqa: E402
from rag.text import squash  # noqa: E402


def _first_hit(hits: list, gold: list[str]) -> int | None:
    g = [squash(x) for x in gold]
    for r, h in enumerate(hits, 1):
        if any(x in squash(h.chunk.text) for x in g):
            return r
    return None


def _metrics(ranks: list[int | None]) -> dict:
    n = len(ranks)

    def at(k: int) -> float:
        return round(sum(1 for r in ranks if r and r <= k) / n, 3)

    mrr = sum(1 / r for r in ranks if r and r <= 10) / n
    return {"n": n, "r@1": at(1), "r@5": at(5), "r@10": at(10), "mrr@10": round(mrr, 3)}


def evaluate(index, rows: list[dict]) -> dict:
    from rag.judge import judge, question_view
    from rag.retrieve import RERANK_DEPTH, _search, late_hits

    fusion, judged = [], []
    for row in rows:
        f = _filters_for(row, index)
        hits = _search(index, row["question"], RERANK_DEPTH, "hybrid", f, index.settings)
        fusion.append(_first_hit(hits, row["gold"]))
        view = question_view(index, row["question"], tuple(f.roles))
        judged.append(
            _first_hit(
                [j.hit for j in judge(view, late_hits(index, row["question"], hits))], row["gold"]
            )
        )
    out = {"fusion": _metrics(fusion), "judge": _metrics(judged)}
    out["candidate_recall@20"] = round(sum(1 for r in fusion if r) / len(rows), 3)
    return out


def _index(path: Path, docs: Path):
    from rag.index import build_index, load_index

    settings = load_settings().with_overrides(index_dir=path)
    build_index([docs], settings)
    return load_index(settings)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("--sets", default="jsquad,tokyo")
    ap.add_argument("--jsquad-index", type=Path, default=ROOT / "index-jsquad")
    ap.add_argument("--tokyo-index", type=Path, default=ROOT / "index-tokyo")
    args = ap.parse_args()
    report = {}
    if "jsquad" in args.sets:
        ret = args.shared / "bench" / "jsquad" / "jsquad_ret"
        index = _index(args.jsquad_index, ret / "docs")
        held = load_gold(ret / "project_gold_1k.jsonl")
        ids = {r["qid"] for r in held}
        dev = [
            {"qid": r["qid"], "question": r["question"], "gold": [_answer_sentence(r)]}
            for r in _read_jsonl(ret / "queries.jsonl")
            if r["qid"] not in ids and r["answers"]
        ]
        report["jsquad dev"] = evaluate(index, dev)
        report["jsquad 1k (held out)"] = evaluate(index, held)
    if "tokyo" in args.sets:
        bench = args.shared / "bench" / "tokyo2020"
        index = _index(args.tokyo_index, bench / "docs")
        train = tokyo_train_sources(args.shared)
        for name in ("ask_exchange_dev", "ask_answer_dev"):
            rows = load_gold(bench / f"{name}.jsonl")
            for split, keep in (("dev", True), ("held out", False)):
                part = [r for r in rows if (r["source"] in train) == keep]
                report[f"{name} {split}"] = evaluate(index, part)
    print(json.dumps(report, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
