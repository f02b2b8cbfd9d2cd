"""English → Japanese terms of public administration, for English questions over Japanese minutes.

The keyword side cannot see an English question at all (no shared terms), and the small
multilingual model finds cross-lingual matches less reliably than same-language ones. So an
English question is expanded with the Japanese terms of this general glossary before
retrieval; the original question is kept. The list is deliberately generic (government,
municipal and ICT-policy vocabulary), not built from any particular set of minutes.
"""

from __future__ import annotations

import re

from rag.text import detect_lang

# Multi-word phrases are matched before single words (longest first).
GLOSSARY: dict[str, tuple[str, ...]] = {
    # people and bodies
    "member": ("委員",),
    "members": ("委員",),
    "committee": ("委員会",),
    "expert": ("有識者", "専門家"),
    "experts": ("有識者", "専門家"),
    "chair": ("座長", "委員長", "議長"),
    "chairperson": ("座長", "委員長"),
    "secretariat": ("事務局",),
    "mayor": ("市長",),
    "governor": ("知事",),
    "city": ("市",),
    "prefecture": ("道", "県", "都道府県"),
    "municipality": ("市町村", "自治体"),
    "municipalities": ("市町村", "自治体"),
    "town": ("町", "市町村"),
    "towns": ("市町村",),
    "local government": ("自治体", "地方自治体"),
    "local governments": ("自治体",),
    "citizen": ("市民", "住民"),
    "citizens": ("市民", "住民"),
    "resident": ("住民",),
    "residents": ("住民",),
    "staff": ("職員",),
    "employee": ("職員", "従業員"),
    "employees": ("職員", "従業員"),
    "company": ("企業", "会社"),
    "companies": ("企業",),
    "business": ("企業", "事業"),
    "businesses": ("企業", "事業者"),
    "small business": ("中小企業",),
    "small businesses": ("中小企業",),
    "sme": ("中小企業",),
    "smes": ("中小企業",),
    "private sector": ("民間",),
    "public-private": ("官民",),
    "public private": ("官民",),
    "nation": ("国",),
    "national government": ("国",),
    "administration": ("行政",),
    "government": ("行政", "政府"),
    "student": ("学生", "生徒"),
    "students": ("学生", "生徒"),
    "elderly": ("高齢者",),
    "older people": ("高齢者",),
    "aging": ("高齢化",),
    "ageing": ("高齢化",),
    "population": ("人口",),
    "children": ("子ども", "子供"),
    # meeting vocabulary
    "meeting": ("会議",),
    "agenda": ("議題", "議事"),
    "minutes": ("議事録", "議事要旨"),
    "opinion": ("意見",),
    "opinions": ("意見",),
    "proposal": ("提案",),
    "question": ("質問",),
    "explanation": ("説明",),
    "material": ("資料",),
    "materials": ("資料",),
    "document": ("資料",),
    "report": ("報告",),
    "working group": ("ワーキンググループ",),
    "venue": ("場所", "会場"),
    "date": ("日時",),
    "attendees": ("出席者",),
    # policy and planning
    "strategy": ("戦略",),
    "plan": ("計画",),
    "policy": ("政策", "施策"),
    "policies": ("政策", "施策"),
    "policy making": ("政策立案",),
    "evidence": ("エビデンス", "根拠"),
    "evidence-based": ("エビデンス", "データに基づいた"),
    "goal": ("目標",),
    "goals": ("目標",),
    "target": ("目標",),
    "targets": ("目標",),
    "indicator": ("指標",),
    "indicators": ("指標",),
    "performance indicator": ("成果指標",),
    "kpi": ("成果指標", "指標"),
    "budget": ("予算",),
    "cost": ("コスト", "費用"),
    "costs": ("コスト", "費用"),
    "regulation": ("規制",),
    "regulations": ("規制",),
    "rule": ("ルール", "取り決め"),
    "rules": ("ルール", "取り決め"),
    "roadmap": ("ロードマップ",),
    "framework": ("フレーム", "枠組み"),
    "initiative": ("取組", "取り組み"),
    "initiatives": ("取組", "取り組み"),
    "project": ("事業", "プロジェクト"),
    "projects": ("事業", "プロジェクト"),
    "model case": ("モデルケース",),
    "showcase": ("モデルケース", "事例"),
    "example": ("事例",),
    "examples": ("事例",),
    "case study": ("事例",),
    "issue": ("課題",),
    "issues": ("課題",),
    "challenge": ("課題",),
    "challenges": ("課題",),
    "problem": ("問題", "課題"),
    "problems": ("問題", "課題"),
    "cooperation": ("連携", "協力"),
    "collaboration": ("連携",),
    "partnership": ("連携",),
    "promotion": ("推進",),
    "support": ("支援", "サポート"),
    "incentive": ("インセンティブ",),
    "incentives": ("インセンティブ",),
    "personnel": ("人事",),
    "human resources": ("人材", "人事"),
    "talent": ("人材",),
    "workforce": ("人材", "労働力"),
    "labour shortage": ("人手", "人手不足"),
    "labor shortage": ("人手", "人手不足"),
    "labour shortages": ("人手", "人手不足"),
    "labor shortages": ("人手", "人手不足"),
    "training": ("育成", "研修"),
    "development": ("育成", "開発"),
    "education": ("教育",),
    "school": ("学校",),
    "skills": ("スキル",),
    "skill": ("スキル",),
    "awareness": ("認知", "意識"),
    "publicity": ("発信",),
    "effect": ("効果",),
    "effects": ("効果",),
    "impact": ("影響", "効果"),
    "industry": ("産業",),
    "industries": ("産業",),
    "manufacturing": ("ものづくり", "製造業"),
    "agriculture": ("農業", "一次産業"),
    "primary industry": ("一次産業",),
    "primary industries": ("一次産業",),
    "tourism": ("観光",),
    "snow removal": ("除雪",),
    "disaster": ("防災", "災害"),
    "disaster prevention": ("防災",),
    "crime": ("犯罪",),
    "safety": ("安全", "安心"),
    "welfare": ("福祉",),
    "healthcare": ("医療",),
    "medical": ("医療",),
    "transport": ("交通",),
    "moving house": ("引っ越し", "転居"),
    "relocation": ("引っ越し", "転居"),
    "last mile": ("ラストワンマイル",),
    "procedures": ("手続き",),
    "procedure": ("手続き",),
    "service": ("サービス",),
    "services": ("サービス",),
    "future": ("将来", "未来"),
    "next year": ("次年度", "来年"),
    # digital and data
    "digital": ("デジタル",),
    "digitalisation": ("デジタル化",),
    "digitalization": ("デジタル化",),
    "digital transformation": ("DX", "デジタル変革"),
    "dx": ("DX",),
    "ict": ("ICT",),
    "data": ("データ",),
    "open data": ("オープンデータ",),
    "data platform": ("データ連携基盤",),
    "platform": ("基盤",),
    "data utilisation": ("データ利活用",),
    "data utilization": ("データ利活用",),
    "data sharing": ("データ連携", "共有"),
    "data model": ("データモデル",),
    "data models": ("データモデル",),
    "standard": ("標準",),
    "standards": ("標準",),
    "open source": ("オープンソース",),
    "market": ("市場",),
    "exchange": ("取引",),
    "trading": ("取引",),
    "data exchange": ("データ取引",),
    "share": ("共有",),
    "sharing": ("共有",),
    "telework": ("テレワーク",),
    "teleworking": ("テレワーク",),
    "remote work": ("テレワーク",),
    "working from home": ("テレワーク", "在宅勤務"),
    "work style": ("働き方",),
    "working style": ("働き方",),
    "flexible work": ("柔軟な働き方",),
    "smartphone": ("スマホ", "スマートフォン"),
    "smartphones": ("スマホ", "スマートフォン"),
    "autonomous driving": ("自動運転",),
    "self-driving": ("自動運転",),
    "drone": ("ドローン",),
    "drones": ("ドローン",),
    "ai": ("AI", "人工知能"),
    "system": ("システム",),
    "systems": ("システム",),
    "analog": ("アナログ",),
    "analogue": ("アナログ",),
    "technology": ("技術",),
    "technologies": ("技術",),
    "innovation": ("イノベーション",),
    "productivity": ("生産性",),
    "society 5.0": ("Society5.0",),
    "rate": ("率",),
}

_KEYS = sorted(GLOSSARY, key=len, reverse=True)
_PATTERN = re.compile(r"(?<![a-z0-9])(" + "|".join(re.escape(k) for k in _KEYS) + r")(?![a-z0-9])")


def japanese_terms(question: str) -> list[str]:
    """Japanese glossary terms for the English words and phrases in ``question`` (in order,
    without repeats). Longer phrases win over the single words inside them."""
    out: list[str] = []
    for m in _PATTERN.finditer(question.lower()):
        for term in GLOSSARY[m.group(1)]:
            if term not in out:
                out.append(term)
    return out


def english_keys(question: str) -> list[str]:
    """The English words and phrases of ``question`` that the glossary translates."""
    return [m.group(1) for m in _PATTERN.finditer(question.lower())]


def expand_query(question: str) -> str:
    """``question`` followed by its Japanese glossary terms (unchanged when there are none)."""
    terms = japanese_terms(question)
    return f"{question} {' '.join(terms)}" if terms else question


def search_queries(question: str, expand_dense: bool) -> tuple[str, str]:
    """(dense query, keyword query): an English question gets the Japanese glossary terms on
    the keyword side, and on the dense side too when ``expand_dense``; others stay as typed."""
    expanded = expand_query(question) if detect_lang(question) == "en" else question
    return (expanded if expand_dense else question), expanded
