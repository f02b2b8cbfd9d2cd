"""English questions: glossary vs JMdict vs both (BENCHMARKS.md, "English questions").

Runs `minutes-rag eval`'s measurements on the English rows of the minutes question files, once
per way of putting an English question's words into Japanese (rag.translate.SOURCES):

    .venv/bin/python scripts/english_terms.py                 # dev: train + gold + heldout
    .venv/bin/python scripts/english_terms.py --split train   # dev's parts: train, gold+heldout
    .venv/bin/python scripts/english_terms.py --split test    # second held-out look only
    .venv/bin/python scripts/english_terms.py --terms 1 2 3   # JMdict terms per word
    .venv/bin/python scripts/english_terms.py --latency-only  # answer p50 per variant

Each variant is measured with the shipped relevance judge re-ranking (as `ask` and `eval` run)
and in fusion order (`--no-rerank`); refusal figures come from the answers, which always use
the judge. Also prints the time the translation adds per question (cold: first English
question after start, dictionary file opened; warm: other questions). Uses the index in
--index-dir (built from --corpus if missing).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SPLITS = {
    "dev": ["minutes_train.jsonl", "minutes_gold.jsonl", "minutes_heldout.jsonl"],
    # dev's parts: train was written after the glossary, by a writer who read no code; gold
    # and heldout were in the repository when the glossary was written.
    "train": ["minutes_train.jsonl"],
    "gold+heldout": ["minutes_gold.jsonl", "minutes_heldout.jsonl"],
    "test": ["minutes_test.jsonl"],
}
# name -> (rag.translate sources, JMdict terms only when they occur in the index)
VARIANTS = {
    "glossary": (("glossary",), False),
    "jmdict": (("jmdict",), False),
    "jmdict+glossary": (("glossary", "jmdict"), False),
    "jmdict+glossary, in index": (("glossary", "jmdict"), True),
}


def english_rows(split: str) -> list[dict]:
    """The English rows of the split's files, each with its file's name as "part"."""
    rows = []
    for name in SPLITS[split]:
        for line in (ROOT / "eval" / name).read_text(encoding="utf-8").splitlines():
            if line.strip() and json.loads(line).get("lang") == "en":
                row = json.loads(line)
                row["part"] = name.removeprefix("minutes_").removesuffix(".jsonl")
                rows.append(row)
    return rows


def part_metrics(details: list[dict], parts: dict[str, str]) -> dict[str, dict]:
    """recall@1/5, MRR@10, refusal accuracy and false refusals per part, from per-question
    details (rank of the first gold hit; found or not)."""
    out: dict[str, dict] = {}
    for part in sorted(set(parts.values())):
        ds = [d for d in details if parts[d["qid"]] == part]
        ans = [d for d in ds if d["answerable"]]
        una = [d for d in ds if not d["answerable"]]
        ranks = [d.get("rank") or 99 for d in ans]
        m: dict = {
            "n": f"{len(ans)}+{len(una)}",
            "recall@1": round(sum(r <= 1 for r in ranks) / len(ans), 3) if ans else None,
            "recall@5": round(sum(r <= 5 for r in ranks) / len(ans), 3) if ans else None,
            "mrr@10": round(sum(1 / r for r in ranks if r <= 10) / len(ans), 3) if ans else None,
        }
        if any("found" in d for d in ds):
            m["refusal"] = round(sum(not d["found"] for d in una) / len(una), 3) if una else None
            m["false_refusal"] = round(sum(not d["found"] for d in ans) / len(ans), 3)
        out[part] = m
    return out


def known_in(index) -> object:
    """Predicate: the term occurs in some statement of the index (folded)."""
    from rag.question import folded

    hay = "\n".join(folded(c.text) for c in index.chunks)
    return lambda term: folded(term) in hay


def translation_ms(questions: list[str]) -> dict[str, float]:
    """Added time per question: translation alone, cold (dictionary opened anew, no cache)
    for the first question and warm (cache cleared, file open) for each question."""
    from rag import jmdict, translate

    jmdict.dictionary.cache_clear()
    translate._translations.cache_clear()
    t0 = time.perf_counter()
    translate.translations(questions[0])
    cold = (time.perf_counter() - t0) * 1000
    per_q = []
    for q in questions:
        translate._translations.cache_clear()
        d = jmdict.dictionary()
        if d is not None:
            d._cache.clear()
        t0 = time.perf_counter()
        translate.translations(q)
        per_q.append((time.perf_counter() - t0) * 1000)
    return {
        "first_question_ms": round(cold, 1),
        "p50_ms": round(statistics.median(per_q), 2),
        "max_ms": round(max(per_q), 1),
    }


def answer_ms(questions: list[str], index, settings, variants: list[str]) -> dict[str, float]:
    """Answer p50 per variant, the variants interleaved question by question so that the
    machine's load falls on all alike (warm process; the question's vector not remembered)."""
    from rag import translate
    from rag.answer import answer

    answer(questions[0], index, settings=settings)  # warm-up: model, judge, dictionary
    times: dict[str, list[float]] = {v: [] for v in variants}
    for q in questions:
        for v in variants:
            translate._translations.cache_clear()
            index.embedder().clear_query_cache()
            with mock.patch.object(translate, "SOURCES", VARIANTS[v][0]):
                t0 = time.perf_counter()
                answer(q, index, settings=settings)
                times[v].append((time.perf_counter() - t0) * 1000)
    return {v: round(statistics.median(t), 1) for v, t in times.items()}


def run(variant: str, terms: int, gold: Path, index, settings) -> dict:
    """evaluate() twice with the variant's translation: judge re-ranking with answers, and
    fusion order (retrieval only); per-question details kept."""
    from rag import question, translate
    from rag.evaluate import evaluate

    sources, in_index = VARIANTS[variant]
    known = known_in(index) if in_index else None

    def patched(q: str, sources_: tuple[str, ...] | None = None, known_=None):
        return (
            translate._translations(q, sources, known) if translate.detect_lang(q) == "en" else ()
        )

    translate._translations.cache_clear()
    with (
        mock.patch.object(translate, "JMDICT_TERMS", terms),
        mock.patch.object(translate, "translations", patched),
        mock.patch.object(question, "translations", patched),
    ):
        # Retrieval reads the index's settings (as `minutes-rag eval --no-rerank` sets them).
        judged = evaluate(gold, index, settings=settings, details=True)["hybrid"]
        index.settings = replace(settings, rerank=False)
        try:
            fusion = evaluate(gold, index, settings=index.settings, answers=False, details=True)[
                "hybrid"
            ]
        finally:
            index.settings = settings
    translate._translations.cache_clear()
    return {"judge": judged, "fusion": fusion}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--split", choices=sorted(SPLITS), default="dev")
    ap.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    ap.add_argument("--terms", nargs="+", type=int, default=[2], help="JMdict terms per word")
    ap.add_argument("--index-dir", type=Path, default=ROOT / "index")
    ap.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--latency", action="store_true", help="answer p50 per variant, interleaved")
    ap.add_argument("--latency-only", action="store_true", help="only the latency figures")
    args = ap.parse_args()

    from rag.config import load_settings
    from rag.index import build_index, index_exists, load_index

    settings = replace(load_settings(), index_dir=args.index_dir, corpus_dir=args.corpus)
    if not index_exists(settings):
        build_index([args.corpus], settings)
    index = load_index(settings)

    rows = english_rows(args.split)
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        f.write("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n")
        gold = Path(f.name)
    parts = {r["qid"]: r["part"] for r in rows}
    n_ans = sum(1 for r in rows if r.get("answerable", True))
    print(f"{args.split}: {len(rows)} English questions ({n_ans} answerable)", flush=True)

    results = []
    head = (
        "| variant | JMdict terms | rerank | recall@1 | recall@5 | MRR@10 | refusal acc. "
        "| false refusals | citation prec. | answer p50 ms |"
    )
    print(head + "\n|" + " --- |" * 10, flush=True)
    for variant in [] if args.latency_only else args.variants:
        for terms in args.terms if variant != "glossary" else [0]:
            r = run(variant, terms, gold, index, settings)
            for mode in ("judge", "fusion"):
                m = r[mode]
                row = {
                    "variant": variant,
                    "terms": terms or "-",
                    "rerank": "judge" if mode == "judge" else "no",
                    "recall@1": m["recall@1"],
                    "recall@5": m["recall@5"],
                    "mrr@10": m["mrr@10"],
                    "refusal": m.get("refusal_accuracy", ""),
                    "false_refusal": m.get("false_refusal_rate", ""),
                    "citation": m.get("citation_precision", ""),
                    "p50": m.get("answer_latency_ms_p50", ""),
                }
                row["parts"] = part_metrics(m["details"], parts)
                results.append(row)
                print("| " + " | ".join(str(row[k]) for k in list(row)[:10]) + " |", flush=True)

    if len(set(parts.values())) > 1:
        print("\nper part (n = answerable + unanswerable):\n")
        print(
            "| variant | JMdict terms | rerank | part | n | recall@1 | recall@5 | MRR@10 "
            "| refusal acc. | false refusals |"
        )
        print("|" + " --- |" * 10)
        for row in results:
            for part, pm in row["parts"].items():
                cells = [row["variant"], row["terms"], row["rerank"], part, pm["n"]]
                cells += [pm["recall@1"], pm["recall@5"], pm["mrr@10"]]
                cells += [pm.get("refusal", ""), pm.get("false_refusal", "")]
                print("| " + " | ".join(str(c) for c in cells) + " |")

    from rag import translate

    with mock.patch.object(translate, "SOURCES", VARIANTS["jmdict+glossary"][0]):
        latency = translation_ms([r["question"] for r in rows])
    print(f"translation time per English question (glossary + JMdict): {latency}")
    if args.latency or args.latency_only:
        latency["answer_p50_ms"] = answer_ms(
            [r["question"] for r in rows], index, settings, list(args.variants)
        )
        print(f"answer p50 per variant, interleaved: {latency['answer_p50_ms']}")
    if args.json:
        args.json.write_text(json.dumps({"rows": results, "latency": latency}, indent=1))
    gold.unlink()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
