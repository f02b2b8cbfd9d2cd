"""Command line: ``minutes-rag ingest | index | search | ask | eval | serve``.

Only the standard library is imported at module level so ``--help`` is instant; every
subcommand imports its pipeline stage when it runs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rag.errors import MinutesRagError

EXAMPLES = """\
examples / 使い方の例:
  minutes-rag ingest corpus/ --json
  minutes-rag index corpus/
  minutes-rag search "FIWAREについて委員の意見は？" -k 5 --role 委員
  minutes-rag ask "What did members say about FIWARE?"
  minutes-rag eval eval/minutes_gold.jsonl --mode all
  minutes-rag serve --port 7860
"""


# ---------------------------------------------------------------- output helpers


def _print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def _err(message: str) -> None:
    print(message, file=sys.stderr)


class ProgressBar:
    """A one-line progress bar on stderr (only when stderr is a terminal: logs stay clean)."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last_message = ""
        self.started = time.monotonic()

    def __call__(self, done: int, total: int, message: str = "") -> None:
        if self.tty:
            width = 30
            filled = int(width * done / total) if total else width
            bar = "█" * filled + "·" * (width - filled)
            sys.stderr.write(f"\r{bar} {done}/{total} {message[:50]:<50}")
            if total and done >= total:
                sys.stderr.write("\n")
            sys.stderr.flush()
        elif message and message != self.last_message:
            # Non-interactive (CI, pipes): one line per new phase, not per item.
            print(f"[{time.monotonic() - self.started:6.1f}s] {message}", file=sys.stderr)
            self.last_message = message


def _short(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


# ---------------------------------------------------------------- settings and filters


def _settings(args: argparse.Namespace):
    from rag.config import load_settings

    return load_settings(
        index_dir=getattr(args, "index_dir", None),
        corpus_dir=getattr(args, "corpus_dir", None),
        model=getattr(args, "model", None),
        mode=getattr(args, "mode", None) if getattr(args, "mode", None) != "all" else None,
        k=getattr(args, "k", None),
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        llm_provider=getattr(args, "llm_provider", None),
        llm_model=getattr(args, "llm_model", None),
        llm_base_url=getattr(args, "llm_base_url", None),
        rerank=False if getattr(args, "no_rerank", False) else None,
    )


def _filters(args: argparse.Namespace):
    from rag.errors import ConfigError
    from rag.types import make_filters

    if not args.question.strip():
        raise ConfigError("質問が空です。質問文を指定してください。 / The question is empty.")
    return make_filters(args.meeting, args.role, args.since, args.until, args.agenda, args.speaker)


def _ensure_index(settings):
    """Load the index; build it from the corpus folder first when none exists."""
    from rag.index import build_index, index_exists, load_index

    if not index_exists(settings):
        _err(
            f"索引がないため {settings.corpus_dir} から作成します… / "
            f"No index yet: building it from {settings.corpus_dir}…"
        )
        report = build_index([settings.corpus_dir], settings, progress=ProgressBar())
        for e in report.errors:
            _err(f"  ✗ {e}")
    return load_index(settings)


def _loc(c: Any) -> str:
    """A chunk's file:lines, or its file and record for structured imports (JSON/CSV)."""
    return f"{c.file} {c.record}" if c.record else f"{c.file}:{c.start_line}-{c.end_line}"


# ---------------------------------------------------------------- subcommands


def cmd_ingest(args: argparse.Namespace) -> int:
    from rag.ingest import ingest_paths
    from rag.types import meeting_to_dict

    settings = _settings(args)
    result = ingest_paths([Path(p) for p in args.paths], settings)
    if args.json:
        _print_json([meeting_to_dict(m) for m in result.meetings])
    else:
        for m in result.meetings:
            roles: dict[str, int] = {}
            for s in m.statements:
                roles[s.role] = roles.get(s.role, 0) + 1
            counts = ", ".join(f"{r} {n}" for r, n in roles.items())
            print(f"■ {m.title}  [{m.file}]")
            print(
                f"  回/No.: {m.meeting_number or '-'}   日付/date: {m.date or '記載なし / none'}"
                f"   会場/venue: {m.venue or '-'}"
            )
            if m.issue_number or m.session:
                print(f"  号/issue: {m.issue_number or '-'}   会期/session: {m.session or '-'}")
            print(f"  形式/format: {m.format_reason or m.doc_kind}")
            if m.attendance:
                tally: dict[str, int] = {}
                for a in m.attendance:
                    tally[a.status] = tally.get(a.status, 0) + 1
                print("  出欠/attendance: " + ", ".join(f"{k} {n}" for k, n in tally.items()))
            for a in m.agenda[:20]:
                print(f"  議題: {a}")
            if len(m.agenda) > 20:
                print(f"  議題: … 他 {len(m.agenda) - 20} 件 / {len(m.agenda) - 20} more")
            print(f"  発言 {len(m.statements)} 件 / statements: {counts}")
            for s in m.statements:
                where = s.record or f"L{s.start_line}-{s.end_line}"
                who = " ".join(x for x in (s.role_label or s.role, s.speaker) if x)
                link = f" →#{s.answers_to}" if s.answers_to is not None else ""
                print(f"    {s.order:>3} {where:<10} {who:<10}{link} {_short(s.text, 60)}")
            for w in m.warnings:
                print(f"  ⚠ {w}")
            print()
    for w in result.warnings:
        _err(f"⚠ {w}")
    for e in result.errors:
        _err(f"✗ {e}")
    if result.errors:
        _err(
            f"{len(result.errors)} 件のファイルを読み込めませんでした（他のファイルは処理済み）。"
            f" / {len(result.errors)} file(s) failed; the others were ingested."
        )
        return 1
    return 0


def cmd_index(args: argparse.Namespace) -> int:
    from rag.index import build_index

    settings = _settings(args)
    paths = [Path(p) for p in args.paths] or [settings.corpus_dir]
    started = time.monotonic()
    report = build_index(
        paths, settings, progress=ProgressBar(), rebuild=args.rebuild, prune=args.prune
    )
    elapsed = time.monotonic() - started
    summary = {
        "index_dir": str(settings.index_dir),
        "files_added": report.files_added,
        "files_changed": report.files_changed,
        "files_removed": report.files_removed,
        "files_unchanged": report.files_unchanged,
        "chunks_total": report.chunks_total,
        "texts_embedded": report.texts_embedded,
        "errors": [str(e) for e in report.errors],
        "seconds": round(elapsed, 2),
    }
    if args.json:
        _print_json(summary)
    else:
        print(
            f"索引 / index: {settings.index_dir}  チャンク {report.chunks_total} 件"
            f"（新規埋め込み {report.texts_embedded} 件, {elapsed:.1f}s）"
        )
        print(
            f"  added {report.files_added}, changed {report.files_changed}, "
            f"removed {report.files_removed}, unchanged {report.files_unchanged}"
        )
    for e in report.errors:
        _err(f"✗ {e}")
    return 1 if report.errors else 0


def cmd_search(args: argparse.Namespace) -> int:
    from rag.retrieve import search
    from rag.types import hit_to_dict

    settings = _settings(args)
    filters = _filters(args)
    index = _ensure_index(settings)
    hits = search(index, args.question, k=settings.k, mode=settings.mode, filters=filters)
    if args.json:
        _print_json([hit_to_dict(h) for h in hits])
        return 0
    if not hits:
        print("該当する発言はありません / no matching statements")
    for h in hits:
        c = h.chunk
        print(
            f"{h.rank}. [{h.score:.4f}] {c.title}（{c.date or '日付なし'}） {c.role_label or c.role}"
        )
        print(f"   議題: {c.agenda or '-'}   {_loc(c)}")
        print(f"   {_short(c.text, 160)}")
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    from rag.answer import answer
    from rag.types import answer_to_dict

    settings = _settings(args)
    filters = _filters(args)
    index = _ensure_index(settings)
    result = answer(args.question, index, filters=filters, settings=settings)
    if args.json:
        _print_json(answer_to_dict(result))
        return 0
    print(result.text)
    if result.note:
        print(f"\n※ {result.note}")
    if result.citations:
        print("\n出典 / Sources:")
        for c in result.citations:
            ch = c.chunk
            print(
                f"  [{c.n}] {ch.title}（{ch.date or '日付なし'}） {ch.agenda or ''}"
                f" {ch.role_label or ch.role}  {_loc(ch)}"
            )
            print(f"      「{_short(c.quote, 150)}」")
    if result.related:
        print("\n関連する箇所（回答ではありません） / Related passages (not an answer):")
        for h in result.related:
            ch = h.chunk
            print(f"  - {ch.title} {_loc(ch)} {_short(ch.text, 100)}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from rag.evaluate import evaluate, format_details, format_report

    settings = _settings(args)
    index = _ensure_index(settings)
    modes = ["hybrid", "dense", "bm25"] if args.mode == "all" else [settings.mode]
    report = evaluate(
        Path(args.gold),
        index,
        k=args.k,
        modes=modes,
        settings=settings,
        answers=not args.no_answers,
        details=args.details,
    )
    if args.json:
        _print_json(report if args.mode == "all" else report[modes[0]])
    else:
        details = report[settings.mode].pop("details", None)
        if details is not None:
            print(format_details(details))
        print(format_report(report))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from rag.ui import serve

    serve(_settings(args))
    return 0


# ---------------------------------------------------------------- parser


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--index-dir", type=Path, help="index folder (MINUTES_RAG_INDEX_DIR, default index/)"
    )
    p.add_argument("--corpus-dir", type=Path, help="minutes folder (MINUTES_RAG_CORPUS_DIR)")
    p.add_argument("--model", help="sentence-transformers model id or path (MINUTES_RAG_MODEL)")
    p.add_argument(
        "--no-rerank",
        action="store_true",
        help="hybrid results in fusion order, without the relevance judge (MINUTES_RAG_RERANK)",
    )


def _add_filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--meeting", action="append", help="meeting id / file / title part (repeatable)")
    p.add_argument(
        "--role",
        action="append",
        help="議員|委員|首長|説明員|議長|事務局|会議情報, or member (議員 and 委員), assembly member,"
        " head (governor / mayor), official, chair, secretariat, meeting (repeatable)",
    )
    p.add_argument(
        "--speaker",
        action="append",
        help="part of the speaker's name or title, e.g. 小池, 増子, 知事 (repeatable)",
    )
    p.add_argument("--since", help="from date YYYY-MM-DD (inclusive)")
    p.add_argument("--until", help="to date YYYY-MM-DD (inclusive)")
    p.add_argument("--agenda", help="agenda item contains this text")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="minutes-rag",
        description="議事録に根拠を持つ、出典付きの質問応答 / Cited Q&A over Japanese meeting minutes.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("ingest", help="parse minutes files into meetings and statements")
    p.add_argument("paths", nargs="+", help="files or folders (read recursively)")
    p.add_argument("--json", action="store_true", help="print a JSON list of meetings")
    _add_common(p)
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser(
        "index",
        help="build or update the search index (incremental)",
        description="Add or update the files under PATHS in the index. Files indexed from"
        " other paths stay; files deleted from PATHS leave the index. --prune drops every"
        " file not under PATHS.",
    )
    p.add_argument("paths", nargs="*", help="files or folders (default: the corpus folder)")
    p.add_argument("--rebuild", action="store_true", help="re-embed everything")
    p.add_argument(
        "--prune", action="store_true", help="drop indexed files that are not under PATHS"
    )
    p.add_argument("--json", action="store_true")
    _add_common(p)
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("search", help="hybrid search; prints scored statements with sources")
    p.add_argument("question")
    p.add_argument("-k", type=int, help="number of hits (default 5)")
    p.add_argument("--mode", choices=["hybrid", "dense", "bm25"])
    p.add_argument("--json", action="store_true")
    _add_filters(p)
    _add_common(p)
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("ask", help="answer a question with citations")
    p.add_argument("question")
    p.add_argument("-k", type=int, help="passages to consider")
    p.add_argument("--mode", choices=["hybrid", "dense", "bm25"])
    p.add_argument("--llm-provider", choices=["openai", "ollama"], help="use a chat model")
    p.add_argument("--llm-model", help="chat model name")
    p.add_argument("--llm-base-url", help="OpenAI-compatible or Ollama base URL")
    p.add_argument("--json", action="store_true")
    _add_filters(p)
    _add_common(p)
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("eval", help="measure retrieval and answers on a gold question file")
    p.add_argument("gold", help="JSONL gold file")
    p.add_argument("-k", type=int, default=10)
    p.add_argument("--mode", choices=["hybrid", "dense", "bm25", "all"])
    p.add_argument("--no-answers", action="store_true", help="retrieval metrics only (faster)")
    p.add_argument(
        "--details",
        action="store_true",
        help="per question: rank of the first gold hit, answered or refused, what was cited",
    )
    p.add_argument("--json", action="store_true")
    _add_common(p)
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("serve", help="start the web UI (Gradio)")
    p.add_argument("--host", help="default 127.0.0.1")
    p.add_argument("--port", type=int, help="default 7860")
    _add_common(p)
    p.set_defaults(func=cmd_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except MinutesRagError as exc:
        _err(f"エラー / error: {exc}")
        return 1
    except KeyboardInterrupt:
        _err("中断しました / interrupted")
        return 130
    except Exception as exc:  # a bug, not bad input: still a sentence, traceback on request
        if os.environ.get("MINUTES_RAG_DEBUG"):
            raise
        _err(
            f"予期しないエラーが発生しました（{type(exc).__name__}: {exc}）。"
            "MINUTES_RAG_DEBUG=1 を付けて再実行すると詳細が表示されます。"
            f" / Unexpected error ({type(exc).__name__}: {exc});"
            " rerun with MINUTES_RAG_DEBUG=1 for the traceback."
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
