"""English questions into Japanese terms: JMdict lookups (rag.jmdict) and the translation stage
(rag.translate: glossary first, JMdict for the other words)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest

from rag import jmdict, translate

DATA = Path(__file__).parent / "data"
STOP = translate.NOT_LOOKED_UP


@pytest.fixture()
def mini(tmp_path: Path) -> jmdict.Dictionary:
    """A dictionary of the few entries in tests/data/jmdict_mini.sql."""
    path = tmp_path / "jmdict.db"
    db = sqlite3.connect(path)
    db.executescript((DATA / "jmdict_mini.sql").read_text(encoding="utf-8"))
    db.commit()
    db.close()
    return jmdict.Dictionary(path)


@pytest.fixture()
def use_mini(mini: jmdict.Dictionary):
    translate._translations.cache_clear()
    with mock.patch.object(jmdict, "dictionary", lambda: mini):
        yield mini
    translate._translations.cache_clear()


def _first_forms(entries) -> list[str]:
    return [e.forms[0] for e in entries]


def test_everyday_sense_ranks_first(mini) -> None:
    # 規制 heads its first sense; 規則 lists "regulation" second; 調整 only in a later sense;
    # 規正 is an archaism and is left out.
    found = mini.lookup(["regulation"])["regulation"]
    assert _first_forms(found) == ["規制", "規則", "調整"]


def test_only_nouns_are_search_terms(mini) -> None:
    # "to survive": the verb 生き残る is no search term, the suru-noun 生存 is.
    assert _first_forms(mini.lookup(["to survive"])["to survive"]) == ["生存"]
    assert mini.lookup(["so"])["so"] == ()


def test_usually_kana_words_are_written_in_kana(mini) -> None:
    assert mini.lookup(["summary"])["summary"][0].forms[0] == "まとめ"


def test_phrases_before_words_and_plurals_merge(mini) -> None:
    ms = jmdict.matches(
        "What did small and medium-sized enterprises and municipalities say?", STOP, mini
    )
    assert [m.words for m in ms] == ["small and medium-sized enterprises", "municipalities"]
    # "municipalities" (市町村) and "municipality" (自治体, more frequent) together.
    assert _first_forms(ms[1].entries) == ["自治体", "市町村"]


def test_past_tense_is_looked_up_as_a_verb(mini) -> None:
    forms = jmdict.gloss_forms(["survived"])
    assert "to survive" in forms and all(f.startswith("to ") for f in forms)
    ms = jmdict.matches("Which initiatives survived?", STOP, mini)
    assert [(m.words, _first_forms(m.entries)) for m in ms] == [("survived", ["生存"])]


def test_question_words_are_not_looked_up(mini) -> None:
    # "member" has a JMdict entry (メンバー) but shapes the question; "so" is a function word.
    assert jmdict.matches("So what did members say?", STOP, mini) == []


def test_glossary_first_then_jmdict(use_mini) -> None:
    q = "What did members say about pensions and analog regulation?"
    with mock.patch.object(translate, "SOURCES", ("glossary", "jmdict")):
        found = translate.translations(q)
    assert [(t.english, t.terms, t.source) for t in found] == [
        ("members", ("委員",), "glossary"),
        ("pensions", ("年金",), "jmdict"),
        ("analog", ("アナログ",), "glossary"),
        ("regulation", ("規制",), "glossary"),
    ]


def test_jmdict_alone_and_its_term_rules(use_mini) -> None:
    with mock.patch.object(translate, "SOURCES", ("jmdict",)):
        found = {
            t.english: t.terms
            for t in translate.translations("Did the prefecture discuss telework regulation?")
        }
    # One kanji (県) is no term; an uncommon entry counts when it is the only one (テレワーク);
    # JMDICT_TERMS entries per word.
    assert "prefecture" not in found
    assert found["telework"] == ("テレワーク",)
    assert found["regulation"] == ("規制", "規則")[: translate.JMDICT_TERMS]


def test_japanese_questions_are_not_translated(use_mini) -> None:
    q = "テレワーク実施率について委員の意見は？"
    assert translate.translations(q) == ()
    assert translate.search_queries(q, expand_dense=True) == (q, q)


def test_without_jamdict_data_the_glossary_still_works() -> None:
    translate._translations.cache_clear()
    with (
        mock.patch.object(jmdict, "dictionary", lambda: None),
        mock.patch.object(translate, "SOURCES", ("glossary", "jmdict")),
    ):
        assert translate.japanese_terms("What did members say about telework?") == [
            "委員",
            "テレワーク",
        ]
    translate._translations.cache_clear()


def test_the_installed_dictionary_answers() -> None:
    # jamdict-data is a dependency: the real file, read-only, without jamdict's object layer.
    dic = jmdict.dictionary()
    assert dic is not None, "jamdict-data is not installed"
    found = dic.lookup(["pension", "budget"])
    assert found["pension"][0].forms[0] == "年金"
    assert found["budget"][0].forms[0] == "予算"


def test_nothing_is_read_at_import() -> None:
    code = (
        "import rag.cli, rag.question, rag.translate, rag.jmdict;"
        "print(rag.jmdict.dictionary.cache_info().currsize)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "0"


def test_the_gloss_cache_stays_bounded(mini) -> None:
    with mock.patch.object(jmdict, "CACHE_GLOSSES", 3):
        mini.lookup(["pension", "budget"])
        found = mini.lookup(["pension", "regulation", "telework"])  # over the bound: starts over
        assert _first_forms(found["pension"]) == ["年金"]
        assert len(mini._cache) == 3
