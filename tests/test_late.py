"""Late interaction (rag/late.py): stored token vectors, MaxSim, and indexes built without them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rag.config import DEFAULT_MODEL
from rag.late import (
    DIM,
    OFFSETS_FILE,
    TOKENS_FILE,
    TokenStore,
    compact,
    expand,
    maxsim,
    projection,
)

MINUTES = """第２回 除雪デジタル会議 議事要旨

【議題１】除雪の情報発信について

・除雪車の位置情報をオープンデータとして公開すると、市民の問い合わせが減るだろう。

・観光客向けの多言語案内は来年度の課題としたい。
"""


def test_the_shipped_projection_fits_e5_small_and_other_models_pass_through() -> None:
    p = projection(DEFAULT_MODEL)
    assert p.basis is not None and p.basis.shape == (384, DIM) and p.mean.shape == (384,)
    for width in (384, 8):  # another model's tokens, whatever their width, are only normalised
        other = projection("intfloat/some-other-model")
        assert other.basis is None and other.sha != p.sha
        x = np.random.default_rng(0).normal(size=(3, width)).astype(np.float32)
        y = other(x)
        assert y.shape == x.shape and np.allclose(np.linalg.norm(y, axis=1), 1.0, atol=1e-5)
        assert np.allclose(y, x / np.linalg.norm(x, axis=1, keepdims=True), atol=1e-6)


def test_int8_storage_keeps_the_projected_direction() -> None:
    rng = np.random.default_rng(1)
    tokens = rng.normal(size=(40, 384)).astype(np.float32)
    p = projection(DEFAULT_MODEL)
    stored = compact(tokens, p)
    assert stored.dtype == np.int8 and stored.shape == (40, DIM)
    cos = (expand(stored) * p(tokens)).sum(axis=1)
    assert cos.min() > 0.999


def test_maxsim_reads_the_best_match_of_every_question_token() -> None:
    eye = np.eye(4, dtype=np.float32)
    assert maxsim(eye[:2], eye) == (1.0, 1.0)  # every question token is in the passage
    mean, q25 = maxsim(eye[:2], eye[2:])  # none is
    assert (mean, q25) == (0.0, 0.0)
    mean, q25 = maxsim(eye[:4], eye[:1])  # one of four: the quartile sees the misses
    assert mean == 0.25 and q25 == 0.0
    assert maxsim(eye[:0], eye) == (0.0, 0.0)


def test_token_store_round_trip_and_mismatch(tmp_path: Path) -> None:
    rows = [np.full((n, DIM), n, dtype=np.int8) for n in (3, 1, 5)]
    TokenStore.save(tmp_path, rows)
    store = TokenStore.load(tmp_path, 3, "sha")
    assert store is not None and len(store) == 3
    assert [store.stored(i).shape[0] for i in range(3)] == [3, 1, 5]
    assert np.array_equal(store.stored(2), rows[2])
    assert TokenStore.load(tmp_path, 3, None) is None  # made with another projection
    with pytest.raises(ValueError):
        TokenStore.load(tmp_path, 4, "sha")  # another index's tokens


@pytest.fixture
def small_index(settings, embedder, tmp_path: Path):
    from rag.index import build_index, load_index

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text(MINUTES, encoding="utf-8")
    s = settings.with_overrides(index_dir=tmp_path / "idx")
    report = build_index([docs], s)
    return s, docs, report, load_index(s)


@pytest.mark.slow
def test_embedder_token_vectors_leave_out_the_prompt_and_special_tokens(embedder) -> None:
    text = "除雪車の位置情報"
    _, (tokens,) = embedder.embed_passages_tokens([text])
    ids = embedder.model.tokenizer(embedder.passage_prompt + text)["input_ids"]
    prompt = embedder.model.tokenizer(embedder.passage_prompt.rstrip())["input_ids"]
    assert len(tokens) == len(ids) - len(prompt)  # <s> and </s> of both cancel out
    q = embedder.query_tokens(text)
    assert q.shape[1] == embedder.dim and 0 < len(q) <= len(tokens) + 1


@pytest.mark.slow
def test_index_stores_token_vectors_that_rank_the_matching_statement_first(small_index) -> None:
    from rag.retrieve import late_hits, search

    s, _, _, idx = small_index
    assert idx.tokens is not None and len(idx.tokens) == len(idx.chunks)
    manifest = json.loads((s.index_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["late"] == {"projection": projection(DEFAULT_MODEL).sha, "dim": DIM}
    q = "除雪車の位置情報の公開について"
    hits = late_hits(idx, q, search(idx, q, k=5, rerank=False))
    best = max(hits, key=lambda h: h.late[0])
    assert "位置情報" in best.chunk.text
    others = [h.late[0] for h in hits if "位置情報" not in h.chunk.text]
    assert others and best.late[0] > max(others)


@pytest.mark.slow
def test_index_without_token_vectors_is_read_again_and_rebuilt(small_index) -> None:
    """An index from before token vectors: the judge reads its candidates with the model
    (the same scores), and the next build embeds every text again to store them."""
    from rag.index import _live, build_index, load_index
    from rag.retrieve import late_hits, search

    s, docs, first, idx = small_index
    q = "観光客向けの多言語案内"
    stored = late_hits(idx, q, search(idx, q, k=5, rerank=False))
    live = _live(Path(s.index_dir))
    (live / TOKENS_FILE).unlink()
    (live / OFFSETS_FILE).unlink()
    manifest = json.loads((live / "manifest.json").read_text(encoding="utf-8"))
    manifest.pop("late")
    (live / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    old = load_index(s)
    assert old.tokens is None
    again = late_hits(old, q, search(old, q, k=5, rerank=False))
    assert [h.chunk.id for h in again] == [h.chunk.id for h in stored]
    assert np.allclose([h.late for h in again], [h.late for h in stored], atol=1e-4)
    report = build_index([docs], s)
    assert report.texts_embedded == first.texts_embedded  # nothing reusable without tokens
    assert load_index(s).tokens is not None
    assert build_index([docs], s).texts_embedded == 0  # and reused from then on
