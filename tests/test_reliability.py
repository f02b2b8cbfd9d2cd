"""Reliability suite (issue #9): an index survives a kill at any phase of a build, readers
never fail while builds swap versions, and an old-layout index is recovered, not rebuilt.

Every build that is killed runs in its own process (``minutes-rag index``) and dies by
SIGKILL, either through the ``MINUTES_RAG_FAULT`` hook or through strace's fault injection
on ``rename``; bounded in count (one process per case) and time (a timeout each)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from rag.config import Settings

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]

OLD = """第３回 まちづくりデジタル会議 議事要旨

【議題１】除雪の情報発信について

・除雪車の位置情報をオープンデータとして公開すると、市民の問い合わせが減るだろう。
"""
NEW = """第１回 観光ＤＸ検討会議 議事要旨

【議題１】観光データの活用について

・宿泊者数のデータを市町村と共有できる仕組みが必要だ。
"""


def _run_index(docs: Path, s: Settings, fault: str = "", prefix: tuple[str, ...] = ()):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MINUTES_RAG_FAULT": fault}
    cmd = [*prefix, sys.executable, "-m", "rag.cli", "index", str(docs)]
    cmd += ["--index-dir", str(s.index_dir), "--prune"]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)


def _files(s: Settings) -> set[str]:
    from rag.index import load_index

    return {Path(m.file).name for m in load_index(s).meetings.values()}


def _leftovers(s: Settings) -> list[str]:
    """Sibling folders and links that are not the live version."""
    live = s.index_dir.resolve()
    return sorted(
        p.name
        for p in s.index_dir.parent.glob(f".{s.index_dir.name}.*")
        if not p.name.endswith(".lock") and p.resolve() != live
    )


@pytest.fixture
def built(settings: Settings, embedder, tmp_path: Path) -> tuple[Settings, Path]:
    """An index of a.txt (OLD); the folder then gains b.txt (NEW) for the next build."""
    from rag.index import build_index

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text(OLD, encoding="utf-8")
    s = settings.with_overrides(index_dir=tmp_path / "idx", corpus_dir=tmp_path / "empty")
    build_index([docs], s)
    (docs / "b.txt").write_text(NEW, encoding="utf-8")
    return s, docs


@pytest.mark.parametrize(
    ("phase", "expected"),
    [("write", {"a.txt"}), ("written", {"a.txt"}), ("switched", {"a.txt", "b.txt"})],
)
def test_kill_at_each_build_phase_keeps_a_whole_index(built, phase, expected) -> None:
    from rag.retrieve import search

    s, docs = built
    run = _run_index(docs, s, fault=phase)
    assert run.returncode == -signal.SIGKILL, run.stderr
    assert _files(s) == expected  # the old or the new index, whole
    from rag.index import load_index

    assert search(load_index(s), "除雪車", k=1)
    ok = _run_index(docs, s)
    assert ok.returncode == 0, ok.stderr
    assert _files(s) == {"a.txt", "b.txt"}
    assert _leftovers(s) == []


def test_kill_on_every_rename_of_a_build(built) -> None:
    """strace kills the build at its first rename (the commit step: the old index stays)."""
    if not shutil.which("strace"):
        pytest.skip("strace is not installed (scripts/install.sh --test installs it)")
    s, docs = built
    strace = ("strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=rename,renameat,renameat2")
    inject = ("-e", "inject=rename,renameat,renameat2:signal=SIGKILL:when=1")
    run = _run_index(docs, s, prefix=(*strace, *inject))
    assert run.returncode == -signal.SIGKILL, run.stderr
    assert _files(s) == {"a.txt"}
    assert _run_index(docs, s).returncode == 0
    assert _files(s) == {"a.txt", "b.txt"} and _leftovers(s) == []


def _make_legacy(s: Settings) -> None:
    """Turn the index into the layout of earlier versions: a real folder at index_dir."""
    live = s.index_dir.resolve()
    s.index_dir.unlink()
    shutil.copytree(live, s.index_dir)
    shutil.rmtree(live)


def test_old_layout_index_loads_and_migrates_even_if_killed_midway(built) -> None:
    s, docs = built
    _make_legacy(s)
    assert _files(s) == {"a.txt"}  # still loads as it is
    run = _run_index(docs, s, fault="migrate")  # killed between moving it aside and the link
    assert run.returncode == -signal.SIGKILL, run.stderr
    assert not s.index_dir.exists()
    assert _files(s) == {"a.txt", "b.txt"}  # recovered from the complete new version
    assert _run_index(docs, s).returncode == 0
    assert s.index_dir.is_symlink() and _leftovers(s) == []


def test_old_swap_interrupted_between_renames_is_restored_not_rebuilt(built) -> None:
    """Earlier versions moved the index to .idx.old-* before moving the new one in; a kill
    in between left no index folder and the next `search` rebuilt from the corpus."""
    s, _docs = built
    _make_legacy(s)
    os.replace(s.index_dir, s.index_dir.parent / f".{s.index_dir.name}.old-123-456")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "rag.cli", "search", "除雪車", "--json"]
    cmd += ["--index-dir", str(s.index_dir), "--corpus-dir", str(s.corpus_dir)]
    run = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "No index yet" not in run.stderr and "除雪車" in run.stdout
    assert _files(s) == {"a.txt"}


def test_readers_never_fail_while_builds_swap(built) -> None:
    """Threads load and search while another process-like builder swaps versions repeatedly."""
    from rag.index import build_index, load_index
    from rag.retrieve import search

    s, docs = built
    failures: list[str] = []
    loads = [0]
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            try:
                idx = load_index(s)
                assert search(idx, "除雪車", k=1, mode="bm25")
                loads[0] += 1
            except Exception as e:  # any failure counts
                failures.append(f"{type(e).__name__}: {e}")

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        for i in range(6):
            (docs / "b.txt").write_text(NEW + f"\n・第{i}案を検討する必要がある。\n", "utf-8")
            build_index([docs], s)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    assert failures == [] and loads[0] > 0
    assert _leftovers(s) == []
