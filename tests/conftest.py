"""Shared fixtures: settings with a temporary index, the real embedder, the corpus index.

Session-scoped so the model loads and the corpus is embedded once per test run. The model
cache is the user's default (or MINUTES_RAG_MODEL_CACHE) so the default model is converted
once per machine, not once per run.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rag.config import Settings, load_settings

REPO_ROOT = Path(__file__).resolve().parents[1]
CORPUS_DIR = REPO_ROOT / "corpus"


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    # Only the model cache comes from the environment; everything else is the default, so a
    # developer's MINUTES_RAG_* variables (or .env) cannot change what the tests check.
    cache = load_settings(
        env={k: v for k, v in os.environ.items() if k == "MINUTES_RAG_MODEL_CACHE"}
    )
    return Settings(
        corpus_dir=CORPUS_DIR,
        index_dir=tmp_path_factory.mktemp("index") / "index",
        model_cache=cache.model_cache,
    )


@pytest.fixture(scope="session")
def embedder(settings: Settings):
    from rag.embed import get_embedder

    return get_embedder(settings)


@pytest.fixture(scope="session")
def corpus_index(settings: Settings, embedder):
    """The index over /work/main/corpus (both real minutes), loaded."""
    from rag.index import build_index, load_index

    report = build_index([CORPUS_DIR], settings)
    assert not report.errors, report.errors
    return load_index(settings)


@pytest.fixture
def parsed_files(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the files the real parser is run on, in order."""
    import rag.ingest

    calls: list[str] = []
    real = rag.ingest._parse

    def counting(doc, settings):
        calls.append(Path(doc.file).name)
        return real(doc, settings)

    monkeypatch.setattr(rag.ingest, "_parse", counting)
    return calls
