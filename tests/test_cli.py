"""The console script as a user runs it: instant --help, JSON output, errors as sentences."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpus"


def run_cli(*args: str, cwd: Path = REPO, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rag.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=600,
    )


def test_help_imports_no_heavy_library() -> None:
    # `--help` must be instant: none of the heavy stacks may load at import time.
    code = (
        "import sys, rag.cli\n"
        "try:\n    rag.cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('torch', 'sentence_transformers', 'faiss', 'gradio', 'bm25s',"
        " 'sudachipy', 'langchain_core', 'transformers', 'numpy') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert "HEAVY []" in out.stdout, out.stdout + out.stderr
    for sub in ("ingest", "index", "search", "ask", "eval", "serve"):
        assert sub in out.stdout


def test_ingest_json_on_the_real_minutes() -> None:
    proc = run_cli("ingest", str(CORPUS), "--json")
    assert proc.returncode == 0, proc.stderr
    meetings = {Path(m["file"]).name: m for m in json.loads(proc.stdout)}
    hok = meetings["hokkaido-society5-promotion-2022-2.txt"]
    assert hok["date"] == "2023-02-08"
    assert hok["venue"].startswith("ホテルポールスター札幌")
    assert hok["meeting_number"] == 2
    for s in hok["statements"]:
        assert {"text", "speaker", "role", "agenda", "topic", "start_line", "end_line"} <= s.keys()
    assert meetings["sapporo-ict-strategy-experts-2.txt"]["date"] is None


def test_ingest_table_and_partial_failure(tmp_path: Path) -> None:
    good = tmp_path / "good.txt"
    good.write_text((CORPUS / "sapporo-ict-strategy-experts-2.txt").read_text("utf-8"), "utf-8")
    (tmp_path / "junk.txt").write_bytes(bytes(range(256)) * 20)
    proc = run_cli("ingest", str(tmp_path))
    assert proc.returncode == 1  # exit status says some files failed ...
    assert "junk.txt" in proc.stderr  # ... naming the bad file ...
    assert "Traceback" not in proc.stderr
    assert "札幌市" in proc.stdout  # ... and the good file still went through


def test_bad_filter_is_a_sentence_not_a_traceback(tmp_path: Path) -> None:
    proc = run_cli("search", "FIWARE", "--since", "2023-13-45", "--index-dir", str(tmp_path / "i"))
    assert proc.returncode == 1
    assert "YYYY-MM-DD" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_gold_file_is_reported(tmp_path: Path) -> None:
    from rag.errors import InputError
    from rag.evaluate import load_gold

    with pytest.raises(InputError, match="not found"):
        load_gold(tmp_path / "nope.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "q", "gold": []}\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.jsonl:1"):
        load_gold(bad)


def test_nothing_to_index_is_a_sentence_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    index_dir = tmp_path / "idx"
    proc = run_cli("index", str(tmp_path / "empty"), str(tmp_path / "missing.txt"),
                   "--index-dir", str(index_dir))  # fmt: skip
    assert proc.returncode == 1
    assert "No minutes to index" in proc.stderr
    assert "missing.txt" in proc.stderr  # the reason names the file
    assert "Traceback" not in proc.stderr
    assert not index_dir.exists()


def test_empty_question_is_refused(tmp_path: Path) -> None:
    proc = run_cli("ask", "   ", "--index-dir", str(tmp_path / "idx"))
    assert proc.returncode == 1
    assert "The question is empty" in proc.stderr


@pytest.mark.slow
def test_search_builds_the_index_first_when_none_exists(tmp_path: Path, settings) -> None:
    index_dir = tmp_path / "idx"
    proc = run_cli(
        "search", "テレワーク実施率", "-k", "3", "--role", "委員", "--json",
        "--corpus-dir", str(CORPUS), "--index-dir", str(index_dir),
        env={"MINUTES_RAG_MODEL_CACHE": str(settings.model_cache)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "No index yet" in proc.stderr  # the user is told why the first search takes longer
    hits = json.loads(proc.stdout)
    assert len(hits) == 3
    assert all(h["role"] == "委員" for h in hits)
    assert "テレワーク実施率" in hits[0]["text"]
    for key in ("rank", "score", "file", "title", "date", "agenda", "speaker", "start_line"):
        assert key in hits[0]
    assert (index_dir / "manifest.json").is_file()


def test_ingest_json_exposes_exchanges_and_attendance() -> None:
    fixture = REPO / "tests" / "data" / "verbatim_tokyo.txt"
    proc = run_cli("ingest", str(fixture), "--json")
    assert proc.returncode == 0, proc.stderr
    (m,) = json.loads(proc.stdout)
    assert m["date"] == "2020-02-26" and m["issue_number"] == 2 and m["session"] == "定例会"
    assert m["format_reason"].startswith("verbatim:")
    assert {"name": "三宅しげき", "status": "欠席", "seat": 101}.items() <= m["attendance"][
        3
    ].items()
    by_order = {s["order"]: s for s in m["statements"]}
    replies = [s for s in m["statements"] if s["answers_to"] is not None]
    assert replies and all(by_order[s["answers_to"]]["role"] == "議員" for s in replies)


def test_speaker_and_role_flags_are_parsed_into_filters() -> None:
    from rag.cli import _filters, build_parser

    args = build_parser().parse_args(
        ["search", "検査", "--speaker", "小池", "--speaker", "増子", "--role", "member"]
    )
    f = _filters(args)
    assert f.speakers == ("小池", "増子") and f.roles == ("委員", "議員")
