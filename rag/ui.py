"""Gradio web UI: cited chat, briefings, a meeting browser and adding minutes.

The page comes up at once; the index (and the embedding model) load on first use with
visible progress, and the index is built from ``settings.corpus_dir`` when none exists yet.
Two API-only endpoints serve other programs (gradio_client): ``/ask`` returns the JSON of
``answer_to_dict`` and ``/search`` a list of ``hit_to_dict``; the UI's own events are private
so the API page lists only what is meant to be called.

Gradio is imported inside functions so ``minutes-rag --help`` stays instant. No
``from __future__ import annotations`` here: Gradio reads handler type hints at run time
(gr.SelectData, gr.Progress) and cannot resolve them from strings.
"""

import asyncio
import contextlib
import hmac
import html
import logging
import re
import shutil
import tempfile
import threading
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.config import Settings
from rag.errors import ConfigError, MinutesRagError
from rag.types import (
    ROLE_ASSEMBLY_MEMBER,
    ROLE_CHAIR,
    ROLE_ENGLISH,
    ROLE_HEAD,
    ROLE_MEMBER,
    ROLE_META,
    ROLE_OFFICIAL,
    ROLE_SECRETARIAT,
    ROLE_UNKNOWN,
    ROLES,
    Answer,
    Chunk,
    Filters,
    Hit,
    Meeting,
    Statement,
    answer_to_dict,
    hit_to_dict,
    make_filters,
)

if TYPE_CHECKING:
    import gradio as gr

    from rag.index import MinutesIndex

log = logging.getLogger(__name__)

EXAMPLE_QUESTIONS = (
    "FIWAREについて委員はどのような意見を述べたか",
    "テレワーク実施率について委員の意見は？",
    "人材育成についての意見は？",
    "What did members say about smartphone use?",
)

# Filter choices: (label shown, canonical role sent to retrieval).
ROLE_CHOICES = [
    (f"{r}（{ROLE_ENGLISH[r]}）", r)
    for r in (
        ROLE_ASSEMBLY_MEMBER,
        ROLE_MEMBER,
        ROLE_HEAD,
        ROLE_OFFICIAL,
        ROLE_CHAIR,
        ROLE_SECRETARIAT,
        ROLE_META,
    )
]
_ROLE_CLASS = {
    ROLE_MEMBER: "member",
    ROLE_ASSEMBLY_MEMBER: "member",
    ROLE_HEAD: "official",
    ROLE_SECRETARIAT: "secretariat",
    ROLE_CHAIR: "chair",
    ROLE_OFFICIAL: "official",
    ROLE_META: "meta",
    ROLE_UNKNOWN: "unknown",
}


def split_speakers(text: str | None) -> list[str]:
    """「小池, 増子、知事」 -> ['小池', '増子', '知事'] (the UI's speaker textbox)."""
    return [x for x in re.split(r"[,，、\s]+", text or "") if x]


NOT_FOUND = "議事録に該当する発言は見つかりませんでした / Not found in the minutes"
UPLOAD_SUBDIR = "uploads"
BRIEFING_DEFAULT_K = 15
# Source cards shown before "show all": about one screen of the sources panel.
SHOWN_CARDS = 5


# ---------------------------------------------------------------- backend state


class _Backend:
    """The per-app index holder: loads (or builds) the index once, reloads after uploads.

    A lock serialises loading so a question asked while the page's own load event is still
    building the index waits for that build instead of starting a second one."""

    def __init__(self, settings: Settings, llm: Any = None) -> None:
        self.settings = settings
        self.llm = llm
        self._index: MinutesIndex | None = None
        self._lock = threading.RLock()
        self.build_errors: list[str] = []

    def index(self, progress: Callable[..., Any] | None = None) -> "MinutesIndex":
        with self._lock:
            if self._index is None:
                from rag.index import build_index, index_exists, load_index

                if not index_exists(self.settings):
                    _say(
                        progress,
                        0.0,
                        "索引がないため議事録から作成しています… / Building the index from the minutes…",
                    )
                    report = build_index(
                        [self.settings.corpus_dir], self.settings, progress=_adapt(progress)
                    )
                    self.build_errors = [str(e) for e in report.errors]
                _say(progress, 0.9, "索引を読み込み中… / Loading the index…")
                self._index = load_index(self.settings)
            return self._index

    def warm_model(self, progress: Callable[..., Any] | None = None) -> None:
        """Load the embedding model now, so the first question does not pay for it silently."""
        from rag.embed import get_embedder

        _say(progress, 0.95, "埋め込みモデルを読み込み中… / Loading the embedding model…")
        get_embedder(self.settings)

    def reload(self) -> "MinutesIndex":
        with self._lock:
            self._index = None
            return self.index()


def _say(progress: Callable[..., Any] | None, fraction: float, message: str) -> None:
    if progress is not None:
        try:
            progress(fraction, desc=message)
        except Exception:  # progress is cosmetic; never let it break a request
            log.debug("progress update failed", exc_info=True)


def _adapt(progress: Callable[..., Any] | None) -> Callable[[int, int, str], None] | None:
    """Turn a gr.Progress into the pipeline's ``progress(done, total, message)`` callback."""
    if progress is None:
        return None

    def update(done: int, total: int, message: str = "") -> None:
        _say(progress, (done / total) if total else 0.0, message or "処理中… / Working…")

    return update


# ---------------------------------------------------------------- inputs -> Filters


def _override(settings: Settings, k: float | int | None, mode: str | None) -> Settings:
    kk = int(k) if k else None
    if kk is not None and not 1 <= kk <= 100:
        raise ConfigError(
            f"件数 k={kk} は 1〜100 で指定してください。 / k={kk}: use a number from 1 to 100."
        )
    return settings.with_overrides(k=kk, mode=(mode or None))


# ---------------------------------------------------------------- highlighting


_TERM_RE = re.compile(
    r"[A-Za-z][A-Za-z0-9.\-]+|[\u30A1-\u30FA\u30FC]{2,}|[\u4E00-\u9FFF々〆]{2,}|\d+(?:\.\d+)?%?"
)
# Question words that would otherwise be emphasised everywhere in the minutes.
_STOP_TEXT = """委員 意見 発言 会議 議事録 事務局 議長 座長 説明 内容 何 どのよう 述 について
what which who whom how why when where did does do say said says about the members member
and for with from that this those these are was were is any there they them minutes
meeting meetings opinion opinions comment comments"""
_STOP_TERMS = frozenset(_STOP_TEXT.split())


def query_terms(query: str) -> list[str]:
    """Content words of a question (NFKC, lower-case) used to emphasise matches in sources."""
    terms: list[str] = []
    for m in _TERM_RE.finditer(unicodedata.normalize("NFKC", query or "")):
        t = m.group(0).lower().strip(".-")
        if len(t) >= 2 and t not in _STOP_TERMS and t not in terms:
            terms.append(t)
    return terms


def _squash_map(text: str) -> tuple[str, list[int]]:
    """NFKC + lower-case without whitespace, with each folded char's index in ``text`` —
    so a quote or a term found in the folded form can be marked in the original text."""
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        for c in unicodedata.normalize("NFKC", ch).lower():
            if not c.isspace():
                out.append(c)
                where.append(i)
    return "".join(out), where


def _spans(haystack: str, where: list[int], needle: str) -> list[tuple[int, int]]:
    folded, _ = _squash_map(needle)
    if not folded:
        return []
    spans = []
    start = haystack.find(folded)
    while start != -1:
        end = start + len(folded) - 1
        spans.append((where[start], where[end] + 1))
        start = haystack.find(folded, start + len(folded))
    return spans


def highlight(text: str, quote: str | None = None, terms: Iterable[str] = ()) -> str:
    """HTML of ``text`` with the quoted part in <mark> and query terms in <strong>."""
    folded, where = _squash_map(text)
    marked = [False] * len(text)
    strong = [False] * len(text)
    if quote:
        for a, b in _spans(folded, where, quote)[:1]:
            marked[a:b] = [True] * (b - a)
    for term in terms:
        for a, b in _spans(folded, where, term):
            strong[a:b] = [True] * (b - a)
    parts: list[str] = []
    i = 0
    while i < len(text):
        j = i
        while j < len(text) and marked[j] == marked[i] and strong[j] == strong[i]:
            j += 1
        piece = html.escape(text[i:j])
        if strong[i]:
            piece = f"<strong>{piece}</strong>"
        if marked[i]:
            piece = f"<mark>{piece}</mark>"
        parts.append(piece)
        i = j
    return "".join(parts)


# ---------------------------------------------------------------- HTML rendering


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def format_date(iso: str | None) -> str:
    """'2023-02-08' -> '2023年2月8日'; missing dates say so instead of leaving a gap."""
    if not iso:
        return "日付なし / no date"
    try:
        d = date.fromisoformat(iso)
    except ValueError:
        return iso
    return f"{d.year}年{d.month}月{d.day}日"


def role_badge(role: str, label: str | None = None) -> str:
    cls = _ROLE_CLASS.get(role, "unknown")
    text = label if label and label != role else role
    title = f"{role} / {ROLE_ENGLISH.get(role, role)}"
    return f'<span class="role-badge role-{cls}" title="{_e(title)}">{_e(text)}</span>'


def _where(file: str, start: int, end: int, record: str | None = None) -> str:
    """File name and line span; the full path (often a long absolute one) is in the tooltip."""
    lines = f"L{start}" if start == end else f"L{start}–{end}"
    lines = record or lines  # structured imports (JSON/CSV) cite the record, not lines
    return f'<span class="src-file" title="{_e(file)}">{_e(Path(file).name)} : {lines}</span>'


def source_card(
    n: int | str,
    chunk: Chunk,
    *,
    quote: str | None = None,
    terms: Iterable[str] = (),
    src_index: int | None = None,
    extra_class: str = "",
    relevance: float | None = None,
    exchange: str | None = None,
) -> str:
    """One numbered source card: meeting, date, agenda, role, verbatim text, file and lines
    (and the relevance judge's probability when the statement was judged)."""
    agenda = " ／ ".join(_e(x) for x in (chunk.agenda, chunk.topic) if x)
    speaker = f'<span class="src-speaker">{_e(chunk.speaker)}</span>' if chunk.speaker else ""
    open_btn = (
        f'<button type="button" class="open-full" data-src="{src_index}">'
        "全文を見る <small>Open in minutes</small></button>"
        if src_index is not None
        else ""
    )
    return (
        f'<article class="src-card {extra_class}" id="src-{_e(n)}">'
        f'<header class="src-head"><span class="src-n">{_e(n)}</span>'
        f"{role_badge(chunk.role, chunk.role_label)}{speaker}"
        f'<span class="src-title">{_e(chunk.title)}</span>'
        f'<span class="src-date">{_e(format_date(chunk.date))}</span>'
        + (
            f'<span class="src-rel" title="関連度（学習モデルの確率） / relevance">'
            f"関連度 {relevance:.2f}</span>"
            if relevance is not None
            else ""
        )
        + "</header>"
        + (f'<div class="src-agenda">議題 / Agenda: {agenda}</div>' if agenda else "")
        + (f'<div class="src-agenda src-exchange">{_e(exchange)}</div>' if exchange else "")
        + f'<blockquote class="src-text">{highlight(chunk.text, quote, terms)}</blockquote>'
        f'<footer class="src-foot">{_where(chunk.file, chunk.start_line, chunk.end_line, chunk.record)}'
        f"{open_btn}</footer></article>"
    )


def render_answer_sources(ans: Answer) -> tuple[str, list[dict]]:
    """Source cards for an answer, plus the list the "全文を見る" buttons index into."""
    terms = query_terms(ans.question)
    refs: list[dict] = []
    parts: list[str] = []
    if ans.found and ans.citations:
        parts.append(f'<h3 class="src-heading">出典 / Sources（{len(ans.citations)}）</h3>')
        cards = []
        for c in ans.citations:
            refs.append(_ref(c.chunk, c.quote))
            cards.append(
                source_card(
                    c.n,
                    c.chunk,
                    quote=c.quote,
                    terms=terms,
                    src_index=len(refs) - 1,
                    relevance=c.relevance,
                    exchange=c.exchange,
                )
            )
        parts.extend(cards[:SHOWN_CARDS])
        if len(cards) > SHOWN_CARDS:
            # A complete answer may cite many statements: the first few are shown, the rest
            # one click away, still in the same numbered order as the markers.
            parts.append(
                f'<details class="more-sources"><summary>すべて表示（残り {len(cards) - SHOWN_CARDS} 件）'
                f" / Show all {len(cards)} sources</summary>"
                + "".join(cards[SHOWN_CARDS:])
                + "</details>"
            )
    if not ans.found:
        parts.append(f'<div class="not-found"><strong>{_e(NOT_FOUND)}</strong></div>')
    if ans.related:
        label = (
            "関連する箇所（回答ではありません） / Related passages — not the answer"
            if not ans.found
            else "その他の関連箇所 / Other related passages"
        )
        parts.append(f'<h3 class="src-heading related-heading">{_e(label)}</h3>')
        for h in ans.related:
            refs.append(_ref(h.chunk, None))
            parts.append(
                source_card(
                    "–", h.chunk, terms=terms, src_index=len(refs) - 1, extra_class="related"
                )
            )
    if not parts:
        parts.append('<p class="muted">出典はありません / No sources.</p>')
    return '<div class="sources">' + "".join(parts) + "</div>", refs


def _ref(chunk: Chunk, quote: str | None) -> dict:
    return {
        "meeting_id": chunk.meeting_id,
        "order": chunk.order,
        "quote": quote or chunk.text,
        "title": chunk.title,
    }


def _role_counts(meeting: Meeting) -> dict[str, int]:
    counts: dict[str, int] = {}
    for s in meeting.statements:
        counts[s.role] = counts.get(s.role, 0) + 1
    return {r: counts[r] for r in ROLES if r in counts}


def render_meeting(
    meeting: Meeting,
    *,
    highlight_order: int | None = None,
    quote: str | None = None,
    terms: Iterable[str] = (),
) -> str:
    """A meeting's facts and its statements in order; the highlighted one gets an anchor."""
    terms = list(terms)
    counts = _role_counts(meeting)
    badges = " ".join(f"{role_badge(r)}<b>{n}</b>" for r, n in counts.items())
    agenda = "".join(f"<li>{_e(a)}</li>" for a in meeting.agenda)
    head = (
        f'<section class="meeting" id="meeting-{_e(meeting.id)}">'
        f'<h2 class="meeting-title">{_e(meeting.title)}</h2>'
        '<dl class="meeting-facts">'
        f"<dt>日時 / Date</dt><dd>{_e(format_date(meeting.date))}</dd>"
        f"<dt>場所 / Venue</dt><dd>{_e(meeting.venue or '記載なし / not stated')}</dd>"
        f"<dt>ファイル / File</dt><dd>{_e(meeting.file)}</dd>"
        f"<dt>発言数 / Statements</dt><dd>{len(meeting.statements)}　{badges}</dd>"
        "</dl>"
        + (
            f'<details open class="agenda"><summary>議題 / Agenda</summary><ol>{agenda}</ol></details>'
            if agenda
            else ""
        )
        + "".join(f'<p class="warn">⚠ {_e(w)}</p>' for w in meeting.warnings)
    )
    rows: list[str] = []
    last_heading: tuple[str | None, str | None] = (None, None)
    start_of = {s.order: s.start_line for s in meeting.statements}
    for s in meeting.statements:
        heading = (s.agenda, s.topic)
        if heading != last_heading and (s.agenda or s.topic):
            if s.agenda and s.agenda != last_heading[0]:
                rows.append(f'<h3 class="stmt-agenda">{_e(s.agenda)}</h3>')
            if s.topic and s.topic != last_heading[1]:
                rows.append(f'<h4 class="stmt-topic">＜{_e(s.topic)}＞</h4>')
            last_heading = heading
        target = s.order == highlight_order
        body = highlight(s.text, quote if target else None, terms)
        rows.append(
            f'<div class="stmt{" target" if target else ""}'
            f'{" " + s.kind if s.kind in ("meta", "procedural") else ""}"'
            f' id="stmt-{_e(meeting.id)}-{s.order}">'
            f'<div class="stmt-side">{role_badge(s.role, s.role_label)}'
            + (f'<span class="stmt-speaker">{_e(s.speaker)}</span>' if s.speaker else "")
            + f'<span class="stmt-lines">{_e(s.record or f"L{s.start_line}")}</span>'
            + (
                f'<a class="stmt-lines" href="#stmt-{_e(meeting.id)}-{s.answers_to}"'
                f' title="この答弁が答える質問 / the question this answers">'
                f"Q L{start_of.get(s.answers_to, '?')}</a>"
                if s.answers_to is not None
                else ""
            )
            + f'</div><div class="stmt-text">{body}</div></div>'
        )
    return head + '<div class="stmts">' + "".join(rows) + "</div></section>"


def render_meetings_overview(meetings: Iterable[Meeting]) -> str:
    cards = []
    for m in _sorted_meetings(meetings):
        counts = _role_counts(m)
        badges = " ".join(f"{role_badge(r)}<b>{n}</b>" for r, n in counts.items())
        agenda = "".join(f"<li>{_e(a)}</li>" for a in m.agenda[:8])
        more = f"<li>… 他 {len(m.agenda) - 8} 件</li>" if len(m.agenda) > 8 else ""
        cards.append(
            '<article class="meeting-card">'
            f"<h3>{_e(m.title)}</h3>"
            f'<p class="meeting-meta">{_e(format_date(m.date))}　{_e(m.venue or "")}</p>'
            f'<p class="meeting-counts">発言 {len(m.statements)} 件　{badges}</p>'
            + (f"<ol>{agenda}{more}</ol>" if agenda else "")
            + f'<p class="src-file">{_e(m.file)}</p></article>'
        )
    if not cards:
        return '<p class="muted">まだ会議がありません。「議事録を追加」タブから追加できます。 / No meetings yet: add minutes in the "Add minutes" tab.</p>'
    return '<div class="meeting-grid">' + "".join(cards) + "</div>"


def _sorted_meetings(meetings: Iterable[Meeting]) -> list[Meeting]:
    return sorted(meetings, key=lambda m: (m.date or "9999", m.title))


def meeting_choices(index: "MinutesIndex") -> list[tuple[str, str]]:
    """Dropdown choices: (「title（date）」, meeting id)."""
    return [
        (f"{m.title}（{format_date(m.date) if m.date else '日付なし'}）", m.id)
        for m in _sorted_meetings(index.meetings.values())
    ]


# ---------------------------------------------------------------- briefing


def _statement_of(index: "MinutesIndex", chunk: Chunk) -> Statement | None:
    meeting = index.meetings.get(chunk.meeting_id)
    if meeting is None:
        return None
    for s in meeting.statements:
        if s.order == chunk.order:
            return s
    return None


def briefing_groups(
    index: "MinutesIndex", hits: Sequence[Hit]
) -> list[tuple[Meeting, list[tuple[str, list[tuple[Statement, Chunk]]]]]]:
    """Hits as whole statements, once each, grouped by meeting (by date) then by role."""
    seen: set[tuple[str, int]] = set()
    by_meeting: dict[str, dict[str, list[tuple[Statement, Chunk]]]] = {}
    for h in hits:
        c = h.chunk
        key = (c.meeting_id, c.order)
        if key in seen:
            continue
        seen.add(key)
        s = _statement_of(index, c)
        if s is None:  # index and meetings out of step: still show the chunk itself
            s = Statement(
                c.meeting_id,
                c.file,
                c.order,
                c.text,
                c.text,
                c.role,
                c.start_line,
                c.end_line,
                c.role_label,
                c.speaker,
                c.agenda,
                c.topic,
                c.kind,
            )
        by_meeting.setdefault(c.meeting_id, {}).setdefault(s.role, []).append((s, c))
    meetings = _sorted_meetings(index.meetings[mid] for mid in by_meeting if mid in index.meetings)
    out = []
    for m in meetings:
        roles = by_meeting[m.id]
        out.append(
            (m, [(r, sorted(roles[r], key=lambda sc: sc[0].order)) for r in ROLES if r in roles])
        )
    return out


def briefing_source(s: Statement) -> str:
    """The line under a quoted statement in a memo: who, where in the agenda, file and lines."""
    who = s.role_label or s.role
    if s.speaker:
        who = f"{s.speaker}（{who}）"
    ctx = " ／ ".join(x for x in (s.agenda, s.topic) if x)
    where = s.record or f"L{s.start_line}–{s.end_line}"  # JSON/CSV imports cite the record
    return f"— {who}" + (f"、{ctx}" if ctx else "") + f"（{s.file} {where}）"


def briefing_markdown(
    topic: str, index: "MinutesIndex", hits: Sequence[Hit], filters: Filters
) -> str:
    """The memo-ready Markdown: every statement verbatim with meeting, agenda, file and lines."""
    lines = [
        f"# ブリーフィング / Briefing: {topic}",
        "",
        f"- 作成 / Created: {datetime.now().strftime('%Y-%m-%d %H:%M')}",
        f"- 条件 / Filters: {_filters_text(filters)}",
        "- 出典は議事録の原文（ファイル名と行番号）です。 / Quotes are verbatim from the minutes (file and lines).",
        "",
    ]
    groups = briefing_groups(index, hits)
    if not groups:
        lines.append(f"_{NOT_FOUND}_")
    for m, roles in groups:
        lines += [f"## {m.title}（{format_date(m.date)}）", ""]
        if m.venue:
            lines += [f"場所 / Venue: {m.venue}", ""]
        for role, items in roles:
            lines += [f"### {role}（{ROLE_ENGLISH.get(role, role)}）", ""]
            for s, _c in items:
                lines.append(f"- 「{s.text}」")
                lines.append(f"  {briefing_source(s)}")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


_briefing_dir: Path | None = None


def briefing_dir() -> Path:
    """One folder per server process for briefing downloads: a file per topic, overwritten
    when the same topic is asked again (a temp folder per request would fill /tmp)."""
    global _briefing_dir
    if _briefing_dir is None or not _briefing_dir.is_dir():
        _briefing_dir = Path(tempfile.mkdtemp(prefix="minutes-rag-briefings-"))
    return _briefing_dir


def briefing_docx(
    topic: str, index: "MinutesIndex", hits: Sequence[Hit], filters: Filters, path: Path
) -> Path:
    """The same memo as :func:`briefing_markdown`, as a Word document (python-docx)."""
    from docx import Document

    doc = Document()
    doc.add_heading(f"ブリーフィング / Briefing: {topic}", level=0)
    doc.add_paragraph(f"作成 / Created: {datetime.now().strftime('%Y-%m-%d %H:%M')}")
    doc.add_paragraph(f"条件 / Filters: {_filters_text(filters)}")
    doc.add_paragraph(
        "出典は議事録の原文（ファイル名と行番号）です。 / Quotes are verbatim from the minutes."
    )
    groups = briefing_groups(index, hits)
    if not groups:
        doc.add_paragraph(NOT_FOUND)
    for m, roles in groups:
        doc.add_heading(f"{m.title}（{format_date(m.date)}）", level=1)
        if m.venue:
            doc.add_paragraph(f"場所 / Venue: {m.venue}")
        for role, items in roles:
            doc.add_heading(f"{role}（{ROLE_ENGLISH.get(role, role)}）", level=2)
            for s, _c in items:
                doc.add_paragraph(f"「{s.text}」", style="List Bullet")
                doc.add_paragraph(briefing_source(s)).runs[0].italic = True
    doc.save(str(path))
    return path


def render_briefing_html(topic: str, index: "MinutesIndex", hits: Sequence[Hit]) -> str:
    groups = briefing_groups(index, hits)
    if not groups:
        return f'<div class="not-found"><strong>{_e(NOT_FOUND)}</strong></div>'
    terms = query_terms(topic)
    parts = ['<div class="briefing">']
    n = 0
    for m, roles in groups:
        parts.append(
            f'<h2 class="brief-meeting">{_e(m.title)}'
            f' <span class="src-date">{_e(format_date(m.date))}</span></h2>'
        )
        for role, items in roles:
            parts.append(f'<h3 class="brief-role">{role_badge(role)} {len(items)} 件</h3>')
            for s, _c in items:
                n += 1
                ctx = " ／ ".join(_e(x) for x in (s.agenda, s.topic) if x)
                parts.append(
                    '<div class="brief-item">'
                    f'<span class="src-n">{n}</span>'
                    f'<div><div class="brief-text">{highlight(s.text, None, terms)}</div>'
                    f'<div class="brief-cite">{_e(s.role_label or s.role)}'
                    + (f"　{ctx}" if ctx else "")
                    + f"　{_where(s.file, s.start_line, s.end_line, s.record)}</div></div></div>"
                )
    parts.append("</div>")
    return "".join(parts)


def _filters_text(f: Filters) -> str:
    if f.is_empty():
        return "なし / none"
    bits = []
    if f.meetings:
        bits.append("会議 " + ", ".join(f.meetings))
    if f.roles:
        bits.append("役割 " + ", ".join(f.roles))
    if f.since or f.until:
        bits.append(f"期間 {f.since or '…'}〜{f.until or '…'}")
    if f.agenda:
        bits.append(f"議題 {f.agenda}")
    if f.speakers:
        bits.append("発言者 " + ", ".join(f.speakers))
    return "; ".join(bits)


# ---------------------------------------------------------------- chat text


def answer_markdown(ans: Answer) -> str:
    """The assistant message: the answer with its [n] markers, plus any note."""
    text = ans.text.strip()
    if not ans.found:
        text = f"**{text or NOT_FOUND}**"
        if ans.related:
            text += "\n\n_関連する箇所を右側に表示しています（回答ではありません）。 / Related passages are shown beside — they are not an answer._"
    if ans.note:
        text += f"\n\n<small>※ {ans.note}</small>"
    return text


# ---------------------------------------------------------------- the app


_CARD_JS = """
element.addEventListener('click', (ev) => {
  const btn = ev.target.closest('[data-src]');
  if (!btn) return;
  ev.preventDefault();
  const i = Number(btn.dataset.src);
  trigger('select', {index: i, value: i, selected: true});
});
"""

# Bring the highlighted statement into view each time the viewer is filled.
_VIEWER_JS = """
const jump = () => {
  const t = element.querySelector('.stmt.target');
  if (t) t.scrollIntoView({block: 'center', behavior: 'smooth'});
};
watch('value', () => setTimeout(jump, 50));
jump();
"""


def build_app(settings: Settings, llm: Any = None) -> "gr.Blocks":
    """The whole UI as a gr.Blocks (launch it with ``launch_options()`` for the styling)."""
    from rag.config import go_offline

    go_offline()  # before gradio (and huggingface_hub through it) is imported
    import gradio as gr

    backend = _Backend(settings, llm)

    def user_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
        """MinutesRagError -> gr.Error with its sentence; anything else -> a short sentence
        (logged with its traceback on the server, never shown to the user)."""
        import functools
        import inspect

        def convert(exc: Exception) -> Exception:
            if isinstance(exc, gr.Error):
                return exc
            if isinstance(exc, MinutesRagError):
                return gr.Error(str(exc), print_exception=False)
            log.exception("unexpected error in the UI")
            return gr.Error(
                f"予期しないエラーが発生しました（{type(exc).__name__}: {exc}）。"
                " サーバーのログを確認してください。"
                f" / Unexpected error ({type(exc).__name__}): see the server log.",
                print_exception=False,
            )

        if inspect.isgeneratorfunction(fn):

            @functools.wraps(fn)
            def gen_wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
                try:
                    yield from fn(*args, **kwargs)
                except Exception as exc:
                    raise convert(exc) from None

            return gen_wrapper

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                raise convert(exc) from None

        return wrapper

    # ---------------- event handlers

    @user_errors
    def on_load(progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:  # noqa: B008 (Gradio idiom)
        index = backend.index(progress)
        backend.warm_model(progress)
        for e in backend.build_errors:
            gr.Warning(e)
        backend.build_errors = []
        choices = meeting_choices(index)
        return (
            gr.update(choices=choices),
            gr.update(choices=choices, value=choices[0][1] if choices else None),
            render_meetings_overview(index.meetings.values()),
            _status_text(index),
        )

    @user_errors
    def on_ask(
        question: str,
        messages: list[dict],
        turns: list[tuple[str, Answer]],
        meetings: list[str],
        roles: list[str],
        since: str,
        until: str,
        k: float,
        mode: str,
        speaker: str = "",
        progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio idiom)
    ) -> Iterator[tuple[Any, ...]]:
        question = (question or "").strip()
        if not question:
            raise gr.Error("質問を入力してください。 / Please type a question.")
        filters = make_filters(meetings, roles, since, until, speakers=split_speakers(speaker))
        s = _override(settings, k, mode)
        messages = [
            *messages,
            {"role": "user", "content": question},
            {"role": "assistant", "content": "議事録を検索しています… / Searching the minutes…"},
        ]
        skip = gr.skip()
        yield "", messages, messages, skip, skip, skip
        try:
            index = backend.index(progress)
            from rag.answer import answer_stream

            text = ""
            final: Answer | None = None
            # (question, Answer) turns let follow-ups (他には？ / 札幌では？) reuse the
            # previous topic, filters and citations.
            for item in answer_stream(
                question, index, filters=filters, history=turns, settings=s, llm=backend.llm
            ):
                if isinstance(item, str):
                    text += item
                    messages[-1] = {"role": "assistant", "content": text}
                    yield skip, messages, skip, skip, skip, skip
                else:
                    final = item
            if final is None:  # the contract promises a final Answer; never hang on it
                raise MinutesRagError("回答を作成できませんでした。 / No answer was produced.")
        except Exception as exc:
            # Keep the conversation readable: the placeholder becomes the error sentence.
            shown = str(exc) if isinstance(exc, MinutesRagError) else type(exc).__name__
            messages[-1] = {"role": "assistant", "content": f"⚠ {shown}"}
            yield skip, messages, messages, skip, skip, skip
            raise
        messages[-1] = {"role": "assistant", "content": answer_markdown(final)}
        cards, refs = render_answer_sources(final)
        yield skip, messages, messages, [*turns, (question, final)], cards, refs

    def on_clear() -> tuple[Any, ...]:
        return [], [], [], _EMPTY_SOURCES, [], gr.update(visible=False)

    @user_errors
    def on_open_source(refs: list[dict], evt: gr.SelectData) -> tuple[Any, ...]:
        try:
            ref = refs[int(evt.value)]
        except (TypeError, ValueError, IndexError):
            raise gr.Error(
                "この出典はもう表示されていません。 / That source is no longer shown."
            ) from None
        index = backend.index()
        meeting = index.meetings.get(ref["meeting_id"])
        if meeting is None:
            raise gr.Error(
                f"会議 {ref['meeting_id']} が索引にありません。索引を作り直してください。"
                f" / Meeting {ref['meeting_id']} is not in the index: rebuild the index."
            )
        body = render_meeting(meeting, highlight_order=ref["order"], quote=ref.get("quote"))
        return gr.update(visible=True), body

    @user_errors
    def on_briefing(
        topic: str,
        meetings: list[str],
        roles: list[str],
        since: str,
        until: str,
        k: float,
        mode: str,
        speaker: str = "",
        progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio idiom)
    ) -> tuple[Any, ...]:
        topic = (topic or "").strip()
        if not topic:
            raise gr.Error("テーマを入力してください。 / Please type a topic.")
        filters = make_filters(meetings, roles, since, until, speakers=split_speakers(speaker))
        s = _override(settings, k, mode)
        index = backend.index(progress)
        from rag.answer import relevant_statements

        if not filters.roles:  # a memo wants opinions, not the date/venue lines
            filters = replace(filters, roles=tuple(r for r in ROLES if r != ROLE_META))
        # The same relevance cut as answers; the slider caps how many statements are listed.
        judged = relevant_statements(index, topic, filters, s, depth=2 * s.k)
        hits = [j.hit for j in judged[: s.k]]
        if not hits:
            raise gr.Error(
                f"「{topic}」に関する発言は議事録に見つかりませんでした。"
                f" / The minutes contain no statement on “{topic}”."
            )
        md = briefing_markdown(topic, index, hits, filters)
        folder = briefing_dir()
        path = folder / f"briefing-{_slug(topic)}.md"
        path.write_text(md, encoding="utf-8")
        docx_path = briefing_docx(
            topic, index, hits, filters, folder / f"briefing-{_slug(topic)}.docx"
        )
        return (
            render_briefing_html(topic, index, hits),
            gr.update(value=str(path), visible=True),
            gr.update(value=str(docx_path), visible=True),
        )

    @user_errors
    def on_meeting(meeting_id: str | None) -> str:
        if not meeting_id:
            return ""
        index = backend.index()
        meeting = index.meetings.get(meeting_id)
        return render_meeting(meeting) if meeting else ""

    @user_errors
    def on_upload(
        files: list[str] | None,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio idiom)
    ) -> tuple[str, dict]:
        from gradio.utils import get_upload_folder

        report = add_minutes(
            backend, [Path(f) for f in files or []], progress, upload_root=Path(get_upload_folder())
        )
        for bad in report["rejected"]:
            gr.Warning(f"{bad['file']}: {bad['reason']}")
        return _upload_summary(report), report

    def after_upload() -> tuple[Any, ...]:
        index = backend.index()
        choices = meeting_choices(index)
        return (
            gr.update(choices=choices),
            gr.update(choices=choices),
            render_meetings_overview(index.meetings.values()),
            _status_text(index),
        )

    # ---------------- API-only endpoints (typed: gr.api derives the schema from the hints)

    @user_errors
    def ask(
        question: str,
        meetings: list[str] | None = None,
        roles: list[str] | None = None,
        since: str = "",
        until: str = "",
        k: int = 0,
        mode: str = "",
        agenda: str = "",
        history: list[str] | None = None,
        speakers: list[str] | None = None,
    ) -> dict:
        """Answer a question from the minutes; returns the answer JSON (text with [n] markers,
        citations with file and line span, found, related). ``history``: the earlier
        questions of the conversation, oldest first, so that 「札幌では？」 follows up.
        ``speakers``: parts of speaker names or titles (小池, 知事) to restrict to."""
        if not (question or "").strip():
            raise ConfigError("質問（question）が空です。 / The question is empty.")
        filters = make_filters(meetings, roles, since, until, agenda, speakers)
        s = _override(settings, k, mode)
        from rag.answer import answer

        turns = [{"role": "user", "content": q} for q in history or () if str(q).strip()]
        result = answer(
            question, backend.index(), filters=filters, history=turns, settings=s, llm=backend.llm
        )
        return answer_to_dict(result)

    @user_errors
    def search_api(
        query: str,
        k: int = 0,
        meetings: list[str] | None = None,
        roles: list[str] | None = None,
        since: str = "",
        until: str = "",
        mode: str = "",
        agenda: str = "",
        speakers: list[str] | None = None,
    ) -> list[dict]:
        """Search the minutes; returns scored statements with their sources."""
        if not (query or "").strip():
            raise ConfigError("検索語（query）が空です。 / The query is empty.")
        filters = make_filters(meetings, roles, since, until, agenda, speakers)
        s = _override(settings, k, mode)
        from rag.retrieve import search

        hits = search(backend.index(), query, k=s.k, mode=s.mode, filters=filters, settings=s)
        return [hit_to_dict(h) for h in hits]

    # ---------------- layout

    private = {"api_visibility": "private"}
    with gr.Blocks(
        title="議事録アシスタント / Minutes assistant",
        analytics_enabled=False,
        # Files uploaded but never submitted (and cached downloads) go after an hour; the
        # ones submitted are removed as soon as they are handled (add_minutes).
        delete_cache=(3600, 3600),
    ) as demo:
        gr.HTML(_HEADER_HTML)
        status = gr.Markdown(
            "索引を準備しています… / Preparing the index…",
            elem_id="status",
            elem_classes=["status-line"],
        )

        with gr.Sidebar(label="絞り込み / Filters", open=True, width=300):
            gr.Markdown(
                "### 絞り込み / Filters\n質問とブリーフィングに適用され、続けて質問しても保持されます。 / Applied to questions and briefings; kept for follow-ups."
            )
            f_meetings = gr.Dropdown(
                choices=[],
                multiselect=True,
                label="会議 / Meetings",
                info="空欄はすべて / empty = all",
            )
            f_roles = gr.CheckboxGroup(
                choices=ROLE_CHOICES, label="発言者の役割 / Speaker role", elem_id="role-filter"
            )
            f_speaker = gr.Textbox(
                label="発言者 / Speaker",
                placeholder="小池, 増子, 知事",
                info="氏名・役職の一部（カンマ区切り） / part of a name or title (comma-separated)",
                max_lines=1,
                elem_id="speaker-filter",
            )
            with gr.Row():
                f_since = gr.Textbox(label="開始日 / Since", placeholder="2023-01-01", max_lines=1)
                f_until = gr.Textbox(label="終了日 / Until", placeholder="2023-12-31", max_lines=1)
            with gr.Accordion("詳細設定 / Advanced", open=False):
                f_k = gr.Slider(
                    1, 20, value=settings.k, step=1, label="参照する発言数 / Passages (k)"
                )
                f_mode = gr.Radio(
                    ["hybrid", "dense", "bm25"], value=settings.mode, label="検索方式 / Search mode"
                )
            clear_filters = gr.Button(
                "条件をクリア / Clear filters", size="sm", variant="secondary"
            )

        with gr.Tabs():
            with gr.Tab("質問 / Ask", id="ask"):
                messages_state = gr.State([])
                turns_state = gr.State([])
                refs_state = gr.State([])
                with gr.Row(equal_height=False):
                    with gr.Column(scale=5, min_width=380):
                        chatbot = gr.Chatbot(
                            label="回答 / Answer",
                            height=520,
                            elem_id="chat",
                            buttons=["copy"],
                            placeholder=(
                                "<div class='chat-empty'><b>議事録について質問してください</b><br>"
                                "回答には必ず出典（会議・議題・発言者・行番号）が付きます。<br>"
                                "<small>Ask about the minutes — every answer cites its source.</small></div>"
                            ),
                            feedback_options=None,
                        )
                        with gr.Row(elem_classes=["ask-row"]):
                            question = gr.Textbox(
                                show_label=False,
                                placeholder="例: FIWAREについて委員はどのような意見を述べたか",
                                lines=1,
                                max_lines=4,
                                scale=8,
                                elem_id="question",
                                submit_btn=False,
                            )
                            ask_btn = gr.Button(
                                "質問する / Ask",
                                variant="primary",
                                scale=1,
                                min_width=150,
                                elem_id="ask-btn",
                            )
                        with gr.Row():
                            gr.Examples(
                                examples=[[q] for q in EXAMPLE_QUESTIONS],
                                inputs=[question],
                                label="質問の例 / Examples",
                            )
                        new_chat = gr.Button(
                            "新しい会話 / New conversation", size="sm", variant="secondary"
                        )
                    with gr.Column(scale=4, min_width=340):
                        sources = gr.HTML(
                            _EMPTY_SOURCES,
                            js_on_load=_CARD_JS,
                            elem_id="sources",
                            max_height=620,
                        )
                        with gr.Column(visible=False, elem_id="viewer-panel") as viewer_panel:
                            with gr.Row(elem_classes=["viewer-bar"]):
                                gr.Markdown("#### 議事録の全文 / Full minutes")
                                close_viewer = gr.Button(
                                    "閉じる / Close", size="sm", scale=0, min_width=90
                                )
                            viewer = gr.HTML(
                                "", js_on_load=_VIEWER_JS, elem_id="viewer", max_height=560
                            )

            with gr.Tab("ブリーフィング / Briefing", id="briefing"):
                gr.Markdown(
                    "テーマに関する発言を会議・役割ごとにまとめ、出典付きで一覧にします。Markdown または Word でダウンロードしてメモに使えます。"
                    "  \nAll statements on a topic, grouped by meeting and role, with citations — downloadable as Markdown or Word."
                )
                with gr.Row():
                    topic = gr.Textbox(
                        label="テーマ / Topic",
                        placeholder="例: 人材育成",
                        scale=6,
                        max_lines=1,
                        elem_id="topic",
                    )
                    brief_k = gr.Slider(
                        5,
                        50,
                        value=BRIEFING_DEFAULT_K,
                        step=1,
                        label="最大件数 / Max statements",
                        scale=3,
                    )
                    brief_btn = gr.Button("まとめる / Build briefing", variant="primary", scale=2)
                with gr.Row():
                    brief_file = gr.DownloadButton(
                        "Markdown をダウンロード / Download Markdown",
                        visible=False,
                        variant="secondary",
                        elem_id="brief-md",
                    )
                    brief_docx = gr.DownloadButton(
                        "Word (DOCX) をダウンロード / Download DOCX",
                        visible=False,
                        variant="secondary",
                        elem_id="brief-docx",
                    )
                brief_html = gr.HTML("", elem_id="briefing")

            with gr.Tab("会議一覧 / Meetings", id="meetings"):
                gr.Markdown(
                    "収録されている会議の概要と、発言を順に読めます。 / What is in the index, and each meeting's statements in order."
                )
                overview = gr.HTML("", elem_id="meetings-overview")
                meeting_pick = gr.Dropdown(
                    choices=[], label="会議を選ぶ / Choose a meeting", elem_id="meeting-pick"
                )
                meeting_html = gr.HTML("", elem_id="meeting-detail")

            with gr.Tab("議事録を追加 / Add minutes", id="upload"):
                gr.Markdown(
                    "議事録ファイル（.txt / .md / .pdf / .docx / .html）を追加すると索引に取り込まれ、すぐに検索できます。"
                    "読めないファイルは理由を表示し、他のファイルは取り込みます。"
                    "  \nAdd minutes files; they are indexed right away. Files that cannot be read are reported and skipped."
                )
                upload_files = _no_temp_leak(
                    gr.File(file_count="multiple", label="ファイル / Files", elem_id="upload-files")
                )
                upload_btn = gr.Button(
                    "追加して索引を更新 / Add and update index", variant="primary"
                )
                upload_status = gr.Markdown("")
                upload_report = gr.JSON(visible=False)

        # ---------------- wiring
        meeting_outputs = [f_meetings, meeting_pick, overview, status]
        demo.load(on_load, None, meeting_outputs, show_progress_on=[status], **private)

        ask_inputs = [
            question,
            messages_state,
            turns_state,
            f_meetings,
            f_roles,
            f_since,
            f_until,
            f_k,
            f_mode,
            f_speaker,
        ]
        ask_outputs = [question, chatbot, messages_state, turns_state, sources, refs_state]
        for trigger in (ask_btn.click, question.submit):
            trigger(on_ask, ask_inputs, ask_outputs, show_progress_on=[chatbot], **private)
        new_chat.click(
            on_clear,
            None,
            [chatbot, messages_state, turns_state, sources, refs_state, viewer_panel],
            **private,
        )
        sources.select(on_open_source, [refs_state], [viewer_panel, viewer], **private)
        close_viewer.click(lambda: gr.update(visible=False), None, viewer_panel, **private)
        clear_filters.click(
            lambda: ([], [], "", "", ""),
            None,
            [f_meetings, f_roles, f_since, f_until, f_speaker],
            **private,
        )

        brief_inputs = [topic, f_meetings, f_roles, f_since, f_until, brief_k, f_mode, f_speaker]
        for trigger in (brief_btn.click, topic.submit):
            trigger(on_briefing, brief_inputs, [brief_html, brief_file, brief_docx], **private)
        meeting_pick.change(on_meeting, meeting_pick, meeting_html, **private)

        upload_btn.click(
            on_upload,
            upload_files,
            [upload_status, upload_report],
            api_name="add_minutes",
            api_description="Add minutes files (txt/pdf/docx/html) to the corpus and update the index; returns (summary, report with added/rejected files).",
        ).then(after_upload, None, meeting_outputs, **private)

        gr.api(ask, api_name="ask")
        gr.api(search_api, api_name="search")
    demo.minutes_backend = backend  # for start()/serve() to warm it in the background
    return demo


_EMPTY_SOURCES = (
    '<div class="sources empty"><p class="muted">出典はここに表示されます。<br>'
    "<small>Sources for each answer appear here.</small></p></div>"
)

_HEADER_HTML = """
<div class="app-header">
  <div class="app-mark">議</div>
  <div>
    <h1>議事録アシスタント <span>Minutes assistant</span></h1>
    <p>会議の議事録だけを根拠に答え、すべての回答に出典を示します。 / Answers only from the minutes, always with sources.</p>
  </div>
</div>
"""


def _status_text(index: "MinutesIndex") -> str:
    n_stmt = sum(len(m.statements) for m in index.meetings.values())
    return (
        f"索引: 会議 {len(index.meetings)} 件・発言 {n_stmt} 件・チャンク {len(index.chunks)} 件"
        f" / Index: {len(index.meetings)} meetings, {n_stmt} statements, {len(index.chunks)} chunks"
    )


def _slug(text: str) -> str:
    s = re.sub(r"[^\w\-]+", "-", unicodedata.normalize("NFKC", text)).strip("-")
    return s[:40] or "topic"


# ---------------------------------------------------------------- adding minutes


def is_uploaded_file(path: Path, upload_root: Path) -> bool:
    """True only for a regular file that really lies inside the upload folder.

    The web API hands the server paths; only files that came in through an upload may be
    read, so everything else on the server (the repository, other temp folders, a symlink
    planted to point out of the folder) is refused. Real paths are compared, so ``..`` and
    symlinks cannot step outside."""
    try:
        if path.is_symlink() or not path.is_file():
            return False
        real = path.resolve(strict=True)
        root = upload_root.resolve(strict=True)
    except (OSError, RuntimeError):  # missing, unreadable, symlink loop
        return False
    return real.is_relative_to(root) and real != root


def add_minutes(
    backend: _Backend,
    files: Sequence[Path],
    progress: Callable[..., Any] | None = None,
    *,
    upload_root: Path,
) -> dict:
    """Check each uploaded file, copy the readable ones into ``corpus_dir/uploads`` and update
    the index incrementally. A bad file is reported by name and never stops the others; it is
    not copied, so it does not come back on every later rebuild. Only files inside
    ``upload_root`` (Gradio's upload folder) are read: any other path is refused."""
    if not files:
        raise ConfigError("ファイルが選ばれていません。 / No files were chosen.")
    # Uploads are copied into the corpus or refused: either way the upload copy is removed,
    # so refused or processed uploads never pile up in Gradio's temp folder.
    ours = [p for p in files if is_uploaded_file(p, upload_root)]
    try:
        return _add_files(backend, files, progress, upload_root)
    finally:
        for path in ours:
            _remove_upload(path, upload_root)


def _no_temp_leak(component: Any) -> Any:
    """Make a gr.File hand over the upload's path without also creating an empty temp file
    in the upload folder (Gradio 6.31 leaks one file, and its descriptor, per uploaded file).
    Set on the instance: a subclass would make Gradio write a .pyi stub next to this module."""
    import types

    from gradio.utils import NamedString

    def process(self: Any, f: Any) -> Any:
        return NamedString(f.path)

    if component.type == "filepath" and not component.file_types:
        component._process_single_file = types.MethodType(process, component)
    return component


def _remove_upload(path: Path, upload_root: Path) -> None:
    """Delete one upload and its (per-upload) folder if now empty; never outside the root."""
    with contextlib.suppress(OSError):
        path.unlink()
    with contextlib.suppress(OSError):
        if path.parent.resolve() != upload_root.resolve():
            path.parent.rmdir()


def _add_files(
    backend: _Backend,
    files: Sequence[Path],
    progress: Callable[..., Any] | None,
    upload_root: Path,
) -> dict:
    from rag.ingest import SUPPORTED_SUFFIXES, ingest_paths

    settings = backend.settings
    dest_dir = Path(settings.corpus_dir) / UPLOAD_SUBDIR
    accepted: list[str] = []
    rejected: list[dict] = []
    for i, path in enumerate(files):
        name = _original_name(path)
        _say(progress, 0.3 * i / len(files), f"確認中 / Checking {name}")
        if not is_uploaded_file(path, upload_root):
            log.warning("refused a non-upload path handed to /add_minutes: %s", path)
            rejected.append(
                {
                    "file": name,
                    "reason": "アップロードされたファイルではないため読み込みません。"
                    "ファイルはアップロードして追加してください。"
                    " / Not an uploaded file: only files uploaded to this server are read."
                    " Upload the file instead of giving a path.",
                }
            )
            continue
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            rejected.append(
                {
                    "file": name,
                    "reason": f"この形式（{path.suffix or '拡張子なし'}）には対応していません。"
                    f"対応形式（{', '.join(sorted(SUPPORTED_SUFFIXES))}）のファイルを追加してください。"
                    f" / Unsupported file type {path.suffix or '(none)'}: add "
                    f"{', '.join(sorted(SUPPORTED_SUFFIXES))} files.",
                }
            )
            continue
        result = ingest_paths([path], settings)
        problems = [getattr(e, "reason", str(e)) for e in result.errors]
        if not problems and not any(m.statements for m in result.meetings):
            problems.append(
                "発言を読み取れませんでした（空のファイルか、議事録の形式ではありません）。"
                " / No statements could be read: the file is empty or not minutes."
            )
        if problems:
            rejected.append({"file": name, "reason": " ".join(problems)})
            continue
        dest_dir.mkdir(parents=True, exist_ok=True)
        dest = _free_name(dest_dir / name, path)
        shutil.copyfile(path, dest)
        accepted.append(dest.name)
    report: dict[str, Any] = {
        "added": accepted,
        "rejected": rejected,
        "index_errors": [],
        "index_warnings": [],
    }
    if accepted:
        from rag.index import build_index

        _say(progress, 0.35, "索引を更新しています… / Updating the index…")
        built = build_index([settings.corpus_dir], settings, progress=_adapt(progress))
        report["index_errors"] = [str(e) for e in built.errors]
        # e.g. "identical to corpus/x.txt, skipped": only what concerns these uploads.
        report["index_warnings"] = [
            w for w in built.warnings if any(name in w for name in accepted)
        ]
        report["chunks_total"] = built.chunks_total
        backend.reload()
    return report


def _free_name(dest: Path, source: Path) -> Path:
    """``dest``, or ``name-2.ext``, ``name-3.ext``… when another file of that name is already
    in the corpus: a second upload called 議事録.pdf must not replace the first minutes. The
    same file uploaded again keeps its name (re-indexing it changes nothing)."""
    import filecmp

    candidate, n = dest, 1
    while candidate.exists() and not filecmp.cmp(candidate, source, shallow=False):
        n += 1
        candidate = dest.with_name(f"{dest.stem}-{n}{dest.suffix}")
    return candidate


def _original_name(path: Path) -> str:
    """The uploaded name (Gradio keeps it inside a random temp folder), made safe to store
    and sure to be indexed: no folder parts (``/`` or ``\\``), control characters, or
    leading dots and ``~$`` (folders skip hidden and Office lock files). Japanese stays."""
    name = unicodedata.normalize("NFC", path.name.replace("\\", "/").rsplit("/", 1)[-1])
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    name = re.sub(r"^(?:[.\s]|~\$)+", "", name)
    stem = Path(name).stem.strip(". ")
    suffix = path.suffix.lower() if path.suffix.isascii() else ""
    if not stem:
        return f"upload{suffix or '.txt'}"
    # Keep under the usual 255-byte name limit (Japanese takes 3 bytes a character).
    while len((stem + suffix).encode("utf-8")) > 200:
        stem = stem[:-1]
    return stem + suffix


def _upload_summary(report: dict) -> str:
    lines = []
    if report["added"]:
        lines.append(f"**追加しました / Added:** {', '.join(report['added'])}")
    for bad in report["rejected"]:
        lines.append(f"⚠ **{bad['file']}** は追加できませんでした / not added: {bad['reason']}")
    for err in [*report.get("index_errors", []), *report.get("index_warnings", [])]:
        lines.append(f"⚠ {err}")
    if not report["added"] and not report["rejected"]:
        lines.append("追加するファイルはありませんでした。 / Nothing to add.")
    return "\n\n".join(lines)


# ---------------------------------------------------------------- launching


CSS = """
:root { --mr-ink: #1f2937; --mr-muted: #6b7280; --mr-line: #e5e7eb; --mr-accent: #3b5bdb; }
.gradio-container, .gradio-container * { font-feature-settings: "palt" 0; }
body, .gradio-container { line-height: 1.75; letter-spacing: 0.02em; }
.app-header { display: flex; gap: 14px; align-items: center; padding: 6px 2px 2px; }
.app-header h1 { margin: 0; font-size: 1.45rem; font-weight: 700; color: var(--mr-ink); }
.app-header h1 span { font-size: 0.95rem; font-weight: 500; color: var(--mr-muted); margin-left: 6px; }
.app-header p { margin: 2px 0 0; color: var(--mr-muted); font-size: 0.9rem; }
.app-mark { width: 44px; height: 44px; border-radius: 12px; background: var(--mr-accent); color: #fff;
  display: flex; align-items: center; justify-content: center; font-size: 1.4rem; font-weight: 700; }
.status-line { color: var(--mr-muted); font-size: 0.85rem; }
.status-line p { margin: 0 !important; }
.chat-empty { text-align: center; color: var(--mr-muted); line-height: 1.9; }
#chat .message { line-height: 1.85; }
.sources { display: flex; flex-direction: column; gap: 12px; padding: 2px; }
.sources.empty { min-height: 200px; justify-content: center; text-align: center;
  border: 1px dashed var(--mr-line); border-radius: 12px; }
.src-heading { font-size: 0.95rem; margin: 4px 0 0; color: var(--mr-ink); }
.related-heading { color: #92400e; }
.src-card { border: 1px solid var(--mr-line); border-left: 4px solid var(--mr-accent); border-radius: 10px;
  padding: 12px 14px; background: #fff; box-shadow: 0 1px 2px rgba(0,0,0,.05); }
.src-card.related { border-left-color: #d97706; background: #fffbeb; }
.src-head { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 8px; }
.src-n { display: inline-flex; min-width: 24px; height: 24px; padding: 0 6px; border-radius: 12px;
  background: var(--mr-accent); color: #fff; font-weight: 700; font-size: 0.8rem;
  align-items: center; justify-content: center; flex: none; }
.related .src-n { background: #d97706; }
.src-title { font-weight: 600; color: var(--mr-ink); font-size: 0.92rem; }
.src-date { color: var(--mr-muted); font-size: 0.85rem; }
.src-rel { margin-left: auto; font-size: 0.75rem; color: var(--mr-muted); font-variant-numeric: tabular-nums; }
.more-sources > summary { cursor: pointer; color: var(--mr-accent); font-size: 0.9rem; padding: 4px 2px; }
.more-sources[open] > summary { margin-bottom: 12px; }
.more-sources .src-card { margin-bottom: 12px; }
.src-speaker { font-size: 0.85rem; color: var(--mr-ink); }
.src-agenda { margin-top: 4px; font-size: 0.83rem; color: var(--mr-muted); }
.src-text { margin: 8px 0 6px !important; padding: 8px 12px !important; border-left: 3px solid var(--mr-line) !important;
  background: #f9fafb; border-radius: 6px; font-size: 0.95rem; line-height: 1.85; white-space: pre-wrap;
  color: var(--mr-ink); }
.src-text mark, .stmt mark, .brief-text mark { background: #fef08a; color: inherit; padding: 0 1px; border-radius: 2px; }
.src-text strong, .stmt strong, .brief-text strong { color: #1e3a8a; font-weight: 700; }
.src-foot { display: flex; justify-content: space-between; align-items: center; gap: 8px; flex-wrap: wrap; }
.src-file { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 0.78rem; color: var(--mr-muted); }
.open-full { border: 1px solid var(--mr-accent); color: var(--mr-accent); background: #fff; border-radius: 999px;
  padding: 2px 12px; font-size: 0.82rem; cursor: pointer; }
.open-full:hover { background: var(--mr-accent); color: #fff; }
.open-full small { opacity: .75; }
.not-found { border: 1px solid #fcd34d; background: #fffbeb; color: #92400e; border-radius: 10px; padding: 12px 14px; }
.muted { color: var(--mr-muted); }
.role-badge { display: inline-block; border-radius: 999px; padding: 0 9px; font-size: 0.75rem; font-weight: 600;
  line-height: 1.6; border: 1px solid transparent; white-space: nowrap; }
.role-member { background: #dbeafe; color: #1e40af; }
.role-secretariat { background: #dcfce7; color: #166534; }
.role-chair { background: #f3e8ff; color: #6b21a8; }
.role-official { background: #ffedd5; color: #9a3412; }
.role-meta { background: #f1f5f9; color: #475569; }
.role-unknown { background: #f5f5f4; color: #57534e; border-color: #d6d3d1; }
.meeting-title { font-size: 1.15rem; margin: 0 0 8px; }
.meeting-facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; font-size: 0.9rem; margin: 0 0 8px; }
.meeting-facts dt { color: var(--mr-muted); }
.meeting-facts dd { margin: 0; }
.meeting-facts b, .meeting-counts b { margin: 0 8px 0 3px; }
.agenda { font-size: 0.9rem; margin-bottom: 8px; }
.stmts { display: flex; flex-direction: column; gap: 2px; }
.stmt { display: grid; grid-template-columns: 92px 1fr; gap: 10px; padding: 7px 8px; border-radius: 8px; scroll-margin: 80px; }
.stmt:hover { background: #f9fafb; }
.stmt.meta .stmt-text, .stmt.procedural .stmt-text { color: var(--mr-muted); }
.stmt-speaker { font-size: 0.75rem; }
.stmt.target { background: #eef2ff; outline: 2px solid var(--mr-accent); }
.stmt-side { display: flex; flex-direction: column; gap: 2px; align-items: flex-start; }
.stmt-lines { font-family: ui-monospace, monospace; font-size: 0.72rem; color: var(--mr-muted); }
.stmt-text { font-size: 0.93rem; line-height: 1.85; }
.stmt-agenda { font-size: 0.95rem; margin: 14px 0 4px; padding-bottom: 4px; border-bottom: 1px solid var(--mr-line); }
.stmt-topic { font-size: 0.88rem; margin: 8px 0 2px; color: var(--mr-muted); }
#viewer-panel { border: 1px solid var(--mr-line); border-radius: 12px; padding: 8px 12px; background: #fff; }
.viewer-bar { align-items: center; }
.meeting-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(320px, 1fr)); gap: 12px; }
.meeting-card { border: 1px solid var(--mr-line); border-radius: 12px; padding: 12px 16px; background: #fff; }
.meeting-card h3 { margin: 0 0 4px; font-size: 1rem; }
.meeting-card ol { font-size: 0.85rem; margin: 6px 0; padding-left: 1.4em; }
.meeting-meta, .meeting-counts { margin: 2px 0; font-size: 0.87rem; color: var(--mr-muted); }
.briefing { display: flex; flex-direction: column; gap: 6px; }
.brief-meeting { font-size: 1.05rem; margin: 16px 0 4px; padding-bottom: 4px; border-bottom: 2px solid var(--mr-accent); }
.brief-role { font-size: 0.9rem; margin: 8px 0 2px; }
.brief-item { display: flex; gap: 10px; padding: 8px 10px; border: 1px solid var(--mr-line); border-radius: 8px; background: #fff; }
.brief-text { line-height: 1.85; }
.brief-cite { font-size: 0.8rem; color: var(--mr-muted); margin-top: 2px; }
"""

_FONTS = [
    "Hiragino Sans",
    "Hiragino Kaku Gothic ProN",
    "Noto Sans JP",
    "Noto Sans CJK JP",
    "Yu Gothic UI",
    "Meiryo",
    "IPAPGothic",
    "system-ui",
    "sans-serif",
]


def launch_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``Blocks.launch``: Gradio 6 takes theme and CSS at launch.
    Local font names only, so no page load ever waits on a font server."""
    import gradio as gr

    theme = gr.themes.Soft(
        primary_hue="indigo",
        neutral_hue="slate",
        font=_FONTS,
        font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"],
    )
    return {
        "server_name": settings.host,
        "server_port": settings.port,
        "auth": LoginThrottle(*pair).check if (pair := parse_auth(settings.auth)) else None,
        # Stopped while it arrives (HTTP 413); Gradio deletes the partial temp file.
        "max_file_size": int(settings.max_upload_mb * 1024 * 1024),
        "theme": theme,
        "css": CSS,
        "show_error": True,  # our gr.Error messages are sentences meant for users
        "footer_links": ["api"],
        "ssr_mode": False,
    }


def parse_auth(value: str) -> tuple[str, str] | None:
    """'user:password' -> ('user', 'password'); empty -> None (no login)."""
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise ConfigError(
            "MINUTES_RAG_AUTH は「ユーザー名:パスワード」の形式で指定してください。"
            " / MINUTES_RAG_AUTH must look like user:password."
        )
    return user, password


class LoginThrottle:
    """Gradio ``auth`` callable for MINUTES_RAG_AUTH: a constant-time comparison, a delay
    that doubles with each failure (bounded), and after ``limit`` failures in a row every
    login is refused for ``lockout`` seconds, so guessing runs at a few tries a minute.
    Async so the delay never blocks the server. Per process: failures from any client count."""

    def __init__(
        self,
        user: str,
        password: str,
        *,
        limit: int = 8,
        lockout: float = 60.0,
        base_delay: float = 0.05,
        max_delay: float = 0.5,
    ) -> None:
        self._user, self._password = user.encode(), password.encode()
        self.limit, self.lockout = limit, lockout
        self.base_delay, self.max_delay = base_delay, max_delay
        self.failures = 0
        self.locked_until = 0.0

    async def check(self, user: str, password: str) -> bool:
        """The ``auth`` callable: a bound async method, so Gradio sees a coroutine function
        and awaits it (an object with an async ``__call__`` would pass as a truthy result)."""
        import time

        if time.monotonic() < self.locked_until:
            log.warning("login refused: too many wrong passwords, locked for a while")
            return False
        ok = hmac.compare_digest(user.encode(), self._user) & hmac.compare_digest(
            password.encode(), self._password
        )
        if ok:
            self.failures = 0
            return True
        self.failures += 1
        await asyncio.sleep(min(self.max_delay, self.base_delay * 2 ** (self.failures - 1)))
        if self.failures >= self.limit:
            self.failures = 0
            self.locked_until = time.monotonic() + self.lockout
            log.warning("%d wrong logins: refusing logins for %.0f s", self.limit, self.lockout)
        return False


def _warm_in_background(backend: _Backend) -> None:
    """Load the index and the model when the server starts, so the first question (also one
    through the API, which never opens the page) does not wait for them."""

    def warm() -> None:
        try:
            backend.index()
            backend.warm_model()
        except Exception:  # the page and each question report it as a sentence
            log.warning("could not prepare the index or model at start-up", exc_info=True)

    threading.Thread(target=warm, name="minutes-rag-warm", daemon=True).start()


def _launch(demo: "gr.Blocks", settings: Settings, **kwargs: Any) -> Any:
    try:
        return demo.launch(**kwargs, **launch_options(settings))
    except OSError as exc:
        if "port" not in str(exc).lower():
            raise
        raise ConfigError(
            f"ポート {settings.port} は使用中です。--port か MINUTES_RAG_PORT で別のポートを"
            f"指定してください。 / Port {settings.port} is in use: choose another with --port"
            " or MINUTES_RAG_PORT."
        ) from None


def start(settings: Settings, llm: Any = None, *, quiet: bool = True) -> tuple["gr.Blocks", str]:
    """Start the server in the background; returns the app (call ``.close()``) and its URL."""
    demo = build_app(settings, llm)
    demo.queue(default_concurrency_limit=2)
    _, url, _ = _launch(demo, settings, prevent_thread_lock=True, quiet=quiet)
    _warm_in_background(demo.minutes_backend)  # type: ignore[attr-defined]
    return demo, url


def serve(settings: Settings, llm: Any = None) -> None:
    """Run the UI until interrupted (``minutes-rag serve`` / ``python app.py``)."""
    demo = build_app(settings, llm)
    demo.queue(default_concurrency_limit=2)
    print(
        f"議事録アシスタントを起動します / Starting the minutes assistant: "
        f"http://{settings.host}:{settings.port}"
    )
    _launch(demo, settings, prevent_thread_lock=True)
    _warm_in_background(demo.minutes_backend)  # type: ignore[attr-defined]
    demo.block_thread()


def main() -> None:
    """Entry point of ``app.py``: settings from MINUTES_RAG_* (host, port, auth, ...)."""
    import sys

    from rag.config import load_settings

    try:
        serve(load_settings())
    except MinutesRagError as exc:
        print(f"エラー / error: {exc}", file=sys.stderr)
        sys.exit(1)
