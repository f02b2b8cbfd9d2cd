"""Kinds of answer a question asks for (rag/asked.py), and whether a passage holds one."""

from __future__ import annotations

import pytest

from rag.asked import (
    AMOUNT,
    DECIDED,
    DECISION,
    NAME,
    ORG,
    PLACE,
    REPLY,
    WHEN,
    WHERE,
    WHO,
    asked_counters,
    asked_kinds,
    asks_decision,
    asks_place,
    asks_response,
    held_kinds,
    holds_counted,
    holds_place,
    restricted_to,
    stated_for,
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
        # a target set for a number is a number; numerical target *items* are not
        ("What target did the city set for the number of smartphone users?", {AMOUNT}),
        ("What numeric target was set for smartphone users?", {AMOUNT}),
        ("What did members say about the numerical targets of the strategy?", set()),
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


@pytest.mark.parametrize(
    ("text", "question", "holds"),
    [
        ("パラ応援大使が四十七名もいる", "大使は何人いる？", True),  # 名 answers 何人
        ("都内では、現在わずか十六カ所", "ステーションは何か所ある？", True),
        ("平成三十年度は一〇・六％", "取得率は何パーセント？", True),
        ("約八万人を対象にプレテスト", "何人くらいが受けるの？", True),
        ("予算は５億円を計上", "予算は何億円？", True),
        ("人材を３つのタイプに分ける", "何種類に分けた？", True),
        ("行政ＤＸ推進リーダーを１００人つくる", "何種類に分けた？", False),  # counts people
        ("「生産性向上」など３つの項目", "実施率は何％？", False),
        ("テレワーク実施率が２２％", "実施率は何回？", False),
    ],
)
def test_a_how_many_question_is_answered_by_its_counter(text, question, holds):
    assert holds_counted(text, asked_counters(question)) is holds


def test_a_number_counting_something_else_does_not_answer_how_many():
    q = "行政DX推進リーダーの人材の類型化では、何種類に分けた？"
    leaders = ["行政ＤＸ推進リーダーを１００人つくる取り組みで人材の類型化をしていく"]
    assert unmet_kinds(q, leaders) == (AMOUNT,)
    assert unmet_kinds("行政DX推進リーダーは何人つくる取り組み？", leaders) == ()
    assert asked_counters("データ連携基盤はいつ稼働する？") == ()
    # No counter named ("how many", いくつ): any counted number still answers.
    assert unmet_kinds("How many leaders will be trained?", leaders) == ()


@pytest.mark.parametrize(
    ("text", "question", "holds"),
    [
        # What is counted names the counter when no 何＋counter does.
        ("オープンデータを３００件公開", "公開したオープンデータの件数は？", True),
        ("市内企業のテレワーク実施率が２２％", "調査で回答した企業の数は？", False),
        ("回答した企業は１２０社", "調査で回答した企業の数は？", True),
        ("二〇二〇年度は百五十八億の予算を計上", "二〇二〇年度の予算はいくら？", True),
        ("リーダーを１００人つくる", "リーダー育成の予算はいくら？", False),
        ("GDPは100億ドル", "GDPはいくら？", True),
        ("人口の約8割が農業に従事", "人口比率は？", True),  # the head noun: a rate
        ("定着するのは10分の1", "What survival rate did a member think was realistic?", True),
        ("出席者は１５名", "How many members attended the meeting?", True),
        ("推進会議 第２回", "How many members attended the meeting?", False),
        # A number the question already gives is not the answer.
        ("道内179市町村のデータ", "How many of the 179 municipalities have finished?", False),
        ("179市町村のうち35団体が完了", "179市町村のうち何団体が終えた？", True),
    ],
)
def test_a_count_question_is_answered_by_what_it_counts(text, question, holds):
    assert holds_counted(text, asked_counters(question), question) is holds


def test_a_target_a_year_and_a_university_are_asked_for():
    assert AMOUNT in asked_kinds("「生産性向上」の目標値は？")
    assert AMOUNT in asked_kinds("What target number of smartphone users was set?")
    assert AMOUNT in asked_kinds("What share of incorporated companies use telework?")
    assert WHEN in asked_kinds("ロードマップの最終目標年は？")
    assert ORG in asked_kinds("Which university delivers the programme?")
    assert ORG in asked_kinds("その委員の所属は？")
    # A value as worth, and a topic that only mentions a budget, ask for no figure.
    assert not asked_kinds("Should the reports show what value the projects delivered?")
    assert asked_counters("予算について委員の意見は？") == ()
    assert unmet_kinds("人材育成の教育プログラムを実施する大学の名前は？", ["高校生の頃から"]) == (
        ORG,
    )


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


@pytest.mark.parametrize(
    ("question", "asks"),
    [
        ("成果指標に「スマホの利用者数」を加えることは正式に決まったのか？", True),
        ("中小企業向けの勉強会を道庁が開催することは決定したのか？", True),
        ("Did Hokkaido officially decide to adopt FIWARE?", True),
        ("Was the FY2023 plan approved?", True),
        ("決定した方針について委員は何と言った？", False),  # the decision is the topic
        ("What did members say about the decided plan?", False),
    ],
)
def test_asks_decision(question, asks):
    assert asks_decision(question) is asks


@pytest.mark.parametrize(
    ("question", "asks"),
    [
        ("データ連携基盤について事務局は何と答えた？", True),
        ("市町村ごとの差について尋ねられた事務局の答えは？", True),
        ("引っ越し時のデータ引継ぎについて、北海道庁はどう応じた？", True),
        ("How did Sapporo city officials respond to the experts' comments?", True),
        ("事務局の回答を受けて、委員はどう応じた？", False),  # a member responds
        ("What did the member say after the secretariat answered?", False),
        ("アンケートの回答数は何件？", False),  # a survey's answers
        ("When will the AI service that answers questions start?", False),
        ("データ連携基盤について委員の見解は？", False),
    ],
)
def test_asks_response(question, asks):
    assert asks_response(question) is asks


def test_a_decision_or_a_reply_is_checked_only_when_asked():
    suggestion = ["成果指標に「スマホの利用者数」があってもよいのではないか。"]
    q = "成果指標に「スマホの利用者数」を加えることは正式に決まったのか？"
    assert unmet_kinds(q, suggestion) == (DECISION,)
    assert unmet_kinds(q, ["成果指標に加えることが承認された。"]) == ()
    r = "データ連携基盤について事務局は何と答えた？"
    assert unmet_kinds(r, suggestion, replies=[False]) == (REPLY,)
    assert unmet_kinds(r, suggestion, replies=[True]) == ()
    assert unmet_kinds(r, suggestion) == ()  # no reply information given: not checked
    assert unmet_kinds("スマホの利用者数について委員の意見は？", suggestion, replies=[False]) == ()


@pytest.mark.parametrize(
    ("text", "holds"),
    [
        ("旭川市で実証実験を行った", True),
        ("上士幌町が先行している", True),
        ("八王子市内で", True),
        ("北海道全体の市町村で", False),  # no town is named
        ("各市町村の取組", False),
        ("市民が一番課題に感じていること", False),
        ("多摩地域にも相談拠点を新たに開設", False),
        ("区市町村と連携して", False),
    ],
)
def test_holds_place(text, holds):
    assert holds_place(text) is holds


def test_which_town_needs_a_named_town():
    q = "自動運転の実証実験は道内のどの市町村で行われた？"
    assert asks_place(q) and asks_place("Which towns are testing autonomous driving?")
    assert not asks_place("市はどこと組むべきとされた？")  # a partner, not a place
    drones = ["例えば自動運転やドローンなど、北海道だからこそできることがある。"]
    assert unmet_kinds(q, drones) == (PLACE,)
    assert unmet_kinds(q, ["上士幌町で自動運転バスの実証を行った。"]) == ()


TELEWORK = (
    "市内企業のテレワーク実施率が２２％というのは高い数字だが、対象に個人事業主が含まれているから"
    "だと考えられる。法人企業のみを対象としたデータがあると実態が明確になるだろう。"
)


@pytest.mark.parametrize(
    ("question", "kept", "left_out"),
    [
        ("法人企業のみを対象とした場合のテレワーク実施率は何％？", ("法人企業",), ()),
        ("法人企業だけに絞った実施率は？", ("法人企業",), ()),
        ("個人事業主を除いた実施率は何％？", (), ("個人事業主",)),
        # not a restriction: 「…だけでなく」「…だけでは」
        ("国内だけでなく海外で売れた台数は？", (), ()),
        ("講義だけでは身につかないという意見は？", (), ()),
    ],
)
def test_restricted_to(question, kept, left_out):
    assert restricted_to(question) == (kept, left_out)


def test_a_number_for_one_group_must_be_stated_for_that_group():
    # 22 % is stated for all firms (個人事業主 included); 法人企業 alone gets no number.
    q = "法人企業のみを対象とした場合、札幌市内のテレワーク実施率は何％か。"
    assert unmet_kinds(q, [TELEWORK])
    assert unmet_kinds("個人事業主を除いたテレワーク実施率は何％？", [TELEWORK])
    assert not unmet_kinds("札幌市内企業のテレワーク実施率は何％か。", [TELEWORK])
    stated = "法人企業のみを対象とした場合、実施率は１５％だった。"
    assert not unmet_kinds(q, [stated])
    assert not unmet_kinds("個人事業主を除いた実施率は何％？", ["個人事業主を除くと１５％になる。"])
    # the number the question itself gives is no answer
    assert not stated_for(
        "法人企業のみで２２％", ("法人企業",), (), given="２２％のうち法人企業のみは？"
    )
