"""What kind of answer a question asks for, and whether a passage holds one.

A near miss (「自動運転の実証実験の予算は？」 where autonomous driving is discussed but no budget
is named) shares its topic with the minutes; what it lacks is the *kind* of answer asked for: an
amount, a date, a person, a place, a company, a decision. The judge gets, per kind, "asked" and
"asked but this passage holds nothing of that kind"; how much each weighs is learned
(rag/judge.py, scripts/train_judge.py). The patterns are the usual surface forms of Japanese and
English question words and of the expressions that answer them, not tuned on any question file.

Imports only rag.text and rag.morph.
"""

from __future__ import annotations

import re

from rag.morph import person_names
from rag.text import nfkc

WHEN, AMOUNT, WHO, WHERE, ORG, DECIDED = "when", "amount", "who", "where", "org", "decided"
# "name": which person exactly (氏名, the chair, which member said it). Narrower than "who",
# which an anonymous 委員 of a summary can answer ("who said…": a member).
NAME = "name"
KINDS = (WHEN, AMOUNT, WHO, WHERE, ORG, DECIDED, NAME)

_I = re.IGNORECASE
# A noun asks for its value only as the question's head (予算は？ / 件数を教えて), not as a
# topic (費用の問題をどう扱うべきか).
_ASKED_NOUN = r"(?:は|を教|[?？]|$)"
# An English wh-word asks only at the head of a clause or after a verb of saying (「When was…」,
# "did they say when…"); after a noun it starts a relative clause ("residents who are good with
# IT", "data when residents move"), which asks nothing.
_EN_ASKS = (
    r"(?:^|[,;:.?]\s*|\b(?:and|or|but|so|say|said|says|ask|asked|explain|explained|mention|"
    r"mentioned|know|tell|told|decide|decided|state|stated|specify|specified|clarify|indicate|"
    r"indicated|about|on|by|until|as to)\s+)(?:{})\b"
)
# Verbs of saying: 「…と発言したのは誰」 asks which person said it.
_SAID = r"(?:発言|意見|指摘|提案|質問|主張|言及|述べ|言っ|言わ|話し|説明|答弁|回答|答え)"
_ASKS: dict[str, re.Pattern[str]] = {
    WHEN: re.compile(
        r"いつ|何年(?!間)|何月|何日(?!間)|何時(?!間)|(?:時期|期限|締め?切り?|スケジュール)"
        + _ASKED_NOUN
        + "|"
        + _EN_ASKS.format("when(?! asked)")
        + r"|\bwhat (?:year|date|month|time)\b|\bdeadline\b|目標年|\b(?:which|target) year\b",
        _I,
    ),
    AMOUNT: re.compile(
        # 何人か / 何人？ also read なにじん (which nationality) or "some people": not a count.
        r"いくら(?!でも)|何[十百千万億]*人(?!か|[?？]|$|です|だ)|何[十百千万億]+人|何[十百千万億]*(?:件|社|団体|%|パーセント|割|名|か所|箇所|ヶ所|校|回|円|台|倍|市町村|年間|日間|時間|"
        r"自治体|世帯|機関|種類|項目|本)|どれ(?:くらい|ほど|だけ)|"
        r"(?:金額|予算|費用|経費|人数|件数|割合|比率|率|数値目標|目標値|[者社件]数|の数)"
        + _ASKED_NOUN
        + "|"
        r"\bhow many\b|\bhow much\b(?! of)|\bpercentage\b|"
        # "What would the rate be", "what was the total": a quantity as the question's head.
        r"\bwhat (?:is|was|were|are|would|will)\b[^?,]{0,60}\b(?:rate|ratio|share|figure|total|"
        r"count|number|headcount|price|budget|cost)\b|\b(?:budget|cost|price)s? (?:for|of)\b|"
        # "What target number…", "what share of companies…": a figure as the question's head.
        r"\bwhat (?:\w+ ){0,2}?(?:number|figure|percentage|share|rate)\b|"
        r"\btarget (?:value|figure|number)s?\b|\bwhat numeric(?:al)? (?:target|goal)\b(?!s)|"
        # "what target did they set for the number of users": the number is the target
        r"\b(?:what|which) (?:\w+ )?(?:target|goal)s?\b[^?]{0,40}\bnumber of\b",
        _I,
    ),
    WHO: re.compile(
        r"誰|だれ|どなた|氏名|どの委員|どの議員|どの人|"
        + _EN_ASKS.format("who|whom|whose")
        + r"|\bwhich (?:member|person|official|people)\b",
        _I,
    ),
    WHERE: re.compile(
        r"(?<!者は)(?<!社は)(?<!業は)(?<!体は)どこ(?=で|に|へ|の|か(?!ら)|だ|です|[?？。]|$)|場所|会場|どの(?:市|町|村|地域|自治体|地区)|何市|"
        + _EN_ASKS.format("where")
        + r"|\bwhich (?:city|town|village|municipalit\w*|region|area|venue|place)\b",
        _I,
    ),
    ORG: re.compile(
        r"どの(?:企業|会社|事業者|業者|団体|ベンダー|メーカー)|(?:企業|会社|事業者|業者|団体)はどこ|(?:企業|会社|事業者|団体)名|社名|"
        r"\bwhich (?:company|companies|firm|vendor|business|organi[sz]ation)\b|\bwhat company\b|"
        # A university (who teaches, who partners) and a speaker's affiliation are named bodies.
        r"どの大学|大学名|大学の名前|所属(?:は|先|を教|[?？]|$)|\b(?:which|what) universit(?:y|ies)\b|"
        r"\baffiliat(?:ion|ed with)\b",
        _I,
    ),
    NAME: re.compile(
        r"氏名|(?:委員|議員|人|者|座長|会長|委員長|議長|部会長|人物|講師|メンバー|方)の?名前|"
        r"どの(?:委員|議員|構成員|メンバー|有識者|専門家)|"
        r"(?:座長|会長|委員長|議長|部会長|司会|進行役)(?:は|を務め\S{0,6}は|が)(?:誰|だれ|どなた)|"
        r"(?:誰|だれ|どなた)が(?:座長|会長|委員長|議長|司会)|"
        r"(?:誰|だれ|どなた)が\S{0,20}"
        + _SAID
        + "|"
        + _SAID
        + r"\S{0,6}(?:委員|議員|人|方|の)は(?:誰|だれ|どなた)|"
        r"\bwhich (?:member|person|expert|official|councill?or|participant)s?\b|\bby name\b|"
        r"\bnames? of (?:the )?(?:member|person|expert|chair|speaker)|"
        r"\bwho (?:exactly|specifically|chaired|chairs|was the chair|is the chair|presided)\b|"
        r"\bwho (?:said|made|raised|proposed|suggested|pointed|argued|asked|mentioned|talked|spoke|"
        r"commented|stated|explained|answered|replied)\b",
        _I,
    ),
    DECIDED: re.compile(
        r"決ま(?:った|る|り)|決定|決め(?:た|られ)|正式|承認|合意|確定|採択|可決|"
        r"\b(?:decided|approved|finali[sz]ed|agreed|adopted|officially)\b",
        _I,
    ),
}

# Digits, or kanji numerals other than a lone 一 (一緒, 一方 are words, not amounts).
_NUM = r"(?:\d[\d,.]*|[〇一二三四五六七八九十百千万億]{2,}|[二三四五六七八九十百千])"
_HOLDS: dict[str, re.Pattern[str]] = {
    WHEN: re.compile(
        _NUM
        + r"\s*(?:年|月|日|時|世紀)|年度|年代|時代|上旬|中旬|下旬|今年|来年|昨年|本年|年内|今月|来月|"
        r"令和|平成|昭和|元年|春|夏|秋|冬|四半期|\b(?:19|20)\d\d\b"
    ),
    # A number with a unit or counter (3人, 179自治体, 22%, 5億円, 二つ), not a date (2040年).
    AMOUNT: re.compile(_NUM + r"\s*(?!年(?!間)|月(?!間)|日(?!間))[\u4e00-\u9fffぁ-んァ-ヶ%a-zA-Z]"),
    WHO: re.compile(
        r"[\u4e00-\u9fff]{1,4}(?:氏|さん|君|様|先生)|（[\u4e00-\u9fff\u3040-\u30ff]{2,10}君）"
    ),
    # A venue, or a named place something happens in (旭川市で, 会場), not any mention of 市.
    WHERE: re.compile(
        r"[\u4e00-\u9fff\u30a0-\u30ff]{1,6}(?:市|町|村|区|県|府|郡|国|州)(?:で|において|にて|内で)|"
        r"会場|会議室|庁舎|ホール|センター|オンライン|web会議|ウェブ会議|場所",
        _I,
    ),
    ORG: re.compile(
        r"株式会社|有限会社|\(株\)|㈱|[\u30a0-\u30ffA-Za-z]{2,}社|財団|協会|法人|大学|"
        r"\b(?:Inc|Corp|Ltd|LLC)\b",
        _I,
    ),
    DECIDED: re.compile(r"決定|決ま|決め|承認|了承|合意|確定|採択|可決|議決|正式"),
    # A person: an honorific, or (held_kinds) a name Sudachi knows or a named speaker.
    NAME: re.compile(
        r"[\u4e00-\u9fff]{1,4}(?:氏|さん|君|様|先生)|（[\u4e00-\u9fff\u3040-\u30ff]{2,10}君）"
    ),
}


# An office that speaks for itself (事務局から説明, 知事が答弁) answers "who explained…" but not
# a question that wants a person: a name, the chair, which member (_PERSON).
_OFFICE = re.compile(
    r"事務局|知事|市長|町長|村長|区長|局長|部長|課長|室長|教育長|総監|大臣|長官|理事長|社長|"
    r"[\u4e00-\u9fff]{1,8}(?:省|庁|本部|研究所|大学|財団|協会)|株式会社|[\u30a0-\u30ffA-Za-z]{2,}社"
)
_PERSON = re.compile(
    r"氏名|名前|どの(?:委員|議員|構成員|メンバー|有識者|専門家)|座長|会長|委員長|議長|部会長|司会|"
    r"\bwhich (?:member|person|expert|councill?or|participant)s?\b|\bby name\b|\bnames? of\b|"
    r"\bwho (?:exactly|specifically)\b|\bchair",
    _I,
)


def asked_kinds(question: str) -> frozenset[str]:
    """The kinds of answer a question asks for (empty for "what did members say about X")."""
    q = nfkc(question)
    return frozenset(k for k, p in _ASKS.items() if p.search(q))


def held_kinds(
    text: str,
    named_speaker: bool = False,
    wanted: frozenset[str] | None = None,
    person_only: bool = False,
) -> frozenset[str]:
    """The kinds of answer a passage can give (of ``wanted``, default all). A statement by a
    named speaker answers "who" and "name"; so does a person's name in its text, and an office
    unless ``person_only`` (the question wants a person: ``wants_person``)."""
    t = nfkc(text)
    kinds = {k for k, p in _HOLDS.items() if (wanted is None or k in wanted) and p.search(t)}
    if named_speaker or (not person_only and _OFFICE.search(t)):
        kinds |= {WHO, NAME}
    # The dictionary lookup costs a morphological analysis: only when a name is asked for.
    if (wanted is None or NAME in wanted) and NAME not in kinds and person_names(t):
        kinds |= {WHO, NAME}
    return frozenset(kinds)


# Kinds an answer is checked for before it is given (rag.answer): a near miss such as
# 「アドバイザーは何人増やす方針？」 finds the statement on advisers, which names no number.
# "name" is checked when a person is wanted ("which member said…", 「座長は誰？」, 氏名): a
# summary's anonymous 委員 names no one (the writers of all three earlier training files
# marked such questions unanswerable: 8 near misses); "who talked about…" (marked answerable
# once) and "who explained…" are not gated.
# The broader "who" (誰に, 誰のための, whom) is not, nor "decided" (its words also name
# topics: 決定した方針について…).
# "where" is not checked either: besides venues it asks for any named entity (どこの団体,
# バンダ・オリエンタルは現在のどこ？), which no pattern recognises; on JSQuAD's training
# questions checking it refused 35 of 216 answerable questions that ask a kind.
VERIFIED = (AMOUNT, WHEN, ORG, NAME)
# Checked at the answer only, from the question's predicate (not judge features):
# "was it decided?" (「正式に決まったのか？」, 「開催することは決定したのか？」) is answered by
# a decision, not by the member's 「〜してほしい」 that raised it; "how did the city answer?"
# by a reply, not by the member's remark the city answered (or did not).
DECISION, REPLY = "decision", "reply"
# "Which town / どの市町村": a place's name. "Where" in general is not checked (see above);
# this narrower question is answered only by a named city, town, village or ward (旭川市,
# 上士幌町, 練馬区), not by 市町村 or 地域.
PLACE = "place"
KIND_LABELS = {
    NAME: ("人の名前", "name of the person"),
    AMOUNT: ("数や金額", "number or amount"),
    WHEN: ("日付や時期", "date or time"),
    ORG: ("企業や団体の名前", "company or organisation"),
    DECISION: ("決定事項", "decision"),
    PLACE: ("市町村などの地名", "name of the place"),
    REPLY: ("事務局・執行機関の回答", "reply from the secretariat or officials"),
}
# The question's predicate asks whether / what was decided: a decision word closing the
# question (「…決まったのか？」, 「…と決定した？」), not one naming its topic
# (「決定した方針について委員は何と言った？」).
_DECISION_ASKED = re.compile(
    r"(?:決ま(?:った|って|り)|決定(?:した|され|し|済)|正式に|承認(?:した|され)|合意(?:した|され|に至)|"
    r"了承(?:した|され)|確定(?:した|され))[^、。,]{0,12}(?:[?？]|$)|"
    r"\b(?:was|were|is|are|has been|have been)\s+(?:\w+\s+){0,3}?(?:officially\s+|formally\s+)?"
    r"(?:decided|approved|adopted|agreed|finali[sz]ed)\b|"
    r"\b(?:did|has|have|had)\s+(?:the\s+)?\w+(?:\s+\w+)?\s+(?:officially\s+|formally\s+)?"
    r"(?:decided?|approved?|adopt(?:ed)?|agreed?|finali[sz]ed?)\b|\bofficially\b",
    _I,
)
# The question asks how someone answered or responded (not for a view: 見解 names a member's
# question in assembly minutes as often as a reply; not a survey's 回答数 or 何社が回答した).
_REPLY_ASKED = re.compile(
    r"(?:どう|何と|なんと|どのように|と)(?:答え|回答|答弁|応じ|返答|応答)|"
    r"(?:回答|答弁|答え|返答)(?:は|を教|について|の内容)|(?:は|が)(?:答え|回答し|答弁し|応じ)|"
    r"\b(?:answer(?:ed|s)?|repl(?:y|ied|ies)|respond(?:ed|s)?)\b|"
    r"\b(?:the|its|their|official|secretariat's|city's|prefecture's|government's)\s+response\b",
    _I,
)
# ... unless a member is the one who responds (「事務局の回答を受けて、委員はどう応じた？」), or
# the verb belongs to a thing ("a service that answers questions").
_MEMBER_RESPONDS = re.compile(
    r"(?:委員|議員|有識者|構成員)(?:は|が|から)[^、。？?]{0,10}(?:応じ|返し|答え|回答|反応)|"
    r"\bmembers?\b[^?.]{0,20}\b(?:say|said|respond\w*|repl\w*|react\w*)\s+(?:after|to|when)\b|"
    r"\bin response to\b|\b(?:that|which)\s+(?:answer|repl|respond)\w*",
    _I,
)


_PLACE_ASKED = re.compile(
    r"どの(?:市町村|市|町|村|自治体|区|地区|都市)|どこの(?:市町村|市|町|村|自治体|区)|何市|"
    r"\bwhich (?:city|cities|town|towns|village|villages|municipalit\w*|wards?)\b",
    _I,
)
# A named municipality: kanji before 市/町/村/区, not the generic words (市町村, 区市町村, 都市,
# 各市) nor a compound that continues (市民, 町内, 区役所).
_PLACE_HELD = re.compile(
    r"(?<![\u4e00-\u9fff])(?!(?:各|全|都|区|市|町|本|当|同|他)[市町村区])"
    r"[\u4e00-\u9fff\u30a0-\u30ff]{1,5}(?<![市町村区])[市町村区]"
    r"(?![市町村区民長域議役職営立政場部制])"
)


def asks_place(question: str) -> bool:
    return bool(_PLACE_ASKED.search(nfkc(question)))


def holds_place(text: str) -> bool:
    return bool(_PLACE_HELD.search(nfkc(text)))


def asks_decision(question: str) -> bool:
    return bool(_DECISION_ASKED.search(nfkc(question).strip()))


def asks_response(question: str) -> bool:
    q = nfkc(question)
    return bool(_REPLY_ASKED.search(q)) and not _MEMBER_RESPONDS.search(q)


# "When was it said" is answered by the meeting's date, unlike "when will it start".
_WHEN_SAID = re.compile(
    r"いつ.{0,30}(?:発言|述べ|言(?:っ|わ)|議論|話(?:し|題|さ)|提案|指摘|意見|説明|会議|会合)|"
    r"\bwhen (?:did|was|were)\b.{0,80}\b(?:say|said|mention\w*|discuss\w*|rais\w+|propos\w+|"
    r"suggest\w*|point\w* out|comment\w*|held|meet|met)\b",
    _I,
)


def wants_person(question: str) -> bool:
    """The question asks for a person (a name, the chair, which member), not any speaker."""
    return NAME in asked_kinds(question) and bool(_PERSON.search(nfkc(question)))


# Counters a "how many X" question names, each with the counters that answer it: 「何人」 is
# answered by 100人 or 四十七名, 「何%」 by 22% or 3割, 「何種類」 by 3種類 or 3つ. A
# statement whose only number counts something else (「100人つくる」 for 「何種類に分けた？」,
# 「３つの項目」 for 「目標値は何%？」) does not give the amount asked for. Japanese usage, not
# tuned on any question file.
_COUNTER_GROUPS = (
    ("人", "名"),
    ("%", "パーセント", "割", "ポイント", "分の"),  # 22%, 3割, 10分の1
    ("か所", "箇所", "ヶ所", "カ所", "ケ所", "ヵ所"),
    ("件",),
    ("社",),
    ("団体", "自治体", "市町村"),
    ("回",),
    ("円", "億", "ドル", "ユーロ", "ポンド", "ウォン"),  # 百五十八億の予算, 100億ドル
    ("台",),
    ("倍",),
    ("校",),
    ("世帯",),
    ("時間",),
    ("種類", "タイプ", "類型", "パターン", "つ"),
    ("項目", "つ", "点"),
)
_COUNTER_ASKED = re.compile(
    r"何[十百千万億]*("
    + "|".join(sorted({c for g in _COUNTER_GROUPS for c in g if c != "つ"}, key=len, reverse=True))
    + ")"
)


# What a count question counts, when it names no counter (「件数は？」, 「参加した企業の数は」,
# "how many companies"): the thing counted names the counter group that answers it. Money
# (いくら, 予算, "how much … cost") is answered by an amount of money, not by 100人; a rate by
# a share. Japanese and English usage, checked on the judge's training questions only.
_OF = r"(?:of (?:the |its |these |those )?)?(?:\w+ ){0,2}"  # how many [of the 179] [small] towns
_COUNTED = (
    (
        "人",
        rf"(?:人|者|員)数|人口|\bhow many {_OF}(?:people|persons|members|staff|employees|"
        r"residents|attendees|participants|officials|experts|workers|users|students|citizens)\b",
    ),
    ("件", r"件数|\bhow many (?:cases|applications|datasets)\b"),
    (
        "社",
        rf"(?:社|企業|会社|事業者)の?数|\bhow many {_OF}(?:companies|firms|businesses|enterprises)\b",
    ),
    (
        "団体",
        r"(?:団体|自治体|市町村)の?数|"
        rf"\bhow many {_OF}(?:municipalities|towns|local governments|organi[sz]ations)\b",
    ),
    ("%", r"率|割合|比率|\b(?:percentage|rate|ratio|share)\b"),
    ("回", r"回数|\bhow many times\b|\bhow often\b"),
    ("校", rf"学?校の?数|\bhow many {_OF}schools\b"),
    ("世帯", r"世帯の?数|\bhow many households\b"),
    (
        "円",
        r"いくら(?!でも)|金額|予算|費用|経費|コスト|\bhow much (?:money|funding)\b|\byen\b|"
        r"\b(?:budget|cost|price|spend|spending|funding)\b",
    ),
)
_COUNTED_ASKED = tuple((unit, re.compile(p, re.IGNORECASE)) for unit, p in _COUNTED)


def asked_counters(question: str) -> tuple[str, ...]:
    """The counters that answer the question's 「何＋counter」, or the counters of what a count
    question counts (_COUNTED; empty when it names neither or asks no amount)."""
    q = nfkc(question)
    m = _COUNTER_ASKED.search(q)
    if m:
        unit = m[1]
    elif AMOUNT in asked_kinds(q):
        # The head noun comes last in Japanese (人口比率: a rate; 実施率の調査…企業の数: a count).
        found = [(hit.end(), u) for u, p in _COUNTED_ASKED for hit in p.finditer(q)]
        unit = max(found)[1] if found else ""
    else:
        unit = ""
    if not unit:
        return ()
    return tuple(dict.fromkeys(c for g in _COUNTER_GROUPS if unit in g for c in g))


def _given_numbers(question: str) -> set[str]:
    """The digit runs a question already names (179 in 「179市町村のうち何団体？」): a number it
    gives is no answer to it."""
    return set(re.findall(r"\d+", nfkc(question).replace(",", "")))


def holds_counted(text: str, counters: tuple[str, ...], given: str = "") -> bool:
    """The text gives a number counted in one of ``counters`` (100人, 四十七名, ５億円, 3つ)
    other than one the question ``given`` already names (「179自治体のうち何団体？」 is not
    answered by 179市町村)."""
    unit = "|".join(re.escape(c) for c in sorted(counters, key=len, reverse=True))
    known = _given_numbers(given)
    found = re.finditer("(" + _NUM + r")\s*[十百千万億]*\s*(?:" + unit + ")", nfkc(text))
    return any(m[1].replace(",", "") not in known for m in found)


# A number asked for one group only (「法人企業のみを対象とした場合の実施率は？」, 大企業に限った,
# 個人事業主を除いた): the group kept, as written before のみ / だけ / に限る / に絞る, and the group
# left out, as written before を除く.
_KEPT = re.compile(
    r"([\u30a0-\u30ff\u3400-\u9fff々]{2,})(?:のみ|だけ(?!で(?:な|は))|に限(?:っ|定|る|り)|に絞)"
)
_LEFT_OUT = re.compile(r"([\u30a0-\u30ff\u3400-\u9fff々]{2,})を除(?:い|く|外)")
_EXCLUDED = re.compile(r"除|以外|含まない|含めない|含めず|含まず")
_SENTENCE_END = re.compile(r"[。！？!?\n]")


def restricted_to(question: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(groups kept, groups left out) of a number question, as the question writes them."""
    q = nfkc(question)
    kept = tuple(dict.fromkeys(m[1] for m in _KEPT.finditer(q)))
    return kept, tuple(dict.fromkeys(m[1] for m in _LEFT_OUT.finditer(q)))


def stated_for(
    text: str, kept: tuple[str, ...], left_out: tuple[str, ...], given: str = ""
) -> bool:
    """A sentence of ``text`` gives a number (one the question ``given`` does not name) with the
    group kept, or with the group left out said to be left out. 「実施率が２２％というのは…対象に
    個人事業主が含まれているからだ。法人企業のみを対象としたデータがあると…」 gives 22 % for all
    firms, and no number for 法人企業 alone."""
    known = _given_numbers(given)
    for sentence in _SENTENCE_END.split(nfkc(text)):
        if not {n.replace(",", "") for n in re.findall(_NUM, sentence)} - known:
            continue
        if any(g in sentence for g in kept) or (
            _EXCLUDED.search(sentence) and any(g in sentence for g in left_out)
        ):
            return True
    return False


def unmet_kinds(
    question: str,
    texts: list[str],
    dated: bool = False,
    named: list[bool] | None = None,
    replies: list[bool] | None = None,
) -> tuple[str, ...]:
    """The checked kinds the question asks for when none of ``texts`` (the statements an answer
    would cite) holds any of them; empty when the answer may be given. ``dated``: the
    statements come from dated meetings, which answers "when was it said"; ``named``: per
    text, whether its speaker is a named person or office (answers "which person");
    ``replies``: per text, whether it is a reply (checked only when given)."""
    if asks_decision(question) and not any(_HOLDS[DECIDED].search(nfkc(t)) for t in texts):
        return (DECISION,)
    if replies is not None and asks_response(question) and not any(replies):
        return (REPLY,)
    if asks_place(question) and not any(holds_place(t) for t in texts):
        return (PLACE,)
    person = wants_person(question)
    # "Who said / explained…" weighs in the judge (name_asked) but is not gated: "a member"
    # or 事務局 answers it (a training writer marked "who talked about…" answerable).
    asked = [k for k in VERIFIED if k in asked_kinds(question) and (k != NAME or person)]
    if not asked:
        return ()
    flags = named or [False] * len(texts)
    want = frozenset(asked)
    # Gated only when a person is wanted (above), so an office never counts as one here.
    held = set().union(
        *(held_kinds(t, n, want, person_only=True) for t, n in zip(texts, flags, strict=True))
    )
    counters = asked_counters(question)
    if AMOUNT in held and counters and not any(holds_counted(t, counters, question) for t in texts):
        held.discard(AMOUNT)
    kept, left_out = restricted_to(question)
    if (
        AMOUNT in held
        and (kept or left_out)
        and not any(stated_for(t, kept, left_out, question) for t in texts)
    ):
        held.discard(AMOUNT)
    if dated and _WHEN_SAID.search(nfkc(question)):
        held.add(WHEN)
    return () if held & set(asked) else tuple(asked)
