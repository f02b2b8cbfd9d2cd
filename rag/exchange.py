"""Question-and-answer exchanges in verbatim records (一括質問・一括答弁).

A member asks several questions in one speech; then the governor and officials each answer
several of them in one speech (「四点のご質問にお答えいたします。まず、…についてでありますが、
…次に、…」). The speeches are cut into segments at those markers and each answer segment is
linked to the question segment it answers: among the questions of the member who spoke last,
the one whose words overlap its topic most, preferring those addressed to the answerer and the
order in which they were asked (officials answer in that order).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from functools import lru_cache

from rag.text import nfkc
from rag.types import (
    ROLE_ASSEMBLY_MEMBER,
    ROLE_HEAD,
    ROLE_MEMBER,
    ROLE_OFFICIAL,
    ROLE_SECRETARIAT,
    Chunk,
    Meeting,
    Statement,
)

Paragraphs = list[tuple[int, str]]

# まず、学童クラブについてでありますが、 / 次に、…についてのお尋ねでございます。
_ANSWER_TOPIC = re.compile(
    r"^(?:(?:まず|次に|最後に|初めに|続いて|また|さらに)、)?(?:同じく)?(?P<topic>[^。]{2,80}?)"
    r"(?:についての(?:ご質問|お尋ね|ご提案|ご指摘)|に関するご質問|について)"
    r"(?:でございますが|でありますが|であります|でございます|ですが|がございました|がありました)"
)
_ANSWER_MARK = re.compile(r"^(?:まず|次に|最後に|初めに|続いて)、")
# A question ends where the member asks: 伺います, 見解を求めます, 所見を伺う ... including the last
# one, asked as the member closes: 「…見解を伺い、私の質問を終わります。」
_ASKS = re.compile(
    r"伺(?:います|いたします|う|いたしたい|いしたい|いします|いをいたします|いいたします|いをします)"
    r"|お尋ね(?:します|いたします)|答弁を求め|見解を求め|お答えください|教えてください"
    r"|問います|求めます。|(?:でしょう|です|ます|のです)か[。？]"
    r"|(?:伺い|お聞きし)[^。]{0,12}(?:質問|質疑)を(?:終わ|終え|終了)|(?:決意|考え|認識)を求め"
)
# 新型コロナウイルス感染症対策について伺います。 — a heading that opens the next questions, or
# a short ask that ends one (see _is_heading); 「そこで、…について伺います。」 always ends one.
_TOPIC_HEAD = re.compile(
    r"^(?!そこで)[^。]{1,40}について(?:お?伺い(?:いた)?します|伺います|伺う|質問します|お尋ねします)。$"
)
# 次に、/ 最後に、… at the start of a paragraph: the member moves on to the next item.
_MOVES_ON = re.compile(r"^(?:次に|最後に|続いて|続きまして|次いで)、")
# まず、/ 初めに、: the first item under a heading (質問項目の最後に、/ この項の最後に、 move on).
_FIRST = re.compile(r"^(?:まず|まずは|初めに|最初に|第一に)、")
_LEADS = re.compile(
    r"^[^、。]{0,8}?(?:まず|まずは|初めに|最初に|次に|最後に|続いて|続きまして|次いで)、"
)
# …の取り組みについて伺います。: what a short ask asks for, unlike a heading's bare topic.
_ASKED_FOR = re.compile(
    r"(?:取り?組み?|状況|見解|考え|認識|方針|目的|見通し|所見|方向性|対応|対策)$"
)
NO_ASK = 0.2  # score taken off a question segment that asks nothing
_ADDRESSEES = ("副知事", "知事", "教育長", "警視総監", "消防総監", "技監", "市長", "町長", "村長")


def _is_heading(text: str, item: Paragraphs, headed: bool) -> bool:
    """「…について伺います。」 opens an item, unless it ends the current one: said without a
    lead-in (まず、/ 次に、) after the item's own heading, or asking for a stance or status."""
    if not _TOPIC_HEAD.match(text):
        return False
    if not item or _LEADS.match(text):
        return True
    topic = text[: text.rindex("について")]
    return not (headed or _ASKED_FOR.search(topic))


def split_question(paras: Paragraphs) -> list[Paragraphs]:
    """A member's speech -> one segment per question. A question ends at its ask (伺います。);
    the next item starts at a heading (…について伺います。) or where the member moves on
    (次に、/ 最後に、…), so an item that asks nothing is not merged into the next question."""
    segments: list[Paragraphs] = []
    cur: Paragraphs = []
    headed = False  # cur has a heading or a 次に、… opening of its own
    body = False  # cur has more than headings
    for no, text in paras:
        heading = _is_heading(text, cur, headed)
        opens = heading or bool(_MOVES_ON.match(text))
        if opens and headed and body and not _FIRST.match(text):
            segments.append(cur)  # an item that asked nothing (a request, a remark)
            cur, body = [], False
        # Before an item's own opening come the speech's preamble, a group heading and its
        # background (kept with the first question) or remarks after the last ask.
        headed = headed or opens
        body = body or not opens
        cur.append((no, text))
        if _ends_asking(text) and not heading:
            segments.append(cur)
            cur, headed, body = [], False, False
    if cur:
        if segments and not headed:
            segments[-1].extend(cur)  # closing remarks belong to the last question
        else:
            segments.append(cur)
    return segments


def _asks(question: Statement) -> bool:
    """Some paragraph of the question segment asks; a heading at its start does not."""
    starts = [at for at, _ in question.line_map] or [0]
    paragraphs = [question.text[a:b] for a, b in zip(starts, [*starts[1:], None], strict=True)]
    return any(
        _ends_asking(t) and not (k == 0 and _TOPIC_HEAD.match(t)) for k, t in enumerate(paragraphs)
    )


def _ends_asking(text: str) -> bool:
    """The paragraph's last sentence asks (伺います。), not a 話を伺いました mid-paragraph."""
    sentences = [x for x in re.split(r"(?<=。)", text) if x.strip()]
    if not sentences:
        return False
    tail = sentences[-1]
    if len(tail) < 30:  # 「…見解を伺います。以上で質問を終わります。」: the one before counts too
        tail = "".join(sentences[-2:])
    return bool(_ASKS.search(tail))


def split_answer(paras: Paragraphs) -> list[Paragraphs]:
    """An answering speech -> one segment per question answered (まず／次に…についてですが)."""
    segments: list[Paragraphs] = []
    cur: Paragraphs = []
    for no, text in paras:
        starts = bool(_ANSWER_TOPIC.match(text)) and (
            bool(_ANSWER_MARK.match(text)) or len(segments) + len(cur) > 0
        )
        if starts and cur and _has_topic(cur):
            segments.append(cur)
            cur = []
        cur.append((no, text))
    if cur:
        segments.append(cur)
    return segments


def _has_topic(paras: Paragraphs) -> bool:
    return any(_ANSWER_TOPIC.match(t) for _, t in paras)


def answer_topic(text: str) -> str:
    """The …について part of an answer segment (the whole first sentence when none)."""
    for sentence in re.split(r"(?<=。)", text)[:3]:
        m = _ANSWER_TOPIC.match(sentence)
        if m:
            return m["topic"]
    return text[:80]


_KANA_PAIR = re.compile(r"^[\u3040-\u309f]{2}$")


@lru_cache(maxsize=4096)
def _bigrams(text: str) -> frozenset[str]:
    """Character bigrams, without pairs of hiragana (の あ り: grammar, not topic)."""
    s = re.sub(r"[\s、。「」（）・]", "", nfkc(text))
    return frozenset(s[i : i + 2] for i in range(len(s) - 1) if not _KANA_PAIR.match(s[i : i + 2]))


def _addressed(label: str, addressee: str) -> bool:
    """知事 answers 知事-addressed questions; 副知事 does not."""
    return label.endswith(addressee) and not (addressee == "知事" and label.endswith("副知事"))


def _score(answer: Statement, question: Statement) -> float:
    """Topic overlap (the question's closing ask sentences count most) plus the addressee:
    「知事の見解を伺います」 is answered by the governor, 「都の見解」 by an official."""
    topic = _bigrams(answer_topic(answer.text))
    if not topic:
        return 0.0
    sentences = [x for x in re.split(r"(?<=。)", question.text) if x.strip()]
    asked = "".join(sentences[-2:])
    score = 0.6 * len(topic & _bigrams(asked)) / len(topic)
    whole = _bigrams(question.text)
    score += 0.4 * len(topic & whole) / len(topic)
    body = _bigrams(answer.text[:300])
    score += 0.3 * len(body & whole) / max(1, len(body))
    label = answer.role_label or ""
    named = [a for a in _ADDRESSEES if a in asked and not (a == "知事" and "副知事" in asked)]
    if named:
        score += 0.15 if any(_addressed(label, a) for a in named) else -0.15
    elif re.search(r"都の(?:見解|所見|認識|考え|取り組み|対応)", asked):
        score += 0.1 if answer.role == ROLE_OFFICIAL else -0.15
    return score


def link_answers(statements: list[Statement]) -> list[Statement]:
    """Set ``answers_to`` on verbatim answer segments (to the question segment they answer of
    the member who spoke last) and on summary replies (事務局 right after a member)."""
    out = list(statements)
    questions: list[Statement] = []  # the last member's question segments
    last_pick: dict[str | None, int] = {}  # answerer -> position of the question it answered
    for i, st in enumerate(out):
        if st.kind != "statement":
            continue
        if st.role == ROLE_ASSEMBLY_MEMBER and st.utterance is not None:
            if st.segment == 0:
                questions, last_pick = [], {}
            questions.append(st)
        elif st.role in (ROLE_HEAD, ROLE_OFFICIAL) and questions and st.utterance is not None:
            # Each answerer takes the questions in the order they were asked; an item that asks
            # nothing (a request, a remark) is what is answered only when nothing else fits.
            prev = last_pick.get(st.role_label, -1)
            scored = [
                (
                    _score(st, q) + (0.05 if k > prev else -0.1) - (0.0 if _asks(q) else NO_ASK),
                    k,
                )
                for k, q in enumerate(questions)
            ]
            best, k = max(scored)
            if best > 0.05:
                last_pick[st.role_label] = k
                out[i] = replace(st, answers_to=questions[k].order)
        elif (
            st.role == ROLE_SECRETARIAT
            and st.utterance is None
            and i > 0
            and out[i - 1].role == ROLE_MEMBER
            and out[i - 1].kind == "statement"
            and out[i - 1].agenda == st.agenda
        ):
            out[i] = replace(st, answers_to=out[i - 1].order)
    return out


def exchange_links(chunks: Sequence[Chunk]) -> list[list[int]]:
    """Per chunk, the positions of the chunks on the other side of its exchange (same meeting;
    one answers the other's statement, ``Chunk.answers_to``)."""
    by_statement: dict[tuple[str, int], list[int]] = {}
    for i, c in enumerate(chunks):
        by_statement.setdefault((c.meeting_id, c.order), []).append(i)
    linked: list[list[int]] = [[] for _ in chunks]
    for i, c in enumerate(chunks):
        if c.answers_to is None:
            continue
        for j in by_statement.get((c.meeting_id, c.answers_to), []):
            linked[i].append(j)
            linked[j].append(i)
    return linked


def exchange_of(meeting: Meeting, statement: Statement) -> tuple[Statement | None, list[Statement]]:
    """(question, [replies]) around a statement: for a reply, the question it answers and all
    replies to that question; for a question, itself and its replies."""
    by_order = {s.order: s for s in meeting.statements}
    question = by_order.get(statement.answers_to) if statement.answers_to is not None else statement
    if question is None:
        return None, []
    replies = [s for s in meeting.statements if s.answers_to == question.order]
    if statement.answers_to is None and not replies:
        return None, []
    return question, replies


def speaker_title(st: Statement) -> str:
    """百十六番 増子ひろき議員 / 知事 小池百合子 / 福祉保健局長 内藤淳."""
    label = st.role_label or st.role
    if st.role == ROLE_ASSEMBLY_MEMBER and st.speaker:
        return f"{label} {st.speaker}議員"
    return " ".join(x for x in (label, st.speaker) if x)


def _ask_excerpt(text: str, width: int) -> str:
    """The question as asked: its last sentences (…について知事の見解を伺います。)."""
    sentences = [x for x in re.split(r"(?<=[。？])", text) if x.strip()]
    ask = "".join(sentences[-1:])
    if len(ask) < 20 and len(sentences) > 1:
        ask = "".join(sentences[-2:])
    return ask if len(ask) <= width else "…" + ask[-width:]


def exchange_text(meeting: Meeting, order: int, width: int = 90) -> str | None:
    """「Q — 百十六番 増子ひろき議員: …伺います。 / A — 知事 小池百合子」 for the statement with
    this order when it is part of a linked question-and-answer exchange, else None."""
    st = meeting.statements[order] if 0 <= order < len(meeting.statements) else None
    if st is None or st.order != order:
        st = next((s for s in meeting.statements if s.order == order), None)
    if st is None:
        return None
    question, replies = exchange_of(meeting, st)
    if question is None or not replies:
        return None
    answerers = "、".join(dict.fromkeys(speaker_title(r) for r in replies))
    return f"Q — {speaker_title(question)}: {_ask_excerpt(question.text, width)} / A — {answerers}"
