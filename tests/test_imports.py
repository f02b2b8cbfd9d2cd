"""Stages depend downwards only: no import cycle anywhere in the package (not even through a
deferred import inside a function or a TYPE_CHECKING import), and reading and parsing sit
below everything (ingest -> parse -> formats -> types). Checked on the source with
scripts/import_graph.py."""

from __future__ import annotations

import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("import_graph", REPO / "scripts" / "import_graph.py")
assert _spec and _spec.loader
import_graph = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(import_graph)

LOWER = {"rag.types", "rag.text", "rag.dates", "rag.errors", "rag.config", "rag.exchange"}


def test_the_ingest_stage_has_no_import_cycle() -> None:
    edges = import_graph.graph()
    keep = import_graph.reachable(edges, "rag.ingest")
    assert {"rag.parse", "rag.formats.records", "rag.formats.summary"} <= keep
    assert import_graph.cycles({k: v & keep for k, v in edges.items() if k in keep}) == []


def test_the_package_has_no_import_cycle() -> None:
    assert import_graph.cycles(import_graph.graph()) == []


def test_the_index_sits_below_retrieval() -> None:
    edges = import_graph.graph()
    assert "rag.retrieve" in edges["rag.answer"] and "rag.index" in edges["rag.retrieve"]
    reach = import_graph.reachable(edges, "rag.index")
    assert not reach & {"rag.retrieve", "rag.judge", "rag.answer", "rag.ui", "rag.cli"}


def test_stages_import_only_downwards() -> None:
    edges = import_graph.graph()
    assert edges["rag.ingest"] >= {"rag.parse", "rag.formats.records"}
    assert "rag.ingest" not in edges["rag.parse"]
    for name in ("rag.formats.common", "rag.formats.records", "rag.formats.summary",
                 "rag.formats.verbatim"):  # fmt: skip
        allowed = LOWER | ({"rag.formats.common"} if name != "rag.formats.common" else set())
        assert edges[name] <= allowed, (name, edges[name] - allowed)


def test_a_deferred_import_still_counts(tmp_path: Path) -> None:
    pkg = tmp_path / "rag"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from rag.sub import b\n")
    (pkg / "sub" / "b.py").write_text("def f():\n    from rag import a\n    return a\n")
    (pkg / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import rag.a\n"
    )
    edges = import_graph.graph(tmp_path)
    assert edges["rag.a"] == {"rag.sub", "rag.sub.b"} and edges["rag.c"] == {"rag.a"}
    assert import_graph.cycles(edges) == [["rag.a", "rag.sub.b"]]


def test_meeting_facts_sit_below_the_answer_stages() -> None:
    edges = import_graph.graph()
    assert "rag.facts" in edges["rag.answer"]
    assert "rag.answer" not in import_graph.reachable(edges, "rag.facts")
