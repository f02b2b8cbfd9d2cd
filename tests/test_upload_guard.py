"""Files enter the server only through real uploads: any other path handed to the upload
handler or the /add_minutes API is refused and never read (issue: server files via the API)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.config import Settings
from rag.ui import _Backend, add_minutes, is_uploaded_file

ROOT = Path(__file__).resolve().parents[1]
MINUTES = "令和６年度 第１回 懇談会 議事要旨\n\n・秘密の予算は九億円とすべきだ。\n"


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path, Settings]:
    uploads = tmp_path / "gradio"
    uploads.mkdir()
    outside = tmp_path / "server-files"
    outside.mkdir()
    settings = Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    return uploads, outside, settings


def test_only_regular_files_inside_the_upload_folder_count(folders) -> None:
    uploads, outside, _ = folders
    inside = uploads / "abc123" / "minutes.txt"
    inside.parent.mkdir()
    inside.write_text(MINUTES, encoding="utf-8")
    secret = outside / "secret.md"
    secret.write_text(MINUTES, encoding="utf-8")
    planted = uploads / "abc123" / "link.md"
    planted.symlink_to(secret)
    loop = uploads / "loop.txt"
    loop.symlink_to(loop)

    assert is_uploaded_file(inside, uploads)
    assert not is_uploaded_file(secret, uploads)
    assert not is_uploaded_file(planted, uploads)  # a symlink out of the folder
    assert not is_uploaded_file(
        uploads / "abc123" / ".." / ".." / "server-files" / "secret.md", uploads
    )
    assert not is_uploaded_file(loop, uploads)
    assert not is_uploaded_file(uploads, uploads)
    assert not is_uploaded_file(ROOT / "README.md", uploads)


def test_add_minutes_refuses_server_paths_and_reads_nothing(folders) -> None:
    uploads, outside, settings = folders
    secret = outside / "secret.md"
    secret.write_text(MINUTES, encoding="utf-8")
    report = add_minutes(_Backend(settings), [secret, ROOT / "README.md"], upload_root=uploads)
    assert report["added"] == []
    assert [r["file"] for r in report["rejected"]] == ["secret.md", "README.md"]
    assert all("uploaded" in r["reason"] for r in report["rejected"])
    assert not settings.corpus_dir.exists()  # nothing was copied into the corpus
    assert not settings.index_dir.exists()  # and no index was built from it


@pytest.mark.slow
def test_raw_api_call_with_a_server_path_is_refused(tmp_path: Path, settings) -> None:
    """Over HTTP without gradio_client (which would upload the client's own copy of a file):
    the request names a file on the server, which must not reach the corpus or the index."""
    import httpx

    from rag.ui import start
    from tests.test_ui_api import _free_port

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "seed.txt").write_text(
        (ROOT / "corpus" / "sapporo-ict-strategy-experts-2.txt").read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    secret = tmp_path / "secret.md"
    secret.write_text(MINUTES, encoding="utf-8")
    s = settings.with_overrides(corpus_dir=corpus, index_dir=tmp_path / "index", port=_free_port())
    demo, url = start(s)
    try:
        for target in (secret, ROOT / "README.md"):
            payload = {"data": [[{"path": str(target), "meta": {"_type": "gradio.FileData"}}]]}
            r = httpx.post(f"{url}gradio_api/call/add_minutes", json=payload, timeout=30)
            event = r.json()["event_id"]
            stream = httpx.get(f"{url}gradio_api/call/add_minutes/{event}", timeout=120).text
            assert "event: complete" not in stream or '"added": []' in stream, stream
            assert not (corpus / "uploads" / target.name).exists()
        from gradio_client import Client

        hits = Client(url, verbose=False).predict("九億円", k=5, api_name="/search")
        assert hits and not any("九億円" in h["text"] for h in hits)
    finally:
        demo.close()
