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

REPO = Path(__file__).resolve().parents[1]


def _scripted_reply(prompt: str, honest: bool) -> str:
    """Quote the first sentence of passage [1] verbatim (honest) or invent a quote."""
    m = re.search(r"^\[1\][^\n]*\n([^\n]+)", prompt, re.MULTILINE)
    first = re.split(r"(?<=。)", m.group(1))[0] if m else ""
    if honest:
        return f"委員から「{first}」という意見がありました [1]。"
    return "委員から「議事録にない捏造された発言です。」という意見がありました [1]。"


class _Handler(BaseHTTPRequestHandler):
    honest = True
    calls: ClassVar[list[dict]] = []

    def log_message(self, *args: object) -> None:  # keep test output clean
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).calls.append(body)
        prompt = "\n".join(str(m.get("content", "")) for m in body["messages"])
        text = _scripted_reply(prompt, type(self).honest)
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
    _Handler.honest = True
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
    handler.honest = False
    out = _ask("FIWAREについて委員はどのような意見を述べたか", base_url, settings)
    assert len(handler.calls) == 2, "one answer and one retry"
    assert out["mode"] == "llm-fallback"
    assert out["note"]
    assert "捏造" not in out["text"]
    assert any("FIWARE" in c["quote"] for c in out["citations"])
