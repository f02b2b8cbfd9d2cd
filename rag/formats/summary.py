"""The fallback recogniser: summary minutes, committee records and plain paragraphs.

It always applies, so ``rag.parse`` tries it last (after ``verbatim``). Three layouts:

* summary minutes (開催概要 / 議事要旨): bullets (・, ○, PDF private-use glyphs such as U+F06C),
  ``（事務局）`` / ``（委員）`` reply prefixes, agenda headings and ＜topic＞ sub-headings;
* committee verbatim records: ``○阿部ひであき 委員長`` / ``◆… 委員`` / ``◎… 局長`` /
  ``○議長（山田太郎君）`` / ``○石破国務大臣`` speaker lines, speech continuing until the next
  marker (doc_kind "verbatim"; assembly 会議録 with seat numbers and rolls go to ``verbatim.py``);
* anything else: paragraphs with role ``unknown`` and a warning.

Meeting facts (日時, 場所, 出席者, 議題) become ``kind="meta"`` statements first, so questions like
"when and where was it held" are answered from citable lines. Line numbers are 1-based indexes into
``RawDocument.lines``; statements never include page-number lines or bullets.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from rag.dates import date_match, kanji_to_int, parse_date
from rag.exchange import link_answers
from rag.formats.common import (
    PUA,
    SPEAKER_MARKS,
    WS,
    Line,
    clean_line,
    join_mapped,
    role_of,
    slug,
    squash_ws,
    who,
)
from rag.text import join_wrapped, nfkc
from rag.types import (
    ROLE_MEMBER,
    ROLE_META,
    ROLE_SECRETARIAT,
    ROLE_UNKNOWN,
    Meeting,
    Statement,
)

if TYPE_CHECKING:
    from rag.ingest import RawDocument

_PUA = PUA
_WS = WS
_SEPARATOR = re.compile(r"^[-－‐―─━=＝_＿~〜*＊・…]{3,}$")
_SPEAKER_MARKS = SPEAKER_MARKS
_SENTENCE_END = re.compile(r"[。！？!?．.][」』）)]*$")
_DIGITS = "0-9０-９"
_KANJI_NUM = "一二三四五六七八九十百〇"
_squash = squash_ws
_kanji_to_int = kanji_to_int


# --- dates, numbers, titles --------------------------------------------------------------------


def _date_match(text: str) -> tuple[str, re.Match[str]] | None:
    return date_match(text)


def _is_date_only(text: str) -> bool:
    hit = _date_match(text)
    if not hit:
        return False
    rest = nfkc(text)[: hit[1].start()] + nfkc(text)[hit[1].end() :]
    rest = re.sub(r"[（(][^）)]*[）)]", "", rest)  # （金曜日）
    rest = re.sub(r"(午前|午後)?\s*\d{1,2}\s*[時:：]\s*(\d{1,2}\s*分?)?", "", rest)
    rest = re.sub(r"から|開催|[\s～〜~\-－]", "", rest)
    return len(rest) <= 2


# 第２回 -> 2, but 第２１１回国会 / 第１回定例会 are sessions, not meetings; Diet records number
# their meetings 第３号.
_NUMBER = re.compile(rf"第\s*([{_DIGITS}{_KANJI_NUM}]+)\s*回(?!\s*(?:国会|定例会|臨時会))")
_ISSUE = re.compile(rf"第\s*([{_DIGITS}{_KANJI_NUM}]+)\s*号")


def _meeting_number(title: str) -> int | None:
    m = _NUMBER.search(title) or _ISSUE.search(title)
    return _kanji_to_int(m.group(1)) if m else None


def _issue_number(title: str) -> int | None:
    m = _ISSUE.search(title)
    return _kanji_to_int(m.group(1)) if m else None


def _session(title: str) -> str | None:
    m = re.search(r"定例会|臨時会", title)
    return m.group(0) if m else None


_DOC_WORDS = re.compile(
    r"[\s　]*(開催概要|開催結果|議事要旨|議事概要|議事録|会議録|会議記録|議事記録|記録|要旨|概要)$"
)


def _series(title: str) -> str | None:
    s = re.sub(r"(令和|平成|昭和)\s*[元0-9０-９]+\s*年度", " ", title)
    s = re.sub(rf"[（(]?\s*第\s*[{_DIGITS}{_KANJI_NUM}]+\s*回\s*[）)]?", " ", s)
    for _ in range(2):
        s = _DOC_WORDS.sub("", s.strip())
    s = _WS.sub(" ", s).strip(" 　・:：")
    return s or None


# --- roles -------------------------------------------------------------------------------------

_role_of = role_of
_who = who


_MARK = f"[{_SPEAKER_MARKS}]"
_NAME = r"[^\s　（()）、。「」：:]"
# ○議長（山田太郎君） text
_SPK_PAREN = re.compile(
    rf"^(?P<m>{_MARK})\s*(?P<label>{_NAME}{{1,20}}?)\s*[（(](?P<name>[^）)]{{1,20}}?)"
    r"(?:君|さん|氏|殿)?[）)][\s　:：]*(?P<text>.*)$"
)
# ○阿部ひであき 委員長 text   /   ◎高橋 市民文化局長 text
_SPK_SPACED = re.compile(
    rf"^(?P<m>{_MARK})\s*(?P<name>{_NAME}{{1,15}})[ 　]+(?P<label>{_NAME}{{1,15}})"
    r"(?:[ 　:：]+(?P<text>.*))?\s*[:：]?$"
)
# ○山田委員 text   /   ○委員長 text   /   ○山田太郎君 text
_SPK_JOINED = re.compile(rf"^(?P<m>{_MARK})\s*(?P<who>{_NAME}{{1,25}})(?:[ 　:：]+(?P<text>.*))?$")


@dataclass(frozen=True)
class _Speaker:
    role: str
    role_label: str | None
    speaker: str | None
    text: str


def _speaker_line(line: str) -> _Speaker | None:
    """A verbatim-record speaker line, or None."""
    m = _SPK_PAREN.match(line)
    if m:
        hit = _role_of(m["label"])
        if hit:
            name = _squash(m["name"]) or None
            return _Speaker(hit[0], _squash(m["label"]), name, m["text"].strip())
    m = _SPK_SPACED.match(line)
    if m:
        hit = _role_of(m["label"])
        if hit and not _role_of(m["name"]):
            return _Speaker(hit[0], m["label"], m["name"], (m["text"] or "").strip())
    m = _SPK_JOINED.match(line)
    if m:
        who = _who(m["who"])
        if who:
            role, label, name = who
            if label == "君":  # Diet style ○山田太郎君: a member named by honorific only
                label = None
            return _Speaker(role, label, name, (m["text"] or "").strip())
    return None


_PREFIX_PAREN = re.compile(r"^[（(]([^（()）]{1,20})[）)]\s*(\S.*)$")
_PREFIX_COLON = re.compile(r"^([^\s：:、。「」（()）]{1,20})\s*[：:]\s*(\S.*)$")
_SECRETARIAT_LEAD = re.compile(r"^事務局(?:[（(][^）)]*[）)])?(?:から|より|が|は|\s)")


def _prefixed(text: str) -> tuple[str, str, str | None, str] | None:
    """（事務局）… / （委員）… / 山田委員：… -> (role, role_label, speaker, rest)."""
    for pat in (_PREFIX_PAREN, _PREFIX_COLON):
        m = pat.match(text)
        if m:
            who = _who(m.group(1))
            if who:
                return (*who, m.group(2))
    return None


# --- headings and meeting facts ----------------------------------------------------------------

_NUM_ANY = rf"[{_DIGITS}{_KANJI_NUM}]"
_AGENDA_PATTERNS = (
    # 【議題２】（仮称）第２次札幌市 ICT 活用戦略 基本戦略について
    re.compile(r"^(【\s*(?:議題|議事|案件|議案|報告事項|協議事項|審議事項)[^】]*】.*)$"),
    # (2) 議事２－１ 令和４年度の取組について  -> the "(2)" outline number is dropped
    re.compile(
        rf"^[（(]\s*[{_DIGITS}]{{1,2}}\s*[)）]\s*((?:議題|議事|報告|協議|審議|議案)\S*(?:[\s　].*)?)$"
    ),
    # 議題１ … / 議事２－１ …
    re.compile(
        rf"^((?:議題|議事)\s*{_NUM_ANY}+(?:\s*[－\-‐ー―の]\s*[{_DIGITS}]+)?(?:[\s　：:．.、].*)?)$"
    ),
    # 日程第１ … / 議案第１号 …
    re.compile(rf"^((?:日程第|議案第)\s*{_NUM_ANY}+号?(?:[\s　].*)?)$"),
)
# (3) 報告 — a bare outline heading; only trusted where no sentence is open.
_OUTLINE = re.compile(rf"^[（(]\s*[{_DIGITS}]{{1,2}}\s*[)）]\s*(\S[^。、]{{0,40}})$")
_NUMBERED_SECTION = re.compile(
    rf"^[（(]?[{_DIGITS}{_KANJI_NUM}]{{1,2}}[)）.．、]?[\s　]+(\S[^。、]{{0,25}})$"
)
_TOPIC = re.compile(r"^[＜<〈《]\s*(.+?)\s*[＞>〉》]$")
_SECTION = re.compile(r"^【\s*([^】]+?)\s*】$")
_END = re.compile(r"^以\s*上$")
_STAGE = re.compile(r"^[（(〔［\[][^（()）〔〕]{0,40}[）)〕］\]]$")

_META_LABELS: dict[str, str] = {}
for _group, _words in {
    "date": "日時 開催日時 開催日 日付 年月日 開催年月日 開催日程",
    "time": "開会 閉会 開議 散会 時間 開催時間",
    "venue": "場所 実施場所 開催場所 会場",
    "attendees": "出席者 出席委員 出席構成員 委員出席者 出席 欠席者 欠席委員 説明員 出席説明員",
    "agenda": "議題 次第 会議次第 案件",
}.items():
    for _w in _words.split():
        _META_LABELS[_w] = _group
_META_RE = re.compile(
    rf"^(?:[（(]?[{_DIGITS}{_KANJI_NUM}]{{1,2}}[)）.．、]?[\s　]*|[■□●◆◇・]\s*)?"
    r"(?P<label>"
    + "|".join(r"\s*".join(map(re.escape, w)) for w in sorted(_META_LABELS, key=len, reverse=True))
    + r")\s*(?:[：:]\s*|[\s　]+|$)(?P<value>.*)$"
)
_MAX_VALUE_LINES = {"date": 3, "time": 2, "venue": 3, "attendees": 40, "agenda": 40}


def _agenda_heading(text: str) -> str | None:
    for pat in _AGENDA_PATTERNS:
        m = pat.match(text)
        if m and "。" not in m.group(1):
            return _WS.sub(" ", m.group(1)).strip()
    return None


# --- the line model ----------------------------------------------------------------------------


_Line = Line
_clean = clean_line


def _speaker_of(ln: _Line) -> _Speaker | None:
    return _speaker_line(ln.raw) if ln.raw and ln.raw[0] in _SPEAKER_MARKS else None


@dataclass
class _Open:
    """A statement being collected."""

    start: int
    role: str
    role_label: str | None
    speaker: str | None
    agenda: str | None
    topic: str | None
    marked: bool  # started by a bullet/speaker/prefix: ends only at the next marker/heading
    parts: list[tuple[int, str]] = field(default_factory=list)

    def add(self, no: int, text: str) -> None:
        if text:
            self.parts.append((no, text))

    @property
    def last_text(self) -> str:
        return self.parts[-1][1] if self.parts else ""


@dataclass
class _Meta:
    label: str
    group: str
    start: int
    end: int
    value: str

    @property
    def text(self) -> str:
        return f"{self.label}：{self.value}" if self.value else self.label


# --- the parser --------------------------------------------------------------------------------


def _layout(content: list[Line]) -> str:
    """verbatim (speaker lines), summary (bullets, headings, reply prefixes) or paragraphs."""
    n_speakers = sum(1 for ln in content if _speaker_of(ln))
    n_struct = sum(
        1
        for ln in content
        if ln.bullet
        or _agenda_heading(ln.text)
        or _TOPIC.match(ln.text)
        or _SECTION.match(ln.text)
        or _prefixed(ln.text)
    )
    if n_speakers >= 2:
        return "verbatim"
    return "summary" if n_struct or n_speakers else "paragraphs"


def _blank_is_break(lines: list[Line], content: list[Line]) -> bool:
    """Blank lines mean nothing in PDF text where every wrapped line is followed by one."""
    blank_nos = {ln.no for ln in lines if not ln.text and not ln.artifact}
    gaps = [
        any(n in blank_nos for n in range(a.no + 1, b.no)) for a, b in itertools.pairwise(content)
    ]
    return not (len(gaps) >= 3 and sum(gaps) / len(gaps) >= 0.8)


def _title_lines(header: list[Line]) -> list[Line]:
    """The leading short lines before the first fact or section heading (at most three)."""
    title_lines: list[Line] = []
    for ln in header[:4]:
        if (
            len(ln.text) > 80
            or "。" in ln.text
            or _META_RE.match(ln.text)
            or _SEPARATOR.match(ln.text)
            or _is_date_only(ln.text)
            or (title_lines and _NUMBERED_SECTION.match(ln.text))
        ):
            break
        title_lines.append(ln)
        if len(title_lines) == 3:
            break
    return title_lines


def detect(lines: list[Line]) -> str | None:
    """The fallback recogniser: always applies (it ends in paragraphs when nothing matches)."""
    return "summary / committee layout (bullets, headings, ◆◎△ speaker lines) or paragraphs"


def parse(doc: RawDocument, reason: str = "") -> Meeting:
    """Structure one document. Never raises on odd text: unrecognised layouts become
    paragraphs with a warning."""
    lines = [_clean(i, raw) for i, raw in enumerate(doc.lines, 1)]
    content = [ln for ln in lines if ln.text]
    meeting_id = slug(doc)
    warnings: list[str] = []

    doc_kind = _layout(content)
    blank_is_break = _blank_is_break(lines, content)

    def is_body_start(ln: _Line) -> bool:
        if _META_RE.match(ln.text) and not ln.bullet:
            return False  # 説明員：… is a fact about the meeting, not a statement
        if doc_kind == "verbatim":
            return bool(_speaker_of(ln) or _agenda_heading(ln.text))
        return bool(
            ln.bullet
            or _agenda_heading(ln.text)
            or _TOPIC.match(ln.text)
            or _SECTION.match(ln.text)
            or _prefixed(ln.text)
        )

    header_end = next((k for k, ln in enumerate(content) if is_body_start(ln)), len(content))
    header = content[:header_end]
    used: set[int] = set()  # line numbers consumed by title / meta / headings

    title_lines = _title_lines(header)
    if doc_kind == "paragraphs":
        # Prose: a short first line is a heading, but keep it as content too (it may be a
        # wrapped sentence fragment).
        title_lines = title_lines[:1]
        title = _WS.sub(" ", title_lines[0].text).strip() if title_lines else doc.path.stem
    else:
        used.update(ln.no for ln in title_lines)
        title = _WS.sub(" ", " ".join(ln.text for ln in title_lines)).strip() or doc.path.stem

    # 3. Meeting facts in the header (and standalone date lines).
    metas: list[_Meta] = []

    def read_meta(k: int, seq: list[_Line], limit_to: int) -> int:
        """Parse a fact starting at seq[k]; returns the index after it."""
        ln = seq[k]
        m = _META_RE.match(ln.text)
        assert m
        label = _squash(m["label"])
        group = _META_LABELS[label]
        parts = [m["value"].strip()] if m["value"].strip() else []
        end = ln.no
        used.add(ln.no)
        j = k + 1
        # A value on the label line only continues for lists (出席者); otherwise read the
        # indented value lines below the label.
        more = _MAX_VALUE_LINES[group] if not parts or group in ("attendees", "agenda") else 0
        while j < limit_to and more > 0:
            nxt = seq[j]
            if (
                _META_RE.match(nxt.text)
                or _NUMBERED_SECTION.match(nxt.text)
                or _SEPARATOR.match(nxt.text)
                or is_body_start(nxt)
            ):
                break
            parts.append(nxt.text)
            used.add(nxt.no)
            end = nxt.no
            more -= 1
            j += 1
        if group == "attendees":  # a list of names, not wrapped prose
            value = _WS.sub(" ", " ".join(parts)).strip()
        else:
            value = join_wrapped(parts)
        metas.append(_Meta(label, group, ln.no, end, value))
        return j

    k = 0
    while k < len(header):
        ln = header[k]
        if ln.no in used:
            k += 1
        elif _META_RE.match(ln.text):
            k = read_meta(k, header, len(header))
        elif _is_date_only(ln.text):
            metas.append(_Meta("日時", "date", ln.no, ln.no, ln.text))
            used.add(ln.no)
            k += 1
        elif (_NUMBERED_SECTION.match(ln.text) or _SEPARATOR.match(ln.text)) and doc_kind != (
            "paragraphs"
        ):
            used.add(ln.no)  # "５ 議  事": a section heading with nothing to cite
            k += 1
        else:
            k += 1

    # 4. Statements.
    doc_default = (
        ROLE_MEMBER
        if doc_kind == "summary"
        and re.search(r"有識者|委員|構成員|審議会|懇談会|懇話会|検討会|研究会|部会", title)
        else ROLE_UNKNOWN
    )
    section_role = doc_default
    agenda: str | None = None
    topic: str | None = None
    agenda_seen: list[tuple[int, str]] = []
    body: list[Statement] = []
    cur: _Open | None = None

    def close() -> None:
        nonlocal cur
        if cur is not None and cur.parts:
            joined, line_map = join_mapped(cur.parts)
            text = _PUA.sub("", joined).strip()
            if text != joined:
                line_map = ()  # offsets no longer hold: chunks fall back to the whole span
            if text:
                body.append(
                    Statement(
                        meeting_id=meeting_id,
                        file=doc.file,
                        order=0,  # renumbered below, after the meta statements
                        text=text,
                        norm_text=nfkc(text),
                        role=cur.role,
                        start_line=cur.start,
                        end_line=max(cur.start, cur.parts[-1][0]),
                        role_label=cur.role_label,
                        speaker=cur.speaker,
                        agenda=cur.agenda,
                        topic=cur.topic,
                        line_map=line_map,
                    )
                )
        cur = None

    def open_(no: int, role: str, label: str | None, speaker: str | None, marked: bool) -> _Open:
        close()
        return _Open(no, role, label, speaker, agenda, topic, marked)

    def default_label(role: str) -> str | None:
        return role if role in (ROLE_MEMBER, ROLE_SECRETARIAT) else None

    def sentence_open() -> bool:
        """True while the current statement's last line stops mid-sentence (a wrap)."""
        return cur is not None and not _SENTENCE_END.search(cur.last_text)

    k = 0
    while k < len(lines):
        ln = lines[k]
        k += 1
        if ln.no in used or ln.artifact:
            continue
        if not ln.text:
            # A blank line ends a bullet/paragraph only where blank lines separate paragraphs
            # (not in PDF text where they separate wrapped lines), and never mid-sentence in a
            # bullet (a page break) or inside a verbatim speech.
            if (
                blank_is_break
                and cur is not None
                and not (cur.marked and (doc_kind == "verbatim" or sentence_open()))
            ):
                close()
            continue
        text = ln.text

        if _END.match(text):
            close()  # 以上: the formal end of the minutes, not a statement
            continue
        if _SEPARATOR.match(text):
            close()
            continue
        if doc_kind == "verbatim" and _STAGE.match(text):
            continue  # （拍手） etc.: stage directions, not speech

        spk = _speaker_of(ln)
        if spk is not None:
            cur = open_(ln.no, spk.role, spk.role_label, spk.speaker, marked=True)
            cur.add(ln.no, spk.text)
            continue

        in_speech = doc_kind == "verbatim" and cur is not None
        heading = None if in_speech else _agenda_heading(text)
        if heading is None and doc_kind == "summary" and not sentence_open():
            m = _OUTLINE.match(text)
            heading = m.group(1).strip() if m and not ln.bullet else None
        if heading is not None and not ln.bullet:
            close()
            agenda, topic, section_role = heading, None, doc_default
            agenda_seen.append((ln.no, heading))
            continue

        if not in_speech:
            m = _TOPIC.match(text)
            if m and not ln.bullet:
                close()
                topic = m.group(1).strip()
                continue
            m = _SECTION.match(text)
            if m and not ln.bullet:
                close()
                name = m.group(1)
                if "事務局" in name:
                    section_role = ROLE_SECRETARIAT
                elif re.search(r"委員|有識者|構成員|意見", name):
                    section_role = ROLE_MEMBER
                else:
                    section_role = doc_default
                topic = None
                continue
            if doc_kind == "verbatim" and _META_RE.match(text):
                rest = [x for x in lines[k - 1 :] if x.text]  # 閉会 午後２時 after the last speech
                read_meta(0, rest, len(rest))
                continue
            if (
                doc_kind == "summary"
                and not ln.bullet
                and not sentence_open()
                and _NUMBERED_SECTION.match(text)
                and not _prefixed(text)
            ):
                close()  # "６ 閉  会": a section heading
                continue

        if doc_kind != "verbatim" and ln.bullet:
            pre = _prefixed(text)
            if pre:
                role, label, speaker, text = pre
            elif _SECRETARIAT_LEAD.match(text):
                role, label, speaker = ROLE_SECRETARIAT, "事務局", None
            else:
                role, label, speaker = section_role, default_label(section_role), None
            cur = open_(ln.no, role, label, speaker, marked=True)
            cur.add(ln.no, text)
            continue

        if doc_kind != "verbatim":
            pre = _prefixed(text)
            if pre:  # （事務局）… : a reply, separate from the bullet above it
                role, label, speaker, rest = pre
                cur = open_(ln.no, role, label, speaker, marked=True)
                cur.add(ln.no, rest)
                continue

        if cur is None:
            role = ROLE_UNKNOWN if doc_kind != "summary" else section_role
            cur = open_(ln.no, role, default_label(role), None, marked=False)
        cur.add(ln.no, text)
        if not cur.marked and not blank_is_break and _SENTENCE_END.search(text):
            close()  # hard-wrapped prose: a sentence end at a line end ends the paragraph
    close()

    # 5. Meeting-level fields.
    agenda_items: list[str] = []
    for _, a in agenda_seen:
        if a not in agenda_items:
            agenda_items.append(a)
    if agenda_seen:
        metas.append(
            _Meta(
                "議題一覧",
                "agenda-list",
                agenda_seen[0][0],
                agenda_seen[-1][0],
                "／".join(agenda_items),
            )
        )
    date = None
    for meta in metas:
        if meta.group == "date":
            date = parse_date(meta.value)
            if date:
                break
    if date is None:
        date = parse_date(title)
    venue = next((m.value for m in metas if m.group == "venue" and m.value), None)

    metas.sort(key=lambda m: (m.start, m.end))
    statements: list[Statement] = []
    for m in metas:
        text = m.text
        statements.append(
            Statement(
                meeting_id=meeting_id,
                file=doc.file,
                order=len(statements),
                text=text,
                norm_text=nfkc(text),
                role=ROLE_META,
                start_line=m.start,
                end_line=m.end,
                role_label=m.label,
                kind="meta",
            )
        )
    base = len(statements)
    statements.extend(replace(s, order=base + i) for i, s in enumerate(body))
    statements = link_answers(statements)  # （事務局） replies answer the member before them

    if doc_kind == "paragraphs":
        warnings.append(
            "議事録の構造（発言者・箇条書き・議題）を検出できなかったため、段落単位で取り込みました"
            "（発言者の役割は unknown）。"
            " / No minutes structure (speakers, bullets, agenda) found: imported as paragraphs"
            " with role unknown."
        )
    if date is None:
        warnings.append(
            "開催日が見つかりません（日付での絞り込みには一致しません）。"
            " / No meeting date found: date filters will not match this meeting."
        )

    return Meeting(
        id=meeting_id,
        file=doc.file,
        title=title,
        statements=tuple(statements),
        series=_series(title) if title != doc.path.stem else None,
        meeting_number=_meeting_number(title),
        issue_number=_issue_number(title),
        session=_session(title),
        format_reason=reason,
        date=date,
        venue=venue,
        agenda=tuple(agenda_items),
        doc_kind=doc_kind,
        encoding=doc.encoding,
        sha256=doc.sha256,
        warnings=tuple(warnings),
    )
