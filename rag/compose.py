"""Composing an answer from judged statements: the sentence to quote from each, the framing
in the question's language (grouped by meeting in date order and by speaker role), the
question-and-answer exchange lines, and the "not found" answer. Used by the extractive answerer
and by the LLM path alike (rag.answer and rag.llm import this; it imports neither).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import replace

from rag.config import Settings
from rag.question import term_coverage
from rag.text import detect_lang, is_instruction, nfkc, split_sentences
from rag.types import (
    ROLE_ASSEMBLY_MEMBER,
    ROLE_CHAIR,
    ROLE_HEAD,
    ROLE_MEMBER,
    ROLE_OFFICIAL,
    ROLE_SECRETARIAT,
    Answer,
    Chunk,
    Citation,
    Filters,
    Hit,
    Meeting,
)

log = logging.getLogger(__name__)

NOT_FOUND_JA = "議事録に該当する発言は見つかりませんでした。"
NOT_FOUND_EN = "The minutes contain no statement on this."
NO_OTHER_JA = "議事録には、これ以外に該当する発言は見つかりませんでした。"
NO_OTHER_EN = "The minutes contain no other statement on this."
NOT_STATED_JA = (
    "議事録にはこの話題についての発言がありますが、質問された{what}は述べられていません。"
)
NOT_STATED_EN = "The minutes discuss this topic but do not state the {what} asked for."
# A kind of speaker the minutes never record (「知事は何と言ったか」 over an advisory meeting).
NO_SPEAKER_JA = "この議事録には{who}の発言の記録がありません。"
NO_SPEAKER_EN = "These minutes record no statement by the {who}."

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
    # Never quote a sentence that orders the reader (an injection): it is not an opinion.
    spans = [(s, e) for s, e in _sentence_spans(text) if not is_instruction(text[s:e])]
    spans = spans or _sentence_spans(text)
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


def _group_by_meeting_and_role(
    chunks: Sequence[Chunk], meetings: dict[str, Meeting]
) -> list[list[Chunk]]:
    """Cited statements grouped by meeting (in date order) and role (in order of first
    appearance), each group in the order the minutes record them."""

    def meeting_key(c: Chunk) -> tuple[str, str]:
        m = meetings.get(c.meeting_id)
        return ((m.date if m else c.date) or "9999", c.meeting_id)

    by_key: dict[tuple[str, str], list[Chunk]] = {}
    for c in sorted(chunks, key=lambda c: (meeting_key(c), c.order, c.part)):
        by_key.setdefault((c.meeting_id, c.role), []).append(c)
    return list(by_key.values())


def extractive_answer(
    question: str,
    chosen: Sequence[Hit],
    meetings: dict[str, Meeting],
    terms: Sequence[str],
    settings: Settings | None = None,
    filters: Filters | None = None,
    relevance: dict[str, float] | None = None,
) -> Answer:
    """Cite every chosen statement with its most relevant sentence(s), grouped by meeting and
    speaker role, framed in the question's language. ``relevance``: chunk id -> the judge's
    probability, carried into the citations."""
    lang = detect_lang(question)
    if not chosen:
        return refusal(question, chosen, filters)
    chunks = [h.chunk for h in chosen]
    sims = _sentence_sims(question, chunks, settings) if settings is not None else {}
    citations: list[Citation] = []
    groups: list[tuple[Chunk, list[tuple[int, str]]]] = []
    for group in _group_by_meeting_and_role(chunks, meetings):
        items: list[tuple[int, str]] = []
        for c in group:
            n = len(citations) + 1
            quote = best_quote(c, terms, sims)
            citations.append(
                Citation(n=n, chunk=c, quote=quote, relevance=(relevance or {}).get(c.id))
            )
            items.append((n, quote))
        groups.append((group[0], items))
    text = compose_text(groups, meetings, lang)
    citations = with_exchanges(citations, meetings)
    # Say which question an answer answers (and, in verbatim records, who answered a question).
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
    """Citations of verbatim-record statements with their exchange line (rag.exchange); in
    summary minutes, a cited reply whose question is not cited too (a role filter kept it out:
    「事務局は何と答えたか」) says which question it answers."""
    from rag.exchange import exchange_text

    cited = {(c.chunk.meeting_id, c.chunk.order) for c in citations}
    out = []
    for c in citations:
        m, ch = meetings.get(c.chunk.meeting_id), c.chunk
        shown = ch.utterance is not None or (
            ch.answers_to is not None and (ch.meeting_id, ch.answers_to) not in cited
        )
        text = exchange_text(m, ch.order) if m and shown else None
        out.append(replace(c, exchange=text) if text else c)
    return out


def refusal(
    question: str,
    hits: Sequence[Hit],
    filters: Filters | None = None,
    note: str | None = None,
    mode: str = "extractive",
    unstated: Sequence[tuple[str, str]] = (),
) -> Answer:
    """The "not found" answer; ``hits`` are shown as related passages that do not answer.
    ``unstated``: (Japanese, English) names of what was asked and is not stated (a near miss:
    the topic is discussed, the number is not)."""
    lang = detect_lang(question)
    if unstated:
        what = (
            "・".join(ja for ja, _ in unstated)
            if lang == "ja"
            else " or ".join(en for _, en in unstated)
        )
        text = (NOT_STATED_JA if lang == "ja" else NOT_STATED_EN).format(what=what)
    else:
        text = NOT_FOUND_JA if lang == "ja" else NOT_FOUND_EN
    return Answer(
        question=question,
        text=text,
        citations=(),
        found=False,
        mode=mode,
        related=tuple(h for h in hits if h.chunk.kind != "meta")[:3],
        note=note,
        filters=filters or Filters(),
    )
