"""Optional chat-model answerer (LangChain): OpenAI-compatible servers (vLLM, llama.cpp server,
LM Studio, OpenAI) or Ollama. The model only rewrites retrieved, numbered passages into an
answer; its output is validated (known markers, at least one citation, quotes verbatim) and
after one failed retry ``rag.answer`` falls back to the extractive answer with a note.

LangChain and the provider packages are imported inside functions (no work at import time).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from rag.config import Settings
from rag.errors import ConfigError, LLMError
from rag.text import detect_lang, squash
from rag.types import Answer, Citation, Filters, Hit, Meeting

MAX_PASSAGES = 6
MAX_PASSAGE_CHARS = 600

SYSTEM_PROMPT = """あなたは日本の行政機関の会議の議事録について質問に答えるアシスタントです。
次の規則を必ず守ってください。
1. 下に示す番号付きの抜粋 [1]〜[{n}] に書かれていることだけを根拠に答えること。一般知識や推測で補わないこと。
2. 根拠にした抜粋の番号を、その内容を述べた文の末尾に [1] のように必ず付けること。存在しない番号は使わないこと。
3. 議事録の文言を引用するときは「」で囲み、抜粋の文言を一字一句そのまま書くこと。
4. 抜粋に答えが含まれていない場合は、「{not_found_ja}」とだけ答えること（英語の質問なら "{not_found_en}"）。
5. 質問と同じ言語で答えること（この質問は{lang_name}）。英語で答える場合も「」内の引用は日本語の原文のままにすること。
6. どの会議で、どの立場の発言者（委員・事務局など）が述べたかを明記し、簡潔に答えること。"""

HUMAN_PROMPT = "抜粋:\n{passages}\n\n質問: {question}"

RETRY_PROMPT = """前の回答には次の問題がありました: {problems}
規則に従って、抜粋だけを根拠に、正しい番号 [n] を付け、引用は抜粋の文言どおりにして、回答全体を書き直してください。"""

REWRITE_PROMPT = """次は議事録についての会話で、ユーザーがこれまでにした質問です。
{history}

最後の質問: {question}

最後の質問を、前の質問の話題を補って、それだけで意味が通じる検索用の質問に書き換えてください。
質問の言語は変えないこと。書き換えた質問だけを1行で出力すること。"""

_MARKER = re.compile(r"\[(\d+)\]")
_SENT_END = re.compile(r"[。！？!?\n]")
_AFTER_END = re.compile(r"「|[。！？!?\n](?!\s*\[)")  # a marker may follow the 。
_ELLIPSIS = re.compile(r"…+|\.{3,}|‥+")


_models: dict[tuple, Any] = {}


def make_chat_model(settings: Settings) -> Any:
    """The chat model for these settings, made once per process (each holds an HTTP client)."""
    key = (
        settings.llm_provider,
        settings.llm_model,
        settings.llm_base_url,
        settings.llm_api_key,
        settings.llm_temperature,
        settings.llm_timeout,
    )
    if key not in _models:
        _models[key] = _new_chat_model(settings)
    return _models[key]


def _new_chat_model(settings: Settings) -> Any:
    """A LangChain chat model for ``settings.llm_provider``: "openai" (any OpenAI-compatible
    server: vLLM, llama.cpp server, LM Studio, OpenAI) or "ollama". Nothing is contacted here;
    an unreachable server surfaces as LLMError when answering."""
    provider = settings.llm_provider
    if not provider:
        raise ConfigError(
            "LLM が設定されていません（MINUTES_RAG_LLM_PROVIDER）。"
            " / No chat model configured: set MINUTES_RAG_LLM_PROVIDER to openai or ollama."
        )
    if not settings.llm_model:
        raise ConfigError(
            f"LLM プロバイダ {provider} にはモデル名が必要です（MINUTES_RAG_LLM_MODEL）。"
            f" / Set MINUTES_RAG_LLM_MODEL to the model name to use with {provider}."
        )
    try:
        if provider == "openai":
            from langchain_openai import ChatOpenAI

            return ChatOpenAI(
                model=settings.llm_model,
                base_url=settings.llm_base_url or None,
                api_key=settings.llm_api_key or "none",  # local servers ignore the key
                temperature=settings.llm_temperature,
                timeout=settings.llm_timeout,
                max_retries=1,
            )
        if provider == "ollama":
            from langchain_ollama import ChatOllama

            return ChatOllama(
                model=settings.llm_model,
                base_url=settings.llm_base_url or "http://localhost:11434",
                temperature=settings.llm_temperature,
                client_kwargs={"timeout": settings.llm_timeout},
            )
    except ImportError as exc:
        raise LLMError(
            f"LLM プロバイダ {provider} 用のパッケージがありません（{exc.name}）。"
            f"pip install langchain-{provider} を実行してください。"
            f" / The package for provider {provider} is missing: pip install langchain-{provider}."
        ) from None
    raise ConfigError(
        f"LLM プロバイダ {provider!r} は使えません（openai / ollama）。"
        f" / Unknown LLM provider {provider!r}: use openai or ollama."
    )


def _unreachable(model: Any, exc: Exception) -> LLMError:
    where = (
        getattr(model, "openai_api_base", None)
        or getattr(model, "base_url", None)
        or getattr(model, "model_name", None)
        or type(model).__name__
    )
    return LLMError(
        f"LLM（{where}）から回答を得られませんでした（{type(exc).__name__}）。"
        "サーバーが起動しているか、MINUTES_RAG_LLM_BASE_URL と MINUTES_RAG_LLM_MODEL を確認してください。"
        f" / Could not get an answer from the chat model at {where} ({type(exc).__name__}):"
        " check that the server is running and MINUTES_RAG_LLM_BASE_URL / MINUTES_RAG_LLM_MODEL."
    )


def build_prompt() -> Any:
    """The answer prompt (Japanese instructions; the question's language for the answer)."""
    from langchain_core.prompts import ChatPromptTemplate

    return ChatPromptTemplate.from_messages([("system", SYSTEM_PROMPT), ("human", HUMAN_PROMPT)])


def pick_passages(hits: Sequence[Hit], max_n: int = MAX_PASSAGES) -> list[Hit]:
    """Candidate passages for the model: best first, one per statement, no meeting-info."""
    out: list[Hit] = []
    seen: set[tuple[str, int]] = set()
    for h in hits:
        key = (h.chunk.meeting_id, h.chunk.order)
        if h.chunk.kind == "meta" or key in seen:
            continue
        seen.add(key)
        out.append(h)
        if len(out) >= max_n:
            break
    return out


def format_passages(hits: Sequence[Hit], meetings: dict[str, Meeting]) -> str:
    from rag.answer import meeting_label

    blocks = []
    for i, h in enumerate(hits, 1):
        c = h.chunk
        m = meetings.get(c.meeting_id)
        label = meeting_label(c.title, m.meeting_number if m else None)
        who = c.role_label or c.role
        head = (
            f"[{i}] 会議: {label}（{c.date or '日付なし'}）／議題: {c.agenda or '-'}／発言者: {who}"
        )
        blocks.append(f"{head}\n{c.text[:MAX_PASSAGE_CHARS]}")
    return "\n\n".join(blocks)


def prompt_messages(question: str, hits: Sequence[Hit], meetings: dict[str, Meeting]) -> list:
    from rag.answer import NOT_FOUND_EN, NOT_FOUND_JA

    lang = detect_lang(question)
    return build_prompt().format_messages(
        n=len(hits),
        not_found_ja=NOT_FOUND_JA,
        not_found_en=NOT_FOUND_EN,
        lang_name="日本語" if lang == "ja" else "英語",
        passages=format_passages(hits, meetings),
        question=question,
    )


def quote_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of the outermost 「…」 contents (a quote may itself contain 「FIWARE」)."""
    out: list[tuple[int, int]] = []
    depth, start = 0, 0
    for i, ch in enumerate(text):
        if ch == "「":
            if depth == 0:
                start = i + 1
            depth += 1
        elif ch == "」" and depth > 0:
            depth -= 1
            if depth == 0 and i - start >= 2:
                out.append((start, i))
    return out


def quotes(text: str) -> list[str]:
    return [text[s:e] for s, e in quote_spans(text)]


def _in_passage(quote: str, text: str) -> bool:
    """A quote is verbatim when each piece between ellipses occurs in the passage (NFKC,
    whitespace-insensitive, since models drop the wrap spaces)."""
    hay = squash(text)
    pieces = [squash(p) for p in _ELLIPSIS.split(quote)]
    pieces = [p for p in pieces if p]
    return bool(pieces) and all(p in hay for p in pieces)


def is_refusal(text: str) -> bool:
    from rag.answer import NOT_FOUND_EN, NOT_FOUND_JA

    t = squash(text).lower()
    return not _MARKER.search(text) and (
        squash(NOT_FOUND_JA)[:12] in t
        or "見つかりませんでした" in t
        or "含まれていません" in t
        or squash(NOT_FOUND_EN).lower()[:20] in t
        or "do not contain" in text.lower()
        or "does not contain" in text.lower()
    )


def validate(text: str, passages: Sequence[str]) -> list[str]:
    """Problems with a model answer over numbered ``passages`` (empty list = valid): a marker
    that names no passage, no marker at all, or a 「quote」 not found in the passage(s) cited in
    the same sentence (or in any cited passage when the sentence cites none)."""
    problems: list[str] = []
    marks = [int(m) for m in _MARKER.findall(text)]
    if not marks:
        return ["引用番号 [n] がありません / no [n] citation"]
    bad = sorted({n for n in marks if not 1 <= n <= len(passages)})
    if bad:
        problems.append(
            f"存在しない番号 {bad} があります（使えるのは 1〜{len(passages)}）"
            f" / unknown markers {bad} (valid: 1-{len(passages)})"
        )
    cited = {n for n in marks if 1 <= n <= len(passages)}
    for start, end in quote_spans(text):
        q = text[start:end]
        if not any(
            _in_passage(q, passages[n - 1])
            for n in _markers_near(text, start, end) & cited or cited
        ):
            problems.append(
                f"引用「{q[:40]}」が抜粋にありません / quote not found in the cited passage"
            )
    return problems


def _markers_near(text: str, start: int, end: int) -> set[int]:
    """Markers citing a quote: those after it up to the end of its sentence, else those
    earlier in the same sentence."""
    stop = _AFTER_END.search(text, end + 1)
    after = text[end : stop.start() if stop else len(text)]
    found = {int(m) for m in _MARKER.findall(after)}
    if found:
        return found
    begin = max((m.end() for m in _SENT_END.finditer(text, 0, max(start - 1, 0))), default=0)
    return {int(m) for m in _MARKER.findall(text[begin:start])}


def renumber(text: str, hits: Sequence[Hit], question: str) -> tuple[str, tuple[Citation, ...]]:
    """Citations for a valid model answer: the cited passages in order of first mention,
    renumbered 1..m in the text; each quote is the model's own verified quote from that passage
    when it is verbatim, else the passage's most relevant sentence."""
    from rag.answer import best_quote, content_terms

    order: list[int] = []
    for m in _MARKER.findall(text):
        n = int(m)
        if 1 <= n <= len(hits) and n not in order:
            order.append(n)
    new_no = {old: i for i, old in enumerate(order, 1)}
    new_text = _MARKER.sub(lambda m: f"[{new_no.get(int(m.group(1)), 0)}]", text)
    terms = content_terms(question)
    citations = []
    for old in order:
        chunk = hits[old - 1].chunk
        # The model's own quote when it is verbatim and substantial (not just 「FIWARE」).
        own = [q for q in quotes(text) if len(q) >= 8 and q in chunk.text]
        quote = max(own, key=len) if own else best_quote(chunk, terms)
        citations.append(Citation(n=new_no[old], chunk=chunk, quote=quote))
    return new_text, tuple(citations)


def _text_of(msg: Any) -> str:
    content = getattr(msg, "content", msg)
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content blocks
        return "".join(b.get("text", "") if isinstance(b, dict) else str(b) for b in content)
    return str(content)


def llm_answer_stream(
    model: Any,
    question: str,
    query: str,
    hits: Sequence[Hit],
    meetings: dict[str, Meeting],
    settings: Settings,
    filters: Filters,
) -> Iterator[str | Answer | None]:
    """Stream the model's first attempt as text deltas, validate, retry once (not streamed),
    then yield the final ``Answer`` (mode "llm"), or ``None`` when both attempts were invalid
    (the caller falls back to the extractive answer). Raises LLMError when unreachable."""
    from langchain_core.messages import AIMessage, HumanMessage

    passages = pick_passages(hits)
    texts = [h.chunk.text[:MAX_PASSAGE_CHARS] for h in passages]
    messages = prompt_messages(query, passages, meetings)
    out = ""
    try:
        for chunk in model.stream(messages):
            delta = _text_of(chunk)
            if delta:
                out += delta
                yield delta
    except Exception as exc:  # connection refused, timeout, HTTP errors from any provider
        raise _unreachable(model, exc) from None
    for attempt in range(2):
        if is_refusal(out):
            from rag.answer import refusal

            yield refusal(question, hits, filters, mode="llm")
            return
        problems = validate(out, texts)
        if not problems:
            text, citations = renumber(out.strip(), passages, query)
            yield Answer(
                question=question,
                text=text,
                citations=citations,
                found=True,
                mode="llm",
                filters=filters,
            )
            return
        if attempt == 1:
            break
        retry = [
            *messages,
            AIMessage(content=out),
            HumanMessage(content=RETRY_PROMPT.format(problems="; ".join(problems))),
        ]
        try:
            out = _text_of(model.invoke(retry))
        except Exception as exc:
            raise _unreachable(model, exc) from None
    yield None


def rewrite_question(model: Any, question: str, previous: Sequence[str]) -> str:
    """A standalone version of a follow-up question, written by the model from the earlier
    questions. Returns "" when the model gives nothing usable."""
    history = "\n".join(f"- {q}" for q in previous[-4:])
    try:
        msg = model.invoke(REWRITE_PROMPT.format(history=history, question=question))
    except Exception as exc:
        raise _unreachable(model, exc) from None
    text = _text_of(msg).strip().splitlines()
    line = text[0].strip().strip("「」\"'") if text else ""
    # Guard against a model that answers instead of rewriting.
    if not line or len(line) > 4 * max(len(question), 40) or _MARKER.search(line):
        return ""
    return line
