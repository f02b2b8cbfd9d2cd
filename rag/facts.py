"""Meeting facts: which meeting a question names, and answers about the meeting itself.

A question about when or where a meeting was held, who attended, what was on its agenda or what
it is called is answered from the meeting's own facts (the parser's 会議情報 statements: 日時,
場所, 出席者, 議題, 会議名), cited like any statement. ``is_meeting_info`` decides a question asks
only that (no topic is left once the facet words and the meeting's name are removed);
``meeting_info_answer`` composes the answer. The answer stages (rag/answer.py) call both first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import PurePath
from typing import Any

from rag.asked import AMOUNT, asked_kinds
from rag.compose import meeting_label
from rag.config import Settings
from rag.dates import year_forms
from rag.question import (
    _FACET_META,
    _FACET_WORDS,
    _FACETS,
    FACET_FILLERS,
    asked_facets,
    content_terms,
    folded,
    infer_roles,
    meeting_keys,
)
from rag.text import detect_lang, nfkc, squash
from rag.translate import translations
from rag.types import ROLE_META, Answer, Chunk, Citation, Filters, Meeting

# Meta statements searched for the meeting a question means when it names none (as many
# candidates as the judge reads, rag/answer.py CANDIDATES).
META_CANDIDATES = 20


def titled_meetings(question: str, meetings: dict[str, Meeting]) -> list[str]:
    """The meetings whose title holds the question's most telling title words (有識者会議,
    推進会議, society5.0): words every title shares (定例会 across a series) tell nothing. []
    when no word tells, or several meetings tie."""
    titles = {mid: folded(m.title) for mid, m in meetings.items()}
    score = dict.fromkeys(titles, 0)
    for t in content_terms(question):
        holders = [mid for mid, title in titles.items() if len(t) >= 2 and t in title]
        if 0 < len(holders) < len(titles):
            for mid in holders:
                score[mid] += len(t)
    best = max(score.values(), default=0)
    top = [mid for mid, v in score.items() if v == best]
    return top if best and len(top) == 1 else []


def mentioned_meetings(question: str, meetings: dict[str, Meeting]) -> list[str]:
    """Ids of the meetings the question names (by place name or id word)."""
    q = squash(question).lower()
    return [mid for mid, m in meetings.items() if any(k in q for k in meeting_keys(m))]


def scope_terms(
    terms: Sequence[str], meetings: Sequence[Meeting], whole_title: bool = True
) -> set[str]:
    """Terms that name a meeting rather than a topic: its place / id words (北海道, sapporo),
    and with ``whole_title`` any word of its title (推進会議, society5.0)."""
    out: set[str] = set()
    for m in meetings:
        keys = meeting_keys(m)
        # The file's name, not the folders it sits in (/work/shared/bench/…).
        hay = squash(f"{m.title} {m.id} {PurePath(m.file).stem}").lower() if whole_title else ""
        when = _identity_words(m) if whole_title else set()
        for t in terms:
            if (
                (hay and _pieced_from(t, hay))
                or t in when
                or t in keys
                or any(len(k) >= 2 and k in t for k in keys)
            ):
                out.add(t)
    return out


_MONTHS = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)  # fmt: skip
_ORDINALS = (
    "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
)  # fmt: skip


def _identity_words(meeting: Meeting) -> set[str]:
    """Words that tell which meeting of a series a question means, in English as users write
    them: its year, month and fiscal year ("the February 2023 meeting", FY2022: Japanese fiscal
    years start in April) and its round (第２回, as the parser read it: "the second meeting")."""
    out: set[str] = set()
    if meeting.date:
        year, month = int(meeting.date[:4]), int(meeting.date[5:7])
        fiscal = year if month >= 4 else year - 1
        out |= {str(year), _MONTHS[month - 1], f"fy{fiscal}", f"fy{fiscal % 100:02d}"}
    k = meeting.meeting_number
    if k:
        out.add(f"{k}{'st' if k == 1 else 'nd' if k == 2 else 'rd' if k == 3 else 'th'}")
        if k <= len(_ORDINALS):
            out.add(_ORDINALS[k - 1])
    return out


def _pieced_from(term: str, hay: str) -> bool:
    """``term`` is made of pieces (≥ 2 characters) of ``hay``, longest first: a user drops
    words of a long title (活用戦略有識者会議 for 「活用戦略 検討有識者会議」)."""
    i = 0
    while i < len(term):
        end = next((j for j in range(len(term), i + 1, -1) if term[i:j] in hay), None)
        if end is None:
            return term in hay  # a one-character term
        i = end
    return True


def meeting_facets(question: str, meetings: dict[str, Meeting]) -> list[str]:
    """The facts of the meeting a question asks for: its facet words (rag.question), or the
    agenda when it picks items by a noun they hold (「どのワーキンググループから報告があった」)."""
    facets = asked_facets(question)
    if not facets:
        nouns = _picked_nouns(question)
        if (
            nouns and any(_holding(m.agenda, nouns) for m in meetings.values())
        ) or _asks_of_one_item(question, meetings):
            facets = ["agenda"]
    # 「推進会議で報告された取組の進捗状況は、いつ時点のもの？」: when, of an item named in full;
    # the item (its 「令和３年度末現在」) is cited beside the meeting's date.
    elif facets == ["date"] and _asks_of_one_item(question, meetings):
        facets = ["date", "agenda"]
    return facets


# Words a question about an agenda item uses for "as of when" (「令和何年度末時点のもの」
# answered by 「（令和３年度末現在）」 in the item's title): they ask about the item.
_ITEM_FRAME = ("時点", "現在", "何")


def _item_text(items: Sequence[str]) -> str:
    """Agenda items, folded, with the other forms of their 和暦 years (a user asks about
    「2021年度末時点」, "FY2021" or R3年度 for 「令和３年度末現在」)."""
    return folded(" ".join([*items, *(y for a in items for y in year_forms(a))]))


def _in_item_text(term: str, items: str) -> bool:
    """``term`` is made of words of the agenda items (``_item_text``) and item frame words."""
    rest = term
    for w in _ITEM_FRAME:
        rest = rest.replace(w, "")
    return not rest or (len(rest) >= 2 and _pieced_from(rest, items))


def _asks_of_one_item(question: str, meetings: dict[str, Meeting]) -> bool:
    """A question asking when, which or who of one agenda item, in the item's own words and
    nothing else (「取組の進捗状況の報告は、令和何年度末時点のもの？」: 「議事４ 取組の進捗状況
    について（令和３年度末現在）」). A question on what was said under the item names a speaker
    (委員の意見は) or asks no such thing, and goes to retrieval."""
    if infer_roles(question) or not asked_kinds(question):
        return False
    terms = content_terms(question)
    names = scope_terms(terms, list(meetings.values()))
    fillers = _ITEM_PRESENTED | FACET_FILLERS["agenda"] | FACET_FILLERS["date"]
    terms = [t for t in terms if t not in names and t not in fillers]
    if len(terms) < 2:
        return False
    items = [_item_text([item]) for m in meetings.values() for item in m.agenda]
    return any(all(_in_item_text(t, words) for t in terms) for words in items)


def is_meeting_info(question: str, meetings: dict[str, Meeting]) -> bool:
    """Asked about the meeting itself (when / where / agenda / attendees / which meeting) and
    about nothing else: once the facet words and the meeting's own name are removed, no topic
    is left."""
    facets = meeting_facets(question, meetings)
    if not facets:
        return False
    roles = infer_roles(question)
    # 「議事５で委員は何と言ったか」 asks what was said under an item, not what the item is.
    if facets == ["agenda"] and roles:
        return False
    # "second-meeting": a hyphenated term is a topic when one of its parts is
    terms = [
        p
        for t in content_terms(question)
        for p in (content_terms(t.replace("-", " ")) if "-" in t else [t])
    ]
    scope = scope_terms(terms, list(meetings.values())) | _titled_in_english(question, meetings)
    # A person on a roll (三宅しげき議員は欠席したか) is part of the meeting's facts, not a topic.
    people = {a.name for m in meetings.values() for a in m.attendance if len(a.name) >= 2}
    # So is an agenda item asked about as one (「意見交換は何番目の議事か」).
    items = ""
    if "agenda" in facets and not roles:
        items = _item_text([a for m in meetings.values() for a in m.agenda])
        scope |= _english_for(question, items)  # "which working groups" = ワーキンググループ
    # 「13時30分に始まって何時に終わる」: words of the very facts asked about are no topic.
    facts = _facts_text(meetings, facets)
    fillers = set().union(_MEETING_NOUNS, *(FACET_FILLERS.get(f, ()) for f in facets))
    if "agenda" in facets and not asked_facets(question):  # items picked by a noun they hold
        fillers |= _ITEM_PRESENTED
    return not [
        t
        for t in terms
        if t not in scope
        and t not in fillers
        and not _facet_term(t)
        and not (people and t in ("議員", "委員"))
        and not any(t in p or p in t for p in people)
        and not (items and _in_item_text(t, items))
        and not (facts and t in facts)
    ]


def _facts_text(meetings: dict[str, Meeting], facets: Sequence[str]) -> str:
    """The folded text of the meeting facts (会議情報 statements) that answer ``facets``."""
    pats = [_FACET_META[f] for f in facets if f in _FACET_META]
    if not pats:
        return ""
    return folded(
        " ".join(
            s.text
            for m in meetings.values()
            for s in m.statements
            if s.kind == "meta" and any(p.search(nfkc(s.text)) for p in pats)
        )
    )


# English words for a kind of meeting: "the Sapporo expert panel" names the meeting, as 会議 does.
# So do the minutes themselves (「出席者は議事概要のどこを見れば」).
_MEETING_NOUNS = frozenset(
    [
        "panel",
        "council",
        "committee",
        "conference",
        "session",
        "sitting",
        "minutes",
        "summary",
        "summarize",
        "summarise",
        "議事概要",
        "議事要旨",
        "概要",
        "要旨",
        "full",
    ]
)
# How an agenda item came up, in a question that picks items ("which working groups reported
# on their activities?"): the item itself is the answer, these words add no topic to it.
_ITEM_PRESENTED = frozenset(
    [
        "report",
        "reports",
        "reported",
        "gave",
        "give",
        "given",
        "presented",
        "activities",
        "activity",
        "progress",
        "update",
        "updates",
        "presenting",
        "present",
        "number",
    ]
)


def _titled_in_english(question: str, meetings: dict[str, Meeting]) -> set[str]:
    """English words whose translation is a word of a meeting's title ("promotion" for 推進 in
    「Society5.0推進会議」): they name the meeting, not a topic."""
    return _english_for(question, " ".join(folded(m.title) for m in meetings.values()))


def _english_for(question: str, hay: str) -> set[str]:
    """The question's English words whose Japanese occurs in ``hay`` (folded text): the usual
    translations, and any other dictionary sense found there ("progress" is 進展 first, 進捗 in
    「取組の進捗状況」)."""
    found = translations(question) + translations(question, known=lambda j: folded(j) in hay)
    return {w for t in found if any(folded(j) in hay for j in t.terms) for w in t.english.split()}


def _facet_term(term: str) -> bool:
    """A compound of facet words (開催場所, 開催日時, 出席者名簿, 正式名称): nothing but at most
    one character is left once the facet patterns are removed."""
    rest = term
    for pat in _FACETS.values():
        rest = pat.sub("", rest)
    return len(rest) <= 1 or rest in _FACET_WORDS or rest in ("会議", "会合")


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
        known = _cite(citations, chunk, quote)
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
        ids = titled_meetings(question, meetings)
    if not ids:
        if len(meetings) == 1:
            ids = list(meetings)
        else:
            from rag.retrieve import search

            meta = replace(filters, roles=(ROLE_META,))
            hits = search(
                index, question, META_CANDIDATES, filters=meta, settings=settings, rerank=False
            )
            ids = list(dict.fromkeys(h.chunk.meeting_id for h in hits))[:1]
    if not ids:
        return None
    facets = [f for f in meeting_facets(question, meetings) if f != "held"] or ["date", "venue"]
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
            # 「出席した委員は何名」 over 「別添「出席者名簿」のとおり」: the roll is not in these
            # minutes, so neither is the number asked for.
            if facet == "attendees" and "別添" in c.text and AMOUNT in asked_kinds(question):
                missing.append("headcount")
                continue
            items = [x.strip() for x in _meta_value(c).split("／") if x.strip()]
            chosen = asked_items(question, items, m) if facet == "agenda" else []
            for item in chosen:  # 「議事５は何か」「意見交換は何番目の議事か」: that item
                ja, en = _item_parts(item, c, index, citations)
                parts_ja.append(ja)
                parts_en.append(en)
            if chosen:
                continue
            # A title is quoted whole (the number is often on its second line), a list by its
            # first item (the rest named after it).
            known = _cite(citations, c, _meta_value(c) if facet == "title" else _meta_quote(c))
            q, n = known.quote, known.n
            if facet == "title":
                parts_ja.append(f"会議名は「{q}」[{n}]")
                parts_en.append(f"the meeting is titled 「{q}」 [{n}]")
            elif facet == "date":
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
                rest = "／".join(items[1:])
                parts_ja.append(f"議題は「{q}」[{n}]" + (f"、{rest}" if rest else ""))
                parts_en.append(f"the agenda is 「{q}」 [{n}]" + (f", then {rest}" if rest else ""))
        sentences += _sentences(label, lang, parts_ja if lang == "ja" else parts_en, missing)
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


_FACT_NAMES = {
    "ja": {"date": "開催日時", "venue": "場所", "attendees": "出席者", "agenda": "議題",
           "title": "会議名", "headcount": "出席者数（出席者名簿は別添）"},
    "en": {"date": "the date", "venue": "the venue", "attendees": "attendees",
           "agenda": "the agenda", "title": "the meeting's title",
           "headcount": "how many attended (the list of attendees is an attachment)"},
}  # fmt: skip


def _sentences(label: str, lang: str, parts: Sequence[str], missing: Sequence[str]) -> list[str]:
    """One meeting's sentences: the facts found, then the ones its minutes do not state."""
    out: list[str] = []
    if lang == "ja":
        names = _FACT_NAMES["ja"]
        if parts:
            out.append(f"{label}の" + "、".join(parts) + "です。")
        if missing:
            listed = "・".join(names[f] for f in missing)
            out.append(f"{label}の議事録には{listed}の記載がありません。")
        return out
    names = _FACT_NAMES["en"]
    if parts:
        out.append(f"For {label}, " + "; ".join(parts) + ".")
    if missing:
        out.append(
            f"The minutes of {label} do not state " + " or ".join(names[f] for f in missing) + "."
        )
    return out


_ITEM_NUMBER = re.compile(r"(?:議事|議題)\s*([0-9]+(?:[-－‐][0-9]+)?)")
_ITEM_ORDINAL = re.compile(r"最初|初め|最後|([0-9]+)番目")
_ITEM_ORDINAL_EN = re.compile(
    r"\b(first|second|third|fourth|fifth|last)\b (?:agenda )?item|\bitem (?:no\.? ?)?([0-9]+)\b",
    re.IGNORECASE,
)
_EN_PLACE = {"first": 0, "second": 1, "third": 2, "fourth": 3, "fifth": 4, "last": -1}


# The noun a question picks items by: どのワーキンググループ, ワーキンググループはどれ, "which working
# groups" (its first words; their Japanese from rag.translate).
_PICK_JA = re.compile(
    r"どの([\u30a0-\u30ff\u3400-\u9fff]{2,})"
    r"|([\u30a0-\u30ff\u3400-\u9fff]{2,})は[、,\s]*(?:どれ|どちら)"
)
_PICK_EN = re.compile(r"\bwhich ((?:[a-z0-9.\-]+ ){0,2}[a-z0-9.\-]+)", re.IGNORECASE)


def selected_items(question: str, items: Sequence[str]) -> list[str]:
    """Every agenda item holding the noun the question picks by (「どのワーキンググループから取組
    報告があった」, "which working groups reported…" -> both working-group reports); [] when it
    picks by no noun an item holds."""
    return _holding(items, _picked_nouns(question))


def _picked_nouns(question: str) -> list[str]:
    """The folded nouns a question picks items by (どの X, X はどれ, "which X" in Japanese).
    議事 and 資料 pick by number, not by a noun."""
    q = nfkc(question)
    nouns = [folded(m[1] or m[2]) for m in _PICK_JA.finditer(q)]
    pick = _PICK_EN.search(q)
    if pick:
        words = pick[1].lower()
        nouns += [
            folded(j)
            for t in translations(question)
            if words.startswith(t.english.lower())
            for j in t.terms
        ]
    return [n for n in nouns if len(n) >= 2 and not re.search(r"議事|議題|資料|会議", n)]


def _holding(items: Sequence[str], nouns: Sequence[str]) -> list[str]:
    return [x for x in items if any(n in folded(x) for n in nouns)]


def asked_items(question: str, items: Sequence[str], meeting: Meeting) -> list[str]:
    """The agenda items a question asks about: those it picks by a noun, else the one it names."""
    picked = selected_items(question, items)
    if picked:
        return picked
    item = asked_item(question, items, meeting)
    return [item] if item is not None else []


def asked_item(question: str, items: Sequence[str], meeting: Meeting) -> str | None:
    """The agenda item a question names: by number (議事５, 議題１), by place (最初の議事,
    3番目) or by its words (「意見交換は何番目の議事か」). None when it names none."""
    q = nfkc(question)
    number = _ITEM_NUMBER.search(q)
    if number:
        n = re.escape(number[1])
        return next(
            (x for x in items if re.search(rf"(?:議事|議題)\D{{0,2}}{n}(?![0-9])", nfkc(x))), None
        )
    place, place_en = _ITEM_ORDINAL.search(q), _ITEM_ORDINAL_EN.search(q)
    k: int | None = None
    # 最初の議事, 最後の項目, 一番初めに扱われた議事: the place word shortly before the item word
    if place and re.match(r".{0,6}?(?:議|項目)", q[place.end() :]):
        k = 0 if place[0] in ("最初", "初め") else -1 if place[0] == "最後" else int(place[1]) - 1
    elif place_en:
        k = _EN_PLACE[place_en[1].lower()] if place_en[1] else int(place_en[2]) - 1
    if k is not None:
        return items[k] if -len(items) <= k < len(items) else None
    terms = content_terms(question)
    names = scope_terms(terms, [meeting])  # the meeting's own name is not an item's
    terms = [t for t in terms if len(t) >= 2 and t not in names]
    # The item holding most of the question's words (データ利活用 picks 「データ利活用ワーキング
    # グループの取組報告」 over another working group's); the first of equals.
    hay = [_item_text([x]) for x in items]  # R5年度 is 令和５年度
    held = [sum(len(t) for t in terms if t in h) for h in hay]
    best = max(held, default=0)
    return items[held.index(best)] if best else None


def _item_parts(
    item: str, listing: Chunk, index: Any, citations: list[Citation]
) -> tuple[str, str]:
    """(ja, en): 「議事５ 意見交換」[1] cited on the agenda list, with the first statement
    recorded under it (often the material it was explained with: 事務局から説明（資料７）)."""
    cited = _cite(citations, listing, item)
    first = min(
        (c for c in getattr(index, "chunks", ()) if c.kind != "meta"
         and c.meeting_id == listing.meeting_id and c.agenda == item),
        key=lambda c: c.order,
        default=None,
    )  # fmt: skip
    ja, en = f"議題は「{item}」[{cited.n}]", f"the item is 「{item}」 [{cited.n}]"
    if first is None:
        return ja, en
    under = _cite(citations, first, first.text[:160])
    return (
        f"{ja}（最初の記録は「{under.quote}」[{under.n}]）",
        f"{en} (first recorded under it: 「{under.quote}」 [{under.n}])",
    )


def _cite(citations: list[Citation], chunk: Chunk, quote: str) -> Citation:
    """The citation of ``chunk`` already made, else a new one numbered next."""
    known = next((x for x in citations if x.chunk.id == chunk.id and x.quote == quote), None)
    if known is None:
        known = Citation(n=len(citations) + 1, chunk=chunk, quote=quote)
        citations.append(known)
    return known


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
