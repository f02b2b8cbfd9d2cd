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
from dataclasses import dataclass, field

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
    RawDocument,
    Statement,
)

_SEPARATOR = re.compile(r"^[-－‐―─━=＝_＿~〜*＊・…]{3,}$")
_SENTENCE_END = re.compile(r"[。！？!?．.][」』）)]*$")
_DIGITS = "0-9０-９"
_KANJI_NUM = "一二三四五六七八九十百〇"


# --- dates, numbers, titles --------------------------------------------------------------------


def _is_date_only(text: str) -> bool:
    hit = date_match(text)
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
    return kanji_to_int(m.group(1)) if m else None


def _issue_number(title: str) -> int | None:
    m = _ISSUE.search(title)
    return kanji_to_int(m.group(1)) if m else None


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
    s = WS.sub(" ", s).strip(" 　・:：")
    return s or None


# --- roles -------------------------------------------------------------------------------------


_MARK = f"[{SPEAKER_MARKS}]"
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
        hit = role_of(m["label"])
        if hit:
            name = squash_ws(m["name"]) or None
            return _Speaker(hit[0], squash_ws(m["label"]), name, m["text"].strip())
    m = _SPK_SPACED.match(line)
    if m:
        hit = role_of(m["label"])
        if hit and not role_of(m["name"]):
            return _Speaker(hit[0], m["label"], m["name"], (m["text"] or "").strip())
    m = _SPK_JOINED.match(line)
    if m:
        hit = who(m["who"])
        if hit:
            role, label, name = hit
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
            hit = who(m.group(1))
            if hit:
                return (*hit, m.group(2))
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
            return WS.sub(" ", m.group(1)).strip()
    return None


# --- the line model ----------------------------------------------------------------------------


def _speaker_of(ln: Line) -> _Speaker | None:
    return _speaker_line(ln.raw) if ln.raw and ln.raw[0] in SPEAKER_MARKS else None


def _is_structure(ln: Line) -> bool:
    """A line that only summary minutes have: a bullet, a heading or a reply prefix."""
    return bool(
        ln.bullet
        or _agenda_heading(ln.text)
        or _TOPIC.match(ln.text)
        or _SECTION.match(ln.text)
        or _prefixed(ln.text)
    )


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


@dataclass(frozen=True)
class _Meta:
    label: str
    group: str
    start: int
    end: int
    value: str

    @property
    def text(self) -> str:
        return f"{self.label}：{self.value}" if self.value else self.label


# --- layout: which of the three forms, and where the header ends -----------------------------


def _layout(content: list[Line]) -> str:
    """verbatim (speaker lines), summary (bullets, headings, reply prefixes) or paragraphs."""
    n_speakers = sum(1 for ln in content if _speaker_of(ln))
    if n_speakers >= 2:
        return "verbatim"
    return "summary" if n_speakers or any(_is_structure(ln) for ln in content) else "paragraphs"


def _blank_is_break(lines: list[Line], content: list[Line]) -> bool:
    """Blank lines mean nothing in PDF text where every wrapped line is followed by one."""
    blank_nos = {ln.no for ln in lines if not ln.text and not ln.artifact}
    gaps = [
        any(n in blank_nos for n in range(a.no + 1, b.no)) for a, b in itertools.pairwise(content)
    ]
    return not (len(gaps) >= 3 and sum(gaps) / len(gaps) >= 0.8)


def _is_body_start(ln: Line, layout: str) -> bool:
    """The first line of the statements; what comes before is the header (title, facts)."""
    if _META_RE.match(ln.text) and not ln.bullet:
        return False  # 説明員：… is a fact about the meeting, not a statement
    if layout == "verbatim":
        return bool(_speaker_of(ln) or _agenda_heading(ln.text))
    return _is_structure(ln)


def _header(content: list[Line], layout: str) -> list[Line]:
    end = next((k for k, ln in enumerate(content) if _is_body_start(ln, layout)), len(content))
    return content[:end]


# --- the header: title and meeting facts -------------------------------------------------------


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


def _title(header: list[Line], layout: str, stem: str) -> tuple[str, list[Line]]:
    """(title, the lines it takes from the statements). In prose a short first line is a
    heading but stays content too: it may be a wrapped sentence fragment."""
    lines = _title_lines(header)
    if layout == "paragraphs":
        return (WS.sub(" ", lines[0].text).strip() if lines else stem), []
    return WS.sub(" ", " ".join(ln.text for ln in lines)).strip() or stem, lines


def _ends_value(ln: Line, layout: str) -> bool:
    """A line that cannot continue the value of the fact above it."""
    return bool(
        _META_RE.match(ln.text)
        or _NUMBERED_SECTION.match(ln.text)
        or _SEPARATOR.match(ln.text)
        or _is_body_start(ln, layout)
    )


def _read_fact(seq: list[Line], k: int, layout: str) -> tuple[_Meta, int]:
    """The fact labelled on ``seq[k]`` (日時：…, or 出席者 with names on the next lines) and the
    index after its last line."""
    ln = seq[k]
    m = _META_RE.match(ln.text)
    assert m, ln.text
    label = squash_ws(m["label"])
    group = _META_LABELS[label]
    parts = [m["value"].strip()] if m["value"].strip() else []
    # A value on the label line continues only for lists (出席者, 議題); without one, the
    # value is on the (indented) lines below the label.
    more = _MAX_VALUE_LINES[group] if not parts or group in ("attendees", "agenda") else 0
    j = k + 1
    while j < len(seq) and more > 0 and not _ends_value(seq[j], layout):
        parts.append(seq[j].text)
        more -= 1
        j += 1
    # 出席者 is a list of names, not wrapped prose.
    value = WS.sub(" ", " ".join(parts)).strip() if group == "attendees" else join_wrapped(parts)
    return _Meta(label, group, ln.no, seq[j - 1].no, value), j


def _header_facts(header: list[Line], layout: str, taken: set[int]) -> tuple[list[_Meta], set[int]]:
    """Meeting facts of the header (labelled facts, lone date lines), and the line numbers that
    no statement may use: ``taken`` (the title's) plus the facts' and section headings'."""
    facts: list[_Meta] = []
    taken = set(taken)
    k = 0
    while k < len(header):
        ln = header[k]
        if ln.no not in taken and _META_RE.match(ln.text):
            fact, after = _read_fact(header, k, layout)
            facts.append(fact)
            taken.update(x.no for x in header[k:after])
            k = after
            continue
        if ln.no not in taken and _is_date_only(ln.text):
            facts.append(_Meta("日時", "date", ln.no, ln.no, ln.text))
            taken.add(ln.no)
        elif layout != "paragraphs" and (
            _NUMBERED_SECTION.match(ln.text) or _SEPARATOR.match(ln.text)
        ):
            taken.add(ln.no)  # "５ 議  事": a section heading with nothing to cite
        k += 1
    return facts, taken


# --- the body: statements, line by line --------------------------------------------------------


def _default_role(layout: str, title: str) -> str:
    """Unlabelled bullets of an advisory body's summary are its members' opinions."""
    if layout == "summary" and re.search(
        r"有識者|委員|構成員|審議会|懇談会|懇話会|検討会|研究会|部会", title
    ):
        return ROLE_MEMBER
    return ROLE_UNKNOWN


def _default_label(role: str) -> str | None:
    return role if role in (ROLE_MEMBER, ROLE_SECRETARIAT) else None


def _section_role(name: str, default: str) -> str:
    """The speakers of a 【…】 section: 【事務局説明】 the secretariat, 【委員意見】 the members."""
    if "事務局" in name:
        return ROLE_SECRETARIAT
    if re.search(r"委員|有識者|構成員|意見", name):
        return ROLE_MEMBER
    return default


def _bullet_speaker(text: str, section_role: str) -> tuple[str, str | None, str | None, str]:
    """(role, role_label, speaker, text) of a bullet: its own prefix （事務局）… / 山田委員：…,
    事務局から… , else the section's speakers."""
    pre = _prefixed(text)
    if pre:
        return pre
    if _SECRETARIAT_LEAD.match(text):
        return ROLE_SECRETARIAT, "事務局", None, text
    return section_role, _default_label(section_role), None, text


@dataclass
class _Body:
    """One pass over the lines after the header: the statements (``said``), agenda headings
    (``agenda_seen``) and, in committee records, facts after the last speech (``facts``).

    ``taken`` holds the line numbers the header used; facts read here add theirs."""

    lines: list[Line]
    layout: str
    blank_is_break: bool
    default_role: str
    taken: set[int]
    said: list[_Open] = field(default_factory=list)
    facts: list[_Meta] = field(default_factory=list)
    agenda_seen: list[tuple[int, str]] = field(default_factory=list)
    cur: _Open | None = None
    agenda: str | None = None
    topic: str | None = None
    section_role: str = ""

    def read(self) -> _Body:
        self.section_role = self.default_role
        for k, ln in enumerate(self.lines):
            if ln.no in self.taken or ln.artifact:
                continue
            if ln.text:
                self._line(k, ln)
            else:
                self._blank()
        self._close()
        return self

    # state changes

    def _close(self) -> None:
        if self.cur is not None and self.cur.parts:
            self.said.append(self.cur)
        self.cur = None

    def _open(self, no: int, role: str, label: str | None, speaker: str | None) -> _Open:
        """A marked statement (speaker line, bullet, reply prefix) starting on line ``no``."""
        self._close()
        self.cur = _Open(no, role, label, speaker, self.agenda, self.topic, marked=True)
        return self.cur

    def _sentence_open(self) -> bool:
        """True while the current statement's last line stops mid-sentence (a wrap)."""
        return self.cur is not None and not _SENTENCE_END.search(self.cur.last_text)

    # one line

    def _blank(self) -> None:
        """A blank line ends a bullet/paragraph only where blank lines separate paragraphs
        (not in PDF text where they separate wrapped lines), and never mid-sentence in a
        bullet (a page break) or inside a committee speech."""
        cur = self.cur
        if not self.blank_is_break or cur is None:
            return
        if not (cur.marked and (self.layout == "verbatim" or self._sentence_open())):
            self._close()

    def _line(self, k: int, ln: Line) -> None:
        if _END.match(ln.text) or _SEPARATOR.match(ln.text):
            self._close()  # 以上 (the formal end of the minutes) or a rule: not statements
            return
        if self.layout == "verbatim" and _STAGE.match(ln.text):
            return  # （拍手） etc.: stage directions, not speech
        spk = _speaker_of(ln)
        if spk is not None:
            self._open(ln.no, spk.role, spk.role_label, spk.speaker).add(ln.no, spk.text)
            return
        in_speech = self.layout == "verbatim" and self.cur is not None
        if self._agenda_heading(ln, in_speech):
            return
        if not in_speech and (
            self._topic_or_section(ln) or self._trailing_fact(k, ln) or self._outline_section(ln)
        ):
            return
        if self.layout != "verbatim" and (self._bullet(ln) or self._reply(ln)):
            return
        self._continue(ln)

    def _agenda_heading(self, ln: Line, in_speech: bool) -> bool:
        """【議題１】… / 議事２ … / (3) 報告: a new agenda item."""
        heading = None if in_speech else _agenda_heading(ln.text)
        if heading is None and self.layout == "summary" and not self._sentence_open():
            m = _OUTLINE.match(ln.text)
            heading = m.group(1).strip() if m and not ln.bullet else None
        if heading is None or ln.bullet:
            return False
        self._close()
        self.agenda, self.topic, self.section_role = heading, None, self.default_role
        self.agenda_seen.append((ln.no, heading))
        return True

    def _topic_or_section(self, ln: Line) -> bool:
        """＜topic＞ sub-headings and 【section】 headings that say who speaks below them."""
        if ln.bullet:
            return False
        m = _TOPIC.match(ln.text)
        if m:
            self._close()
            self.topic = m.group(1).strip()
            return True
        m = _SECTION.match(ln.text)
        if m:
            self._close()
            self.section_role = _section_role(m.group(1), self.default_role)
            self.topic = None
            return True
        return False

    def _trailing_fact(self, k: int, ln: Line) -> bool:
        """閉会 午後２時 after the last speech of a committee record: a fact, not speech."""
        if self.layout != "verbatim" or not _META_RE.match(ln.text):
            return False
        rest = [x for x in self.lines[k:] if x.text]
        fact, after = _read_fact(rest, 0, self.layout)
        self.facts.append(fact)
        self.taken.update(x.no for x in rest[:after])
        return True

    def _outline_section(self, ln: Line) -> bool:
        """ "６ 閉  会" between bullets of a summary: a section heading with nothing to cite."""
        if (
            self.layout == "summary"
            and not ln.bullet
            and not self._sentence_open()
            and _NUMBERED_SECTION.match(ln.text)
            and not _prefixed(ln.text)
        ):
            self._close()
            return True
        return False

    def _bullet(self, ln: Line) -> bool:
        if not ln.bullet:
            return False
        role, label, speaker, text = _bullet_speaker(ln.text, self.section_role)
        self._open(ln.no, role, label, speaker).add(ln.no, text)
        return True

    def _reply(self, ln: Line) -> bool:
        """（事務局）… : a reply, separate from the bullet above it."""
        pre = _prefixed(ln.text)
        if not pre:
            return False
        role, label, speaker, rest = pre
        self._open(ln.no, role, label, speaker).add(ln.no, rest)
        return True

    def _continue(self, ln: Line) -> None:
        """Text that continues the current statement, or starts an unmarked paragraph."""
        if self.cur is None:
            role = self.section_role if self.layout == "summary" else ROLE_UNKNOWN
            self.cur = _Open(
                ln.no, role, _default_label(role), None, self.agenda, self.topic, False
            )
        self.cur.add(ln.no, ln.text)
        if not self.cur.marked and not self.blank_is_break and _SENTENCE_END.search(ln.text):
            self._close()  # hard-wrapped prose: a sentence end at a line end ends the paragraph


# --- the meeting -------------------------------------------------------------------------------


def _agenda_fact(seen: list[tuple[int, str]]) -> _Meta | None:
    """議題一覧: every agenda heading, once, cited at the lines from the first to the last."""
    if not seen:
        return None
    items = "／".join(dict.fromkeys(a for _, a in seen))
    return _Meta("議題一覧", "agenda-list", seen[0][0], seen[-1][0], items)


def _title_fact(title_lines: list[Line]) -> _Meta | None:
    """会議名: the title lines joined as wrapped text (so the quote is found in the cited
    lines), so 「この会議は第何回か」 and "what is the meeting called" cite the heading itself."""
    if not title_lines:
        return None
    value = join_wrapped([ln.text.strip() for ln in title_lines])
    return _Meta("会議名", "title", title_lines[0].no, title_lines[-1].no, value)


def _meeting_date(facts: list[_Meta], title: str) -> str | None:
    """The first date fact that parses, else a date in the title."""
    for fact in facts:
        if fact.group == "date":
            date = parse_date(fact.value)
            if date:
                return date
    return parse_date(title)


def _fact_statement(fact: _Meta, order: int, meeting_id: str, file: str) -> Statement:
    return Statement(
        meeting_id=meeting_id,
        file=file,
        order=order,
        text=fact.text,
        norm_text=nfkc(fact.text),
        role=ROLE_META,
        start_line=fact.start,
        end_line=fact.end,
        role_label=fact.label,
        kind="meta",
    )


def _statement(said: _Open, order: int, meeting_id: str, file: str) -> Statement | None:
    """The collected lines as one statement (None when only PDF glyphs were collected)."""
    joined, line_map = join_mapped(said.parts)
    text = PUA.sub("", joined).strip()
    if text != joined:
        line_map = ()  # offsets no longer hold: chunks fall back to the whole span
    if not text:
        return None
    return Statement(
        meeting_id=meeting_id,
        file=file,
        order=order,
        text=text,
        norm_text=nfkc(text),
        role=said.role,
        start_line=said.start,
        end_line=max(said.start, said.parts[-1][0]),
        role_label=said.role_label,
        speaker=said.speaker,
        agenda=said.agenda,
        topic=said.topic,
        line_map=line_map,
    )


def _warnings(layout: str, date: str | None) -> list[str]:
    warnings = []
    if layout == "paragraphs":
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
    return warnings


def detect(lines: list[Line]) -> str | None:
    """The fallback recogniser: always applies (it ends in paragraphs when nothing matches)."""
    return "summary / committee layout (bullets, headings, ◆◎△ speaker lines) or paragraphs"


def parse(doc: RawDocument, reason: str = "") -> Meeting:
    """Structure one document. Never raises on odd text: unrecognised layouts become
    paragraphs with a warning."""
    lines = [clean_line(i, raw) for i, raw in enumerate(doc.lines, 1)]
    content = [ln for ln in lines if ln.text]
    layout = _layout(content)
    header = _header(content, layout)
    title, title_lines = _title(header, layout, doc.path.stem)
    facts, taken = _header_facts(header, layout, {ln.no for ln in title_lines})
    body = _Body(
        lines, layout, _blank_is_break(lines, content), _default_role(layout, title), taken
    ).read()
    facts += body.facts
    name = _title_fact(title_lines)
    if name:
        facts.append(name)
    agenda_list = _agenda_fact(body.agenda_seen)
    if agenda_list:
        facts.append(agenda_list)
    date = _meeting_date(facts, title)

    meeting_id = slug(doc)
    statements = [
        _fact_statement(f, i, meeting_id, doc.file)
        for i, f in enumerate(sorted(facts, key=lambda f: (f.start, f.end)))
    ]
    for said in body.said:
        st = _statement(said, len(statements), meeting_id, doc.file)
        if st is not None:
            statements.append(st)
    statements = link_answers(statements)  # （事務局） replies answer the member before them

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
        venue=next((f.value for f in facts if f.group == "venue" and f.value), None),
        agenda=tuple(dict.fromkeys(a for _, a in body.agenda_seen)),
        doc_kind=layout,
        encoding=doc.encoding,
        sha256=doc.sha256,
        warnings=tuple(_warnings(layout, date)),
    )
