"""Turn extracted minutes lines into a ``Meeting`` of cited ``Statement``s.

Each minutes form has its own recogniser under ``rag/formats/`` (``detect(lines)`` gives the reason
it applies, ``parse(doc, reason)`` reads it); the first that recognises a document reads it and
the meeting records which one and why (``doc_kind``, ``format_reason``):

* ``verbatim``: assembly verbatim records (会議録) — ``○議長（石川良一君）``,
  ``○百十六番（増子ひろき君）`` speaker blocks, attendance roll, kanji dates, 〔…登壇〕 directions;
* ``summary``: summary minutes (開催概要 / 議事要旨), committee records with ◆◎△ speaker lines,
  and the paragraph fallback (always applies, so it comes last).

A recogniser for structured records (JSON/CSV) slots in before ``summary``.
"""

from __future__ import annotations

from collections.abc import Callable

from rag.dates import parse_date
from rag.formats import summary, verbatim
from rag.formats.common import Line, clean_line
from rag.types import Meeting, RawDocument

__all__ = ["RECOGNISERS", "parse_date", "parse_document"]

Detect = Callable[[list[Line]], str | None]
Parse = Callable[[RawDocument, str], Meeting]

# Tried in order; the last one always applies.
RECOGNISERS: list[tuple[str, Detect, Parse]] = [
    ("verbatim", verbatim.detect, verbatim.parse),
    ("summary", summary.detect, summary.parse),
]


def parse_document(doc: RawDocument) -> Meeting:
    """Structure one document with the first recogniser that claims it. Never raises on odd
    text: unrecognised layouts become paragraphs with a warning."""
    lines = [clean_line(i, raw) for i, raw in enumerate(doc.lines, 1)]
    for name, detect, parse in RECOGNISERS:
        reason = detect(lines)
        if reason is not None:
            return parse(doc, f"{name}: {reason}")
    raise AssertionError("the last recogniser always applies")  # pragma: no cover
