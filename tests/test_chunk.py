"""Chunking: one chunk per statement, long statements split only at sentence ends."""

from __future__ import annotations

from rag.chunk import chunk_meeting, chunk_meetings, pack_sentences
from rag.config import Settings
from rag.text import nfkc, split_sentences
from rag.types import Meeting, Statement


def _statement(order: int, text: str, **kw) -> Statement:
    base = dict(
        meeting_id="m1",
        file="minutes/m1.txt",
        order=order,
        text=text,
        norm_text=nfkc(text),
        role="委員",
        role_label="委員",
        start_line=10 + order * 3,
        end_line=11 + order * 3,
        agenda="【議題１】ＤＸの推進について",
        topic="＜人材育成＞",
    )
    base.update(kw)
    return Statement(**base)


def _meeting(*statements: Statement) -> Meeting:
    return Meeting(
        id="m1",
        file="minutes/m1.txt",
        title="第２回 デジタル推進会議",
        statements=statements,
        date="2023-02-08",
        venue="札幌市役所",
    )


LONG = (
    "デジタル人材の育成は急務である。"
    "特に中小企業では専門人材が不足している。"
    "大学と連携した講座を増やすべきだ！"
    "行政職員の研修も見直す必要があるのではないか？"
    "２０４０年を見据えた計画としてほしい。"
    "ＤＸは手段であり目的ではない。"
) * 3


def test_short_statement_is_one_chunk_with_context_header() -> None:
    st = _statement(0, "ＤＸ推進には人材が必要だ。")
    m = _meeting(st)
    [c] = chunk_meeting(m, Settings())
    assert c.text == st.text  # shown to users verbatim (full-width kept)
    header, body = c.index_text.split("\n", 1)
    assert body == "DX推進には人材が必要だ。"  # NFKC for search
    for part in ("第2回 デジタル推進会議", "【議題1】DXの推進について", "<人材育成>", "委員"):
        assert part in header
    assert (c.meeting_id, c.file, c.title, c.date, c.venue) == (
        m.id,
        m.file,
        m.title,
        m.date,
        m.venue,
    )
    assert (c.start_line, c.end_line, c.order, c.part) == (st.start_line, st.end_line, 0, 0)
    assert (c.agenda, c.topic, c.role, c.role_label, c.kind) == (
        st.agenda,
        st.topic,
        "委員",
        "委員",
        "statement",
    )
    assert c.id == "m1:0:0"


def test_long_statement_splits_only_at_sentence_ends_with_overlap() -> None:
    settings = Settings(chunk_max_chars=60, chunk_overlap_sentences=1)
    st = _statement(3, LONG)
    chunks = chunk_meeting(_meeting(st), settings)
    assert len(chunks) > 2
    sentences = split_sentences(LONG)
    assert [c.part for c in chunks] == list(range(len(chunks)))
    assert len({c.id for c in chunks}) == len(chunks)
    covered = []
    for prev, c in zip([None, *chunks], chunks, strict=False):
        assert len(c.text) <= 60
        assert c.text[-1] in "。！？", c.text  # never ends mid-sentence
        parts = split_sentences(c.text)
        # Each part is a run of consecutive whole sentences of the statement.
        starts = [i for i in range(len(sentences)) if sentences[i : i + len(parts)] == parts]
        assert starts, c.text
        if prev is not None:
            assert parts[0] == split_sentences(prev.text)[-1]  # one sentence of overlap
        covered.extend(parts)
        assert (c.start_line, c.end_line) == (st.start_line, st.end_line)
    # Nothing lost: every sentence appears in some part, in order.
    assert [s for i, s in enumerate(covered) if i == 0 or s != covered[i - 1]] == sentences


def test_no_overlap_partitions_sentences_exactly() -> None:
    settings = Settings(chunk_max_chars=50, chunk_overlap_sentences=0)
    chunks = chunk_meeting(_meeting(_statement(0, LONG)), settings)
    assert "".join(c.text for c in chunks) == LONG


def test_oversized_sentence_stays_whole() -> None:
    giant = "あ" * 80 + "。"
    parts = pack_sentences(["短い文。", giant, "次の文。"], max_chars=30, overlap=1)
    assert [giant] in parts  # alone in its part, not cut
    flat = [s for p in parts for s in p]
    assert all(s in flat for s in ["短い文。", giant, "次の文。"])
    settings = Settings(chunk_max_chars=30)
    chunks = chunk_meeting(_meeting(_statement(0, "短い文。" + giant + "次の文。")), settings)
    assert any(c.text.count("あ") == 80 for c in chunks)


def test_meta_statements_and_empty_text() -> None:
    meta = _statement(
        0,
        "日時：令和５年２月８日（水）",
        role="会議情報",
        role_label="日時",
        kind="meta",
        agenda=None,
        topic=None,
    )
    empty = _statement(1, "   ")
    chunks = chunk_meetings([_meeting(meta, empty)], Settings())
    assert [c.kind for c in chunks] == ["meta"]
    assert "日時" in chunks[0].index_text.split("\n")[0]
    assert "令和5年2月8日" in chunks[0].index_text


def test_keyword_text_of_later_parts_carries_the_statement_lead() -> None:
    from rag.chunk import LEAD_MAX_CHARS, keyword_texts

    lead = "次に、人材確保の課題と解決策についてでございますが、現行の経営形態では定数が決まる。"
    body = "薬剤師など職種によっては配置までに時間を要しております。" * 20
    st = _statement(0, lead + body)
    short = _statement(1, "ＤＸ推進には人材が必要だ。")
    chunks = chunk_meeting(_meeting(st, short), Settings())
    texts = keyword_texts(chunks)
    assert len(chunks) > 2 and len(texts) == len(chunks)
    # The first part and a one-part statement are indexed as embedded: header + text.
    assert texts[0] == chunks[0].index_text and texts[-1] == chunks[-1].index_text
    for c, t in zip(chunks[1:-1], texts[1:-1], strict=True):
        assert c.part > 0 and "人材確保" not in c.index_text
        assert t.startswith(nfkc(lead)[:LEAD_MAX_CHARS]) and t.endswith(c.index_text)
