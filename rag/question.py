"""Understanding a question: its topic words, the speaker roles and meeting facts it asks
about, and the numbers it names. Used by retrieval-side judgement (rag/judge.py) and by the
answer stages; imports nothing above rag.text / rag.types / rag.translate.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import PurePath
from typing import Any

from rag.dates import KANJI_DIGITS, kanji_to_int
from rag.text import detect_lang, nfkc, squash
from rag.translate import FRAME_WORDS, NOT_LOOKED_UP, translations
from rag.types import (
    ROLE_ASSEMBLY_MEMBER,
    ROLE_CHAIR,
    ROLE_HEAD,
    ROLE_MEMBER,
    ROLE_OFFICIAL,
    ROLE_SECRETARIAT,
    Meeting,
    expand_roles,
)

_TERM = re.compile(r"[a-z0-9][a-z0-9.+\-]*|[\u30a0-\u30ffー]+|[\u3400-\u9fff々〆]+")


def _words(s: str) -> set[str]:
    return set(s.split())


# Words that shape a question but say nothing about its topic.
JA_STOP_WORDS = _words(
    """何 誰 言 述 話 意見 発言 委員 事務局 座長 議長 会長 委員長 有識者 専門家 構成員 説明員 会議 議事録
    議事 内容 教 説明 関 対 点 方 事 等 時 際 今回 本 回 的 主 他 件 様 考 思 指摘 提案 声 者 人
    挙 触 述べ 話題 議論 質問 回答 答 尋 求 必要 大切 重要 可能 場合 以下 以上 次 前 中 各
    テーマ ところ もの こと"""
    # The unit a number is asked in (「何パーセント」): minutes write ２２％, and the kind of
    # answer asked is read by rag/asked.py, so the unit is no topic word the minutes lack.
    """ パーセント"""
)
_EN_STOP = FRAME_WORDS

# Meeting-info facets (asked about the meeting itself rather than what was said in it).
_FACETS: dict[str, re.Pattern[str]] = {
    "date": re.compile(
        r"いつ|日時|日付|開催日|何日|何月|日程|\bwhen\b|\bdate\b|what day"
        # the time of day and weekday are on the same 日時 line (13：30～15：30, （水）)
        r"|何時|何曜|曜日|開始時刻|終了時刻|終わ|始ま|\bwhat time\b|\bweekday\b"
        # how long it lasted is read off the same line (13：30～15：30)
        r"|何時間|所要時間|\bhow long\b",
        re.IGNORECASE,
    ),
    "venue": re.compile(
        r"どこ|場所|会場|開催地|\bwhere\b|\bvenue\b|\blocation\b|\bplace\b", re.IGNORECASE
    ),
    "attendees": re.compile(
        r"出席|欠席|参加者|参加した|\battend|\babsent|\bparticipant"
        r"|who (?:was|were) (?:there|present)",
        re.IGNORECASE,
    ),
    # 議事 of an item (議事１, 最初の議事), never 議事録 (the minutes themselves).
    "agenda": re.compile(
        r"議題|次第|議事\s*[0-9一二三四五六七八九十]|(?:最初|最後|初め|何番目|[0-9]+番目)の議事"
        r"|議事項目|\bagenda\b|(?:どの|何の)議事|議事の(?:最初|最後|項目|順番)|項目"
        r"|一番(?:初め|最初|最後)に(?:扱|取り上げ)"
        # the handout an item was explained with is recorded under the item (説明（資料５）)
        r"|どの資料|何の資料|資料番号|資料は?\s*何番|何番の資料|\bhandouts?\b",
        re.IGNORECASE,
    ),
    # What the meeting is called / which one of a series it is (cited from its 会議名 fact).
    "title": re.compile(
        r"会議名|会議の名前|会議の名称|正式名称|名称|第何回|何回目|回次"
        r"|\b(?:name|title) of (?:the|this)\b.{0,40}?\b(?:meeting|council|committee|session|sitting)\b"
        r"|\bwhat is (?:the|this) (?:meeting|council|committee) called\b"
        r"|\b(?:which|what) (?:session|sitting|round|number)\b|\bsession number\b",
        re.IGNORECASE,
    ),
    "held": re.compile(r"開催|開かれ|\bheld\b|take place|took place|\bhold\b", re.IGNORECASE),
}
_FACET_WORDS = _words(
    """日時 日付 開催日 何日 何月 日程 場所 会場 開催地 開催 出席 出席者 参加者 参加 議題 次第 開
    when date day where venue location place attend attended attendees attendee participants
    participant present agenda held hold take took"""
)
# Meta statement text that answers each facet (matched on NFKC text).
_FACET_META = {
    "date": re.compile(r"日\s*時|開催日|日\s*程|\d{4}年|令和|平成|\d+月\d+日"),
    "venue": re.compile(r"場\s*所|会\s*場|開催地"),
    "attendees": re.compile(r"出\s*席|欠\s*席|欠\s*員|説明員|参加者|名簿"),
    "agenda": re.compile(r"議\s*題|次\s*第"),
    "title": re.compile(r"会議名"),
}
# Words of a question about the meeting itself that are not a topic once its facet is known:
# 「最初の議事」 (agenda), "session number" / 「この会合」 (title).
FACET_FILLERS = {
    "agenda": _words(
        """最初 最後 初め 番目 何番目 資料 説明 報告 項目 一覧 一番初 一番最初 一番最後 取り上げ item items
        first last very covered discussed handout handouts material materials used use explain
        explained explanation presented presenting gave give given number"""
    ),
    # 「西暦でいうと2023年の何月何日」「何時に終わる予定」 "when did it wrap up"
    "date": _words(
        """西暦 予定 開始 終了 時刻 時間 曜日 午前 午後 時半 スタート time start started finish
        finished end ended wrap close closed begin began long last lasted run ran"""
    ),
    # 「どこのホテルの何階」: the kind of place is what 場所 answers
    "venue": _words("ホテル 建物 部屋 hotel building room floor"),
    "attendees": _words("確認 名簿 list names itself"),  # 出席者を確認したい
    "title": frozenset(
        [
            "会合",
            "正式",
            "名前",
            "name",
            "official",
            "number",
            "session",
            "sitting",
            "called",
            "title",
            "full",
            "cover",
            "covers",
        ]
    ),
}

# Role words in questions -> canonical role (only used when no explicit role filter is given).
_ROLE_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (ROLE_CHAIR, re.compile(r"座長|議長|委員長|会長|\bchair", re.IGNORECASE)),
    (ROLE_ASSEMBLY_MEMBER, re.compile(r"議員|assembly members?|councill?ors?", re.IGNORECASE)),
    (
        # "members" / 委員 are members of either kind (advisory 委員 or elected 議員); an
        # 有識者会議 is a meeting, not its members.
        "議員・委員",
        re.compile(
            r"委員(?!会|長)|有識者(?!会議)|構成員|(?<!assembly )\bmembers?\b"
            r"|\bexperts?\b(?!'?\s*(?:panel|meeting|council|committee))",
            re.IGNORECASE,
        ),
    ),
    (ROLE_HEAD, re.compile(r"知事|市長|町長|村長|\bgovernor\b|\bmayor\b", re.IGNORECASE)),
    (ROLE_SECRETARIAT, re.compile(r"事務局|secretariat", re.IGNORECASE)),
    (
        ROLE_OFFICIAL,
        re.compile(
            r"説明員|(?<!事務)局長|本部長|教育長|警視総監|消防総監|技監|市場長"
            r"|\bofficials?\b(?! (?:name|title))",
            re.IGNORECASE,
        ),
    ),
]


_QUESTION_HEAD = re.compile(r"^何[\u4e00-\u9fff]?")
_KANJI_YEAR = re.compile(
    r"[〇一二三四五六七八九]{2,}(?=年)|[〇一二三四五六七八九]*〇[〇一二三四五六七八九]*"
)


def content_terms(text: str) -> list[str]:
    """The question's topic words: NFKC + lowercase, script runs (kanji / katakana / Latin),
    minus question words, role words and one-character kanji (too ambiguous to count)."""
    out: list[str] = []
    # 二〇二三年 is the year 2023 (verbatim records write years digit by digit)
    text = _KANJI_YEAR.sub(lambda m: _kanji_number(m[0]) or m[0], nfkc(text))
    for t in _TERM.findall(text.lower()):
        # 何 and its counter are the question, not its topic: 何人増 -> 増 (dropped below).
        t = _QUESTION_HEAD.sub("", t.strip(".-+"))
        if not t or t in JA_STOP_WORDS or t in _EN_STOP or t in _FACET_WORDS:
            continue
        if len(t) == 1:
            continue
        if t.isascii() and len(t) < 3 and not any(c.isdigit() for c in t) and t not in ("dx", "it"):
            continue
        if t not in out:
            out.append(t)
    return out


def contains(term: str, hay: str) -> float:
    """1 when ``term`` occurs in ``hay``; a long kanji/katakana compound that does not occur
    whole counts by the share of its bigrams present when at least half are (市民意識調査
    still matches 市民意識), else 0."""
    if term in hay:
        return 1.0
    if len(term) >= 3 and not term.isascii():
        grams = [term[i : i + 2] for i in range(len(term) - 1)]
        frac = sum(g in hay for g in grams) / len(grams)
        return frac if frac >= 0.5 else 0.0
    return 0.0


def term_coverage(terms: Sequence[str], text: str) -> float:
    """Share of ``terms`` present in ``text`` (NFKC, no whitespace, lowercase), long compounds
    counting partially (see ``contains``)."""
    if not terms:
        return 0.0
    hay = squash(text).lower()
    return sum(contains(t, hay) for t in terms) / len(terms)


def infer_roles(question: str) -> tuple[str, ...]:
    """Role filter implied by the question (委員の意見 / what did members say / 事務局...).
    Empty when no role or several conflicting roles are mentioned."""
    found = [role for role, pat in _ROLE_PATTERNS if pat.search(nfkc(question))]
    return expand_roles(found) if len(found) == 1 else ()


def roles_in(index: Any) -> frozenset[str]:
    """The speaker roles an index holds (cached on the loaded index)."""
    roles = getattr(index, "_roles_present", None)
    if roles is None:
        roles = frozenset(c.role for c in getattr(index, "chunks", ()))
        index._roles_present = roles
    return roles


# Speakers whose words a question may ask for although the minutes record none of their kind:
# a head of government (知事, 市長, the mayor) or a chair at an advisory meeting.
_HEARD_ROLES = (ROLE_HEAD, ROLE_CHAIR)
_MINUTES_ROLES = frozenset([ROLE_MEMBER, ROLE_ASSEMBLY_MEMBER, ROLE_SECRETARIAT, ROLE_OFFICIAL])
# Asks what was said: _SAYS's verbs, 言 / あいさつ / 意見, or an English verb of saying.
_SPOKE = re.compile(
    r"言|あいさつ|挨拶|意見"
    r"|\b(?:say|says|said|answer(?:ed|s)?|repl(?:y|ied)|explain(?:ed|s)?|told|remarks?|spoke|speak"
    r"|comment(?:ed|s)?|state[ds]?|greetings?|address(?:ed)?)\b",
    re.IGNORECASE,
)


def unheard_speakers(question: str, index: Any) -> tuple[str, ...]:
    """The speakers a question asks to hear (「知事は冒頭のあいさつで何と言っていましたか」, "what did
    the mayor say…"), as it names them, when the minutes record no speaker of that kind and no
    other kind the question names: nothing they said can be cited. Only over minutes (an index
    with members or a secretariat speaking), and only when the question asks what was said."""
    present = roles_in(index)
    asked = infer_roles(question)
    q = nfkc(question)
    if not present & _MINUTES_ROLES or not asked or any(r in present for r in asked):
        return ()
    if not (_SAYS.search(q) or _SPOKE.search(q)):
        return ()
    found = (m[0] for role, pat in _ROLE_PATTERNS if role in _HEARD_ROLES for m in pat.finditer(q))
    return tuple(dict.fromkeys(found))


# A speaker named as the one who spoke (「小池知事は…」, 「教育長の答弁は」, 「知事本人は」), not as
# the topic or the asker (「知事への要望」, 「増子議員が取り上げた」).
_AS_SUBJECT = r"(?:自身|本人|みずから|自ら)?(?:は|が|の(?:答弁|発言|回答|見解|答え|説明|考え))"
_SAYS = re.compile(r"発言|述べ|言っ|話し|語っ|説明|答弁|答え|回答|応じ|見解")


def answerer_labels(index: Any) -> tuple[str, ...]:
    """Titles and names of those who answer for the executive in these minutes (知事, 教育長,
    福祉保健局長, 小池百合子), longest first (cached on the loaded index). Summary minutes'
    事務局 is no one in particular: not listed."""
    labels = getattr(index, "_answerer_labels", None)
    if labels is None:
        found = {
            nfkc(x).strip()
            for c in getattr(index, "chunks", ())
            if c.role in (ROLE_HEAD, ROLE_OFFICIAL)
            for x in (c.role_label, c.speaker)
            if x
        }
        labels = tuple(sorted((x for x in found if len(x) >= 2), key=len, reverse=True))
        index._answerer_labels = labels
    return labels


def asked_answerers(question: str, index: Any) -> tuple[str, ...]:
    """The answerers a question asks what they said (「小池知事は…と答弁したか」 → 知事);
    empty when it names none or asks nothing said."""
    labels = answerer_labels(index)
    q = nfkc(question)
    if not labels or not _SAYS.search(q):
        return ()
    # Longest first, so 副知事 is not read as 知事.
    named = re.compile("(" + "|".join(re.escape(x) for x in labels) + ")" + _AS_SUBJECT)
    return tuple(dict.fromkeys(m[1] for m in named.finditer(q)))


def implied_roles(question: str, index: Any) -> tuple[str, ...]:
    """The roles a question names, kept only when the minutes have such speakers: 「…の議長は
    誰か」 over an encyclopedia or a summary without a chair must not filter everything out."""
    present = roles_in(index)
    return tuple(r for r in infer_roles(question) if r in present)


def asked_facets(question: str) -> list[str]:
    q = nfkc(question)
    facets = [f for f, pat in _FACETS.items() if pat.search(q)]
    if "held" in facets:
        facets.remove("held")
        if not (set(facets) & {"date", "venue", "attendees", "agenda", "title"}):
            facets += ["date", "venue"]
    return facets


# --- Judgement inputs ------------------------------------------------------------------

# A question about what was *answered* (知事の答弁は？ / what did the official reply?): the
# reply, not the member's question, is what should be cited.
_ASKS_REPLY = re.compile(
    r"答弁|答え|回答|返答|応答|見解|説明し|\b(?:answer(?:ed)?|repl(?:y|ied)|respond(?:ed)?|response)\b",
    re.IGNORECASE,
)
_KANJI_RUN = re.compile(r"[〇一二三四五六七八九十百千]+")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def asks_reply(question: str) -> bool:
    return bool(_ASKS_REPLY.search(nfkc(question)))


def _kanji_number(run: str) -> str | None:
    """二〇四〇 -> 2040 (digit by digit), 三十五 -> 35, 百二十 -> 120; None for a lone 一 etc."""
    if len(run) < 2 and run in KANJI_DIGITS:
        return None
    n = kanji_to_int(run)
    return None if n is None else str(n)


def numbers(text: str) -> set[str]:
    """The numbers a text names, written any way: ２０４０年, 2040年, 二〇四〇年 -> {"2040"}."""
    t = nfkc(text)
    out = set(_NUMBER.findall(t.replace(",", "")))
    for run in _KANJI_RUN.findall(t):
        n = _kanji_number(run)
        if n is not None:
            out.add(n)
    return {n for n in out if n not in {"0", "1"}}


def meeting_keys(meeting: Meeting) -> set[str]:
    """Names a user may call a meeting by: place names in the title (北海道, 札幌(市)) and the
    longer Latin words of its id / file name (hokkaido, sapporo), not of the folders the file
    sits in (shared, bench)."""
    keys: set[str] = set()
    title = squash(meeting.title)
    # The two kanji before 都/道/府/県/市/町/村/区 (回北海道 -> 北海道, 次札幌市 -> 札幌市).
    for m in re.finditer(r"([\u3400-\u9fff]{2,})(都|道|府|県|市|町|村|区)", title):
        name = m.group(1)[-2:] + m.group(2)
        keys.update((name, name[:-1]))
    generic = {"minutes", "meeting", "summary", "gijiroku", "youshi", "promotion", "strategy"}
    stem = PurePath(meeting.file).stem if meeting.file else ""
    for w in re.findall(r"[a-z]{5,}", f"{meeting.id} {stem}".lower()):
        if w not in generic:
            keys.add(w)
    return keys


def judge_terms(question: str) -> list[str]:
    """The topic words relevance is judged on. An English question's own words cannot occur in
    Japanese minutes, so their Japanese terms (rag.translate) stand in for the words they
    translate; untranslated words (names such as FIWARE, or a word no source knows) stay."""
    terms = content_terms(question)
    if detect_lang(question) == "en":
        # Function words, adverbs and verbs of saying are no topic in English either.
        terms = [t for t in terms if t not in NOT_LOOKED_UP]
    found = translations(question)
    if not found:
        return terms
    kept = _untranslated(terms, found)
    japanese = " ".join(term for t in found for term in t.terms)
    return kept + [t for t in content_terms(japanese) if t not in kept]


def _untranslated(terms: Sequence[str], found: Sequence[Any]) -> list[str]:
    """``terms`` but the English words ``found`` (rag.translate.Translation) translated."""
    translated = set(content_terms(" ".join(t.english for t in found)))
    return [t for t in terms if t not in translated]


def folded(text: str) -> str:
    """The form terms are looked up in: NFKC, no whitespace, lower case."""
    return squash(text).lower()


# --- "What was said about X": the topic every statement about it names ---------------------

# 「XについてQの意見は？」 / 「Xに関して委員は何と言ったか」: X is the topic, the rest the frame.
_JA_TOPIC = re.compile(r"^(.+)(?:について|に関して|に関する|に対して|に対する|をめぐ[りっるれ])")
_SPEAKER_FIRST = re.compile(
    r"^.*?(?:委員|議員|有識者|専門家|事務局|構成員|メンバー|知事|市長|局長|みんな|皆さん)(?:は|が|から)"
)
_PARTICLES = re.compile(r"[\sのとや、,・]|及び|および|並びに|で")
_JA_SAID = re.compile(
    r"意見|発言|言っ|言わ|述べ|指摘|提案|議論|話|声|コメント|言及|答弁|回答|答え|説明|見解"
    r"|どんな|どのよう|何と|どう"
)
_EN_TOPIC = re.compile(
    r"\b(?:say|said|says|views?|opinions?|comments?|remarks?|think|thought|discuss(?:ed)?|"
    r"mention(?:ed)?|raised?|points?|spoke|talk(?:ed)?|answer(?:ed)?|repl(?:y|ied)|explain(?:ed)?)"
    r"\b.*?\b(?:about|on|regarding|concerning)\s+(.+?)\s*[?.!]*$",
    re.IGNORECASE,
)


def survey_topic(question: str) -> tuple[tuple[str, ...], ...]:
    """For "what did (members) say about X" — all statements on X are wanted, not the best
    few — the terms naming X, as groups of alternatives (an English word's translations); a
    statement names X when it holds one term of every group. Empty for any other question,
    including one that asks for a kind of answer (「Xについての予算は？」)."""
    from rag.asked import asked_kinds, asks_decision, asks_place

    q = nfkc(question).strip()
    if asked_kinds(q) or asks_decision(q) or asks_place(q):
        return ()
    ja = _JA_TOPIC.search(q)
    # After X only the frame: 「…について、12か月後にどんな話を聞きたいと言っていた委員は？」
    # asks one thing said about X, not everything.
    rest = q[ja.end() :] if ja else ""
    if ja and _JA_SAID.search(rest) and _frame_only(rest):
        # Everything before the (last) topic marker qualifies X, but for the speaker
        # (「委員は」); words naming the meeting are left out by the caller.
        topic = _SPEAKER_FIRST.sub("", ja[1])
        terms = content_terms(topic)
        # Only when the terms are most of X: of 「市民の意見の吸い上げ」 only 市民 is a term, and
        # every statement naming 市民 is not one on taking in residents' views.
        named = len(_PARTICLES.sub("", topic))
        return tuple((t,) for t in terms) if sum(map(len, terms)) >= 0.6 * named else ()
    en = _EN_TOPIC.search(q)
    if not en:
        return ()
    found = translations(en[1])
    groups = [tuple(t.terms) for t in found]
    return tuple(groups + [(t,) for t in _untranslated(content_terms(en[1]), found)])


def _frame_only(text: str) -> bool:
    """Nothing in ``text`` but speakers and saying (「知事はどのような答弁をした？」)."""
    return all(infer_roles(t) or _JA_SAID.fullmatch(t) for t in content_terms(text))


def names_topic(groups: Sequence[Sequence[str]], text: str) -> bool:
    """``text`` holds one term of every group (NFKC, case and spacing folded; a number written
    any way: 2020 = 二〇二〇, as verbatim records write years; rag.question.numbers)."""
    hay = folded(text)
    said = numbers(text) if any(t.isdigit() for g in groups for t in g) else set()
    return bool(groups) and all(
        any(folded(t) in hay or (t.isdigit() and t in said) for t in g) for g in groups
    )
