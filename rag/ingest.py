"""Read minutes files (txt/md/pdf/docx/html) into ``RawDocument`` lines, then parse them.

The reading stage: it calls ``rag.parse`` (minutes text) and ``rag.formats.records`` (JSON/CSV),
which know nothing of it; all of them share the records of ``rag.types``.

Every reader returns plain text lines; line numbers used in citations are 1-based indexes into
``RawDocument.lines`` (for .txt/.md exactly the physical lines of the file). Bad input becomes an
``InputError`` naming the file; ``ingest_paths`` collects those and keeps going.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import rag
from rag.config import Settings
from rag.errors import InputError
from rag.formats.records import parse_records
from rag.parse import parse_document
from rag.types import IngestResult, Meeting, RawDocument

SUPPORTED_SUFFIXES = (".txt", ".md", ".pdf", ".docx", ".html", ".htm", ".json", ".csv")
_KIND = {
    ".txt": "text",
    ".md": "text",
    ".pdf": "pdf",
    ".docx": "docx",
    ".html": "html",
    ".htm": "html",
    # Structured records (Diet API / utterance JSON, CSV): decoded like text, then one file
    # becomes many meetings in rag/formats/records.py.
    ".json": "records",
    ".csv": "records",
}

ProgressFn = Callable[[int, int, str], None]

# Bump when reading or parsing changes what a file yields (the readers here, rag/parse.py,
# rag/formats/, rag/exchange.py, rag/text.py, rag/dates.py): ``rag.index`` reuses the meetings
# of an unchanged file only when they were parsed under the same ``parse_stamp``.
PARSER_VERSION = 2  # 2: a 会議名 meta statement (the title lines) per meeting


# --- file discovery ---------------------------------------------------------------------------


def _walk(paths: Iterable[str | Path]) -> tuple[list[Path], list[str]]:
    """Files to read (explicit files always, so unsupported/missing ones get an error entry),
    plus warnings about unsupported files skipped inside folders."""
    out: list[Path] = []
    warnings: list[str] = []
    seen: set[str] = set()

    def add(p: Path) -> None:
        key = os.path.normcase(os.path.abspath(p))
        if key not in seen:
            seen.add(key)
            out.append(p)

    for raw in paths:
        p = Path(raw)
        if not p.is_dir():
            add(p)  # missing or unsupported files are reported by read_document
            continue
        found: list[Path] = []
        skipped = 0
        hidden: list[str] = []

        def unreadable(exc: OSError, top: Path = p) -> None:
            where = exc.filename or top
            warnings.append(
                f"{where}: フォルダを読めないためスキップしました（{exc.strerror}）。"
                "権限を確認してください。"
                f" / Skipped the folder {where}: it cannot be read ({exc.strerror});"
                " check its permissions."
            )

        # os.walk does not follow symlinked folders, so a link loop cannot hang ingestion.
        for root, dirs, files in os.walk(p, onerror=unreadable):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in files:
                if name.startswith(".") or name.startswith("~$"):  # hidden / Office lock files
                    if (
                        not name.startswith("~$")
                        and Path(name).suffix.lower() in SUPPORTED_SUFFIXES
                    ):
                        hidden.append(name)
                    continue
                fp = Path(root) / name
                if fp.suffix.lower() in SUPPORTED_SUFFIXES:
                    found.append(fp)
                else:
                    skipped += 1
        for fp in sorted(found, key=lambda x: x.relative_to(p).as_posix()):
            add(fp)
        if skipped:
            warnings.append(
                f"{p}: 対応していない形式のファイル {skipped} 件をスキップしました"
                f"（対応: {' '.join(SUPPORTED_SUFFIXES)}）。"
                f" / Skipped {skipped} unsupported file(s) in {p}."
            )
        if hidden:
            names = ", ".join(sorted(hidden)[:5]) + (" …" if len(hidden) > 5 else "")
            warnings.append(
                f"{p}: 名前が「.」で始まる隠しファイル {len(hidden)} 件（{names}）は読み込みません。"
                "読み込むには名前を変えるか、ファイルを直接指定してください。"
                f" / Skipped {len(hidden)} hidden file(s) in {p} ({names}): rename them or name"
                " them directly to index them."
            )
    return out, warnings


def iter_files(paths: Iterable[str | Path]) -> list[Path]:
    """Files and folders (recursive) -> sorted supported files. Explicitly named files are kept
    even when missing or unsupported, so ``ingest_paths`` reports them as errors."""
    return _walk(paths)[0]


# --- text decoding -----------------------------------------------------------------------------

_ALLOWED_CONTROLS = {0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1A, 0x1B}  # 0x1A: DOS EOF; 0x1B: ISO-2022


def _looks_binary(data: bytes) -> bool:
    if b"\x00" in data:
        return True
    sample = data[:65536]
    controls = sum(1 for b in sample if b < 0x20 and b not in _ALLOWED_CONTROLS)
    return (controls > 8 and controls > len(sample) * 0.01) or controls > len(sample) * 0.1


def _plausibility(text: str) -> float:
    """Share of non-ASCII characters that are ordinary Japanese text. Wrong decodings of
    Shift_JIS/EUC-JP bytes produce half-width katakana, rare symbols and unassigned code points."""
    good = bad = 0
    for ch in text:
        o = ord(ch)
        if o < 0x80:
            continue
        if (
            0x3000 <= o <= 0x30FF  # punctuation, hiragana, katakana
            or 0x4E00 <= o <= 0x9FFF  # kanji
            or 0xFF01 <= o <= 0xFF5E  # full-width ASCII
            or o in (0x00A0, 0x00D7, 0x2010, 0x2015, 0x2018, 0x2019, 0x201C, 0x201D, 0x2026)
            or 0x2460 <= o <= 0x2473  # circled digits (common in CP932 minutes)
            or 0x2190 <= o <= 0x21FF
            or 0x25A0 <= o <= 0x25FF  # ○ ◎ △ ■ ◆
        ):
            good += 1
        elif o == 0xF06C:
            good += 1  # the PDF bullet glyph we know
        else:
            bad += 1
    return 1.0 if good + bad == 0 else good / (good + bad)


def _utf16_without_bom(sample: bytes) -> bool:
    sample = sample[: len(sample) // 2 * 2]
    for codec in ("utf-16-le", "utf-16-be"):
        try:
            text = sample.decode(codec)
        except UnicodeDecodeError:
            continue
        controls = any(ord(c) < 0x20 and c not in "\t\r\n" for c in text)
        if text and not controls and _plausibility(text) > 0.8:
            return True
    return False


def _binary_reason(data: bytes) -> str:
    """Why the bytes are not text, with what to do: NUL bytes usually mean UTF-16 saved
    without a BOM, or one stray NUL in an otherwise good file."""
    if _utf16_without_bom(data[:4096]):
        return (
            "BOM なしの UTF-16 で保存されたテキストのようです。UTF-8 で保存し直してください。"
            " / This looks like UTF-16 text saved without a BOM: save it again as UTF-8."
        )
    nul = data.find(b"\x00")
    if nul >= 0 and not _looks_binary(data.replace(b"\x00", b"")):
        line = data.count(b"\n", 0, nul) + 1
        return (
            f"{line} 行目（{nul} バイト目）に NUL 文字（\\0）があります。テキストの議事録には含まれない"
            "文字です。取り除くか、UTF-8 で保存し直してください。"
            f" / The text has a NUL byte (\\0) at line {line} (byte {nul}), which text minutes never"
            " contain: remove it (e.g. tr -d '\\000') or save the file again as UTF-8."
        )
    return (
        "バイナリファイルのようです（テキストとして読めません）。"
        "議事録のテキスト・PDF・DOCX・HTML を指定してください。"
        " / This looks like a binary file, not text: give minutes as text, PDF, DOCX or HTML."
    )


def decode_text(data: bytes, file: str) -> tuple[str, str]:
    """Decode minutes text bytes -> (text, encoding). Raises InputError for binary or
    undecodable bytes."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with BOM (Windows "Unicode")
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            pass
    if _looks_binary(data):
        raise InputError(file, _binary_reason(data))
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError:
            pass
    try:
        # Valid UTF-8 is almost never produced by chance from Shift_JIS/EUC-JP bytes.
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    candidates: list[tuple[float, int, str, str]] = []
    encs = ["iso2022_jp"] if b"\x1b$" in data else []
    encs += ["cp932", "euc_jp"]
    for pref, enc in enumerate(encs):
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        candidates.append((_plausibility(text), -pref, enc, text))
    if candidates:
        score, _, enc, text = max(candidates)
        if score >= 0.6:
            return text, enc
    raise InputError(
        file,
        "文字コードを判別できません（対応: UTF-8 / Shift_JIS(CP932) / EUC-JP）。"
        "UTF-8 で保存し直してください。"
        " / Could not detect the text encoding (supported: UTF-8, Shift_JIS/CP932, EUC-JP):"
        " re-save the file as UTF-8.",
    )


def split_physical_lines(text: str) -> list[str]:
    """Lines as editors count them (\\r\\n, \\r or \\n). Unlike str.splitlines this does not
    split on form feeds or U+2028, so line numbers match the file."""
    lines = re.split(r"\r\n|\r|\n", text)
    if lines and lines[-1] == "":
        lines.pop()  # the final newline ends the last line; it does not start a new one
    return lines


# --- readers -----------------------------------------------------------------------------------


def _no_text_error(file: str, what: str) -> InputError:
    return InputError(
        file,
        f"{what}に本文のテキストがありません。内容を確認してください。 / No text in this {what}.",
    )


def _read_text(data: bytes, file: str) -> tuple[list[str], str]:
    text, enc = decode_text(data, file)
    lines = split_physical_lines(text)
    if not any(line.strip() for line in lines):
        raise InputError(
            file, "空のファイルです（空白しかありません）。 / Empty file (only whitespace)."
        )
    return lines, enc


def _read_pdf(path: Path, data: bytes, file: str) -> tuple[list[str], str]:
    if b"%PDF-" not in data[:1024]:
        raise InputError(
            file,
            "PDF ではありません（先頭に %PDF- がありません）。拡張子と中身を確認してください。"
            " / Not a PDF file (no %PDF- header): check the file.",
        )
    if b"%%EOF" not in data[-2048:]:
        # pdfminer silently salvages what it can from a cut-off file; say so instead of
        # indexing half a meeting.
        raise InputError(
            file,
            "PDF が途中で切れています（%%EOF がありません）。ダウンロードし直してください。"
            " / The PDF is truncated (no %%EOF marker): download it again.",
        )
    import logging

    from pdfminer.high_level import extract_text

    # pdfminer logs font quirks (FontBBox ...) as warnings; they are not the user's problem.
    logging.getLogger("pdfminer").setLevel(logging.ERROR)
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
    from pdfminer.pdfpage import PDFTextExtractionNotAllowed

    try:
        text = extract_text(str(path))
    except (PDFPasswordIncorrect, PDFEncryptionError, PDFTextExtractionNotAllowed):
        raise InputError(
            file,
            "PDF が暗号化・保護されているため本文を取り出せません。保護を解除した PDF を指定してください。"
            " / The PDF is encrypted or protected: give an unprotected copy.",
        ) from None
    except Exception as exc:  # pdfminer raises many unrelated types for damaged files
        raise InputError(
            file,
            f"PDF が壊れているか途中で切れているため読み込めません（{type(exc).__name__}）。"
            "元の PDF を取得し直してください。"
            f" / The PDF is damaged or truncated and cannot be read ({type(exc).__name__}):"
            " download it again.",
        ) from None
    # Form feeds mark page ends; turn them into line breaks so lines stay plain text.
    lines = [line.rstrip() for line in split_physical_lines(text.replace("\x0c", "\n"))]
    if not any(line.strip() for line in lines):
        raise InputError(
            file,
            "PDF にテキスト層がありません（OCR が必要です）。スキャン画像の PDF は OCR してから指定してください。"
            " / The PDF has no text layer, OCR needed: run OCR on the scanned PDF first.",
        )
    return lines, "pdf"


def _read_docx(path: Path, file: str) -> tuple[list[str], str]:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(str(path))
    except Exception as exc:  # zipfile.BadZipFile, KeyError, PackageNotFoundError, lxml errors
        raise InputError(
            file,
            f"DOCX が壊れているか Word 文書ではないため読み込めません（{type(exc).__name__}）。"
            " / Not a readable Word .docx file (damaged or another format).",
        ) from None
    lines: list[str] = []

    def add_paragraph(text: str) -> None:
        # Manual line breaks (w:br) arrive as \n inside one paragraph.
        lines.extend(part.rstrip() for part in text.split("\n"))

    def add_table(table: Table) -> None:
        seen: set[object] = set()  # holds the elements themselves: ids of freed proxies repeat
        for row in table.rows:
            for cell in row.cells:
                if cell._tc in seen:  # merged cells repeat the same element
                    continue
                seen.add(cell._tc)
                for par in cell.paragraphs:
                    if par.text.strip():
                        add_paragraph(par.text)
                for inner in cell.tables:
                    add_table(inner)

    body = document.element.body
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            add_paragraph(Paragraph(child, document).text)
        elif tag == "tbl":
            add_table(Table(child, document))
    if not any(line.strip() for line in lines):
        raise _no_text_error(file, "DOCX ")
    return lines, "docx"


_BLOCK_TAGS = {
    "address", "article", "aside", "blockquote", "br", "caption", "dd", "div", "dl", "dt",
    "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
    "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "td", "th",
    "tr", "ul",
}  # fmt: skip
_CJK = "\u3000-\u30ff\u3400-\u9fff\uf900-\ufaff\uff00-\uffef"
_CJK_WRAP = re.compile(f"(?<=[{_CJK}])[ \t]*[\r\n]+[ \t]*(?=[{_CJK}])")
_SKIP_TAGS = {"script", "style", "noscript", "template", "head", "svg"}


class _HTMLText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0
        self.pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self.skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")
            self.pre += tag == "pre"

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")
            if tag == "pre":
                self.pre = max(0, self.pre - 1)

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if not self.pre:
            # Outside <pre> source newlines are whitespace; between Japanese characters a
            # wrapped source line must not leave a space (CSS segment-break rules).
            data = _CJK_WRAP.sub("", data)
            data = re.sub(r"[ \t\r\n\f]+", " ", data)
        self.parts.append(data)


def _read_html(data: bytes, file: str) -> tuple[list[str], str]:
    declared = re.search(
        rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", data[:4096], re.I
    )
    text = enc = None
    if declared:
        name = declared.group(1).decode("ascii").lower()
        try:
            text, enc = data.decode(name), name
            text = text.removeprefix("\ufeff")
        except (LookupError, UnicodeDecodeError):
            text = None
    if text is None:
        text, enc = decode_text(data, file)
    parser = _HTMLText()
    try:
        parser.feed(text)
        parser.close()
    except Exception:  # HTMLParser is lenient; this only guards against pathological input
        raise InputError(file, "HTML を解析できません。 / The HTML could not be parsed.") from None
    lines: list[str] = []
    for line in "".join(parser.parts).split("\n"):
        line = line.strip(" \t")
        if line or (lines and lines[-1]):  # at most one blank line between blocks
            lines.append(line)
    while lines and not lines[-1]:
        lines.pop()
    if not any(line.strip() for line in lines):
        raise _no_text_error(file, "HTML ")
    return lines, enc or "utf-8"


def _broken_link_reason(path: Path) -> str:
    try:
        path.resolve(strict=True)
    except RuntimeError:  # Python 3.11/3.12 report a loop this way
        pass
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            return (
                f"シンボリックリンクの先（{os.readlink(path)}）がありません。リンクを直してください。"
                f" / The symbolic link points to a missing file ({os.readlink(path)}): fix the link."
            )
    return (
        "シンボリックリンクがループしています（リンクが自分自身を指しています）。リンクを直してください。"
        " / Symbolic link loop: the link leads back to itself; fix or remove the link."
    )


def read_document(path: str | Path, settings: Settings | None = None) -> RawDocument:
    """Read one file into lines. Raises InputError (naming the file) for anything unusable."""
    path = Path(path)
    data = _read_bytes(path, settings or Settings())
    return _document(path, data, hashlib.sha256(data).hexdigest())


def _read_bytes(path: Path, settings: Settings) -> bytes:
    """The file's bytes, after the checks that need no decoding (exists, type, size)."""
    file = str(path)
    if not path.exists():
        if path.is_symlink():
            raise InputError(file, _broken_link_reason(path))
        raise InputError(
            file,
            "ファイルが見つかりません。パスを確認してください。 / File not found: check the path.",
        )
    if path.is_dir():
        raise InputError(
            file, "フォルダです。ファイルを指定してください。 / This is a folder, not a file."
        )
    suffix = path.suffix.lower()
    if suffix not in _KIND:
        raise InputError(
            file,
            f"対応していない形式です（{suffix or '拡張子なし'}）。対応形式: "
            f"{' '.join(SUPPORTED_SUFFIXES)}。"
            f" / Unsupported file type {suffix or '(no suffix)'}: use {', '.join(SUPPORTED_SUFFIXES)}.",
        )
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(
            file, f"ファイル情報を読めません（{exc.strerror}）。 / Cannot stat file."
        ) from None
    limit = settings.max_file_mb
    if size > limit * 1024 * 1024:
        # Checked before reading so a huge file never enters memory.
        raise InputError(
            file,
            f"ファイルが大きすぎます（{size / 1048576:.1f} MB、上限 {limit:g} MB）。"
            f"分割するか MINUTES_RAG_MAX_FILE_MB で上限を上げてください。"
            f" / File too large ({size / 1048576:.1f} MB > limit {limit:g} MB):"
            " split it or raise MINUTES_RAG_MAX_FILE_MB.",
        )
    if size == 0:
        raise InputError(file, "空のファイルです。 / Empty file.")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(
            file,
            f"ファイルを読み込めません（{exc.strerror}）。権限を確認してください。"
            f" / Cannot read the file ({exc.strerror}): check permissions.",
        ) from None


def _document(path: Path, data: bytes, sha256: str) -> RawDocument:
    """A file's bytes -> its lines (decoding, PDF/DOCX/HTML text extraction)."""
    file = str(path)
    kind = _KIND[path.suffix.lower()]
    if kind in ("text", "records"):
        lines, enc = _read_text(data, file)
    elif kind == "pdf":
        lines, enc = _read_pdf(path, data, file)
    elif kind == "docx":
        lines, enc = _read_docx(path, file)
    else:
        lines, enc = _read_html(data, file)
    return RawDocument(
        path=path,
        file=file,
        lines=tuple(lines),
        encoding=enc,
        sha256=sha256,
        kind=kind,
    )


# --- the whole step ----------------------------------------------------------------------------


def _parse(doc: RawDocument, settings: Settings) -> list[Meeting]:
    """One document -> its meetings: one for minutes text, many for a file of records."""
    if doc.kind == "records":
        return parse_records(doc, settings)
    meeting = parse_document(doc)
    if not meeting.statements:
        raise InputError(
            doc.file,
            "議事録の本文（発言・段落）が見つかりませんでした。 / No statements or text found.",
        )
    return [meeting]


def read_records(path: str | Path, settings: Settings | None = None) -> list[Meeting]:
    """Read one .json/.csv file into meetings (InputError names the file)."""
    return parse_records(read_document(path, settings), settings)


def _with_id(meeting: Meeting, new_id: str) -> Meeting:
    """The meeting renamed to ``new_id``; ``parsed_id`` keeps the id its parser gave."""
    stmts = tuple(replace(s, meeting_id=new_id) for s in meeting.statements)
    parsed_id = meeting.parsed_id or meeting.id
    return replace(meeting, id=new_id, statements=stmts, parsed_id=parsed_id)


def as_parsed(meeting: Meeting) -> Meeting:
    """The meeting as its parser returned it: a rename (unique ids, ``-kept``) undone."""
    if meeting.parsed_id is None:
        return meeting
    return replace(_with_id(meeting, meeting.parsed_id), parsed_id=None)


def parse_stamp(settings: Settings) -> str:
    """What a file's meetings depend on besides its bytes and its path: the parser's version
    and the settings parsing reads. Meetings parsed under another stamp are parsed again."""
    return f"parser {PARSER_VERSION}, rag {rag.__version__}, csv_columns {settings.csv_columns!r}"


Parsed = Mapping[tuple[str, str], Sequence[Meeting]]


def ingest_paths(
    paths: Iterable[str | Path],
    settings: Settings | None = None,
    progress: ProgressFn | None = None,
    *,
    reuse: Parsed | None = None,
) -> IngestResult:
    """Read and parse every supported file under ``paths``. One bad file yields one InputError
    and never stops the others. ``progress(i, n, file)`` is called after each file (i = 1..n).

    ``reuse`` maps (file, sha256 of its bytes) to meetings already parsed from exactly that
    file under the current :func:`parse_stamp` (``rag.index`` passes those of the index): such
    a file is read and hashed but not decoded or parsed again, and comes out the same."""
    settings = settings or Settings()
    files, warnings = _walk(paths)
    meetings: list[Meeting] = []
    errors: list[InputError] = []
    used_ids: set[str] = set()
    seen_hashes: dict[str, str] = {}
    for i, path in enumerate(files, 1):
        file = str(path)
        try:
            data = _read_bytes(path, settings)
            sha256 = hashlib.sha256(data).hexdigest()
            if sha256 in seen_hashes:
                warnings.append(
                    f"{file}: {seen_hashes[sha256]} と同じ内容のためスキップしました。"
                    f" / Skipped: identical to {seen_hashes[sha256]}."
                )
                continue
            parsed = _parsed(path, data, sha256, settings, reuse or {})
            seen_hashes[sha256] = file
            for meeting in _unique_ids(parsed, used_ids):
                meetings.append(meeting)
                label = f"{file} ({meeting.title})" if len(parsed) > 1 else file
                warnings.extend(f"{label}: {w}" for w in meeting.warnings)
        except InputError as exc:
            errors.append(exc)
        except Exception as exc:  # a parser bug must not abort the whole batch
            errors.append(_unexpected(file, exc))
        finally:
            if progress is not None:
                progress(i, len(files), file)
    return IngestResult(meetings=tuple(meetings), errors=tuple(errors), warnings=tuple(warnings))


def _parsed(
    path: Path, data: bytes, sha256: str, settings: Settings, reuse: Parsed
) -> list[Meeting]:
    """The file's meetings: reused when parsed before from the same bytes, else parsed."""
    known = reuse.get((str(path), sha256))
    if known:
        return [as_parsed(m) for m in known]
    return _parse(_document(path, data, sha256), settings)


def _unique_ids(parsed: list[Meeting], used_ids: set[str]) -> Iterator[Meeting]:
    """The meetings, each renamed ``<id>-2``, ``-3`` ... if an earlier one has its id."""
    for meeting in parsed:
        base = meeting.id
        new_id, n = base, 2
        while new_id in used_ids:
            new_id, n = f"{base}-{n}", n + 1
        used_ids.add(new_id)
        yield meeting if new_id == base else _with_id(meeting, new_id)


def _unexpected(file: str, exc: Exception) -> InputError:
    return InputError(
        file,
        f"解析中に予期しないエラーが発生しました（{type(exc).__name__}: {exc}）。"
        "このファイルを添えて報告してください。"
        f" / Unexpected error while parsing ({type(exc).__name__}): please report it"
        " with this file.",
    )
