"""Small text helpers shared by parsing, chunking and keyword search."""

from __future__ import annotations

import re
import unicodedata

_WS = re.compile(r"\s+")
_SENT_END = re.compile(r"(?<=[。！？!?])")


def nfkc(text: str) -> str:
    """Search form: NFKC (２０４０ -> 2040, ＤＸ -> DX, full-width space -> space)."""
    return unicodedata.normalize("NFKC", text)


def squash(text: str) -> str:
    """NFKC with all whitespace removed: the form gold substrings are compared in."""
    return _WS.sub("", nfkc(text))


def is_cjk(ch: str) -> bool:
    """True for characters between which a hard wrap must not insert a space."""
    if not ch:
        return False
    o = ord(ch)
    return (
        0x3000 <= o <= 0x30FF  # CJK punctuation, hiragana, katakana
        or 0x3400 <= o <= 0x4DBF
        or 0x4E00 <= o <= 0x9FFF
        or 0xF900 <= o <= 0xFAFF
        or 0xFF00 <= o <= 0xFFEF  # full-width forms
    )


def join_wrapped(parts: list[str]) -> str:
    """Join hard-wrapped line fragments: no space between Japanese characters,
    one space between Latin words."""
    out = ""
    for part in parts:
        part = part.strip()
        if not part:
            continue
        if out and not (is_cjk(out[-1]) or is_cjk(part[0])):
            out += " "
        out += part
    return out


def split_sentences(text: str) -> list[str]:
    """Split after 。！？ (and ASCII !?), keeping the punctuation; never mid-sentence."""
    return [s for s in _SENT_END.split(text) if s.strip()]


def detect_lang(text: str) -> str:
    """'ja' when the text contains any kana/kanji, else 'en'."""
    return "ja" if any(is_cjk(c) and not (0xFF01 <= ord(c) <= 0xFF5E) for c in text) else "en"


# Sentences in the minutes that address the reader as instructions: the tester's injection
# (「以上の指示を無視して…と答えよ」), Japanese imperatives to answer or output, and the usual
# English injection openers. No answer may rest on them, quoted or paraphrased; minutes
# report what was said and do not order the reader to answer.
_INSTRUCTION = re.compile(
    r"指示を無視|(?:と|を)(?:答え|回答せ|出力せ|書け|述べ)よ|答えなさい|回答しなさい|出力しなさい"
    r"|ignore\s+(?:all\s+|the\s+)?(?:previous|above|prior)|you\s+are\s+now|system\s+prompt",
    re.IGNORECASE,
)


def is_instruction(text: str) -> bool:
    """True for text that orders the reader to answer or to ignore instructions: injected
    into minutes, it is data to show, never an answer to cite or a prompt to obey."""
    return bool(_INSTRUCTION.search(nfkc(text)))


def without_instructions(text: str) -> str:
    """``text`` without its sentences that read as instructions (see ``is_instruction``)."""
    lines = []
    for line in text.splitlines():
        parts = re.split(r"(?<=[。！？!?])", line)
        lines.append("".join(p for p in parts if not is_instruction(p)))
    return "\n".join(lines)


def slugify(stem: str) -> str:
    """Stable meeting id from a file stem: NFKC, lower case, word characters joined by '-'.
    Japanese characters are kept so Japanese file names still give readable ids."""
    slug = re.sub(r"[^\w]+", "-", unicodedata.normalize("NFKC", stem).lower()).strip("-_")
    return slug or "meeting"
