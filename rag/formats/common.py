"""What every minutes recogniser shares: cleaned lines, speaker roles, line maps, ids."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.text import is_cjk, slugify
from rag.types import (
    ROLE_ASSEMBLY_MEMBER,
    ROLE_CHAIR,
    ROLE_HEAD,
    ROLE_MEMBER,
    ROLE_OFFICIAL,
    ROLE_SECRETARIAT,
    RawDocument,
)

PUA = re.compile("[\ue000-\uf8ff]")
WS = re.compile(r"\s+")
PAGE = re.compile(
    r"^(?:[-－‐―–—~〜]\s*[0-9０-９]{1,4}\s*[-－‐―–—~〜]"  # - 3 -
    r"|[0-9０-９]{1,4}"  # 3
    r"|[0-9０-９]{1,4}\s*/\s*[0-9０-９]{1,4}"  # 3 / 10
    r"|(?:p|P|page|Page)\.?\s*[0-9]{1,4})$"
)
BULLETS = "・･•‣◦▪●○◯〇◆◇"
SPEAKER_MARKS = "○◯〇◆◎△◇●▲☆★"


def squash_ws(s: str) -> str:
    return WS.sub("", s)


@dataclass
class Line:
    no: int  # 1-based line number in doc.lines
    text: str  # cleaned: no PUA glyphs, no bullet, stripped
    bullet: str | None = None  # the bullet/marker character removed from the front
    raw: str = ""  # stripped, with its marker, PUA removed (for speaker-line matching)
    artifact: bool = False  # a page number / form feed: invisible, not even a blank line


def clean_line(no: int, raw: str) -> Line:
    s = raw.replace("\x0c", "").strip()
    s = re.sub(r"^#{1,6}\s+", "", s)  # Markdown headings
    if not s:
        return Line(no, "", artifact="\x0c" in raw)
    if PAGE.match(PUA.sub("", s).strip()):
        return Line(no, "", artifact=True)  # a bare page number such as "- 3 -"
    bullet = None
    if "\ue000" <= s[0] <= "\uf8ff" or s[0] in BULLETS or s[:2] in ("- ", "* ", "+ "):
        bullet = s[0]  # U+F06C etc. are symbol-font bullets extracted from PDFs
    text = PUA.sub("", s[1:] if bullet else s).strip()
    return Line(no, text, bullet, PUA.sub("", s).strip())


def slug(doc: RawDocument) -> str:
    return slugify(doc.path.stem)


def join_mapped(parts: list[tuple[int, str]]) -> tuple[str, tuple[tuple[int, int], ...]]:
    """``rag.text.join_wrapped`` that also returns (character offset, line number) for each part,
    so a slice of the text can be traced back to its own lines."""
    out = ""
    line_map: list[tuple[int, int]] = []
    for no, part in parts:
        part = part.strip()
        if not part:
            continue
        if out and not (is_cjk(out[-1]) or is_cjk(part[0])):
            out += " "
        line_map.append((len(out), no))
        out += part
    return out, tuple(line_map)


# --- roles -------------------------------------------------------------------------------------

_ROLE_WORDS = {
    ROLE_CHAIR: ("委員長", "副委員長", "議長", "副議長", "座長", "副座長", "会長", "副会長", "部会長",
                 "分科会長"),
    ROLE_SECRETARIAT: ("事務局", "事務局長", "事務局次長", "事務局員", "議事部長", "議会局長",
                       "書記"),
    ROLE_MEMBER: ("委員", "構成員", "有識者", "君"),
    ROLE_ASSEMBLY_MEMBER: ("議員",),
    ROLE_HEAD: ("知事", "副知事", "市長", "副市長", "町長", "副町長", "村長", "副村長", "区長",
                "副区長", "内閣総理大臣"),
    ROLE_OFFICIAL: ("局長", "部長", "課長", "係長", "室長", "所長", "次長", "教育長", "理事", "参事",
                    "主幹", "主査", "審議官", "参事官", "大臣", "副大臣", "政務官", "長官",
                    "参考人", "説明員", "管理者", "本部長", "監", "総監", "技監", "市場長",
                    "監査人", "監査委員", "職務代理者", "兼務"),
}  # fmt: skip
# Longest first, so 事務局長 wins over 局長, 委員長 over 委員 and 副知事 over 知事.
_ROLE_SUFFIXES = tuple(
    sorted(((w, r) for r, ws in _ROLE_WORDS.items() for w in ws), key=lambda t: -len(t[0]))
)


def role_of(label: str) -> tuple[str, str] | None:
    """(canonical role, suffix) for a label such as 委員長, 山田委員, 市民文化局長, 副知事."""
    w = squash_ws(label)
    if w.startswith("事務局"):  # 事務局（北海道）
        return ROLE_SECRETARIAT, "事務局"
    if w.endswith("委員会事務局長"):  # 選挙管理委員会事務局長: an official, not the secretariat
        return ROLE_OFFICIAL, "事務局長"
    for suffix, role in _ROLE_SUFFIXES:
        if w.endswith(suffix):
            return role, suffix
    return None


# ○石破国務大臣: the name is what comes before the title words.
_TITLE_HEADS = ("国務大臣", "内閣総理大臣", "副大臣", "大臣政務官", "政府参考人", "政府特別補佐人")


def who(label: str) -> tuple[str, str, str | None] | None:
    """(role, role_label, speaker name) for a prefix like 事務局 / 委員 / 山田委員 / 石破国務大臣."""
    hit = role_of(label)
    if not hit:
        return None
    role, suffix = hit
    w = squash_ws(label)
    if role == ROLE_SECRETARIAT:
        return role, "事務局", None
    for head in _TITLE_HEADS:
        if w.endswith(head) and len(w) > len(head):
            return role, head, w[: -len(head)]
    name = w[: -len(suffix)] if w.endswith(suffix) else ""
    return role, suffix, (name or None)
