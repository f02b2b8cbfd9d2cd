"""Structure of real minutes: expectations are derived from the raw files, not copied output."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from rag.ingest import RawDocument, read_document
from rag.parse import parse_date, parse_document
from rag.text import squash
from rag.types import Meeting, Statement

ROOT = Path(__file__).resolve().parent.parent
HOKKAIDO = ROOT / "corpus" / "hokkaido-society5-promotion-2022-2.txt"
SAPPORO = ROOT / "corpus" / "sapporo-ict-strategy-experts-2.txt"
VERBATIM = Path(__file__).resolve().parent / "data" / "verbatim_assembly.txt"
BULLET = "\uf06c"
CJK = "[\u3040-\u30ff\u4e00-\u9fff\uff01-\uff5e]"


def is_marker(line: str) -> bool:
    return line[:1] != "" and line[:1] in "○◆◎△"


def raw_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split("\n")


def doc_from_text(text: str, name: str = "sample.txt") -> RawDocument:
    return RawDocument(
        path=Path(name),
        file=name,
        lines=tuple(text.split("\n")),
        encoding="utf-8",
        sha256="",
        kind="text",
    )


def body(m: Meeting) -> list[Statement]:
    return [s for s in m.statements if s.kind == "statement"]


def starting_at(m: Meeting, line: int) -> list[Statement]:
    return [s for s in body(m) if s.start_line == line]


@pytest.fixture(scope="module")
def hokkaido() -> Meeting:
    return parse_document(read_document(HOKKAIDO))


@pytest.fixture(scope="module")
def sapporo() -> Meeting:
    return parse_document(read_document(SAPPORO))


@pytest.fixture(scope="module")
def verbatim() -> Meeting:
    return parse_document(read_document(VERBATIM))


def assert_faithful(m: Meeting, path: Path) -> None:
    """Every statement is its own source span: same characters (ignoring whitespace, bullets and
    reply prefixes), no wrap artefacts, and orders 0..n-1 with meeting facts first."""
    lines = raw_lines(path)
    assert [s.order for s in m.statements] == list(range(len(m.statements)))
    kinds = [s.kind for s in m.statements]
    assert kinds == sorted(kinds, key=lambda k: k != "meta")  # all meta before statements
    for s in m.statements:
        assert 1 <= s.start_line <= s.end_line <= len(lines)
        assert lines[s.start_line - 1].strip(), f"statement starts on a blank line: {s}"
        assert s.meeting_id == m.id and s.file == m.file
        assert s.text == s.text.strip() and s.text
        assert not re.search("[\ue000-\uf8ff\x0c]", s.text)
        assert s.norm_text == squash(s.norm_text) or " " in s.norm_text  # NFKC form
        if s.kind == "meta":
            continue
        span = squash("".join(lines[s.start_line - 1 : s.end_line]).replace(BULLET, ""))
        assert squash(s.text) in span
        # A space between two Japanese characters must already exist within one source line.
        for gap in re.finditer(f"{CJK}\\s+{CJK}", s.text):
            assert any(gap.group() in ln for ln in lines[s.start_line - 1 : s.end_line]), gap


# --- Hokkaido 開催概要 -------------------------------------------------------------------------


def test_hokkaido_meeting_fields(hokkaido: Meeting) -> None:
    assert hokkaido.date == "2023-02-08"
    assert hokkaido.venue and hokkaido.venue.startswith("ホテルポールスター札幌")
    assert hokkaido.meeting_number == 2
    assert hokkaido.doc_kind == "summary"
    assert hokkaido.title.startswith("令和４年度 第２回北海道 Society5.0推進会議")
    assert hokkaido.series and "第２回" not in hokkaido.series and "Society5.0" in hokkaido.series
    assert hokkaido.id == "hokkaido-society5-promotion-2022-2"
    assert_faithful(hokkaido, HOKKAIDO)


def test_hokkaido_every_bullet_is_one_member_statement(hokkaido: Meeting) -> None:
    lines = raw_lines(HOKKAIDO)
    bullet_lines = [i for i, ln in enumerate(lines, 1) if ln.lstrip().startswith(BULLET)]
    assert len(bullet_lines) > 10
    for no in bullet_lines:
        found = starting_at(hokkaido, no)
        assert len(found) == 1, f"line {no}"
        assert found[0].role == "委員" and found[0].role_label == "委員"
        assert found[0].agenda and "意見交換" in found[0].agenda
    # No statement swallows two bullets.
    for s in body(hokkaido):
        assert sum(s.start_line <= no <= s.end_line for no in bullet_lines) <= 1


def test_hokkaido_replies_are_separate_statements(hokkaido: Meeting) -> None:
    lines = raw_lines(HOKKAIDO)
    replies = {"（事務局）": "事務局", "（委員）": "委員"}
    seen = {"事務局": 0, "委員": 0}
    for no, ln in enumerate(lines, 1):
        for prefix, role in replies.items():
            if ln.startswith(prefix):
                (s,) = starting_at(hokkaido, no)
                assert s.role == role and s.role_label == role
                assert not s.text.startswith(prefix)
                assert s.text.startswith(ln[len(prefix) :].strip()[:10])
                seen[role] += 1
                if role == "事務局":  # a reply answers the member statement right before it
                    before = hokkaido.statements[s.order - 1]
                    assert before.role == "委員" and s.answers_to == before.order
    assert seen == {"事務局": 2, "委員": 1}


def test_hokkaido_secretariat_explanations_carry_their_agenda(hokkaido: Meeting) -> None:
    lines = raw_lines(HOKKAIDO)
    current = None
    checked = 0
    for no, ln in enumerate(lines, 1):
        heading = re.match(r"^\(\d\)\s*(議事.*)$", ln.strip())
        if heading:
            current = heading.group(1).strip()
        if ln.startswith("・事務局（北海道）から説明"):
            (s,) = starting_at(hokkaido, no)
            assert s.role == "事務局"
            assert s.agenda == current
            checked += 1
    assert checked >= 5
    assert list(hokkaido.agenda) == list(dict.fromkeys(s.agenda for s in body(hokkaido)))


def test_hokkaido_fiware_statement(hokkaido: Meeting) -> None:
    (s,) = [s for s in body(hokkaido) if "FIWARE" in s.text]
    assert s.topic == "データ利活用ワーキンググループの報告について"
    assert (s.start_line, s.end_line) == (78, 86)
    assert "大事なことが" in s.text  # wrapped at 大事 / なことが without a space
    assert "バリュー を" not in "".join(x.text for x in hokkaido.statements)


def test_hokkaido_meeting_facts_are_citable(hokkaido: Meeting) -> None:
    metas = [s for s in hokkaido.statements if s.kind == "meta"]
    assert all(s.role == "会議情報" for s in metas)
    (date,) = [s for s in metas if s.text.startswith("日時")]
    assert "令和５年２月８日" in date.text and "13：30" in date.text
    assert (date.start_line, date.end_line) == (5, 7)
    (venue,) = [s for s in metas if "ホテルポールスター札幌" in s.text]
    lines = raw_lines(HOKKAIDO)
    assert "場所" in lines[venue.start_line - 1]
    assert "ホテルポールスター札幌" in lines[venue.end_line - 1]
    assert any(s.text.startswith("出席者") for s in metas)
    (agenda,) = [s for s in metas if s.role_label == "議題一覧"]
    assert all(item in agenda.text for item in hokkaido.agenda)


# --- Sapporo 議事要旨 --------------------------------------------------------------------------


def test_sapporo_meeting_fields(sapporo: Meeting) -> None:
    assert sapporo.date is None
    assert sapporo.meeting_number == 2
    assert sapporo.series and sapporo.series.endswith("有識者会議")
    assert "議事要旨" in sapporo.title
    assert any("開催日" in w for w in sapporo.warnings)
    assert_faithful(sapporo, SAPPORO)


def test_sapporo_every_bullet_is_one_member_statement(sapporo: Meeting) -> None:
    lines = raw_lines(SAPPORO)
    bullet_lines = [i for i, ln in enumerate(lines, 1) if ln.lstrip().startswith("・")]
    assert [s.start_line for s in body(sapporo)] == bullet_lines
    assert {s.role for s in body(sapporo)} == {"委員"}


def test_sapporo_agenda_items_and_end_marker(sapporo: Meeting) -> None:
    lines = raw_lines(SAPPORO)
    second = next(i for i, ln in enumerate(lines, 1) if ln.startswith("【議題２】"))
    end = next(i for i, ln in enumerate(lines, 1) if ln.strip() == "以上")
    for s in body(sapporo):
        expected = "【議題１】" if s.start_line < second else "【議題２】"
        assert s.agenda and s.agenda.startswith(expected)
        assert s.end_line < end
    assert [a[:5] for a in sapporo.agenda] == ["【議題１】", "【議題２】"]


def test_sapporo_2040_statement(sapporo: Meeting) -> None:
    (s,) = [s for s in body(sapporo) if "２０４０年" in s.text]
    assert "2040年" in s.norm_text
    assert "２０４０年" in s.text  # display text keeps full-width digits


# --- verbatim assembly record ------------------------------------------------------------------


def test_verbatim_speakers(verbatim: Meeting) -> None:
    assert verbatim.doc_kind == "verbatim"
    assert verbatim.meeting_number == 5
    assert verbatim.date == "2023-03-10"
    assert verbatim.venue == "第二委員会室"
    assert_faithful(verbatim, VERBATIM)
    lines = raw_lines(VERBATIM)
    marker_lines = [i for i, ln in enumerate(lines, 1) if is_marker(ln)]
    assert [s.start_line for s in body(verbatim)] == marker_lines
    by_speaker = {s.speaker: s for s in body(verbatim)}
    assert by_speaker["山田はなこ"].role == "議長"
    assert by_speaker["山田はなこ"].role_label == "委員長"
    assert by_speaker["佐藤一郎"].role == "委員"
    assert by_speaker["高橋"].role == "説明員" and by_speaker["高橋"].role_label.endswith("局長")
    assert by_speaker["伊藤"].role == "説明員" and by_speaker["伊藤"].role_label.endswith("部長")
    assert by_speaker["山田太郎"].role == "議長" and by_speaker["山田太郎"].role_label == "議長"


def test_verbatim_speech_continues_until_next_marker(verbatim: Meeting) -> None:
    lines = raw_lines(VERBATIM)
    (s,) = [s for s in body(verbatim) if s.speaker == "高橋"]
    nxt = next(i for i in range(s.start_line + 1, len(lines) + 1) if is_marker(lines[i - 1]))
    assert s.end_line == nxt - 1
    assert "担い手育成にも充てられる" in s.text  # wrap joined without a space
    assert all("なし」と呼ぶ者あり" not in x.text for x in body(verbatim))  # stage direction
    assert all(x.agenda and x.agenda.startswith("議案第１号") for x in body(verbatim))
    assert all(not x.text.startswith(("委員長", "委員 ")) for x in body(verbatim))


def test_verbatim_facts(verbatim: Meeting) -> None:
    metas = {s.role_label: s for s in verbatim.statements if s.kind == "meta"}
    assert "令和５年３月１０日" in metas["日時"].text
    assert "午後１時" in metas["開会"].text and "午後２時" in metas["閉会"].text
    assert "佐 藤 一 郎" in metas["出席委員"].text


def test_diet_style_speakers() -> None:
    text = "\n".join(
        [
            "第２１１回国会 総務委員会 第３号",
            "令和５年３月１４日（火曜日）",
            "○委員長（山田太郎君） これより会議を開きます。",
            "○鈴木花子君 地方のデジタル化について伺います。",
            "○政府参考人（佐藤次郎君） お答えいたします。",
        ]
    )
    m = parse_document(doc_from_text(text))
    got = [(s.role, s.role_label, s.speaker) for s in body(m)]
    assert got == [
        ("議長", "委員長", "山田太郎"),
        ("委員", None, "鈴木花子"),
        ("説明員", "政府参考人", "佐藤次郎"),
    ]
    assert m.date == "2023-03-14" and m.meeting_number == 3  # 第211回国会 is the session


# --- other layouts and robustness --------------------------------------------------------------


def test_labelled_summary_with_colon_prefixes() -> None:
    text = "\n".join(
        [
            "# 第3回 市民懇談会 議事録",
            "",
            "日時：2024年4月1日(月) 10:00-12:00",
            "会場：市役所 3階",
            "",
            "## 議題1 予算について",
            "",
            "- 山田委員：予算の配分を見直すべき。",
            "- 事務局：検討します。",
            "- 座長：次回までに整理を。",
        ]
    )
    m = parse_document(doc_from_text(text, "x.md"))
    assert (m.date, m.venue, m.meeting_number) == ("2024-04-01", "市役所 3階", 3)
    got = [(s.role, s.role_label, s.speaker, s.text) for s in body(m)]
    assert got == [
        ("委員", "委員", "山田", "予算の配分を見直すべき。"),
        ("事務局", "事務局", None, "検討します。"),
        ("議長", "座長", None, "次回までに整理を。"),
    ]
    assert {s.agenda for s in body(m)} == {"議題1 予算について"}


def test_page_artifacts_are_dropped() -> None:
    text = "\n".join(
        [
            "第１回 検討会議 議事要旨",
            "・最初の意見は、二つのページに",
            "- 1 -",
            "\x0c",
            "またがっている。",
            "・次の意見。",
            "2",
        ]
    )
    m = parse_document(doc_from_text(text))
    assert [s.text for s in body(m)] == [
        "最初の意見は、二つのページにまたがっている。",
        "次の意見。",
    ]
    assert body(m)[0].end_line == 5


def test_paragraph_fallback_blank_separated() -> None:
    text = "活動報告\n\n今年度は三つの事業を実施した。\n参加者は増加した。\n\n来年度も継続する。\n"
    m = parse_document(doc_from_text(text))
    assert m.doc_kind == "paragraphs"
    assert any("paragraphs" in w for w in m.warnings)
    assert {s.role for s in m.statements} == {"unknown"}
    assert [s.text for s in m.statements] == [
        "活動報告",
        "今年度は三つの事業を実施した。参加者は増加した。",
        "来年度も継続する。",
    ]


def test_paragraph_fallback_hard_wrapped_with_blank_lines() -> None:
    # PDF-style: every wrapped line followed by a blank line, so sentence ends decide.
    wrapped = [
        "地域の交通について住民の",
        "意見を聞いた。多くの人が",
        "不便を感じている。",
        "次に、",
        "予算の話をした。",
    ]
    m = parse_document(doc_from_text("\n\n".join(wrapped)))
    assert m.doc_kind == "paragraphs"
    assert [s.text for s in m.statements] == [
        "地域の交通について住民の意見を聞いた。多くの人が不便を感じている。",
        "次に、予算の話をした。",
    ]
    assert [(s.start_line, s.end_line) for s in m.statements] == [(1, 5), (7, 9)]


def test_english_wrapped_lines_keep_word_spaces() -> None:
    m = parse_document(doc_from_text("Notes\n\nThe committee discussed\nthe budget.\n"))
    assert "discussed the budget." in [s.text for s in m.statements][-1]


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("令和５年２月８日（水）", "2023-02-08"),
        ("令和元年５月１日", "2019-05-01"),
        ("平成３１年４月３０日", "2019-04-30"),
        ("昭和64年1月7日", "1989-01-07"),
        ("2024年12月1日", "2024-12-01"),
        ("２０２４/０３/０５", "2024-03-05"),
        ("R5.2.8", "2023-02-08"),
        ("令和５年２月３０日", None),
        ("２０４０年に高齢者人口がピーク", None),
    ],
)
def test_parse_date(text: str, iso: str | None) -> None:
    assert parse_date(text) == iso


def test_parse_never_crashes_on_noise() -> None:
    rng = random.Random(1234)
    tokens = [
        *"・○◆◎△◇【】＜＞（）()：:\u3000 \t\x0c-0１２議題事委員長局以上。、日時場所令和年月a漢",
        *(BULLET, "\n", "\n\n", "\n- 3 -\n", "\n以上\n", "○山田 委員長　", "◎高橋 局長 "),
        *(
            "（事務局）",
            "（委員）",
            "【議題１】",
            "\n(1) 議事１ ",
            "日時：",
            "令和５年２月８日",
            "＜話題＞",
        ),
    ]
    for _ in range(300):
        text = "".join(rng.choice(tokens) for _ in range(rng.randint(0, 200)))
        m = parse_document(doc_from_text(text))
        n = len(text.split("\n"))
        for s in m.statements:
            assert 1 <= s.start_line <= s.end_line <= n
            assert s.text.strip()


def test_diet_minister_and_named_member_lines() -> None:
    text = "\n".join(
        [
            "第２１６回国会 予算委員会 第２号",
            "令和６年１１月２９日（金曜日）",
            "○委員長（安住淳君） これより会議を開きます。",
            "○山田委員 防災庁の設置について伺います。",
            "○石破内閣総理大臣 お答えいたします。",
            "○赤沢国務大臣 補足いたします。",
        ]
    )
    m = parse_document(doc_from_text(text))
    got = [(s.role, s.role_label, s.speaker) for s in body(m)]
    assert got == [
        ("議長", "委員長", "安住淳"),
        ("委員", "委員", "山田"),
        ("首長", "内閣総理大臣", "石破"),
        ("説明員", "国務大臣", "赤沢"),
    ]
    assert (m.date, m.issue_number, m.meeting_number) == ("2024-11-29", 2, 2)
