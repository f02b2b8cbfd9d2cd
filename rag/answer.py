"""Cited answers: retrieval stays a visible step, then either the built-in extractive
answerer (default) or an optional LangChain chat model (``rag.llm``) writes the text.

Invariants of every ``Answer``:
- each ``Citation.quote`` is a verbatim substring of ``Citation.chunk.text``;
- the ``[n]`` markers in ``Answer.text`` and the citations are one-to-one (no marker without a
  citation, no citation without a marker);
- ``found=False`` answers have no citations; the nearest passages go to ``related``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from rag.config import Settings
from rag.errors import LLMError
from rag.glossary import english_keys, japanese_terms
from rag.text import detect_lang, nfkc, split_sentences, squash
from rag.types import (
    ROLE_ASSEMBLY_MEMBER,
    ROLE_CHAIR,
    ROLE_HEAD,
    ROLE_MEMBER,
    ROLE_META,
    ROLE_OFFICIAL,
    ROLE_SECRETARIAT,
    Answer,
    Chunk,
    Citation,
    Filters,
    Hit,
    Meeting,
    expand_roles,
)

log = logging.getLogger(__name__)

# --- Named thresholds (tuned on eval/minutes_gold.jsonl; see decide_found) ---------------
CANDIDATES = 10  # hits retrieved before selection (the answer cites at most MAX_CITATIONS)
MAX_CITATIONS = 3
# Refusal (decide_found). "lift" = cosine of the best passage minus the mean cosine of the
# query to all passages: how much the best passage stands out. Absolute cosines are not
# comparable across languages (e5 gives English questions ~0.05 lower cosines to Japanese
# text), the lift is.
DENSE_FLOOR = 0.74  # below this cosine nothing is an answer
SUPPORT_MIN = 0.026  # lift + keyword bonuses needed to answer
COVERAGE_WEIGHT = 0.04  # bonus per share of content terms found in one retrieved passage
AGREE_WEIGHT = 0.005  # bonus when dense and BM25 both rank a passage in their top AGREE_TOP
AGREE_TOP = 3
LIFT_SAMPLE = 20_000  # passages used for the mean cosine on large indexes
# Selection: further statements are cited only if nearly as relevant as the best one.
SELECT_MARGIN = 0.005  # in relevance = cosine + SELECT_COVERAGE_WEIGHT * coverage
SELECT_COVERAGE_WEIGHT = 0.015
SELECT_MIN_COVERAGE = 0.5

NOT_FOUND_JA = "議事録に該当する発言は見つかりませんでした。"
NOT_FOUND_EN = "The minutes contain no statement on this."
NO_OTHER_JA = "議事録には、これ以外に該当する発言は見つかりませんでした。"
NO_OTHER_EN = "The minutes contain no other statement on this."
FALLBACK_NOTE = (
    "LLM の回答を検証できなかったため、抽出型の回答を表示しています"
    " / The LLM answer could not be verified, so the extractive answer is shown."
)

# --- Question analysis ----------------------------------------------------------------

_TERM = re.compile(r"[a-z0-9][a-z0-9.+\-]*|[\u30a0-\u30ffー]+|[\u3400-\u9fff々〆]+")
_MARKER = re.compile(r"\[(\d+)\]")


def _words(s: str) -> set[str]:
    return set(s.split())


# Words that shape a question but say nothing about its topic.
_JA_STOP = _words(
    """何 誰 言 述 話 意見 発言 委員 事務局 座長 議長 会長 委員長 有識者 構成員 説明員 会議 議事録
    議事 内容 教 説明 関 対 点 方 事 等 時 際 今回 本 回 的 主 他 件 様 考 思 指摘 提案 声 者 人
    挙 触 述べ 話題 議論 質問 回答 答 尋 求 必要 大切 重要 可能 場合 以下 以上 次 前 中 各
    テーマ ところ もの こと"""
)
_EN_STOP = _words(
    """a an the of about on in at to for from by with and or but not no is are was were be been
    being do does did done doing have has had what which who whom whose when where why how
    whether that this these those there their they them it its any anyone anything some
    someone something say says said saying tell told mention mentioned mentions discuss
    discussed talk talked speak spoke comment comments commented opinion opinions think
    thought view views member members secretariat chair chairman chairperson official
    officials committee meeting meetings minutes please me my we our you your i regarding
    concerning get got give given like can could should would will shall may might must
    kind kinds sort type else other others also more most much many anything else
    statement statements raised point points question questions answer answers"""
)

# Meeting-info facets (asked about the meeting itself rather than what was said in it).
_FACETS: dict[str, re.Pattern[str]] = {
    "date": re.compile(
        r"いつ|日時|日付|開催日|何日|何月|日程|\bwhen\b|\bdate\b|what day", re.IGNORECASE
    ),
    "venue": re.compile(
        r"どこ|場所|会場|開催地|\bwhere\b|\bvenue\b|\blocation\b|\bplace\b", re.IGNORECASE
    ),
    "attendees": re.compile(
        r"出席|欠席|参加者|参加した|\battend|\babsent|\bparticipant"
        r"|who (?:was|were) (?:there|present)",
        re.IGNORECASE,
    ),
    "agenda": re.compile(r"議題|次第|\bagenda\b", re.IGNORECASE),
    "held": re.compile(r"開催|開かれ|\bheld\b|take place|took place|\bhold\b", re.IGNORECASE),
}
_FACET_WORDS = _words(
    """日時 日付 開催日 何日 何月 日程 場所 会場 開催地 開催 出席 出席者 参加者 参加 議題 次第 開
    when date day where venue location place attend attended attendees attendee participants
    participant present agenda held hold take took"""
)
# Meta statement text that answers each facet (matched on NFKC text).
_FACET_META = {
    "date": re.compile(r"日\s*時|開催日|日\s*程|\d{4}年|令和|平成|\d+月\d+日"),
    "venue": re.compile(r"場\s*所|会\s*場|開催地"),
    "attendees": re.compile(r"出\s*席|欠\s*席|欠\s*員|説明員|参加者|名簿"),
    "agenda": re.compile(r"議\s*題|次\s*第"),
}

# Role words in questions -> canonical role (only used when no explicit role filter is given).
_ROLE_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (ROLE_CHAIR, re.compile(r"座長|議長|委員長|会長|\bchair", re.IGNORECASE)),
    (ROLE_ASSEMBLY_MEMBER, re.compile(r"議員|assembly members?|councill?ors?", re.IGNORECASE)),
    (
        # "members" / 委員 are members of either kind (advisory 委員 or elected 議員).
        "議員・委員",
        re.compile(
            r"委員(?!会|長)|有識者|構成員|(?<!assembly )\bmembers?\b|\bexperts?\b", re.IGNORECASE
        ),
    ),
    (ROLE_HEAD, re.compile(r"知事|市長|町長|村長|\bgovernor\b|\bmayor\b", re.IGNORECASE)),
    (ROLE_SECRETARIAT, re.compile(r"事務局|secretariat", re.IGNORECASE)),
    (
        ROLE_OFFICIAL,
        re.compile(
            r"説明員|(?<!事務)局長|本部長|教育長|警視総監|消防総監|技監|市場長|\bofficials?\b",
            re.IGNORECASE,
        ),
    ),
]

_FOLLOWUP_JA = re.compile(r"^(?:(?:他|ほか)に(?:は|も)?|それ(?:について|で)?は?|では|じゃあ)")
_FOLLOWUP_EN = re.compile(
    r"^(?:and|what about|how about|anything else|what else|others?|any others?|more)\b",
    re.IGNORECASE,
)
_OTHERS = re.compile(r"(?:他|ほか)に|anything else|what else|\bothers?\b|\bmore\b", re.IGNORECASE)


def content_terms(text: str) -> list[str]:
    """The question's topic words: NFKC + lowercase, script runs (kanji / katakana / Latin),
    minus question words, role words and one-character kanji (too ambiguous to count)."""
    out: list[str] = []
    for t in _TERM.findall(nfkc(text).lower()):
        t = t.strip(".-+")
        if not t or t in _JA_STOP or t in _EN_STOP or t in _FACET_WORDS:
            continue
        if len(t) == 1:
            continue
        if t.isascii() and len(t) < 3 and not any(c.isdigit() for c in t) and t not in ("dx", "it"):
            continue
        if t not in out:
            out.append(t)
    return out


def term_coverage(terms: Sequence[str], text: str) -> float:
    """Share of ``terms`` present in ``text`` (NFKC, no whitespace, lowercase). Long kanji /
    katakana compounds count partially by their character bigrams, so 市民意識調査 still
    matches 市民意識."""
    if not terms:
        return 0.0
    hay = squash(text).lower()
    total = 0.0
    for t in terms:
        if t in hay:
            total += 1.0
        elif len(t) >= 3 and not t.isascii():
            grams = [t[i : i + 2] for i in range(len(t) - 1)]
            frac = sum(g in hay for g in grams) / len(grams)
            total += frac if frac >= 0.5 else 0.0
    return total / len(terms)


def infer_roles(question: str) -> tuple[str, ...]:
    """Role filter implied by the question (委員の意見 / what did members say / 事務局...).
    Empty when no role or several conflicting roles are mentioned."""
    found = [role for role, pat in _ROLE_PATTERNS if pat.search(nfkc(question))]
    return expand_roles(found) if len(found) == 1 else ()


def asked_facets(question: str) -> list[str]:
    q = nfkc(question)
    facets = [f for f, pat in _FACETS.items() if pat.search(q)]
    if "held" in facets:
        facets.remove("held")
        if not (set(facets) & {"date", "venue", "attendees", "agenda"}):
            facets += ["date", "venue"]
    return facets


def _meeting_keys(meeting: Meeting) -> set[str]:
    """Names a user may call a meeting by: place names in the title (北海道, 札幌(市)) and the
    longer Latin words of its id / file name (hokkaido, sapporo)."""
    keys: set[str] = set()
    title = squash(meeting.title)
    # The two kanji before 都/道/府/県/市/町/村/区 (回北海道 -> 北海道, 次札幌市 -> 札幌市).
    for m in re.finditer(r"([\u3400-\u9fff]{2,})(都|道|府|県|市|町|村|区)", title):
        name = m.group(1)[-2:] + m.group(2)
        keys.update((name, name[:-1]))
    generic = {"minutes", "meeting", "summary", "gijiroku", "youshi", "promotion", "strategy"}
    for w in re.findall(r"[a-z]{5,}", f"{meeting.id} {meeting.file}".lower()):
        if w not in generic and w not in {"corpus", "tests", "data", "docx", "text"}:
            keys.add(w)
    return keys


def mentioned_meetings(question: str, meetings: dict[str, Meeting]) -> list[str]:
    """Ids of the meetings the question names (by place name or id word)."""
    q = squash(question).lower()
    return [mid for mid, m in meetings.items() if any(k in q for k in _meeting_keys(m))]


def _scope_terms(
    terms: Sequence[str], meetings: Sequence[Meeting], whole_title: bool = True
) -> set[str]:
    """Terms that name a meeting rather than a topic: its place / id words (北海道, sapporo),
    and with ``whole_title`` any word of its title (推進会議, society5.0)."""
    out: set[str] = set()
    for m in meetings:
        keys = _meeting_keys(m)
        hay = squash(f"{m.title} {m.id} {m.file}").lower() if whole_title else ""
        for t in terms:
            if (hay and t in hay) or t in keys or any(len(k) >= 2 and k in t for k in keys):
                out.add(t)
    return out


# --- History (follow-ups) -------------------------------------------------------------


@dataclass(frozen=True)
class Turn:
    question: str
    answer: Answer | None = None


def normalize_history(history: Sequence[Any]) -> list[Turn]:
    """Accept ``[(question, Answer), ...]`` (the CLI / API form) or Gradio "messages" dicts
    ``[{"role": "user"|"assistant", "content": str}, ...]``; returns user turns, oldest first."""
    turns: list[Turn] = []
    for item in history or ():
        if isinstance(item, dict):
            if item.get("role") == "user" and isinstance(item.get("content"), str):
                turns.append(Turn(item["content"]))
        elif isinstance(item, list | tuple) and len(item) == 2:
            q, a = item
            if isinstance(q, str):
                turns.append(Turn(q, a if isinstance(a, Answer) else None))
    return turns


def is_followup(question: str, meetings: dict[str, Meeting]) -> bool:
    """Short questions that only make sense with the previous one: 他には？ / and in Sapporo? /
    札幌では？ / what about the secretariat?"""
    q = nfkc(question).strip()
    if _FOLLOWUP_JA.search(q) or _FOLLOWUP_EN.search(q):
        return True
    terms = content_terms(q)
    rest = [t for t in terms if t not in _scope_terms(terms, list(meetings.values()))]
    return not rest and len(q) <= 20 and (bool(infer_roles(q)) or bool(terms) or "?" in q)


@dataclass(frozen=True)
class Resolved:
    question: str  # standalone question used for retrieval
    filters: Filters
    exclude: frozenset[str] = frozenset()  # chunk ids already cited (for 他には？)
    note: str | None = None


def resolve_followup(
    question: str,
    history: Sequence[Any],
    filters: Filters,
    meetings: dict[str, Meeting],
    llm: Any = None,
) -> Resolved:
    """Turn a follow-up into a standalone question. With a chat model it is rewritten by the
    model; without one the previous topic and filters carry over and the follow-up only changes
    the meeting / role it names (or asks for other statements)."""
    turns = normalize_history(history)
    if not turns:
        return Resolved(question, filters)
    if llm is not None:
        from rag.llm import rewrite_question

        try:
            rewritten = rewrite_question(llm, question, [t.question for t in turns])
        except LLMError:
            rewritten = ""
        if rewritten and rewritten != question:
            return Resolved(rewritten, filters, note=_interpreted_note(rewritten))
        return Resolved(question, filters)
    if not is_followup(question, meetings):
        return Resolved(question, filters)
    prev = turns[-1]
    base_q = prev.question
    prev_filters = prev.answer.filters if prev.answer is not None else Filters()
    new = filters
    if not filters.meetings:
        named = mentioned_meetings(question, meetings)
        new = replace(new, meetings=tuple(named) if named else prev_filters.meetings)
    if not filters.roles:
        new = replace(new, roles=infer_roles(question) or prev_filters.roles)
    for field_name in ("since", "until", "agenda"):
        if getattr(new, field_name) is None and getattr(prev_filters, field_name) is not None:
            new = replace(new, **{field_name: getattr(prev_filters, field_name)})
    # The previous question may name the old meeting: drop it from the query when the
    # follow-up moves to another meeting, so retrieval is not pulled back there.
    if new.meetings != prev_filters.meetings:
        for m in meetings.values():
            for k in sorted(_meeting_keys(m), key=len, reverse=True):
                if not k.isascii():
                    base_q = base_q.replace(k, "")
                else:
                    base_q = re.sub(rf"\b{re.escape(k)}\b", "", base_q, flags=re.IGNORECASE)
    exclude: frozenset[str] = frozenset()
    if _OTHERS.search(nfkc(question)) and prev.answer is not None:
        exclude = frozenset(c.chunk.id for c in prev.answer.citations)
    return Resolved(base_q, new, exclude, _interpreted_note(base_q))


def _interpreted_note(q: str) -> str:
    return f"前の質問を踏まえて「{q}」として検索しました / Searched as a follow-up: “{q}”"


# --- Evidence and the refusal decision -------------------------------------------------


@dataclass(frozen=True)
class Evidence:
    dense_top: float  # best dense cosine among the candidates (0 when unknown)
    lift: float  # dense_top minus the query's mean cosine to all passages
    agree: bool  # dense and BM25 (with a positive score) both rank a passage near the top
    coverage: float  # best share of content terms found in one candidate passage
    n_terms: int  # content terms of the question (after removing meeting names)
    bm25_top: float = 0.0

    @property
    def support(self) -> float:
        return self.lift + COVERAGE_WEIGHT * self.coverage + (AGREE_WEIGHT if self.agree else 0.0)


def mean_cosine(index: Any, query: str) -> float | None:
    """The query's mean cosine to the indexed passages (a sample on large indexes), or None
    when the index has no vectors (then the candidates' own mean stands in)."""
    vectors = getattr(index, "vectors", None)
    if vectors is None or not hasattr(index, "embedder") or len(vectors) == 0:
        return None
    import numpy as np

    v = np.asarray(vectors)
    if len(v) > LIFT_SAMPLE:
        v = v[:: len(v) // LIFT_SAMPLE + 1]
    q = index.embedder().embed_queries([query])[0]
    return float((v @ q).mean())


def gather_evidence(
    hits: Sequence[Hit], terms: Sequence[str], mean_cos: float | None = None
) -> Evidence:
    dense = [h.dense_score for h in hits if h.dense_score is not None]
    bm25 = [h.bm25_score for h in hits if h.bm25_score is not None]
    top_dense = {h.chunk.id for h in hits if h.dense_rank is not None and h.dense_rank <= AGREE_TOP}
    top_bm25 = {
        h.chunk.id
        for h in hits
        if h.bm25_rank is not None and h.bm25_rank <= AGREE_TOP and (h.bm25_score or 0) > 0
    }
    coverage = max((term_coverage(terms, _passage_text(h.chunk)) for h in hits), default=0.0)
    top = max(dense, default=0.0)
    if mean_cos is None:
        mean_cos = sum(dense) / len(dense) if dense else top
    return Evidence(
        dense_top=top,
        lift=top - mean_cos,
        agree=bool(top_dense & top_bm25),
        coverage=coverage,
        n_terms=len(terms),
        bm25_top=max(bm25, default=0.0),
    )


def decide_found(ev: Evidence) -> bool:
    """The single refusal decision. Dense similarity says "this passage is about the same
    thing" across languages and paraphrases, but only its lift over the query's average
    similarity is comparable between questions; keyword evidence (content terms present in a
    retrieved passage; dense and BM25 agreeing on a passage) adds to it. Under the cosine
    floor nothing answers."""
    return ev.dense_top >= DENSE_FLOOR and ev.support >= SUPPORT_MIN


def _passage_text(c: Chunk) -> str:
    return " ".join(x for x in (c.text, c.topic or "", c.agenda or "") if x)


# --- Sentence choice ------------------------------------------------------------------


def _sentence_spans(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    pos = 0
    for s in split_sentences(text):
        start = text.find(s, pos)
        if start < 0:
            continue
        end = start + len(s)
        # Trim surrounding whitespace so the quote starts and ends on text.
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            spans.append((start, end))
        pos = end
    return spans or [(0, len(text.strip()))]


_ANNOUNCEMENT = re.compile(
    r"(?:についての|に関する)(?:ご質問|お尋ね|ご提案)"
    r"(?:でございます|がございました|であります|がありました|です)。$"
)


def best_quote(
    chunk: Chunk, terms: Sequence[str], sims: dict[str, float] | None = None, max_chars: int = 220
) -> str:
    """The most relevant sentence(s) of ``chunk.text``, verbatim: term overlap first, then
    embedding similarity (``sims``: sentence -> cosine) when given, then position. A very short
    best sentence is extended with the next one so the quote stands on its own."""
    text = chunk.text
    spans = _sentence_spans(text)
    if len(spans) == 1:
        s, e = spans[0]
        return text[s:e] if e - s <= max_chars else _window(text[s:e], terms, max_chars)

    def score(i: int) -> tuple[float, float, float]:
        s, e = spans[i]
        sent = text[s:e]
        cov = term_coverage(terms, sent)
        sim = (sims or {}).get(sent, 0.0)
        return (round(cov + sim, 6), cov, -i)

    best = max(range(len(spans)), key=score)
    s, e = spans[best]
    # Too short to stand alone, or only the announcement of an answer (「…についてのお尋ねで
    # ございます。」): the next sentence carries the answer.
    if (e - s < 25 or _ANNOUNCEMENT.search(text[s:e])) and best + 1 < len(spans):
        e = spans[best + 1][1]
    quote = text[s:e]
    return quote if len(quote) <= max_chars else _window(quote, terms, max_chars)


def _window(sentence: str, terms: Sequence[str], max_chars: int) -> str:
    """A verbatim clause window of an over-long sentence around its first matching term."""
    low = nfkc(sentence).lower()
    at = min((low.find(t) for t in terms if t in low), default=0)
    at = max(at, 0)
    start = max(0, sentence.rfind("、", 0, max(0, at - max_chars // 3)) + 1)
    return sentence[start : start + max_chars]


def _sentence_sims(question: str, chunks: Sequence[Chunk], settings: Settings) -> dict[str, float]:
    """Cosine between the question and each sentence of the chunks, with the cached embedder.
    Optional: any failure (no model yet) just leaves sentence choice to term overlap."""
    sents = sorted({chunk.text[s:e] for chunk in chunks for s, e in _sentence_spans(chunk.text)})
    if len(sents) <= len(chunks):
        return {}
    try:
        from rag.embed import get_embedder

        emb = get_embedder(settings)
        q = emb.embed_queries([question])[0]
        p = emb.embed_passages(sents)
        sims = p @ q
        # Spread matters, not the absolute level: rescale so the best sentence gets +0.5.
        lo, hi = float(sims.min()), float(sims.max())
        span = (hi - lo) or 1.0
        return {s: 0.5 * (float(v) - lo) / span for s, v in zip(sents, sims, strict=True)}
    except Exception as exc:  # the quote is still verbatim without it
        log.debug("sentence similarity unavailable: %s", exc)
        return {}


# --- Selection and text ---------------------------------------------------------------


def relevance(h: Hit, terms: Sequence[str]) -> float:
    """Cosine plus the keyword bonus: the order in which statements are cited."""
    cov = term_coverage(terms, _passage_text(h.chunk)) if terms else 0.0
    return (h.dense_score or 0.0) + SELECT_COVERAGE_WEIGHT * cov


def select_hits(hits: Sequence[Hit], terms: Sequence[str], max_n: int = MAX_CITATIONS) -> list[Hit]:
    """The statements that answer, most relevant first: the best hit, plus hits nearly as
    relevant that share as many content terms; one per statement (split parts deduplicated);
    no meeting-info chunks."""
    pool = [h for h in hits if h.chunk.kind != "meta"]
    if not pool:
        return []
    scored = sorted(((relevance(h, terms), h) for h in pool), key=lambda x: -x[0])
    best_rel, best = scored[0]
    best_cov = term_coverage(terms, _passage_text(best.chunk)) if terms else 0.0
    need_cov = min(best_cov, SELECT_MIN_COVERAGE)
    out: list[Hit] = []
    seen: set[tuple[str, int]] = set()
    for rel, h in scored:
        key = (h.chunk.meeting_id, h.chunk.order)
        if key in seen:
            continue
        if out:
            if rel < best_rel - SELECT_MARGIN:
                break
            if need_cov > 0 and term_coverage(terms, _passage_text(h.chunk)) < need_cov:
                continue
        seen.add(key)
        out.append(h)
        if len(out) >= max_n:
            break
    return out


def meeting_label(title: str, number: int | None = None) -> str:
    """Short display name: NFKC, no fiscal-year prefix or document-type suffix, no spaces
    next to Japanese characters (令和４年度 第２回北海道 Society5.0推進会議 開催概要 →
    第2回北海道Society5.0推進会議)."""
    t = nfkc(title).strip()
    t = re.sub(r"^(?:令和|平成|昭和)\s*\d+\s*年度\s*", "", t)
    t = re.sub(r"\s*(?:開催概要|議事要旨|議事録|議事概要|会議録|概要)\s*$", "", t)
    t = re.sub(r"(?<=[^\x00-\x7f])\s+|\s+(?=[^\x00-\x7f])", "", t)
    if number is not None and not re.search(r"第\s*\d+\s*回", t):
        t = f"{t}（第{number}回）"
    return t


def _label_for(chunk: Chunk, meetings: dict[str, Meeting]) -> str:
    m = meetings.get(chunk.meeting_id)
    return meeting_label(chunk.title, m.meeting_number if m else None)


_JA_ROLE = {
    ROLE_MEMBER: ("委員から", "という意見がありました"),
    ROLE_ASSEMBLY_MEMBER: ("議員から", "という発言がありました"),
    ROLE_HEAD: ("知事・市長等から", "という答弁がありました"),
    ROLE_CHAIR: ("座長（議長）から", "という発言がありました"),
    ROLE_SECRETARIAT: ("事務局から", "という説明がありました"),
    ROLE_OFFICIAL: ("説明員から", "という説明がありました"),
}
_EN_ROLE = {
    ROLE_MEMBER: ("a member said", "members said"),
    ROLE_ASSEMBLY_MEMBER: ("an assembly member said", "assembly members said"),
    ROLE_HEAD: ("the governor / mayor answered", "the governor / mayor answered"),
    ROLE_CHAIR: ("the chair said", "the chair said"),
    ROLE_SECRETARIAT: ("the secretariat explained", "the secretariat explained"),
    ROLE_OFFICIAL: ("an official explained", "officials explained"),
}


def compose_text(
    groups: list[tuple[Chunk, list[tuple[int, str]]]], meetings: dict[str, Meeting], lang: str
) -> str:
    """Framing around the quotes, one sentence per (meeting, role) group, in order.
    ``groups``: (first chunk of the group, [(n, quote), ...])."""
    sentences: list[str] = []
    last_meeting: str | None = None
    for chunk, items in groups:
        label = _label_for(chunk, meetings)
        date = chunk.date
        same = chunk.meeting_id == last_meeting
        last_meeting = chunk.meeting_id
        if lang == "ja":
            where = "また、" if same else f"{label}{f'（{date}）' if date else ''}で"
            who, verb = _JA_ROLE.get(chunk.role, ("", "という発言がありました"))
            if who or not same:
                who += "、"
            quotes = "、".join(f"「{q}」[{n}]" for n, q in items)
            sentences.append(f"{where}{who}{quotes}{verb}。")
        else:
            single, plural = _EN_ROLE.get(chunk.role, ("the minutes record", "the minutes record"))
            who = plural if len(items) > 1 else single
            where = "Also" if same else f"At {label}{f' ({date})' if date else ''}"
            quotes = "; ".join(f"「{q}」 [{n}]" for n, q in items)
            sentences.append(f"{where}, {who}: {quotes}.")
    return "\n".join(sentences)


def extractive_answer(
    question: str,
    hits: Sequence[Hit],
    meetings: dict[str, Meeting],
    terms: Sequence[str],
    settings: Settings | None = None,
    filters: Filters | None = None,
) -> Answer:
    """Cite the selected statements with their most relevant sentence(s), grouped by meeting
    and speaker role, framed in the question's language."""
    lang = detect_lang(question)
    chosen = select_hits(hits, terms)
    if not chosen:
        return refusal(question, hits, filters)
    chunks = [h.chunk for h in chosen]
    sims = _sentence_sims(question, chunks, settings) if settings is not None else {}
    # Group by meeting, then role, keeping the order of each group's best hit.
    order: list[tuple[str, str]] = []
    members: dict[tuple[str, str], list[Chunk]] = {}
    for c in chunks:
        key = (c.meeting_id, c.role)
        if key not in members:
            order.append(key)
            members[key] = []
        members[key].append(c)
    order.sort(key=lambda k: next(i for i, c in enumerate(chunks) if c.meeting_id == k[0]))
    citations: list[Citation] = []
    groups: list[tuple[Chunk, list[tuple[int, str]]]] = []
    for key in order:
        items: list[tuple[int, str]] = []
        for c in members[key]:  # most relevant first
            n = len(citations) + 1
            quote = best_quote(c, terms, sims)
            citations.append(Citation(n=n, chunk=c, quote=quote))
            items.append((n, quote))
        groups.append((members[key][0], items))
    text = compose_text(groups, meetings, lang)
    citations = with_exchanges(citations, meetings)
    # Verbatim records: say which question an answer answers (and who answered a question).
    lines = list(dict.fromkeys(c.exchange for c in citations if c.exchange))
    if lines:
        text += "\n" + "\n".join(f"（{x}）" for x in lines)
    return Answer(
        question=question,
        text=text,
        citations=tuple(citations),
        found=True,
        mode="extractive",
        filters=filters or Filters(),
    )


def with_exchanges(citations: Sequence[Citation], meetings: dict[str, Meeting]) -> list[Citation]:
    """Citations of verbatim-record statements with their exchange line (rag.exchange)."""
    from rag.exchange import exchange_text

    out = []
    for c in citations:
        m = meetings.get(c.chunk.meeting_id)
        text = exchange_text(m, c.chunk.order) if m and c.chunk.utterance is not None else None
        out.append(replace(c, exchange=text) if text else c)
    return out


def refusal(
    question: str,
    hits: Sequence[Hit],
    filters: Filters | None = None,
    note: str | None = None,
    mode: str = "extractive",
) -> Answer:
    lang = detect_lang(question)
    return Answer(
        question=question,
        text=NOT_FOUND_JA if lang == "ja" else NOT_FOUND_EN,
        citations=(),
        found=False,
        mode=mode,
        related=tuple(h for h in hits if h.chunk.kind != "meta")[:3],
        note=note,
        filters=filters or Filters(),
    )


# --- Meeting info ---------------------------------------------------------------------


def is_meeting_info(question: str, meetings: dict[str, Meeting]) -> bool:
    """Asked about the meeting itself (when / where / agenda / attendees) and about nothing
    else: once the facet words and the meeting's own name are removed, no topic is left."""
    if not asked_facets(question):
        return False
    terms = content_terms(question)
    scope = _scope_terms(terms, list(meetings.values()))
    # A person on a roll (三宅しげき議員は欠席したか) is part of the meeting's facts, not a topic.
    people = {a.name for m in meetings.values() for a in m.attendance if len(a.name) >= 2}
    return not [
        t
        for t in terms
        if t not in scope
        and not (people and (t in ("議員", "委員") or any(f.search(t) for f in _FACETS.values())))
        and not any(t in p or p in t for p in people)
    ]


def _meta_value(chunk: Chunk) -> str:
    """The value of a meta statement (``日時：令和５年…`` -> ``令和５年…``): the label is the
    parser's, the value is the minutes' own text."""
    text = chunk.text.strip()
    head, sep, value = text.partition("：")
    if not sep:
        head, sep, value = text.partition(":")
    return value.strip() if sep and len(head) <= 8 and value.strip() else text


def _meta_label(chunk: Chunk) -> str:
    value = _meta_value(chunk)
    text = nfkc(chunk.text.strip())
    return text[: max(0, len(text) - len(nfkc(value)))] if value != chunk.text.strip() else ""


def _meta_quote(chunk: Chunk, max_chars: int = 160) -> str:
    """A verbatim part of the meta chunk to cite: its value, or the first item of a list
    the parser joined with ／ (each item is a line of the minutes; the joined list is not)."""
    value = _meta_value(chunk)
    first = value.split("／")[0].strip()
    return (first or value)[:max_chars]


_STATUS = {
    "出席": ("出席していました", "attended"),
    "欠席": ("欠席でした", "was absent"),
    "説明員": ("説明員として出席していました", "attended as an official"),
}


def _attendee_parts(
    question: str, meeting: Meeting, mine: list[Chunk], citations: list[Citation]
) -> list[tuple[str, str]]:
    """(ja, en) sentences for the people of the roll the question names, each citing the roll
    line that lists them (appended to ``citations``)."""
    q = squash(question)
    out: list[tuple[str, str]] = []
    for a in meeting.attendance:
        if len(a.name) < 2 or a.name not in q:
            continue
        chunk = next((c for c in mine if a.name in squash(c.text)), None)
        if chunk is None:
            continue
        at = chunk.text.find(a.name)
        start = chunk.text.rfind("、", 0, at) + 1 if at >= 0 else 0
        if chunk.text.rfind("：", 0, at) + 1 > start:
            start = chunk.text.rfind("：", 0, at) + 1
        quote = chunk.text[start : at + len(a.name)] if at >= 0 else a.name
        known = next((x for x in citations if x.chunk.id == chunk.id and x.quote == quote), None)
        if known is None:
            known = Citation(n=len(citations) + 1, chunk=chunk, quote=quote)
            citations.append(known)
        ja, en = _STATUS.get(a.status, ("出席していました", "attended"))
        label = _meta_label(chunk).rstrip("：: ")
        out.append(
            (
                f"{a.name}は{ja}（{label}「{quote}」[{known.n}]）",
                f"{a.name} {en} ({label} 「{quote}」 [{known.n}])",
            )
        )
    return out


def meeting_info_answer(
    question: str, index: Any, filters: Filters, settings: Settings
) -> Answer | None:
    """Answer from the meetings' meta statements (日時 / 場所 / 出席者 / 議題) with citations to
    their line spans. None when no meeting can be identified (retrieval then answers)."""
    meetings: dict[str, Meeting] = dict(getattr(index, "meetings", {}) or {})
    lang = detect_lang(question)
    ids = list(filters.meetings) if filters.meetings else mentioned_meetings(question, meetings)
    ids = [i for i in ids if i in meetings] or _resolve_meeting_refs(ids, meetings)
    if not ids:
        if len(meetings) == 1:
            ids = list(meetings)
        else:
            hits = _search(
                index, question, CANDIDATES, replace(filters, roles=(ROLE_META,)), settings
            )
            ids = list(dict.fromkeys(h.chunk.meeting_id for h in hits))[:1]
    if not ids:
        return None
    facets = [f for f in asked_facets(question) if f != "held"] or ["date", "venue"]
    meta_chunks = [c for c in getattr(index, "chunks", ()) if c.kind == "meta"]
    citations: list[Citation] = []
    sentences: list[str] = []
    for mid in ids[:3]:
        m = meetings[mid]
        label = meeting_label(m.title, m.meeting_number)
        mine = sorted((c for c in meta_chunks if c.meeting_id == mid), key=lambda c: c.order)
        parts_ja: list[str] = []
        parts_en: list[str] = []
        missing: list[str] = []
        for facet in facets:
            # Prefer a statement with the facts over one that points to an attachment (別添).
            # The parser's label (日時：/実施場所：/議題一覧：) says best what a meta statement is.
            matching = [c for c in mine if _FACET_META[facet].search(_meta_label(c))] or [
                c for c in mine if _FACET_META[facet].search(nfkc(c.text))
            ]
            matching.sort(key=lambda c: ("別添" in c.text, c.order))
            if facet == "attendees":
                named = _attendee_parts(question, m, mine, citations)
                if named:  # 「三宅しげき議員は欠席したか」: that person's line of the roll
                    parts_ja += [ja for ja, _ in named]
                    parts_en += [en for _, en in named]
                    continue
            c = matching[0] if matching else None
            if c is None:
                missing.append(facet)
                continue
            known = next((x for x in citations if x.chunk.id == c.id), None)
            if known is None:
                known = Citation(n=len(citations) + 1, chunk=c, quote=_meta_quote(c))
                citations.append(known)
            q, n = known.quote, known.n
            if facet == "date":
                iso = f"{m.date}（" if m.date else ""
                parts_ja.append(f"開催日時は{iso}「{q}」[{n}]{'）' if m.date else ''}")
                parts_en.append(f"it was held on {m.date + ' ' if m.date else ''}(「{q}」 [{n}])")
            elif facet == "venue":
                parts_ja.append(f"場所は「{q}」[{n}]")
                parts_en.append(f"the venue was 「{q}」 [{n}]")
            elif facet == "attendees":
                parts_ja.append(f"出席者は「{q}」[{n}]")
                parts_en.append(f"the attendees are given as 「{q}」 [{n}]")
            else:
                items = [x.strip() for x in _meta_value(c).split("／") if x.strip()]
                rest = "／".join(items[1:])
                parts_ja.append(f"議題は「{q}」[{n}]" + (f"、{rest}" if rest else ""))
                parts_en.append(f"the agenda is 「{q}」 [{n}]" + (f", then {rest}" if rest else ""))
        names_ja = {"date": "開催日時", "venue": "場所", "attendees": "出席者", "agenda": "議題"}
        names_en = {"date": "the date", "venue": "the venue", "attendees": "attendees",
                    "agenda": "the agenda"}  # fmt: skip
        if lang == "ja":
            if parts_ja:
                sentences.append(f"{label}の" + "、".join(parts_ja) + "です。")
            if missing:
                sentences.append(
                    f"{label}の議事録には"
                    + "・".join(names_ja[f] for f in missing)
                    + "の記載がありません。"
                )
        else:
            if parts_en:
                sentences.append(f"For {label}, " + "; ".join(parts_en) + ".")
            if missing:
                sentences.append(
                    f"The minutes of {label} do not state "
                    + " or ".join(names_en[f] for f in missing)
                    + "."
                )
    if not sentences:
        return None
    return Answer(
        question=question,
        text="\n".join(sentences),
        citations=tuple(citations),
        found=bool(citations),
        mode="meeting-info",
        filters=filters,
    )


def _resolve_meeting_refs(refs: Sequence[str], meetings: dict[str, Meeting]) -> list[str]:
    """Filters.meetings may hold ids, file names or title substrings (as retrieval accepts)."""
    out: list[str] = []
    for ref in refs:
        r = squash(ref).lower()
        for mid, m in meetings.items():
            if (
                r
                and (r in squash(m.file).lower() or r in squash(m.title).lower())
                and mid not in out
            ):
                out.append(mid)
    return out


# --- Entry points ---------------------------------------------------------------------


def _search(index: Any, query: str, k: int, filters: Filters, settings: Settings) -> list[Hit]:
    from rag.retrieve import search

    return list(search(index, query, k=k, filters=filters, settings=settings))


def _resolve_llm(llm: Any, settings: Settings) -> tuple[Any, str | None]:
    """The chat model to use (given, or built from settings), or None plus a note."""
    if llm is not None or not settings.llm_provider:
        return llm, None
    from rag.llm import make_chat_model

    try:
        return make_chat_model(settings), None
    except LLMError as exc:
        return None, str(exc)


def answer(
    question: str,
    index: Any,
    filters: Filters | None = None,
    history: Sequence[Any] = (),
    settings: Settings | None = None,
    llm: Any = None,
) -> Answer:
    """Answer ``question`` from the minutes in ``index`` with citations.

    ``history``: earlier turns, oldest first, either ``[(question, Answer), ...]`` or Gradio
    "messages" dicts (``{"role": "user"|"assistant", "content": str}``); only user questions
    (and the previous Answer's filters and citations, when given) are used.
    ``llm``: a LangChain chat model; by default one is built from ``settings.llm_provider``,
    and with none configured the built-in extractive answerer writes the answer."""
    result: Answer | None = None
    for item in answer_stream(question, index, filters, history, settings, llm):
        if isinstance(item, Answer):
            result = item
    assert result is not None  # answer_stream always ends with an Answer
    return result


def answer_stream(
    question: str,
    index: Any,
    filters: Filters | None = None,
    history: Sequence[Any] = (),
    settings: Settings | None = None,
    llm: Any = None,
) -> Iterator[str | Answer]:
    """Like ``answer`` but yields ``str`` text deltas first, then the final ``Answer``.
    The deltas are a preview: the final ``Answer.text`` is authoritative (after an LLM answer
    fails validation it differs from what was streamed) and should replace the preview."""
    if settings is None:
        from rag.config import load_settings

        settings = load_settings()
    filters = filters or Filters()
    question = question.strip()
    meetings: dict[str, Meeting] = dict(getattr(index, "meetings", {}) or {})
    model, llm_note = _resolve_llm(llm, settings)

    resolved = resolve_followup(question, history, filters, meetings, model)
    query, eff = resolved.question, resolved.filters
    notes = [n for n in (resolved.note, llm_note) if n]

    # Role the question asks about (委員の意見 / what did the secretariat say).
    if not eff.roles:
        eff = replace(eff, roles=infer_roles(query))

    if is_meeting_info(query, meetings):
        info = meeting_info_answer(query, index, replace(eff, roles=()), settings)
        if info is not None:
            yield from _final(info, question, notes)
            return

    # A named meeting narrows retrieval only when the question clearly refers to it.
    if not eff.meetings:
        named = mentioned_meetings(query, meetings)
        if len(named) == 1 and _names_meeting_explicitly(query, meetings[named[0]]):
            eff = replace(eff, meetings=tuple(named))

    all_hits = _search(index, query, max(CANDIDATES, settings.k), eff, settings)
    terms = content_terms(query)
    # Place names select a meeting; they are not evidence that the topic was discussed.
    scope = _scope_terms(terms, list(meetings.values()), whole_title=False)
    terms = [t for t in terms if t not in scope]
    # Whether the minutes address the topic is judged on all hits; 他には？ then answers from
    # the statements not cited before.
    ev = gather_evidence(all_hits, terms, mean_cosine(index, query) if all_hits else None)
    log.debug("evidence %s", ev)
    hits = [h for h in all_hits if h.chunk.id not in resolved.exclude]
    # Which statements to quote: an English question's own words rarely occur in Japanese
    # minutes, so its glossary terms (the ones retrieval searched with) rank the statements.
    # The refusal decision above keeps the question's own terms: it was calibrated on them.
    if detect_lang(query) == "en":
        glossed = japanese_terms(query)
        if glossed:
            # The translated English words cannot occur in Japanese text; keep the others
            # (names such as FIWARE) and add the Japanese terms.
            translated = set(content_terms(" ".join(english_keys(query))))
            extra = content_terms(" ".join(glossed))
            terms = [t for t in terms if t not in translated]
            terms += [t for t in extra if t not in terms and t not in scope]
    if not hits or not decide_found(ev):
        r = refusal(question, hits or all_hits, eff)
        if resolved.exclude and all_hits and decide_found(ev):
            r = replace(r, text=NO_OTHER_JA if detect_lang(question) == "ja" else NO_OTHER_EN)
        yield from _final(r, question, notes)
        return

    if model is not None:
        from rag.llm import llm_answer_stream

        final: Answer | None = None
        try:
            for item in llm_answer_stream(model, question, query, hits, meetings, settings, eff):
                if isinstance(item, str):
                    yield item
                else:
                    final = item
        except LLMError as exc:
            notes.append(f"{exc} 抽出型の回答を表示しています / Showing the extractive answer.")
            a = extractive_answer(question, hits, meetings, terms, settings, eff)
            yield from _final(replace(a, mode="llm-fallback"), question, notes)
            return
        if final is None:  # invalid twice: the built-in answer, visibly marked
            final = replace(
                extractive_answer(question, hits, meetings, terms, settings, eff),
                mode="llm-fallback",
                note=FALLBACK_NOTE,
            )
        # The streamed text was a preview; only the final Answer is emitted now.
        final = replace(final, citations=tuple(with_exchanges(final.citations, meetings)))
        yield _with_notes(final, question, notes)
        return

    yield from _final(
        extractive_answer(question, hits, meetings, terms, settings, eff), question, notes
    )


def _with_notes(a: Answer, question: str, notes: Sequence[str]) -> Answer:
    if notes:
        a = replace(a, note=" ".join([*notes, a.note] if a.note else notes))
    return replace(a, question=question)


def _final(a: Answer, question: str, notes: Sequence[str]) -> Iterator[str | Answer]:
    """Stream a finished answer's text in pieces, then the Answer itself."""
    a = _with_notes(a, question, notes)
    yield from _pieces(a.text)
    yield a


def _names_meeting_explicitly(question: str, meeting: Meeting) -> bool:
    """札幌では / 北海道の会議 / in Sapporo / the Hokkaido meeting — not a place that is only
    the topic (北海道の人手不足)."""
    q = squash(question).lower()
    for k in _meeting_keys(meeting):
        k = k.lower()
        if re.search(rf"{re.escape(k)}(?:市|道)?(?:では|で|の(?:\S{{0,8}}?)会議|会議|meeting)", q):
            return True
        if k.isascii() and re.search(rf"(?:in|at|from|of)(?:the)?{re.escape(k)}", q):
            return True
    return False


def _pieces(text: str) -> Iterator[str]:
    """Sentence-sized deltas for the extractive text (the UI streams them)."""
    yield from text.splitlines(keepends=True)


def check_answer(a: Answer) -> list[str]:
    """Invariant problems of an answer (empty = fine): markers one-to-one with citations,
    quotes verbatim. Used by tests and as a guard before returning LLM answers."""
    problems: list[str] = []
    marks = [int(m) for m in _MARKER.findall(a.text)]
    ns = [c.n for c in a.citations]
    if sorted(set(marks)) != sorted(ns):
        problems.append(f"markers {sorted(set(marks))} != citations {ns}")
    if len(set(ns)) != len(ns):
        problems.append("duplicate citation numbers")
    for c in a.citations:
        if not c.quote or c.quote not in c.chunk.text:
            problems.append(f"[{c.n}] quote is not verbatim")
    if not a.found and a.citations:
        problems.append("refusal with citations")
    return problems
