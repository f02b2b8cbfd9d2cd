"""Kinds of answer a question asks for (rag/asked.py), and whether a passage holds one."""

from __future__ import annotations

import pytest

from rag.asked import (
    AMOUNT,
    DECIDED,
    NAME,
    ORG,
    WHEN,
    WHERE,
    WHO,
    asked_kinds,
    held_kinds,
    unmet_kinds,
)


@pytest.mark.parametrize(
    ("question", "kinds"),
    [
        ("自動運転の実証実験の予算は？", {AMOUNT}),
        ("除雪費の予算額はいくらか", {AMOUNT}),
        ("市町村に派遣するアドバイザーは何人増やす方針？", {AMOUNT}),
        ("How many people attended the meeting?", {AMOUNT}),
        ("データ連携基盤の運用開始はいつから？", {WHEN}),
        ("When is the working group due to report?", {WHEN}),
        ("データ利活用ワーキンググループの座長は誰？", {WHO, NAME}),
        ("Which member made the remark about DX leaders?", {WHO, NAME}),
        ("FIWAREの採用を提案した委員の氏名は？", {WHO, NAME}),
        ("誰のためのデジタル化か議論された？", {WHO}),  # whom it is for: no one person asked
        ("２０４０年の高齢者人口は何万人と見込まれている？", {AMOUNT}),
        ("調査で回答した企業の数は？", {AMOUNT}),
        ("自動運転の実証はどこの市町村で行われた？", {WHERE}),
        ("Which company will build the platform?", {ORG}),
        ("FIWAREを採用することは正式に決まったのか", {DECIDED}),
        ("テレワークについて委員の意見は？", set()),
        ("What did members say about FIWARE?", set()),
    ],
)
def test_asked_kinds(question, kinds):
    assert asked_kinds(question) == kinds


def test_a_noun_asks_only_as_the_head_of_the_question():
    assert asked_kinds("費用の問題をどう扱うべきか") == set()  # cost is the topic here
    assert asked_kinds("お年寄りが最も多くなる時期を見据えた意見は？") == set()
    assert asked_kinds("少人数で地域を回す必要性を述べた委員は？") == set()


@pytest.mark.parametrize(
    ("text", "present", "absent"),
    [
        ("道のデータ棚卸しを179自治体でも連動して", {AMOUNT}, {WHEN}),
        ("テレワーク実施率が２２％というのは高い", {AMOUNT}, set()),
        ("２０４０年に高齢者人口がピークを迎える", {WHEN}, {AMOUNT}),
        ("日時：令和５年２月８日（水）13：30 ～ 15：30", {WHEN}, set()),
        ("アドバイザーの派遣など、もう少し拡充しなくてはいけない。", set(), {AMOUNT, WHEN}),
        ("一緒に取り組めて行ければいい", set(), {AMOUNT}),
        ("旭川市で実証実験を行った", {WHERE}, set()),
        ("札幌市ICT活用戦略について", set(), {WHERE}),  # naming a city is not a venue
        ("株式会社サンプルが構築する", {ORG}, set()),
        ("導入することが決定した", {DECIDED}, set()),
    ],
)
def test_held_kinds(text, present, absent):
    held = held_kinds(text)
    assert present <= held and not (absent & held)


def test_a_named_speaker_answers_who():
    assert WHO not in held_kinds("検査体制を拡充してまいります。")
    assert WHO in held_kinds("検査体制を拡充してまいります。", named_speaker=True)


@pytest.mark.parametrize(
    "question",
    [
        "What mechanism did an expert propose for residents who are good with IT?",
        "What did an expert say about handing over data when residents move?",
        "What did an expert suggest about how much of the city's internal data could be public?",
        "情報を出し合うルールづくりで、どこから手を付けるべきと言われた？",
    ],
)
def test_relative_clauses_and_idioms_ask_nothing(question):
    assert asked_kinds(question) == set()


def test_wh_words_ask_at_a_clause_head_or_after_a_verb_of_saying():
    assert asked_kinds("Did the secretariat say when the platform opens?") == {WHEN}
    assert asked_kinds("Where was the meeting held?") == {WHERE}
    assert asked_kinds("データ取引市場を運営している事業者はどこ？") == {ORG}
    assert asked_kinds("職員の残業時間の削減目標は何時間か") == {AMOUNT}


def test_unmet_kinds():
    q = "市町村に派遣するアドバイザーは何人増やす方針？"
    assert unmet_kinds(q, ["アドバイザーの派遣など、もう少し拡充しなくてはいけない。"]) == (AMOUNT,)
    assert unmet_kinds(q, ["アドバイザーを３人増やす"]) == ()
    assert unmet_kinds("テレワークについて委員の意見は？", ["無関係な文"]) == ()
    assert unmet_kinds("誰がFIWAREに触れた？", ["FIWAREを使う"]) == ()  # "who" is not checked
    said = "When did a member mention FIWARE?"
    assert unmet_kinds(said, ["FIWAREを使う"]) == (WHEN,)
    assert unmet_kinds(said, ["FIWAREを使う"], dated=True) == ()  # the meeting's date answers it
    assert unmet_kinds("When will the platform start?", ["基盤を作る"], dated=True) == (WHEN,)


def test_which_person_needs_a_person_and_who_explained_takes_an_office():
    office = ["事務局（北海道）から説明（資料１）"]
    member = ["データ連携基盤については大事なことが２点ある"]  # a summary's anonymous 委員
    assert unmet_kinds("会議の進め方について説明したのは誰？", office) == ()
    # "Who said / explained…" is not gated: "a member", 事務局 answer it.
    assert unmet_kinds("会議の進め方について説明したのは誰？", member) == ()
    assert unmet_kinds("Who talked about the data exchange market?", member) == ()
    for q in ("データ利活用ワーキンググループの座長は誰？", "Which member raised data models?"):
        assert unmet_kinds(q, office) == (NAME,)  # an office is not the chair / a member
        assert unmet_kinds(q, member) == (NAME,)
        assert unmet_kinds(q, member, named=[True]) == ()  # 三宅しげき議員: a named speaker
    # A person's name the dictionary knows, without an honorific (JSQuAD-like text).
    assert unmet_kinds("日本共産党の委員長の名前は？", ["委員長には不破哲三が就いた"]) == ()
