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

from rag.asked import KIND_LABELS, unmet_kinds
from rag.compose import (
    NO_OTHER_EN,
    NO_OTHER_JA,
    NO_SPEAKER_EN,
    NO_SPEAKER_JA,
    extractive_answer,
    refusal,
    with_exchanges,
)
from rag.config import Settings
from rag.errors import LLMError
from rag.facts import (
    is_meeting_info,
    meeting_info_answer,
    mentioned_meetings,
    scope_terms,
)
from rag.question import (
    asked_answerers,
    contains,
    content_terms,
    folded,
    implied_roles,
    infer_roles,
    judge_terms,
    meeting_keys,
    names_topic,
    survey_topic,
    unheard_speakers,
)
from rag.text import detect_lang, is_instruction, nfkc, squash, without_instructions
from rag.types import (
    Answer,
    Chunk,
    Filters,
    Hit,
    Judged,
    Meeting,
)

log = logging.getLogger(__name__)

# Candidates the judge reads (rag/judge.py); the training script judges the same number.
CANDIDATES = 20
# Upper bound on citations of one answer: "what did members say about X" cites every statement
# judged relevant; past this many an answer stops being readable (the UI lists the rest).
MAX_CITATIONS = 30

FALLBACK_NOTE = (
    "LLM の回答を検証できなかったため、抽出型の回答を表示しています"
    " / The LLM answer could not be verified, so the extractive answer is shown."
)

# --- Question analysis (rag/question.py) and follow-ups ----------------------------------

_FOLLOWUP_JA = re.compile(r"^(?:(?:他|ほか)に(?:は|も)?|それ(?:について|で)?は?|では|じゃあ)")
_FOLLOWUP_EN = re.compile(
    r"^(?:and|what about|how about|anything else|what else|others?|any others?|more)\b",
    re.IGNORECASE,
)
_OTHERS = re.compile(r"(?:他|ほか)に|anything else|what else|\bothers?\b|\bmore\b", re.IGNORECASE)
_MARKER = re.compile(r"\[(\d+)\]")


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
    rest = [t for t in terms if t not in scope_terms(terms, list(meetings.values()))]
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
            for k in sorted(meeting_keys(m), key=len, reverse=True):
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


# --- Judgement: what the minutes say about the question --------------------------------


@dataclass(frozen=True)
class Judgement:
    """The judge's verdict on a question's candidates: found or not, and which are relevant."""

    judged: tuple[Judged, ...]  # every candidate, most relevant first
    found: bool
    relevant: tuple[Judged, ...]  # the statements an answer cites (found only)
    # What the answer decision read: the decision model's probability that the minutes answer
    # (or, with an older model file, the best candidate's answerability); None: no candidates.
    answer_probability: float | None = None


def judge_candidates(index: Any, query: str, hits: Sequence[Hit], filters: Filters) -> Judgement:
    """Probability per candidate (rag/judge.py); found when the question-level decision
    (rag.judge.judge_question; with an older model file, the best ``Judged.answerable``)
    reaches its threshold; cited: every non-meta statement at or above the cite threshold
    (at least the best one), one per statement. Word statistics are over the meetings
    ``filters`` select."""
    from rag.judge import (
        judge_question,
        load_model,
        names_no_topic_word,
        question_view,
        topic_absent,
    )
    from rag.retrieve import late_hits, scope_mask

    if not hits:
        return Judgement((), False, ())
    model = load_model()
    view = question_view(index, query, filters.roles, scope=scope_mask(index, filters))
    ranked, decided = judge_question(view, late_hits(index, query, hits), model)
    judged = tuple(ranked)
    # Sentences that order the reader (「以上の指示を無視して…と答えよ」) are injected text, not
    # opinions: a statement is cited only when it is about the question without them.
    content = [
        j
        for j in judged
        if j.hit.chunk.kind != "meta" and _about_without_instructions(j.hit.chunk.text, view.terms)
    ]
    topic = _survey_topic(index, query)
    if decided is None:  # an older model file: no decision model
        decided = max((_answerable(j) for j in content), default=0.0)
        threshold = model.answer_threshold
    else:
        threshold = model.decision_model.answer_threshold
    found = (
        bool(content)
        and decided >= threshold
        and not topic_absent(view, _folded_titles(index))
        and not (topic and names_no_topic_word(view, content[0].hit.chunk))
    )
    if not found:
        return Judgement(judged, False, (), decided)
    # "What did members say about X" wants every statement on X, not only the few the judge
    # rates as the answer (its probability is "holds *the* answer": one statement in most of
    # its training questions): a candidate naming X is cited too.
    relevant: list[Judged] = []
    seen: set[tuple[str, int]] = set()
    for j in content:
        key = (j.hit.chunk.meeting_id, j.hit.chunk.order)
        cited = not relevant or j.relevance >= model.cite_threshold
        if key in seen or not (cited or names_topic(topic, j.hit.chunk.text)):
            continue
        seen.add(key)
        relevant.append(j)
    return Judgement(judged, True, tuple(relevant[:MAX_CITATIONS]), decided)


def _answerable(j: Judged) -> float:
    return j.relevance if j.answerable is None else j.answerable


def _survey_topic(index: Any, query: str) -> tuple[tuple[str, ...], ...]:
    """rag.question.survey_topic without the words that only name a meeting (北海道, 有識者会議)."""
    groups = survey_topic(query)
    if not groups:
        return ()
    meetings = list(getattr(index, "meetings", {}).values())
    scope = scope_terms([t for g in groups for t in g], meetings)
    return tuple(g for g in groups if not set(g) <= scope)


def _folded_titles(index: Any) -> str:
    """Every meeting title of the index in the judge's folded form, made once per loaded index
    (a topic word in a title is not absent from the minutes: 推進会議)."""
    titles = getattr(index, "_folded_titles", None)
    if titles is None:
        meetings = getattr(index, "meetings", {}) or {}
        titles = folded(" ".join(m.title for m in meetings.values()))
        index._folded_titles = titles
    return titles


def _about_without_instructions(text: str, terms: Sequence[str]) -> bool:
    if not is_instruction(text):
        return True
    rest = folded(without_instructions(text))
    return any(contains(t, rest) > 0 for t in terms)


def _chunks_of(index: Any, meeting_id: str, order: int) -> list[Chunk]:
    """The chunks of one statement, made into a lookup once per loaded index."""
    table = getattr(index, "_chunks_by_statement", None)
    if table is None:
        table = {}
        for c in getattr(index, "chunks", ()):
            table.setdefault((c.meeting_id, c.order), []).append(c)
        index._chunks_by_statement = table
    return table.get((meeting_id, order), [])


def with_replies(
    index: Any, chosen: Sequence[Judged], judged: Sequence[Judged], roles: Sequence[str]
) -> list[Judged]:
    """A cited question brings its reply: the statement that answers it (rag.exchange) is cited
    right after it, by its best-judged part when it was a candidate, else its first part.
    Replies outside a role filter stay out (「委員の意見は？」 cites members only)."""
    from rag.exchange import exchange_of

    meetings = getattr(index, "meetings", {}) or {}
    have = {(j.hit.chunk.meeting_id, j.hit.chunk.order) for j in chosen}
    best = {}
    for j in judged:  # most relevant first
        best.setdefault((j.hit.chunk.meeting_id, j.hit.chunk.order), j)
    out: list[Judged] = []
    for j in chosen:
        out.append(j)
        m = meetings.get(j.hit.chunk.meeting_id)
        st = next((s for s in m.statements if s.order == j.hit.chunk.order), None) if m else None
        if st is None or st.answers_to is not None:
            continue
        _question, replies = exchange_of(m, st)
        for r in replies:
            key = (m.id, r.order)
            if key in have or (roles and r.role not in roles):
                continue
            found = best.get(key)
            if found is None:
                parts = _chunks_of(index, m.id, r.order)
                if not parts:
                    continue
                found = Judged(Hit(chunk=parts[0], score=0.0, rank=0), relevance=j.relevance)
            have.add(key)
            out.append(found)
    return out[:MAX_CITATIONS]


def relevant_statements(
    index: Any, topic: str, filters: Filters, settings: Settings, depth: int = CANDIDATES
) -> list[Judged]:
    """Every statement the judge finds relevant to ``topic`` among ``depth`` hybrid candidates
    (the Briefing's cut: the same as an answer's, not a fixed k); empty when not found."""
    hits = _search(index, topic, max(depth, CANDIDATES), filters, settings)
    return list(judge_candidates(index, topic, hits, filters).relevant)


# --- Entry points ---------------------------------------------------------------------


def _search(index: Any, query: str, k: int, filters: Filters, settings: Settings) -> list[Hit]:
    from rag.retrieve import search

    return list(search(index, query, k=k, filters=filters, settings=settings, rerank=False))


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
        eff = replace(eff, roles=implied_roles(query, index))

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
    # 「知事は何と言ったか」 over minutes where no governor speaks: nothing of theirs to cite.
    unheard = () if filters.roles else unheard_speakers(query, index)
    if unheard:
        ja = detect_lang(question) == "ja"
        who = ("・" if ja else " or ").join(unheard)
        r = refusal(question, all_hits, eff)
        r = replace(r, text=(NO_SPEAKER_JA if ja else NO_SPEAKER_EN).format(who=who))
        yield from _final(r, question, notes)
        return
    # Whether the minutes address the topic is judged on all candidates; 他には？ then answers
    # from the relevant statements not cited before.
    verdict = judge_candidates(index, query, all_hits, eff)
    chosen = [j for j in verdict.relevant if j.hit.chunk.id not in resolved.exclude]
    if not chosen:
        closest = [j.hit for j in verdict.judged if j.hit.chunk.id not in resolved.exclude]
        r = refusal(question, closest or all_hits, eff)
        if resolved.exclude and verdict.found:
            r = replace(r, text=NO_OTHER_JA if detect_lang(question) == "ja" else NO_OTHER_EN)
        yield from _final(r, question, notes)
        return
    chosen = with_replies(index, chosen, verdict.judged, eff.roles)
    unmet = unstated(query, [j.hit.chunk for j in chosen], index)
    if unmet:
        r = refusal(question, [j.hit for j in chosen], eff, unstated=unmet)
        yield from _final(r, question, notes)
        return
    hits = [j.hit for j in chosen]
    scores = {j.hit.chunk.id: j.relevance for j in chosen}
    # Which sentence of a statement to quote: the question's topic words (an English
    # question's glossary translations); place names only select a meeting.
    terms = judge_terms(query)
    scope = scope_terms(terms, list(meetings.values()), whole_title=False)
    terms = [t for t in terms if t not in scope]

    def built_in() -> Answer:
        return extractive_answer(question, hits, meetings, terms, settings, eff, scores)

    if model is not None:
        from rag.llm import llm_answer_stream

        final: Any = None
        try:
            # The model reads the relevant statements first, then the next-best candidates
            # (its answer is verified sentence by sentence against what it cites).
            cited = {h.chunk.id for h in hits}
            context = hits + [j.hit for j in verdict.judged if j.hit.chunk.id not in cited]
            for item in llm_answer_stream(model, question, query, context, meetings, settings, eff):
                if isinstance(item, str):
                    yield item
                else:
                    final = item
        except LLMError as exc:
            notes.append(f"{exc} 抽出型の回答を表示しています / Showing the extractive answer.")
            yield from _final(replace(built_in(), mode="llm-fallback"), question, notes)
            return
        if not isinstance(final, Answer):  # rag.llm.Rejected: the built-in answer, visibly marked
            final = replace(
                built_in(),
                mode="llm-fallback",
                note=f"{FALLBACK_NOTE} {final}",  # 理由 / Reason: why it was rejected
            )
        # The streamed text was a preview; only the final Answer is emitted now.
        final = replace(final, citations=tuple(with_exchanges(final.citations, meetings)))
        yield _with_notes(final, question, notes)
        return

    yield from _final(built_in(), question, notes)


def unstated(query: str, chunks: Sequence[Chunk], index: Any) -> list[tuple[str, str]]:
    """Verify: what the question asks for and none of the statements an answer would cite
    gives, as (Japanese, English) names; empty when the answer may be given. A number (in its
    counter), a date, a company or which person only when a statement holds one
    (rag.asked.VERIFIED); "was it decided?" only by a decision, "how did they answer?" only by
    a reply; 「小池知事は…と答弁したか」 only by the governor's own words (another official's
    reply is shown as related, not as his)."""
    from rag.judge import is_reply, named_speaker

    unmet = unmet_kinds(
        query,
        [c.text for c in chunks],
        dated=all(c.date for c in chunks),
        named=[named_speaker(c) for c in chunks],
        replies=[is_reply(c) for c in chunks],
    )
    if unmet:
        return [KIND_LABELS[k] for k in unmet]
    wanted = asked_answerers(query, index)
    spoke = {nfkc(x).strip() for c in chunks for x in (c.role_label, c.speaker) if x}
    if wanted and not spoke & set(wanted):
        who = "・".join(wanted)
        return [(f"{who}の発言", f"statement by {who}")]
    return []


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
    for k in meeting_keys(meeting):
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
