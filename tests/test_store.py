"""The dense store interface (FaissStore) and the LangChain VectorStore adapter."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

CORPUS_DIR = Path(__file__).resolve().parents[1] / "corpus"


def _unit(n: int, d: int, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _brute(vectors: np.ndarray, q: np.ndarray, k: int, ids: np.ndarray | None = None):
    ids = np.arange(len(vectors)) if ids is None else ids
    scores = vectors[ids] @ q
    top = np.argsort(-scores, kind="stable")[:k]
    return [int(ids[i]) for i in top], scores[top]


def test_faiss_store_round_trip_matches_brute_force(tmp_path: Path) -> None:
    from rag.store import DenseStore, FaissStore

    vecs, queries = _unit(300, 32), _unit(5, 32, seed=1)
    store = FaissStore.build(vecs, ann=False)
    assert isinstance(store, DenseStore)
    assert store.size == 300 and not store.is_ann and "FlatIP" in store.description
    store.save(tmp_path)
    assert (tmp_path / FaissStore.FILE).is_file()
    loaded = FaissStore.load(tmp_path)
    assert loaded.size == 300 and not loaded.is_ann
    np.testing.assert_allclose(loaded.vectors, vecs, rtol=0, atol=0)
    for q in queries:
        want_ids, want_scores = _brute(vecs, q, 10)
        got = loaded.search(q, 10)
        assert [i for i, _ in got] == want_ids
        np.testing.assert_allclose([s for _, s in got], want_scores, atol=1e-5)
    assert loaded.search(queries[0], 1000)[-1][0] in range(300)  # k > size: all of them
    assert len(loaded.search(queries[0], 1000)) == 300


def test_filtered_search_returns_only_allowed_ids_and_still_k() -> None:
    from rag.store import FaissStore

    vecs, q = _unit(500, 16), _unit(1, 16, seed=2)[0]
    store = FaissStore.build(vecs, ann=False)
    allowed = np.zeros(500, dtype=bool)
    allowed[::7] = True  # 72 ids, most of the unfiltered top-k is excluded
    got = store.search(q, 20, allowed)
    assert len(got) == 20 and all(allowed[i] for i, _ in got)
    assert [i for i, _ in got] == _brute(vecs, q, 20, np.flatnonzero(allowed))[0]
    assert len(store.search(q, 100, allowed)) == 72  # fewer allowed than k: all of them
    assert store.search(q, 5, np.zeros(500, dtype=bool)) == []
    assert FaissStore.build(np.zeros((0, 16), np.float32), ann=False).search(q, 5) == []


def test_hnsw_store_searches_filters_and_round_trips(tmp_path: Path, monkeypatch) -> None:
    import rag.store
    from rag.store import FaissStore

    vecs, q = _unit(2000, 32), _unit(1, 32, seed=3)[0]
    store = FaissStore.build(vecs, ann=True)
    assert store.is_ann and "HNSW" in store.description
    store.save(tmp_path)
    loaded = FaissStore.load(tmp_path)
    assert loaded.is_ann and loaded.size == 2000
    want_ids, _ = _brute(vecs, q, 10)
    got = [i for i, _ in loaded.search(q, 10)]
    assert len(got) == 10 and len(set(got) & set(want_ids)) >= 8  # approximate, but close
    allowed = np.zeros(2000, dtype=bool)
    allowed[1000:] = True
    # Small subsets are scored exactly; force the FAISS IDSelector path, then a filter so
    # selective that the HNSW walk may starve (the exact fallback still gives k hits).
    monkeypatch.setattr(rag.store, "EXACT_SUBSET_MAX", 0)
    got = loaded.search(q, 15, allowed)
    assert len(got) == 15 and all(allowed[i] for i, _ in got)
    rare = np.zeros(2000, dtype=bool)
    rare[[3, 500, 1999]] = True
    got = loaded.search(q, 3, rare)
    assert sorted(i for i, _ in got) == [3, 500, 1999]
    assert [i for i, _ in got] == _brute(vecs, q, 3, np.flatnonzero(rare))[0]


def test_importing_the_store_stays_light() -> None:
    import subprocess
    import sys

    code = (
        "import sys, rag.store, rag.index, rag.retrieve;"
        "heavy = [m for m in ('faiss', 'langchain_core', 'torch') if m in sys.modules];"
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.slow
def test_langchain_vector_store_over_the_corpus_index(corpus_index) -> None:
    from langchain_core.documents import Document
    from langchain_core.vectorstores import VectorStore

    from rag.retrieve import MinutesVectorStore

    vs = MinutesVectorStore(corpus_index)
    assert isinstance(vs, VectorStore)
    docs = vs.similarity_search("What did members say about FIWARE?", k=4)
    assert docs and all(isinstance(d, Document) for d in docs)
    fiware = [d for d in docs if "FIWARE" in d.page_content]
    assert fiware, [d.page_content[:60] for d in docs]
    meta = fiware[0].metadata
    assert Path(meta["file"]).name in {p.name for p in CORPUS_DIR.iterdir()}
    assert 1 <= meta["start_line"] <= meta["end_line"]
    assert meta["chunk_id"] == fiware[0].id and meta["text"] == fiware[0].page_content

    scored = vs.similarity_search_with_score("What did members say about FIWARE?", k=4)
    assert [d.id for d, _ in scored] == [d.id for d in docs]
    assert all(a >= b for (_, a), (_, b) in pairwise(scored))
    qvec = vs.embeddings.embed_query("What did members say about FIWARE?")
    assert [d.id for d in vs.similarity_search_by_vector(qvec, k=4)] == [d.id for d in docs]
    assert vs.get_by_ids([docs[0].id])[0].page_content == docs[0].page_content
    with pytest.raises(NotImplementedError, match="minutes-rag index"):
        MinutesVectorStore.from_texts(["x"], vs.embeddings)
    with pytest.raises(NotImplementedError, match="minutes-rag index"):
        vs.add_texts(["x"])
