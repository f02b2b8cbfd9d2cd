"""English questions reach Japanese minutes through the glossary (keyword side)."""

from __future__ import annotations

import pytest

from rag.glossary import matches
from rag.translate import expand_query


def _terms(question: str) -> list[str]:
    return [t for _, _, terms in matches(question) for t in terms]


def test_phrases_win_over_their_words() -> None:
    terms = _terms("Who talked about open data and the data platform?")
    assert "オープンデータ" in terms
    assert "データ連携基盤" in terms


def test_words_inside_other_words_do_not_match() -> None:
    # "rate" must not fire inside "corporate", "ai" not inside "said".
    assert _terms("The corporate members said so") == ["委員"]


def test_japanese_question_is_left_alone() -> None:
    q = "テレワーク実施率について委員の意見は？"
    assert expand_query(q) == q


@pytest.mark.slow
def test_keyword_side_answers_an_english_question(corpus_index) -> None:
    from rag.retrieve import search

    hits = search(corpus_index, "What did members say about telework?", k=3, mode="bm25")
    assert hits, "an English question must reach the keyword index through the glossary"
    assert "テレワーク" in hits[0].chunk.text


def test_glossary_keys_are_the_translated_words() -> None:
    found = matches("Who talked about the data exchange market?")
    assert [key for _, key, _ in found] == ["data exchange", "market"]


@pytest.mark.slow
def test_english_question_cites_the_statement_it_names(corpus_index) -> None:
    # DEVELOPERS.md's example of an English question over Japanese text.
    from rag.answer import answer

    a = answer("Who talked about the data exchange market?", corpus_index)
    assert a.found
    assert any("データ取引市場" in c.chunk.text for c in a.citations), a.text
