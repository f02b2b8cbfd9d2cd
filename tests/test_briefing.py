"""The briefing memo as Word: every quoted statement verbatim, grouped like the Markdown."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.mark.slow
def test_briefing_docx_holds_the_same_statements_as_the_markdown(
    corpus_index, tmp_path: Path
) -> None:
    from rag.ingest import read_document
    from rag.retrieve import search
    from rag.types import Filters
    from rag.ui import briefing_docx, briefing_groups, briefing_markdown

    hits = search(corpus_index, "人材育成", k=12)
    groups = briefing_groups(corpus_index, hits)
    assert len(groups) == 2, "both meetings discussed talent development"
    path = briefing_docx("人材育成", corpus_index, hits, Filters(), tmp_path / "b.docx")
    # Read it back with the project's own DOCX reader: what staff open in Word.
    text = "\n".join(read_document(path).lines)
    md = briefing_markdown("人材育成", corpus_index, hits, Filters())
    statements = [s for _m, roles in groups for _r, items in roles for s, _c in items]
    assert statements
    for s in statements:
        assert f"「{s.text}」" in text
        assert f"「{s.text}」" in md
        assert f"L{s.start_line}–{s.end_line}" in text
    for m, _roles in groups:
        assert m.title in text
