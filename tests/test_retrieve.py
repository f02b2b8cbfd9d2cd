"""Retrieval: Japanese BM25, dense FAISS search, hybrid fusion, filters, LangChain retriever."""

from __future__ import annotations

from itertools import pairwise

import pytest

from rag.errors import ConfigError
from rag.retrieve import chunk_matches
from rag.types import Chunk, Filters, make_filters


def test_bm25_tokens_equate_full_and_half_width() -> None:
    from rag.keyword import tokenize

    assert set(tokenize("２０４０年")) == set(tokenize("2040年"))
    assert set(tokenize("ＤＸ推進")) == set(tokenize("DX推進"))
    assert "dx" in tokenize("ＤＸ")
    toks = tokenize("委員の意見は、「データ連携基盤」です。")
    assert not any(t in ("、", "。", "「", "」", "の", "は") for t in toks)


def test_bm25_bigrams_match_inside_unsegmented_compounds() -> None:
    from rag.keyword import tokenize

    # A compound segmented differently still shares character bigrams with its parts.
    assert set(tokenize("連携基盤")) & set(tokenize("データ連携基盤整備事業"))


def test_bm25_bigrams_cover_kana_and_latin_runs_but_not_a_querys_frame() -> None:
    from rag.keyword import _BIGRAM_MARK, tokenize

    # Wording with kana (受け入れる), names in Latin letters and numbers share bigrams.
    toks = set(tokenize("感染者を受け入れる体制とGoogle検索の2014年"))
    assert {_BIGRAM_MARK + "受け", _BIGRAM_MARK + "go", _BIGRAM_MARK + "4年"} <= toks
    # A passage keeps 委員の意見 whole; a question's frame (委員の意見は) adds no bigram.
    assert _BIGRAM_MARK + "の意" in tokenize("委員の意見は次の通り")
    frame = tokenize("予算について委員の意見は？", query=True)
    assert _BIGRAM_MARK + "予算" in frame
    assert not {_BIGRAM_MARK + "員の", _BIGRAM_MARK + "の意"} & set(frame)
    # Spaces and punctuation end a run.
    assert _BIGRAM_MARK + "京都" not in tokenize("東京 都庁、京")


def test_bm25_scores_full_width_query_against_half_width_text() -> None:
    from rag.keyword import bm25_scores, build_bm25

    texts = ["2040年までにDXを進める計画", "除雪車の位置情報を公開する", "観光客向けの案内"]
    bm25 = build_bm25(texts)
    for query, expected in (("２０４０年のＤＸ", 0), ("ＧＰＳ 除雪車", 1)):
        scores = bm25_scores(bm25, query)
        assert scores is not None and int(scores.argmax()) == expected
        assert scores[expected] > 0
    assert bm25_scores(bm25, "ｘｙｚ") is None  # no known term: no scores, no crash


@pytest.mark.slow
def test_fiware_statement_is_top_hit_in_japanese_and_top3_in_english(corpus_index) -> None:
    from rag.retrieve import search

    hits = search(corpus_index, "FIWAREについて委員の意見は？")
    assert "FIWARE" in hits[0].chunk.text
    en = search(corpus_index, "What did members say about FIWARE?", k=3)
    assert any("FIWARE" in h.chunk.text for h in en)


@pytest.mark.slow
def test_hits_are_ranked_and_carry_both_sides_scores(corpus_index) -> None:
    from rag.retrieve import search

    hits = search(corpus_index, "テレワーク実施率", k=5)
    assert [h.rank for h in hits] == [1, 2, 3, 4, 5]
    assert all(a.score >= b.score for a, b in pairwise(hits))
    top = hits[0]
    assert "テレワーク" in top.chunk.text
    assert top.dense_rank is not None and top.bm25_rank is not None
    assert -1.0 <= top.dense_score <= 1.0 and top.bm25_score > 0
    dense = search(corpus_index, "テレワーク実施率", k=5, mode="dense")
    assert all(h.bm25_rank is None and h.dense_rank == h.rank for h in dense)
    assert all(a.dense_score >= b.dense_score for a, b in pairwise(dense))
    bm25 = search(corpus_index, "テレワーク実施率", k=5, mode="bm25")
    assert all(h.dense_rank is None and h.bm25_rank == h.rank for h in bm25)
    assert "テレワーク" in bm25[0].chunk.text


@pytest.mark.slow
def test_role_filter_returns_only_that_role_and_still_k(corpus_index) -> None:
    from rag.retrieve import search

    secretariat = [c for c in corpus_index.chunks if c.role == "事務局"]
    assert len(secretariat) >= 3
    # A query that members' statements would otherwise dominate.
    unfiltered = search(corpus_index, "委員の意見 データ利活用", k=3)
    assert any(h.chunk.role != "事務局" for h in unfiltered)
    hits = search(corpus_index, "委員の意見 データ利活用", k=3, filters=Filters(roles=("事務局",)))
    assert len(hits) == 3 and all(h.chunk.role == "事務局" for h in hits)
    hits = search(
        corpus_index, "データ利活用", k=4, filters=Filters(roles=("secretariat",)), mode="bm25"
    )
    assert all(h.chunk.role == "事務局" for h in hits)


@pytest.mark.slow
def test_meeting_filter_by_id_file_or_title(corpus_index) -> None:
    from rag.retrieve import search

    hokkaido = next(m for m in corpus_index.meetings.values() if "Society5.0" in m.title)
    n_in = sum(c.meeting_id == hokkaido.id for c in corpus_index.chunks)
    assert n_in >= 5
    # Strongly about the other (Sapporo) meeting, but restricted to Hokkaido: still k hits.
    query = "札幌市 ICT 活用戦略 テレワーク"
    for key in (hokkaido.id, hokkaido.file, "Society5.0推進会議"):
        hits = search(corpus_index, query, k=5, filters=Filters(meetings=(key,)))
        assert len(hits) == 5
        assert all(h.chunk.meeting_id == hokkaido.id for h in hits)


@pytest.mark.slow
def test_date_filters_are_inclusive_and_exclude_undated(corpus_index) -> None:
    from rag.retrieve import search

    dated = {m.date for m in corpus_index.meetings.values() if m.date}
    assert dated
    day = min(dated)
    for f in (Filters(since=day), Filters(until=day), Filters(since=day, until=day)):
        hits = search(corpus_index, "人材育成", k=5, filters=f)
        assert len(hits) == 5 and all(h.chunk.date == day for h in hits)
    assert search(corpus_index, "人材育成", k=5, filters=Filters(since="2999-01-01")) == []
    with pytest.raises(ConfigError):
        search(corpus_index, "人材育成", filters=Filters(since="令和5年"))


@pytest.mark.slow
def test_agenda_filter_and_unknown_mode(corpus_index) -> None:
    from rag.retrieve import search

    agenda_hits = search(corpus_index, "意見", k=3, filters=Filters(agenda="議題１"))
    assert agenda_hits and all(
        "議題1" in (h.chunk.agenda or "").replace("１", "1") for h in agenda_hits
    )
    with pytest.raises(ConfigError):
        search(corpus_index, "意見", mode="sparse")
    assert search(corpus_index, "   ") == []


@pytest.mark.slow
def test_langchain_retriever_returns_documents_with_citation_metadata(corpus_index) -> None:
    from langchain_core.retrievers import BaseRetriever

    from rag.retrieve import MinutesRetriever

    retriever = MinutesRetriever(index=corpus_index, k=2)
    assert isinstance(retriever, BaseRetriever)
    docs = retriever.invoke("FIWAREについて委員の意見は？")
    assert len(docs) == 2
    md = docs[0].metadata
    assert "FIWARE" in docs[0].page_content
    for key in ("file", "start_line", "end_line", "chunk_id", "meeting_id", "role", "score"):
        assert key in md
    chunk = corpus_index.chunk(md["chunk_id"])
    assert chunk is not None and chunk.text == docs[0].page_content


def _chunk(role: str, speaker: str | None, label: str | None) -> Chunk:
    return Chunk(
        id="m:0:0",
        meeting_id="m",
        file="m.txt",
        title="t",
        text="x",
        index_text="x",
        role=role,
        start_line=1,
        end_line=1,
        order=0,
        speaker=speaker,
        role_label=label,
    )


def test_member_filter_matches_both_kinds_and_speaker_filter_matches_name_or_title() -> None:
    advisory = _chunk("委員", "山田", "委員")
    elected = _chunk("議員", "増子ひろき", "百十六番")
    governor = _chunk("首長", "小池百合子", "知事")
    deputy = _chunk("首長", "長谷川明", "副知事")
    members = make_filters(roles=["member"])
    assert [chunk_matches(c, members) for c in (advisory, elected, governor)] == [1, 1, 0]
    only_elected = make_filters(roles=["議員"])
    assert [chunk_matches(c, only_elected) for c in (advisory, elected)] == [0, 1]
    by_name = make_filters(speakers=["増子"])
    assert [chunk_matches(c, by_name) for c in (advisory, elected, governor)] == [0, 1, 0]
    by_title = make_filters(speakers=["知事"])  # 副知事 contains 知事: a substring match
    assert [chunk_matches(c, by_title) for c in (elected, governor, deputy)] == [0, 1, 1]
    full_width = make_filters(speakers=["小池　百合子", "ＸＹＺ"])
    assert chunk_matches(governor, full_width) and not chunk_matches(deputy, full_width)
    assert make_filters(speakers=["  ", ""]).is_empty()
