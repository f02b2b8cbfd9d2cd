"""Structured imports: Diet API JSON, utterance JSON and CSV files become many meetings whose
statements name their record. Expectations are read from the hand-written fixtures themselves."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from rag.config import Settings
from rag.errors import InputError
from rag.formats.records import (
    detect_records,
    parse_column_setting,
    parse_csv,
    role_for_title,
    split_speaker,
)
from rag.ingest import ingest_paths, read_records
from rag.text import slugify
from rag.types import (
    ROLE_ASSEMBLY_MEMBER,
    ROLE_CHAIR,
    ROLE_HEAD,
    ROLE_MEMBER,
    ROLE_META,
    ROLE_OFFICIAL,
    ROLE_SECRETARIAT,
    ROLE_UNKNOWN,
    Meeting,
    Statement,
    chunk_from_dict,
    chunk_to_dict,
    meeting_from_dict,
    meeting_to_dict,
    source_dict,
)

DATA = Path(__file__).resolve().parent / "data" / "records"
DIET_SPEECH = DATA / "diet_speech.json"
DIET_MEETING = DATA / "diet_meeting.json"
TOKYO = DATA / "tokyo_utterances.json"
CSV_UTF8 = DATA / "minutes.csv"
CSV_CP932 = DATA / "minutes_cp932.csv"


def load(path: Path) -> list[Meeting]:
    result = ingest_paths([path])
    assert result.errors == (), result.errors
    return list(result.meetings)


def by_record(meetings: list[Meeting]) -> dict[str, Statement]:
    return {s.record: s for m in meetings for s in m.statements if s.record}


def squashed(text: str) -> str:
    return "".join(text.split())


# --- Diet API -----------------------------------------------------------------------------------


def test_diet_speech_response_becomes_one_meeting_with_roles_and_records() -> None:
    data = json.loads(DIET_SPEECH.read_text("utf-8"))
    speeches = data["speechRecord"]
    meetings = load(DIET_SPEECH)
    assert len(meetings) == len({s["issueID"] for s in speeches}) == 1
    m = meetings[0]
    first = speeches[0]
    assert m.date == first["date"]
    assert first["nameOfMeeting"] in m.title and first["issue"] in m.title
    assert m.meeting_number == int(first["issue"].strip("第号"))
    assert first["issueID"].lower() in m.id and m.id.startswith(slugify(DIET_SPEECH.stem) + "-")
    recs = by_record(meetings)
    for pos, sp in enumerate(speeches, 1):
        st = recs[sp["speechID"]]
        assert (st.start_line, st.end_line) == (pos, pos)  # the record's position in the file
        assert st.meeting_id == m.id
        assert not st.text.startswith("○")  # the speaker mark is not part of the speech
        assert squashed(st.text) in squashed(sp["speech"])
        if sp["speechOrder"] == 0:  # the meeting header is a meeting fact
            assert (st.kind, st.role, st.role_label) == ("meta", ROLE_META, "会議録情報")
            continue
        assert st.kind == "statement" and st.speaker == sp["speaker"]
        if sp["speakerPosition"] == "委員長":
            assert st.role == ROLE_CHAIR
        elif sp["speakerRole"] == "参考人":
            assert (st.role, st.role_label) == (ROLE_OFFICIAL, "参考人")
        elif (sp["speakerPosition"] or "").endswith("大臣"):
            assert st.role == ROLE_OFFICIAL
        elif sp["speakerGroup"]:
            assert st.role == ROLE_ASSEMBLY_MEMBER
    # The date is a citable fact naming the meeting's record.
    date_fact = next(s for s in m.statements if s.role_label == "開催日")
    assert date_fact.kind == "meta" and first["date"] in date_fact.text
    assert date_fact.record == first["issueID"]
    roles = [s.role for s in m.statements if s.kind == "statement"]
    assert roles.count(ROLE_ASSEMBLY_MEMBER) == 2


def test_diet_meeting_response_gives_one_meeting_per_meeting_record() -> None:
    data = json.loads(DIET_MEETING.read_text("utf-8"))
    meetings = load(DIET_MEETING)
    assert len(meetings) == len(data["meetingRecord"]) == 2
    assert len({m.id for m in meetings}) == 2
    for m, rec in zip(meetings, data["meetingRecord"], strict=True):
        assert m.date == rec["date"] and rec["nameOfMeeting"] in m.title
        assert m.series == f"{rec['nameOfHouse']} {rec['nameOfMeeting']}"
        # Meeting fields come from the meeting record, speech fields from each speech.
        speech_records = {s.record for s in m.statements if s.kind == "statement"}
        assert speech_records == {
            s["speechID"] for s in rec["speechRecord"] if s["speechOrder"] != 0
        }
    recs = by_record(meetings)
    for rec in data["meetingRecord"]:
        for sp in rec["speechRecord"]:
            position = sp["speakerPosition"] or ""
            role = recs[sp["speechID"]].role
            if position == "内閣総理大臣":
                assert role == ROLE_HEAD
            elif position.startswith("政府参考人") or position.endswith("副大臣"):
                assert role == ROLE_OFFICIAL
            elif position in ("議長", "委員長"):
                assert role == ROLE_CHAIR


def test_bare_speech_record_array_is_a_diet_file(tmp_path: Path) -> None:
    speeches = json.loads(DIET_SPEECH.read_text("utf-8"))["speechRecord"]
    path = tmp_path / "speeches.json"
    path.write_text(json.dumps(speeches, ensure_ascii=False), "utf-8")
    assert detect_records(path, path.read_text("utf-8")) == "diet"
    assert [s.record for s in read_records(path)[0].statements if s.kind == "statement"] == [
        sp["speechID"] for sp in speeches if sp["speechOrder"]
    ]


def test_speech_order_orders_the_meeting(tmp_path: Path) -> None:
    data = json.loads(DIET_SPEECH.read_text("utf-8"))
    data["speechRecord"].reverse()  # API pages can arrive in any order
    path = tmp_path / "reversed.json"
    path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    (m,) = read_records(path)
    speeches = [s for s in m.statements if s.kind == "statement"]
    ids = [s.record for s in speeches]
    assert ids == sorted(ids) and len(ids) == len(data["speechRecord"]) - 1


# --- utterance JSON -----------------------------------------------------------------------------


def test_utterance_json_gives_one_meeting_per_proceeding_with_kanji_dates() -> None:
    data = json.loads(TOKYO.read_text("utf-8"))
    meetings = load(TOKYO)
    assert len(meetings) == len(data) == 2
    assert [m.date for m in meetings] == ["2020-02-19", "2020-02-26"]  # 2020/2/19, 令和二年…
    for p_index, (m, proc) in enumerate(zip(meetings, data, strict=True)):
        assert m.title == proc["ProceedingTitle"]
        speeches = [s for s in m.statements if s.kind == "statement"]
        assert len(speeches) == len(proc["Proceeding"])
        for u_index, (st, u) in enumerate(zip(speeches, proc["Proceeding"], strict=True)):
            assert st.record == f"[{p_index}].Proceeding[{u_index}]"
            assert st.speaker and st.speaker in u["Speaker"] and not st.speaker.endswith("君")
            assert st.role_label and u["Speaker"].startswith(st.role_label)
            assert squashed(st.text) == squashed(u["Utterance"])
    roles = {s.role_label: s.role for m in meetings for s in m.statements}
    assert roles["議長"] == roles["副議長"] == ROLE_CHAIR
    assert roles["百十六番"] == roles["四十二番"] == ROLE_ASSEMBLY_MEMBER
    assert roles["知事"] == roles["副知事"] == ROLE_HEAD
    assert roles["福祉保健局長"] == roles["教育長"] == ROLE_OFFICIAL


def test_flat_utterance_list_is_grouped_by_title_and_date(tmp_path: Path) -> None:
    rows = [
        {"date": "2021-06-01", "title": "第2回定例会", "speaker": "知事（小池百合子君）",
         "utterance": "お答えします。"},
        {"date": "2021-06-01", "title": "第2回定例会", "speaker": "三番（山田花子君）",
         "utterance": "質問します。"},
        {"date": "2021-06-08", "title": "第2回定例会", "speaker": "議長",
         "utterance": "開会します。"},
    ]  # fmt: skip
    path = tmp_path / "flat.json"
    path.write_text(json.dumps(rows, ensure_ascii=False), "utf-8")
    meetings = read_records(path)
    assert [m.date for m in meetings] == ["2021-06-01", "2021-06-08"]
    assert [s.role for s in meetings[0].statements if s.kind == "statement"] == [
        ROLE_HEAD,
        ROLE_ASSEMBLY_MEMBER,
    ]


@pytest.mark.parametrize(
    ("raw", "title", "name"),
    [
        ("議長（石川良一君）", "議長", "石川良一"),
        ("百十六番（増子ひろき君）", "百十六番", "増子ひろき"),
        ("福祉保健局長(内藤淳君)", "福祉保健局長", "内藤淳"),
        ("知事", "知事", None),
        ("山田太郎君", None, "山田太郎"),
        ("", None, None),
    ],
)
def test_split_speaker(raw: str, title: str | None, name: str | None) -> None:
    assert split_speaker(raw) == (title, name)


@pytest.mark.parametrize(
    ("title", "role"),
    [
        ("議長", ROLE_CHAIR),
        ("副委員長", ROLE_CHAIR),
        ("百十六番", ROLE_ASSEMBLY_MEMBER),
        ("１２番", ROLE_ASSEMBLY_MEMBER),
        ("知事", ROLE_HEAD),
        ("副市長", ROLE_HEAD),
        ("内閣総理大臣", ROLE_HEAD),
        ("国務大臣", ROLE_OFFICIAL),
        ("政府参考人（厚生労働省医政局長）", ROLE_OFFICIAL),
        ("警視総監", ROLE_OFFICIAL),
        ("建設局技監", ROLE_OFFICIAL),
        ("選挙管理委員会委員長", ROLE_OFFICIAL),
        ("議会局長", ROLE_OFFICIAL),
        ("事務局長", ROLE_SECRETARIAT),
        ("委員", ROLE_MEMBER),
        ("議員", ROLE_ASSEMBLY_MEMBER),
        ("傍聴者", None),
    ],
)
def test_role_for_title(title: str, role: str | None) -> None:
    assert role_for_title(title) == role


# --- CSV ----------------------------------------------------------------------------------------


def test_csv_rows_are_grouped_into_meetings_by_meeting_and_date() -> None:
    with CSV_UTF8.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    meetings = load(CSV_UTF8)
    keys = list(dict.fromkeys((r["会議名"], r["開催日"]) for r in rows))
    assert len(meetings) == len(keys) == 2
    assert meetings[0].encoding == "utf-8-sig"
    for m, (name, date) in zip(meetings, keys, strict=True):
        assert m.title == name and m.date == date.replace("/", "-")
        assert m.id.startswith("minutes-") and m.date in m.id
        mine = [r for r in rows if (r["会議名"], r["開催日"]) == (name, date)]
        speeches = [s for s in m.statements if s.kind == "statement"]
        assert [s.speaker for s in speeches] == [r["発言者"] for r in mine]
        assert [s.role_label for s in speeches] == [r["役職"] for r in mine]
        assert m.agenda == tuple(dict.fromkeys(r["議題"] for r in mine))
        assert all(s.agenda in m.agenda for s in speeches)
    st = by_record(meetings)
    # A quoted multi-line cell: the record is named by its first line and spans both.
    multi = next(s for s in st.values() if "\n" in s.text)
    assert multi.record == f"row {multi.start_line}" and multi.end_line == multi.start_line + 1
    roles = {s.role_label: s.role for s in st.values()}
    assert roles["委員長"] == ROLE_CHAIR and roles["委員"] == ROLE_MEMBER
    assert roles["市民文化局長"] == ROLE_OFFICIAL and roles["市長"] == ROLE_HEAD


def test_cp932_csv_with_japanese_dates() -> None:
    (m,) = load(CSV_CP932)
    assert m.encoding == "cp932"
    assert m.date == "2023-11-20"  # 令和5年11月20日
    assert any("①" in s.text for s in m.statements)  # a CP932-only character survives
    assert [s.record for s in m.statements if s.kind == "statement"] == ["row 2", "row 3", "row 4"]


def test_csv_order_column_orders_rows(tmp_path: Path) -> None:
    text = "発言番号,発言者,発言\n2,B,二番目の発言です。\n1,A,最初の発言です。\n"
    (m,) = parse_csv(text, str(tmp_path / "x.csv"))
    assert [s.speaker for s in m.statements] == ["A", "B"]
    assert [s.record for s in m.statements] == ["row 3", "row 2"]
    assert m.warnings  # no date column: the meeting says it has no date


def test_csv_column_setting_overrides_the_synonyms(tmp_path: Path) -> None:
    path = tmp_path / "custom.csv"
    path.write_text("中身,話し手,日\n除雪の予算を増やすべきです。,山田,2024-01-09\n", "utf-8")
    result = ingest_paths([path])
    assert not result.meetings and "MINUTES_RAG_CSV_COLUMNS" in str(result.errors[0])
    assert "custom.csv" in str(result.errors[0])
    settings = Settings(csv_columns="text=中身, speaker=話し手,date=日")
    (m,) = read_records(path, settings)
    (st,) = [s for s in m.statements if s.kind == "statement"]
    assert (st.text, st.speaker, m.date) == ("除雪の予算を増やすべきです。", "山田", "2024-01-09")


@pytest.mark.parametrize("raw", ["body=本文", "text", "text="])
def test_bad_column_setting_is_a_sentence_naming_the_setting(raw: str) -> None:
    with pytest.raises(InputError, match="MINUTES_RAG_CSV_COLUMNS"):
        parse_column_setting(raw, "x.csv")


def test_csv_column_setting_naming_a_missing_column(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="本文"):
        parse_csv("発言\nはい。\n", "x.csv", "text=本文")


def test_csv_columns_setting_is_read_from_the_environment() -> None:
    from rag.config import load_settings

    s = load_settings(env={"MINUTES_RAG_CSV_COLUMNS": "text=本文,speaker=話者"})
    assert parse_column_setting(s.csv_columns, "x.csv") == {"text": "本文", "speaker": "話者"}


# --- shapes and errors ------------------------------------------------------------------------


def test_detect_records() -> None:
    assert detect_records(DIET_SPEECH, DIET_SPEECH.read_text("utf-8")) == "diet"
    assert detect_records(DIET_MEETING, DIET_MEETING.read_text("utf-8")) == "diet"
    assert detect_records(TOKYO, TOKYO.read_text("utf-8")) == "utterances"
    assert detect_records(CSV_UTF8, "") == "csv"
    assert detect_records("x.json", '{"name": "minutes-rag"}') is None
    assert detect_records("x.json", "{") is None
    assert detect_records("x.txt", "{}") is None


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"name": "minutes-rag", "version": 1}', "speechRecord"),
        ("[1, 2, 3]", "Utterance"),
        ('{"speechRecord": [', "JSON"),
        ('{"numberOfRecords": 0}', "No speech records"),
    ],
)
def test_unusable_json_gives_a_sentence_naming_the_file(
    tmp_path: Path, content: str, expected: str
) -> None:
    path = tmp_path / "other.json"
    path.write_text(content, "utf-8")
    result = ingest_paths([path])
    assert result.meetings == ()
    (err,) = result.errors
    assert err.file == str(path) and str(err).startswith(str(path))
    assert expected in str(err)


def test_meeting_ids_are_unique_and_stable_across_runs(tmp_path: Path) -> None:
    first = [m.id for m in load(DATA)]
    per_file = sum(len(load(p)) for p in (DIET_SPEECH, DIET_MEETING, TOKYO, CSV_UTF8, CSV_CP932))
    assert len(first) == len(set(first)) == per_file
    assert [m.id for m in load(DATA)] == first
    # Two CSV meetings on one date with different names still get distinct ids.
    text = "会議名,日付,発言\nA会議,2024-01-01,はい。\nB会議,2024-01-01,いいえ。\n"
    ids = [m.id for m in parse_csv(text, "two.csv")]
    assert len(set(ids)) == 2


def test_record_survives_json_forms_and_chunking() -> None:
    from rag.chunk import chunk_meeting

    (m,) = load(DIET_SPEECH)
    assert meeting_from_dict(json.loads(json.dumps(meeting_to_dict(m)))) == m
    chunks = chunk_meeting(m, Settings())
    assert chunks and all(c.record for c in chunks)
    for c in chunks:
        assert chunk_from_dict(chunk_to_dict(c)) == c
        assert source_dict(c)["record"] == c.record
    # Older index files have no record: it defaults to None.
    old = chunk_to_dict(chunks[0])
    del old["record"]
    assert chunk_from_dict(old).record is None


def test_ui_and_briefing_name_the_record() -> None:
    from rag.ui import _where, briefing_source

    (m,) = load(DIET_SPEECH)
    st = m.statements[-1]
    assert st.record and st.record in _where(st.file, st.start_line, st.end_line, st.record)
    assert f"L{st.start_line}" not in _where(st.file, st.start_line, st.end_line, st.record)
    assert "L3–4" in _where("a.txt", 3, 4)
    assert st.record in briefing_source(st)


def test_evaluation_verifies_record_citations_against_the_file() -> None:
    from rag.evaluate import _record_text

    (m,) = load(DIET_SPEECH)
    st = m.statements[-1]
    cache: dict[str, dict[str, str]] = {}
    assert st.text in _record_text(st.file, st.record, cache)
    assert _record_text(st.file, "no such record", cache) == ""
    assert _record_text("missing.json", st.record, cache) == ""


# --- index --------------------------------------------------------------------------------------


def test_manifest_counts_a_file_of_many_meetings_once() -> None:
    from rag.index import _compare_files, _files_manifest

    meetings = load(DIET_MEETING) + load(CSV_CP932)
    files = _files_manifest(meetings, {m.id: 2 for m in meetings})
    assert set(files) == {str(DIET_MEETING), str(CSV_CP932)}
    entry = files[str(DIET_MEETING)]
    assert entry["meeting_ids"] == [m.id for m in meetings[:2]]
    assert entry["meeting_id"] == meetings[0].id and entry["n_chunks"] == 4
    assert "meeting_ids" not in files[str(CSV_CP932)]
    report = _compare_files(meetings, None, Settings())
    assert (report.files_added, report.files_changed, report.files_unchanged) == (2, 0, 0)
    old = {"manifest": {"files": files, "chunking": None}, "cache": {}}
    assert _compare_files(meetings, old, Settings()).files_changed == 2


@pytest.mark.slow
def test_index_over_records_searches_and_cites_the_record(
    settings: Settings, embedder, tmp_path: Path
) -> None:
    from rag.index import build_index, load_index
    from rag.retrieve import search
    from rag.types import hit_to_dict

    s = settings.with_overrides(index_dir=tmp_path / "idx")
    report = build_index([DATA], s)
    assert report.errors == ()
    assert report.files_added == 5  # files, not meetings
    idx = load_index(s)
    assert len(idx.meetings) == len(load(DATA))
    entry = idx.manifest["files"][str(DIET_MEETING)]
    assert sorted(entry["meeting_ids"]) == sorted(m for m in idx.meetings if "diet_meeting" in m)

    speech = next(
        sp
        for sp in json.loads(DIET_SPEECH.read_text("utf-8"))["speechRecord"]
        if sp["speakerRole"] == "参考人"
    )
    hits = search(idx, "森林環境譲与税の配分基準の見直し", k=3, settings=s)
    top = hits[0].chunk
    assert top.record == speech["speechID"] and top.speaker == speech["speaker"]
    assert hit_to_dict(hits[0])["record"] == speech["speechID"]
    # Role filters reach the new roles.
    from rag.types import Filters

    heads = search(idx, "病床確保", k=3, filters=Filters(roles=(ROLE_HEAD,)), settings=s)
    assert heads and all(h.chunk.role == ROLE_HEAD for h in heads)

    from rag.answer import answer

    result = answer("森林環境譲与税の配分について参考人の意見は？", idx, settings=s)
    assert result.found and any(c.chunk.record == speech["speechID"] for c in result.citations)

    again = build_index([DATA], s)
    assert (again.files_unchanged, again.files_added, again.texts_embedded) == (5, 0, 0)


def test_speaker_mark_is_dropped_only_when_it_names_the_speaker() -> None:
    text = "発言者,発言\n山田,○山田委員　除雪について伺います。\n鈴木,○第一に　除雪の体制です。\n"
    (m,) = parse_csv(text, "x.csv")
    assert [s.text for s in m.statements] == ["除雪について伺います。", "○第一に　除雪の体制です。"]


def test_unknown_role_stays_unknown(tmp_path: Path) -> None:
    (m,) = parse_csv("発言者,役職,発言\nA,傍聴者,はい。\n", "x.csv")
    assert m.statements[-1].role == ROLE_UNKNOWN and m.statements[-1].role_label == "傍聴者"
