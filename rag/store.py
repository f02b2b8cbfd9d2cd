"""The dense vector store behind one small interface.

``DenseStore`` is what :mod:`rag.index` and :mod:`rag.retrieve` talk to: integer ids
``0..size-1`` (id i == chunk i), inner-product scores, optional filtering by a boolean mask
that still returns ``min(k, allowed)`` hits. ``FaissStore`` implements it with an exact
``IndexIDMap2(IndexFlatIP)`` or an ``IndexIDMap2(IndexHNSWFlat)`` for large indexes.
Another backend only has to implement the same methods and be chosen in ``rag/index.py``.

faiss is imported inside functions only. The LangChain ``VectorStore`` over a loaded index,
``MinutesVectorStore``, lives in :mod:`rag.retrieve`, above the index.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 64
# Filtered dense search over at most this many ids scores them exactly with numpy; larger
# subsets of an HNSW index use a FAISS IDSelector (exact flat indexes always use numpy).
EXACT_SUBSET_MAX = 20_000


@runtime_checkable
class DenseStore(Protocol):
    """Vectors with ids ``0..size-1`` searched by inner product."""

    FILE: ClassVar[str]  # the file ``save`` writes inside the index folder

    @property
    def size(self) -> int: ...

    @property
    def is_ann(self) -> bool:
        """Approximate (e.g. HNSW) rather than exact search."""
        ...

    @property
    def description(self) -> str:
        """What is stored, for the manifest (e.g. ``IndexIDMap2(IndexFlatIP)``)."""
        ...

    @property
    def vectors(self) -> np.ndarray:
        """(size, dim) float32, row i == id i (the embedding cache reads it)."""
        ...

    def search(
        self, qvec: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """Best ``k`` (id, score), best first; with ``allowed`` (bool mask over ids) only
        allowed ids, and still ``min(k, allowed.sum())`` of them."""
        ...

    def save(self, directory: Path) -> None: ...

    @classmethod
    def build(cls, vectors: np.ndarray, *, ann: bool, threads: int = 0) -> DenseStore: ...

    @classmethod
    def load(cls, directory: Path, *, threads: int = 0) -> DenseStore: ...


class FaissStore:
    """:class:`DenseStore` over ``IndexIDMap2(IndexFlatIP | IndexHNSWFlat)`` in ``faiss.index``."""

    FILE: ClassVar[str] = "faiss.index"

    def __init__(self, index: Any, is_ann: bool) -> None:
        self.index = index  # the faiss.IndexIDMap2
        self._is_ann = is_ann
        # Zero-copy view into FAISS memory: valid as long as ``self.index`` lives.
        self._vectors = _storage_view(index)

    @property
    def size(self) -> int:
        return int(self.index.ntotal)

    @property
    def is_ann(self) -> bool:
        return self._is_ann

    @property
    def description(self) -> str:
        return "IndexIDMap2(IndexHNSWFlat)" if self._is_ann else "IndexIDMap2(IndexFlatIP)"

    @property
    def vectors(self) -> np.ndarray:
        return self._vectors

    def __len__(self) -> int:
        return self.size

    @classmethod
    def build(cls, vectors: np.ndarray, *, ann: bool, threads: int = 0) -> FaissStore:
        import faiss

        _set_threads(threads)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        d = vectors.shape[1]
        if ann:
            inner = faiss.IndexHNSWFlat(d, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            inner.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            inner.hnsw.efSearch = HNSW_EF_SEARCH
        else:
            inner = faiss.IndexFlatIP(d)
        index = faiss.IndexIDMap2(inner)
        if len(vectors):
            index.add_with_ids(vectors, np.arange(len(vectors), dtype=np.int64))
        return cls(index, ann)

    def save(self, directory: Path) -> None:
        import faiss

        faiss.write_index(self.index, str(Path(directory) / self.FILE))

    @classmethod
    def load(cls, directory: Path, *, threads: int = 0) -> FaissStore:
        """Read ``directory/faiss.index`` (RuntimeError / OSError when unreadable)."""
        import faiss

        index = faiss.read_index(str(Path(directory) / cls.FILE))
        _set_threads(threads)
        inner = faiss.downcast_index(index.index)
        is_ann = isinstance(inner, faiss.IndexHNSW)
        if is_ann:
            inner.hnsw.efSearch = HNSW_EF_SEARCH
        return cls(index, is_ann)

    def search(
        self, qvec: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        n = self.size
        if n == 0 or k <= 0:
            return []
        qvec = np.ascontiguousarray(qvec, dtype=np.float32).reshape(-1)
        if allowed is not None:
            ids = np.flatnonzero(allowed)
            if len(ids) == 0:
                return []
            want = min(k, len(ids))
            if len(ids) > EXACT_SUBSET_MAX and self.is_ann:
                import faiss

                params = faiss.SearchParametersHNSW(
                    sel=faiss.IDSelectorBatch(ids.astype(np.int64)), efSearch=max(64, k * 2)
                )
                d, i = self.index.search(qvec[None, :], want, params=params)
                found = [(int(j), float(s)) for j, s in zip(i[0], d[0], strict=True) if j >= 0]
                if len(found) == want:
                    return found
                # A selective filter can starve the HNSW walk: fall back to exact scores.
            # Exact scores straight from the stored vectors: always ``want`` results.
            scores = self._vectors[ids] @ qvec
            top = np.argsort(-scores, kind="stable")[:want]
            return [(int(ids[i]), float(scores[i])) for i in top]
        d, i = self.index.search(qvec[None, :], min(k, n))
        return [(int(j), float(s)) for j, s in zip(i[0], d[0], strict=True) if j >= 0]


def _set_threads(threads: int) -> None:
    import faiss

    if threads > 0:
        faiss.omp_set_num_threads(threads)


def _storage_view(index: Any) -> np.ndarray:
    """Zero-copy (n, d) view of the vectors inside an IDMap2(Flat|HNSWFlat)."""
    import faiss

    inner = faiss.downcast_index(index.index)
    flat = faiss.downcast_index(inner.storage) if hasattr(inner, "storage") else inner
    n, d = flat.ntotal, flat.d
    if n == 0:
        return np.zeros((0, d), dtype=np.float32)
    return faiss.rev_swig_ptr(flat.get_xb(), n * d).reshape(n, d)
