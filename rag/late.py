"""Late interaction: every word piece of a question against every word piece of a passage.

The pooled e5 vector (one per passage) blurs a long statement into its average topic; the
judge also needs to know whether each part of the question finds a close match somewhere in
the passage. As ColBERT scores passages: for each question token, the best cosine with any
passage token ("MaxSim"); the judge reads their mean and lower quartile (rag/judge.py).

The token vectors come from the same forward pass as the pooled vectors (``rag.embed``), so an
index stores them at no extra model cost: centred, projected to ``DIM`` dimensions by a PCA
fitted offline (``rag/models/late.npz``, ``scripts/train_late.py``, data card
``rag/models/late.md``) and stored as int8 (``tokens.npy`` + ``token_offsets.npy``, memory
mapped). Centring removes the direction all e5 token vectors share, which otherwise lifts every
pair's cosine alike: on the judge's training candidates mean MaxSim separates relevant from
other candidates at AUC 0.875 (minutes) / 0.921 (tokyo2020) projected, 0.829 / 0.897 on the raw
384-d vectors, against 0.676 / 0.861 for the pooled cosine (BENCHMARKS.md, session 12).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from rag.config import DEFAULT_MODEL

PROJECTION_FILE = Path(__file__).with_name("models") / "late.npz"
TOKENS_FILE = "tokens.npy"
OFFSETS_FILE = "token_offsets.npy"
# Dimensions kept (of e5-small's 384). Measured on the judge's training candidates (AUC of
# mean MaxSim, minutes / tokyo): 64 -> 0.865 / 0.907, 96 -> 0.875 / 0.917, 128 -> 0.875 /
# 0.921. At 128 int8 bytes per token, tokyo2020's 3,183 statements store 70 MB of tokens
# (its FAISS vectors: 5 MB).
DIM = 128
# Passages of an index without stored tokens kept in memory once read (float32, ~90 KB each):
# a server on such an index holds at most ~200 MB before starting again.
MEMO_MAX = 2000


@dataclass(frozen=True)
class Projection:
    """x -> normalise((normalise(x) - mean) @ basis); for a model it was not fitted for,
    normalise(x) alone (``basis`` None: the model's own width, nothing removed)."""

    mean: np.ndarray
    basis: np.ndarray | None
    sha: str

    def __call__(self, tokens: np.ndarray) -> np.ndarray:
        x = _unit(np.asarray(tokens, dtype=np.float32))
        if self.basis is not None:
            x = (x - self.mean) @ self.basis
        return _unit(x)


_lock = threading.Lock()
_fitted: list[Projection] = []
IDENTITY = Projection(np.zeros(1, np.float32), None, "identity")


def _unit(x: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(norm, 1e-12)


def projection(model: str) -> Projection:
    """The shipped projection for the model it was fitted on (the default multilingual-e5-small);
    any other model's token vectors are only normalised."""
    if model != DEFAULT_MODEL:
        return IDENTITY
    with _lock:
        if not _fitted:
            raw = PROJECTION_FILE.read_bytes()
            data = np.load(PROJECTION_FILE)
            mean, basis = data["mean"].astype(np.float32), data["basis"].astype(np.float32)
            _fitted.append(Projection(mean, basis, hashlib.sha256(raw).hexdigest()[:16]))
        return _fitted[0]


def compact(tokens: np.ndarray, proj: Projection) -> np.ndarray:
    """A passage's token vectors as stored: projected, unit length, int8 (scaled per token by
    its largest component; ``expand`` restores unit length, so the scale need not be kept)."""
    x = proj(tokens)
    scale = np.maximum(np.abs(x).max(axis=1, keepdims=True), 1e-12)
    return np.round(x / scale * 127).astype(np.int8)


def expand(stored: np.ndarray) -> np.ndarray:
    return _unit(np.asarray(stored, dtype=np.float32))


def maxsim(question: np.ndarray, passage: np.ndarray) -> tuple[float, float]:
    """(mean, lower quartile) over the question's tokens of their best cosine with any of the
    passage's tokens; both unit-length float32. (0, 0) when either side has no tokens."""
    if not len(question) or not len(passage):
        return 0.0, 0.0
    best = (question @ passage.T).max(axis=1)
    return float(best.mean()), float(np.percentile(best, 25))


class TokenStore:
    """The stored token vectors of an index: passage i is rows offsets[i]:offsets[i+1]."""

    def __init__(self, tokens: np.ndarray, offsets: np.ndarray, sha: str) -> None:
        self.tokens, self.offsets, self.sha = tokens, offsets, sha

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def stored(self, i: int) -> np.ndarray:
        return np.asarray(self.tokens[self.offsets[i] : self.offsets[i + 1]])

    def passage(self, i: int) -> np.ndarray:
        return expand(self.stored(i))

    @staticmethod
    def save(directory: Path, rows: Sequence[np.ndarray]) -> None:
        width = rows[0].shape[1] if rows else DIM
        offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(r) for r in rows])
        tokens = np.concatenate(rows) if rows else np.zeros((0, width), np.int8)
        np.save(directory / TOKENS_FILE, tokens.astype(np.int8, copy=False))
        np.save(directory / OFFSETS_FILE, offsets)

    @classmethod
    def load(cls, directory: Path, n_chunks: int, sha: str | None) -> TokenStore | None:
        """The folder's token vectors, or None when it has none (built before they were
        stored, or with another projection): the judge then reads the candidates again."""
        if sha is None or not (directory / OFFSETS_FILE).is_file():
            return None
        offsets = np.load(directory / OFFSETS_FILE)
        tokens = np.load(directory / TOKENS_FILE, mmap_mode="r")
        if len(offsets) != n_chunks + 1 or offsets[-1] != len(tokens):
            raise ValueError(f"{TOKENS_FILE} does not match the {n_chunks} chunks")
        return cls(tokens, offsets, sha)


def passage_tokens(index: Any, positions: Sequence[int]) -> list[np.ndarray]:
    """Unit token vectors of the index's chunks at ``positions``: from its token store, or for
    an index built before tokens were stored, read again by the model (remembered per chunk)."""
    store = getattr(index, "tokens", None)
    if store is not None:
        return [store.passage(i) for i in positions]
    memo: dict[int, np.ndarray] = index.__dict__.setdefault("_late_memo", {})
    if len(memo) > MEMO_MAX:  # a long-running server on an old index: start again
        memo.clear()
    todo = [i for i in dict.fromkeys(positions) if i not in memo]
    if todo:
        emb = index.embedder()
        proj = projection(index.settings.model)
        _, rows = emb.embed_passages_tokens([index.chunks[i].index_text for i in todo])
        for i, row in zip(todo, rows, strict=True):
            memo[i] = expand(compact(row, proj))
    return [memo[i] for i in positions]


def question_tokens(index: Any, dense_query: str) -> np.ndarray:
    return projection(index.settings.model)(index.embedder().query_tokens(dense_query))


def with_late(index: Any, dense_query: str, hits: Sequence[Any]) -> list[Any]:
    """The hits with their MaxSim (mean, lower quartile) against the question (``Hit.late``)."""
    if not hits:
        return list(hits)
    q = question_tokens(index, dense_query)
    positions = [index.position(h.chunk.id) for h in hits]
    found = [p for p in positions if p is not None]
    tokens = dict(zip(found, passage_tokens(index, found), strict=True))
    return [
        replace(h, late=maxsim(q, tokens[p]) if p is not None else (0.0, 0.0))
        for h, p in zip(hits, positions, strict=True)
    ]
