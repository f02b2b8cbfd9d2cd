"""Structured minutes: one file of records becomes many meetings.

Three shapes are read:

* the national Diet minutes API (国会会議録検索システム, ``recordPacking=json``): the speech-level
  response ``{"speechRecord": [...]}`` and the meeting-level
  ``{"meetingRecord": [{..., "speechRecord": [...]}]}``; speeches are grouped by ``issueID``;
* utterance JSON as in NTCIR QA Lab-PoliInfo's Tokyo assembly data: a list of proceedings, each
  with a date, a title and a list of ``{"Speaker", "Utterance"}``;
* CSV with a header row; column names map to fields through built-in synonyms, overridable with
  ``MINUTES_RAG_CSV_COLUMNS`` (``text=本文,speaker=話者``). Rows are grouped by (meeting, date).

Such files have no line numbers worth citing, so every statement names its record
(``Statement.record``: a speechID, ``[0].Proceeding[3]``, ``row 12``) and ``start_line`` /
``end_line`` hold the record's 1-based position in the file (CSV: the row's physical lines).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from rag.config import Settings
from rag.dates import kanji_to_int, parse_date
from rag.errors import InputError
from rag.text import nfkc, slugify, squash
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
    RawDocument,
    Statement,
)

KINDS = ("diet", "utterances", "csv")
SUFFIXES = (".json", ".csv")

_SHAPES = (
    "対応している形式: 国会会議録検索システム API の JSON（speechRecord / meetingRecord）、"
    "発言 JSON（Speaker と Utterance の一覧を持つ会議の配列）、見出し行つき CSV。"
    " / Supported shapes: the Diet minutes API JSON (speechRecord or meetingRecord), utterance"
    " JSON (a list of proceedings with Speaker/Utterance lists) and CSV with a header row."
)


# --- roles ------------------------------------------------------------------------------------

_SEAT = re.compile(r"^[0-9〇一二三四五六七八九十百千]+番$")
_CHAIR_WORDS = ("委員長", "議長", "座長", "会長")
_HEAD_WORDS = ("総理大臣", "知事", "市長", "区長", "町長", "村長")
_OFFICIAL_WORDS = (
    "大臣", "政務官", "長官", "局長", "部長", "課長", "室長", "所長", "次長", "教育長", "総監",
    "技監", "監", "理事", "参事", "審議官", "院長", "本部長", "管理者", "説明員", "参考人",
    "公述人", "証人", "補佐人",
)  # fmt: skip


def role_for_title(title: str | None) -> str | None:
    """Canonical role for a title as the records write it (議長, 百十六番, 知事, 福祉保健局長,
    国務大臣, 政府参考人（…局長）); None when the title says nothing about the role."""
    t = squash(nfkc(title or ""))
    t = re.sub(r"[(].*$", "", t)  # 政府参考人(厚生労働省医政局長): the title is before it
    if not t:
        return None
    if _SEAT.match(t):  # 百十六番: a seat number, i.e. an assembly member
        return ROLE_ASSEMBLY_MEMBER
    if t.startswith("事務局") or t.endswith(("事務総長", "事務局長", "事務局次長")):
        return ROLE_SECRETARIAT
    if t.endswith(_HEAD_WORDS) or t == "総理":
        return ROLE_HEAD
    if "委員会" in t and t.endswith("委員長"):
        return ROLE_OFFICIAL  # 選挙管理委員会委員長 answers as an official, not as the chair
    if t.endswith(_CHAIR_WORDS):
        return ROLE_CHAIR
    if t.endswith(_OFFICIAL_WORDS) or "政府参考人" in t:
        return ROLE_OFFICIAL
    if t.endswith("議員"):
        return ROLE_ASSEMBLY_MEMBER
    if t.endswith("委員"):
        return ROLE_MEMBER
    return None


_PAREN_SPEAKER = re.compile(r"^(?P<title>[^（(]*?)\s*[（(]\s*(?P<name>[^）)]+?)\s*[）)]$")


def split_speaker(raw: str | None) -> tuple[str | None, str | None]:
    """``議長（石川良一君）`` -> (議長, 石川良一); ``知事`` -> (知事, None); ``山田太郎君`` ->
    (None, 山田太郎)."""
    s = (raw or "").strip().lstrip("○◯〇◎△◆").strip()
    if not s:
        return None, None
    m = _PAREN_SPEAKER.match(s)
    if m:
        title, name = m["title"].strip() or None, m["name"]
    elif role_for_title(s) and not s.endswith("君"):
        title, name = s, None
    else:
        title, name = None, s
    if name:
        name = re.sub(r"\s*(君|さん|氏)$", "", name).strip() or None
    return title, name


# --- small helpers -------------------------------------------------------------------------------


def record_date(raw: Any) -> str | None:
    """ISO date of a record's date field: 2020-02-26, 2020/2/26, 令和二年二月二十六日."""
    text = str(raw or "").strip()
    if not text:
        return None
    text = re.sub(r"[〇一二三四五六七八九十百千]+", lambda m: str(kanji_to_int(m[0])), text)
    return parse_date(text)


def _key(name: str) -> str:
    return re.sub(r"[\s_\-]", "", nfkc(name)).casefold()


def _get(d: dict, *names: str) -> Any:
    """The first of ``names`` present in ``d``, ignoring case, spaces, _ and -."""
    keys = {_key(k): k for k in d}
    for n in names:
        k = keys.get(_key(n))
        if k is not None and d[k] not in (None, ""):
            return d[k]
    return None


def _str(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _clean_text(text: str) -> str:
    """Record text for display: one paragraph per line, indentation and blank lines dropped."""
    lines = (line.strip(" \t\u3000") for line in re.split(r"\r\n|\r|\n", text))
    return "\n".join(line for line in lines if line)


# ○根本委員長　これより… : the speaker mark the Diet (and some assemblies) put before a speech.
_MARKED = re.compile(r"^[○◯〇◎△◆]\S{1,40}?[ \u3000]+")


def _strip_mark(text: str, *who: str | None) -> str:
    """Drop a leading ``○label　``. With ``who`` (the record's speaker title/name), only when the
    label names them, so a ○ bullet opening a CSV cell keeps its words."""
    text = text.lstrip()
    m = _MARKED.match(text)
    if m and (not who or any(w and w in m[0] for w in who)):
        return text[m.end() :]
    return text


def _number(title: str) -> int | None:
    """第3号 / 第２回 in a title (not 第211回国会 or 第1回定例会)."""
    t = nfkc(title)
    m = re.search(r"第\s*(\d+)\s*号", t) or re.search(
        r"第\s*(\d+)\s*回(?!\s*(?:国会|定例会|臨時会))", t
    )
    return int(m[1]) if m else None


# --- building meetings ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Rec:
    """One utterance or meeting fact before it becomes a Statement."""

    text: str
    role: str
    record: str
    start: int  # 1-based position of the record in the file (CSV: physical lines)
    end: int
    role_label: str | None = None
    speaker: str | None = None
    agenda: str | None = None
    kind: str = "statement"
    rank: int | None = None  # speechOrder / 発言番号 when the record gives one


@dataclass
class _Draft:
    """One meeting being collected from the records."""

    key: str  # id suffix: issueID, date or title
    title: str
    date_raw: str
    recs: list[_Rec] = field(default_factory=list)
    date_record: str | None = None  # the record holding the date (cited by the date fact)
    series: str | None = None


def _meta(label: str, value: str, record: str, pos: int) -> _Rec:
    return _Rec(f"{label}：{value}", ROLE_META, record, pos, pos, role_label=label, kind="meta")


def _build(file: str, drafts: Iterable[_Draft]) -> list[Meeting]:
    """Drafts -> meetings with ids ``<file slug>-<key>``, unique within the file."""
    base = slugify(Path(file).stem)
    used: set[str] = set()
    meetings: list[Meeting] = []
    for d in drafts:
        body = [r for r in d.recs if r.text.strip()]
        if not body:
            continue
        if all(r.rank is not None for r in body):  # the records' own numbering orders them
            body.sort(key=lambda r: (r.rank, r.start))
        mid = f"{base}-{slugify(d.key)}" if d.key else base
        new, n = mid, 2
        while new in used:
            new, n = f"{mid}-{n}", n + 1
        used.add(new)
        date = record_date(d.date_raw)
        agenda = tuple(dict.fromkeys(r.agenda for r in body if r.agenda))
        facts: list[_Rec] = []
        if d.date_raw:  # a citable meeting fact, like 日時： lines in text minutes
            facts.append(
                _meta("開催日", d.date_raw, d.date_record or body[0].record, body[0].start)
            )
        if agenda:
            facts.append(_meta("議題一覧", "／".join(agenda), body[0].record, body[0].start))
        recs = facts + [r for r in body if r.kind == "meta"] + [r for r in body if r.kind != "meta"]
        statements = tuple(
            Statement(
                meeting_id=new,
                file=file,
                order=i,
                text=r.text,
                norm_text=nfkc(r.text),
                role=r.role,
                start_line=r.start,
                end_line=r.end,
                role_label=r.role_label,
                speaker=r.speaker,
                agenda=r.agenda,
                kind=r.kind,
                record=r.record,
            )
            for i, r in enumerate(recs)
        )
        warnings = ()
        if date is None:
            warnings = (
                "開催日が見つかりません（日付での絞り込みには一致しません）。"
                " / No meeting date found: date filters will not match this meeting.",
            )
        meetings.append(
            Meeting(
                id=new,
                file=file,
                title=d.title,
                statements=statements,
                series=d.series,
                meeting_number=_number(d.title),
                date=date,
                agenda=agenda,
                doc_kind="verbatim",
                warnings=warnings,
            )
        )
    return meetings


# --- Diet minutes API ---------------------------------------------------------------------------


def _diet_role(position: str, role: str, group: str) -> tuple[str, str]:
    """(canonical role, label) of a Diet speaker. Members have no position, only a group.
    speakerRole (参考人 / 証人 / 公述人) comes first: a 参考人's position is the post they hold
    outside (全国町村会行政委員長), not their role in this meeting."""
    for label in (role, position):
        canon = role_for_title(label)
        if canon:
            return canon, label
    if group or not (position or role):
        return ROLE_ASSEMBLY_MEMBER, "議員"
    return ROLE_UNKNOWN, position or role


def parse_diet_json(data: Any, file: str) -> list[Meeting]:
    """A Diet API response (``/api/speech`` or ``/api/meeting``) -> one meeting per issueID."""
    flat: list[tuple[dict, str]] = []  # (speech fields merged over its meeting's, record path)
    if isinstance(data, list):  # the speechRecord array saved on its own
        data = {"speechRecord": data}
    meeting_records = _get(data, "meetingRecord")
    if isinstance(meeting_records, list):
        for i, m in enumerate(meeting_records):
            if not isinstance(m, dict):
                continue
            outer = {k: v for k, v in m.items() if k != "speechRecord"}
            for j, sp in enumerate(_get(m, "speechRecord") or []):
                if isinstance(sp, dict):
                    flat.append(({**outer, **sp}, f"meetingRecord[{i}].speechRecord[{j}]"))
    else:
        for j, sp in enumerate(_get(data, "speechRecord") or []):
            if isinstance(sp, dict):
                flat.append((sp, f"speechRecord[{j}]"))

    drafts: dict[str, _Draft] = {}
    for pos, (sp, path) in enumerate(flat, 1):
        house, name, issue = (_str(_get(sp, k)) for k in ("nameOfHouse", "nameOfMeeting", "issue"))
        date = _str(_get(sp, "date"))
        issue_id = _str(_get(sp, "issueID"))
        key = issue_id or "-".join(x for x in (house, name, issue, date) if x)
        record = _str(_get(sp, "speechID")) or path
        d = drafts.get(key)
        if d is None:
            session = _str(_get(sp, "session"))
            title = " ".join(
                x for x in (f"第{session}回国会" if session else "", house, name, issue) if x
            )
            d = drafts[key] = _Draft(
                key=issue_id or (date + "-" + name if date else key),
                title=title or Path(file).stem,
                date_raw=date,
                date_record=issue_id or record,
                series=" ".join(x for x in (house, name) if x) or None,
            )
        order = _int(_get(sp, "speechOrder"))
        speaker = _str(_get(sp, "speaker"))
        text = _clean_text(_strip_mark(_str(_get(sp, "speech"))))
        if order == 0 or speaker == "会議録情報":  # the header: attendance, agenda, time
            d.recs.append(
                _Rec(text, ROLE_META, record, pos, pos, "会議録情報", kind="meta", rank=order)
            )
            continue
        role, label = _diet_role(
            _str(_get(sp, "speakerPosition")),
            _str(_get(sp, "speakerRole")),
            _str(_get(sp, "speakerGroup")),
        )
        d.recs.append(_Rec(text, role, record, pos, pos, label, speaker or None, rank=order))
    return _build(file, drafts.values())


# --- utterance JSON (PoliInfo / tokyo2020) ------------------------------------------------------

_UTTERANCE_LISTS = ("Proceeding", "Utterances", "Speeches", "Statements", "発言")
_TITLE_KEYS = ("ProceedingTitle", "Title", "Meeting", "MeetingName", "Name", "会議名", "表題")
_DATE_KEYS = ("Date", "MeetingDate", "開催日", "日付")


def _utterance_list(p: dict) -> tuple[str, list] | None:
    for name in _UTTERANCE_LISTS:
        for k, v in p.items():
            if _key(k) == _key(name) and isinstance(v, list):
                return k, v
    return None


def _is_utterance(u: Any) -> bool:
    return isinstance(u, dict) and _get(u, "Utterance", "Speech", "Text") is not None


def _proceedings(data: Any) -> list[dict] | None:
    """The proceedings of an utterance JSON, or None when ``data`` is not one."""
    if isinstance(data, dict):
        inner = next((v for v in data.values() if isinstance(v, list)), None)
        data = inner if inner is not None else [data]
    if not isinstance(data, list) or not data:
        return None
    dicts = [p for p in data if isinstance(p, dict)]
    if dicts and all(_is_utterance(p) and _utterance_list(p) is None for p in dicts):
        return [{"Proceeding": dicts, "_flat": True}]  # a flat list of dated utterances
    found = [p for p in dicts if (lst := _utterance_list(p)) and any(map(_is_utterance, lst[1]))]
    return found or None


def parse_utterance_json(data: Any, file: str) -> list[Meeting]:
    """Proceedings with ``Date``, ``ProceedingTitle``/``Title`` and ``Proceeding``:
    ``[{Speaker, Utterance}]`` -> one meeting per proceeding (a flat list: per title and date)."""
    procs = _proceedings(data)
    if procs is None:
        raise InputError(file, f"発言 JSON の形ではありません。{_SHAPES}")
    drafts: dict[tuple, _Draft] = {}
    pos = 0
    for p_index, p in enumerate(procs):
        key_name, utterances = _utterance_list(p) or ("Proceeding", [])
        for u_index, u in enumerate(utterances):
            if not _is_utterance(u):
                continue
            pos += 1
            src = u if p.get("_flat") else p
            title = _str(_get(src, *_TITLE_KEYS))
            date = _str(_get(src, *_DATE_KEYS))
            group = (title, date) if p.get("_flat") else (p_index,)
            d = drafts.get(group)
            if d is None:
                d = drafts[group] = _Draft(
                    key=record_date(date) or date or title,
                    title=title or Path(file).stem,
                    date_raw=date,
                )
            uid = _str(_get(u, "ID", "Number", "No"))
            path = f"[{u_index}]" if p.get("_flat") else f"[{p_index}].{key_name}[{u_index}]"
            record = f"{path} ID {uid}" if uid else path
            label, name = split_speaker(_str(_get(u, "Speaker", "Name", "発言者")))
            role = role_for_title(label) or ROLE_UNKNOWN
            text = _clean_text(
                _strip_mark(_str(_get(u, "Utterance", "Speech", "Text")), label, name)
            )
            d.recs.append(_Rec(text, role, record, pos, pos, label, name))
            d.date_record = d.date_record or (f"[{p_index}]" if not p.get("_flat") else record)
    return _build(file, drafts.values())


# --- CSV ---------------------------------------------------------------------------------------

CSV_FIELDS: dict[str, tuple[str, ...]] = {
    "text": ("text", "発言", "発言内容", "speech", "utterance", "本文", "内容"),
    "speaker": ("speaker", "発言者", "発言者名", "氏名", "話者", "name"),
    "role": ("role", "役職", "speakerPosition", "肩書", "肩書き", "役割", "position"),
    "date": ("date", "日付", "開催日", "開催日付", "年月日"),
    "meeting": ("meeting", "会議名", "title", "nameOfMeeting", "会議"),
    "order": ("order", "発言番号", "speechOrder", "番号", "no"),
    "agenda": ("agenda", "議題", "案件"),
    "id": ("id", "speechID", "発言ID", "record"),
}


def parse_column_setting(raw: str, file: str) -> dict[str, str]:
    """``text=本文,speaker=話者`` -> {field: column}; InputError names the bad entry."""
    out: dict[str, str] = {}
    for part in re.split(r"[,、]", raw or ""):
        if not part.strip():
            continue
        name, sep, column = part.partition("=")
        name = name.strip().lower()
        if not sep or name not in CSV_FIELDS or not column.strip():
            raise InputError(
                file,
                f"設定 MINUTES_RAG_CSV_COLUMNS の {part.strip()!r} が不正です"
                f"（項目=列名 の形で、項目は {' / '.join(CSV_FIELDS)}）。"
                f" / MINUTES_RAG_CSV_COLUMNS entry {part.strip()!r} is invalid: write"
                f" field=column with a field among {', '.join(CSV_FIELDS)}.",
            )
        out[name] = column.strip()
    return out


def _columns(header: list[str], overrides: dict[str, str], file: str) -> dict[str, int]:
    index = {_key(h): i for i, h in reversed(list(enumerate(header)))}  # first one wins
    cols: dict[str, int] = {}
    for name, column in overrides.items():
        if _key(column) not in index:
            raise InputError(
                file,
                f"MINUTES_RAG_CSV_COLUMNS の列 {column!r} が見出し行にありません"
                f"（見出し: {'、'.join(header)}）。"
                f" / Column {column!r} from MINUTES_RAG_CSV_COLUMNS is not in the header"
                f" ({', '.join(header)}).",
            )
        cols[name] = index[_key(column)]
    for name, synonyms in CSV_FIELDS.items():
        if name not in cols:
            hit = next((index[_key(s)] for s in synonyms if _key(s) in index), None)
            if hit is not None and hit not in cols.values():
                cols[name] = hit
    if "text" not in cols:
        raise InputError(
            file,
            f"CSV に発言の列がありません（見出し: {'、'.join(header)}）。列名を「発言」「本文」"
            "などにするか、MINUTES_RAG_CSV_COLUMNS で text=列名 を指定してください。"
            f" / No text column in the CSV header ({', '.join(header)}): name it text/発言 or"
            " set MINUTES_RAG_CSV_COLUMNS=text=<column>.",
        )
    return cols


def parse_csv(text: str, file: str, columns: str | dict[str, str] = "") -> list[Meeting]:
    """CSV rows -> meetings grouped by (meeting, date). ``columns`` maps fields to column names
    (a ``MINUTES_RAG_CSV_COLUMNS`` string or a dict) on top of the built-in synonyms."""
    text = text.removeprefix("\ufeff")
    first = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter="\t" if "\t" in first else ",")
    try:
        rows = []
        line = 0
        for row in reader:
            rows.append((line + 1, reader.line_num, row))
            line = reader.line_num
    except csv.Error as exc:
        raise InputError(
            file,
            f"CSV を解析できません（{line + 1} 行目付近: {exc}）。 / The CSV cannot be parsed"
            f" near line {line + 1}: {exc}.",
        ) from None
    rows = [r for r in rows if any(c.strip() for c in r[2])]
    if not rows:
        raise InputError(file, "CSV に行がありません。 / The CSV has no rows.")
    header = [h.strip() for h in rows[0][2]]
    overrides = columns if isinstance(columns, dict) else parse_column_setting(columns, file)
    cols = _columns(header, overrides, file)

    def cell(row: list[str], name: str) -> str:
        i = cols.get(name)
        return row[i].strip() if i is not None and i < len(row) else ""

    drafts: dict[tuple[str, str], _Draft] = {}
    for start, end, row in rows[1:]:
        body = _clean_text(cell(row, "text"))
        if not body:
            continue
        meeting, date = cell(row, "meeting"), cell(row, "date")
        d = drafts.get((meeting, date))
        if d is None:
            d = drafts[(meeting, date)] = _Draft(
                key=record_date(date) or date or meeting,
                title=meeting or Path(file).stem,
                date_raw=date,
            )
        label, name = split_speaker(cell(row, "speaker"))
        label = cell(row, "role") or label
        record = cell(row, "id") or f"row {start}"
        d.recs.append(
            _Rec(
                _strip_mark(body, label, name),
                role_for_title(label) or ROLE_UNKNOWN,
                record,
                start,
                end,
                label or None,
                name,
                cell(row, "agenda") or None,
                rank=_int(cell(row, "order")),
            )
        )
        d.date_record = d.date_record or record
    return _build(file, drafts.values())


# --- entry points ------------------------------------------------------------------------------


def _is_diet_speech(d: Any) -> bool:
    return isinstance(d, dict) and _get(d, "speechID", "issueID") is not None


def _json_kind(data: Any) -> str | None:
    if isinstance(data, list) and data and all(map(_is_diet_speech, data)):
        return "diet"  # the speechRecord array saved on its own
    if isinstance(data, dict) and (
        _get(data, "speechRecord") is not None
        or _get(data, "meetingRecord") is not None
        or _get(data, "numberOfRecords") is not None
    ):
        return "diet"
    if _proceedings(data) is not None:
        return "utterances"
    return None


def _load_json(text: str, file: str) -> Any:
    try:
        return json.loads(text.removeprefix("\ufeff"))
    except json.JSONDecodeError as exc:
        raise InputError(
            file,
            f"JSON として読めません（{exc.lineno} 行 {exc.colno} 列: {exc.msg}）。"
            f" / Not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}).",
        ) from None


def detect_records(path: str | Path, text: str) -> str | None:
    """Which structured shape ``text`` (the contents of ``path``) is: diet, utterances, csv or
    None."""
    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix != ".json":
        return None
    try:
        return _json_kind(json.loads(text.removeprefix("\ufeff")))
    except json.JSONDecodeError:
        return None


def parse_records(doc: RawDocument, settings: Settings | None = None) -> list[Meeting]:
    """A read .json/.csv document -> its meetings (InputError when it holds none)."""
    settings = settings or Settings()
    text = "\n".join(doc.lines)
    if doc.path.suffix.lower() == ".csv":
        meetings = parse_csv(text, doc.file, settings.csv_columns)
    else:
        data = _load_json(text, doc.file)
        kind = _json_kind(data)
        if kind is None:
            raise InputError(doc.file, f"この JSON の形には対応していません。{_SHAPES}")
        parser = parse_diet_json if kind == "diet" else parse_utterance_json
        meetings = parser(data, doc.file)
    if not meetings:
        raise InputError(
            doc.file,
            "発言のレコードが見つかりませんでした（本文が空です）。"
            " / No speech records with text found.",
        )
    return [replace(m, sha256=doc.sha256, encoding=doc.encoding) for m in meetings]
