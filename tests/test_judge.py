"""The relevance judge: question understanding, passage features, the shipped model file, and
(slow) its verdicts on real minutes through the real embedding model (nothing mocked)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pytest

from rag.judge import (
    DECISION_FEATURES,
    FEATURES,
    KINDS,
    MODEL_FILE,
    QuestionView,
    contains,
    decision_row,
    load_model,
    model_from_json,
    names_no_topic_word,
    passage_features,
    question_view,
    term_stats,
    topic_absent,
)
from rag.question import asks_reply, judge_terms, numbers
from rag.text import squash
from rag.types import Chunk, Hit


def _chunk(order: int, text: str, role: str = "委員", label: str | None = None) -> Chunk:
    return Chunk(
        id=f"m:{order}:0",
        meeting_id="m",
        file="m.txt",
        title="第1回 会議",
        text=text,
        index_text=text,
        role=role,
        start_line=order,
        end_line=order,
        order=order,
        role_label=label,
    )


@dataclass
class _Index:
    chunks: list[Chunk] = field(default_factory=list)


CHUNKS = [
    _chunk(1, "FIWAREを活用したデータ連携基盤の整備を進めるべきだ。"),
    _chunk(2, "市内企業のテレワーク実施率が２２％というのは高い数字だ。"),
    _chunk(3, "２０４０年を見据えた人材育成が必要である。"),
    _chunk(4, "都としては検査体制を拡充してまいります。", role="首長", label="知事"),
]


def test_numbers_are_read_in_every_writing():
    assert numbers("２０４０年") == numbers("2040年") == numbers("二〇四〇年") == {"2040"}
    assert numbers("三十五件、1,200人") == {"35", "1200"}


def test_english_questions_are_judged_on_their_japanese_terms():
    terms = judge_terms("What did members say about telework?")
    assert "テレワーク" in terms and "telework" not in terms
    assert "fiware" in judge_terms("What did members say about FIWARE?")  # a name stays


def test_english_function_words_and_verbs_of_saying_are_no_topic():
    # No Japanese passage holds "according" or "responded": as topic words they would make
    # every English question look like one on a topic the minutes lack.
    terms = judge_terms("According to one member, how did officials respond on telework?")
    assert terms == ["テレワーク"]
    assert judge_terms("What was reported about drones at the second meeting?") == ["ドローン"]


def test_reply_questions_are_recognised():
    assert asks_reply("検査体制について知事の答弁は？")
    assert asks_reply("What did the governor answer on testing?")
    assert not asks_reply("テレワークについて委員の意見は？")


def test_contains_counts_long_compounds_by_bigrams():
    assert contains("fiware", "fiwareを活用") == 1.0
    assert contains("市民意識調査", "市民意識の変化") > 0.5
    assert contains("気候変動", "テレワーク実施率") == 0.0


def test_term_stats_idf_and_unknown_words():
    idf, known = term_stats(_Index(CHUNKS), ["fiware", "気候変動"])
    assert known == [True, False]
    assert idf[1] > idf[0] > 0  # absent words are the rarest


def test_term_stats_count_only_the_minutes_in_scope():
    # A word found only in a meeting the question is not asked of is unknown to it.
    scope = np.array([False, True, True, True])
    _idf, known = term_stats(_Index(CHUNKS), ["fiware", "テレワーク"], scope)
    assert known == [False, True]


def _view(question: str, terms: list[str], roles=(), reply=False) -> QuestionView:
    idf, known = term_stats(_Index(CHUNKS), terms)
    return QuestionView(
        text=question,
        terms=tuple(terms),
        idf=tuple(idf),
        known=tuple(known),
        is_en=False,
        numbers=frozenset(numbers(question)),
        roles=tuple(roles),
        reply=reply,
        mean_cos=0.8,
    )


def test_a_named_topic_the_minutes_never_mention_is_absent():
    assert topic_absent(_view("気候変動について委員の意見は？", ["気候変動"]))
    assert topic_absent(_view("学校給食の無償化について", ["学校給食", "無償化"]))
    # Any word of it in a passage or a meeting title: the topic may be there.
    assert not topic_absent(_view("テレワークと気候変動について", ["テレワーク", "気候変動"]))
    assert not topic_absent(_view("推進会議の会場は？", ["推進会議"]), titles="society5.0推進会議")
    # Everyday words a paraphrase uses (計画, 世代) and long questions are left to the judge.
    assert not topic_absent(_view("この計画で暮らしは良くなる？", ["計画"]))
    assert not topic_absent(_view("…", ["介護保険料", "引上げ幅", "地域差"]))


def _hits(*pairs: tuple[Chunk, float]) -> list[Hit]:
    return [
        Hit(chunk=c, score=0.0, rank=r, dense_score=cos, bm25_score=1.0, dense_rank=r, bm25_rank=r)
        for r, (c, cos) in enumerate(pairs, 1)
    ]


def test_a_passage_naming_none_of_an_unknown_topic_is_not_on_it():
    view = _view(
        "オリンピック招致の人材育成について委員の意見は？", ["オリンピック", "招致", "人材育成"]
    )
    assert names_no_topic_word(view, CHUNKS[1])  # telework: none of the topic's words
    assert not names_no_topic_word(view, CHUNKS[2])  # 人材育成: part of the topic
    known = _view("テレワークの人材育成について委員の意見は？", ["テレワーク", "人材育成"])
    assert not names_no_topic_word(known, CHUNKS[0])  # every word is known to the minutes


def test_an_english_question_naming_the_meeting_keeps_only_its_topic_words():
    from rag.types import Meeting

    @dataclass
    class Named(_Index):
        vectors: np.ndarray = field(default_factory=lambda: np.zeros((4, 2)))
        meetings: dict = field(default_factory=dict)

    meeting = Meeting(
        id="sapporo-ict-2", file="corpus/sapporo-ict-2.txt", title="札幌市 会議", statements=()
    )
    index = Named(CHUNKS, meetings={meeting.id: meeting})
    q = "What was the telework rate of Sapporo companies?"
    view = question_view(index, q, qvec=np.zeros(2))
    assert "sapporo" not in view.terms and "テレワーク" in view.terms
    assert all(view.known)  # nothing left that the minutes lack
    # Without that meeting, "sapporo" is a word the minutes lack.
    assert "sapporo" in question_view(Named(CHUNKS), q, qvec=np.zeros(2)).terms


def test_passage_features_read_the_passage():
    view = _view("2040年の人材育成について", ["2040", "人材育成"])
    rows = passage_features(view, _hits((CHUNKS[2], 0.86), (CHUNKS[1], 0.84)))
    f = [dict(zip(FEATURES, row, strict=True)) for row in rows]
    assert f[0]["cov"] == 1.0 and f[1]["cov"] == 0.0
    assert f[0]["num_hit"] == 1.0 and f[1]["num_hit"] == 0.0
    assert f[0]["rare_in"] == 1.0 and f[1]["rare_in"] == 0.0
    assert f[0]["gap"] == 0.0 and f[1]["gap"] < 0
    assert abs(f[0]["lift"] - 0.06) < 1e-9


def test_late_interaction_features_are_relative_to_the_best_candidate():
    from dataclasses import replace

    view = _view("人材育成について", ["人材育成"])
    hits = _hits((CHUNKS[2], 0.86), (CHUNKS[1], 0.84), (CHUNKS[0], 0.8))
    hits = [replace(h, late=v) for h, v in zip(hits, [(0.5, 0.3), (0.7, 0.2), None], strict=True)]
    f = [dict(zip(FEATURES, row, strict=True)) for row in passage_features(view, hits)]
    assert [round(x["late_gap"], 6) for x in f] == [-0.2, 0.0, -0.7]  # no score reads as 0
    assert [round(x["late_q25_gap"], 6) for x in f] == [0.0, -0.1, -0.3]


def test_reply_and_speaker_features():
    view = _view("検査体制について知事の答弁は？", ["検査体制", "知事", "答弁"], reply=True)
    rows = passage_features(view, _hits((CHUNKS[3], 0.85), (CHUNKS[0], 0.8)))
    f = [dict(zip(FEATURES, row, strict=True)) for row in rows]
    assert f[0]["reply_match"] == 1.0 and f[0]["speaker_hit"] == 1.0
    assert f[1]["reply_match"] == 0.0 and f[1]["speaker_hit"] == 0.0


def test_answer_kind_features_need_the_kind_in_the_passage():
    view = _view("テレワーク実施率はいつ調べた何％か", ["テレワーク実施率"])
    budget = _chunk(5, "予算は３億円を計上した。")
    rows = passage_features(view, _hits((CHUNKS[1], 0.86), (budget, 0.8), (CHUNKS[0], 0.8)))
    f = [dict(zip(FEATURES, row, strict=True)) for row in rows]
    assert all(x["when_asked"] == 1.0 and x["amount_asked"] == 1.0 for x in f)
    assert f[0]["amount_missing"] == 0.0 and f[0]["when_missing"] == 1.0  # 22% but no date
    assert f[1]["amount_missing"] == 0.0
    assert f[2]["amount_missing"] == 1.0 and f[2]["who_asked"] == 0.0
    assert [x["log_frank"] for x in f] == sorted(x["log_frank"] for x in f)


def test_exchange_partner_features_link_a_reply_and_its_question():
    view = _view("検査体制について知事の答弁は？", ["検査体制"], reply=True)
    question = _chunk(7, "検査体制の充実について知事の見解を伺います。", role="議員")
    reply = replace(CHUNKS[3], order=8, answers_to=7)
    rows = passage_features(view, _hits((question, 0.9), (reply, 0.8), (CHUNKS[0], 0.7)))
    f = [dict(zip(FEATURES, row, strict=True)) for row in rows]
    assert abs(f[1]["partner_gap"] - 0.0) < 1e-9  # the reply's question is the best candidate
    assert abs(f[0]["partner_gap"] - (0.8 - 0.9)) < 1e-9
    assert f[0]["partner_cov"] == 1.0 and f[1]["partner_cov"] == 1.0
    assert f[2]["partner_gap"] == -1.0 and f[2]["partner_cov"] == 0.0  # no exchange


def test_a_partner_outside_the_candidates_still_counts():
    # 「知事は何と答えたか」 filters to the governor: the member's question is no candidate,
    # but retrieval hands it over with its cosine, and its words say what the reply is about.
    view = _view("検査体制について知事の答弁は？", ["検査体制"], reply=True)
    question = _chunk(7, "検査体制の充実について知事の見解を伺います。", role="議員")
    reply = replace(CHUNKS[3], order=8, answers_to=7)
    (hit,) = _hits((reply, 0.8))
    alone = dict(zip(FEATURES, passage_features(view, [hit])[0], strict=True))
    linked = replace(hit, partners=((question, 0.9),))
    f = dict(zip(FEATURES, passage_features(view, [linked])[0], strict=True))
    assert alone["partner_gap"] == -1.0 and alone["partner_cov"] == 0.0
    assert abs(f["partner_gap"] - (0.9 - 0.8)) < 1e-9 and f["partner_cov"] == 1.0


@pytest.mark.slow
def test_retrieval_hands_over_the_partner_a_role_filter_hides(corpus_index):
    from rag.retrieve import search
    from rag.types import Filters, expand_roles

    hits = search(
        corpus_index,
        "データ連携基盤は市町村も利用できるのか",
        k=20,
        filters=Filters(roles=expand_roles(["事務局"])),
        rerank=False,
    )
    reply = next(h for h in hits if "市町村も使える形" in h.chunk.text)
    assert reply.chunk.answers_to is not None
    assert [c.order for c, _ in reply.partners] == [reply.chunk.answers_to]
    ((member, cos),) = reply.partners
    assert member.role != "事務局" and -1.0 <= cos <= 1.0


def test_shipped_model_scores_its_data_card_sample_as_recorded():
    """The committed model file loads offline and reproduces the scores its training run
    recorded for a sample of its dev rows (the data card's check)."""
    model = load_model(MODEL_FILE)
    assert model.features == FEATURES
    assert 0.0 < model.cite_threshold < 1.0 and 0.0 < model.answer_threshold < 1.0
    sample = model.meta["sample"]
    assert len(sample) >= 8
    got = model.predict(np.array([s["x"] for s in sample]))
    assert np.allclose(got, [s["p"] for s in sample], atol=1e-5)
    assert model.answer_model is not None  # the answer decision's own model loads too
    decide = model.answerability(np.array([s["x"] for s in sample]))
    assert np.allclose(decide, [s["a"] for s in sample], atol=1e-5)
    # ... and the question-level decision its question rows
    assert model.decision_model is not None
    assert model.decision_model.features == DECISION_FEATURES
    rows = model.meta["decision_sample"]
    assert len(rows) >= 6 and 0.0 < model.decision_model.answer_threshold < 1.0
    got = model.decision_model.predict(np.array([s["x"] for s in rows]))
    assert np.allclose(got, [s["p"] for s in rows], atol=1e-5)
    assert len({round(float(v), 3) for v in got}) > 1  # the rows are told apart


def test_decision_row_reads_how_the_probabilities_spread():
    view = _view("2040年の人材育成について", ["2040", "人材育成"])
    hits = _hits((CHUNKS[2], 0.86), (CHUNKS[1], 0.84), (CHUNKS[0], 0.8))
    rows = passage_features(view, hits)
    answer = np.array([0.2, 0.6, 0.01])
    relevance = np.array([0.9, 0.3, 0.05])
    d = dict(zip(DECISION_FEATURES, decision_row(rows, relevance, answer), strict=True))
    assert (d["answer_1"], d["answer_2"], d["answer_3"]) == (0.6, 0.2, 0.01)
    assert (d["relevance_1"], d["relevance_2"]) == (0.9, 0.3)
    assert d["n_answer_05"] == 2 and d["n_relevance_10"] == 2
    assert abs(d["answer_log_ratio"] - (np.log(0.6001) - np.log(0.2001))) < 1e-9
    # the best answer candidate is the second hit
    assert d["cos_top"] == 0.84 and d["cos_max"] == 0.86
    assert d["idf_cov_top"] == rows[1, FEATURES.index("idf_cov")]
    assert d["num_q"] == 1.0 and d["n_terms"] == 2
    assert all(d[f"{k}_missing_top"] == rows[1, FEATURES.index(f"{k}_missing")] for k in KINDS)
    # one candidate: the missing places score 0
    one = decision_row(rows[:1], relevance[:1], answer[:1])
    assert dict(zip(DECISION_FEATURES, one, strict=True))["answer_2"] == 0.0


def test_a_model_with_other_features_is_refused():
    import json

    data = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    data["features"] = [*data["features"][:-1], "something_else"]
    with pytest.raises(Exception, match="train_judge"):
        model_from_json(data)


def test_shipped_model_prefers_the_passage_that_answers():
    model = load_model()
    view = _view(
        "テレワーク実施率について委員の意見は？", ["テレワーク", "実施率"], roles=("委員",)
    )
    rows = passage_features(view, _hits((CHUNKS[1], 0.86), (CHUNKS[0], 0.85)))
    p = model.predict(rows)
    assert p[0] > p[1]


# --- slow: the real model on the real minutes ---------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "question",
    [
        "What did members say about climate change?",
        "学校給食の無償化について委員の意見は？",
        "札幌オリンピック招致の予算について委員の意見は？",
        pytest.param(
            "自治体職員の給与について委員は何と言ったか",
            marks=pytest.mark.xfail(
                reason="near miss: a member's remark on personnel systems (人事制度) still "
                "scores above the answer threshold; the judge does not read what is asked"
            ),
        ),
    ],
)
def test_questions_the_minutes_cannot_answer_are_refused(corpus_index, question):
    from rag.answer import answer

    a = answer(question, corpus_index, settings=corpus_index.settings)
    assert not a.found and not a.citations, a.text


@pytest.mark.slow
def test_members_on_data_platform_are_all_cited(corpus_index):
    """「データ連携基盤について委員の意見は？」: every cited statement is a member's, several are
    cited (not the old top one or two), each with the judge's probability. Four member
    statements name データ連携基盤 verbatim; today three reach the cite threshold."""
    from rag.answer import answer

    a = answer("データ連携基盤について委員の意見は？", corpus_index, settings=corpus_index.settings)
    assert a.found
    assert len(a.citations) >= 3, a.text
    assert sum("データ連携基盤" in squash(c.chunk.text) for c in a.citations) >= 3
    assert {c.chunk.role for c in a.citations} == {"委員"}
    assert all(c.relevance is not None for c in a.citations)


def _train_judge():
    import importlib
    import sys

    sys.path.insert(0, str(MODEL_FILE.parents[2] / "scripts"))
    return importlib.import_module("train_judge")


def _scored(tj, source: str, answerable: list[float], unanswerable: list[float]):
    def group(p: float, ok: bool):
        g = tj.Group(
            qid=f"{source}{p}{ok}", source=source, split="fit", answerable=ok,
            X=np.zeros((1, 1)), y=np.array([ok]),
        )  # fmt: skip
        return (np.array([p]), g)

    return [group(p, True) for p in answerable] + [group(p, False) for p in unanswerable]


def test_answer_threshold_rule_separates_and_follows_the_shares():
    """scripts/train_judge.py's rule: the bootstrap median of the best balance threshold lies
    between separated answerable and unanswerable scores, and a source with no share does not
    move it."""
    tj = _train_judge()
    rng = np.random.default_rng(1)
    ans, una = rng.uniform(0.6, 0.9, 40), rng.uniform(0, 0.3, 40)
    minutes = _scored(tj, "minutes", list(ans), list(una))
    t = tj.choose_answer_threshold(minutes, {"minutes": 1.0})
    assert una.max() < t <= ans.min()
    # A second source whose answerable questions score low pulls the threshold down only when
    # it has a share of the weight.
    other = _scored(tj, "tokyo", list(rng.uniform(0.05, 0.25, 40)), list(rng.uniform(0, 0.05, 40)))
    assert tj.choose_answer_threshold(minutes + other, {"minutes": 1.0, "tokyo": 0.0}) == t
    assert tj.choose_answer_threshold(minutes + other, {"minutes": 0.5, "tokyo": 0.5}) < t
