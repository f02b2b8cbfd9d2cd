"""Understanding an English question over Japanese minutes: its Japanese search terms.

The keyword side cannot see an English question at all (no shared terms), and the relevance
judge reads a passage for the question's topic words. So the English words of a question are
put into Japanese, from two sources:

- the glossary (``rag.glossary``): public-administration and meeting vocabulary chosen by hand,
  the right word for this domain (member → 委員, talent → 人材);
- JMdict (``rag.jmdict``): every other word the dictionary glosses (pension → 年金).

``SOURCES`` says which are used, in order; a word one source translated is not looked up in
the next. The choice and its figures: BENCHMARKS.md, "English questions: glossary vs JMdict".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from rag import glossary, jmdict
from rag.text import detect_lang

# Which sources translate an English question, in order (BENCHMARKS.md, "English questions").
SOURCES: tuple[str, ...] = ("glossary", "jmdict")
# Japanese terms taken from JMdict per English word or phrase: its best-ranked entries
# (rag.jmdict.Entry.rank_key). BENCHMARKS.md, "English questions", compares 1, 2 and 3.
JMDICT_TERMS = 1


def _words(s: str) -> frozenset[str]:
    return frozenset(s.split())


# Words that shape a question but say nothing about its topic (the judge's topic words leave
# them out too: rag.question.content_terms).
FRAME_WORDS = _words(
    """a an the of about on in at to for from by with and or but not no is are was were be been
    being do does did done doing have has had what which who whom whose when where why how
    whether that this these those there their they them it its any anyone anything some
    someone something say says said saying tell told mention mentioned mentions discuss
    discussed talk talked speak spoke comment comments commented opinion opinions think
    thought view views member members secretariat chair chairman chairperson official
    officials committee meeting meetings minutes please me my we our you your i regarding
    concerning get got give given like can could should would will shall may might must
    kind kinds sort type else other others also more most much many anything else
    statement statements raised point points question questions answer answers"""
)
# Further words not looked up in JMdict: function words, question words and verbs, and
# adverbs whose dictionary nouns are no topic ("so" → さよう, "one" → 一つ, "end" → 最後).
# The judge leaves them out of an English question's topic words too (rag.question.judge_terms):
# no Japanese passage holds "according" or "second", so they would count as topics the minutes
# lack.
NOT_LOOKED_UP = FRAME_WORDS | _words(
    """all both each every few own same such than then too very just only even still yet
    already again ever never always often perhaps maybe really truly actually roughly about
    around out up down over under into onto off through during before after above below
    between against among within without upon per via as if so because while until since
    once here now today one ones two three four five six seven eight nine ten hundred
    thousand million billion first second third last next new old
    according anyone anybody everyone everybody nobody someone somebody people person
    make makes made making take takes took taken go goes went gone come came become became
    see saw seen use used using find found show shown shows want wanted need needs needed
    ask asked asks suggest suggested suggests propose proposed proposes recommend
    recommended argue argued explain explained describe described summarize summarise
    state stated claim claimed note noted agree agreed decide decided happen happened
    consider considered believe believed feel felt know known knew seem seems seemed
    able well way ways thing things lot lots end ends part parts case cases fact yes
    concern concerns concerned worry worried view said regarding related relating
    day date days week weeks month months year years time times held hold take took
    place venue location attend attended attendees participants present agenda
    respond responded responds reply replied replies report reported"""
)

_KEY_WORD = re.compile(r"[a-z0-9]+(?:[-.][a-z0-9]+)*")


@dataclass(frozen=True)
class Translation:
    """Japanese terms for English words of a question."""

    english: str  # the question's words that were translated, lower case
    terms: tuple[str, ...]  # Japanese, best first
    source: str  # "glossary" or "jmdict"


def _jmdict_terms(match: jmdict.Match, known: Callable[[str], bool] | None) -> tuple[str, ...]:
    """The best-ranked entries' written forms. A single word takes common entries only
    (the uncommon ones are mostly rare senses: "expert" → 玄人), or its best entry when none
    is common (telework → テレワーク); a phrase is specific enough to take any."""
    entries = match.entries
    if match.end - match.start == 1:
        entries = tuple(e for e in entries if e.common) or entries[:1]
    out: list[str] = []
    for e in entries:
        forms = [f for f in e.forms if len(f) > 1]  # one kanji is too ambiguous to search
        if known is not None:
            forms = [f for f in forms if known(f)]
        if forms and forms[0] not in out:
            out.append(forms[0])
        if len(out) >= JMDICT_TERMS:
            break
    return tuple(out)


def translations(
    question: str,
    sources: tuple[str, ...] | None = None,
    known: Callable[[str], bool] | None = None,
) -> tuple[Translation, ...]:
    """The English words of ``question`` that ``sources`` (default ``SOURCES``) translate, with
    their Japanese terms, in the question's order; empty for a Japanese question. With
    ``known``, JMdict terms are only those ``known`` accepts (e.g. present in the index)."""
    if detect_lang(question) != "en":
        return ()
    return _translations(question, SOURCES if sources is None else sources, known)


@lru_cache(maxsize=1024)
def _translations(
    question: str, sources: tuple[str, ...], known: Callable[[str], bool] | None
) -> tuple[Translation, ...]:
    found: list[tuple[int, Translation]] = []
    covered: set[str] = set()
    low = question.lower()
    for source in sources:
        if source == "glossary":
            for start, key, terms in glossary.matches(question):
                found.append((start, Translation(key, terms, "glossary")))
                covered.update(_KEY_WORD.findall(key))
        elif source == "jmdict":
            for m in jmdict.matches(question, NOT_LOOKED_UP):
                if covered & set(m.words.split()):
                    continue
                terms = _jmdict_terms(m, known)
                if terms:
                    found.append(
                        (low.find(m.words.split()[0]), Translation(m.words, terms, "jmdict"))
                    )
        else:
            raise ValueError(f"unknown translation source {source!r}")
    return tuple(t for _, t in sorted(found, key=lambda p: p[0]))


def japanese_terms(question: str) -> list[str]:
    """Japanese terms for the English words and phrases in ``question`` (in order, without
    repeats); none for a Japanese question."""
    out: list[str] = []
    for t in translations(question):
        out += [term for term in t.terms if term not in out]
    return out


def english_keys(question: str) -> list[str]:
    """The English words and phrases of ``question`` that were translated."""
    return [t.english for t in translations(question)]


def expand_query(question: str) -> str:
    """``question`` followed by its Japanese terms (unchanged when there are none)."""
    terms = japanese_terms(question)
    return f"{question} {' '.join(terms)}" if terms else question


def search_queries(question: str, expand_dense: bool) -> tuple[str, str]:
    """(dense query, keyword query): an English question gets its Japanese terms on the
    keyword side, and on the dense side too when ``expand_dense``; others stay as typed."""
    expanded = expand_query(question)
    return (expanded if expand_dense else question), expanded
