"""Keyword side of the index: Japanese BM25 terms (Sudachi forms + character bigrams) and the
bm25s index over them.

Below both :mod:`rag.index` (which builds and stores the BM25 part) and :mod:`rag.retrieve`
(which scores queries with it), so neither has to import the other's stage.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from rag.morph import morphemes
from rag.question import JA_STOP_WORDS
from rag.text import nfkc

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
