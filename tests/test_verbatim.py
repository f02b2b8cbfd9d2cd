"""The verbatim-record recogniser (rag/formats/verbatim.py) on a hand-made record in the Tokyo
Metropolitan Assembly's shape, and the done criteria of issue #8 on the real tokyo2020 records."""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest

from rag.chunk import chunk_meeting
from rag.config import Settings
from rag.dates import kanji_to_int, parse_date
from rag.exchange import exchange_of, split_answer, split_question
from rag.formats import summary, verbatim
from rag.formats.common import clean_line, who
from rag.ingest import read_document
from rag.parse import parse_document
from rag.types import Meeting, Statement, make_filters

DATA = Path(__file__).resolve().parent / "data"
FIXTURE = DATA / "verbatim_tokyo.txt"
TOKYO = Path(__file__).resolve().parents[1].parent / "shared" / "bench" / "tokyo2020" / "docs"


def raw_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split("\n")


def line_no(path: Path, startswith: str) -> int:
    return next(i for i, ln in enumerate(raw_lines(path), 1) if ln.startswith(startswith))


@pytest.fixture(scope="module")
def tokyo() -> Meeting:
    return parse_document(read_document(FIXTURE))


def spoken(m: Meeting) -> list[Statement]:
    return [s for s in m.statements if s.kind != "meta"]


# --- dates and names ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "n"),
    [
        ("一", 1),
        ("十", 10),
        ("二十六", 26),
        ("百十六", 116),
        ("二〇二〇", 2020),
        ("元", 1),
        ("１２", 12),
    ],
)
def test_kanji_to_int(text: str, n: int) -> None:
    assert kanji_to_int(text) == n


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("令和二年二月二十六日（水曜日）", "2020-02-26"),
        ("令和元年十二月十一日付託", "2019-12-11"),
        ("平成三十一年四月三十日", "2019-04-30"),
        ("昭和六十四年一月七日", "1989-01-07"),
        ("令和二年二月三十日", None),
    ],
)
def test_kanji_dates(text: str, iso: str | None) -> None:
    assert parse_date(text) == iso


def test_diet_minister_names() -> None:
    assert who("石破国務大臣") == ("説明員", "国務大臣", "石破")
    assert who("山田委員") == ("委員", "委員", "山田")
    assert who("副知事")[:2] == ("首長", "副知事")


# --- recogniser choice -------------------------------------------------------------------------


def test_detect_claims_only_verbatim_records() -> None:
    lines = [clean_line(i, x) for i, x in enumerate(raw_lines(FIXTURE), 1)]
    assert "seat numbers" in (verbatim.detect(lines) or "")
    committee = [clean_line(i, x) for i, x in enumerate(raw_lines(DATA / "verbatim_assembly.txt"))]
    assert verbatim.detect(committee) is None  # ◆◎△ committee records stay with summary
    assert summary.detect(committee)


def test_meeting_fields(tokyo: Meeting) -> None:
    assert tokyo.doc_kind == "verbatim" and tokyo.format_reason.startswith("verbatim:")
    assert tokyo.title == "令和二年東京都議会会議録第二号"  # the title line only, no 〔速報版〕
    assert tokyo.date == "2020-02-26"
    assert (tokyo.issue_number, tokyo.meeting_number, tokyo.session) == (2, 1, "定例会")
    assert tokyo.agenda == ("第一 第一号議案 令和二年度東京都一般会計予算",)


def test_attendance_is_facts_not_statements(tokyo: Meeting) -> None:
    present = {a.name: a for a in tokyo.attendance if a.status == "出席"}
    assert set(present) == {"古城まさお", "平慶翔", "増子ひろき"}
    assert present["増子ひろき"].seat == 116
    (absent,) = [a for a in tokyo.attendance if a.status == "欠席"]
    assert (absent.name, absent.seat) == ("三宅しげき", 101)
    officials = {a.name: a.role_label for a in tokyo.attendance if a.status == "説明員"}
    assert officials == {"小池百合子": "知事", "長谷川明": "副知事", "内藤淳": "福祉保健局長"}
    # ... and citable meeting facts, each with its own lines.
    meta = {s.role_label: s for s in tokyo.statements if s.kind == "meta"}
    assert "百一番 三宅しげき" in meta["欠席議員"].text
    assert meta["欠席議員"].start_line == line_no(FIXTURE, "　欠席議員")
    assert "福祉保健局長 内藤淳" in meta["出席説明員"].text
    assert all(s.role != "unknown" for s in tokyo.statements)


def test_speakers_roles_and_stage_directions(tokyo: Meeting) -> None:
    lines = raw_lines(FIXTURE)
    blocks = [i for i, ln in enumerate(lines, 1) if ln.startswith("○")]
    firsts = [s for s in spoken(tokyo) if s.segment == 0]
    assert [s.start_line for s in firsts] == blocks  # one utterance per ○ block
    got = {(s.role, s.role_label, s.speaker, s.kind) for s in firsts}
    assert ("議員", "百十六番", "増子ひろき", "statement") in got
    assert ("首長", "知事", "小池百合子", "statement") in got
    assert ("説明員", "福祉保健局長", "内藤淳", "statement") in got
    assert ("議長", "議長", "石川良一", "procedural") in got
    for s in tokyo.statements:
        assert "〔" not in s.text and "登壇" not in s.text and "拍手" not in s.text
        assert "散会" not in s.text or s.kind != "statement"
    chair = next(s for s in firsts if "質問に入ります" in s.text)
    assert chair.text.endswith("百十六番増子ひろき君。")


def test_questions_and_answers_are_segmented_and_linked(tokyo: Meeting) -> None:
    member = [s for s in spoken(tokyo) if s.role == "議員"]
    assert len(member) == 3 and len({s.utterance for s in member}) == 1
    assert [s.segment for s in member] == [0, 1, 2]
    care, gakudo, dementia = member
    assert "子育て支援について伺います" in care.text and "切れ目のない支援" in care.text
    replies = {s.text.split("、")[0][:6]: s for s in spoken(tokyo) if s.answers_to is not None}
    governor = next(s for s in spoken(tokyo) if s.role == "首長")
    assert governor.answers_to == care.order
    official = [s for s in spoken(tokyo) if s.role == "説明員"]
    assert [s.answers_to for s in official] == [gakudo.order, dementia.order]
    assert official[1].start_line == line_no(FIXTURE, "　次に、認知症対策")
    assert len(replies) == 3
    question, answers = exchange_of(tokyo, official[1])
    assert question == dementia and answers == [official[1]]
    assert exchange_of(tokyo, care) == (care, [governor])


def test_split_question_and_answer_markers() -> None:
    q = split_question(
        [(1, "前置きです。"), (2, "環境について伺います。"), (3, "対策を進めるべきですが、見解を伺います。"),
         (4, "話を伺いました。その上で提案します。"), (5, "教育長の見解を伺います。"), (6, "終わります。")]
    )  # fmt: skip
    assert [[n for n, _ in seg] for seg in q] == [[1, 2, 3], [4, 5, 6]]
    a = split_answer(
        [(1, "二点のご質問にお答えします。"), (2, "まず、環境についてですが、進めます。"),
         (3, "さらに続けます。"), (4, "次に、教育についてでありますが、進めます。")]
    )  # fmt: skip
    assert [[n for n, _ in seg] for seg in a] == [[1, 2, 3], [4]]


def test_chunks_cite_their_own_lines(tokyo: Meeting) -> None:
    settings = Settings(chunk_max_chars=40, chunk_overlap_sentences=0)
    chunks = [c for c in chunk_meeting(tokyo, settings) if c.role == "説明員"]
    lines = raw_lines(FIXTURE)
    for c in chunks:
        cited = "".join(x.strip() for x in lines[c.start_line - 1 : c.end_line])
        assert c.text.rstrip("。")[-10:] in cited  # the quoted words are on the cited lines
        assert c.end_line - c.start_line <= 1
    first, second = [c for c in chunks if c.order == chunks[0].order][:2]
    assert first.start_line == first.end_line == line_no(FIXTURE, "○福祉保健局長")
    assert second.start_line == line_no(FIXTURE, "　まず、学童クラブ")


# --- the real records --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tokyo2020() -> list[tuple[Path, Meeting]]:
    if not TOKYO.is_dir():
        pytest.skip("../shared/bench/tokyo2020 is not present")
    return [(p, parse_document(read_document(p))) for p in sorted(TOKYO.glob("*.txt"))]


def test_tokyo2020_done_criteria(tokyo2020: list[tuple[Path, Meeting]]) -> None:
    blocks = parsed = 0
    spans: list[int] = []
    for path, m in tokyo2020:
        assert m.date and m.doc_kind == "verbatim", path.name
        assert sum(a.status == "出席" for a in m.attendance) > 100, path.name
        starts = {s.start_line: s for s in m.statements if s.kind != "meta" and s.segment == 0}
        for i, ln in enumerate(raw_lines(path), 1):
            if ln.startswith("○"):
                blocks += 1
                s = starts.get(i)
                parsed += bool(s and s.speaker and s.role != "unknown")
        for s in m.statements:
            assert "登壇〕" not in s.text, (path.name, s.start_line)
            if (s.role_label or "").endswith("番"):
                assert s.role == "議員"
        spans += [c.end_line - c.start_line + 1 for c in chunk_meeting(m, Settings())]
    assert parsed / blocks >= 0.95
    assert statistics.median(spans) <= 10


def test_hand_checked_links_still_hold(tokyo2020: list[tuple[Path, Meeting]]) -> None:
    """eval/tokyo2020_links.jsonl: 36 links checked by hand, scored by lines (the answer's first
    line, the line of the question it answers) so that re-cut speeches are judged the same. The
    parser must keep making the links judged correct and stay above 90 % on the sample (33/36)."""
    import json

    from rag.evaluate import link_verdicts

    rows = [
        json.loads(x)
        for x in (Path(__file__).resolve().parents[1] / "eval" / "tokyo2020_links.jsonl")
        .read_text("utf-8")
        .splitlines()
        if x.strip()
    ]
    verdicts = link_verdicts(rows, {m.id: m for _, m in tokyo2020})
    assert len(rows) >= 30
    assert sum(verdicts) / len(rows) >= 0.9
    assert [
        r["answer_line"] for r, ok in zip(rows, verdicts, strict=True) if r["correct"] and not ok
    ] == []


def test_who_was_absent_is_answered_from_the_roll(tokyo: Meeting) -> None:
    from types import SimpleNamespace

    from rag.facts import is_meeting_info, meeting_info_answer

    index = SimpleNamespace(meetings={tokyo.id: tokyo}, chunks=chunk_meeting(tokyo, Settings()))
    question = "三宅しげき議員は欠席しましたか"
    assert is_meeting_info(question, index.meetings)
    a = meeting_info_answer(question, index, make_filters(), Settings())
    assert a is not None and a.found
    assert "三宅しげきは欠席でした" in a.text
    (c,) = a.citations
    assert c.quote == "百一番 三宅しげき" and c.quote in c.chunk.text
    assert c.chunk.start_line == line_no(FIXTURE, "　欠席議員")
    who = meeting_info_answer("Who attended?", index, make_filters(), Settings())
    assert who is not None and "古城まさお" in who.citations[0].chunk.text


def test_exchange_line_for_answers_and_citations(tokyo: Meeting) -> None:
    from rag.compose import with_exchanges
    from rag.exchange import exchange_text
    from rag.types import Citation, citation_to_dict

    governor = next(s for s in tokyo.statements if s.role == "首長")
    line = exchange_text(tokyo, governor.order)
    assert line is not None
    assert line.startswith("Q — 百十六番 増子ひろき議員: ")
    assert line.endswith("知事の見解を伺います。 / A — 知事 小池百合子")
    assert exchange_text(tokyo, governor.answers_to) == line  # the question shows its replies
    chair = next(s for s in tokyo.statements if s.role == "議長")
    assert exchange_text(tokyo, chair.order) is None
    chunks = {c.order: c for c in chunk_meeting(tokyo, Settings())}
    cited = with_exchanges(
        [Citation(1, chunks[governor.order], "x"), Citation(2, chunks[chair.order], "y")],
        {tokyo.id: tokyo},
    )
    assert [c.exchange for c in cited] == [line, None]
    assert citation_to_dict(cited[0])["exchange"] == line
    assert citation_to_dict(cited[0])["answers_to"] == governor.answers_to


def test_quote_does_not_stop_at_the_announcement_of_an_answer(tokyo: Meeting) -> None:
    from rag.compose import best_quote

    governor = next(c for c in chunk_meeting(tokyo, Settings()) if c.role == "首長")
    quote = best_quote(governor, ["切れ目のない支援"])
    assert quote.startswith("妊娠、出産、子育ての切れ目のない支援についてのご質問でございます。")
    assert quote.endswith("支援してまいります。") and quote in governor.text


def test_minutes_viewer_marks_procedural_lines_and_links_answers(tokyo: Meeting) -> None:
    from rag.ui import render_meeting

    html = render_meeting(tokyo)
    chair = next(s for s in tokyo.statements if s.kind == "procedural")
    assert f'class="stmt procedural" id="stmt-{tokyo.id}-{chair.order}"' in html
    governor = next(s for s in tokyo.statements if s.role == "首長")
    question = tokyo.statements[governor.answers_to]
    assert f'href="#stmt-{tokyo.id}-{question.order}"' in html
    assert f"Q L{question.start_line}</a>" in html
