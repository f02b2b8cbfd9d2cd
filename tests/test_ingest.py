"""Readers and batch ingestion: every format, every encoding, every kind of bad input."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rag.config import Settings
from rag.errors import InputError
from rag.ingest import IngestResult, ingest_paths, iter_files, read_document

ROOT = Path(__file__).resolve().parent.parent
SAPPORO = ROOT / "corpus" / "sapporo-ict-strategy-experts-2.txt"
HOKKAIDO = ROOT / "corpus" / "hokkaido-society5-promotion-2022-2.txt"

MINUTES = """第３回 交通政策検討会議 議事要旨

日時：令和６年１月２２日（月）１０：００～１２：００
場所：市役所本庁舎 ８階 会議室

【議題１】地域公共交通計画について
・バス路線の再編では、通学の足を確保することが①最優先だ。
・デマンド交通は、高齢者の
利用実態を踏まえて設計すべきだ。
以上
"""


def write(path: Path, data: bytes | str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode(encoding))
    return path


def reason(exc: pytest.ExceptionInfo[InputError]) -> str:
    return str(exc.value)


# --- text encodings ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("cp932", "cp932"), ("utf-16", "utf-16")],
)
def test_text_encodings_are_detected(tmp_path: Path, encoding: str, expected: str) -> None:
    path = write(tmp_path / "m.txt", MINUTES, encoding)
    doc = read_document(path)
    assert doc.encoding == expected
    assert doc.kind == "text"
    assert list(doc.lines) == MINUTES.split("\n")[:-1]  # physical lines, final newline ends one
    assert "①" in "".join(doc.lines)  # CP932-only character survives


def test_euc_jp_is_detected(tmp_path: Path) -> None:
    text = MINUTES.replace("①", "").replace("～", "〜")  # CP932-only characters
    doc = read_document(write(tmp_path / "m.txt", text, "euc_jp"))
    assert doc.encoding == "euc_jp"
    assert "\n".join(doc.lines) + "\n" == text


@pytest.mark.parametrize("encoding", ["cp932", "euc_jp"])
def test_real_minutes_in_legacy_encodings_parse_the_same(tmp_path: Path, encoding: str) -> None:
    from rag.parse import parse_document

    text = SAPPORO.read_text(encoding="utf-8")
    legacy = parse_document(read_document(write(tmp_path / SAPPORO.name, text, encoding)))
    original = parse_document(read_document(SAPPORO))
    assert legacy.encoding == encoding
    assert [(s.text, s.start_line, s.end_line) for s in legacy.statements] == [
        (s.text, s.start_line, s.end_line) for s in original.statements
    ]


def test_line_numbers_are_physical_lines(tmp_path: Path) -> None:
    # CRLF endings, a form feed and a U+2028 inside a line must not shift line numbers.
    raw = "一行目\r\n二行目\x0cの続き\r\n\r\n四行目\u2028まだ四行目\r\n五行目"
    doc = read_document(write(tmp_path / "m.txt", raw))
    assert len(doc.lines) == 5
    assert doc.lines[1] == "二行目\x0cの続き" and doc.lines[4] == "五行目"
    assert doc.lines[3].startswith("四行目")


def test_real_corpus_lines_match_the_file() -> None:
    for path in (HOKKAIDO, SAPPORO):
        doc = read_document(path)
        assert list(doc.lines) == path.read_text(encoding="utf-8").split("\n")[:-1]
        assert len(doc.sha256) == 64


# --- PDF, DOCX, HTML ---------------------------------------------------------------------------


def make_pdf(path: Path, pages: list[list[str]]) -> Path:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("HeiseiKakuGo-W5"))
    c = canvas.Canvas(str(path))
    for number, lines in enumerate(pages, 1):
        c.setFont("HeiseiKakuGo-W5", 11)  # the font resets on every page
        y = 800
        for line in lines:
            c.drawString(50, y, line)
            y -= 24
        c.drawString(290, 30, f"- {number} -")  # footer page number: an artefact to drop
        c.showPage()
    c.save()
    return path


PDF_PAGES = [
    [
        "第３回 交通政策検討会議 議事要旨",
        "日時：令和６年１月２２日（月）",
        "【議題１】地域公共交通計画について",
        "・バス路線の再編では、通学の足を確保することが",
        "最優先だ。",
    ],
    ["・デマンド交通は、ＩＣＴ を活用して２０３０年までに導入すべきだ。"],
]


def test_pdf_with_japanese_text(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "kotsu.pdf", PDF_PAGES)
    doc = read_document(path)
    assert doc.kind == "pdf"
    joined = "\n".join(doc.lines)
    for line in PDF_PAGES[0] + PDF_PAGES[1]:
        assert line in joined  # pdfminer decodes the CID font back to the same characters
    result = ingest_paths([path])
    assert not result.errors
    (m,) = result.meetings
    assert m.date == "2024-01-22" and m.meeting_number == 3
    bullets = [s for s in m.statements if s.kind == "statement"]
    assert [s.text for s in bullets] == [
        "バス路線の再編では、通学の足を確保することが最優先だ。",
        PDF_PAGES[1][0][1:],
    ]
    assert all(s.agenda and s.agenda.startswith("【議題１】") for s in bullets)
    assert all(doc.lines[s.start_line - 1].startswith("・") for s in bullets)


def test_pdf_without_text_layer_asks_for_ocr(tmp_path: Path) -> None:
    from reportlab.pdfgen import canvas

    path = tmp_path / "scan.pdf"
    c = canvas.Canvas(str(path))
    c.rect(100, 400, 300, 200, fill=1)  # a "scanned page": shapes, no text
    c.showPage()
    c.save()
    with pytest.raises(InputError) as exc:
        read_document(path)
    assert "OCR" in reason(exc) and "scan.pdf" in reason(exc)


@pytest.mark.parametrize("cut", [0.5, 0.98])
def test_truncated_pdf(tmp_path: Path, cut: float) -> None:
    data = make_pdf(tmp_path / "full.pdf", PDF_PAGES).read_bytes()
    path = write(tmp_path / "cut.pdf", data[: int(len(data) * cut)])
    with pytest.raises(InputError) as exc:
        read_document(path)
    assert "cut.pdf" in reason(exc) and "PDF" in reason(exc)


def test_text_renamed_to_pdf(tmp_path: Path) -> None:
    with pytest.raises(InputError) as exc:
        read_document(write(tmp_path / "fake.pdf", MINUTES))
    assert "fake.pdf" in reason(exc) and "PDF" in reason(exc)


def test_docx_paragraphs_and_tables(tmp_path: Path) -> None:
    import docx

    d = docx.Document()
    d.add_paragraph("第３回 交通政策検討会議 議事要旨")
    table = d.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "日時"
    table.cell(0, 1).text = "令和６年１月２２日（月）"
    table.cell(1, 0).text = "場所"
    table.cell(1, 1).text = "市役所本庁舎 ８階 会議室"
    merged = table.add_row()
    merged.cells[0].merge(merged.cells[1]).text = "出席者：委員５名"
    d.add_paragraph("【議題１】地域公共交通計画について")
    d.add_paragraph("・バス路線の再編では、通学の足を確保することが最優先だ。")
    path = tmp_path / "kotsu.docx"
    d.save(str(path))

    doc = read_document(path)
    assert doc.kind == "docx"
    assert "令和６年１月２２日（月）" in doc.lines and "場所" in doc.lines
    assert doc.lines.index("日時") < doc.lines.index("【議題１】地域公共交通計画について")
    assert doc.lines.count("出席者：委員５名") == 1  # a merged cell is read once
    (m,) = ingest_paths([path]).meetings
    assert m.date == "2024-01-22"
    assert m.venue == "市役所本庁舎 ８階 会議室"
    assert [s.role for s in m.statements if s.kind == "statement"] == ["委員"]


def test_broken_docx(tmp_path: Path) -> None:
    with pytest.raises(InputError) as exc:
        read_document(write(tmp_path / "broken.docx", b"PK\x03\x04 not really a zip"))
    assert "broken.docx" in reason(exc) and "DOCX" in reason(exc)


def test_html_blocks_scripts_and_entities(tmp_path: Path) -> None:
    html = """<!DOCTYPE html><html><head><meta charset="shift_jis"><title>サイト名</title>
    <style>p { color: red }</style></head><body>
    <script>var secret = "表示しない";</script>
    <h1>第３回 交通政策検討会議 議事要旨</h1>
    <p>日時：令和６年１月２２日（月）<br>場所：市役所本庁舎</p>
    <h2>【議題１】地域公共交通計画について</h2>
    <ul><li>・バス路線の再編では、通学の足を
    確保することが最優先だ。</li><li>・運賃は &lt;上限&gt; を設けるべきだ。</li></ul>
    </body></html>"""
    path = write(tmp_path / "kotsu.html", html, "cp932")
    doc = read_document(path)
    assert doc.kind == "html" and doc.encoding == "shift_jis"
    text = "\n".join(doc.lines)
    assert "secret" not in text and "color" not in text and "サイト名" not in text
    assert "場所：市役所本庁舎" in doc.lines  # <br> became a line break
    (m,) = ingest_paths([path]).meetings
    assert m.date == "2024-01-22" and m.venue == "市役所本庁舎"
    texts = [s.text for s in m.statements if s.kind == "statement"]
    assert texts == [
        "バス路線の再編では、通学の足を確保することが最優先だ。",
        "運賃は <上限> を設けるべきだ。",
    ]


# --- bad input ---------------------------------------------------------------------------------


def test_empty_and_whitespace_files(tmp_path: Path) -> None:
    with pytest.raises(InputError) as exc:
        read_document(write(tmp_path / "empty.txt", b""))
    assert "空のファイル" in reason(exc) and "empty.txt" in reason(exc)
    with pytest.raises(InputError) as exc:
        read_document(write(tmp_path / "blank.md", " \n\u3000\n\n"))
    assert "空のファイル" in reason(exc)


def test_binary_junk_renamed_txt(tmp_path: Path) -> None:
    junk = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
    with pytest.raises(InputError) as exc:
        read_document(write(tmp_path / "photo.txt", junk))
    assert "バイナリ" in reason(exc) and "photo.txt" in reason(exc)


@pytest.mark.parametrize(
    "data",
    [
        "会議の記録".encode() + b"\xff\xfd\xfe" + "です".encode(),  # broken UTF-8 bytes
        "Réunion du comité, procès-verbal détaillé".encode("latin-1"),
        "Протокол заседания комиссии".encode("koi8-r"),
    ],
)
def test_unreadable_encoding(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(InputError) as exc:
        read_document(write(tmp_path / "odd.txt", data))
    assert "文字コード" in reason(exc) and "UTF-8" in reason(exc) and "odd.txt" in reason(exc)


def test_file_over_size_limit_is_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    big = tmp_path / "huge.txt"
    with big.open("wb") as f:  # sparse: 3 MB on paper, nothing on disk
        f.truncate(3 * 1024 * 1024)
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail("oversized file was read"))
    with pytest.raises(InputError) as exc:
        read_document(big, Settings(max_file_mb=1))
    assert "huge.txt" in reason(exc) and "1 MB" in reason(exc)


def test_unsupported_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(InputError) as exc:
        read_document(write(tmp_path / "sheet.xlsx", b"PK"))
    assert ".xlsx" in reason(exc)
    with pytest.raises(InputError) as exc:
        read_document(tmp_path / "nothing.txt")
    assert "見つかりません" in reason(exc)


# --- folders and batches -----------------------------------------------------------------------


def make_folder(tmp_path: Path) -> Path:
    root = tmp_path / "minutes"
    shutil.copy(SAPPORO, write(root / "b" / "sapporo.txt", b"x"))
    shutil.copy(HOKKAIDO, write(root / "a.txt", b"x"))
    write(root / "c" / "notes.md", MINUTES, "cp932")
    write(root / "b" / "broken.txt", b"\x00\x01\x02junk" * 50)
    write(root / "b" / "table.xlsx", b"PK")  # unsupported: skipped with a warning
    write(root / ".hidden.txt", MINUTES)
    return root


def test_iter_files_is_recursive_sorted_and_filtered(tmp_path: Path) -> None:
    root = make_folder(tmp_path)
    files = [p.relative_to(root).as_posix() for p in iter_files([root])]
    assert files == ["a.txt", "b/broken.txt", "b/sapporo.txt", "c/notes.md"]
    missing = tmp_path / "missing"
    again = iter_files([missing, root, root / "a.txt"])  # duplicates collapse, order is kept
    assert again[0] == missing and len(again) == 5


def test_folder_with_one_bad_file(tmp_path: Path) -> None:
    root = make_folder(tmp_path)
    calls: list[tuple[int, int, str]] = []
    result = ingest_paths([root, tmp_path / "missing.txt"], progress=lambda *a: calls.append(a))
    assert isinstance(result, IngestResult)
    assert sorted(m.id for m in result.meetings) == ["a", "notes", "sapporo"]
    assert sorted(Path(e.file).name for e in result.errors) == ["broken.txt", "missing.txt"]
    assert all(isinstance(e, InputError) and e.file in str(e) for e in result.errors)
    assert any("xlsx" in w or "unsupported" in w for w in result.warnings)
    assert [(i, n) for i, n, _ in calls] == [(i, 5) for i in range(1, 6)]
    notes = next(m for m in result.meetings if m.id == "notes")
    assert notes.encoding == "cp932" and notes.date == "2024-01-22"


def test_meeting_ids_are_unique(tmp_path: Path) -> None:
    a = write(tmp_path / "x" / "minutes.txt", MINUTES)
    b = write(tmp_path / "y" / "Minutes.txt", MINUTES.replace("第３回", "第４回"))
    c = write(tmp_path / "z" / "minutes.md", MINUTES.replace("第３回", "第５回"))
    result = ingest_paths([a, b, c])
    ids = [m.id for m in result.meetings]
    assert len(set(ids)) == 3 and ids[0] == "minutes"
    for m in result.meetings:
        assert {s.meeting_id for s in m.statements} == {m.id}


def test_identical_files_are_ingested_once(tmp_path: Path) -> None:
    a = write(tmp_path / "one.txt", MINUTES)
    b = write(tmp_path / "copy.txt", MINUTES)
    result = ingest_paths([a, b])
    assert [m.id for m in result.meetings] == ["one"]
    assert any("copy.txt" in w and "one.txt" in w for w in result.warnings)


def test_display_path_is_kept_as_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    (m,) = ingest_paths(["corpus/sapporo-ict-strategy-experts-2.txt"]).meetings
    assert m.file == "corpus/sapporo-ict-strategy-experts-2.txt"
    assert {s.file for s in m.statements} == {m.file}


# --- reusing meetings parsed before (rag.index's parse cache) ---------------------------------


def _as_stored(meetings) -> dict:
    """What rag.index hands back: meetings through their JSON form, by (file, sha256)."""
    import json

    from rag.types import meeting_from_dict, meeting_to_dict

    reuse: dict = {}
    for m in meetings:
        stored = meeting_from_dict(json.loads(json.dumps(meeting_to_dict(m))))
        reuse.setdefault((m.file, m.sha256), []).append(stored)
    return reuse


def _clash_folder(tmp_path: Path) -> list[Path]:
    """Two files whose meetings get the same id, a file of records (several meetings) and a
    copy (skipped with a warning)."""
    folder = tmp_path / "docs"
    write(folder / "x" / "minutes.txt", MINUTES)
    write(folder / "y" / "minutes.txt", MINUTES.replace("第３回", "第４回"))
    shutil.copy(ROOT / "tests" / "data" / "records" / "minutes.csv", folder / "minutes.csv")
    write(folder / "z" / "copy.txt", MINUTES)
    return [folder]


def test_reused_meetings_are_not_parsed_and_come_out_the_same(tmp_path, parsed_files) -> None:
    paths = _clash_folder(tmp_path)
    fresh = ingest_paths(paths)
    assert sorted(parsed_files) == ["minutes.csv", "minutes.txt", "minutes.txt"]
    ids = [m.id for m in fresh.meetings]
    assert len(ids) == len(set(ids)) >= 4 and any(m.parsed_id for m in fresh.meetings)
    parsed_files.clear()
    again = ingest_paths(paths, reuse=_as_stored(fresh.meetings))
    assert parsed_files == []
    assert again == fresh  # meetings (ids, renames), errors and warnings


def test_reused_meetings_are_renumbered_like_a_new_parse(tmp_path, parsed_files) -> None:
    paths = _clash_folder(tmp_path)
    first = ingest_paths(paths)
    (paths[0] / "x" / "minutes.txt").unlink()  # the meeting y's was renamed to make way for
    parsed_files.clear()
    again = ingest_paths(paths, reuse=_as_stored(first.meetings))
    assert parsed_files == ["copy.txt"]  # now the first of its content; the others are reused
    parsed_files.clear()
    assert again == ingest_paths(paths)


def test_a_changed_file_is_parsed_again(tmp_path, parsed_files) -> None:
    paths = _clash_folder(tmp_path)
    first = ingest_paths(paths)
    write(paths[0] / "y" / "minutes.txt", MINUTES.replace("第３回", "第９回"))
    parsed_files.clear()
    again = ingest_paths(paths, reuse=_as_stored(first.meetings))
    assert parsed_files == ["minutes.txt"]
    parsed_files.clear()
    assert again == ingest_paths(paths)
    assert any("第９回" in m.title for m in again.meetings)


def test_parse_stamp_names_the_parser_version_and_parsing_settings() -> None:
    from rag import ingest

    stamp = ingest.parse_stamp(Settings())
    assert stamp == ingest.parse_stamp(Settings(chunk_max_chars=50, model="other"))
    assert stamp != ingest.parse_stamp(Settings(csv_columns="text=本文"))
    assert f"parser {ingest.PARSER_VERSION}" in stamp
