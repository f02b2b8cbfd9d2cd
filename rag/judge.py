"""Relevance judgement: the probability that a retrieved passage addresses the question.

The judge reads each candidate passage against the question (dense cosine and its margins,
BM25, idf-weighted coverage of the question's topic words, whether its rarest word occurs in
the passage or anywhere in the minutes, numbers, speaker role and reply/question agreement)
and a small logistic model learned offline (``scripts/train_judge.py``, data card in
``rag/models/judge.md``) turns those features into a probability. Answerability, ranking and
which statements an answer cites all follow from these probabilities; no threshold here is
set by hand: the model file carries them with the rule that chose them.

Depends only on rag.types / rag.text / rag.question and numpy (the embedder is reached
through the index object), so the answer stages above can call it without a cycle.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from rag.asked import KINDS, asked_kinds, held_kinds
from rag.exchange import exchange_links
from rag.question import asks_reply, contains, folded, judge_terms, meeting_keys, numbers
from rag.text import detect_lang
from rag.types import (
    ROLE_CHAIR,
    ROLE_META,
    ROLE_SECRETARIAT,
    Hit,
    Judged,
)

MODEL_FILE = Path(__file__).with_name("models") / "judge.json"

# Roles whose statements answer others' questions. Assembly roles (head of government,
# officials) are matched by name so this module does not depend on which roles exist.
_REPLY_ROLES = {ROLE_SECRETARIAT, "説明員", "首長"}
# Labels that every statement of a kind carries: naming them does not single out a speaker.
_GENERIC_LABELS = frozenset(
    [
        "委員",
        "議員",
        "事務局",
        "議長",
        "副議長",
        "座長",
        "委員長",
        "会長",
        "説明員",
        "構成員",
        "有識者",
        "会議情報",
        "unknown",
    ]
)
# How many passages the mean cosine of a query is estimated on (a fixed-stride sample of large
# indexes; the mean of 20k cosines is stable to ~1e-3, far below the features' spread).
MEAN_SAMPLE = 20_000
# A topic word this long is a compound naming a thing (気候変動, 無償化, cyber...), not an
# everyday word a paraphrase picks (計画, 役所): two-character words are the common case of
# Japanese vocabulary, which is why the line sits above them.
NAMED_MIN_CHARS = 3
# Ranks beyond the candidate list count as this (log-scaled), i.e. "not retrieved by that side".
MISSING_RANK = 100

FEATURES = (
    "cos",  # dense cosine of question and passage
    "lift",  # cos minus the question's mean cosine over the minutes
    "gap",  # cos minus the best candidate's cos
    "bm25_rel",  # BM25 score relative to the best candidate's (0 = no keyword match)
    "log_drank",
    "log_brank",
    "log_frank",  # rank in the hybrid (fused) order the judge re-ranks
    "cov",  # share of topic words in the passage (long compounds count by bigrams)
    "idf_cov",  # the same, weighted by each word's idf in these minutes
    "rare_in",  # the question's rarest word that the minutes know is in this passage
    "unknown",  # idf-weighted share of topic words that occur nowhere in the minutes
    # The same, counting only compounds of three or more characters (気候変動, 学校給食,
    # 介護保険料): a named topic absent from the minutes is not discussed there, while an
    # absent everyday word (計画, 世代, 役所) is often a paraphrase of one that is.
    # Out-of-fold AUC of the best probability, minutes 0.848 -> 0.853 (session 6).
    "unknown_named",
    "n_terms",
    "no_terms",
    "num_q",  # the question names a number
    "num_hit",  # share of its numbers that the passage names
    # Per kind of answer asked (rag/asked.py: when, amount, who, where, org, decided, name):
    # the question asks for it, and it does but this passage holds nothing of that kind.
    *(f"{k}_asked" for k in KINDS),
    *(f"{k}_missing" for k in KINDS),
    "role_asked",
    "role_match",
    "reply_asked",
    "is_reply",
    "reply_match",
    "speaker_hit",  # the passage's speaker (知事, 小池, 事務局...) is named in the question
    # The other side of the exchange (a reply's question, a question's reply) among the
    # candidates: "what did the governor answer on X" matches the member's question best, and
    # its reply is relevant through it (and the other way round).
    "partner_gap",  # best partner candidate's cos minus the best candidate's (-1: none)
    "partner_cov",  # best partner candidate's idf-weighted topic-word coverage (0: none)
    "is_en",
    "en_lift",
    "en_idf_cov",
    "len_log",
    "is_meta",
    "is_proc",
    # Late interaction (rag.late): how well each question token finds its match in the
    # passage (mean and lower quartile over the question's tokens), minus the best
    # candidate's: it tells which candidates match, not whether any does. Absolute levels
    # are left out: an English question's tokens match Japanese text less closely than a
    # Japanese question's, and with them the judge refused more answerable English questions
    # (BENCHMARKS.md, session 12).
    "late_gap",
    "late_q25_gap",
)
# What decides whether the minutes answer at all: every feature before the late-interaction
# ones (those come last, so a model over this prefix reads the full rows unchanged). The late
# features re-rank and choose citations, but on the held-out minutes sets they did not
# separate answerable from unanswerable questions any better (AUC 0.805 -> 0.799 over nine
# sets) while the threshold refitted with them refused more answerable questions (BENCHMARKS.md,
# session 12): the answer decision stays with the model without them.
ANSWER_FEATURES = FEATURES[: FEATURES.index("late_gap")]

# What the question asks, the same on every candidate's row: read once per question by the
# decision model.
QUESTION_FEATURES = tuple(
    f
    for f in FEATURES
    if f.endswith("_asked")
    or f in ("n_terms", "no_terms", "unknown", "unknown_named", "num_q", "is_en")
)
# Whether the minutes answer at all is a question about the whole candidate list, not one
# passage: the decision model reads how the passage models' probabilities are spread over
# the candidates (is the best one alone, do several agree), how the best candidate matches
# (cosine, topic-word coverage) and what the question asks. Late interaction enters only
# through the relevance model's probabilities: its absolute level depends on how a question is
# phrased (lower for English, and for 「何パーセントと示された」 against 「２２％」), and with it
# the decision refused such questions, at the same out-of-fold AUC (minutes 0.9155 with,
# 0.9168 without). Held-out answerability AUC over the nine minutes sets, best answer-model
# probability vs a decision model: 0.806 -> 0.869 (BENCHMARKS.md, session 13).
DECISION_FEATURES = (
    "answer_1",  # best answer-model probability (ANSWER_FEATURES)
    "answer_2",
    "answer_3",
    "relevance_1",  # best relevance-model probability (FEATURES)
    "relevance_2",
    "n_answer_05",  # candidates with answer probability > 0.05
    "n_relevance_10",  # candidates with relevance > 0.1
    "answer_log_ratio",  # log(best / second) answer probability
    "cos_top",  # of the best answer candidate
    "cos_max",
    "lift_top",
    "idf_cov_top",
    "idf_cov_max",
    "rare_in_top",
    "num_hit_top",
    # the kind of answer asked (a number, a date, a name…) is missing from the best candidate:
    # a near miss 「テレワーク実施率の目標値は？」 and the question 「テレワーク実施率は何％？」
    # find the same single statement, and only this tells them apart
    *(f"{k}_missing_top" for k in KINDS),
    *QUESTION_FEATURES,
)
# Counts of candidates that are at least weakly related: levels set once in the first
# experiment (session 13) and not tuned, well under the answer model's threshold (~0.17) and
# the cite threshold (~0.29), so statements near the topic count too.
ANSWER_COUNT_LEVEL = 0.05
RELEVANCE_COUNT_LEVEL = 0.1
DECISION_MONOTONE = {"answer_1": 1, "relevance_1": 1, **{f"{k}_missing_top": -1 for k in KINDS}}


# Direction in which each feature may move the probability (+1 up, -1 down, 0 free): learned
# trees are held to what the feature means (more of the question's words in the passage never
# makes it less relevant), so sparse corners of the data cannot flip a feature's sense.
MONOTONE = {
    "cos": 1, "lift": 1, "gap": 1, "bm25_rel": 1, "log_drank": -1, "log_brank": -1, "log_frank": -1,
    "cov": 1, "idf_cov": 1, "rare_in": 1, "unknown": -1, "unknown_named": -1, "num_hit": 1,
    "role_match": 1, "reply_match": 1, "speaker_hit": 1, "en_idf_cov": 1,
    "partner_gap": 1, "partner_cov": 1, "late_gap": 1, "late_q25_gap": 1,
    **{f"{k}_missing": -1 for k in KINDS},
}  # fmt: skip


@dataclass(frozen=True)
class QuestionView:
    """What the judge knows about a question, computed once per question."""

    text: str
    terms: tuple[str, ...]
    idf: tuple[float, ...]
    known: tuple[bool, ...]
    is_en: bool
    numbers: frozenset[str]
    roles: tuple[str, ...]
    reply: bool
    mean_cos: float


# --- corpus statistics -------------------------------------------------------------------


_cache_lock = threading.Lock()


def _folded_texts(index: Any) -> list[str]:
    """Searchable form of every chunk, made once per loaded index (kept on the object)."""
    texts = getattr(index, "_judge_texts", None)
    if texts is None:
        with _cache_lock:
            texts = getattr(index, "_judge_texts", None)
            if texts is None:
                texts = [folded(passage_text(c)) for c in index.chunks]
                index._judge_texts = texts
    return texts


def passage_text(chunk: Any) -> str:
    """The text a passage is judged on: its words plus the headings and speaker it sits under."""
    parts = (chunk.text, chunk.topic, chunk.agenda, chunk.role_label, chunk.speaker)
    return " ".join(p for p in parts if p)


def term_stats(
    index: Any, terms: Sequence[str], scope: np.ndarray | None = None
) -> tuple[list[float], list[bool]]:
    """Per term: idf over the minutes' passages (log((N+1)/(df+0.5))) and whether it occurs at
    all; over the chunks in ``scope`` (a mask: the meetings a filtered question is asked of)
    when given. Very large indexes are counted on a fixed-stride sample."""
    texts = _folded_texts(index)
    if scope is not None:
        texts = [t for t, keep in zip(texts, scope, strict=True) if keep]
    n = len(texts)
    step = max(1, n // MEAN_SAMPLE)
    sample = texts[::step]
    idf, known = [], []
    for t in terms:
        df = sum(1 for s in sample if contains(t, s) > 0) * step
        idf.append(math.log((n + 1) / (df + 0.5)))
        known.append(df > 0)
    return idf, known


def _latin_meeting_names(index: Any) -> frozenset[str]:
    """The Latin-letter names of the index's meetings (rag.question.meeting_keys: hokkaido,
    sapporo from their files), made once per loaded index."""
    names = getattr(index, "_judge_latin_names", None)
    if names is None:
        meetings = (getattr(index, "meetings", None) or {}).values()
        names = frozenset(k for m in meetings for k in meeting_keys(m) if k.isascii())
        index._judge_latin_names = names
    return names


def mean_cosine(index: Any, qvec: np.ndarray, scope: np.ndarray | None = None) -> float:
    vectors = np.asarray(index.vectors)
    if scope is not None:
        vectors = vectors[scope]
    if len(vectors) == 0:
        return 0.0
    if len(vectors) > MEAN_SAMPLE:
        vectors = vectors[:: len(vectors) // MEAN_SAMPLE + 1]
    return float((vectors @ qvec).mean())


def question_view(
    index: Any,
    question: str,
    roles: Sequence[str] = (),
    qvec: np.ndarray | None = None,
    scope: np.ndarray | None = None,
) -> QuestionView:
    """``scope``: mask of the chunks the question is asked of (meeting and date filters): a
    word found only in other meetings is unknown to these minutes, as in training, where an
    unanswerable question's article leaves the statistics too (scripts/train_judge.py)."""
    terms = judge_terms(question)
    if detect_lang(question) == "en":
        # "the Sapporo experts", "at the Hokkaido meeting": the meeting's own name, in letters
        # no Japanese passage holds, is no topic word the minutes lack.
        names = _latin_meeting_names(index)
        terms = [t for t in terms if t not in names]
    idf, known = term_stats(index, terms, scope)
    if qvec is None and len(index.chunks):
        from rag.translate import search_queries

        dense_query, _ = search_queries(question, index.settings.expand_dense)
        qvec = index.embedder().embed_queries([dense_query])[0]
    return QuestionView(
        text=question,
        terms=tuple(terms),
        idf=tuple(idf),
        known=tuple(known),
        is_en=detect_lang(question) == "en",
        numbers=frozenset(numbers(question)),
        roles=tuple(roles),
        reply=asks_reply(question),
        mean_cos=mean_cosine(index, qvec, scope) if qvec is not None else 0.0,
    )


# --- a topic the minutes never mention -----------------------------------------------------

# 「気候変動について委員の意見は？」 over minutes that never say 気候変動: when every topic word
# of a short question is a named compound found in no passage and no meeting title, the
# topic is not discussed, whatever the nearest passage scores. On the training questions
# (scripts/train_judge.py) this holds for 31 of 468 unanswerable minutes questions, 7 of 790
# tokyo, 32 of 822 JSQuAD, against 2 of 564, 0 of 271 and 1 of 894 answerable ones (the
# meeting-facts questions it also holds for are answered from the meeting's facts first).
# Past two topic words it caught few more (36 / 7 / 33 with three).
ABSENT_MAX_TERMS = 2


def unknown_terms(view: QuestionView, min_chars: int = 0) -> list[tuple[str, float]]:
    """(term, idf) of the question's topic words of at least ``min_chars`` characters that
    occur in none of the minutes' passages."""
    return [
        (t, w)
        for t, w, k in zip(view.terms, view.idf, view.known, strict=True)
        if not k and len(t) >= min_chars
    ]


def topic_absent(view: QuestionView, titles: str = "") -> bool:
    """The question's topic (at most ABSENT_MAX_TERMS words) is named words that occur in none
    of the minutes' passages (``view.known``) nor in ``titles`` (folded meeting titles)."""
    named = unknown_terms(view, NAMED_MIN_CHARS)
    return (
        0 < len(view.terms) <= ABSENT_MAX_TERMS
        and len(named) == len(view.terms)
        and all(t not in titles for t, _ in named)
    )


def names_no_topic_word(view: QuestionView, chunk: Any) -> bool:
    """A survey question (「XについてQの意見は？」) whose X has a named word the minutes never
    use (オリンピック in 「札幌オリンピック招致の予算について委員の意見は？」) and a passage that
    holds none of X's words: a statement that only sounds alike, not one on X. On the judge's
    out-of-fold training scores (session 10) the survey questions answered this way were 7
    unanswerable and no answerable one."""
    if not unknown_terms(view, NAMED_MIN_CHARS):
        return False
    hay = folded(passage_text(chunk))
    return not any(contains(t, hay) > 0 for t in view.terms)


# --- features ----------------------------------------------------------------------------


def _specific(name: str) -> bool:
    """A folded speaker name or label that names a person or an office, not a kind of speaker
    (委員, 事務局: every statement of that kind carries it)."""
    return len(name) >= 2 and name not in _GENERIC_LABELS


def is_reply(chunk: Any) -> bool:
    """The statement answers others: the secretariat's, an official's, or one the minutes tie to
    the question it answers."""
    return chunk.role in _REPLY_ROLES or chunk.answers_to is not None


def named_speaker(chunk: Any) -> bool:
    """The statement's speaker is a person or a specific office."""
    return _specific(folded(chunk.speaker or ""))


def _speaker_named(chunk: Any, question_folded: str) -> bool:
    for name in (chunk.role_label, chunk.speaker):
        name = folded(name or "")
        # 知事 in 小池知事は…; a person's family name (first two characters) in 増子議員の質問.
        # Generic role words (委員の意見は？) name a kind of speaker, not this one.
        if not _specific(name):
            continue
        if name in question_folded or (len(name) >= 3 and name[:2] in question_folded):
            return True
    return False


def passage_features(view: QuestionView, hits: Sequence[Hit]) -> np.ndarray:
    """One row of FEATURES per hit (same order)."""
    rows = np.zeros((len(hits), len(FEATURES)), dtype=np.float64)
    if not hits:
        return rows
    best_cos = max((h.dense_score or 0.0) for h in hits)
    best_bm25 = max((h.bm25_score or 0.0) for h in hits)
    late = [h.late or (0.0, 0.0) for h in hits]
    best_late = tuple(max(v) for v in zip(*late, strict=True))
    total_idf = sum(view.idf) or 1.0
    known_idf = [(w, t) for t, w, k in zip(view.terms, view.idf, view.known, strict=True) if k]
    rarest = max(known_idf)[1] if known_idf else None
    unknown = sum(w for _, w in unknown_terms(view)) / total_idf
    unknown_named = sum(w for _, w in unknown_terms(view, NAMED_MIN_CHARS)) / total_idf
    qf = folded(view.text)
    asks = asked_kinds(view.text)
    linked = exchange_links([h.chunk for h in hits])
    for i, h in enumerate(hits):
        c = h.chunk
        hay = folded(passage_text(c))
        cos = h.dense_score or 0.0
        present, idf_cov = _coverage(view, hay, total_idf)
        cov = sum(present) / len(present) if present else 0.0
        nums = numbers(c.text) if view.numbers else set()
        held = held_kinds(c.text, named_speaker(c), asks) if asks else frozenset()
        # By role only, as the judge was trained (is_reply also counts a statement the minutes
        # tie to a question: the verify step's wider sense).
        reply = c.role in _REPLY_ROLES
        role_match = bool(view.roles) and (
            c.role in view.roles or (c.role_label or "") in view.roles
        )
        # BM25 also matches the question's frame (委員, 意見, 述べ): its evidence counts only
        # when the passage holds at least one of the question's topic words.
        keyword = not view.terms or cov > 0
        f = {
            "cos": cos,
            "lift": cos - view.mean_cos,
            "gap": cos - best_cos,
            "bm25_rel": (h.bm25_score or 0.0) / best_bm25 if best_bm25 > 0 and keyword else 0.0,
            "log_drank": math.log1p(h.dense_rank or MISSING_RANK),
            "log_brank": math.log1p((h.bm25_rank if keyword else None) or MISSING_RANK),
            "log_frank": math.log1p(h.rank),
            "cov": cov,
            "idf_cov": idf_cov if view.terms else 0.0,
            "rare_in": float(rarest is not None and contains(rarest, hay) > 0),
            "unknown": unknown if view.terms else 0.0,
            "unknown_named": unknown_named if view.terms else 0.0,
            "n_terms": min(len(view.terms), 6),
            "no_terms": float(not view.terms),
            "num_q": float(bool(view.numbers)),
            "num_hit": len(view.numbers & nums) / len(view.numbers) if view.numbers else 0.0,
            **{f"{k}_asked": float(k in asks) for k in KINDS},
            **{f"{k}_missing": float(k in asks and k not in held) for k in KINDS},
            "role_asked": float(bool(view.roles)),
            "role_match": float(role_match),
            "reply_asked": float(view.reply),
            "is_reply": float(reply),
            "reply_match": float(view.reply and reply),
            "speaker_hit": float(_speaker_named(c, qf)),
            "partner_gap": -1.0,  # set below from the partners' own rows
            "partner_cov": 0.0,
            "is_en": float(view.is_en),
            "en_lift": (cos - view.mean_cos) if view.is_en else 0.0,
            "en_idf_cov": idf_cov if view.is_en else 0.0,
            "len_log": math.log1p(len(c.text)),
            "is_meta": float(c.role == ROLE_META or c.kind == "meta"),
            "is_proc": float(c.kind == "procedural" or c.role == ROLE_CHAIR),
            "late_gap": late[i][0] - best_late[0],
            "late_q25_gap": late[i][1] - best_late[1],
        }
        rows[i] = [f[name] for name in FEATURES]
    col = {name: FEATURES.index(name) for name in ("cos", "idf_cov", "partner_gap", "partner_cov")}
    for i, (h, js) in enumerate(zip(hits, linked, strict=True)):
        # Partners among the candidates are read from their rows, the others (hidden by a
        # role filter, or ranked below the candidates) from their text and cosine.
        cos = [rows[j, col["cos"]] for j in js] + [c for _, c in h.partners]
        cov = [rows[j, col["idf_cov"]] for j in js] + [
            _coverage(view, folded(passage_text(p)), total_idf)[1] for p, _ in h.partners
        ]
        if cos:
            rows[i, col["partner_gap"]] = max(cos) - best_cos
            rows[i, col["partner_cov"]] = max(cov) if view.terms else 0.0
    return rows


def _coverage(view: QuestionView, hay: str, total_idf: float) -> tuple[list[float], float]:
    """Per topic word, how far it occurs in ``hay`` (folded text), and the idf-weighted share."""
    present = [contains(t, hay) for t in view.terms]
    return present, sum(p * w for p, w in zip(present, view.idf, strict=True)) / total_idf


# --- the learned model -------------------------------------------------------------------


@dataclass(frozen=True)
class TreeEnsemble:
    """Gradient-boosted trees (fitted with scikit-learn's HistGradientBoostingClassifier and
    exported node by node), evaluated with numpy: no pickle and no scikit-learn at run time.
    Arrays are (trees, nodes), padded; a row goes left when its feature is <= the threshold."""

    baseline: float
    feature: np.ndarray
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    leaf: np.ndarray
    value: np.ndarray
    depth: int
    counts: tuple[int, ...]  # real nodes per tree (the rest is padding)

    def raw(self, rows: np.ndarray) -> np.ndarray:
        trees = np.arange(self.feature.shape[0])[:, None]
        cols = np.arange(len(rows))[None, :]
        node = np.zeros((len(trees), len(rows)), dtype=np.int64)
        for _ in range(self.depth):
            x = rows[cols, self.feature[trees, node]]
            nxt = np.where(
                x <= self.threshold[trees, node], self.left[trees, node], self.right[trees, node]
            )
            node = np.where(self.leaf[trees, node], node, nxt)
        return self.baseline + self.value[trees, node].sum(axis=0)

    def to_json(self) -> dict:
        trees = []
        for t, n in enumerate(self.counts):
            trees.append(
                [
                    [int(self.feature[t, i]), float(self.threshold[t, i]), int(self.left[t, i]),
                     int(self.right[t, i]), int(self.leaf[t, i]), float(self.value[t, i])]
                    for i in range(n)
                ]
            )  # fmt: skip
        return {"baseline": self.baseline, "depth": self.depth, "trees": trees}


def trees_from_json(data: dict) -> TreeEnsemble:
    trees = data["trees"]
    width = max(len(t) for t in trees)
    arr = np.zeros((len(trees), width, 6))
    arr[:, :, 4] = 1  # padding is a leaf of value 0, never reached
    for i, t in enumerate(trees):
        arr[i, : len(t)] = t
    return TreeEnsemble(
        baseline=float(data["baseline"]),
        feature=arr[:, :, 0].astype(np.int64),
        threshold=arr[:, :, 1],
        left=arr[:, :, 2].astype(np.int64),
        right=arr[:, :, 3].astype(np.int64),
        leaf=arr[:, :, 4].astype(bool),
        value=arr[:, :, 5],
        depth=int(data["depth"]),
        counts=tuple(len(t) for t in trees),
    )


@dataclass(frozen=True)
class RelevanceModel:
    """P(passage addresses the question) over FEATURES — standardised logistic regression or
    boosted trees, whichever the training script chose on its dev split — with the decision
    thresholds it chose there (see the data card)."""

    features: tuple[str, ...]
    answer_threshold: float  # best passage at or above this -> the minutes answer the question
    cite_threshold: float  # passages at or above this are cited as relevant
    meta: dict
    mean: np.ndarray | None = None  # logistic
    scale: np.ndarray | None = None
    coef: np.ndarray | None = None
    intercept: float = 0.0
    trees: TreeEnsemble | None = None  # boosted trees
    # The model whose best probability decides answerability (over ANSWER_FEATURES, with
    # ``answer_threshold``); None: this model's own.
    answer_model: RelevanceModel | None = None
    # Question-level: P(the minutes answer the question) over DECISION_FEATURES, its
    # ``answer_threshold`` the decision's (rag.answer); None: the best ``answerability``.
    decision_model: RelevanceModel | None = None

    def answerability(self, rows: np.ndarray) -> np.ndarray:
        """Per candidate, the probability the answer decision reads."""
        if self.answer_model is None:
            return self.predict(rows)
        return self.answer_model.predict(rows)

    def predict(self, rows: np.ndarray) -> np.ndarray:
        if len(rows) == 0:
            return np.zeros(0)
        rows = np.asarray(rows)[:, : len(self.features)]  # a prefix model reads its columns
        if self.trees is not None:
            z = self.trees.raw(np.asarray(rows, dtype=np.float64))
        else:
            z = ((rows - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def to_json(self) -> dict:
        out: dict[str, Any] = {
            "features": list(self.features),
            "answer_threshold": self.answer_threshold,
            "cite_threshold": self.cite_threshold,
            "meta": self.meta,
        }
        if self.answer_model is not None:
            out["answer_model"] = self.answer_model.to_json()
        if self.decision_model is not None:
            out["decision_model"] = self.decision_model.to_json()
        if self.trees is not None:
            out["trees"] = self.trees.to_json()
        else:
            out.update(
                mean=self.mean.tolist(),
                scale=self.scale.tolist(),
                coef=self.coef.tolist(),
                intercept=self.intercept,
            )
        return out


def model_from_json(data: dict, expected: tuple[str, ...] = FEATURES) -> RelevanceModel:
    features = tuple(data["features"])
    if features != expected:
        from rag.errors import ConfigError

        raise ConfigError(
            "関連度モデルの特徴量がこの版と一致しません。`python scripts/train_judge.py` で作り直してください。"
            " / The relevance model's features do not match this version:"
            " rebuild it with `python scripts/train_judge.py`."
        )
    common = {
        "features": features,
        "answer_threshold": float(data["answer_threshold"]),
        "cite_threshold": float(data["cite_threshold"]),
        "meta": dict(data.get("meta", {})),
    }
    if "answer_model" in data:
        common["answer_model"] = model_from_json(data["answer_model"], ANSWER_FEATURES)
    if "decision_model" in data:
        common["decision_model"] = model_from_json(data["decision_model"], DECISION_FEATURES)
    if "trees" in data:
        return RelevanceModel(**common, trees=trees_from_json(data["trees"]))
    return RelevanceModel(
        **common,
        mean=np.asarray(data["mean"], dtype=np.float64),
        scale=np.asarray(data["scale"], dtype=np.float64),
        coef=np.asarray(data["coef"], dtype=np.float64),
        intercept=float(data["intercept"]),
    )


@cache
def load_model(path: Path = MODEL_FILE) -> RelevanceModel:
    return model_from_json(json.loads(Path(path).read_text(encoding="utf-8")))


# Where decision_row reads its inputs in a FEATURES row.
_DECISION_COLUMNS: dict[str, Any] = {
    **{f: FEATURES.index(f) for f in ("cos", "lift", "idf_cov", "rare_in", "num_hit")},
    "missing": [FEATURES.index(f"{k}_missing") for k in KINDS],
    "question": [FEATURES.index(f) for f in QUESTION_FEATURES],
}


def decision_row(rows: np.ndarray, relevance: np.ndarray, answerable: np.ndarray) -> np.ndarray:
    """One row of DECISION_FEATURES for a question: ``rows`` its candidates' FEATURES rows,
    ``relevance`` / ``answerable`` the two models' probabilities."""
    col = _DECISION_COLUMNS
    a, r = np.sort(answerable)[::-1], np.sort(relevance)[::-1]
    a = np.concatenate([a, np.zeros(3)])  # fewer than three candidates: the rest score 0
    r = np.concatenate([r, np.zeros(2)])
    top = int(np.argmax(answerable))
    values = [
        a[0], a[1], a[2], r[0], r[1],
        float((answerable > ANSWER_COUNT_LEVEL).sum()),
        float((relevance > RELEVANCE_COUNT_LEVEL).sum()),
        math.log(a[0] + 1e-4) - math.log(a[1] + 1e-4),
        rows[top, col["cos"]], rows[:, col["cos"]].max(), rows[top, col["lift"]],
        rows[top, col["idf_cov"]], rows[:, col["idf_cov"]].max(),
        rows[top, col["rare_in"]], rows[top, col["num_hit"]],
        *rows[top, col["missing"]],
        *rows[0, col["question"]],
    ]  # fmt: skip
    return np.asarray(values, dtype=np.float64)


def _scored(
    view: QuestionView, hits: Sequence[Hit], model: RelevanceModel
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[Judged]]:
    """(feature rows, relevance, answerability, judged most relevant first; ties keep
    retrieval order)."""
    rows = passage_features(view, hits)
    probs, answerable = model.predict(rows), model.answerability(rows)
    judged = [
        Judged(hit=h, relevance=float(p), answerable=float(a))
        for h, p, a in zip(hits, probs, answerable, strict=True)
    ]
    return rows, probs, answerable, sorted(judged, key=lambda j: (-j.relevance, j.hit.rank))


def judge_question(
    view: QuestionView, hits: Sequence[Hit], model: RelevanceModel | None = None
) -> tuple[list[Judged], float | None]:
    """``judge`` plus the probability that the minutes answer the question at all (the
    decision model over DECISION_FEATURES; None when the model file has none)."""
    model = model or load_model()
    rows, probs, answerable, judged = _scored(view, hits, model)
    if model.decision_model is None or not len(hits):
        return judged, None
    row = decision_row(rows, probs, answerable)
    return judged, float(model.decision_model.predict(row[None, :])[0])


def judge(
    view: QuestionView, hits: Sequence[Hit], model: RelevanceModel | None = None
) -> list[Judged]:
    """Every hit with its probability of addressing the question, most relevant first
    (ties keep retrieval order)."""
    return _scored(view, hits, model or load_model())[3]
