"""Hybrid retrieval: BM25 over Japanese tokens + dense FAISS search, fused by weighted RRF.

Filters are applied inside both searches before truncation to k, so a filter never returns
fewer hits just because non-matching chunks ranked higher.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.config import Settings
from rag.errors import ConfigError
from rag.lazy import lazy_classes
from rag.morph import morphemes
from rag.question import JA_STOP_WORDS
from rag.text import nfkc
from rag.translate import search_queries
from rag.types import Chunk, Filters, Hit, expand_roles, source_dict, speaker_matches

if TYPE_CHECKING:
    from rag.index import MinutesIndex

# Hybrid candidates the judge re-ranks: the same number it was trained on (scripts/train_judge.py).
RERANK_DEPTH = 20

# Recorded in the manifest; bump when tokenisation, the keyword text (rag.chunk.keyword_texts)
# or the BM25 parameters change: an index built otherwise gets its BM25 part rebuilt from the
# stored chunks when loaded. v3: bigrams over every run of letters, kana and digits (v1: kanji
# and katakana runs only), the question's frame words left out of a query's bigrams, later
# parts of a statement carry its lead, k1 / b below.
BM25_TOKENIZER = "sudachi-core-B-normalized-nopunct+bigram-v3"

_DROP_POS = {"補助記号", "空白", "助詞", "助動詞"}
# Runs of word characters (kanji, kana incl. ー and 々, Latin letters, digits) between spaces
# and punctuation: where Sudachi's segmentation of compounds, unknown words and names can
# differ between a query and a document, their character bigrams still match, and so does
# wording copied from the text (受け入れる, に取り組む). v1 took kanji / katakana runs only; JSQuAD
# dev (the 3,038 questions outside the 1k file) recall@1 in fusion order 0.898 -> 0.925 (with
# k1 / b below), of which Latin letters and digits alone gave 0.912.
_BIGRAM_RUN = re.compile(r"[^\W_]{2,}")
# A question's frame (委員の意見は, 事務局の説明) is not its topic: in a query, these words
# are blanked before bigrams are taken, so 員の / の意 do not match every 「委員の意見」 of the
# minutes (with them 「札幌オリンピック招致の予算について委員の意見は？」 was answered over
# corpus/). Words of one character (何, 言) are left alone: they sit inside topic compounds.
# JSQuAD dev recall@1 0.926 without the blanking, 0.925 with it.
_FRAME = re.compile(
    "|".join(re.escape(w) for w in sorted(JA_STOP_WORDS, key=len, reverse=True) if len(w) >= 2)
)
_BIGRAM_MARK = "\u0002"


def tokenize(text: str, *, query: bool = False) -> list[str]:
    """BM25 terms: NFKC + lower case, Sudachi (mode B) normalised forms without punctuation
    and particles, plus marked character bigrams of word-character runs (of a ``query``,
    without its frame words)."""
    norm = nfkc(text).lower()
    if not norm.strip():
        return []
    out: list[str] = []
    for _surface, pos, form in morphemes(norm):
        form = form.lower().strip()
        if form and pos[0] not in _DROP_POS:
            out.append(form)
    for run in _BIGRAM_RUN.findall(_FRAME.sub(" ", norm) if query else norm):
        out.extend(_BIGRAM_MARK + run[i : i + 2] for i in range(len(run) - 1))
    return out


# BM25 term saturation and length normalisation (bm25s defaults: 1.5 / 0.75). Chosen on the
# dev questions (JSQuAD outside the 1k file, tokyo2020's training half; mean MRR@10 of the
# three sets, fusion order) over k1 0.8-1.5 x b 0.6-0.75 with the v3 bigrams: 1.0 / 0.6 0.8651
# vs 0.8555 for the defaults (best 0.8656: flat).
BM25_K1 = 1.0
BM25_B = 0.6


def build_bm25(texts: Sequence[str]) -> Any:
    import bm25s

    corpus = [tokenize(t) or [""] for t in texts]
    bm25 = bm25s.BM25(k1=BM25_K1, b=BM25_B)
    bm25.index(corpus, show_progress=False)
    return bm25


def bm25_scores(bm25: Any, query: str) -> np.ndarray | None:
    """Scores for every chunk, or None when the query has no known term."""
    scores, _ = bm25_scores_coverage(bm25, query)
    return scores


def bm25_scores_coverage(bm25: Any, query: str) -> tuple[np.ndarray | None, float]:
    """Scores for every chunk and the share of the query's terms the corpus knows.

    The share says how much the keyword side can see of the question: an English question
    over Japanese minutes shares almost no terms with them, so fusion trusts BM25 less.
    """
    vocab = bm25.vocab_dict
    all_terms = tokenize(query, query=True)
    terms = [t for t in all_terms if t in vocab]
    if not terms:
        return None, 0.0
    return np.asarray(bm25.get_scores(terms), dtype=np.float32), len(terms) / len(all_terms)


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
    judged = judge(question_view(index, query, roles, scope=scope_mask(index, filters)), hits)
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
            )
        )
    return hits


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


__getattr__ = lazy_classes(__name__, {"MinutesRetriever": _retriever_class})
