"""The summary-minutes recogniser (rag/formats/summary.py), piece by piece.

Each step of the parser is a small function; each is tested here on a few hand-made lines or on
the tiny files in tests/data/summary/. ``test_corpus_parses_as_before`` pins what the two real
documents in corpus/ parse into (tests/data/corpus_parsed.json, written before the parser was
split into these steps): regenerate it only for an intended change, with
``python tests/test_summary_format.py --write``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # also run as a script (--write)

from rag.formats import summary  # noqa: E402
from rag.formats.common import Line, clean_line  # noqa: E402
from rag.ingest import read_document  # noqa: E402
from rag.parse import parse_document  # noqa: E402
from rag.types import Meeting  # noqa: E402

DATA = REPO / "tests" / "data" / "summary"
CORPUS = REPO / "corpus"
GOLDEN = REPO / "tests" / "data" / "corpus_parsed.json"
CORPUS_FILES = ("hokkaido-society5-promotion-2022-2.txt", "sapporo-ict-strategy-experts-2.txt")


def lines_of(*texts: str) -> list[Line]:
    return [clean_line(i, t) for i, t in enumerate(texts, 1)]


def parsed(name: str) -> Meeting:
    return parse_document(read_document(DATA / name))


# --- the whole documents: corpus/ exactly as before ---------------------------------------------


def snapshot(m: Meeting) -> dict:
    """What a citation and a filter read of a meeting: its fields and every statement's speaker,
    role, text and lines (norm_text is nfkc(text); the file path depends on the checkout)."""
    return {
        "sha256": m.sha256,
        "title": m.title,
        "series": m.series,
        "meeting_number": m.meeting_number,
        "issue_number": m.issue_number,
        "session": m.session,
        "date": m.date,
        "venue": m.venue,
        "agenda": list(m.agenda),
        "doc_kind": m.doc_kind,
        "format_reason": m.format_reason,
        "warnings": list(m.warnings),
        "statements": [
            {
                "order": s.order,
                "kind": s.kind,
                "speaker": s.speaker,
                "role": s.role,
                "role_label": s.role_label,
                "agenda": s.agenda,
                "topic": s.topic,
                "lines": [s.start_line, s.end_line],
                "answers_to": s.answers_to,
                "line_map": [list(p) for p in s.line_map],
                "text": s.text,
            }
            for s in m.statements
        ],
    }


def corpus_snapshot() -> dict[str, dict]:
    return {f: snapshot(parse_document(read_document(CORPUS / f))) for f in CORPUS_FILES}


def test_corpus_parses_as_before() -> None:
    want = json.loads(GOLDEN.read_text("utf-8"))
    got = corpus_snapshot()
    for name in CORPUS_FILES:
        assert got[name]["sha256"] == want[name]["sha256"], f"corpus/{name} itself changed"
        w, g = want[name], got[name]
        assert {k: v for k, v in g.items() if k != "statements"} == {
            k: v for k, v in w.items() if k != "statements"
        }
        assert len(g["statements"]) == len(w["statements"]), name
        for gs, ws in zip(g["statements"], w["statements"], strict=True):
            assert gs == ws, (name, ws["order"])


if __name__ == "__main__" and "--write" in sys.argv:
    GOLDEN.write_text(
        json.dumps(corpus_snapshot(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    print(f"wrote {GOLDEN}")


# --- whole tiny documents ------------------------------------------------------------------------


def test_summary_minutes_fixture() -> None:
    m = parsed("summary_minutes.txt")
    assert (m.doc_kind, m.title, m.date, m.meeting_number) == (
        "summary",
        "第３回 みらい都市検討会議 議事要旨",
        "2023-06-01",
        3,
    )
    assert m.series == "みらい都市検討会議" and m.venue == "市役所本庁舎　会議室Ａ"
    facts = [(s.role_label, s.start_line, s.end_line) for s in m.statements if s.kind == "meta"]
    assert facts == [("会議名", 1, 1), ("日時", 3, 3), ("場所", 4, 4), ("出席者", 5, 6),
                     ("開会", 8, 8), ("議題一覧", 10, 10)]  # fmt: skip
    (name,) = [s for s in m.statements if s.role_label == "会議名"]
    assert name.text == "会議名：第３回\u3000みらい都市検討会議\u3000議事要旨"  # verbatim, citable
    body = [s for s in m.statements if s.kind == "statement"]
    assert [(s.role, s.start_line, s.end_line, s.topic) for s in body] == [
        ("委員", 12, 13, "現状の課題"),  # a bullet wrapped over two lines
        ("事務局", 14, 14, "現状の課題"),  # the （事務局） reply, apart from the bullet
        ("委員", 15, 15, "現状の課題"),
        ("事務局", 18, 18, None),  # under 【事務局説明】
    ]
    assert (
        body[0].text
        == "データの形式が部署ごとに異なり、連携に時間がかかっているので、標準化が必要だ。"
    )
    assert body[1].answers_to == body[0].order
    assert {s.agenda for s in body} == {"【議題１】データ連携基盤について"}
    assert not m.warnings


def test_committee_fixture() -> None:
    m = parsed("committee.txt")
    assert m.doc_kind == "verbatim" and m.date is None and len(m.warnings) == 1
    speech = [(s.role, s.role_label, s.speaker, s.start_line, s.end_line) for s in m.statements
              if s.kind == "statement"]  # fmt: skip
    assert speech == [
        ("議長", "委員長", "田中一郎", 3, 3),
        ("委員", "委員", "高橋花子", 4, 6),  # a blank line inside a speech does not end it
        ("説明員", "福祉局長", "山本次郎", 8, 8),
    ]
    assert all("拍手" not in s.text for s in m.statements)
    (name, fact) = [s for s in m.statements if s.kind == "meta"]
    assert name.role_label == "会議名" and name.start_line == 1
    assert (fact.text, fact.start_line) == ("閉会：午後３時", 10)  # after the last speech


def test_paragraphs_fixture() -> None:
    m = parsed("paragraphs.txt")
    assert m.doc_kind == "paragraphs" and m.title == "雑記"
    assert [(s.role, s.start_line, s.end_line) for s in m.statements] == [
        ("unknown", 1, 1),  # the title line is kept as content too
        ("unknown", 3, 4),
        ("unknown", 6, 6),
    ]
    assert any("段落単位" in w for w in m.warnings)


# --- layout and header ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("texts", "layout"),
    [
        (("○田中一郎 委員長　開会します。", "◆高橋花子 委員　伺います。"), "verbatim"),
        (("○田中一郎 委員長　開会します。", "続けます。"), "summary"),  # one speaker line
        (("議事要旨", "・標準化が必要だ。"), "summary"),
        (("【議題１】データ連携", "説明があった。"), "summary"),
        (("（事務局）指針を示す。",), "summary"),
        (("これは文章です。", "続きです。"), "paragraphs"),
    ],
)
def test_layout(texts: tuple[str, ...], layout: str) -> None:
    assert summary._layout(lines_of(*texts)) == layout


def test_blank_lines_are_no_break_in_pdf_text() -> None:
    pdf = lines_of("一行目が", "", "折り返されて", "", "続きます。", "", "次の文。")
    plain = lines_of("一つ目。", "", "二つ目。", "三つ目。", "四つ目。")
    assert not summary._blank_is_break(pdf, [ln for ln in pdf if ln.text])
    assert summary._blank_is_break(plain, [ln for ln in plain if ln.text])


def test_body_starts_at_structure_not_at_facts() -> None:
    fact, bullet, speaker = lines_of(
        "日時：令和５年６月１日", "・意見", "◆高橋花子 委員　伺います。"
    )
    assert not summary._is_body_start(fact, "summary")
    assert summary._is_body_start(bullet, "summary")
    assert summary._is_body_start(speaker, "verbatim")
    assert not summary._is_body_start(bullet, "verbatim")  # only speaker lines open speeches
    header = summary._header(lines_of("会議", "日時：６月１日", "・意見", "・次"), "summary")
    assert [ln.text for ln in header] == ["会議", "日時：６月１日"]


def test_title_takes_short_lines_before_the_first_fact() -> None:
    header = lines_of("第３回　検討会議", "議事要旨", "日時：６月１日", "場所：会議室")
    title, taken = summary._title(header, "summary", "file-stem")
    assert title == "第３回 検討会議 議事要旨" and [ln.no for ln in taken] == [1, 2]
    title, taken = summary._title(header, "paragraphs", "file-stem")
    assert title == "第３回 検討会議" and taken == []  # prose keeps its first line as content
    assert summary._title(lines_of("これは文です。"), "summary", "file-stem") == ("file-stem", [])


def test_read_fact_value_lines() -> None:
    seq = lines_of(
        "出席者：山田座長、", "佐藤委員", "場所", "会議室Ａ", "本庁舎", "日時：６月１日", "翌行"
    )
    fact, after = summary._read_fact(seq, 0, "summary")
    assert (fact.text, fact.start, fact.end, after) == ("出席者：山田座長、 佐藤委員", 1, 2, 2)
    fact, after = summary._read_fact(seq, 2, "summary")  # value below its label, wrapped
    assert (fact.group, fact.value, fact.end, after) == ("venue", "会議室Ａ本庁舎", 5, 5)
    fact, after = summary._read_fact(seq, 5, "summary")  # a value on the label line ends it
    assert (fact.group, fact.value, after) == ("date", "６月１日", 6)


def test_header_facts_and_taken_lines() -> None:
    header = lines_of("会議", "令和５年６月１日（木）", "場所：会議室", "５　議　事")
    facts, taken = summary._header_facts(header, "summary", {1})
    assert [(f.label, f.value, f.start) for f in facts] == [
        ("日時", "令和５年６月１日（木）", 2),
        ("場所", "会議室", 3),
    ]
    assert taken == {1, 2, 3, 4}  # the section heading 「５ 議 事」 is not a statement
    assert summary._header_facts(header, "paragraphs", set())[1] == {2, 3}


# --- who speaks ----------------------------------------------------------------------------------


def test_default_and_section_roles() -> None:
    assert summary._default_role("summary", "みらい都市検討会議 議事要旨") == "委員"
    assert summary._default_role("summary", "庁内連絡会 記録") == "unknown"
    assert summary._default_role("verbatim", "検討会議") == "unknown"
    assert summary._section_role("事務局説明", "委員") == "事務局"
    assert summary._section_role("委員からの意見", "unknown") == "委員"
    assert summary._section_role("その他", "unknown") == "unknown"


def test_bullet_speaker() -> None:
    assert summary._bullet_speaker("（事務局）検討します。", "委員") == (
        "事務局", "事務局", None, "検討します。")  # fmt: skip
    assert summary._bullet_speaker("山田委員：賛成です。", "委員") == (
        "委員",
        "委員",
        "山田",
        "賛成です。",
    )
    assert summary._bullet_speaker("事務局から説明があった。", "委員")[:2] == ("事務局", "事務局")
    assert summary._bullet_speaker("賛成です。", "委員") == ("委員", "委員", None, "賛成です。")
    assert summary._bullet_speaker("賛成です。", "unknown")[:2] == ("unknown", None)


# --- the body ------------------------------------------------------------------------------------


def body(*texts: str, layout: str = "summary", blank_is_break: bool = True) -> summary._Body:
    return summary._Body(lines_of(*texts), layout, blank_is_break, "委員", set()).read()


def spans(b: summary._Body) -> list[tuple[str, int, int]]:
    return [(o.role, o.start, o.parts[-1][0]) for o in b.said]


def test_body_bullets_replies_and_page_breaks() -> None:
    b = body(
        "・標準化が必要で", "", "ある。", "（事務局）検討する。", "・次の意見。", "", "地の文。"
    )
    # the blank line mid-sentence is a page break; after a full sentence it ends the bullet
    assert spans(b) == [("委員", 1, 3), ("事務局", 4, 4), ("委員", 5, 5), ("委員", 7, 7)]
    assert [o.marked for o in b.said] == [True, True, True, False]


def test_body_headings_set_agenda_topic_and_section() -> None:
    b = body("【議題１】基盤について", "＜課題＞", "・意見。", "【事務局説明】", "・説明。",
             "議題２　人材", "・意見２。")  # fmt: skip
    assert [(o.role, o.agenda, o.topic) for o in b.said] == [
        ("委員", "【議題１】基盤について", "課題"),
        ("事務局", "【議題１】基盤について", None),
        ("委員", "議題２ 人材", None),  # a new agenda item resets the section's speakers
    ]
    assert b.agenda_seen == [(1, "【議題１】基盤について"), (6, "議題２ 人材")]


def test_body_outline_section_and_end_marker_close() -> None:
    b = body("・意見です。", "６　閉　会", "続きの文。", "以上", "後書き。")
    assert spans(b) == [("委員", 1, 1), ("委員", 3, 3), ("委員", 5, 5)]


def test_body_hard_wrapped_prose_ends_at_sentence_end() -> None:
    b = body(
        "一つ目の文が", "ここで終わる。", "二つ目。", layout="paragraphs", blank_is_break=False
    )
    assert spans(b) == [("unknown", 1, 2), ("unknown", 3, 3)]


def test_body_committee_speeches_stage_directions_and_trailing_fact() -> None:
    b = body("◆高橋花子 委員　伺います。", "", "続きです。", "（拍手）", "――――",
             "閉会　午後３時", "午後の部", layout="verbatim")  # fmt: skip
    assert spans(b) == [("委員", 1, 3), ("unknown", 7, 7)]
    assert [p for _, p in b.said[0].parts] == ["伺います。", "続きです。"]
    assert [(f.label, f.value) for f in b.facts] == [("閉会", "午後３時")]
    assert b.taken == {6}  # its value is on the label line: 午後の部 is not part of it


# --- the meeting ---------------------------------------------------------------------------------


def test_agenda_fact_lists_each_item_once() -> None:
    assert summary._agenda_fact([]) is None
    fact = summary._agenda_fact([(3, "議題１"), (9, "議題２"), (20, "議題１")])
    assert fact is not None
    assert (fact.text, fact.start, fact.end) == ("議題一覧：議題１／議題２", 3, 20)


def test_meeting_date_from_facts_else_title() -> None:
    facts = [
        summary._Meta("日時", "date", 2, 2, "未定"),
        summary._Meta("日時", "date", 3, 3, "令和５年６月１日"),
    ]
    assert summary._meeting_date(facts, "令和４年 会議") == "2023-06-01"
    assert summary._meeting_date(facts[:1], "令和4年5月2日 会議") == "2022-05-02"
    assert summary._meeting_date([], "会議") is None


def test_statement_from_collected_lines() -> None:
    said = summary._Open(4, "委員", "委員", None, "議題", None, True, [(4, "前半"), (5, "後半。")])
    st = summary._statement(said, 7, "m", "f.txt")
    assert st is not None
    assert (st.text, st.order, st.start_line, st.end_line, st.line_map) == (
        "前半後半。", 7, 4, 5, ((0, 4), (2, 5)))  # fmt: skip
    said.parts[0] = (4, "前\uf06c半")  # a PDF glyph left in the text: offsets no longer hold
    st = summary._statement(said, 7, "m", "f.txt")
    assert st is not None and st.text == "前半後半。" and st.line_map == ()
    glyphs = summary._Open(4, "委員", "委員", None, None, None, True, [(4, "\uf06c")])
    assert summary._statement(glyphs, 0, "m", "f.txt") is None


def test_warnings() -> None:
    assert summary._warnings("summary", "2023-06-01") == []
    assert len(summary._warnings("paragraphs", None)) == 2
    assert all(" / " in w for w in summary._warnings("paragraphs", None))  # Japanese / English
