"""Plain, frozen records that flow through the pipeline.

Every stage takes and returns these; nothing downstream ever sees a bare string without
its source, so citations can always be traced back to a file and a line span.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from rag.errors import ConfigError, InputError

# Canonical speaker roles (Japanese, as users filter by them). The label as written in the
# minutes (座長, 委員長, 局長, ...) is kept separately in ``role_label``.
ROLE_MEMBER = "委員"  # advisory / committee members (有識者, 構成員)
ROLE_ASSEMBLY_MEMBER = "議員"  # elected members of an assembly (○百十六番（増子ひろき君）)
ROLE_HEAD = "首長"  # heads of government and deputies: 知事, 副知事, 市長, 町長, 村長 ...
ROLE_SECRETARIAT = "事務局"
ROLE_CHAIR = "議長"  # 座長 / 委員長 / 議長 / 会長
ROLE_OFFICIAL = "説明員"  # officials answering: 局長, 部長, 教育長, 警視総監, 技監 ...
ROLE_META = "会議情報"  # the meeting's own facts: date, venue, attendees, agenda
ROLE_UNKNOWN = "unknown"
ROLES = (
    ROLE_MEMBER,
    ROLE_ASSEMBLY_MEMBER,
    ROLE_HEAD,
    ROLE_SECRETARIAT,
    ROLE_CHAIR,
    ROLE_OFFICIAL,
    ROLE_META,
    ROLE_UNKNOWN,
)
# "members" means members of either kind: advisory (委員) and elected (議員).
MEMBER_ROLES = (ROLE_MEMBER, ROLE_ASSEMBLY_MEMBER)
_ANY_MEMBER = "議員・委員"

# What users may type for a role filter (English or Japanese) -> canonical role.
ROLE_ALIASES = {
    "委員": ROLE_MEMBER,
    "member": _ANY_MEMBER,
    "members": _ANY_MEMBER,
    _ANY_MEMBER: _ANY_MEMBER,
    "議員・委員": _ANY_MEMBER,
    "有識者": ROLE_MEMBER,
    "構成員": ROLE_MEMBER,
    "advisory member": ROLE_MEMBER,
    "committee member": ROLE_MEMBER,
    "議員": ROLE_ASSEMBLY_MEMBER,
    "assembly member": ROLE_ASSEMBLY_MEMBER,
    "assembly members": ROLE_ASSEMBLY_MEMBER,
    "councillor": ROLE_ASSEMBLY_MEMBER,
    "首長": ROLE_HEAD,
    "知事": ROLE_HEAD,
    "市長": ROLE_HEAD,
    "町長": ROLE_HEAD,
    "村長": ROLE_HEAD,
    "head": ROLE_HEAD,
    "governor": ROLE_HEAD,
    "mayor": ROLE_HEAD,
    "事務局": ROLE_SECRETARIAT,
    "secretariat": ROLE_SECRETARIAT,
    "議長": ROLE_CHAIR,
    "座長": ROLE_CHAIR,
    "委員長": ROLE_CHAIR,
    "会長": ROLE_CHAIR,
    "chair": ROLE_CHAIR,
    "説明員": ROLE_OFFICIAL,
    "official": ROLE_OFFICIAL,
    "officials": ROLE_OFFICIAL,
    "会議情報": ROLE_META,
    "meta": ROLE_META,
    "meeting": ROLE_META,
    "unknown": ROLE_UNKNOWN,
    "不明": ROLE_UNKNOWN,
}

ROLE_ENGLISH = {
    ROLE_MEMBER: "member",
    ROLE_ASSEMBLY_MEMBER: "assembly member",
    ROLE_HEAD: "governor / mayor",
    ROLE_SECRETARIAT: "secretariat",
    ROLE_CHAIR: "chair",
    ROLE_OFFICIAL: "official",
    ROLE_META: "meeting info",
    ROLE_UNKNOWN: "unknown",
}


def canonical_role(value: str) -> str | None:
    """Map a user-typed role (委員, member, 座長, ...) to a canonical role, or None.
    "member(s)" maps to 議員・委員, which ``expand_roles`` turns into both member roles."""
    v = unicodedata.normalize("NFKC", value).strip()
    return ROLE_ALIASES.get(v.lower()) or ROLE_ALIASES.get(v)


def expand_roles(roles: Sequence[str]) -> tuple[str, ...]:
    """Canonical roles to match, in order, without repeats: member / 議員・委員 -> 委員 and 議員."""
    out: list[str] = []
    for r in roles:
        c = canonical_role(str(r)) or str(r)
        for role in MEMBER_ROLES if c == _ANY_MEMBER else (c,):
            if role not in out:
                out.append(role)
    return tuple(out)


def speaker_matches(speaker: str | None, role_label: str | None, wanted: Sequence[str]) -> bool:
    """True when any wanted text (小池, 増子, 知事) is in the speaker name or role label (NFKC,
    spaces ignored)."""
    have = "".join(unicodedata.normalize("NFKC", x or "") for x in (speaker, role_label))
    have = "".join(have.split())
    return any("".join(unicodedata.normalize("NFKC", w).split()) in have for w in wanted if w)


@dataclass(frozen=True)
class RawDocument:
    """One file read into lines (``rag.ingest``), before any recogniser structures it."""

    path: Path
    file: str  # display path, as given
    lines: tuple[str, ...]
    encoding: str
    sha256: str
    kind: str  # "text" | "pdf" | "docx" | "html" | "records"


@dataclass(frozen=True)
class Statement:
    """One utterance / bullet of the minutes (or one meeting fact when kind == "meta")."""

    meeting_id: str
    file: str
    order: int  # 0-based position within the meeting
    text: str  # display text: original characters, hard wraps joined, bullets removed
    norm_text: str  # NFKC form used for search
    role: str  # one of ROLES
    start_line: int  # 1-based, inclusive, in the original file
    end_line: int
    role_label: str | None = None  # as written: 座長, 委員長, 局長, 委員 ...
    speaker: str | None = None  # a name when the minutes give one
    agenda: str | None = None
    topic: str | None = None  # ＜...＞ sub-heading
    # "statement" | "meta" | "procedural" (the chair running the sitting)
    kind: str = "statement"
    record: str | None = None  # structured imports: the cited record (speechID, "row 12")
    # (character offset in text, line number) where each source line's text starts: lets a
    # chunk cite the lines of its own sentences rather than the whole statement's span.
    line_map: tuple[tuple[int, int], ...] = ()
    utterance: int | None = None  # index of the ○ block in a verbatim record
    segment: int = 0  # part of that utterance (one per question asked / answered)
    answers_to: int | None = None  # order of the question statement this reply answers


@dataclass(frozen=True)
class Attendee:
    """One line of a verbatim record's roll (出席議員 / 欠席議員 / 出席説明員)."""

    name: str
    role_label: str | None  # 議員, 知事, 福祉保健局長 ...
    seat: int | None  # 議席番号 for members
    status: str  # 出席 | 欠席 | 説明員
    line: int = 0


@dataclass(frozen=True)
class Meeting:
    id: str  # stable slug derived from the file path
    file: str  # path as given / relative to the corpus root
    title: str
    statements: tuple[Statement, ...]
    series: str | None = None
    meeting_number: int | None = None  # 第N回 (of the series or the session)
    date: str | None = None  # ISO YYYY-MM-DD or None when the document has none
    venue: str | None = None
    agenda: tuple[str, ...] = ()
    doc_kind: str = "summary"  # "summary" | "verbatim" | "paragraphs"
    encoding: str = "utf-8"
    sha256: str = ""
    warnings: tuple[str, ...] = ()
    issue_number: int | None = None  # 第N号 of the record
    session: str | None = None  # 定例会 | 臨時会
    format_reason: str = ""  # which recogniser read the document, and why
    attendance: tuple[Attendee, ...] = ()
    # The id the parser gave, when ingestion renamed the meeting to keep ids unique (None
    # otherwise): lets an index rebuild reuse the parsed meeting and number it as a new parse.
    parsed_id: str | None = None


@dataclass(frozen=True)
class IngestResult:
    meetings: tuple[Meeting, ...]
    errors: tuple[InputError, ...]
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class Chunk:
    """The unit that is embedded, keyword-indexed and cited."""

    id: str  # f"{meeting_id}:{order}:{part}"
    meeting_id: str
    file: str
    title: str
    text: str  # shown to users (verbatim statement text or a part of it)
    index_text: str  # what is embedded / BM25-indexed: context header + NFKC text
    role: str
    start_line: int
    end_line: int
    order: int
    part: int = 0
    date: str | None = None
    venue: str | None = None
    agenda: str | None = None
    topic: str | None = None
    speaker: str | None = None
    role_label: str | None = None
    kind: str = "statement"
    record: str | None = None  # structured imports: the cited record instead of lines
    utterance: int | None = None
    segment: int = 0
    answers_to: int | None = None


@dataclass(frozen=True)
class Filters:
    """Restrictions applied inside retrieval, before truncation to k."""

    meetings: tuple[str, ...] = ()  # meeting ids, file names or title substrings
    roles: tuple[str, ...] = ()  # canonical roles (see canonical_role)
    since: str | None = None  # ISO date, inclusive
    until: str | None = None
    agenda: str | None = None  # substring of the agenda item
    speakers: tuple[str, ...] = ()  # substrings of the speaker name or role label (小池, 知事)

    def is_empty(self) -> bool:
        return not (
            self.meetings or self.roles or self.since or self.until or self.agenda or self.speakers
        )

    def scope(self) -> Filters:
        """Which minutes are searched (meetings, dates), without the restrictions on who
        spoke or under which agenda item: what "occurs in the minutes" is counted over."""
        return Filters(meetings=self.meetings, since=self.since, until=self.until)


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    score: float  # fused score (higher is better)
    rank: int  # 1-based
    dense_score: float | None = None  # cosine similarity
    bm25_score: float | None = None
    dense_rank: int | None = None
    bm25_rank: int | None = None
    relevance: float | None = None  # the relevance judge's probability, when re-ranked
    # Late interaction with the question (rag.late): the mean and lower quartile over the
    # question's tokens of their best cosine with this passage's tokens.
    late: tuple[float, float] | None = None
    # The other side of its exchange (the question a reply answers, the replies to a question)
    # where it is not itself a candidate, with its cosine to the question: a role filter
    # (事務局は何と答えたか) hides the member's question that says what the reply is about.
    partners: tuple[tuple[Chunk, float], ...] = ()


@dataclass(frozen=True)
class Judged:
    """A retrieved passage with the relevance judge's verdict (rag/judge.py)."""

    hit: Hit
    relevance: float  # probability that the passage addresses the question
    # The answer model's probability for it (rag.judge.ANSWER_FEATURES), one input of the
    # question-level decision (with an older model file, the answer threshold applies to the
    # best of these). None: the relevance itself.
    answerable: float | None = None


@dataclass(frozen=True)
class Citation:
    n: int  # the [n] marker in the answer text
    chunk: Chunk
    quote: str  # verbatim substring of chunk.text
    relevance: float | None = None  # the judge's probability (rag/judge.py), when judged
    # 「Q — 百十六番 増子ひろき議員: … / A — 知事」 when the cited statement is part of a linked
    # question-and-answer exchange (rag.exchange)
    exchange: str | None = None


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    citations: tuple[Citation, ...]
    found: bool
    mode: str  # "extractive" | "llm" | "llm-fallback" | "meeting-info"
    related: tuple[Hit, ...] = ()
    note: str | None = None
    filters: Filters = field(default_factory=Filters)


def make_filters(
    meetings: Sequence[str] | None = None,
    roles: Sequence[str] | None = None,
    since: str | None = None,
    until: str | None = None,
    agenda: str | None = None,
    speakers: Sequence[str] | None = None,
) -> Filters:
    """Validate what a user (or API client) typed into a Filters; ConfigError names the field."""
    canon: list[str] = []
    for r in roles or ():
        role = canonical_role(str(r))
        if role is None:
            raise ConfigError(
                f"発言者の役割 {r!r} は使えません（議員 / 委員 / 首長 / 説明員 / 議長 / 事務局 /"
                " 会議情報）。"
                f" / Unknown role {r!r}: use member, assembly member, head, official, chair,"
                " secretariat or meeting."
            )
        for one in expand_roles([role]):
            if one not in canon:
                canon.append(one)
    dates: dict[str, str | None] = {}
    for name, label, value in (("since", "開始日", since), ("until", "終了日", until)):
        value = (value or "").strip()
        if value:
            value = unicodedata.normalize("NFKC", value).replace("/", "-")
            try:
                value = date.fromisoformat(value).isoformat()
            except ValueError:
                raise ConfigError(
                    f"{label}（{name}）の {value!r} は YYYY-MM-DD 形式で入力してください。"
                    f" / {name} {value!r}: write the date as YYYY-MM-DD."
                ) from None
        dates[name] = value or None
    if dates["since"] and dates["until"] and dates["since"] > dates["until"]:
        raise ConfigError(
            "開始日が終了日より後になっています。日付の範囲を確認してください。"
            " / The since date is after the until date: check the date range."
        )
    return Filters(
        meetings=tuple(m for m in (meetings or ()) if m),
        roles=tuple(canon),
        since=dates["since"],
        until=dates["until"],
        agenda=(agenda or "").strip() or None,
        speakers=tuple(x.strip() for x in (speakers or ()) if x and x.strip()),
    )


# --- JSON forms (the CLI's --json output, the index files and the UI/API share these) ---


def statement_to_dict(s: Statement) -> dict:
    return {
        "text": s.text,
        "speaker": s.speaker,
        "role": s.role,
        "role_label": s.role_label,
        "agenda": s.agenda,
        "topic": s.topic,
        "start_line": s.start_line,
        "end_line": s.end_line,
        "order": s.order,
        "kind": s.kind,
        "utterance": s.utterance,
        "segment": s.segment,
        "answers_to": s.answers_to,
        "line_map": [list(p) for p in s.line_map],
        "meeting_id": s.meeting_id,
        "file": s.file,
        "norm_text": s.norm_text,
        "record": s.record,
    }


def statement_from_dict(d: dict) -> Statement:
    return Statement(
        meeting_id=d["meeting_id"],
        file=d["file"],
        order=d["order"],
        text=d["text"],
        norm_text=d["norm_text"],
        role=d["role"],
        start_line=d["start_line"],
        end_line=d["end_line"],
        role_label=d.get("role_label"),
        speaker=d.get("speaker"),
        agenda=d.get("agenda"),
        topic=d.get("topic"),
        kind=d.get("kind", "statement"),
        record=d.get("record"),
        line_map=tuple((int(a), int(b)) for a, b in d.get("line_map", ())),
        utterance=d.get("utterance"),
        segment=d.get("segment", 0),
        answers_to=d.get("answers_to"),
    )


def meeting_to_dict(m: Meeting) -> dict:
    d = {
        "id": m.id,
        "file": m.file,
        "title": m.title,
        "series": m.series,
        "meeting_number": m.meeting_number,
        "issue_number": m.issue_number,
        "session": m.session,
        "date": m.date,
        "venue": m.venue,
        "agenda": list(m.agenda),
        "doc_kind": m.doc_kind,
        "format_reason": m.format_reason,
        "attendance": [attendee_to_dict(a) for a in m.attendance],
        "encoding": m.encoding,
        "sha256": m.sha256,
        "warnings": list(m.warnings),
        "statements": [statement_to_dict(s) for s in m.statements],
    }
    if m.parsed_id is not None:  # only renamed meetings carry it
        d["parsed_id"] = m.parsed_id
    return d


def meeting_from_dict(d: dict) -> Meeting:
    return Meeting(
        id=d["id"],
        file=d["file"],
        title=d["title"],
        statements=tuple(statement_from_dict(s) for s in d["statements"]),
        series=d.get("series"),
        meeting_number=d.get("meeting_number"),
        date=d.get("date"),
        venue=d.get("venue"),
        agenda=tuple(d.get("agenda", ())),
        doc_kind=d.get("doc_kind", "summary"),
        encoding=d.get("encoding", "utf-8"),
        sha256=d.get("sha256", ""),
        warnings=tuple(d.get("warnings", ())),
        issue_number=d.get("issue_number"),
        session=d.get("session"),
        format_reason=d.get("format_reason", ""),
        attendance=tuple(Attendee(**a) for a in d.get("attendance", ())),
        parsed_id=d.get("parsed_id"),
    )


def attendee_to_dict(a: Attendee) -> dict:
    return {
        "name": a.name,
        "role_label": a.role_label,
        "seat": a.seat,
        "status": a.status,
        "line": a.line,
    }


_CHUNK_FIELDS = [
    "id",
    "meeting_id",
    "file",
    "title",
    "text",
    "index_text",
    "role",
    "start_line",
    "end_line",
    "order",
    "part",
    "date",
    "venue",
    "agenda",
    "topic",
    "speaker",
    "role_label",
    "kind",
    "record",
    "utterance",
    "segment",
    "answers_to",
]


def chunk_to_dict(c: Chunk) -> dict:
    return {f: getattr(c, f) for f in _CHUNK_FIELDS}


def chunk_from_dict(d: dict) -> Chunk:
    return Chunk(**{f: d[f] for f in _CHUNK_FIELDS if f in d})


def source_dict(c: Chunk) -> dict:
    """The citation-facing description of a chunk (no index-internal fields)."""
    return {
        "text": c.text,
        "file": c.file,
        "title": c.title,
        "date": c.date,
        "agenda": c.agenda,
        "topic": c.topic,
        "role": c.role,
        "role_label": c.role_label,
        "speaker": c.speaker,
        "start_line": c.start_line,
        "end_line": c.end_line,
        "record": c.record,
        "meeting_id": c.meeting_id,
        "chunk_id": c.id,
        "order": c.order,
        "kind": c.kind,
        "answers_to": c.answers_to,
    }


def hit_to_dict(h: Hit) -> dict:
    return {
        "rank": h.rank,
        "score": round(h.score, 6),
        "dense_score": None if h.dense_score is None else round(h.dense_score, 6),
        "bm25_score": None if h.bm25_score is None else round(h.bm25_score, 6),
        "relevance": None if h.relevance is None else round(h.relevance, 4),
        **source_dict(h.chunk),
    }


def citation_to_dict(c: Citation) -> dict:
    rel = None if c.relevance is None else round(c.relevance, 4)
    return {
        "n": c.n,
        "quote": c.quote,
        "relevance": rel,
        "exchange": c.exchange,
        **source_dict(c.chunk),
    }


def answer_to_dict(a: Answer) -> dict:
    return {
        "question": a.question,
        "text": a.text,
        "found": a.found,
        "mode": a.mode,
        "note": a.note,
        "citations": [citation_to_dict(c) for c in a.citations],
        "related": [hit_to_dict(h) for h in a.related],
    }
