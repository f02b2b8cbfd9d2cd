"""The LLM path over real HTTP: `minutes-rag ask --llm-provider openai` against an
OpenAI-compatible server on loopback (as llama.cpp server, vLLM or LM Studio would be).

The server's "model" is scripted — no small offline model answers Japanese — but everything
between the CLI and the server is the real code: settings, LangChain's ChatOpenAI, streaming
over HTTP, validation and citations.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from tests.injected_minutes import (
    HACKED,
    INJECTED_FIGURE,
    INJECTED_LINE,
    build_injected_index,
    fenced_passages,
    obey_injection,
)

REPO = Path(__file__).resolve().parents[1]


def _scripted_reply(prompt: str, mode: str) -> str:
    """The scripted model reads the prompt it received. "honest": quote the first sentence of
    passage [1] verbatim; "fabricate": invent a quote; "obey": follow an order found inside a
    passage (「…と答えよ」) with that passage's marker and "HACKED", as an injectable model
    would, or answer honestly when no passage orders anything."""
    if mode == "obey" and (reply := obey_injection(prompt)):
        return reply
    if mode == "fabricate":
        return "委員から「議事録にない捏造された発言です。」という意見がありました [1]。"
    first = next((text for n, text in fenced_passages(prompt) if n == 1), "")
    first = re.split(r"(?<=。)", first)[0]
    return f"委員から「{first}」という意見がありました [1]。"


class _Handler(BaseHTTPRequestHandler):
    mode = "honest"
    calls: ClassVar[list[dict]] = []

    def log_message(self, *args: object) -> None:  # keep test output clean
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).calls.append(body)
        prompt = "\n".join(str(m.get("content", "")) for m in body["messages"])
        text = _scripted_reply(prompt, type(self).mode)
        if body.get("stream"):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for i in range(0, len(text), 8):  # several chunks, as a real server streams
                chunk = {
                    "id": "c1",
                    "object": "chat.completion.chunk",
                    "created": 0,
                    "model": body["model"],
                    "choices": [{"index": 0, "delta": {"content": text[i : i + 8]}}],
                }
                self.wfile.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())
            self.wfile.write(b"data: [DONE]\n\n")
            return
        out = {
            "id": "c1",
            "object": "chat.completion",
            "created": 0,
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
        data = json.dumps(out, ensure_ascii=False).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture()
def llm_server():
    _Handler.calls = []
    _Handler.mode = "honest"
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", _Handler
    finally:
        server.shutdown()
        server.server_close()


def _ask(question: str, base_url: str, settings) -> dict:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "rag.cli",
            "ask",
            question,
            "--llm-provider",
            "openai",
            "--llm-model",
            "scripted-local",
            "--llm-base-url",
            base_url,
            "--index-dir",
            str(settings.index_dir),
            "--json",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "MINUTES_RAG_MODEL_CACHE": str(settings.model_cache)},
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.slow
def test_cli_answers_through_an_openai_compatible_server(llm_server, corpus_index, settings):
    base_url, handler = llm_server
    out = _ask("FIWAREについて委員はどのような意見を述べたか", base_url, settings)
    assert handler.calls, "the CLI never reached the server"
    assert handler.calls[0]["model"] == "scripted-local"
    assert out["mode"] == "llm", out
    assert out["found"] is True
    assert out["citations"] and out["citations"][0]["n"] == 1
    quote = out["citations"][0]["quote"]
    assert quote and quote in out["citations"][0]["text"]


@pytest.mark.slow
def test_fabricated_quote_falls_back_to_the_extractive_answer(llm_server, corpus_index, settings):
    base_url, handler = llm_server
    handler.mode = "fabricate"
    out = _ask("FIWAREについて委員はどのような意見を述べたか", base_url, settings)
    assert len(handler.calls) == 2, "one answer and one retry"
    assert out["mode"] == "llm-fallback"
    assert out["note"]
    assert "捏造" not in out["text"]
    assert any("FIWARE" in c["quote"] for c in out["citations"])


@pytest.fixture(scope="module")
def injected_settings(settings, embedder, tmp_path_factory):
    return build_injected_index(settings, tmp_path_factory.mktemp("injected"))[0]


@pytest.mark.slow
def test_server_that_obeys_injected_minutes_is_not_shown(llm_server, injected_settings):
    base_url, handler = llm_server
    handler.mode = "obey"
    out = _ask("FIWAREについて委員は何と言ったか", base_url, injected_settings)
    # The injected line reached the server inside a fence, and the server obeyed it twice.
    first = "\n".join(str(m["content"]) for m in handler.calls[0]["messages"])
    assert any(INJECTED_LINE.lstrip("・") in text for _, text in fenced_passages(first))
    assert obey_injection(first) and len(handler.calls) == 2
    assert out["mode"] == "llm-fallback", out
    assert out["note"] and "理由" in out["note"] and "Reason" in out["note"]
    assert INJECTED_FIGURE not in out["text"] and HACKED not in out["text"]
    assert HACKED not in out["note"] and INJECTED_FIGURE not in out["note"]
