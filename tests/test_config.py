"""Settings come from MINUTES_RAG_* variables, then CLI overrides; bad values are sentences."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.config import DEFAULT_MODEL, load_settings
from rag.errors import ConfigError


def test_defaults_without_environment() -> None:
    s = load_settings(env={})
    assert s.model == DEFAULT_MODEL
    assert s.host == "127.0.0.1"
    assert s.mode == "hybrid"


def test_environment_is_typed_and_overrides_apply() -> None:
    s = load_settings(
        env={"MINUTES_RAG_PORT": "8123", "MINUTES_RAG_INDEX_DIR": "/tmp/x", "MINUTES_RAG_K": "7"},
        k=3,
    )
    assert s.port == 8123
    assert s.index_dir == Path("/tmp/x")
    assert s.k == 3  # the CLI flag wins over the environment


def test_empty_variable_means_default() -> None:
    assert load_settings(env={"MINUTES_RAG_PORT": ""}).port == 7860


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"MINUTES_RAG_PORT": "eighty"}, "MINUTES_RAG_PORT"),
        ({"MINUTES_RAG_MODE": "fuzzy"}, "fuzzy"),
        ({"MINUTES_RAG_LLM_PROVIDER": "skynet"}, "skynet"),
    ],
)
def test_bad_values_name_the_setting(env: dict[str, str], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        load_settings(env=env)


def test_env_example_documents_every_setting() -> None:
    from dataclasses import fields

    from rag.config import Settings

    text = (Path(__file__).resolve().parents[1] / ".env.example").read_text(encoding="utf-8")
    missing = [f.name for f in fields(Settings) if f"MINUTES_RAG_{f.name.upper()}=" not in text]
    assert not missing, f".env.example lacks {missing}"


def test_boolean_settings_accept_common_spellings() -> None:
    assert load_settings(env={"MINUTES_RAG_EXPAND_DENSE": "true"}).expand_dense is True
    assert load_settings(env={"MINUTES_RAG_EXPAND_DENSE": "0"}).expand_dense is False
    with pytest.raises(ConfigError, match="MINUTES_RAG_EXPAND_DENSE"):
        load_settings(env={"MINUTES_RAG_EXPAND_DENSE": "maybe"})
