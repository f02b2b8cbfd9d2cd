"""``minutes-rag eval``: retrieval and answer quality over a gold question file.

Gold file: one JSON object per line,
``{"qid", "question", "gold": ["substring", ...], "answerable": true|false (default true),
"lang": "ja"|"en" (optional), "role": "委員" (optional filter), "speaker": "知事" (optional
filter)}``.
Answer metrics: refusal accuracy (unanswerable questions), false refusals, citation precision
(cited statements holding gold text) and citation recall (of a question with two or more gold
passages, the share its answer cites: "what did members say" means all of them).
A retrieved chunk is a hit when, after NFKC and removing all whitespace, it contains any gold
substring (normalised the same way).
"""

from __future__ import annotations

import json
import re
import statistics
import time
from pathlib import Path
from typing import Any

from rag.config import Settings
from rag.errors import InputError
from rag.text import detect_lang, squash
from rag.types import Filters, Meeting, canonical_role, expand_roles

_WS = re.compile(r"\s+")


def load_gold(path: Path) -> list[dict]:
    """Read and validate a gold file; a bad line names the file, the line and the field."""
    if not path.is_file():
        raise InputError(str(path), "評価用ファイルが見つかりません / gold file not found")
    rows: list[dict] = []
    for no, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"{path}:{no}", f"JSON として読めません（{exc.msg}） / not valid JSON ({exc.msg})"
            ) from None
        if not isinstance(row, dict) or not isinstance(row.get("question"), str):
            raise InputError(
                f"{path}:{no}", '"question" (文字列) が必要です / needs a "question" string'
            )
        gold = row.get("gold", [])
        if not isinstance(gold, list) or not all(isinstance(g, str) for g in gold):
            raise InputError(f"{path}:{no}", '"gold" は文字列のリストです / "gold" must be a list')
        answerable = bool(row.get("answerable", True))
        if answerable and not gold:
            raise InputError(
                f"{path}:{no}",
                '回答可能な質問には "gold" が必要です / answerable questions need "gold" text',
            )
        row.setdefault("qid", f"q{no}")
        row["answerable"] = answerable
        row.setdefault("lang", detect_lang(row["question"]))
        rows.append(row)
    if not rows:
        raise InputError(str(path), "質問が1件もありません / the gold file has no questions")
    return rows


def _is_hit(text: str, gold_squashed: list[str]) -> bool:
    t = squash(text)
    return any(g in t for g in gold_squashed)


def _filters_for(row: dict, index: Any = None) -> Filters:
    """The row's optional "role" (member = 議員 and 委員) and "speaker" (name or title part);
    without a role, the roles the question itself names (「知事の答弁は？」, "what did members
    say"), so retrieval is measured as `ask` retrieves."""
    from rag.question import implied_roles

    role = row.get("role")
    canon = canonical_role(role) if role else None
    roles = expand_roles([canon]) if canon else implied_roles(row["question"], index)
    speaker = row.get("speaker")
    speakers = tuple(speaker) if isinstance(speaker, list) else ((speaker,) if speaker else ())
    return Filters(roles=roles, speakers=speakers)


def _retrieval_metrics(rows: list[dict], ranks: list[int | None], latencies: list[float]) -> dict:
    """ranks: 1-based rank of the first gold hit within k, or None."""
    n = len(rows)

    def summarise(idx: list[int]) -> dict[str, Any]:
        m = len(idx)
        if m == 0:
            return {"n": 0}
        r = [ranks[i] for i in idx]
        return {
            "recall@1": round(sum(1 for x in r if x is not None and x <= 1) / m, 4),
            "recall@5": round(sum(1 for x in r if x is not None and x <= 5) / m, 4),
            "recall@10": round(sum(1 for x in r if x is not None and x <= 10) / m, 4),
            "mrr@10": round(sum(1 / x for x in r if x is not None and x <= 10) / m, 4),
            "n": m,
        }

    out = summarise(list(range(n)))
    by_lang: dict[str, dict] = {}
    for lang in sorted({row["lang"] for row in rows}):
        by_lang[lang] = summarise([i for i, row in enumerate(rows) if row["lang"] == lang])
    out["by_lang"] = by_lang
    out["latency_ms_p50"] = round(statistics.median(latencies) * 1000, 2) if latencies else None
    return out


def _source_lines(file: str, cache: dict[str, list[str]]) -> list[str]:
    if file not in cache:
        try:
            from rag.ingest import read_document

            cache[file] = list(read_document(Path(file)).lines)
        except Exception:  # the file moved since indexing: count its citations as unverified
            cache[file] = []
    return cache[file]


def _record_text(file: str, record: str, cache: dict[str, dict[str, str]]) -> str:
    """Structured imports (JSON/CSV) cite a record, not lines: the text of the statements that
    record holds, read again from the file."""
    if file not in cache:
        try:
            from rag.ingest import read_records

            texts: dict[str, str] = {}
            for m in read_records(Path(file)):
                for s in m.statements:
                    if s.record:
                        texts[s.record] = texts.get(s.record, "") + s.text
            cache[file] = texts
        except Exception:  # the file moved since indexing: count its citations as unverified
            cache[file] = {}
    return cache[file].get(record, "")


def _forget_queries(index: Any) -> None:
    """Latency is reported per question as a user would see it: without the vector of the same
    question remembered from another mode's run."""
    if hasattr(index, "embedder"):
        index.embedder().clear_query_cache()


def _cited(result: Any) -> list[dict]:
    return [
        {
            "n": c.n,
            "file": c.chunk.file,
            "lines": [c.chunk.start_line, c.chunk.end_line],
            "role": c.chunk.role,
            "speaker": c.chunk.speaker or c.chunk.role_label,
            "relevance": None if c.relevance is None else round(c.relevance, 4),
            "quote": c.quote[:80],
        }
        for c in result.citations
    ]


def _answer_metrics(
    rows: list[dict], index: Any, settings: Settings, details: dict[str, dict] | None = None
) -> dict:
    """Refusal and citation quality; with ``details``, fills qid -> what was answered."""
    from rag.answer import answer

    unans = [r for r in rows if not r["answerable"]]
    ans = [r for r in rows if r["answerable"]]
    refused_unans = 0
    refused_ans = 0
    cites_total = 0
    cites_ok = 0
    # Completeness: of a question with several gold passages, the share an answer cites.
    coverage: list[float] = []
    latencies: list[float] = []
    lines_cache: dict[str, list[str]] = {}
    records_cache: dict[str, dict[str, str]] = {}
    for row in rows:
        _forget_queries(index)
        t0 = time.perf_counter()
        result = answer(row["question"], index, filters=_filters_for(row, index), settings=settings)
        latencies.append(time.perf_counter() - t0)
        if details is not None:
            details.setdefault(row["qid"], {}).update(
                found=result.found, mode=result.mode, cited=_cited(result)
            )
        if not row["answerable"]:
            refused_unans += not result.found
            continue
        if not result.found:
            refused_ans += 1
            continue
        gold = [squash(g) for g in row["gold"]]
        if len(gold) >= 2:
            cited = [squash(c.chunk.text) for c in result.citations]
            coverage.append(sum(any(g in t for t in cited) for g in gold) / len(gold))
        for c in result.citations:
            cites_total += 1
            if c.chunk.record:
                span = _record_text(c.chunk.file, c.chunk.record, records_cache)
            else:
                lines = _source_lines(c.chunk.file, lines_cache)
                span = "".join(lines[c.chunk.start_line - 1 : c.chunk.end_line])
            verbatim = bool(c.quote) and _WS.sub("", c.quote) in _WS.sub("", span)
            # "contains or sits beside gold text": the quote's own statement holds the gold.
            relevant = _is_hit(c.quote, gold) or _is_hit(c.chunk.text, gold)
            cites_ok += verbatim and relevant
    return {
        "refusal_accuracy": round(refused_unans / len(unans), 4) if unans else None,
        "false_refusal_rate": round(refused_ans / len(ans), 4) if ans else None,
        "citation_precision": round(cites_ok / cites_total, 4) if cites_total else None,
        "citation_recall": round(statistics.mean(coverage), 4) if coverage else None,
        "n_unanswerable": len(unans),
        "answer_latency_ms_p50": round(statistics.median(latencies) * 1000, 2),
    }


def evaluate(
    gold_path: Path,
    index: Any,
    k: int = 10,
    modes: list[str] | None = None,
    settings: Settings | None = None,
    answers: bool = True,
    details: bool = False,
) -> dict[str, dict]:
    """Metrics per retrieval mode over answerable questions (plus answer metrics for the
    configured mode when ``answers``). Returns {mode: {...}}; with ``details`` the configured
    mode also lists, per question, the rank of its first gold hit, whether it was answered
    and what was cited, so that misses can be read."""
    from rag.config import load_settings
    from rag.retrieve import search

    settings = settings or load_settings()
    rows = load_gold(gold_path)
    answerable = [r for r in rows if r["answerable"]]
    modes = modes or [settings.mode]
    report: dict[str, dict] = {}
    per_q: dict[str, dict] = {
        r["qid"]: {"question": r["question"], "answerable": r["answerable"], "lang": r["lang"]}
        for r in rows
    }
    for mode in modes:
        ranks: list[int | None] = []
        latencies: list[float] = []
        for row in answerable:
            gold = [squash(g) for g in row["gold"]]
            _forget_queries(index)
            t0 = time.perf_counter()
            hits = search(
                index,
                row["question"],
                k=k,
                mode=mode,
                filters=_filters_for(row, index),
                settings=settings,
            )
            latencies.append(time.perf_counter() - t0)
            ranks.append(next((h.rank for h in hits if _is_hit(h.chunk.text, gold)), None))
            if mode == settings.mode:
                per_q[row["qid"]]["rank"] = ranks[-1]
        report[mode] = _retrieval_metrics(answerable, ranks, latencies)
    if answers:
        report[settings.mode].update(
            _answer_metrics(rows, index, settings, per_q if details else None)
        )
    if details:
        report[settings.mode]["details"] = [{"qid": q, **d} for q, d in per_q.items()]
    return report


def format_details(details: list[dict]) -> str:
    """One line per question: ✓/✗ answered as it should be, rank of the first gold hit, what
    was cited (file:lines role relevance)."""
    lines = []
    for d in details:
        ok = d.get("found") == d["answerable"] if "found" in d else None
        mark = "?" if ok is None else ("✓" if ok else "✗")
        rank = d.get("rank")
        rank_s = "-" if not d["answerable"] else (str(rank) if rank else "miss")
        cited = ", ".join(
            f"{Path(c['file']).name}:{c['lines'][0]} {c['role']}"
            + (f" {c['relevance']:.2f}" if c["relevance"] is not None else "")
            for c in d.get("cited", [])
        )
        lines.append(f"{mark} {d['qid']:<10} rank {rank_s:>4}  {d['question'][:48]}")
        if cited:
            lines.append(f"      cited: {cited}")
    return "\n".join(lines)


def format_report(report: dict[str, dict]) -> str:
    keys = ["recall@1", "recall@5", "recall@10", "mrr@10", "n", "latency_ms_p50"]
    lines = [f"{'mode':<8} " + " ".join(f"{k:>14}" for k in keys)]
    for mode, m in report.items():
        lines.append(f"{mode:<8} " + " ".join(f"{m.get(k)!s:>14}" for k in keys))
        for lang, lm in m.get("by_lang", {}).items():
            lines.append(f"  {lang:<6} " + " ".join(f"{lm.get(k, '')!s:>14}" for k in keys[:5]))
        if "refusal_accuracy" in m:
            lines.append(
                f"  refusal accuracy {m['refusal_accuracy']}  false refusals "
                f"{m['false_refusal_rate']}  citation precision {m['citation_precision']}"
                f"  citation recall {m['citation_recall']}"
                f"  answer p50 {m['answer_latency_ms_p50']} ms"
            )
    return "\n".join(lines)


def link_verdicts(rows: list[dict], meetings: dict[str, Meeting]) -> list[bool]:
    """Hand-checked answer→question links (``eval/tokyo2020_links.jsonl``) against the parser's.

    Each row names the answer segment by its first line (``answer_line``) and the question it
    really answers by the line of its ask (``asked_line``); a link is right when the answer's
    ``answers_to`` is the member's segment that holds that line. Lines, not statement orders,
    so the verdicts hold when speeches are cut differently."""
    out: list[bool] = []
    for row in rows:
        statements = meetings[row["meeting"]].statements
        by_order = {s.order: s for s in statements}
        answer = next(
            (s for s in statements if s.start_line == row["answer_line"] and s.kind != "meta"),
            None,
        )
        question = (
            by_order.get(answer.answers_to) if answer and answer.answers_to is not None else None
        )
        out.append(
            question is not None and question.start_line <= row["asked_line"] <= question.end_line
        )
    return out
