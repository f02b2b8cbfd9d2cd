"""The on-disk index: manifest, incremental builds, deletions, crash safety, model checks."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import rag
from rag.config import Settings
from rag.errors import IndexError_
from rag.types import Filters

pytestmark = pytest.mark.slow

MINUTES_A = """第３回 まちづくりデジタル会議 議事要旨

【議題１】除雪の情報発信について

・除雪車の位置情報をオープンデータとして公開すると、市民の問い合わせが減るだろう。

・ＧＰＳの精度については、２０２４年度に検証する必要がある。
"""

MINUTES_B = """第１回 観光ＤＸ検討会議 議事要旨

【議題１】観光データの活用について

・宿泊者数のデータを市町村と共有できる仕組みが必要だ。

・外国人観光客向けの多言語案内をＡＩで作ることも検討してほしい。
"""

EXTRA_B = """
・冬季イベントの混雑状況をリアルタイムで配信すべきだ。
"""


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def small(settings: Settings, embedder, tmp_path: Path) -> tuple[Settings, Path]:
    docs = tmp_path / "docs"
    docs.mkdir()
    _write(docs, "a.txt", MINUTES_A)
    _write(docs, "b.txt", MINUTES_B)
    return settings.with_overrides(index_dir=tmp_path / "idx"), docs


def _index_texts(s: Settings) -> set[str]:
    from rag.index import load_index

    return {c.index_text for c in load_index(s).chunks}


def test_manifest_records_model_chunking_files_and_meetings(small, embedder) -> None:
    from rag.index import build_index, index_exists, load_index
    from rag.keyword import BM25_TOKENIZER

    s, docs = small
    assert not index_exists(s)
    report = build_index([docs], s)
    assert (report.files_added, report.files_changed, report.files_removed) == (2, 0, 0)
    assert report.errors == ()
    idx = load_index(s)
    m = json.loads((s.index_dir / "manifest.json").read_text("utf-8"))
    assert m == idx.manifest
    assert m["package_version"] == rag.__version__
    assert m["model"] == s.model and m["model_fingerprint"] == embedder.fingerprint
    assert m["dimension"] == embedder.dim == idx.vectors.shape[1]
    assert m["normalized"] is True
    assert m["chunking"] == {
        "max_chars": s.chunk_max_chars,
        "overlap_sentences": s.chunk_overlap_sentences,
    }
    assert m["bm25_tokenizer"] == BM25_TOKENIZER
    assert m["created"]
    assert len(m["files"]) == 2
    for file, info in m["files"].items():
        assert info["sha256"] == hashlib.sha256(Path(file).read_bytes()).hexdigest()
        assert info["n_chunks"] == sum(c.meeting_id == info["meeting_id"] for c in idx.chunks)
        assert info["meeting_id"] in idx.meetings
    assert report.chunks_total == len(idx.chunks) == idx.faiss_index.ntotal == report.texts_embedded
    # Meetings round-trip with their statements; chunks point at stored meetings.
    titles = {mt.title for mt in idx.meetings.values()}
    assert any("まちづくりデジタル会議" in t for t in titles)
    assert all(c.meeting_id in idx.meetings for c in idx.chunks)


def test_incremental_build_embeds_only_the_changed_file(small) -> None:
    from rag.index import build_index

    s, docs = small
    first = build_index([docs], s)
    before = _index_texts(s)
    _write(docs, "b.txt", MINUTES_B + EXTRA_B)
    second = build_index([docs], s)
    after = _index_texts(s)
    assert (second.files_added, second.files_changed, second.files_unchanged) == (0, 1, 1)
    new_texts = after - before
    assert new_texts and second.texts_embedded == len(new_texts)
    assert second.texts_embedded < first.texts_embedded
    assert second.chunks_total == first.chunks_total + 1
    third = build_index([docs], s)
    assert (third.files_unchanged, third.texts_embedded) == (2, 0)


def test_deleted_file_chunks_are_dropped(small) -> None:
    from rag.index import build_index, load_index
    from rag.retrieve import search

    s, docs = small
    build_index([docs], s)
    (docs / "a.txt").unlink()
    report = build_index([docs], s)
    assert report.files_removed == 1 and report.texts_embedded == 0
    idx = load_index(s)
    assert idx.chunks and not any(c.file.endswith("a.txt") for c in idx.chunks)
    assert all(not m.file.endswith("a.txt") for m in idx.meetings.values())
    assert not any(f.endswith("a.txt") for f in idx.manifest["files"])
    hits = search(idx, "除雪車の位置情報", k=10)
    assert hits and not any(h.chunk.file.endswith("a.txt") for h in hits)


def test_crash_mid_build_leaves_previous_index_usable(small) -> None:
    from rag.index import build_index, load_index
    from rag.retrieve import search

    s, docs = small
    build_index([docs], s)
    manifest_before = (s.index_dir / "manifest.json").read_bytes()
    chunks_before = [c.id for c in load_index(s).chunks]
    _write(docs, "b.txt", MINUTES_B + EXTRA_B)

    class Killed(Exception):
        pass

    def progress(done: int, total: int, message: str) -> None:
        if "embedding" in message and done > 0:
            raise Killed

    with pytest.raises(Killed):
        build_index([docs], s, progress=progress)
    assert (s.index_dir / "manifest.json").read_bytes() == manifest_before
    idx = load_index(s)
    assert [c.id for c in idx.chunks] == chunks_before
    assert search(idx, "除雪", k=1)
    versions = list(s.index_dir.parent.glob(f".{s.index_dir.name}.v-*"))
    assert [v.resolve() for v in versions] == [s.index_dir.resolve()]


def test_bad_file_is_reported_and_others_are_indexed(small) -> None:
    from rag.index import build_index, load_index

    s, docs = small
    (docs / "broken.txt").write_bytes(b"")
    report = build_index([docs], s)
    assert len(report.errors) == 1 and "broken.txt" in str(report.errors[0])
    assert report.files_added == 2
    assert len(load_index(s).meetings) == 2


def test_model_mismatch_is_refused_naming_both_models(small) -> None:
    from rag.index import build_index, load_index

    s, docs = small
    build_index([docs], s)
    other = s.with_overrides(model="intfloat/multilingual-e5-large")
    with pytest.raises(IndexError_) as e:
        load_index(other)
    msg = str(e.value)
    assert s.model in msg and "intfloat/multilingual-e5-large" in msg
    assert "--rebuild" in msg and "MINUTES_RAG_MODEL" in msg


def test_missing_and_corrupt_index_give_clear_errors(small) -> None:
    from rag.index import build_index, index_exists, load_index

    s, docs = small
    with pytest.raises(IndexError_) as e:
        load_index(s)
    assert str(s.index_dir) in str(e.value) and "minutes-rag index" in str(e.value)
    build_index([docs], s)
    assert index_exists(s)
    (s.index_dir / "faiss.index").write_bytes(b"not a faiss index")
    with pytest.raises(IndexError_) as e:
        load_index(s)
    assert "--rebuild" in str(e.value)
    (s.index_dir / "chunks.json").write_text("{", encoding="utf-8")
    with pytest.raises(IndexError_):
        load_index(s)


def test_hnsw_option_builds_an_ann_index_that_searches(small, monkeypatch) -> None:
    import rag.store
    from rag.index import build_index, load_index
    from rag.retrieve import search

    s, docs = small
    report = build_index([docs], s, ann=True)
    assert report.ann
    idx = load_index(s)
    assert idx.is_ann and "HNSW" in idx.manifest["faiss"]
    hits = search(idx, "宿泊者数のデータ共有", k=2, mode="dense")
    assert len(hits) == 2 and "宿泊者数" in hits[0].chunk.text
    # Filtered search through the FAISS IDSelector path (normally for > 20k chunks).
    monkeypatch.setattr(rag.store, "EXACT_SUBSET_MAX", 0)
    a_id = next(m.id for m in idx.meetings.values() if m.file.endswith("a.txt"))
    n_a = sum(c.meeting_id == a_id for c in idx.chunks)
    hits = search(idx, "宿泊者数のデータ共有", k=10, filters=Filters(meetings=(a_id,)))
    assert len(hits) == n_a and all(h.chunk.meeting_id == a_id for h in hits)


def test_build_refuses_to_replace_a_folder_that_is_not_an_index(small, tmp_path: Path) -> None:
    from rag.index import build_index

    s, docs = small
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("大事なメモ", encoding="utf-8")
    with pytest.raises(IndexError_) as e:
        build_index([docs], s.with_overrides(index_dir=precious))
    assert str(precious) in str(e.value)
    assert (precious / "notes.txt").read_text(encoding="utf-8") == "大事なメモ"


def test_indexing_one_file_adds_it_and_keeps_the_others_unless_pruned(small, tmp_path) -> None:
    """`minutes-rag index one-file.txt` used to replace the whole index with that one file."""
    from rag.index import build_index, load_index

    s, docs = small
    build_index([docs], s)
    more = tmp_path / "more"
    more.mkdir()
    one = _write(more, "c.txt", MINUTES_B.replace("第１回", "第２回") + EXTRA_B)

    def names() -> set[str]:
        return {Path(m.file).name for m in load_index(s).meetings.values()}

    report = build_index([one], s)
    assert names() == {"a.txt", "b.txt", "c.txt"}
    assert report.files_added == 1 and report.files_removed == 0
    assert report.texts_embedded < report.chunks_total  # the kept files were not re-embedded
    build_index([one], s, prune=True)
    assert names() == {"c.txt"}


def test_index_of_an_older_keyword_version_gets_its_bm25_rebuilt_on_load(small) -> None:
    from rag.chunk import keyword_texts
    from rag.index import build_index, load_index
    from rag.keyword import BM25_TOKENIZER, bm25_scores, build_bm25

    s, docs = small
    build_index([docs], s)
    manifest = s.index_dir / "manifest.json"
    m = json.loads(manifest.read_text("utf-8"))
    m["bm25_tokenizer"] = "sudachi-core-B-normalized-nopunct+bigram-v1"
    manifest.write_text(json.dumps(m), "utf-8")
    shutil.rmtree(s.index_dir / "bm25")  # an old part is not read: it is rebuilt
    idx = load_index(s)
    assert idx.manifest["bm25_tokenizer"] != BM25_TOKENIZER
    query = "除雪車の位置情報"
    expected = bm25_scores(build_bm25(keyword_texts(idx.chunks)), query)
    assert expected is not None
    assert np.allclose(bm25_scores(idx.bm25, query), expected)


# --- the parse cache: unchanged files are not parsed again --------------------------------------


def _stored(s: Settings) -> tuple[dict, list, list, np.ndarray]:
    """Everything a build writes, but its time: manifest, meetings, chunks, vectors."""
    from rag.index import load_index

    def read(name: str):
        return json.loads((s.index_dir / name).read_text("utf-8"))

    manifest = read("manifest.json")
    manifest.pop("created")
    idx = load_index(s)  # kept alive while copying: its vectors may live in the store's memory
    vectors = np.array(idx.vectors, copy=True)
    return manifest, read("meetings.json"), read("chunks.json"), vectors


def _same(a: tuple, b: tuple, *, exact: bool = True) -> None:
    assert a[:3] == b[:3]
    assert np.array_equal(a[3], b[3]) if exact else np.allclose(a[3], b[3], atol=1e-5)


def test_unchanged_files_are_not_parsed_again(small, parsed_files) -> None:
    from rag.index import build_index

    s, docs = small
    _write(docs, "copy.txt", MINUTES_A)  # skipped with a warning, both times
    (docs / "broken.txt").write_bytes(b"\xff\xfe\x00")  # an error, both times (never indexed)
    first = build_index([docs], s)
    assert sorted(parsed_files) == ["a.txt", "b.txt"]
    built = _stored(s)
    parsed_files.clear()
    again = build_index([docs], s)
    assert parsed_files == []
    assert (again.files_unchanged, again.texts_embedded) == (2, 0)
    assert [str(e) for e in again.errors] == [str(e) for e in first.errors] != []
    assert again.warnings == first.warnings and any("copy.txt" in w for w in again.warnings)
    _same(_stored(s), built)
    build_index([docs], s, rebuild=True)  # parses and embeds everything: the same index
    assert sorted(parsed_files) == ["a.txt", "b.txt"]
    _same(_stored(s), built)


def test_changed_files_and_parser_changes_are_parsed_again(small, parsed_files, monkeypatch):
    import rag.index
    import rag.ingest
    from rag.index import build_index

    s, docs = small
    plain = s.with_overrides(index_dir=s.index_dir.parent / "idx-plain")  # parses every file
    build_index([docs], s)
    build_index([docs], plain)
    _write(docs, "b.txt", MINUTES_B + EXTRA_B)
    (docs / "a.txt").rename(docs / "c.txt")  # a new file name: parsed (its id changes)
    _write(docs, "d.txt", MINUTES_A.replace("第３回", "第５回"))
    parsed_files.clear()
    build_index([docs], s)
    assert sorted(parsed_files) == ["b.txt", "c.txt", "d.txt"]
    incremental = _stored(s)
    assert not any(f.endswith("a.txt") for f in incremental[0]["files"])
    with monkeypatch.context() as m:
        m.setattr(rag.index, "_reusable", lambda *a: {})  # as before the parse cache
        build_index([docs], plain)
    _same(incremental, _stored(plain))
    (docs / "d.txt").unlink()
    parsed_files.clear()
    build_index([docs], s)
    assert parsed_files == []
    incremental = _stored(s)
    build_index([docs], s, rebuild=True)
    _same(incremental, _stored(s), exact=False)  # the rebuild embedded all chunks at once
    s = s.with_overrides(csv_columns="text=本文")  # a setting parsing reads
    parsed_files.clear()
    build_index([docs], s)
    assert sorted(parsed_files) == ["b.txt", "c.txt"]
    monkeypatch.setattr(rag.ingest, "PARSER_VERSION", rag.ingest.PARSER_VERSION + 1)
    parsed_files.clear()
    build_index([docs], s)
    assert sorted(parsed_files) == ["b.txt", "c.txt"]
    parsed_files.clear()
    build_index([docs], s)
    assert parsed_files == []


def test_new_chunking_settings_rechunk_the_reused_meetings(small, parsed_files) -> None:
    from rag.index import build_index

    s, docs = small
    build_index([docs], s)
    narrow = s.with_overrides(chunk_max_chars=40, chunk_overlap_sentences=0)
    parsed_files.clear()
    report = build_index([docs], narrow)
    assert parsed_files == [] and report.files_changed == 2
    reused = _stored(narrow)
    assert reused[0]["chunking"]["max_chars"] == 40
    build_index([docs], narrow, rebuild=True)
    _same(reused, _stored(narrow), exact=False)


def test_kept_files_keep_the_parser_stamp_they_were_parsed_with(
    small, parsed_files, monkeypatch, tmp_path
) -> None:
    """A file kept from an older parser's build is parsed again when it comes back in scope."""
    import rag.ingest
    from rag.index import build_index, index_meetings
    from rag.ingest import ingest_paths

    s, docs = small
    build_index([docs], s)
    more = tmp_path / "more"
    more.mkdir()
    _write(more, "a.txt", MINUTES_A.replace("第３回", "第４回"))  # the same meeting id
    monkeypatch.setattr(rag.ingest, "PARSER_VERSION", rag.ingest.PARSER_VERSION + 1)
    build_index([more], s)  # docs/ kept as the old parser read it
    meetings = json.loads((s.index_dir / "meetings.json").read_text("utf-8"))
    assert sorted(m["id"] for m in meetings) == ["a", "a-kept", "b"]
    parsed_files.clear()
    build_index([docs], s)
    assert sorted(parsed_files) == ["a.txt", "b.txt"]
    parsed_files.clear()
    build_index([docs, more], s)  # all stamped now: nothing parsed, ids as a new parse gives
    assert parsed_files == []
    stored = json.loads((s.index_dir / "meetings.json").read_text("utf-8"))
    fresh = ingest_paths([docs, more], s).meetings
    assert [(m["id"], m["file"]) for m in stored] == [(m.id, m.file) for m in fresh]
    # Meetings indexed without build_index carry no stamp: parsed on the next build.
    index_meetings(fresh, s)
    parsed_files.clear()
    build_index([docs, more], s)
    assert len(parsed_files) == 3
