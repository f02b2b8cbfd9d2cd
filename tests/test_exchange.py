"""Question and answer segments of verbatim records (rag/exchange.py): where a member's speech is
cut into questions, and which question each answer segment is linked to."""

from __future__ import annotations

from pathlib import Path

from rag.exchange import split_question
from rag.ingest import read_document
from rag.parse import parse_document

FIXTURE = Path(__file__).resolve().parent / "data" / "verbatim_segments.txt"


def cut(*texts: str) -> list[list[int]]:
    return [[no for no, _ in seg] for seg in split_question(list(enumerate(texts, 1)))]


def test_the_last_question_asked_while_closing_is_a_question() -> None:
    # 「…見解を伺い、質問を終わります。」 used to join the question before it
    assert cut(
        "まず、環境について伺います。",
        "対策を進めるべきですが、見解を伺います。",
        "最後に、江戸城再建について知事の見解を伺い、質問を終わります。",
    ) == [[1, 2], [3]]
    assert cut(
        "対策を進めるべきですが、見解を伺います。",
        "背景です。",
        "都の見解をお伺いし、一般質問を終了いたします。",
        "ご清聴ありがとうございました。",  # closing remarks stay with the last question
    ) == [[1], [2, 3, 4]]


def test_an_item_that_asks_nothing_is_not_merged_into_the_next_question() -> None:
    assert cut(
        "次に、都所有施設の貸し出しについてです。",
        "手付金を返還する等の対応を要望しておきます。",
        "次に、自転車の安全運転講習について伺います。",
        "危険な運転が目につきます。",
        "講習を義務づけるべきと考えますが、見解を伺います。",
    ) == [[1, 2], [3, 4, 5]]


def test_sokode_short_ask_ends_a_question() -> None:
    # 「そこで、…について伺います。」 is an ask, not the heading of the next question
    assert cut(
        "次に、教育環境の整備について質問します。",
        "人工呼吸器を使用する児童生徒は専用バスに乗れません。",
        "そこで、特別支援学校における今後の取り組みについて伺います。",
        "また、医療的ケアが必要な生徒への支援が求められています。",
        "そこで、都立高校における都の取り組みを伺います。",
    ) == [[1, 2, 3], [4, 5]]
    assert cut(
        "人工呼吸器を使用する児童生徒は専用バスに乗れません。",
        "そこで、特別支援学校での医療的ケアについて伺います。",
        "また、医療的ケアが必要な生徒への支援が求められています。",
        "そこで、都立高校における都の取り組みを伺います。",
    ) == [[1, 2], [3, 4]]


def test_short_asks_after_background() -> None:
    # 「…の取り組みについてお伺いいたします。」 after background asks; a bare topic opens
    assert cut(
        "子育て支援について伺います。",
        "妊産婦の死亡原因のトップは自殺です。",
        "産前鬱を防ぐために、都はどのような取り組みを行っているのか伺います。",
        "出産後、生活は一変します。",
        "産後の支援を進めるための都の取り組みについてお伺いいたします。",
        "産後鬱を防ぐには早期発見が重要です。",
        "産婦健康診査事業の目的と取り組みについてお伺いいたします。",
    ) == [[1, 2, 3], [4, 5], [6, 7]]
    # after the item's own heading, a short 「…について伺います。」 without a lead-in is its ask
    assert cut(
        "次に、タンデム自転車についてお伺いします。",
        "二十五道府県では一般公道の走行が解放されています。",
        "東京都における一般公道走行の検討の可能性について伺います。",
        "自転車道の整備も要望し、質問を終わります。",
    ) == [[1, 2, 3, 4]]


def test_group_heading_stays_with_its_first_question() -> None:
    assert cut(
        "次に、シルバーパスについてお伺いいたします。",
        "まず、パスのICカード化について伺います。",
        "ICカード化を進めるべきですが、都の答弁を求めます。",
        "次に、自己負担のあり方について伺います。",
        "資産状況も加味すべきと考えますが、都の見解をお伺いいたします。",
    ) == [[1, 2, 3], [4, 5]]
    assert cut(
        "最後に、練馬城址公園、としまえんの跡地利用についてお伺いいたします。",
        "としまえんは段階的に閉園し、跡地は公園として整備されます。",
        "まず、練馬城址公園についてお伺いいたします。",
        "都としてどのように計画に反映するのか、答弁を求めます。",
    ) == [[1, 2, 3, 4]]


def test_enumerated_points_stay_in_one_question() -> None:
    assert cut(
        "学校再開について申し上げます。",
        "第一に、学習の遅れを取り戻すことです。",
        "第二に、心のケアです。",
        "第三に、行事を安易に削減すべきではありません。以上、三点について認識と対応を伺います。",
    ) == [[1, 2, 3, 4]]


def test_answers_link_to_the_segment_that_asks() -> None:
    m = parse_document(read_document(FIXTURE))
    lines = FIXTURE.read_text("utf-8").split("\n")

    def at(prefix: str) -> int:
        return next(i for i, ln in enumerate(lines, 1) if ln.startswith(prefix))

    member = [s for s in m.statements if s.role == "議員"]
    assert [(s.start_line, s.end_line) for s in member] == [
        (at("○十四番"), at("　水と緑の拠点としての整備計画について")),
        (at("　最後に"), at("　水と緑の拠点としての整備計画を要望")),  # a request: asks nothing
    ]
    (answer,) = [s for s in m.statements if s.role == "説明員"]
    assert answer.answers_to == member[0].order  # both on the topic; only the first asks
