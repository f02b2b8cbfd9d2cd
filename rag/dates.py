"""Dates and numbers as Japanese minutes write them: 和暦 (令和/平成/昭和, 元年), kanji numerals
(令和二年二月二十六日), full-width and ASCII digits."""

from __future__ import annotations

import datetime as dt
import re

from rag.text import nfkc

KANJI_DIGITS = "〇一二三四五六七八九"
KANJI_NUM = "〇一二三四五六七八九十百千"
_ERAS = {"令和": 2018, "平成": 1988, "昭和": 1925, "R": 2018, "H": 1988, "S": 1925}


def kanji_to_int(s: str) -> int | None:
    """一 -> 1, 二十六 -> 26, 百十六 -> 116, 二〇二〇 -> 2020, 元 -> 1, ２６ -> 26; None otherwise."""
    s = nfkc(s).strip()
    if not s:
        return None
    if s.isdigit():
        return int(s)
    if s == "元":
        return 1
    digits = {c: i for i, c in enumerate(KANJI_DIGITS)}
    if all(c in digits for c in s):  # positional: 二〇二〇
        return int("".join(str(digits[c]) for c in s))
    total, cur = 0, 0
    for ch in s:
        if ch in digits:
            cur = digits[ch]
        elif ch in "十百千":
            total += (cur or 1) * {"十": 10, "百": 100, "千": 1000}[ch]
            cur = 0
        elif ch.isdigit():
            cur = cur * 10 + int(ch)
        else:
            return None
    return total + cur


_N = rf"[0-9{KANJI_NUM}]{{1,4}}"
_DATE_PATTERNS = (
    re.compile(rf"(令和|平成|昭和)\s*(元|{_N})\s*年\s*({_N})\s*月\s*({_N})\s*日"),
    re.compile(r"(?<![0-9])(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日"),
    re.compile(r"(?<![0-9])(\d{4})[/.\-](\d{1,2})[/.\-](\d{1,2})(?![0-9])"),
    re.compile(r"(?<![A-Za-z])([RHS])\s*(\d{1,2})\.(\d{1,2})\.(\d{1,2})(?![0-9])"),
)


def date_match(text: str) -> tuple[str, re.Match[str]] | None:
    """The first complete date in NFKC(text) as (ISO date, its match in the NFKC text)."""
    norm = nfkc(text)
    found: list[tuple[int, str, re.Match[str]]] = []
    for pat in _DATE_PATTERNS:
        for m in pat.finditer(norm):
            g = m.groups()
            nums = [kanji_to_int(x) for x in g[-3:]]
            if None in nums:
                continue
            year, month, day = nums  # type: ignore[misc]
            if len(g) == 4:
                year = _ERAS[g[0]] + year
            try:
                found.append((m.start(), dt.date(year, month, day).isoformat(), m))
            except ValueError:
                continue  # 2月30日 etc.: not a date
    if not found:
        return None
    _, iso, m = min(found, key=lambda t: t[0])
    return iso, m


def parse_date(text: str) -> str | None:
    """First full date in ``text`` as ISO YYYY-MM-DD (和暦 令和/平成/昭和 with 元年 or kanji
    numerals, or 西暦, full-width digits allowed): 令和５年２月８日 -> 2023-02-08,
    令和二年二月二十六日 -> 2020-02-26. None when there is no complete date."""
    hit = date_match(text)
    return hit[0] if hit else None


_ERA_YEAR = re.compile(rf"(令和|平成|昭和)\s*(元|{_N})\s*年(度)?")
_ERA_ROMAJI = {"令和": "reiwa", "平成": "heisei", "昭和": "showa"}
_ERA_LETTER = {"令和": "r", "平成": "h", "昭和": "s"}  # R5年度 = 令和５年度


def year_forms(text: str) -> list[str]:
    """The forms a reader may use for each 和暦 year in ``text``: 令和３年度末 -> 2021年度,
    fy2021, fiscal, 2021, reiwa, r3 (a user asks about 「2021年度末時点」 or "FY2021" / "fiscal
    2021 (Reiwa 3)" for 「令和３年度末現在」)."""
    out: list[str] = []
    for m in _ERA_YEAR.finditer(nfkc(text)):
        n = kanji_to_int(m[2])
        if n is None:
            continue
        year = _ERAS[m[1]] + n
        out += [f"{year}年度", f"fy{year}", "fiscal"] if m[3] else [f"{year}年"]
        out += [str(year), _ERA_ROMAJI[m[1]], f"{_ERA_LETTER[m[1]]}{n}"]
    return out
