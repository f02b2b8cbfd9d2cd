"""Statements -> chunks: one chunk per statement, long statements split at sentence ends."""

from __future__ import annotations

from collections.abc import Iterable

from rag.config import Settings
from rag.text import nfkc, split_sentences
from rag.types import Chunk, Meeting, Statement


def pack_sentences(sentences: list[str], max_chars: int, overlap: int) -> list[list[str]]:
    """Greedily pack whole sentences into parts of at most ``max_chars`` characters.

    Each part after the first starts with the last ``overlap`` sentences of the previous one
    (context for the embedder), unless that alone would overflow the part. A single sentence
    longer than ``max_chars`` becomes its own part: we never cut mid-sentence.
    """
    parts: list[list[str]] = []
    i, n = 0, len(sentences)
    while i < n:
        part: list[str] = []
        size = 0
        if parts and overlap > 0:
            carry = parts[-1][-overlap:]
            # Only carry if there is room for at least one new sentence after it.
            if sum(map(len, carry)) + len(sentences[i]) <= max_chars:
                part, size = list(carry), sum(map(len, carry))
        fresh = 0  # at least one new sentence per part, so the loop always advances
        while i < n and (fresh == 0 or size + len(sentences[i]) <= max_chars):
            part.append(sentences[i])
            size += len(sentences[i])
            i += 1
            fresh += 1
        parts.append(part)
    return parts


def context_header(meeting: Meeting, st: Statement) -> str:
    """Short context prepended to the embedded / keyword-indexed text (not shown to users)."""
    bits = [meeting.title, st.agenda, st.topic, st.role_label or st.role]
    seen: list[str] = []
    for b in bits:
        if b and b not in seen:
            seen.append(b)
    return nfkc(" / ".join(seen))


def chunk_meeting(meeting: Meeting, settings: Settings) -> list[Chunk]:
    max_chars = max(1, settings.chunk_max_chars)
    overlap = max(0, settings.chunk_overlap_sentences)
    chunks: list[Chunk] = []
    for st in meeting.statements:
        if not st.text.strip():
            continue
        header = context_header(meeting, st)
        if len(st.text) <= max_chars:
            texts = [st.text]
        else:
            sentences = split_sentences(st.text)
            texts = ["".join(p) for p in pack_sentences(sentences, max_chars, overlap)]
        for part, text in enumerate(texts):
            chunks.append(
                Chunk(
                    id=f"{meeting.id}:{st.order}:{part}",
                    meeting_id=meeting.id,
                    file=meeting.file,
                    title=meeting.title,
                    text=text,
                    index_text=f"{header}\n{nfkc(text)}",
                    role=st.role,
                    # A part keeps the statement's span: the minutes' hard wraps do not align
                    # with sentence ends, and the span is still where the words are.
                    start_line=st.start_line,
                    end_line=st.end_line,
                    order=st.order,
                    part=part,
                    date=meeting.date,
                    venue=meeting.venue,
                    agenda=st.agenda,
                    topic=st.topic,
                    speaker=st.speaker,
                    role_label=st.role_label,
                    kind=st.kind,
                    record=st.record,
                )
            )
    return chunks


def chunk_meetings(meetings: Iterable[Meeting], settings: Settings) -> list[Chunk]:
    return [c for m in meetings for c in chunk_meeting(m, settings)]
