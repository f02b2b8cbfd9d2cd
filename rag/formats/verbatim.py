"""Assembly verbatim records (会議録), as most Japanese assemblies publish them.

    令和二年東京都議会会議録第二号                    title line (第N号 = issue number)
    令和二年二月二十六日（水曜日）                    date in kanji numerals
    出席議員　百二十三名 / 一番古城まさお君 …      attendance roll -> Meeting.attendance
    欠席議員 / 欠員 / 出席説明員 / 議事日程 …
    ○議長（石川良一君）　これより質問に入ります。    the chair: kind="procedural"
    〔百十六番増子ひろき君登壇〕                      stage direction: not statement text
    ○百十六番（増子ひろき君）　…伺います。            seat number: an assembly member
    ○知事（小池百合子君）　…まず、…についてでございますが、…

Every ``○`` block is one utterance; members' questions and officials' answers are cut into
segments (one per question) and each answer segment is linked to the question it answers
(``rag.exchange``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rag.dates import KANJI_NUM, kanji_to_int, parse_date
from rag.exchange import link_answers, split_answer, split_question
from rag.formats.common import WS, Line, clean_line, join_mapped, role_of, slug, squash_ws, who
from rag.text import nfkc
from rag.types import (
    ROLE_ASSEMBLY_MEMBER,
    ROLE_CHAIR,
    ROLE_HEAD,
    ROLE_META,
    ROLE_OFFICIAL,
    ROLE_SECRETARIAT,
    Attendee,
    Meeting,
    RawDocument,
    Statement,
)

_NUM = rf"[{KANJI_NUM}0-9０-９]+"
# ○議長（石川良一君）　text   ○百十六番（増子ひろき君）　text   ○議長 (石川良一君）
_SPEAKER = re.compile(
    r"^[○◯〇]\s*(?P<label>[^\s　（()）]{1,40}?)\s*[（(](?P<name>[^（()）]{1,20}?)君[）)]"
    r"[\s　]*(?P<text>.*)$"
)
# ○石破国務大臣　text   ○山田委員　text
_SPEAKER_BARE = re.compile(r"^[○◯〇]\s*(?P<who>[^\s　（()）、。「」]{2,25})[\s　]+(?P<text>\S.*)$")
_SEAT = re.compile(rf"^({_NUM})番$")
_STAGE = re.compile(r"^〔[^〔〕]*〕$")
_STAGE_INLINE = re.compile(
    r"〔[^〔〕]{0,60}〕|（(?:拍手|[^（）]{0,40}(?:と呼ぶ者|発言する者)あり)）"
)
_CLOCK = re.compile(
    rf"^午[前後]{_NUM}時(?:{_NUM}分)?(?:[^\s。]{{0,3}}?)(開会|開議|休憩|再開|散会|延会|閉会)"
    r"(?:・(開議|開会))?$"
)
_ROLL_HEADS = {"出席議員": "出席", "欠席議員": "欠席", "欠員": "欠員", "出席説明員": "説明員"}
_ROLL_HEAD = re.compile(r"^(出席議員|欠席議員|欠員|出席説明員)[\s　]*(.*)$")
_ROLL_MEMBER = re.compile(rf"({_NUM})番[\s　]*([^\s　君][^君]*?)君")
_PROGRAMME = re.compile(r"議事日程")
_ITEM = re.compile(rf"^第({_NUM})(?:[\s　]+(.+))?$")  # 第一　第一号議案 / 第一 (alone)
_SESSION = re.compile(rf"第({_NUM})回(?:[^\s。、]{{0,8}}?)(定例会|臨時会)")
_ISSUE = re.compile(rf"第({_NUM})号")
_PROCEDURAL_ROLES = (ROLE_CHAIR, ROLE_SECRETARIAT)
_ROLL_GROUP = 20  # roll entries per citable meta statement
_PROGRAMME_GROUP = 10  # items per citable 議事日程 piece ...
_PROGRAMME_LINES = 20  # ... and lines


def _speaker_head(raw: str) -> tuple[str, str | None, str | None, str] | None:
    """(role, role_label, speaker, rest of line) of a ``○`` line, or None."""
    m = _SPEAKER.match(raw)
    if m:
        label, name = squash_ws(m["label"]), squash_ws(m["name"])
        if _SEAT.match(nfkc(label)):
            return ROLE_ASSEMBLY_MEMBER, label, name, m["text"].strip()
        hit = role_of(label)
        return (hit[0] if hit else ROLE_OFFICIAL), label, name, m["text"].strip()
    m = _SPEAKER_BARE.match(raw)
    if m:
        hit = who(m["who"])
        if hit:
            role, label, name = hit
            return role, (None if label == "君" else label), name, m["text"].strip()
    return None


def detect(lines: list[Line]) -> str | None:
    """A verbatim record: ○役職（氏名君） blocks with seat numbers or an attendance roll."""
    heads = [_SPEAKER.match(ln.raw) for ln in lines if ln.raw[:1] in "○◯〇"]
    heads = [m for m in heads if m]
    seats = sum(1 for m in heads if _SEAT.match(nfkc(squash_ws(m["label"]))))
    roll = any(_ROLL_HEAD.match(ln.text) for ln in lines[:60])
    if len(heads) >= 2 and (seats or roll):
        why = [f"{len(heads)} speaker lines ○役職（氏名君）"]
        if seats:
            why.append(f"{seats} with seat numbers ○N番")
        if roll:
            why.append("attendance roll 出席議員/出席説明員")
        return ", ".join(why)
    return None


# --- the header: title, date, roll, programme -------------------------------------------------


@dataclass
class _Fact:
    label: str
    start: int
    end: int
    value: str


def _split_title_name(text: str) -> tuple[str, str]:
    """知事小池百合子 -> (知事, 小池百合子); 副知事長谷川　明 -> (副知事, 長谷川明). Rolls pad short
    names to five characters with full-width spaces, so a padded name is the last five."""
    for width in (5, 6, 4, 7, 3, 8, 2):
        if width >= len(text):
            continue
        title, name = text[:-width], text[-width:]
        if "　" in title[-1:] or name[:1] in " 　":
            continue
        if role_of(title) and (width == 5 or "　" not in text[-5:]):
            return title.strip(), squash_ws(name)
    return "", squash_ws(text)


def _read_header(
    lines: list[Line], end: int
) -> tuple[list[_Fact], list[Attendee], list[str], list[_Fact]]:
    """Roll and programme before the first speech: (roll facts, attendees, agenda, programme)."""
    facts: list[_Fact] = []
    people: list[Attendee] = []
    programme: list[tuple[str, int, list[_Fact]]] = []  # (heading, line, items)
    section: str | None = None
    head_line = 0
    count = ""
    group: list[tuple[int, str]] = []

    def flush() -> None:
        nonlocal group
        if group and section in ("出席", "欠席", "説明員", "欠員"):
            label = {"出席": "出席議員", "欠席": "欠席議員", "説明員": "出席説明員"}.get(
                section, section
            )
            lab = f"{label}（{count}）" if count and not facts_with(label) else label
            start = head_line if not facts_with(label) else group[0][0]
            facts.append(_Fact(lab, start, group[-1][0], "、".join(t for _, t in group)))
        group = []

    def facts_with(label: str) -> bool:
        return any(f.label.startswith(label) for f in facts)

    for ln in lines[:end]:
        text = ln.text
        if not text:
            continue
        m = _ROLL_HEAD.match(text)
        if m:
            flush()
            section, head_line, count = _ROLL_HEADS[m[1]], ln.no, m[2].strip()
            if count == "なし":
                facts.append(_Fact(m[1], ln.no, ln.no, "なし"))
            continue
        if _PROGRAMME.search(text) and len(text) < 30:
            flush()
            section, head_line, count = "日程", ln.no, ""
            programme.append((text, ln.no, []))
            continue
        if _CLOCK.match(squash_ws(text)):
            flush()
            section = None
            continue
        if section in ("出席", "欠席"):
            for mm in _ROLL_MEMBER.finditer(text):
                name = squash_ws(mm[2])
                people.append(Attendee(name, "議員", kanji_to_int(mm[1]), section, ln.no))
                group.append((ln.no, f"{mm[1]}番 {name}"))
        elif section == "欠員":
            seats = re.findall(rf"({_NUM})番", text)
            group.extend((ln.no, f"{s}番") for s in seats)
        elif section == "説明員" and text.endswith("君"):
            title, name = _split_title_name(text[:-1])
            people.append(Attendee(name, title or None, None, "説明員", ln.no))
            group.append((ln.no, f"{title} {name}".strip()))
        elif section == "日程":
            items = programme[-1][2]
            im = _ITEM.match(text)
            # An item holds its number and title; a long list under one number (請願 after
            # 請願) continues as items of its own, so each cited piece stays a few lines.
            if im or not items or items[-1].end - items[-1].start >= 2:
                items.append(_Fact("", ln.no, ln.no, WS.sub(" ", text.strip())))
            else:  # the item's title on the next line: 第一　第一号議案 / 令和二年度…予算
                items[-1].value += " " + text.strip()
                items[-1].end = ln.no
            continue
        if len(group) >= _ROLL_GROUP:
            flush()
    flush()
    agenda = [f.value for _, _, items in programme for f in items if " " in f.value]
    return facts, people, agenda, _group_programme(programme)


def _group_programme(programme: list[tuple[str, int, list[_Fact]]]) -> list[_Fact]:
    """Long 議事日程 as citable pieces of a few items each, each with its own lines."""
    out: list[_Fact] = []
    for heading, line, items in programme:
        if not items:
            out.append(_Fact(heading, line, line, ""))
        groups: list[list[_Fact]] = []
        for item in items:
            if (
                not groups
                or len(groups[-1]) >= _PROGRAMME_GROUP
                or item.end - groups[-1][0].start >= _PROGRAMME_LINES
            ):
                groups.append([])
            groups[-1].append(item)
        for i, group in enumerate(groups):
            start = line if i == 0 else group[0].start
            out.append(_Fact(heading, start, group[-1].end, "／".join(f.value for f in group)))
    return out


# --- the body: utterances ----------------------------------------------------------------------


@dataclass
class _Utterance:
    role: str
    role_label: str | None
    speaker: str | None
    start: int
    paragraphs: list[tuple[int, str]] = field(default_factory=list)  # one per source line


def _read_body(lines: list[Line], start: int) -> tuple[list[_Utterance], list[_Fact]]:
    utterances: list[_Utterance] = []
    clock: list[_Fact] = []
    cur: _Utterance | None = None
    for ln in lines[start:]:
        if not ln.text:
            continue
        head = _speaker_head(ln.raw) if ln.raw[:1] in "○◯〇" else None
        if head is not None:
            role, label, name, rest = head
            cur = _Utterance(role, label, name, ln.no)
            utterances.append(cur)
            text = rest
        else:
            text = ln.raw if ln.bullet in ("○", "◯", "〇") else ln.text
        if _STAGE.match(text):
            continue  # 〔百十六番増子ひろき君登壇〕, 〔「異議なし」と呼ぶ者あり〕
        m = _CLOCK.match(squash_ws(text))
        if m:
            clock.append(_Fact(m[1], ln.no, ln.no, squash_ws(text)))
            continue
        text = _STAGE_INLINE.sub("", text).strip()
        if cur is not None and text:
            cur.paragraphs.append((ln.no, text))
    return utterances, clock


def _title_facts(lines: list[Line]) -> tuple[str, int, str | None, int | None]:
    """(title, title line number, ISO date, date line number)."""
    content = [ln for ln in lines if ln.text]
    title_ln = content[0] if content else None
    title = _STAGE_INLINE.sub("", title_ln.text).strip() if title_ln else ""
    for ln in content[:5]:
        date = parse_date(ln.text)
        if date:
            return title, title_ln.no if title_ln else 0, date, ln.no
    return title, title_ln.no if title_ln else 0, None, None


def _session(title: str, lines: list[Line]) -> re.Match[str] | None:
    """令和二年第一回…定例会 in the speeches, of the title's year (not 令和元年第四回 mentioned
    in passing): the most frequent one."""
    year = re.match(rf"(?:令和|平成|昭和)(?:元|{_NUM})年", title)
    pat = re.compile(re.escape(year[0]) + _SESSION.pattern) if year else _SESSION
    found: dict[tuple[str, str], re.Match[str]] = {}
    counts: dict[tuple[str, str], int] = {}
    for ln in lines:
        for m in pat.finditer(ln.text):
            key = (m[1], m[2])
            found.setdefault(key, m)
            counts[key] = counts.get(key, 0) + 1
    return found[max(counts, key=lambda k: counts[k])] if counts else None


def _this_session(lines: list[Line]) -> str | None:
    """本定例会 / 本臨時会: the kind of session even where its number is never said."""
    for ln in lines:
        m = re.search(r"(?:本|今)(定例会|臨時会)", ln.text)
        if m:
            return m[1]
    return None


def parse(doc: RawDocument, reason: str = "") -> Meeting:
    lines = [clean_line(i, raw) for i, raw in enumerate(doc.lines, 1)]
    meeting_id = slug(doc)
    title, title_no, date, date_no = _title_facts(lines)
    first = next(
        (k for k, ln in enumerate(lines) if ln.raw[:1] in "○◯〇" and _speaker_head(ln.raw)),
        len(lines),
    )
    roll, people, agenda, programme = _read_header(lines, first)
    utterances, clock = _read_body(lines, first)

    facts: list[_Fact] = []
    if title and title_no:  # 会議名: the heading line, citable for "which sitting was it"
        facts.append(_Fact("会議名", title_no, title_no, title))
    if date_no is not None:
        facts.append(_Fact("日時", date_no, date_no, lines[date_no - 1].text))
    facts += roll + programme + clock
    facts.sort(key=lambda f: (f.start, f.end))

    def meta(f: _Fact, order: int) -> Statement:
        text = f"{f.label}：{f.value}" if f.value else f.label
        return Statement(
            meeting_id=meeting_id,
            file=doc.file,
            order=order,
            text=text,
            norm_text=nfkc(text),
            role=ROLE_META,
            start_line=f.start,
            end_line=f.end,
            role_label=f.label.split("（")[0],
            kind="meta",
        )

    statements = [meta(f, i) for i, f in enumerate(facts)]
    for u_index, u in enumerate(utterances):
        if not u.paragraphs:
            continue
        if u.role == ROLE_ASSEMBLY_MEMBER:
            segments = split_question(u.paragraphs)
        elif u.role in (ROLE_HEAD, ROLE_OFFICIAL):
            segments = split_answer(u.paragraphs)
        else:
            segments = [u.paragraphs]
        for seg_no, paras in enumerate(segments):
            text, line_map = join_mapped(paras)
            statements.append(
                Statement(
                    meeting_id=meeting_id,
                    file=doc.file,
                    order=len(statements),
                    text=text,
                    norm_text=nfkc(text),
                    role=u.role,
                    start_line=u.start if seg_no == 0 else paras[0][0],
                    end_line=paras[-1][0],
                    role_label=u.role_label,
                    speaker=u.speaker,
                    kind="procedural" if u.role in _PROCEDURAL_ROLES else "statement",
                    line_map=line_map,
                    utterance=u_index,
                    segment=seg_no,
                )
            )
    statements = link_answers(statements)

    warnings: list[str] = []
    if date is None:
        warnings.append(
            "開催日が見つかりません（日付での絞り込みには一致しません）。"
            " / No meeting date found: date filters will not match this meeting."
        )
    sess = _session(title, lines)
    session = sess[2] if sess else _this_session(lines)
    issue = _ISSUE.search(title)
    return Meeting(
        id=meeting_id,
        file=doc.file,
        title=title or doc.path.stem,
        statements=tuple(statements),
        series=re.sub(rf"会議録.*$|^(?:令和|平成|昭和)(?:元|{_NUM})年", "", title) or None,
        meeting_number=kanji_to_int(sess[1]) if sess else None,
        date=date,
        venue=None,
        agenda=tuple(dict.fromkeys(agenda)),
        doc_kind="verbatim",
        encoding=doc.encoding,
        sha256=doc.sha256,
        warnings=tuple(warnings),
        issue_number=kanji_to_int(issue[1]) if issue else None,
        session=session,
        format_reason=reason,
        attendance=tuple(people),
    )
