"""Hybrid retrieval: BM25 over Japanese tokens + dense FAISS search, fused by weighted RRF.

Filters are applied inside both searches before truncation to k, so a filter never returns
fewer hits just because non-matching chunks ranked higher. The LangChain views of a loaded
index, ``MinutesRetriever`` (hybrid) and ``MinutesVectorStore`` (read-only, dense only), are
built on first access so importing this module stays light.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.config import Settings
from rag.errors import ConfigError
from rag.exchange import exchange_links
from rag.keyword import bm25_scores_coverage
from rag.lazy import lazy_classes
from rag.text import nfkc
from rag.translate import search_queries
from rag.types import Chunk, Filters, Hit, expand_roles, source_dict, speaker_matches

if TYPE_CHECKING:
    from rag.index import MinutesIndex

# Hybrid candidates the judge re-ranks: the same number it was trained on (scripts/train_judge.py).
RERANK_DEPTH = 20

PROCEDURAL_WEIGHT = 0.5  # fused-score factor for kind="procedural" chunks

# --- filters ---------------------------------------------------------------------------------


def _norm_key(s: str) -> str:
    return nfkc(s).casefold().strip()


def chunk_matches(chunk: Chunk, f: Filters, meeting_title: str | None = None) -> bool:
    if f.meetings:
        keys = [_norm_key(x) for x in f.meetings if x.strip()]
        mid, file = _norm_key(chunk.meeting_id), _norm_key(chunk.file)
        title = _norm_key(meeting_title or chunk.title)
        base = file.replace("\\", "/").rsplit("/", 1)[-1]
        if keys and not any(
            k in (mid, file, base) or base.startswith(k + ".") or k in title for k in keys
        ):
            return False
    if f.roles and chunk.role not in expand_roles(f.roles):
        return False
    if f.speakers and not speaker_matches(chunk.speaker, chunk.role_label, f.speakers):
        return False
    if f.since or f.until:
        if not chunk.date:
            return False
        if f.since and chunk.date < f.since:
            return False
        if f.until and chunk.date > f.until:
            return False
    return not (f.agenda and _norm_key(f.agenda) not in _norm_key(chunk.agenda or ""))


def filter_mask(index: MinutesIndex, f: Filters | None) -> np.ndarray | None:
    """Boolean mask over chunks, or None for 'no filter'."""
    if f is None or f.is_empty():
        return None
    for d in (f.since, f.until):
        if d and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", d):
            raise ConfigError(
                f"日付 {d!r} は YYYY-MM-DD の形式で指定してください。"
                f" / Date {d!r} must be written as YYYY-MM-DD."
            )
    titles = {mid: m.title for mid, m in index.meetings.items()}
    return np.fromiter(
        (chunk_matches(c, f, titles.get(c.meeting_id)) for c in index.chunks),
        dtype=bool,
        count=len(index.chunks),
    )


def scope_mask(index: MinutesIndex, f: Filters | None) -> np.ndarray | None:
    """Mask of the chunks in the minutes a question is asked of (Filters.scope), for the
    judge's corpus statistics; None for the whole index."""
    return filter_mask(index, f.scope()) if f is not None else None


# --- search ------------------------------------------------------------------------------------


def _dense(
    index: MinutesIndex, qvec: np.ndarray, depth: int, allowed: np.ndarray | None
) -> list[tuple[int, float]]:
    # The store keeps filtered searches complete (min(depth, allowed) hits): rag/store.py.
    return index.store.search(qvec, depth, allowed)


def _bm25(
    index: MinutesIndex, query: str, depth: int, allowed: np.ndarray | None
) -> tuple[list[tuple[int, float]], np.ndarray | None, float]:
    scores, coverage = bm25_scores_coverage(index.bm25, query)
    if scores is None:
        return [], None, 0.0
    masked = scores if allowed is None else np.where(allowed, scores, -np.inf)
    depth = min(depth, len(masked))
    cand = np.argpartition(-masked, depth - 1)[:depth] if depth < len(masked) else np.arange(depth)
    cand = cand[np.argsort(-masked[cand], kind="stable")]
    return [(int(j), float(scores[j])) for j in cand if masked[j] > 0], scores, coverage


def search(
    index: MinutesIndex,
    query: str,
    k: int | None = None,
    mode: str | None = None,
    filters: Filters | None = None,
    settings: Settings | None = None,
    rerank: bool | None = None,
) -> list[Hit]:
    """Top-k chunks for ``query``: hybrid (weighted reciprocal-rank fusion, then re-ranked by
    the relevance judge unless ``rerank`` / ``settings.rerank`` is off), dense or bm25."""
    settings = settings or index.settings
    k = settings.k if k is None else k
    mode = (mode or settings.mode).lower()
    rerank = settings.rerank if rerank is None else rerank
    if mode == "hybrid" and rerank:
        return reranked(index, query, k, filters, settings)
    return _search(index, query, k, mode, filters, settings)


def late_hits(index: MinutesIndex, query: str, hits: Sequence[Hit]) -> list[Hit]:
    """The candidates with their late-interaction scores (rag.late), read against the query
    text the judge's view embeds (rag.judge.question_view: the index's own settings)."""
    from rag.late import with_late

    dense_query, _ = search_queries(query, index.settings.expand_dense)
    return with_late(index, dense_query, hits)


def reranked(
    index: MinutesIndex, query: str, k: int, filters: Filters | None, settings: Settings
) -> list[Hit]:
    """The hybrid candidates (at least RERANK_DEPTH of them) in the judge's order, top k."""
    from dataclasses import replace

    from rag.judge import judge, question_view

    hits = _search(index, query, max(k, RERANK_DEPTH), "hybrid", filters, settings)
    if not hits:
        return hits
    roles = tuple(filters.roles) if filters else ()
    view = question_view(index, query, roles, scope=scope_mask(index, filters))
    judged = judge(view, late_hits(index, query, hits))
    # The judge's probability is what ranks now, so it is the hit's score too.
    return [
        replace(j.hit, rank=r, score=j.relevance, relevance=j.relevance)
        for r, j in enumerate(judged[:k], 1)
    ]


def _search(
    index: MinutesIndex,
    query: str,
    k: int,
    mode: str,
    filters: Filters | None,
    settings: Settings,
) -> list[Hit]:
    if mode not in ("hybrid", "dense", "bm25"):
        raise ConfigError(
            f"検索モード {mode!r} は使えません（hybrid / dense / bm25）。"
            f" / Unknown search mode {mode!r}: use hybrid, dense or bm25."
        )
    if k <= 0 or not query.strip() or not index.chunks:
        return []
    allowed = filter_mask(index, filters)
    n_allowed = len(index.chunks) if allowed is None else int(allowed.sum())
    if n_allowed == 0:
        return []
    # Fusion needs candidates beyond k from each side; dense-only / bm25-only need just k.
    depth = k if mode != "hybrid" else max(50, 4 * k)

    dense: list[tuple[int, float]] = []
    qvec = None
    # An English question cannot match Japanese minutes by keywords: the keyword side (and,
    # if configured, the dense side) searches with its Japanese glossary terms added.
    dense_query, keyword_query = search_queries(query, settings.expand_dense)
    if mode in ("hybrid", "dense"):
        qvec = index.embedder().embed_queries([dense_query])[0]
        dense = _dense(index, qvec, depth, allowed)
    sparse: list[tuple[int, float]] = []
    bm25_all = None
    coverage = 0.0
    if mode in ("hybrid", "bm25"):
        sparse, bm25_all, coverage = _bm25(index, keyword_query, depth, allowed)

    d_rank = {i: (r, s) for r, (i, s) in enumerate(dense, 1)}
    b_rank = {i: (r, s) for r, (i, s) in enumerate(sparse, 1)}
    if mode == "dense":
        fused = {i: s for i, s in dense}
    elif mode == "bm25":
        fused = {i: s for i, s in sparse}
    else:
        rrf_k = settings.rrf_k
        fused = {}
        for i, (r, _) in d_rank.items():
            fused[i] = fused.get(i, 0.0) + settings.dense_weight / (rrf_k + r)
        # The keyword side's vote is scaled by how much of the question it can see (coverage)
        # and by each hit's BM25 score relative to the best: a hit that alone matches the
        # question's rare terms keeps its weight, while the long tail of hits sharing one
        # common word counts for little. Cosines of the dense side are too uniform to need it.
        top_bm25 = max((sc for _, sc in sparse), default=0.0)
        for i, (r, sc) in b_rank.items():
            rel = sc / top_bm25 if top_bm25 > 0 else 0.0
            fused[i] = fused.get(i, 0.0) + settings.bm25_weight * coverage * rel / (rrf_k + r)
    # The chair running the sitting (これより質問に入ります) ranks below substance.
    for i in fused:
        if index.chunks[i].kind == "procedural":
            fused[i] *= PROCEDURAL_WEIGHT
    # Ties (same fused score) go to the better dense rank, then document order: deterministic.
    order = sorted(
        fused,
        key=lambda i: (-fused[i], d_rank.get(i, (10**9, 0))[0], b_rank.get(i, (10**9,))[0], i),
    )[:k]

    outside = _outside_partners(index, order, qvec)
    hits = []
    for rank, i in enumerate(order, 1):
        dense_score = d_rank[i][1] if i in d_rank else None
        if dense_score is None and qvec is not None:
            dense_score = float(index.store.vectors[i] @ qvec)
        bm25_score = b_rank[i][1] if i in b_rank else None
        if bm25_score is None and bm25_all is not None and bm25_all[i] > 0:
            bm25_score = float(bm25_all[i])
        hits.append(
            Hit(
                chunk=index.chunks[i],
                score=float(fused[i]),
                rank=rank,
                dense_score=dense_score,
                bm25_score=bm25_score,
                dense_rank=d_rank[i][0] if i in d_rank else None,
                bm25_rank=b_rank[i][0] if i in b_rank else None,
                partners=outside.get(i, ()),
            )
        )
    return hits


def _outside_partners(
    index: MinutesIndex, order: Sequence[int], qvec: np.ndarray | None
) -> dict[int, tuple[tuple[Chunk, float], ...]]:
    """Per returned chunk, its exchange partners that were not returned, with their cosine
    (any filter aside: they are context for the judge, not results)."""
    if qvec is None:
        return {}
    links = _exchange_links(index)
    shown = set(order)
    out: dict[int, tuple[tuple[Chunk, float], ...]] = {}
    for i in order:
        others = [j for j in links[i] if j not in shown]
        if others:
            cos = index.store.vectors[others] @ qvec
            out[i] = tuple((index.chunks[j], float(c)) for j, c in zip(others, cos, strict=True))
    return out


def _exchange_links(index: MinutesIndex) -> list[list[int]]:
    """rag.exchange.exchange_links over the index's chunks, made once per loaded index."""
    links = getattr(index, "_exchange_links", None)
    if links is None:
        links = index._exchange_links = exchange_links(index.chunks)
    return links


# --- LangChain -----------------------------------------------------------------------------------


def hit_metadata(h: Hit) -> dict:
    return {
        **source_dict(h.chunk),
        "score": h.score,
        "rank": h.rank,
        "dense_score": h.dense_score,
        "bm25_score": h.bm25_score,
        "dense_rank": h.dense_rank,
        "bm25_rank": h.bm25_rank,
    }


def _retriever_class() -> type:
    from langchain_core.callbacks import CallbackManagerForRetrieverRun
    from langchain_core.documents import Document
    from langchain_core.retrievers import BaseRetriever
    from pydantic import ConfigDict

    class MinutesRetriever(BaseRetriever):
        """LangChain retriever over a loaded :class:`rag.index.MinutesIndex`: Documents carry
        the chunk's citation fields (``source_dict``) and the scores in their metadata.

        ``MinutesRetriever(index=idx, k=5, mode="hybrid", filters=Filters(...))``
        """

        model_config = ConfigDict(arbitrary_types_allowed=True)
        index: Any
        k: int | None = None
        mode: str | None = None
        filters: Any = None

        def _get_relevant_documents(
            self, query: str, *, run_manager: CallbackManagerForRetrieverRun
        ) -> list[Document]:
            hits = search(self.index, query, k=self.k, mode=self.mode, filters=self.filters)
            return [Document(page_content=h.chunk.text, metadata=hit_metadata(h)) for h in hits]

    return MinutesRetriever


_READ_ONLY = (
    "MinutesVectorStore は読み取り専用です。文書の追加は `minutes-rag index` で行ってください。"
    " / MinutesVectorStore is read-only: add minutes with `minutes-rag index`."
)


def _vector_store_class() -> type:
    from langchain_core.documents import Document
    from langchain_core.vectorstores import VectorStore

    class MinutesVectorStore(VectorStore):
        """Read-only LangChain vector store over a loaded :class:`rag.index.MinutesIndex`:
        dense (embedding) search only, Documents carry the chunk's citation fields
        (``source_dict``) in their metadata. ``filter=Filters(...)`` restricts a search.

        ``MinutesVectorStore(load_index(settings)).similarity_search("FIWARE", k=4)``
        """

        def __init__(self, index: MinutesIndex) -> None:
            self.index = index

        @property
        def embeddings(self) -> Any:
            from rag.embed import LangChainEmbeddings

            return LangChainEmbeddings(self.index.embedder())

        @staticmethod
        def _doc(c: Chunk) -> Document:
            return Document(id=c.id, page_content=c.text, metadata=source_dict(c))

        def _by_vector(self, qvec: Any, k: int, filter: Any = None) -> list[tuple[Document, float]]:
            allowed = filter_mask(self.index, filter)
            hits = self.index.store.search(np.asarray(qvec, dtype=np.float32), k, allowed)
            return [(self._doc(self.index.chunks[i]), s) for i, s in hits]

        def similarity_search_with_score(
            self, query: str, k: int = 4, filter: Any = None, **kwargs: Any
        ) -> list[tuple[Document, float]]:
            """(Document, inner-product score) pairs, best first."""
            query, _ = search_queries(query, self.index.settings.expand_dense)
            qvec = self.index.embedder().embed_queries([query])[0]
            return self._by_vector(qvec, k, filter)

        def similarity_search(
            self, query: str, k: int = 4, filter: Any = None, **kwargs: Any
        ) -> list[Document]:
            return [d for d, _ in self.similarity_search_with_score(query, k, filter)]

        def similarity_search_by_vector(
            self, embedding: list[float], k: int = 4, filter: Any = None, **kwargs: Any
        ) -> list[Document]:
            return [d for d, _ in self._by_vector(embedding, k, filter)]

        def get_by_ids(self, ids: Any, /) -> list[Document]:
            found = (self.index.chunk(x) for x in ids)
            return [self._doc(c) for c in found if c is not None]

        def add_texts(self, texts: Any, metadatas: Any = None, **kwargs: Any) -> list[str]:
            raise NotImplementedError(_READ_ONLY)

        @classmethod
        def from_texts(
            cls, texts: list[str], embedding: Any, metadatas: Any = None, **kwargs: Any
        ) -> MinutesVectorStore:
            raise NotImplementedError(_READ_ONLY)

    return MinutesVectorStore


__getattr__ = lazy_classes(
    __name__,
    {"MinutesRetriever": _retriever_class, "MinutesVectorStore": _vector_store_class},
)
