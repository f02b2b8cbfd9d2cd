"""Issue #9, the smaller items: messages for bad input, upload names and clean-up, login
throttling, offline switches. Fast: no model, no server (those are in test_reliability.py)."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from rag.config import Settings
from rag.ingest import ingest_paths, read_document
from rag.ui import LoginThrottle, _Backend, _original_name, add_minutes

MINUTES = "令和６年度 第１回 懇談会 議事要旨\n\n・除雪の予算は九億円とすべきだ。\n"


def _error(path: Path) -> str:
    result = ingest_paths([path])
    assert len(result.errors) == 1, result
    return str(result.errors[0])


def test_one_nul_byte_says_where_and_what_to_do(tmp_path: Path) -> None:
    f = tmp_path / "nul.txt"
    f.write_bytes(MINUTES.encode() + b"\xe3\x80\x82\x00\n")
    msg = _error(f)
    assert "NUL" in msg and "line 4" in msg and "UTF-8" in msg and "nul.txt" in msg


def test_utf16_without_bom_is_named(tmp_path: Path) -> None:
    f = tmp_path / "u16.txt"
    f.write_bytes(MINUTES.encode("utf-16-le"))
    assert "UTF-16" in _error(f) and "without a BOM" in _error(f)
    junk = tmp_path / "junk.txt"
    junk.write_bytes(bytes(range(256)) * 8)
    assert "binary" in _error(junk)


def test_symlink_loop_and_dangling_link_are_told_apart(tmp_path: Path) -> None:
    loop = tmp_path / "loop.txt"
    loop.symlink_to(loop)
    dangling = tmp_path / "dangling.txt"
    dangling.symlink_to(tmp_path / "gone.txt")
    assert "Symbolic link loop" in _error(loop)
    assert "missing file" in _error(dangling) and "gone.txt" in _error(dangling)
    # Inside a folder too (a loop among the files must not hang or read "not found").
    errors = [str(e) for e in ingest_paths([tmp_path]).errors]
    assert any("loop" in e and "loop.txt" in e for e in errors)
    assert not any("not found" in e for e in errors)


def test_unreadable_subfolder_is_a_warning_naming_it(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "ok").mkdir()
    (tmp_path / "ok" / "a.txt").write_text(MINUTES, encoding="utf-8")
    locked = tmp_path / "locked"
    locked.mkdir()
    if os.geteuid() == 0:  # root reads any folder: make scandir fail like chmod 000 would
        real = os.scandir

        def scandir(path: object = ".") -> object:
            if Path(os.fsdecode(path)) == locked:
                raise PermissionError(13, "Permission denied", str(locked))
            return real(path)

        monkeypatch.setattr(os, "scandir", scandir)
    else:
        locked.chmod(0)
    try:
        result = ingest_paths([tmp_path])
    finally:
        locked.chmod(0o755)
    assert len(result.meetings) == 1
    assert any(str(locked) in w and "cannot be read" in w for w in result.warnings)


@pytest.mark.parametrize(
    ("uploaded", "stored"),
    [
        (".hidden.txt", "hidden.txt"),
        ("....evil2.txt", "evil2.txt"),
        ("..\\..\\evil2.txt", "evil2.txt"),
        ("~$draft.docx", "draft.docx"),
        ("議事録\x07 第1回.TXT", "議事録 第1回.txt"),
        (".txt.md", "txt.md"),
    ],
)
def test_upload_names_are_safe_and_never_hidden(uploaded: str, stored: str) -> None:
    assert _original_name(Path("/tmp/gradio/abc") / uploaded) == stored


def test_refused_and_processed_uploads_leave_the_upload_folder(tmp_path: Path) -> None:
    root = tmp_path / "gradio"
    bad = root / "h1" / "scan.bin.txt"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(bytes(range(256)) * 64)
    odd = root / "h2" / "notes.xyz"
    odd.parent.mkdir()
    odd.write_text("x", encoding="utf-8")
    outside = tmp_path / "keep.txt"
    outside.write_text(MINUTES, encoding="utf-8")
    settings = Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    report = add_minutes(_Backend(settings), [bad, odd, outside], upload_root=root)
    assert report["added"] == [] and len(report["rejected"]) == 3
    assert list(root.iterdir()) == []  # files and their per-upload folders are gone
    assert outside.is_file()  # a path outside the upload folder is never touched


def test_login_throttle_slows_and_then_locks_out() -> None:
    gate = LoginThrottle("admin", "s3cret", limit=5, lockout=60, base_delay=0.02, max_delay=0.1)

    async def attempts() -> tuple[list[bool], float]:
        started = time.monotonic()
        results = [await gate.check("admin", f"guess{i}") for i in range(5)]
        elapsed = time.monotonic() - started
        results.append(await gate.check("admin", "s3cret"))  # locked out: even the right one
        return results, elapsed

    results, elapsed = asyncio.run(attempts())
    assert results == [False] * 6
    assert elapsed >= 0.02 + 0.04 + 0.08 + 0.1 + 0.1 - 0.01  # each failure waited longer
    gate.locked_until = 0.0
    assert asyncio.run(gate.check("admin", "s3cret")) is True
    assert asyncio.run(gate.check("root", "s3cret")) is False


def test_offline_switches_are_set_before_gradio_is_imported() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from rag.config import load_settings; from rag.ui import build_app\n"
        "assert 'gradio' not in sys.modules\n"
        "demo = build_app(load_settings())\n"
        "import os, huggingface_hub.constants as c\n"
        "print(demo.analytics_enabled, c.HF_HUB_OFFLINE, os.environ['GRADIO_ANALYTICS_ENABLED'])"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "GRADIO_"))}
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert out.stdout.split() == ["False", "True", "False"]


def test_read_document_still_reads_a_regular_file(tmp_path: Path) -> None:
    f = tmp_path / "ok.txt"
    f.write_text(MINUTES, encoding="utf-8")
    assert read_document(f).lines


def test_gradio_awaits_the_login_check() -> None:
    """Gradio awaits ``auth`` only when it is a coroutine function; anything else returning a
    coroutine would count as a successful login."""
    import inspect

    from rag.ui import launch_options

    auth = launch_options(Settings(auth="admin:s3cret"))["auth"]
    assert inspect.iscoroutinefunction(auth)
    assert launch_options(Settings())["auth"] is None


def test_hidden_minutes_in_a_folder_are_named_not_silently_skipped(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(MINUTES, encoding="utf-8")
    (tmp_path / ".hidden.txt").write_text(MINUTES.replace("九億", "八億"), encoding="utf-8")
    (tmp_path / ".DS_Store").write_bytes(b"\x00\x01")
    result = ingest_paths([tmp_path])
    assert len(result.meetings) == 1
    assert [w for w in result.warnings if ".hidden.txt" in w and "rename" in w]
    assert not [w for w in result.warnings if ".DS_Store" in w]
    assert len(ingest_paths([tmp_path / ".hidden.txt"]).meetings) == 1  # named directly: read
