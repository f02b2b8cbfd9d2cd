"""English words → Japanese terms from JMdict, for English questions over Japanese minutes.

JMdict (Electronic Dictionary Research and Development Group, CC BY-SA; see NOTICE) is
read from the SQLite file that the ``jamdict-data`` package ships (325 MB, jamdict's schema).
Nothing happens at import time: the file is opened read-only on the first English question
and each lookup reads only the index pages of the glosses it asks for (indexed exact match on
``SenseGloss.text``), so memory stays small and a question costs a few milliseconds.

An English gloss usually names many entries ("regulation" → 規制, 規則, 規定, 憲法, 調整 …);
``rank`` orders them so that the word's everyday sense comes first: common entries (a JMdict
priority mark), the gloss in the entry's first sense, then newspaper frequency.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from rag.text import nfkc

# JMdict's priority marks that make an entry "common" (JMdict DTD, ke_pri/re_pri: news1/ichi1/
# spec1/spec2/gai1 are the ones its own "common word" flag uses).
_COMMON = frozenset({"news1", "ichi1", "spec1", "spec2", "gai1"})
# nf01..nf48: the entry's 500-word band in newspaper frequency (JMdict DTD); 49 = unranked.
_UNRANKED = 49
# Senses whose register makes them wrong for a meeting's vocabulary (JMdict misc tags).
_SKIP_MISC = frozenset(
    {
        "archaism",
        "obsolete term",
        "obscure term",
        "rare",
        "slang",
        "Internet slang",
        "manga slang",
        "vulgar expression or word",
        "derogatory",
        "jocular, humorous term",
        "children's language",
        "historical term",
        "dated term",
        "poetical term",
        "proverb",
    }
)
_USUALLY_KANA = "word usually written using kana alone"
# Parts of speech of the senses kept: nouns, suru-nouns, no- and na-adjectival nouns.
_NOMINAL = frozenset(
    {
        "noun (common) (futsuumeishi)",
        "noun or participle which takes the aux. verb suru",
        "nouns which may take the genitive case particle 'no'",
        "adjectival nouns or quasi-adjectives (keiyodoshi)",
        "noun, used as a prefix",
        "noun, used as a suffix",
    }
)
# Glosses remembered (with their entries) before the cache starts over: a few MB at most, far
# more than the words of a session's questions.
CACHE_GLOSSES = 20_000
# Longest English phrase tried as one gloss ("small and medium-sized enterprises" is four).
MAX_PHRASE = 4

_WORD = re.compile(r"[a-z0-9]+(?:[-.][a-z0-9]+)*")


@dataclass(frozen=True)
class Entry:
    """One JMdict entry that an English gloss leads to."""

    idseq: int
    forms: tuple[str, ...]  # written forms, the dictionary's preferred one first
    common: bool  # has a JMdict priority mark (see _COMMON)
    freq: int  # newspaper frequency band 1..48, _UNRANKED without one
    sense: int  # which sense of the entry carries the gloss (0: its first meaning)
    gloss: int  # the gloss's place in that sense (0: the sense's head translation)

    def rank_key(self) -> tuple[int, ...]:
        """Everyday sense first: a common entry, in its first sense; then the more frequent
        quarter of newspaper frequency (nf01-12: the 6,000 most frequent words, …); then an
        entry whose sense is headed by the gloss ("strategy": 戦略 before 作戦, but "pension":
        年金, nf02, before 民宿, nf20); then frequency and dictionary order."""
        return (
            not self.common,
            self.sense > 0,
            (self.freq - 1) // 12,
            self.gloss > 0,
            self.freq,
            self.sense,
            self.gloss,
            self.idseq,
        )


@dataclass(frozen=True)
class Match:
    """Words of an English question (tokens ``start``..``end``) whose gloss JMdict knows."""

    words: str  # as in the question, lower case ("labor shortage")
    start: int
    end: int
    entries: tuple[Entry, ...]  # best first (Entry.rank_key)


def db_path() -> Path | None:
    """jamdict-data's dictionary file, or None when the package is not installed."""
    import importlib.util

    spec = importlib.util.find_spec("jamdict_data")
    if spec is None or not spec.origin:
        return None
    path = Path(spec.origin).with_name("jamdict.db")
    return path if path.is_file() else None


class Dictionary:
    """Read-only gloss lookups on a JMdict SQLite file, cached per gloss; thread-safe (the web
    UI answers from several threads)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._cache: dict[str, tuple[Entry, ...]] = {}

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            # Read-only and immutable: no locks, no journal; the package's file never changes.
            uri = f"{self.path.resolve().as_uri()}?mode=ro&immutable=1"
            self._conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
        return self._conn

    def lookup(self, glosses: Iterable[str]) -> dict[str, tuple[Entry, ...]]:
        """Entries per exact English gloss (best first); one query for all uncached glosses."""
        glosses = list(dict.fromkeys(glosses))
        with self._lock:
            todo = [g for g in glosses if g not in self._cache]
            if len(self._cache) + len(todo) > CACHE_GLOSSES:
                self._cache.clear()
                todo = glosses
            if todo:
                found = _query(self._db(), todo)
                for g in todo:
                    self._cache[g] = found.get(g, ())
            return {g: self._cache[g] for g in glosses}


def _rows(db: sqlite3.Connection, sql: str, keys: Sequence[object]) -> list[tuple]:
    """``sql`` with ``{}`` standing for a list of ``keys`` (queried in slices below SQLite's
    limit on bound values)."""
    out: list[tuple] = []
    keys = list(keys)
    for i in range(0, len(keys), 500):
        part = keys[i : i + 500]
        out += db.execute(sql.format(",".join("?" * len(part))), part).fetchall()
    return out


def _grouped(pairs: Iterable[tuple]) -> dict[object, list]:
    out: dict[object, list] = {}
    for key, value in pairs:
        out.setdefault(key, []).append(value)
    return out


def _query(db: sqlite3.Connection, glosses: Sequence[str]) -> dict[str, tuple[Entry, ...]]:
    # Every query below is an indexed lookup. (A condition on SenseGloss.lang would make
    # SQLite scan its lang index, all 374k rows: the English file holds only "eng" glosses.)
    hits = _rows(
        db,
        "SELECT g.text, s.idseq, s.ID FROM SenseGloss g JOIN Sense s ON s.ID = g.sid"
        " WHERE g.text IN ({})",
        glosses,
    )
    if not hits:
        return {}
    sids = {sid for _, _, sid in hits}
    ids = {idseq for _, idseq, _ in hits}
    # Glosses of a sense in the dictionary's order (rowid order, as jamdict inserted them).
    order = _grouped(
        (sid, text)
        for sid, text in _rows(db, "SELECT sid, text FROM SenseGloss WHERE sid IN ({})", sids)
    )
    misc = _grouped(_rows(db, "SELECT sid, text FROM misc WHERE sid IN ({})", sids))
    pos = _grouped(_rows(db, "SELECT sid, text FROM pos WHERE sid IN ({})", sids))
    senses = _grouped(_rows(db, "SELECT idseq, ID FROM Sense WHERE idseq IN ({})", ids))
    forms: dict[str, dict[object, list]] = {}
    pri: dict[str, dict[object, list]] = {}
    for table, marks in (("Kanji", "KJP"), ("Kana", "KNP")):
        rows = _rows(db, f"SELECT idseq, ID, text FROM {table} WHERE idseq IN ({{}})", ids)
        forms[table] = _grouped((i, (kid, t)) for i, kid, t in sorted(rows, key=lambda r: r[1]))
        kids = [kid for _, kid, _ in rows]
        pri[table] = _grouped(_rows(db, f"SELECT kid, text FROM {marks} WHERE kid IN ({{}})", kids))
    out: dict[str, dict[int, Entry]] = {}
    for gloss, idseq, sid in hits:
        tags = set(misc.get(sid, ()))
        # Nouns only: the minutes are searched by their topic words; verbs, adverbs and
        # set phrases ("so" → だから) would only add noise.
        if tags & _SKIP_MISC or not set(pos.get(sid, ())) & _NOMINAL:
            continue
        kanji = forms["Kanji"].get(idseq, [])
        kana = forms["Kana"].get(idseq, [])
        marks_of = [m for kid, _ in kanji for m in pri["Kanji"].get(kid, ())]
        marks_of += [m for kid, _ in kana for m in pri["Kana"].get(kid, ())]
        # Kana forms are written forms when the entry has no kanji (テレワーク) or the sense
        # is usually written in kana; the readings of kanji words are not search terms.
        written = [t for _, t in kanji]
        if not written or _USUALLY_KANA in tags:
            written = [t for _, t in kana] + written
        bands = [int(m[2:]) for m in marks_of if m.startswith("nf") and m[2:].isdigit()]
        entry = Entry(
            idseq=idseq,
            forms=tuple(dict.fromkeys(nfkc(f) for f in written)),
            common=bool(set(marks_of) & _COMMON),
            freq=min(bands) if bands else _UNRANKED,
            sense=sorted(senses.get(idseq, [sid])).index(sid),
            gloss=order[sid].index(gloss),
        )
        seen = out.setdefault(gloss, {})
        if entry.forms and (idseq not in seen or entry.rank_key() < seen[idseq].rank_key()):
            seen[idseq] = entry
    return {g: tuple(sorted(d.values(), key=Entry.rank_key)) for g, d in out.items()}


@cache
def dictionary() -> Dictionary | None:
    """The installed JMdict (opened on first use), or None without jamdict-data."""
    path = db_path()
    return Dictionary(path) if path is not None else None


# --- English side ------------------------------------------------------------------------


def words(question: str) -> list[str]:
    """The question's words, lower case, possessives dropped (municipalities' → municipalities)."""
    return _WORD.findall(nfkc(question).lower().replace("'s ", " ").replace("’s ", " "))


def _singular(word: str) -> list[str]:
    out = []
    if word.endswith("ies") and len(word) > 4:
        out.append(word[:-3] + "y")
    if word.endswith(("ses", "xes", "ches", "shes")):
        out.append(word[:-2])
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        out.append(word[:-1])
    return out


def _verb_bases(word: str) -> list[str]:
    out = []
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            stem = word[: -len(suffix)]
            out += [stem, stem + "e"]
            if len(stem) > 2 and stem[-1] == stem[-2]:
                out.append(stem[:-1])  # planning → plan
    return out


def gloss_forms(span: Sequence[str]) -> list[str]:
    """Gloss strings that may name ``span`` in JMdict: the phrase itself and with its last
    word in the singular ("local governments" → "local government"); for one word also its
    verb gloss ("change", "changed" → "to change": JMdict glosses suru-nouns such as 変化 so).
    A word in -ed is looked up as a verb only ("concerned" is not 当該)."""
    head, last = list(span[:-1]), span[-1]
    if len(span) == 1 and last.endswith("ed") and _verb_bases(last):
        return [f"to {b}" for b in _verb_bases(last)]
    out = [" ".join([*head, w]) for w in [last, *_singular(last)]]
    if len(span) == 1:
        out += [f"to {b}" for b in [last, *_verb_bases(last)]]
    return list(dict.fromkeys(out))


def matches(question: str, stop: frozenset[str], dic: Dictionary | None = None) -> list[Match]:
    """The question's words and phrases that JMdict glosses, longest first and without
    overlap (left to right); a phrase neither starts nor ends with a word in ``stop``."""
    dic = dic or dictionary()
    toks = words(question)
    if dic is None or not toks:
        return []
    spans: list[tuple[int, int]] = []
    for n in range(min(MAX_PHRASE, len(toks)), 0, -1):
        for i in range(len(toks) - n + 1):
            if toks[i] in stop or toks[i + n - 1] in stop:
                continue
            if n == 1 and (len(toks[i]) < 2 or toks[i].isdigit()):
                continue
            spans.append((i, i + n))
    forms = {s: gloss_forms(toks[s[0] : s[1]]) for s in spans}
    found = dic.lookup(g for fs in forms.values() for g in fs)
    taken = [False] * len(toks)
    out: list[Match] = []
    for i, j in spans:  # longest first, then left to right
        if any(taken[i:j]):
            continue
        # Entries of all the span's forms together (citizens: 人民; citizen: 市民, 住民).
        best: dict[int, Entry] = {}
        for g in forms[(i, j)]:
            for e in found.get(g, ()):
                if e.idseq not in best or e.rank_key() < best[e.idseq].rank_key():
                    best[e.idseq] = e
        if not best:
            continue
        taken[i:j] = [True] * (j - i)
        entries = tuple(sorted(best.values(), key=Entry.rank_key))
        out.append(Match(" ".join(toks[i:j]), i, j, entries))
    return sorted(out, key=lambda m: m.start)
